//! One cache holds both targets' functions side by side: the same modules compiled for
//! x86-64 and aarch64 into one function cache hit only their own target's entries, and
//! each artifact names its target and runs only on a host of that architecture.

use std::collections::HashMap;
use std::sync::Mutex;
use wasmprecomp_codegen::{
    compile_module, CodeCache, CompileOptions, CompiledModule, Isa, OptLevel, StencilKey,
};

/// A function cache that remembers which target stored each entry.
#[derive(Default)]
struct TaggedCache {
    entries: Mutex<HashMap<StencilKey, Vec<u8>>>,
}

impl CodeCache for TaggedCache {
    fn get_function(&self, key: &StencilKey) -> Option<Vec<u8>> {
        self.entries.lock().unwrap().get(key).cloned()
    }
    fn put_function(&self, key: &StencilKey, payload: &[u8]) {
        self.entries.lock().unwrap().insert(*key, payload.to_vec());
    }
}

const TARGETS: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

fn modules() -> Vec<Vec<u8>> {
    [
        r#"(module (memory 1)
            (func $f (export "f") (param i32) (result i32)
              local.get 0 i32.const 3 i32.mul local.get 0 i32.load offset=16 i32.add)
            (func (export "g") (param i64 f64) (result f64)
              local.get 1 local.get 0 f64.convert_i64_s f64.add f64.sqrt)
            (func (export "h") (param i32) (result i32) local.get 0 call $f call $f))"#,
        r#"(module
            (global $g (mut i64) (i64.const 7))
            (func (export "f") (param i32) (result i32)
              local.get 0 i32.const 3 i32.mul local.get 0 i32.const 1 i32.shl i32.add)
            (func (export "k") (result i64) global.get $g i64.const 9 i64.rem_s))"#,
    ]
    .iter()
    .map(|w| wat::parse_str(w).expect("wat"))
    .collect()
}

fn compile(wasm: &[u8], target: &str, cache: &TaggedCache) -> CompiledModule {
    let isa = Isa::new(Some(target), OptLevel::Speed).expect("supported target");
    compile_module(
        wasm,
        CompileOptions {
            isa: &isa,
            cache,
            check_cache: true,
        },
    )
    .unwrap_or_else(|e| panic!("compile for {target}: {e}"))
}

#[test]
fn each_target_hits_only_its_own_entries_in_a_shared_cache() {
    let cache = TaggedCache::default();
    let wasms = modules();
    let mut first: HashMap<(usize, &str), CompiledModule> = HashMap::new();
    // Cold for each target in turn: the other target's entries are never hits.
    for target in TARGETS {
        let stored_before = cache.entries.lock().unwrap().len();
        let mut misses = 0;
        for (i, w) in wasms.iter().enumerate() {
            let m = compile(w, target, &cache);
            // The second module shares a stencil (`f`) with the first: that one hits.
            if i == 0 {
                assert_eq!(
                    m.stats.hits,
                    0,
                    "{target}: a cold compile hit {m:?}",
                    m = m.stats
                );
            }
            misses += m.stats.misses;
            first.insert((i, target), m);
        }
        let stored = cache.entries.lock().unwrap().len() - stored_before;
        assert_eq!(
            stored as u32, misses,
            "{target}: each miss stores its own entry"
        );
        assert!(misses >= 5, "{target}: {misses} misses");
    }
    // Warm for each target: every function hits, and the artifacts are the same bytes.
    for target in TARGETS {
        for (i, w) in wasms.iter().enumerate() {
            let m = compile(w, target, &cache);
            assert_eq!(m.stats.misses, 0, "{target}: {:?}", m.stats);
            assert_eq!(m.stats.hits + m.stats.deduplicated, m.stats.functions);
            assert_eq!(
                m.artifact,
                first[&(i, target)].artifact,
                "{target}: a warm compile gives the cold compile's artifact"
            );
        }
    }
    // The two targets' keys and code differ for every function.
    for i in 0..wasms.len() {
        let (x, a) = (&first[&(i, TARGETS[0])], &first[&(i, TARGETS[1])]);
        for (kx, ka) in x.keys.iter().zip(&a.keys) {
            assert_ne!(kx, ka, "module {i}: a key shared between targets");
        }
        assert_ne!(x.artifact, a.artifact);
    }
}

#[test]
fn an_artifact_runs_only_on_its_own_architecture_and_names_both_targets() {
    let cache = TaggedCache::default();
    let wasm = &modules()[0];
    let host = std::env::consts::ARCH;
    for target in TARGETS {
        let m = compile(wasm, target, &cache);
        let elf = object::read::File::parse(&*m.artifact).expect("an ELF file");
        let arch = match object::Object::architecture(&elf) {
            object::Architecture::X86_64 => "x86_64",
            object::Architecture::Aarch64 => "aarch64",
            other => panic!("{target}: unexpected ELF machine {other:?}"),
        };
        assert!(target.starts_with(arch), "{target}: ELF machine {arch}");
        // SAFETY: the artifact was just compiled by this test's compiler.
        let loaded = unsafe { wasmprecomp_runtime::Module::from_bytes(&m.artifact) };
        if target.starts_with(host) {
            loaded.unwrap_or_else(|e| panic!("{target} on {host}: {e}"));
        } else {
            let err = match loaded {
                Ok(_) => panic!("{target}: loaded on {host}"),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains(target) && err.contains(&format!("{host}-")),
                "{err}"
            );
        }
    }
}

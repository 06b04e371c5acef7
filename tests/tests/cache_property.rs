//! The function cache's defining property over generated modules: a compiled function
//! reloads as exactly the same compiled function; renaming what it references still hits;
//! changing its body misses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use wasm_encoder::reencode::{utils, Error, Reencode};
use wasm_encoder::{EntityType, ImportSection, SectionId};
use wasmprecomp_codegen::stencil::ConstClass;
use wasmprecomp_codegen::{
    compile_module, CodeCache, CompileOptions, CompiledModule, CompiledStencil, Isa, ManifestKey,
    OptLevel, StencilKey,
};

#[derive(Default)]
struct MemCache(Mutex<HashMap<StencilKey, Vec<u8>>>);

impl CodeCache for MemCache {
    fn get_function(&self, key: &StencilKey) -> Option<Vec<u8>> {
        self.0.lock().unwrap().get(key).cloned()
    }
    fn put_function(&self, key: &StencilKey, payload: &[u8]) {
        self.0.lock().unwrap().insert(*key, payload.to_vec());
    }
}

fn config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: 0,
        min_funcs: 3,
        max_funcs: 30,
        max_memories: 1,
        max_tables: 2,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        exceptions_enabled: false,
        tail_call_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        extended_const_enabled: false,
        ..Default::default()
    }
}

fn generate(seed: u64) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; 4096];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for b in bytes.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let mut u = arbitrary::Unstructured::new(&bytes);
    let m = wasm_smith::Module::new(config(), &mut u).ok()?;
    Some(m.to_bytes())
}

/// Prepends an imported function: every function index shifts by one.
struct ShiftFunctions {
    added: bool,
}

impl ShiftFunctions {
    fn add(&mut self, imports: &mut ImportSection) {
        imports.import("pad", "f", EntityType::Function(0));
        self.added = true;
    }
}

impl Reencode for ShiftFunctions {
    type Error = std::convert::Infallible;
    fn function_index(&mut self, func: u32) -> Result<u32, Error<Self::Error>> {
        Ok(func + 1)
    }
    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        self.add(imports);
        utils::parse_import_section(self, imports, section)
    }
    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), Error<Self::Error>> {
        let import = SectionId::Import as u8;
        if !self.added
            && after.is_none_or(|a| (a as u8) < import)
            && before.is_none_or(|b| (b as u8) > import)
        {
            let mut imports = ImportSection::new();
            self.add(&mut imports);
            module.section(&imports);
        }
        Ok(())
    }
}

/// Inserts a `nop` at the start of the first function body.
struct EditFirstBody {
    seen: bool,
}

impl Reencode for EditFirstBody {
    type Error = std::convert::Infallible;
    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        if !self.seen {
            f.instruction(&wasm_encoder::Instruction::Nop);
            self.seen = true;
        }
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            f.instruction(&self.parse_instruction(&mut reader)?);
        }
        code.function(&f);
        Ok(())
    }
}

/// Moves every constant of function bodies that is a constant slot (an `i32.const`,
/// `i64.const` or load/store offset that `ConstClass` classifies) by 8 away from zero
/// where that keeps it in its class and its encoded length: what moving static data does to the
/// code that addresses it. Counts in `moved` how many it changed.
#[derive(Default)]
struct MoveConstants {
    in_body: bool,
    moved: usize,
}

/// Bytes of the signed LEB128 encoding of `v`.
fn sleb_len(v: i64) -> usize {
    let mut buf = Vec::new();
    wasm_encoder::Encode::encode(&v, &mut buf);
    buf.len()
}

/// Bytes of the unsigned LEB128 encoding of `v`.
fn uleb_len(v: u64) -> usize {
    let mut buf = Vec::new();
    wasm_encoder::Encode::encode(&v, &mut buf);
    buf.len()
}

impl MoveConstants {
    /// `v` moved by 8 away from zero when it is a slot and stays one of the same class
    /// and encoded length (`class` classifies, `len` measures).
    fn moved<T: Copy + PartialEq>(
        &mut self,
        v: T,
        r: T,
        class: impl Fn(T) -> Option<ConstClass>,
        len: impl Fn(T) -> usize,
    ) -> T {
        if class(v).is_none() || class(r) != class(v) || len(r) != len(v) {
            return v;
        }
        self.moved += 1;
        r
    }

    fn i64(&mut self, v: i64) -> i64 {
        let r = if v > 0 {
            v.wrapping_add(8)
        } else {
            v.wrapping_sub(8)
        };
        self.moved(v, r, ConstClass::of_i64, sleb_len)
    }

    fn i32(&mut self, v: i32) -> i32 {
        let r = if v > 0 {
            v.wrapping_add(8)
        } else {
            v.wrapping_sub(8)
        };
        self.moved(v, r, ConstClass::of_i32, |x| sleb_len(x.into()))
    }
}

impl Reencode for MoveConstants {
    type Error = std::convert::Infallible;
    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        self.in_body = true;
        let r = utils::parse_function_body(self, code, func);
        self.in_body = false;
        r
    }
    fn instruction<'a>(
        &mut self,
        op: wasmparser::Operator<'a>,
    ) -> Result<wasm_encoder::Instruction<'a>, Error<Self::Error>> {
        use wasmparser::Operator;
        let op = match op {
            Operator::I32Const { value } if self.in_body => Operator::I32Const {
                value: self.i32(value),
            },
            Operator::I64Const { value } if self.in_body => Operator::I64Const {
                value: self.i64(value),
            },
            op => op,
        };
        utils::instruction(self, op)
    }
    fn mem_arg(
        &mut self,
        arg: wasmparser::MemArg,
    ) -> Result<wasm_encoder::MemArg, Error<Self::Error>> {
        let mut arg = arg;
        arg.offset = self.moved(
            arg.offset,
            arg.offset.wrapping_add(8),
            ConstClass::of_offset,
            uleb_len,
        );
        utils::mem_arg(self, arg)
    }
}

/// `wasm` compiled without any cache.
fn without_cache(wasm: &[u8], opts: CompileOptions) -> CompiledModule {
    compile_module(
        wasm,
        CompileOptions {
            cache: &wasmprecomp_codegen::NoCache,
            ..opts
        },
    )
    .unwrap()
}

/// `wasm` compiled with `--cache-check`: every hit recompiled and compared.
fn cache_checked(wasm: &[u8], opts: CompileOptions, seed: u64) -> CompiledModule {
    compile_module(
        wasm,
        CompileOptions {
            check_cache: true,
            ..opts
        },
    )
    .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}

fn reencode(wasm: &[u8], r: &mut impl Reencode<Error = std::convert::Infallible>) -> Vec<u8> {
    let mut m = wasm_encoder::Module::new();
    r.parse_core_module(&mut m, wasmparser::Parser::new(0), wasm)
        .expect("reencode");
    m.finish()
}

#[test]
fn cached_functions_reload_identically_survive_renaming_and_miss_on_edits() {
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let mut checked = 0;
    let mut functions = 0;
    let mut moved_constants = 0;
    for seed in 0..120u64 {
        let Some(wasm) = generate(seed) else { continue };
        let cache = MemCache::default();
        let opts = CompileOptions {
            isa: &isa,
            cache: &cache,
            check_cache: false,
        };
        let first = match compile_module(&wasm, opts) {
            Ok(f) => f,
            // Generated modules use only compiled features: an error is a bug.
            Err(e) => panic!("seed {seed}: {e}"),
        };
        if first.stats.functions == 0 {
            continue; // nothing to cache (and no type to give the extra import)
        }
        // Reload: every entry decodes to exactly what a fresh compile produces.
        let info = wasmprecomp_codegen::module::parse_and_validate(&wasm).unwrap();
        for i in 0..info.bodies.len() as u32 {
            let (st, _) = wasmprecomp_codegen::stencil::build(&info, &wasm, i).unwrap();
            let key = st.key(&isa.identity());
            let cached =
                CompiledStencil::decode(&cache.get_function(&key).expect("stored")).unwrap();
            assert_eq!(
                cached,
                isa.compile(&st).unwrap(),
                "seed {seed} function {i}"
            );
        }
        // Same module again: all hits, identical artifact.
        let again = compile_module(
            &wasm,
            CompileOptions {
                check_cache: true,
                ..opts
            },
        )
        .unwrap();
        assert_eq!(again.stats.misses, 0, "seed {seed}");
        assert_eq!(again.artifact, first.artifact, "seed {seed}");
        // Renamed references: every function index shifted by an extra import.
        let shifted = reencode(&wasm, &mut ShiftFunctions { added: false });
        let s = compile_module(&shifted, opts).unwrap();
        assert_eq!(s.stats.misses, 0, "seed {seed}: renaming must still hit");
        assert_eq!(
            s.stats.hits,
            first.stats.hits + first.stats.misses,
            "seed {seed}"
        );
        // Parameterized constants moved: every function hits, also when each hit is
        // recompiled and compared, and the artifact equals a compile without a cache.
        let mut mc = MoveConstants::default();
        let moved = reencode(&wasm, &mut mc);
        let m = compile_module(&moved, opts).unwrap();
        assert_eq!(m.stats.misses, 0, "seed {seed}: moved constants must hit");
        assert_eq!(m.keys, first.keys, "seed {seed}");
        let checked_moved = cache_checked(&moved, opts, seed);
        let fresh = without_cache(&moved, opts);
        assert_eq!(checked_moved.artifact, fresh.artifact, "seed {seed}");
        assert_eq!(m.artifact, fresh.artifact, "seed {seed}");
        if mc.moved > 0 {
            moved_constants += mc.moved;
            assert_ne!(
                m.artifact, first.artifact,
                "seed {seed}: new values linked in"
            );
        }
        // One body changed: that function misses, the others hit.
        let edited = reencode(&wasm, &mut EditFirstBody { seen: false });
        let e = compile_module(&edited, opts).unwrap();
        assert!(e.stats.misses >= 1, "seed {seed}: an edited body must miss");
        assert_ne!(e.keys[0], first.keys[0], "seed {seed}");
        assert_eq!(
            &e.keys[1..],
            &first.keys[1..],
            "seed {seed}: other keys unchanged"
        );
        checked += 1;
        functions += first.stats.functions;
    }
    eprintln!(
        "cache property: {checked} generated modules, {functions} functions, \
         {moved_constants} constants moved"
    );
    assert!(checked >= 50, "only {checked} generated modules compiled");
    assert!(
        moved_constants >= 50,
        "only {moved_constants} constants moved"
    );
}

/// A re-encoding that changes nothing, so that a module and its edited copy are encoded
/// by the same encoder (and so have the same shape when only a body differs).
struct Identity;

impl Reencode for Identity {
    type Error = std::convert::Infallible;
}

/// A function cache that also keeps module manifests.
#[derive(Default)]
struct ManifestCache {
    functions: MemCache,
    manifests: Mutex<HashMap<ManifestKey, Vec<u8>>>,
    lookups: AtomicUsize,
}

impl CodeCache for ManifestCache {
    fn get_function(&self, key: &StencilKey) -> Option<Vec<u8>> {
        self.functions.get_function(key)
    }
    fn put_function(&self, key: &StencilKey, payload: &[u8]) {
        self.functions.put_function(key, payload)
    }
    fn manifests(&self) -> bool {
        true
    }
    fn get_manifest(&self, key: &ManifestKey) -> Option<Vec<u8>> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.manifests.lock().unwrap().get(key).cloned()
    }
    fn put_manifest(&self, key: &ManifestKey, payload: &[u8]) {
        self.manifests
            .lock()
            .unwrap()
            .insert(*key, payload.to_vec());
    }
}

#[test]
fn manifests_serve_unchanged_bodies_and_never_change_the_code() {
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let mut checked = 0;
    let mut served = 0;
    let mut moved_served = 0;
    for seed in 0..120u64 {
        let Some(raw) = generate(seed) else { continue };
        let wasm = reencode(&raw, &mut Identity);
        let cache = ManifestCache::default();
        let opts = CompileOptions {
            isa: &isa,
            cache: &cache,
            check_cache: false,
        };
        let first = compile_module(&wasm, opts).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        if first.stats.functions == 0 {
            continue;
        }
        let unique = first.stats.hits + first.stats.misses;
        assert_eq!(first.stats.from_manifest, 0, "seed {seed}");
        // The shape's manifest and the interface's link to it.
        assert_eq!(cache.manifests.lock().unwrap().len(), 2, "seed {seed}");

        // The same module again: every function from the manifest, the same artifact.
        let again = compile_module(&wasm, opts).unwrap();
        assert_eq!(again.stats.from_manifest, unique, "seed {seed}");
        assert_eq!(again.stats.misses, 0, "seed {seed}");
        assert_eq!(again.keys, first.keys, "seed {seed}");
        assert_eq!(again.artifact, first.artifact, "seed {seed}");

        // One body edited: the others come from the manifest, and the result equals a
        // compile without any cache, keys included.
        let edited = reencode(&raw, &mut EditFirstBody { seen: false });
        let fresh = without_cache(&edited, opts);
        let e = compile_module(&edited, opts).unwrap();
        assert!(e.stats.from_manifest + 1 >= unique, "seed {seed}");
        assert!(e.stats.misses <= 1, "seed {seed}");
        assert_eq!(e.keys, fresh.keys, "seed {seed}");
        assert_eq!(e.artifact, fresh.artifact, "seed {seed}");
        // Checking rebuilds every stencil and recompiles every hit: the manifest agrees.
        let c = cache_checked(&edited, opts, seed);
        assert_eq!(c.artifact, fresh.artifact, "seed {seed}");

        // Parameterized constants moved (the shape unchanged): the manifest serves every
        // function, with the new values, and agrees with a fresh build when checked.
        let mut mc = MoveConstants::default();
        let moved = reencode(&raw, &mut mc);
        let fresh = without_cache(&moved, opts);
        let mv = compile_module(&moved, opts).unwrap();
        assert_eq!(mv.stats.misses, 0, "seed {seed}");
        // Every row but the edited body's (the manifest may be the edited module's).
        assert!(mv.stats.from_manifest + 1 >= unique, "seed {seed}");
        moved_served += mc.moved;
        assert_eq!(mv.artifact, fresh.artifact, "seed {seed}");
        let c = cache_checked(&moved, opts, seed);
        assert_eq!(c.artifact, fresh.artifact, "seed {seed}");

        // Another interface (an import added) does not use the manifest.
        let shifted = reencode(&raw, &mut ShiftFunctions { added: false });
        let s = compile_module(&shifted, opts).unwrap();
        assert_eq!(s.stats.from_manifest, 0, "seed {seed}");
        assert_eq!(s.stats.misses, 0, "seed {seed}");

        // A damaged manifest is ignored (and replaced).
        for v in cache.manifests.lock().unwrap().values_mut() {
            v.truncate(v.len() / 2);
        }
        let d = compile_module(&wasm, opts).unwrap();
        assert_eq!(d.stats.from_manifest, 0, "seed {seed}");
        assert_eq!(d.artifact, first.artifact, "seed {seed}");
        let d = compile_module(&wasm, opts).unwrap();
        assert_eq!(
            d.stats.from_manifest, unique,
            "seed {seed}: manifest replaced"
        );

        checked += 1;
        served += again.stats.from_manifest;
    }
    eprintln!(
        "manifests: {checked} generated modules, {served} functions served, \
         {moved_served} moved constants served"
    );
    assert!(
        moved_served >= 50,
        "only {moved_served} moved constants served"
    );
    assert!(checked >= 50, "only {checked} generated modules compiled");
}

#[test]
fn only_a_valid_module_with_functions_looks_up_its_manifest() {
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let cache = ManifestCache::default();
    let opts = CompileOptions {
        isa: &isa,
        cache: &cache,
        check_cache: false,
    };
    let lookups = |wat: &str| {
        let before = cache.lookups.load(Ordering::Relaxed);
        let r = compile_module(&wat::parse_str(wat).expect("wat"), opts);
        (r.is_ok(), cache.lookups.load(Ordering::Relaxed) - before)
    };
    assert_eq!(lookups("(module (memory 1))"), (true, 0), "no functions");
    // The shape's manifest, then the interface's link.
    assert_eq!(
        lookups("(module (func (result i32) i32.const 1))"),
        (true, 2),
        "one function"
    );
    // wat checks nothing, so these reach our validation and fail it there.
    assert_eq!(
        lookups(r#"(module (func (export "a")) (func (export "a")))"#),
        (false, 0),
        "invalid sections"
    );
    // Bodies are validated only when the manifest does not serve them, so an invalid
    // body is found after the lookup.
    assert_eq!(
        lookups("(module (func (result i32) i64.const 1))"),
        (false, 1),
        "an invalid body (the shape of the one before, whose manifest it finds)"
    );
}

fn options<'a>(isa: &'a Isa, cache: &'a ManifestCache) -> CompileOptions<'a> {
    CompileOptions {
        isa,
        cache,
        check_cache: false,
    }
}

/// A module of four functions, each one kind of reference: a mutable global, a large
/// constant (a constant slot), nothing, a declared `ref.func`. `before` is put before
/// them, `data` and `global` are the data segment and the global's declaration.
fn four_functions(before: &str, data: &str, global: &str, declare: bool) -> Vec<u8> {
    let declare = if declare {
        "(elem declare func $c)"
    } else {
        ""
    };
    wat::parse_str(format!(
        r#"(module
            (memory 1)
            {global}
            {data}
            {declare}
            {before}
            (func $a (export "a") (result i32) global.get $g i32.const 1 i32.add)
            (func $b (export "b") (result i32) i32.const 100000 i32.load)
            (func $c (result i32) i32.const 3)
            (func $d (export "d") (result i32) ref.func $c ref.is_null))"#
    ))
    .expect("wat")
}

const MUT_GLOBAL: &str = "(global $g (mut i32) (i32.const 7))";
const DATA: &str = r#"(data (i32.const 16) "abc")"#;

/// `edited` compiled after `base` into one cache: how many functions the manifest
/// served, checked against a compile without cache and a checked compile.
fn served_after(base: &[u8], edited: &[u8]) -> u32 {
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let cache = ManifestCache::default();
    let opts = options(&isa, &cache);
    compile_module(base, opts).unwrap();
    let served = compile_module(edited, opts).unwrap();
    let fresh = without_cache(edited, opts);
    assert_eq!(served.artifact, fresh.artifact);
    assert_eq!(served.keys, fresh.keys);
    // A checked compile of a fresh copy of the same cache state agrees.
    let cache = ManifestCache::default();
    let opts = CompileOptions {
        cache: &cache,
        ..opts
    };
    compile_module(base, opts).unwrap();
    let checked = cache_checked(edited, opts, 0);
    assert_eq!(checked.artifact, fresh.artifact);
    served.stats.from_manifest
}

#[test]
fn an_edit_that_changes_the_shape_but_not_the_interface_is_served_by_the_last_manifest() {
    let base = four_functions("", DATA, MUT_GLOBAL, true);
    assert_eq!(served_after(&base, &base), 4, "the same module");
    // Only the data moved: every function from the linked manifest, and nothing is
    // written (the new shape goes on using it through the interface's link).
    let moved = four_functions("", r#"(data (i32.const 48) "abcdefgh")"#, MUT_GLOBAL, true);
    assert_eq!(served_after(&base, &moved), 4, "data moved");
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let cache = ManifestCache::default();
    let opts = options(&isa, &cache);
    compile_module(&base, opts).unwrap();
    let stored = cache.manifests.lock().unwrap().clone();
    assert_eq!(compile_module(&moved, opts).unwrap().stats.from_manifest, 4);
    assert_eq!(
        *cache.manifests.lock().unwrap(),
        stored,
        "nothing rewritten"
    );
    // Data moved and grown, the global's initial value changed, a function added before
    // the others: every body whose bytes are unchanged is served a row away from its
    // position; `$d`'s `ref.func` names a shifted index, so its bytes changed.
    let edited = four_functions(
        "(func $new (result i32) i32.const 9)",
        r#"(data (i32.const 32) "abcdef")"#,
        "(global $g (mut i32) (i32.const 8))",
        true,
    );
    assert_eq!(served_after(&base, &edited), 3, "three bodies unchanged");
    // Two functions added: two rows away.
    let edited = four_functions(
        "(func $x (result i32) i32.const 9) (func $y (result i32) i32.const 10)",
        DATA,
        MUT_GLOBAL,
        true,
    );
    assert_eq!(served_after(&base, &edited), 3, "two functions added");
    // A new type is another interface: nothing from the manifest.
    let edited = four_functions("(func $y (result i64) i64.const 9)", DATA, MUT_GLOBAL, true);
    assert_eq!(served_after(&base, &edited), 0, "a type added");
}

#[test]
fn a_body_whose_context_changed_is_not_served_by_its_row() {
    let base = four_functions("", DATA, MUT_GLOBAL, true);
    // The global immutable: `$a`'s bytes are the same, its stencil is not.
    let immutable = four_functions("", DATA, "(global $g i32 (i32.const 7))", true);
    assert_eq!(served_after(&base, &immutable), 3);
    // `$c` no longer declared: `$d`'s bytes are the same, and now invalid.
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let cache = ManifestCache::default();
    let opts = options(&isa, &cache);
    compile_module(&base, opts).unwrap();
    let undeclared = four_functions("", DATA, MUT_GLOBAL, false);
    match compile_module(&undeclared, opts) {
        Ok(m) => panic!(
            "an undeclared ref.func compiled, {} functions from the manifest",
            m.stats.from_manifest
        ),
        Err(e) => assert!(e.to_string().contains("undeclared"), "{e}"),
    }
}

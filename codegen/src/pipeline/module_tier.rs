//! The module tier: a module's finished artifact, cached under its [`ModuleKey`], looked
//! up before anything else is done with the module; the modules it does not serve go
//! through the rest of the pipeline as one run ([`compile_modules_hashed`]).
//!
//! A hit costs reading and hashing the module and one lookup, so both are kept small:
//! the artifact an earlier run left at the artifact path is confirmed in place
//! ([`ModuleEntry::InPlace`]) instead of read back, the report's sha256 comes from the
//! artifact's header, and a large module is hashed as it is read, never held whole.

use super::{
    compile_modules_hashed, map_items, ms, CodeCache, CompileOptions, CompiledModule, KnownDigests,
    ModuleEntry,
};
use crate::error::internal;
use crate::error::CompileError;
use crate::keys::{module_key, wasm_digest, ModuleKey, WasmDigester};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One module for [`compile_files`].
#[derive(Debug, Clone, Copy)]
pub struct ModuleInput<'a> {
    /// The `.wasm` file.
    pub wasm: &'a Path,
    /// Where the caller writes the module's artifact: a file there that an earlier run
    /// wrote from the cached artifact spares reading the cache entry (it is only read).
    pub artifact: &'a Path,
}

/// What the module tier did for a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleTier {
    /// The cache's module tier is off
    /// ([`CodeCache::modules`](crate::CodeCache::modules) is false).
    Off,
    /// Looked up and not found (or found damaged): the module was compiled.
    Miss,
    /// Served from the cache.
    Hit,
}

/// The artifact of a module that [`compile_files`] finished.
#[derive(Debug, Clone)]
pub enum ModuleArtifact {
    /// A module-tier hit whose artifact is already at the artifact path: nothing to write.
    InPlace {
        /// The artifact's length.
        len: u64,
    },
    /// A module-tier hit: the cached artifact, to be written to the artifact path (the
    /// file there is missing or differs), or `file` linked there when there is one.
    Stored {
        artifact: Vec<u8>,
        /// A file that holds exactly `artifact`, from [`ModuleEntry::Stored`].
        file: Option<PathBuf>,
    },
    /// A module-tier miss (or the tier is off): compiled by the manifest and function
    /// tiers. What an earlier run wrote at the artifact path may already equal it.
    Compiled(CompiledModule),
}

/// Why [`compile_files`] finished a module without an artifact.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The module's file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The module does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// Checking: the cached artifact differs from a fresh compile of the module.
    #[error("cache check failed: the cached artifact differs from a fresh compile (module key {})", key.to_hex())]
    CacheCheck { key: ModuleKey },
}

/// One module's result from [`compile_files`].
#[derive(Debug)]
pub struct ModuleOutcome {
    /// When the pipeline started on the module (before reading it).
    pub started: Instant,
    /// What the module tier did. A checked hit ([`CompileOptions::check_cache`]) is
    /// compiled too, and stays a hit.
    pub tier: ModuleTier,
    /// The module's size (0 when it could not be opened and read).
    pub wasm_bytes: u64,
    /// The sha256 of the module's bytes: read from the cached artifact's header on a hit
    /// that is not checked, computed otherwise. `None` when the module could not be read.
    pub wasm_sha256: Option<[u8; 32]>,
    /// Milliseconds spent reading the module (a large one, hashed as it is read, with
    /// the hashing).
    pub read_ms: f64,
    /// Milliseconds spent in the module-tier lookup (with hashing a module read whole).
    pub lookup_ms: f64,
    /// The cache's module entry did not hold an artifact: counted, and a miss (the
    /// compiled artifact replaces it).
    pub corrupt: bool,
    /// The artifact, or why there is none.
    pub result: Result<ModuleArtifact, ModuleError>,
    /// The module-tier key a compiled artifact is to be stored under; `None` when there
    /// is nothing to store (a hit, a failure, the tier off). [`compile_files`] leaves the
    /// storing to [`ModuleOutcome::store_artifact`], called when the caller has written
    /// the artifact, so that the cache may share the written file instead of a copy of
    /// its bytes: the two are the largest writes of a run.
    pub store: Option<ModuleKey>,
}

impl ModuleOutcome {
    /// Stores a compiled artifact in the module tier of `cache` when
    /// [`ModuleOutcome::store`] says so. `written`, when given, is a file that holds
    /// exactly the artifact and that nobody changes in place (the caller's artifact at its
    /// temp path before it is renamed into place, or an identical artifact already at its
    /// path): the cache may keep that file instead of writing a copy
    /// ([`CodeCache::put_module_file`]).
    pub fn store_artifact(&self, cache: &dyn CodeCache, written: Option<&Path>) {
        if let (Some(key), Ok(ModuleArtifact::Compiled(cm))) = (&self.store, &self.result) {
            match written {
                Some(file) => cache.put_module_file(key, &cm.artifact, file),
                None => cache.put_module(key, &cm.artifact),
            }
        }
    }
}

/// Modules from this size on are hashed as they are read, through a small buffer, when
/// the module tier may make holding them unnecessary: reading a large module whole into
/// fresh memory costs its page faults on every run.
const STREAM_INPUT_BYTES: u64 = 256 << 10;

/// A module's bytes, or only their digest.
enum WasmInput {
    Bytes(Vec<u8>),
    /// Streamed into the module-tier digest; read again only if the module is compiled.
    Digested {
        digest: [u8; 32],
        len: u64,
    },
}

/// Reads the module at `path`: whole, or, when `stream` and it is large, only into its
/// [`wasm_digest`].
fn read_input(path: &Path, stream: bool) -> std::io::Result<WasmInput> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    if !stream || len < STREAM_INPUT_BYTES {
        let mut bytes = Vec::with_capacity(len as usize);
        f.read_to_end(&mut bytes)?;
        return Ok(WasmInput::Bytes(bytes));
    }
    let mut hasher = WasmDigester::default();
    let len = hasher.update_reader(f)?;
    Ok(WasmInput::Digested {
        digest: hasher.finalize(),
        len,
    })
}

/// What the module-tier lookup found.
enum Hit {
    /// Nothing: a miss, or the tier is off.
    No,
    /// The artifact at the artifact path equals the entry (its length).
    InPlace(u64),
    /// The entry's artifact, and the file that holds it when the store has one.
    Stored(Vec<u8>, Option<PathBuf>),
}

/// A module after reading and the module-tier lookup: its [`ModuleOutcome`] so far.
struct Staged {
    started: Instant,
    tier: ModuleTier,
    wasm_bytes: u64,
    wasm_sha256: Option<[u8; 32]>,
    read_ms: f64,
    lookup_ms: f64,
    corrupt: bool,
    /// The BLAKE3 digest of `wasm` once computed (the module tier's, of the bytes held).
    blake3: Option<[u8; 32]>,
    /// The module's bytes; empty for a hit on a large module that is not checked (only
    /// its digest was needed).
    wasm: Vec<u8>,
    key: ModuleKey,
    hit: Hit,
    /// Set when the module could not be read, or once it went through the rest of the
    /// pipeline; otherwise the hit is the result.
    result: Option<Result<ModuleArtifact, ModuleError>>,
}

impl Staged {
    /// Whether the module goes through the rest of the pipeline: it was read, and missed
    /// or its hit is checked.
    fn pending(&self, check: bool) -> bool {
        self.result.is_none() && (matches!(self.hit, Hit::No) || check)
    }

    fn into_outcome(self) -> ModuleOutcome {
        let store = (self.tier == ModuleTier::Miss
            && matches!(self.result, Some(Ok(ModuleArtifact::Compiled(_)))))
        .then_some(self.key);
        let result = self.result.unwrap_or_else(|| match self.hit {
            Hit::InPlace(len) => Ok(ModuleArtifact::InPlace { len }),
            Hit::Stored(artifact, file) => Ok(ModuleArtifact::Stored { artifact, file }),
            Hit::No => Err(internal("module neither served nor compiled").into()),
        });
        ModuleOutcome {
            started: self.started,
            tier: self.tier,
            wasm_bytes: self.wasm_bytes,
            wasm_sha256: self.wasm_sha256,
            read_ms: self.read_ms,
            lookup_ms: self.lookup_ms,
            corrupt: self.corrupt,
            result,
            store,
        }
    }
}

fn stage(input: &ModuleInput, opts: &CompileOptions) -> Staged {
    let started = Instant::now();
    let module_tier = opts.cache.modules();
    let mut s = Staged {
        started,
        tier: if module_tier {
            ModuleTier::Miss
        } else {
            ModuleTier::Off
        },
        wasm_bytes: 0,
        wasm_sha256: None,
        read_ms: 0.0,
        lookup_ms: 0.0,
        corrupt: false,
        blake3: None,
        wasm: Vec::new(),
        key: ModuleKey([0; 32]),
        hit: Hit::No,
        result: None,
    };
    let cannot_read = |s: &mut Staged, source| {
        let path = input.wasm.to_path_buf();
        s.result = Some(Err(ModuleError::Read { path, source }));
    };
    let t = Instant::now();
    let read = match read_input(input.wasm, module_tier) {
        Ok(r) => r,
        Err(e) => {
            cannot_read(&mut s, e);
            return s;
        }
    };
    s.read_ms = ms(t);
    let mut digest = None;
    match read {
        WasmInput::Bytes(b) => s.wasm = b,
        WasmInput::Digested { digest: d, len } => {
            digest = Some(d);
            s.wasm_bytes = len;
        }
    }
    let mut sha = None;
    if module_tier {
        let t = Instant::now();
        let d = digest.unwrap_or_else(|| wasm_digest(&s.wasm));
        if digest.is_none() {
            s.blake3 = Some(d);
        }
        s.key = module_key(opts.isa, &d);
        // The key covers the bytes, and the artifact records their BLAKE3 digest (the
        // key's): when the two agree, the artifact is this module's and its recorded
        // sha256 is theirs. An entry whose artifact header does not read, or records
        // another module's digest (an entry copied over this key's), is damaged: a miss.
        let header = |head: &[u8]| {
            wasmprecomp_artifact::header_from_prefix(head).filter(|h| h.wasm_blake3 == d)
        };
        match opts.cache.get_module(&s.key, input.artifact) {
            Some(ModuleEntry::InPlace { len, head }) => match header(&head) {
                Some(h) => {
                    s.hit = Hit::InPlace(len);
                    sha = Some(h.wasm_sha256);
                }
                None => s.corrupt = true,
            },
            Some(ModuleEntry::Stored {
                artifact: bytes,
                file,
            }) => match header(&bytes) {
                Some(h) => {
                    s.hit = Hit::Stored(bytes, file);
                    sha = Some(h.wasm_sha256);
                }
                None => s.corrupt = true,
            },
            None => {}
        }
        if !matches!(s.hit, Hit::No) {
            s.tier = ModuleTier::Hit;
        }
        s.lookup_ms = ms(t);
    }
    // A module that is compiled needs its bytes. Read again, they may have changed since
    // they were digested: the key follows the bytes.
    let compiled = s.pending(opts.check_cache);
    if let (Some(d), true) = (digest, compiled) {
        match std::fs::read(input.wasm) {
            Ok(b) => s.wasm = b,
            Err(e) => {
                cannot_read(&mut s, e);
                return s;
            }
        }
        let now = wasm_digest(&s.wasm);
        s.blake3 = Some(now);
        if now != d {
            s.key = module_key(opts.isa, &now);
            s.hit = Hit::No;
            s.tier = ModuleTier::Miss;
            sha = None;
        }
    }
    if digest.is_none() || compiled {
        s.wasm_bytes = s.wasm.len() as u64;
    }
    // A module that is compiled gets its sha256 computed beside its validation
    // ([`compile_modules_hashed`]). Checking recompiles the hit, so the digest it embeds
    // is computed then, not read back from the artifact under test.
    if !compiled {
        s.wasm_sha256 = sha;
    }
    s
}

/// Compiles module files through all three tiers of `opts.cache`: each module is read
/// and looked up in the module tier ([`ModuleTier`]), and the modules it does not serve
/// go through the manifest and function tiers as one run (a function shared by several
/// is compiled once), their artifacts stored in the module tier. With
/// [`CompileOptions::check_cache`], module hits are compiled too and must equal what the
/// cache served. Outcomes are in input order; one module's failure does not stop the
/// others. Writing the artifacts is the caller's, and so is storing a compiled one in the
/// module tier ([`ModuleOutcome::store_artifact`]): nothing is written here but the
/// function and manifest tiers.
pub fn compile_files(inputs: &[ModuleInput], opts: CompileOptions) -> Vec<ModuleOutcome> {
    // One module is staged on this thread: handing it to a worker costs a thread wake-up,
    // about as much as a small module's whole module-tier hit.
    let mut staged = map_items(inputs.to_vec(), inputs.len() > 1, |_, input| {
        stage(&input, &opts)
    });
    let pending: Vec<usize> = (0..staged.len())
        .filter(|&i| staged[i].pending(opts.check_cache))
        .collect();
    if !pending.is_empty() {
        let wasms: Vec<&[u8]> = pending.iter().map(|&i| staged[i].wasm.as_slice()).collect();
        let known: Vec<KnownDigests> = pending
            .iter()
            .map(|&i| KnownDigests {
                sha256: None,
                blake3: staged[i].blake3,
            })
            .collect();
        let results = compile_modules_hashed(&wasms, &known, opts);
        for (&i, r) in pending.iter().zip(results) {
            // A module that does not compile still reports the digest of its bytes.
            staged[i].wasm_sha256 = Some(match &r {
                Ok(cm) => cm.wasm_sha256,
                Err(_) => Sha256::digest(&staged[i].wasm).into(),
            });
            let result = finish_compiled(&mut staged[i], &inputs[i], r);
            staged[i].result = Some(result);
        }
    }
    staged.into_iter().map(Staged::into_outcome).collect()
}

/// The artifact of a module that went through the rest of the pipeline: a miss's (to be
/// stored in the module tier), or a checked hit's, the cached one once it equals the
/// fresh compile.
fn finish_compiled(
    s: &mut Staged,
    input: &ModuleInput,
    compiled: Result<CompiledModule, CompileError>,
) -> Result<ModuleArtifact, ModuleError> {
    let cm = compiled?;
    let same = match std::mem::replace(&mut s.hit, Hit::No) {
        Hit::No => return Ok(ModuleArtifact::Compiled(cm)),
        Hit::Stored(artifact, file) => {
            (artifact == cm.artifact).then_some(ModuleArtifact::Stored { artifact, file })
        }
        Hit::InPlace(len) => std::fs::read(input.artifact)
            .is_ok_and(|a| a == cm.artifact)
            .then_some(ModuleArtifact::InPlace { len }),
    };
    same.ok_or(ModuleError::CacheCheck { key: s.key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile_wasm, CodeCache, Isa, ManifestKey, OptLevel, StencilKey, IN_PLACE_HEAD};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Every tier in memory. An artifact in place is confirmed by comparing it whole with
    /// the stored one. Manifest and function lookups are counted: a module hit that is
    /// not checked must make none.
    struct MemCache {
        module_tier: bool,
        modules: Mutex<HashMap<ModuleKey, Vec<u8>>>,
        functions: Mutex<HashMap<StencilKey, Vec<u8>>>,
        manifests: Mutex<HashMap<ManifestKey, Vec<u8>>>,
        lookups: AtomicUsize,
    }

    impl MemCache {
        fn new(module_tier: bool) -> MemCache {
            MemCache {
                module_tier,
                modules: Mutex::default(),
                functions: Mutex::default(),
                manifests: Mutex::default(),
                lookups: AtomicUsize::new(0),
            }
        }
        fn lookups(&self) -> usize {
            self.lookups.swap(0, Ordering::Relaxed)
        }
        fn plant(&self, key: ModuleKey, artifact: &[u8]) {
            self.modules.lock().unwrap().insert(key, artifact.to_vec());
        }
        fn stored(&self, key: &ModuleKey) -> Option<Vec<u8>> {
            self.modules.lock().unwrap().get(key).cloned()
        }
    }

    impl CodeCache for MemCache {
        fn get_function(&self, key: &StencilKey) -> Option<Vec<u8>> {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            self.functions.lock().unwrap().get(key).cloned()
        }
        fn put_function(&self, key: &StencilKey, code: &[u8]) {
            self.functions.lock().unwrap().insert(*key, code.to_vec());
        }
        fn manifests(&self) -> bool {
            true
        }
        fn get_manifest(&self, key: &ManifestKey) -> Option<Vec<u8>> {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            self.manifests.lock().unwrap().get(key).cloned()
        }
        fn put_manifest(&self, key: &ManifestKey, manifest: &[u8]) {
            self.manifests
                .lock()
                .unwrap()
                .insert(*key, manifest.to_vec());
        }
        fn modules(&self) -> bool {
            self.module_tier
        }
        fn get_module(&self, key: &ModuleKey, in_place: &Path) -> Option<ModuleEntry> {
            assert!(self.module_tier, "module tier is off but was looked up");
            let stored = self.stored(key)?;
            match std::fs::read(in_place) {
                Ok(copy) if copy == stored => Some(ModuleEntry::InPlace {
                    len: copy.len() as u64,
                    head: copy[..copy.len().min(IN_PLACE_HEAD)].to_vec(),
                }),
                _ => Some(ModuleEntry::Stored {
                    artifact: stored,
                    file: None,
                }),
            }
        }
        fn put_module(&self, key: &ModuleKey, artifact: &[u8]) {
            assert!(self.module_tier, "module tier is off but was stored to");
            self.plant(*key, artifact);
        }
    }

    const WAT: &str = r#"(module
        (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
        (func (export "mul") (param i64 i64) (result i64) local.get 0 local.get 1 i64.mul))"#;

    /// A module file, its artifact path, and the ISA it is compiled for.
    struct Fixture {
        dir: tempfile::TempDir,
        wasm: PathBuf,
        artifact: PathBuf,
        isa: Isa,
    }

    impl Fixture {
        fn new(wat: &str) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let wasm = dir.path().join("m.wasm");
            std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
            let artifact = dir.path().join("m.wpc");
            let isa = Isa::new(None, OptLevel::Speed).unwrap();
            Fixture {
                dir,
                wasm,
                artifact,
                isa,
            }
        }
        fn bytes(&self) -> Vec<u8> {
            std::fs::read(&self.wasm).unwrap()
        }
        fn key(&self) -> ModuleKey {
            module_key(&self.isa, &wasm_digest(&self.bytes()))
        }
        fn run(&self, cache: &dyn CodeCache, check: bool) -> ModuleOutcome {
            let input = ModuleInput {
                wasm: &self.wasm,
                artifact: &self.artifact,
            };
            let opts = CompileOptions {
                isa: &self.isa,
                cache,
                check_cache: check,
            };
            let mut out = compile_files(&[input], opts);
            assert_eq!(out.len(), 1);
            let o = out.remove(0);
            o.store_artifact(cache, None);
            o
        }
        /// The artifact of this module at another opt level: a valid artifact for the same
        /// bytes (same sha256 in its header) that a compile here never produces.
        fn other_artifact(&self) -> Vec<u8> {
            let isa = Isa::new(None, OptLevel::None).unwrap();
            compile_wasm(&self.bytes(), &isa).unwrap()
        }
        fn sha256(&self) -> [u8; 32] {
            Sha256::digest(self.bytes()).into()
        }
    }

    fn compiled(o: ModuleOutcome) -> CompiledModule {
        match o.result {
            Ok(ModuleArtifact::Compiled(cm)) => cm,
            other => panic!("expected a compiled artifact, got {other:?}"),
        }
    }

    #[test]
    fn a_miss_is_compiled_and_stored_under_the_module_key() {
        let f = Fixture::new(WAT);
        let cache = MemCache::new(true);
        let o = f.run(&cache, false);
        assert_eq!(o.tier, ModuleTier::Miss);
        assert!(!o.corrupt);
        assert_eq!(o.wasm_sha256, Some(f.sha256()));
        assert_eq!(o.wasm_bytes, f.bytes().len() as u64);
        let cm = compiled(o);
        assert_eq!(cm.stats.functions, 2);
        assert_eq!(cm.artifact, compile_wasm(&f.bytes(), &f.isa).unwrap());
        assert_eq!(cache.stored(&f.key()), Some(cm.artifact));
    }

    #[test]
    fn a_hit_returns_the_stored_artifact_without_compiling() {
        let f = Fixture::new(WAT);
        let cache = MemCache::new(true);
        let other = f.other_artifact();
        assert_ne!(other, compile_wasm(&f.bytes(), &f.isa).unwrap());
        cache.plant(f.key(), &other);
        let o = f.run(&cache, false);
        assert_eq!(o.tier, ModuleTier::Hit);
        assert_eq!(cache.lookups(), 0, "nothing but the module was looked up");
        assert_eq!(
            o.wasm_sha256,
            Some(f.sha256()),
            "from the artifact's header"
        );
        assert_eq!(o.wasm_bytes, f.bytes().len() as u64);
        match o.result {
            Ok(ModuleArtifact::Stored { artifact, .. }) => assert_eq!(artifact, other),
            r => panic!("expected the stored artifact, got {r:?}"),
        }
        // The same artifact at the artifact path is confirmed in place.
        std::fs::write(&f.artifact, &other).unwrap();
        let o = f.run(&cache, false);
        assert_eq!(o.tier, ModuleTier::Hit);
        assert_eq!(cache.lookups(), 0);
        assert!(
            matches!(o.result, Ok(ModuleArtifact::InPlace { len }) if len == other.len() as u64),
            "{:?}",
            o.result
        );
    }

    #[test]
    fn a_damaged_entry_or_another_modules_artifact_is_a_counted_miss_and_is_replaced() {
        let f = Fixture::new(WAT);
        let want = compile_wasm(&f.bytes(), &f.isa).unwrap();
        let other = wat::parse_str(r#"(module (func (export "one") (result i32) i32.const 1))"#);
        let bad = [
            // No artifact's header.
            b"\x7fELF but not an artifact".to_vec(),
            // A whole, valid artifact, of another module (its digest is not this one's).
            compile_wasm(&other.unwrap(), &f.isa).unwrap(),
        ];
        let cache = MemCache::new(true);
        // Stored, and then confirmed in place.
        for (i, entry) in bad.iter().enumerate() {
            for in_place in [false, true] {
                cache.plant(f.key(), entry);
                if in_place {
                    std::fs::write(&f.artifact, entry).unwrap();
                }
                let o = f.run(&cache, false);
                assert_eq!(o.tier, ModuleTier::Miss, "entry {i}, in place: {in_place}");
                assert!(o.corrupt, "entry {i}, in place: {in_place}");
                assert_eq!(o.wasm_sha256, Some(f.sha256()));
                assert_eq!(compiled(o).artifact, want);
                assert_eq!(cache.stored(&f.key()), Some(want.clone()));
            }
        }
    }

    #[test]
    fn a_checked_hit_is_recompiled_and_compared() {
        let f = Fixture::new(WAT);
        let cache = MemCache::new(true);
        let want = compiled(f.run(&cache, false)).artifact;
        cache.lookups();
        // A right entry passes, stored or in place, and stays a hit.
        let o = f.run(&cache, true);
        assert_eq!(o.tier, ModuleTier::Hit);
        assert!(cache.lookups() > 0, "the hit was recompiled");
        assert!(
            matches!(&o.result, Ok(ModuleArtifact::Stored { artifact, .. }) if *artifact == want)
        );
        std::fs::write(&f.artifact, &want).unwrap();
        let o = f.run(&cache, true);
        assert!(cache.lookups() > 0, "the hit was recompiled");
        assert!(
            matches!(o.result, Ok(ModuleArtifact::InPlace { len }) if len == want.len() as u64)
        );
        // A wrong one fails the module, stored or in place, and is left for the caller.
        let other = f.other_artifact();
        cache.plant(f.key(), &other);
        for in_place in [false, true] {
            if in_place {
                std::fs::write(&f.artifact, &other).unwrap();
            } else {
                std::fs::remove_file(&f.artifact).unwrap();
            }
            let o = f.run(&cache, true);
            assert_eq!(o.tier, ModuleTier::Hit);
            assert_eq!(o.wasm_sha256, Some(f.sha256()), "computed, not read back");
            match o.result {
                Err(ModuleError::CacheCheck { key }) => assert_eq!(key, f.key()),
                r => panic!("in place: {in_place}: expected a failed check, got {r:?}"),
            }
            assert_eq!(cache.stored(&f.key()), Some(other.clone()));
        }
    }

    #[test]
    fn a_large_module_hit_reports_the_size_and_sha256_of_the_bytes_it_hashed() {
        let data = "x".repeat(STREAM_INPUT_BYTES as usize);
        let wat = format!(
            r#"(module (memory 8) (data (i32.const 0) "{data}")
                (func (export "f") (result i32) i32.const 7))"#
        );
        let f = Fixture::new(&wat);
        assert!(f.bytes().len() as u64 >= STREAM_INPUT_BYTES);
        let cache = MemCache::new(true);
        let want = compiled(f.run(&cache, false)).artifact;
        std::fs::write(&f.artifact, &want).unwrap();
        for check in [false, true] {
            let o = f.run(&cache, check);
            assert_eq!(o.tier, ModuleTier::Hit, "check: {check}");
            assert_eq!(o.wasm_bytes, f.bytes().len() as u64, "check: {check}");
            assert_eq!(o.wasm_sha256, Some(f.sha256()), "check: {check}");
            assert!(matches!(o.result, Ok(ModuleArtifact::InPlace { .. })));
        }
        // Edited bytes are another key: a miss that compiles them.
        let mut edited = f.bytes();
        let at = edited.len() / 2;
        edited[at] ^= 1;
        std::fs::write(&f.wasm, &edited).unwrap();
        let o = f.run(&cache, false);
        assert_eq!(o.tier, ModuleTier::Miss);
        assert_eq!(compiled(o).artifact, compile_wasm(&edited, &f.isa).unwrap());
    }

    #[test]
    fn with_the_module_tier_off_every_module_is_compiled_and_none_is_looked_up() {
        let f = Fixture::new(WAT);
        let cache = MemCache::new(false);
        for _ in 0..2 {
            let o = f.run(&cache, false);
            assert_eq!(o.tier, ModuleTier::Off);
            compiled(o);
        }
        let o = f.run(&crate::NoCache, false);
        assert_eq!(o.tier, ModuleTier::Off);
        compiled(o);
    }

    #[test]
    fn an_unreadable_module_fails_alone() {
        let f = Fixture::new(WAT);
        let missing = f.dir.path().join("missing.wasm");
        let cache = MemCache::new(true);
        let inputs = [
            ModuleInput {
                wasm: &missing,
                artifact: &f.artifact,
            },
            ModuleInput {
                wasm: &f.wasm,
                artifact: &f.artifact,
            },
        ];
        let opts = CompileOptions {
            isa: &f.isa,
            cache: &cache,
            check_cache: false,
        };
        let mut out = compile_files(&inputs, opts).into_iter();
        let unread = out.next().unwrap();
        assert!(matches!(&unread.result, Err(ModuleError::Read { path, .. }) if *path == missing));
        assert_eq!(unread.wasm_sha256, None);
        assert_eq!(unread.wasm_bytes, 0);
        compiled(out.next().unwrap());
    }
}

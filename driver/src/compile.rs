//! The compile driver: modules in parallel, each through the module tier and then the
//! function tier of the cache, artifacts written atomically, one report for the run.

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use wasmprecomp_artifact::ARTIFACT_EXTENSION;
use wasmprecomp_cache::{Cache, CacheConfig, CacheKey, Found, Mode, Tier};
use wasmprecomp_codegen::{
    compile_modules_hashed, module_key, wasm_digest, CompileError, CompileOptions, FunctionCache,
    Isa, StencilKey, WasmDigester,
};
use wasmprecomp_report::{
    self as report, CacheMode, CacheReport, ErrorReport, FunctionCacheReport, ModuleCache,
    ModuleReport, Report, Status, Timings,
};

/// How the cache is used for a run.
#[derive(Debug, Clone, Default)]
pub struct CacheSettings {
    /// `None`: `WASMPRECOMP_CACHE_DIR`, else the per-user cache folder.
    pub dir: Option<PathBuf>,
    /// Turn the cache off entirely.
    pub disabled: bool,
    /// Serve hits but never write.
    pub read_only: bool,
    /// Size limit in bytes (`None`: `WASMPRECOMP_CACHE_SIZE` or 2 GiB).
    pub max_size: Option<u64>,
    /// Skip the module tier (the function tier then does all the work).
    pub no_module_cache: bool,
    /// Skip module manifests (every function is looked up on its own).
    pub no_manifest: bool,
    /// Recompile every hit and fail if the bytes differ.
    pub check: bool,
}

/// One module to compile.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
}

/// Where a run reports its progress: the CLI shows a bar on a terminal outside CI.
/// Called from the run's worker threads.
pub trait Progress: Send + Sync {
    /// The run has `modules` modules to finish.
    fn start(&self, modules: u64);
    /// One more module is finished (compiled, served by the cache, or failed).
    fn module_finished(&self);
    /// Every module is finished.
    fn finish(&self);
}

/// Everything a run needs.
pub struct DriverOptions {
    pub isa: Isa,
    pub cache: CacheSettings,
    pub out_dir: PathBuf,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Told as modules finish (`None`: nobody watches).
    pub progress: Option<Arc<dyn Progress>>,
}

/// The artifact path for a module.
pub fn artifact_path(out_dir: &Path, input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "module".into());
    out_dir.join(format!("{stem}.{ARTIFACT_EXTENSION}"))
}

struct FnCache<'a> {
    cache: &'a Cache,
    manifests: bool,
}

impl FunctionCache for FnCache<'_> {
    fn get(&self, key: &StencilKey) -> Option<Vec<u8>> {
        self.cache.get(Tier::Function, &CacheKey(key.0))
    }
    fn put(&self, key: &StencilKey, payload: &[u8]) {
        self.cache.put(Tier::Function, &CacheKey(key.0), payload)
    }
    fn manifests(&self) -> bool {
        self.manifests
    }
    fn get_manifest(&self, key: &[u8; 32]) -> Option<Vec<u8>> {
        self.cache.get(Tier::Manifest, &CacheKey(*key))
    }
    fn put_manifest(&self, key: &[u8; 32], payload: &[u8]) {
        self.cache.put(Tier::Manifest, &CacheKey(*key), payload)
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let r = (|| {
        // No fsync: the rename makes the file appear whole or not at all, which is what
        // readers need; durability across power loss is not worth a sync per artifact.
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Like [`write_atomic`], but leaves an identical existing file alone: replacing a large
/// file costs far more than reading and comparing it (and keeps its timestamp stable for
/// tools that watch it).
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if same_contents(path, bytes) {
        return Ok(());
    }
    write_atomic(path, bytes)
}

/// Whether the file at `path` holds exactly `bytes`, read in pieces through one small
/// buffer (reading a large artifact whole into fresh memory costs its page faults again).
fn same_contents(path: &Path, bytes: &[u8]) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if !f.metadata().is_ok_and(|m| m.len() == bytes.len() as u64) {
        return false;
    }
    let mut at = 0;
    let read = read_chunks(&mut f, bytes.len() as u64, |piece| {
        let same = bytes.get(at..at + piece.len()) == Some(piece);
        at += piece.len();
        same
    });
    matches!(read, Ok(Some(n)) if n == bytes.len() as u64)
}

/// Reads `f` to its end through one buffer of at most 64 KiB (sized for `len_hint`
/// bytes), handing each piece to `each`, which stops the reading by returning false.
/// Returns how many bytes were read, or `None` when `each` stopped it.
fn read_chunks(
    f: &mut std::fs::File,
    len_hint: u64,
    mut each: impl FnMut(&[u8]) -> bool,
) -> std::io::Result<Option<u64>> {
    use std::io::Read;
    let mut buf = vec![0u8; len_hint.clamp(1, 64 << 10) as usize];
    let mut total = 0u64;
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(Some(total)),
            Ok(n) => {
                if !each(&buf[..n]) {
                    return Ok(None);
                }
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn hex(b: &[u8; 32]) -> String {
    CacheKey(*b).to_hex()
}

/// Opens the cache for a run; problems become warnings, never failures.
pub fn open_cache(s: &CacheSettings, warnings: &mut Vec<String>) -> Option<Cache> {
    if s.disabled {
        return None;
    }
    let cfg = CacheConfig {
        dir: s.dir.clone(),
        mode: Mode::ReadWrite,
        max_size: s.max_size,
        force_read_only: s.read_only,
        ..Default::default()
    };
    match Cache::open(&cfg) {
        Ok(c) => {
            warnings.extend(c.warnings());
            Some(c)
        }
        Err(e) => {
            warnings.push(format!("cache unavailable, compiling without it: {e}"));
            None
        }
    }
}

fn error_report(e: &CompileError) -> ErrorReport {
    ErrorReport {
        message: e.to_string(),
        offset: e.offset(),
        function: e.function(),
        proposal: e.proposal().map(|s| s.to_string()),
    }
}

/// Inputs from this size on are hashed as they are read, through a small buffer, when the
/// module tier may make holding them unnecessary: reading a large module whole into fresh
/// memory costs its page faults on every run.
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
    let read = read_chunks(&mut f, len, |piece| {
        hasher.update(piece);
        true
    })?;
    Ok(WasmInput::Digested {
        digest: hasher.finalize(),
        len: read.unwrap_or(0),
    })
}

/// What the module tier found for a module.
enum ModuleHit {
    /// Nothing: a miss, or the tier is off.
    No,
    /// The artifact already at the output path equals the entry (its length).
    InPlace(u64),
    /// The entry's artifact, to be written to the output path.
    Read(Vec<u8>),
}

/// A module after reading and the module-tier lookup.
struct Staged {
    rep: ModuleReport,
    out: PathBuf,
    t0: Instant,
    /// The module's bytes; empty for a module-tier hit on a large module that is not
    /// checked (only its digest was needed).
    wasm: Vec<u8>,
    digest: [u8; 32],
    mkey: CacheKey,
    hit: ModuleHit,
    /// The compiled artifact of a module-tier miss.
    artifact: Option<Vec<u8>>,
    failed: bool,
}

fn read_error(rep: &mut ModuleReport, message: String) {
    rep.error = Some(ErrorReport {
        message,
        offset: None,
        function: None,
        proposal: None,
    });
}

fn stage(input: &Input, opts: &DriverOptions, cache: Option<&Cache>) -> Staged {
    let t0 = Instant::now();
    let module_tier = cache.filter(|_| !opts.cache.no_module_cache);
    let rep = ModuleReport {
        input: input.path.display().to_string(),
        output: None,
        wasm_bytes: 0,
        artifact_bytes: 0,
        wasm_sha256: String::new(),
        status: Status::Error,
        error: None,
        module_cache: if module_tier.is_some() {
            ModuleCache::Miss
        } else {
            ModuleCache::Off
        },
        functions: 0,
        function_cache: FunctionCacheReport::default(),
        timings_ms: Timings::default(),
    };
    let out = artifact_path(&opts.out_dir, &input.path);
    let mut staged = Staged {
        rep,
        out,
        t0,
        wasm: Vec::new(),
        digest: [0; 32],
        mkey: CacheKey([0; 32]),
        hit: ModuleHit::No,
        artifact: None,
        failed: false,
    };
    let t = Instant::now();
    let cannot_read = |s: &mut Staged, e: std::io::Error| {
        read_error(
            &mut s.rep,
            format!("cannot read {}: {e}", input.path.display()),
        );
        s.failed = true;
    };
    let read = match read_input(&input.path, module_tier.is_some()) {
        Ok(r) => r,
        Err(e) => {
            cannot_read(&mut staged, e);
            return staged;
        }
    };
    staged.rep.timings_ms.read = t.elapsed().as_secs_f64() * 1000.0;
    let mut digest = None;
    match read {
        WasmInput::Bytes(b) => staged.wasm = b,
        WasmInput::Digested { digest: d, len } => {
            digest = Some(d);
            staged.rep.wasm_bytes = len;
        }
    }
    let mut sha = None;
    if let Some(c) = module_tier {
        let t = Instant::now();
        let d = digest.unwrap_or_else(|| wasm_digest(&staged.wasm));
        staged.mkey = CacheKey(module_key(&opts.isa, &d).0);
        // The artifact an earlier run wrote is compared with the entry by checksum: when
        // they agree the entry's payload is never read and nothing is written.
        match c.get_or_confirm(Tier::Module, &staged.mkey, &staged.out) {
            // The key covers the bytes, so the artifact's recorded sha256 is theirs.
            Some(Found::Confirmed { len, head }) => {
                if let Some(h) = wasmprecomp_artifact::header_from_prefix(&head) {
                    staged.hit = ModuleHit::InPlace(len);
                    sha = Some(h.wasm_sha256);
                }
            }
            Some(Found::Read(bytes)) => {
                if let Some(h) = wasmprecomp_artifact::header_from_prefix(&bytes) {
                    staged.hit = ModuleHit::Read(bytes);
                    sha = Some(h.wasm_sha256);
                }
            }
            None => {}
        }
        if !matches!(staged.hit, ModuleHit::No) {
            staged.rep.module_cache = ModuleCache::Hit;
        }
        staged.rep.timings_ms.cache_lookup = t.elapsed().as_secs_f64() * 1000.0;
    }
    // A module that is compiled (a miss, or a hit that is checked) needs its bytes. Read
    // again, they may have changed since they were digested: the key follows the bytes.
    let compiled = matches!(staged.hit, ModuleHit::No) || opts.cache.check;
    if let (Some(d), true) = (digest, compiled) {
        match std::fs::read(&input.path) {
            Ok(b) => staged.wasm = b,
            Err(e) => {
                cannot_read(&mut staged, e);
                return staged;
            }
        }
        let now = wasm_digest(&staged.wasm);
        if now != d {
            staged.mkey = CacheKey(module_key(&opts.isa, &now).0);
            staged.hit = ModuleHit::No;
            staged.rep.module_cache = ModuleCache::Miss;
            sha = None;
        }
    }
    if digest.is_none() || compiled {
        staged.rep.wasm_bytes = staged.wasm.len() as u64;
    }
    // Checking recompiles the hit, so the digest it embeds must be computed, not read
    // back from the artifact under test.
    staged.digest = sha
        .filter(|_| !opts.cache.check)
        .unwrap_or_else(|| Sha256::digest(&staged.wasm).into());
    staged.rep.wasm_sha256 = hex(&staged.digest);
    staged
}

/// Writes the artifact (or records the failure) and finishes the module's report.
fn finish(mut s: Staged) -> ModuleReport {
    let t = Instant::now();
    // A module hit's artifact is in place already or known to differ from the file
    // there; a compiled one may equal what an earlier run wrote.
    let written = match (&s.hit, &s.artifact, s.failed) {
        (_, _, true) => None,
        (ModuleHit::InPlace(len), _, _) => Some(Ok(*len)),
        (ModuleHit::Read(a), _, _) => Some(write_atomic(&s.out, a).map(|()| a.len() as u64)),
        (ModuleHit::No, Some(a), _) => Some(write_if_changed(&s.out, a).map(|()| a.len() as u64)),
        (ModuleHit::No, None, _) => None,
    };
    match written {
        Some(Ok(len)) => {
            s.rep.status = Status::Ok;
            s.rep.output = Some(s.out.display().to_string());
            s.rep.artifact_bytes = len;
        }
        Some(Err(e)) => read_error(&mut s.rep, format!("cannot write {}: {e}", s.out.display())),
        None => {
            // Never leave an artifact from an earlier run next to a failed module.
            let _ = std::fs::remove_file(&s.out);
        }
    }
    s.rep.timings_ms.write = t.elapsed().as_secs_f64() * 1000.0;
    s.rep.timings_ms.total = s.t0.elapsed().as_secs_f64() * 1000.0;
    s.rep
}

fn compile_staged(staged: &mut [Staged], opts: &DriverOptions, cache: Option<&Cache>) {
    // With `--cache-check`, module hits are compiled too, and compared.
    let pending: Vec<usize> = (0..staged.len())
        .filter(|&i| {
            let s = &staged[i];
            !s.failed && (matches!(s.hit, ModuleHit::No) || opts.cache.check)
        })
        .collect();
    if pending.is_empty() {
        return;
    }
    let fc;
    let nc = wasmprecomp_codegen::NoCache;
    let fcache: &dyn FunctionCache = match cache {
        Some(c) => {
            fc = FnCache {
                cache: c,
                manifests: !opts.cache.no_manifest,
            };
            &fc
        }
        None => &nc,
    };
    let wasms: Vec<&[u8]> = pending.iter().map(|&i| staged[i].wasm.as_slice()).collect();
    let digests: Vec<[u8; 32]> = pending.iter().map(|&i| staged[i].digest).collect();
    let results = compile_modules_hashed(
        &wasms,
        &digests,
        CompileOptions {
            isa: &opts.isa,
            cache: fcache,
            check_cache: opts.cache.check,
        },
    );
    let module_tier = cache.filter(|_| !opts.cache.no_module_cache);
    for (&i, r) in pending.iter().zip(results) {
        let s = &mut staged[i];
        match r {
            Ok(cm) if !matches!(s.hit, ModuleHit::No) => {
                // A checked module hit: the report keeps describing the hit.
                let same = match &s.hit {
                    ModuleHit::Read(a) => *a == cm.artifact,
                    _ => std::fs::read(&s.out).is_ok_and(|a| a == cm.artifact),
                };
                if !same {
                    let message = format!(
                        "{}: cache check failed: the cached artifact differs from a fresh compile (module key {})",
                        s.rep.input,
                        s.mkey.to_hex()
                    );
                    read_error(&mut s.rep, message);
                    s.failed = true;
                }
            }
            Ok(cm) => {
                let rep = &mut s.rep;
                rep.functions = cm.stats.functions as u64;
                rep.function_cache = FunctionCacheReport {
                    hits: cm.stats.hits as u64,
                    misses: cm.stats.misses as u64,
                    deduplicated: cm.stats.deduplicated as u64,
                    from_manifest: cm.stats.from_manifest as u64,
                    hit_rate: report::hit_rate(cm.stats.hits as u64, cm.stats.misses as u64),
                };
                rep.timings_ms.validate = cm.timings.validate;
                rep.timings_ms.stencil = cm.timings.stencil;
                rep.timings_ms.cache_lookup += cm.timings.cache_lookup;
                rep.timings_ms.compile = cm.timings.compile;
                rep.timings_ms.link = cm.timings.link;
                if let Some(c) = module_tier {
                    c.put(Tier::Module, &s.mkey, &cm.artifact);
                }
                s.artifact = Some(cm.artifact);
            }
            Err(e) => {
                let mut er = error_report(&e);
                er.message = format!("{}: {}", s.rep.input, er.message);
                s.rep.error = Some(er);
                s.failed = true;
            }
        }
    }
}

/// The report's name for a cache's mode.
fn cache_mode(m: Mode) -> CacheMode {
    match m {
        Mode::ReadWrite => CacheMode::ReadWrite,
        Mode::ReadOnly => CacheMode::ReadOnly,
        Mode::Off => CacheMode::Off,
    }
}

/// Compiles every input; one failing module does not stop the others.
pub fn compile_all(inputs: &[Input], opts: &DriverOptions, warnings: &mut Vec<String>) -> Report {
    let t0 = Instant::now();
    let cache = open_cache(&opts.cache, warnings);
    // `-j N` gets its own pool; otherwise the global one, whose threads outlive this
    // run (a build script or a bench calling repeatedly pays for them once).
    let pool = opts
        .jobs
        .map(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build());
    let bar = opts.progress.as_deref();
    if let Some(b) = bar {
        b.start(inputs.len() as u64);
    }
    // Module tier first; then every miss goes through the function tier as one run, so
    // a function shared by several modules is compiled once.
    let finish_one = |s: Staged| {
        let r = finish(s);
        if let Some(b) = bar {
            b.module_finished();
        }
        r
    };
    let run = || -> Vec<ModuleReport> {
        // One module is staged and finished on this thread: handing it to a worker costs
        // a thread wake-up, about as much as a small module's whole module-tier hit.
        let mut staged: Vec<Staged> = if inputs.len() == 1 {
            vec![stage(&inputs[0], opts, cache.as_ref())]
        } else {
            inputs
                .par_iter()
                .map(|i| stage(i, opts, cache.as_ref()))
                .collect()
        };
        compile_staged(&mut staged, opts, cache.as_ref());
        if staged.len() == 1 {
            staged.into_iter().map(finish_one).collect()
        } else {
            staged.into_par_iter().map(finish_one).collect()
        }
    };
    let modules = match &pool {
        Some(Ok(p)) => p.install(run),
        _ => run(),
    };
    if let Some(b) = bar {
        b.finish();
    }
    let (dir, mode, stats) = match cache {
        Some(c) => {
            let dir = c.dir().map(|d| d.display().to_string());
            let mode = cache_mode(c.mode());
            let (stats, w) = c.finish_with_warnings();
            warnings.extend(w);
            (dir, mode, stats)
        }
        None => (None, CacheMode::Off, Default::default()),
    };
    let mut report = Report {
        schema: report::SCHEMA.into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        target: opts.isa.triple().to_string(),
        cpu_features: opts.isa.cpu_features(),
        opt_level: opts.isa.opt_level().name().into(),
        cache: CacheReport {
            dir,
            mode,
            module_hits: stats.module_hits,
            module_misses: stats.module_misses,
            function_hits: stats.function_hits,
            function_misses: stats.function_misses,
            manifest_hits: stats.manifest_hits,
            manifest_misses: stats.manifest_misses,
            corrupt: stats.corrupt,
            bytes_read: stats.bytes_read,
            bytes_written: stats.bytes_written,
            evictions: stats.evictions,
        },
        modules,
        totals: Default::default(),
    };
    report.totals.wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
    report.compute_totals();
    report
}

//! The compile driver: modules in parallel, each through the module tier and then the
//! function tier of the cache, artifacts written atomically, one report for the run.

use crate::report::{
    self, CacheReport, ErrorReport, FunctionCacheReport, ModuleReport, Report, Timings,
};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use wasmprecomp_artifact::ARTIFACT_EXTENSION;
use wasmprecomp_cache::{Cache, CacheConfig, CacheKey, Found, Mode, Tier};
use wasmprecomp_codegen::{
    compile_modules_hashed, module_key, wasm_digest, CompileError, CompileOptions, FunctionCache,
    Isa, StencilKey,
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

/// Everything a run needs.
pub struct DriverOptions {
    pub isa: Isa,
    pub cache: CacheSettings,
    pub out_dir: PathBuf,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Show a progress bar (only on a terminal, never in CI).
    pub progress: bool,
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

/// The file at `path` if it holds exactly `len` bytes (`None` when it is missing,
/// unreadable or of another length).
fn read_if_len(path: &Path, len: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    if f.metadata().ok()?.len() != len {
        return None;
    }
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(usize::try_from(len).ok()?).ok()?;
    f.take(len).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 == len).then_some(bytes)
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
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if !f.metadata().is_ok_and(|m| m.len() == bytes.len() as u64) {
        return false;
    }
    let mut buf = vec![0u8; bytes.len().clamp(1, 64 * 1024)];
    let mut at = 0;
    loop {
        match f.read(&mut buf) {
            Ok(0) => return at == bytes.len(),
            Ok(n) => {
                if bytes.get(at..at + n) != Some(&buf[..n]) {
                    return false;
                }
                at += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
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

/// The wasm sha256 recorded in cached artifact bytes, when they look like an artifact (a
/// cheap structural check; the cache's checksum already covers the bytes).
fn artifact_wasm_sha256(bytes: &[u8]) -> Option<[u8; 32]> {
    use object::{Object, ObjectSection};
    let f = object::File::parse(bytes).ok()?;
    let d = f
        .section_by_name(wasmprecomp_artifact::META_SECTION)?
        .data()
        .ok()?;
    wasmprecomp_artifact::ModuleMeta::decode_header(d)
        .ok()
        .map(|h| h.wasm_sha256)
}

/// A module after reading and the module-tier lookup.
struct Staged {
    rep: ModuleReport,
    out: PathBuf,
    t0: Instant,
    wasm: Vec<u8>,
    digest: [u8; 32],
    mkey: CacheKey,
    /// The artifact, when the module tier hit.
    artifact: Option<Vec<u8>>,
    /// Whether the file at `out` holds the artifact, when known: a module hit confirms
    /// the file an earlier run wrote against the cache entry instead of reading both.
    out_matches: Option<bool>,
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
        status: "error".into(),
        error: None,
        module_cache: if module_tier.is_some() {
            "miss".into()
        } else {
            "off".into()
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
        artifact: None,
        out_matches: None,
        failed: false,
    };
    let t = Instant::now();
    match std::fs::read(&input.path) {
        Ok(b) => staged.wasm = b,
        Err(e) => {
            read_error(
                &mut staged.rep,
                format!("cannot read {}: {e}", input.path.display()),
            );
            staged.failed = true;
            return staged;
        }
    }
    staged.rep.timings_ms.read = t.elapsed().as_secs_f64() * 1000.0;
    staged.rep.wasm_bytes = staged.wasm.len() as u64;
    let mut sha = None;
    if let Some(c) = module_tier {
        let t = Instant::now();
        staged.mkey = CacheKey(module_key(&opts.isa, &wasm_digest(&staged.wasm)));
        // The artifact an earlier run wrote is offered to the cache, which compares its
        // checksum with the entry's: when they agree the entry's payload is never read
        // and nothing is written.
        let found = c.get_or_confirm(Tier::Module, &staged.mkey, |len| {
            read_if_len(&staged.out, len)
        });
        if let Some(found) = found {
            let confirmed = matches!(found, Found::Confirmed(_));
            let bytes = found.into_payload();
            // The key covers the bytes, so the artifact's recorded sha256 is theirs.
            if let Some(recorded) = artifact_wasm_sha256(&bytes) {
                staged.rep.module_cache = "hit".into();
                staged.artifact = Some(bytes);
                staged.out_matches = Some(confirmed);
                sha = Some(recorded);
            }
        }
        staged.rep.timings_ms.cache_lookup = t.elapsed().as_secs_f64() * 1000.0;
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
    match (&s.artifact, s.failed) {
        (Some(a), false) => {
            let written = match s.out_matches {
                Some(true) => Ok(()),
                Some(false) => write_atomic(&s.out, a),
                None => write_if_changed(&s.out, a),
            };
            match written {
                Ok(()) => {
                    s.rep.status = "ok".into();
                    s.rep.output = Some(s.out.display().to_string());
                    s.rep.artifact_bytes = a.len() as u64;
                }
                Err(e) => read_error(&mut s.rep, format!("cannot write {}: {e}", s.out.display())),
            }
        }
        _ => {
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
            !s.failed && (s.artifact.is_none() || opts.cache.check)
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
            Ok(cm) if s.artifact.is_some() => {
                // A checked module hit: the report keeps describing the hit.
                if s.artifact.as_ref() != Some(&cm.artifact) {
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

/// Compiles every input; one failing module does not stop the others.
pub fn compile_all(inputs: &[Input], opts: &DriverOptions, warnings: &mut Vec<String>) -> Report {
    let t0 = Instant::now();
    let cache = open_cache(&opts.cache, warnings);
    // `-j N` gets its own pool; otherwise the global one, whose threads outlive this
    // run (a build script or a bench calling repeatedly pays for them once).
    let pool = opts
        .jobs
        .map(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build());
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(inputs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    // Module tier first; then every miss goes through the function tier as one run, so
    // a function shared by several modules is compiled once.
    let finish_one = |s: Staged| {
        let r = finish(s);
        if let Some(b) = &bar {
            b.inc(1);
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
        b.finish_and_clear();
    }
    let (dir, mode, stats) = match cache {
        Some(c) => {
            let dir = c.dir().map(|d| d.display().to_string());
            let mode = c.mode().as_str().to_string();
            let (stats, w) = c.finish_with_warnings();
            warnings.extend(w);
            (dir, mode, stats)
        }
        None => (None, "off".to_string(), Default::default()),
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

//! The compile driver: the run's cache opened, every module through the codegen
//! pipeline (module, manifest and function tiers), artifacts written atomically, one
//! report for the run.

use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use wasmprecomp_artifact::ARTIFACT_EXTENSION;
use wasmprecomp_cache::{Cache, CacheConfig, CacheKey, Found, Mode, Tier};
use wasmprecomp_codegen::{
    compile_files, CodeCache, CompileError, CompileOptions, Isa, ManifestKey, ModuleArtifact,
    ModuleEntry, ModuleError, ModuleInput, ModuleKey, ModuleOutcome, ModuleTier, StencilKey,
};
use wasmprecomp_remote::{Remote, RemoteConfig, RemoteStats, Tiered};
use wasmprecomp_report::{
    self as report, CacheMode, CacheReport, ErrorReport, FunctionCacheReport, ModuleCache,
    ModuleReport, RemoteReport, Report, Status, Timings,
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
    /// The remote level behind the folder (`--remote-cache`, `WASMPRECOMP_REMOTE_CACHE`;
    /// see [`CacheSettings::with_remote_from_env`]). Not used when the cache is disabled.
    pub remote: Option<RemoteConfig>,
}

impl CacheSettings {
    /// Sets [`CacheSettings::remote`] from the command line's values, else the
    /// environment (`WASMPRECOMP_REMOTE_*`); a malformed URL or setting is an error.
    pub fn with_remote_from_env(
        mut self,
        overrides: &wasmprecomp_remote::RemoteOverrides,
    ) -> Result<CacheSettings, wasmprecomp_remote::RemoteError> {
        self.remote = RemoteConfig::resolve(overrides)?;
        Ok(self)
    }
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

/// The code cache over the store: the local folder, and the remote level behind it when
/// one is configured. Each tier of the pipeline is a tier of the store, keys are the
/// typed keys' bytes, and an artifact in place is confirmed by the entry's length and
/// checksum.
struct StoreCache<'a> {
    tiers: Tiered<'a>,
    manifests: bool,
    modules: bool,
}

impl CodeCache for StoreCache<'_> {
    fn get_function(&self, key: &StencilKey) -> Option<Vec<u8>> {
        self.tiers.get(Tier::Function, &CacheKey(key.0))
    }
    fn put_function(&self, key: &StencilKey, code: &[u8]) {
        self.tiers.put(Tier::Function, &CacheKey(key.0), code)
    }
    fn prefetch_functions(&self, keys: &[StencilKey]) {
        let keys: Vec<CacheKey> = keys.iter().map(|k| CacheKey(k.0)).collect();
        self.tiers.prefetch(Tier::Function, &keys)
    }
    fn manifests(&self) -> bool {
        self.manifests
    }
    fn get_manifest(&self, key: &ManifestKey) -> Option<Vec<u8>> {
        self.tiers.get(Tier::Manifest, &CacheKey(key.0))
    }
    fn put_manifest(&self, key: &ManifestKey, manifest: &[u8]) {
        self.tiers.put(Tier::Manifest, &CacheKey(key.0), manifest)
    }
    fn modules(&self) -> bool {
        self.modules
    }
    fn get_module(&self, key: &ModuleKey, in_place: &Path) -> Option<ModuleEntry> {
        // The cache hands back the copy's first 4 KiB, the pipeline's IN_PLACE_HEAD.
        match self
            .tiers
            .get_or_confirm(Tier::Module, &CacheKey(key.0), in_place)?
        {
            Found::Confirmed { len, head } => Some(ModuleEntry::InPlace { len, head }),
            Found::Read(artifact) => Some(ModuleEntry::Stored {
                artifact,
                file: None,
            }),
            Found::Shared { payload, file } => Some(ModuleEntry::Stored {
                artifact: payload,
                file: Some(file),
            }),
        }
    }
    fn put_module(&self, key: &ModuleKey, artifact: &[u8]) {
        self.tiers.put(Tier::Module, &CacheKey(key.0), artifact)
    }
    fn put_module_file(&self, key: &ModuleKey, artifact: &[u8], file: &Path) {
        self.tiers
            .put_file(Tier::Module, &CacheKey(key.0), artifact, file)
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_then(path, bytes, |_| ())
}

/// A temp name for a file about to replace `path`, in `path`'s folder (created if
/// missing).
fn temp_beside(path: &Path) -> std::io::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok(dir.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )))
}

/// Puts a hard link to `file` at `path` atomically: a link under a temp name in `path`'s
/// folder, then a rename. Fails (leaving `path` alone) where the two are on different
/// filesystems or links are not supported.
fn link_atomic(file: &Path, path: &Path) -> std::io::Result<()> {
    let tmp = temp_beside(path)?;
    std::fs::hard_link(file, &tmp)?;
    let r = std::fs::rename(&tmp, path);
    // A rename onto another link to the same file does nothing and leaves the temp name
    // behind; otherwise (and on failure) the name is gone or must go.
    let _ = std::fs::remove_file(&tmp);
    r
}

/// [`write_atomic`] that hands the temp file, once it holds `bytes`, to `written` before
/// renaming it into place (`written` is not called when writing fails).
fn write_atomic_then(
    path: &Path,
    bytes: &[u8],
    written: impl FnOnce(&Path),
) -> std::io::Result<()> {
    let tmp = temp_beside(path)?;
    let r = (|| {
        // No fsync: the rename makes the file appear whole or not at all, which is what
        // readers need; durability across power loss is not worth a sync per artifact.
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        drop(f);
        written(&tmp);
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
    write_if_changed_then(path, bytes, |_| ())
}

/// [`write_if_changed`] that hands the file holding `bytes` to `written`: the file at
/// `path` when it was left alone, else the temp file before it is renamed into place.
fn write_if_changed_then(
    path: &Path,
    bytes: &[u8],
    written: impl FnOnce(&Path),
) -> std::io::Result<()> {
    if same_contents(path, bytes) {
        written(path);
        return Ok(());
    }
    write_atomic_then(path, bytes, written)
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

/// Opens the cache for a run; problems become warnings, never failures. Those of a cache
/// that opens (say, that it is read-only) stay with it: `Cache::finish_with_warnings`
/// returns them with the run's, once.
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
        Ok(c) => Some(c),
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

fn message_report(message: String) -> ErrorReport {
    ErrorReport {
        message,
        offset: None,
        function: None,
        proposal: None,
    }
}

/// What a component given as a module is told.
pub const COMPONENT: &str = "this is a WebAssembly component (wasm32-wasip2 and cargo-component produce components); wasmprecomp compiles core modules: build for wasm32-wasip1";

/// Whether the file at `path` starts with a component's preamble: the wasm magic, then
/// a version with layer 1 (a core module's layer is 0).
pub fn is_component(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head[..4] == *b"\0asm"
        && head[6..8] == [1, 0]
}

/// Writes a module's artifact (or removes a stale one next to a failure) and turns its
/// outcome into its report.
fn finish(input: &Input, out: &Path, o: ModuleOutcome, cache: &dyn CodeCache) -> ModuleReport {
    let mut rep = ModuleReport {
        input: input.path.display().to_string(),
        output: None,
        target: String::new(),
        wasm_bytes: o.wasm_bytes,
        artifact_bytes: 0,
        wasm_sha256: o.wasm_sha256.as_ref().map(hex).unwrap_or_default(),
        status: Status::Error,
        error: None,
        module_cache: match o.tier {
            ModuleTier::Off => ModuleCache::Off,
            ModuleTier::Miss => ModuleCache::Miss,
            ModuleTier::Hit => ModuleCache::Hit,
        },
        functions: 0,
        function_cache: FunctionCacheReport::default(),
        timings_ms: Timings {
            read: o.read_ms,
            cache_lookup: o.lookup_ms,
            ..Timings::default()
        },
        slowest_functions: Vec::new(),
    };
    let artifact = match &o.result {
        Ok(a) => a,
        Err(e) => {
            rep.error = Some(match e {
                ModuleError::Read { .. } => message_report(e.to_string()),
                ModuleError::Compile(_) if is_component(&input.path) => ErrorReport {
                    message: format!("{}: {COMPONENT}", rep.input),
                    offset: Some(0),
                    function: None,
                    proposal: Some("component-model".into()),
                },
                ModuleError::Compile(e) => {
                    let mut er = error_report(e);
                    er.message = format!("{}: {}", rep.input, er.message);
                    er
                }
                ModuleError::CacheCheck { .. } => message_report(format!("{}: {e}", rep.input)),
            });
            // Never leave an artifact from an earlier run next to a failed module.
            let t = Instant::now();
            let _ = std::fs::remove_file(out);
            rep.timings_ms.write = t.elapsed().as_secs_f64() * 1000.0;
            rep.timings_ms.total = o.started.elapsed().as_secs_f64() * 1000.0;
            return rep;
        }
    };
    match artifact {
        ModuleArtifact::Compiled(cm) => {
            let st = &cm.stats;
            rep.functions = st.functions as u64;
            let served = u64::from(st.hits.saturating_sub(st.reused_in_run));
            rep.function_cache = FunctionCacheReport {
                served_by_cache: served,
                from_manifest: st.from_manifest as u64,
                reused_in_run: st.reused_in_run as u64,
                deduplicated: st.deduplicated as u64,
                compiled: st.misses as u64,
                hit_rate: report::hit_rate(served, st.misses as u64),
            };
            let t = &mut rep.timings_ms;
            t.validate = cm.timings.validate;
            t.stencil = cm.timings.stencil;
            t.cache_lookup += cm.timings.cache_lookup;
            t.compile = cm.timings.compile;
            t.link = cm.timings.link;
            rep.slowest_functions = cm
                .slowest
                .iter()
                .map(|f| report::FunctionTime {
                    function: f.function,
                    name: f.name.clone(),
                    body_bytes: f.body_bytes,
                    compile_ms: f.compile_ms,
                })
                .collect();
        }
        // A module-tier hit serves every function: counted from the module's function
        // section (its section headers only are read).
        ModuleArtifact::InPlace { .. } | ModuleArtifact::Stored { .. } => {
            let n = defined_functions(&input.path).unwrap_or(0);
            rep.functions = n;
            rep.function_cache = FunctionCacheReport {
                served_by_cache: n,
                hit_rate: 1.0,
                ..FunctionCacheReport::default()
            };
        }
    }
    let t = Instant::now();
    // A module hit's artifact is in place already or known to differ from the file
    // there; a compiled one may equal what an earlier run wrote. A compiled artifact is
    // stored in the module tier as the file written (before it is renamed into place),
    // which the cache shares instead of writing a copy; if the write fails, as bytes.
    let written = match artifact {
        ModuleArtifact::InPlace { len } => Ok(*len),
        // A stored artifact the cache keeps in a file of its own is linked into place,
        // else (another filesystem) written.
        ModuleArtifact::Stored { artifact, file } => file
            .as_deref()
            .and_then(|f| link_atomic(f, out).ok())
            .map_or_else(|| write_atomic(out, artifact), Ok)
            .map(|()| artifact.len() as u64),
        ModuleArtifact::Compiled(cm) => {
            let mut stored = false;
            let w = write_if_changed_then(out, &cm.artifact, |file| {
                o.store_artifact(cache, Some(file));
                stored = true;
            });
            if !stored {
                o.store_artifact(cache, None);
            }
            w.map(|()| cm.artifact.len() as u64)
        }
    };
    match written {
        Ok(len) => {
            rep.status = Status::Ok;
            rep.output = Some(out.display().to_string());
            rep.artifact_bytes = len;
        }
        Err(e) => {
            rep.error = Some(message_report(format!(
                "cannot write {}: {e}",
                out.display()
            )))
        }
    }
    rep.timings_ms.write = t.elapsed().as_secs_f64() * 1000.0;
    rep.timings_ms.total = o.started.elapsed().as_secs_f64() * 1000.0;
    rep.timings_ms.work = work(&rep.timings_ms);
    rep
}

/// The sum of a module's steps.
fn work(t: &Timings) -> f64 {
    t.read + t.validate + t.stencil + t.cache_lookup + t.compile + t.link + t.write
}

/// The number of functions a wasm module defines: the count of its function section,
/// found by reading the section headers and seeking over the sections. `None` when the
/// file is not a readable module.
pub fn defined_functions(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut f = std::io::BufReader::with_capacity(512, std::fs::File::open(path).ok()?);
    let mut head = [0u8; 8];
    f.read_exact(&mut head).ok()?;
    if head[..4] != *b"\0asm" {
        return None;
    }
    fn leb(f: &mut impl Read) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..35).step_by(7) {
            let mut b = [0u8];
            f.read_exact(&mut b).ok()?;
            v |= u64::from(b[0] & 0x7f) << shift;
            if b[0] & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    loop {
        let mut id = [0u8];
        if f.read(&mut id).ok()? == 0 {
            return Some(0);
        }
        let size = leb(&mut f)?;
        if id[0] == 3 {
            return leb(&mut f);
        }
        f.seek_relative(i64::try_from(size).ok()?).ok()?;
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

/// The report's remote section.
fn remote_report(c: &RemoteConfig, s: &RemoteStats) -> RemoteReport {
    RemoteReport {
        url: c.display_url().to_string(),
        mode: if c.read_only {
            CacheMode::ReadOnly
        } else {
            CacheMode::ReadWrite
        },
        authenticated: c.authenticated(),
        module_hits: s.module_hits,
        module_misses: s.module_misses,
        manifest_hits: s.manifest_hits,
        manifest_misses: s.manifest_misses,
        function_hits: s.function_hits,
        function_misses: s.function_misses,
        corrupt: s.corrupt,
        unauthenticated: s.unauthenticated,
        errors: s.errors,
        requests: s.requests,
        bytes_down: s.bytes_down,
        bytes_up: s.bytes_up,
        uploads: s.uploads,
        uploads_dropped: s.uploads_dropped,
        wait_ms: s.wait_ms,
        disabled: s.disabled,
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
    let remote = match &opts.cache.remote {
        Some(r) if !opts.cache.disabled => Some(Remote::open(r)),
        _ => None,
    };
    let store;
    let code_cache: &dyn CodeCache = if cache.is_some() || remote.is_some() {
        store = StoreCache {
            tiers: Tiered::new(cache.as_ref(), remote.as_ref()),
            manifests: !opts.cache.no_manifest,
            modules: !opts.cache.no_module_cache,
        };
        &store
    } else {
        &wasmprecomp_codegen::NoCache
    };
    let outs: Vec<PathBuf> = inputs
        .iter()
        .map(|i| artifact_path(&opts.out_dir, &i.path))
        .collect();
    // Entries the store returned but the pipeline could not decode: misses, counted in
    // the report's `cache.corrupt` with the ones the store itself found damaged.
    let undecodable = std::sync::atomic::AtomicU64::new(0);
    let finish_one = |(i, o): (usize, ModuleOutcome)| {
        let mut bad = u64::from(o.corrupt);
        if let Ok(ModuleArtifact::Compiled(cm)) = &o.result {
            bad += u64::from(cm.stats.corrupt);
        }
        undecodable.fetch_add(bad, std::sync::atomic::Ordering::Relaxed);
        let r = finish(&inputs[i], &outs[i], o, code_cache);
        if let Some(b) = bar {
            b.module_finished();
        }
        r
    };
    let run = || -> Vec<ModuleReport> {
        let files: Vec<ModuleInput> = inputs
            .iter()
            .zip(&outs)
            .map(|(i, out)| ModuleInput {
                wasm: &i.path,
                artifact: out,
            })
            .collect();
        let outcomes = compile_files(
            &files,
            CompileOptions {
                isa: &opts.isa,
                cache: code_cache,
                check_cache: opts.cache.check,
            },
        );
        // One module is finished on this thread: handing it to a worker costs a thread
        // wake-up, about as much as a small module's whole module-tier hit.
        if outcomes.len() == 1 {
            outcomes.into_iter().enumerate().map(finish_one).collect()
        } else {
            outcomes
                .into_par_iter()
                .enumerate()
                .map(finish_one)
                .collect()
        }
    };
    let mut modules = match &pool {
        Some(Ok(p)) => p.install(run),
        _ => run(),
    };
    for m in &mut modules {
        m.target = opts.isa.triple().to_string();
    }
    if let Some(b) = bar {
        b.finish();
    }
    let remote = remote.map(|r| {
        let config = r.config().clone();
        let (stats, w) = r.finish();
        warnings.extend(w);
        Box::new(remote_report(&config, &stats))
    });
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
            corrupt: stats.corrupt + undecodable.into_inner(),
            bytes_read: stats.bytes_read,
            bytes_written: stats.bytes_written,
            evictions: stats.evictions,
        },
        remote,
        modules,
        totals: Default::default(),
    };
    report.totals.wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
    report.compute_totals();
    report
}

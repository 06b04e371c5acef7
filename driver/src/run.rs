//! `cargo wasmprecomp run`: runs a WASI command module with the runtime. A `.wasm` input
//! goes through the cache first; the guest's exit code becomes ours. The guest sees the
//! directories, environment and stdin that [`RunOptions`] give it, nothing else.

use crate::compile::{self, CacheSettings, DriverOptions, Input};
use crate::workspace::is_wasm;
use crate::Error;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;
use wasmprecomp_codegen::{Interruption, Isa, OptLevel, TargetCpu};
use wasmprecomp_runtime::wasi::{self, DirAccess, WasiCtx};
use wasmprecomp_runtime::{Engine, Linker, Module, Store};

/// Stack of the thread that runs the guest, and how much of it compiled code may use.
const THREAD_STACK: usize = 64 << 20;
const MAX_WASM_STACK: usize = 48 << 20;

/// A host directory given to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    pub host: PathBuf,
    /// The path the guest sees it as.
    pub guest: String,
    pub read_only: bool,
}

impl Preopen {
    /// Parses `HOST[::GUEST]`; without `::GUEST` the guest sees the directory as `HOST`
    /// is written.
    pub fn parse(spec: &str, read_only: bool) -> Preopen {
        let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
        Preopen {
            host: PathBuf::from(host),
            guest: guest.to_string(),
            read_only,
        }
    }
}

/// What a guest gets besides its arguments.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Preopened directories, in order (the first is descriptor 3).
    pub dirs: Vec<Preopen>,
    /// Environment variables, after the inherited ones when `inherit_env`.
    pub env: Vec<(String, String)>,
    /// Pass the host's environment on.
    pub inherit_env: bool,
    /// Let the guest read the host's stdin (otherwise it is at end of file).
    pub inherit_stdin: bool,
    /// The fuel the guest may use (the module must be compiled with fuel checks).
    pub fuel: Option<u64>,
    /// How long the guest may run (the module must be compiled with epoch checks).
    pub timeout: Option<Duration>,
}

/// The interruption checks a `.wasm` is compiled with for `run --fuel` and `--timeout`.
pub fn interruption_for(fuel: Option<u64>, timeout: Option<Duration>) -> Interruption {
    Interruption {
        fuel: fuel.is_some(),
        epoch: timeout.is_some(),
    }
}

/// Creates the store for `module` under `opts`: configured for the module's own
/// interruption checks, with the fuel `opts` gives (unlimited without `--fuel`) and an
/// epoch deadline one tick away (none without `--timeout`). Refuses `--fuel` or
/// `--timeout` for a module without the checks they need.
fn store_for(module: &Module, engine: &Engine, opts: &RunOptions) -> Result<Store, Error> {
    let i = module.interruption();
    let missing = |option: &str, checks: &str| {
        Error::RunInterruption(format!(
            "{option} needs an artifact compiled with --interruption {checks} (this one has `{i}`)"
        ))
    };
    if opts.fuel.is_some() && !i.fuel {
        return Err(missing("--fuel", "fuel"));
    }
    if opts.timeout.is_some() && !i.epoch {
        return Err(missing("--timeout", "epoch"));
    }
    let mut store = Store::with_interruption(engine, i);
    let unsupported =
        |e: wasmprecomp_runtime::InterruptionError| Error::RunInterruption(e.to_string());
    if i.fuel {
        store
            .set_fuel(opts.fuel.unwrap_or(u64::MAX))
            .map_err(unsupported)?;
    }
    if i.epoch {
        let ticks = if opts.timeout.is_some() { 1 } else { u64::MAX };
        store.set_epoch_deadline(ticks).map_err(unsupported)?;
    }
    Ok(store)
}

/// Runs `module` as a WASI command with `args` (argv, including `argv[0]`) and `opts` on
/// a thread with a big stack; stderr is inherited, stdout too unless `capture`, in which
/// case it is returned.
pub fn run_command_opts(
    module: Module,
    args: Vec<String>,
    opts: &RunOptions,
    capture: bool,
) -> Result<(i32, Option<Vec<u8>>), Error> {
    let mut ctx = WasiCtx::new();
    ctx.args(args).inherit_stdio();
    if !opts.inherit_stdin {
        ctx.set_stdin(wasi::Input::Empty);
    }
    if opts.inherit_env {
        ctx.inherit_env();
    }
    for (k, v) in &opts.env {
        ctx.env(k, v);
    }
    for d in &opts.dirs {
        if !d.host.is_dir() {
            return Err(Error::NoSuchFile(d.host.clone()));
        }
        let access = if d.read_only {
            DirAccess::ReadOnly
        } else {
            DirAccess::ReadWrite
        };
        ctx.preopen_dir(&d.host, d.guest.clone(), access)
            .map_err(|source| Error::Io {
                action: "opening a directory for the program",
                source,
            })?;
    }
    let captured = capture.then(|| ctx.capture_stdout());
    let engine = Engine::new();
    // The timer bumps the epoch once the timeout passes, unless the run ends first (and
    // drops `_finished`, which wakes it).
    let (_finished, finished) = std::sync::mpsc::channel::<()>();
    let opts = opts.clone();
    if let Some(timeout) = opts.timeout {
        let engine = engine.clone();
        std::thread::spawn(move || {
            if finished.recv_timeout(timeout) == Err(RecvTimeoutError::Timeout) {
                engine.increment_epoch();
            }
        });
    }
    let t = std::thread::Builder::new()
        .name("wasm".into())
        .stack_size(THREAD_STACK)
        .spawn(move || -> Result<i32, Error> {
            let mut store = store_for(&module, &engine, &opts)?;
            store.set_max_wasm_stack(MAX_WASM_STACK);
            let ctx = Arc::new(ctx);
            let mut linker = Linker::new();
            wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
            Ok(wasi::run_command(&mut store, &linker, &module, &ctx)?)
        })
        .map_err(|source| Error::Io {
            action: "starting the guest thread",
            source,
        })?;
    let code = match t.join() {
        Ok(r) => r?,
        Err(_) => return Err(Error::ProgramPanicked),
    };
    let out = captured.map(|c| c.lock().map(|v| v.clone()).unwrap_or_default());
    Ok((code, out))
}

/// Runs `module` as a WASI command with `args` (argv, including `argv[0]`), inheriting
/// stdin and stderr; stdout is inherited too unless `capture`, in which case it is
/// returned. The guest sees no environment variables and no directory.
pub fn run_command_with(
    module: Module,
    args: Vec<String>,
    capture: bool,
) -> Result<(i32, Option<Vec<u8>>), Error> {
    let opts = RunOptions {
        inherit_stdin: true,
        ..RunOptions::default()
    };
    run_command_opts(module, args, &opts, capture)
}

/// [`run_command_with`], output inherited.
pub fn run_command(module: Module, args: Vec<String>) -> Result<i32, Error> {
    Ok(run_command_with(module, args, false)?.0)
}

/// Loads `file` for [`run_command`]: an artifact as it is, a `.wasm` compiled through the
/// cache into a temporary folder first (cache trouble goes to `warnings`).
///
/// # Safety
///
/// A `file` that is not a `.wasm` is loaded as the artifact it must be, as
/// [`Module::from_file`] requires: written by this compiler and not modified since. It
/// runs as the native code it is, like a program the user starts; the load's checks
/// refuse a mismatch or damage, but are no security boundary.
pub unsafe fn load(
    file: &Path,
    opt_level: OptLevel,
    interruption: Interruption,
    target_cpu: TargetCpu,
    cache: &CacheSettings,
    warnings: &mut Vec<String>,
) -> Result<Module, Error> {
    if !file.is_file() {
        return Err(Error::NoSuchFile(file.to_path_buf()));
    }
    if !is_wasm(file) {
        // SAFETY: a file that is not a .wasm is such an artifact (this function's contract).
        return Ok(unsafe { Module::from_file(file) }?);
    }
    let isa = Isa::new(None, opt_level)
        .map_err(Error::Target)?
        .with_interruption(interruption)
        .with_target_cpu(target_cpu)
        .map_err(Error::Target)?;
    let out = tempfile_dir()?;
    let opts = DriverOptions {
        isa,
        cache: cache.clone(),
        out_dir: out.clone(),
        jobs: None,
        progress: None,
    };
    let input = Input {
        path: file.to_path_buf(),
    };
    let report = compile::compile_all(std::slice::from_ref(&input), &opts, warnings);
    let m = &report.modules[0];
    let loaded = match (&m.error, &m.output) {
        // SAFETY: the compile above just wrote this artifact (or copied it from the
        // cache, which holds only this compiler's output) into a folder of its own.
        (None, Some(p)) => unsafe { Module::from_file(p) }.map_err(Error::from),
        (Some(e), _) => Err(Error::RunCompile(e.message.clone())),
        _ => Err(Error::RunCompile("no artifact produced".into())),
    };
    let _ = std::fs::remove_dir_all(&out);
    loaded
}

/// The program's argv for `file`: its stem, then `args`.
pub fn argv(file: &Path, args: &[String]) -> Vec<String> {
    let argv0 = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "main".into());
    std::iter::once(argv0).chain(args.iter().cloned()).collect()
}

fn tempfile_dir() -> Result<PathBuf, Error> {
    let d = std::env::temp_dir().join(format!(
        "wasmprecomp-run-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).map_err(|source| Error::CreateDir {
        path: d.clone(),
        source,
    })?;
    Ok(d)
}

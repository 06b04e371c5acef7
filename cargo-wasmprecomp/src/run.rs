//! `cargo wasmprecomp run`: runs a WASI command module with the runtime. A `.wasm` input
//! goes through the cache first; the guest's exit code becomes ours.

use crate::cli::{exit, Exit, RunArgs};
use crate::driver::{self, DriverOptions, Input};
use crate::workspace::is_wasm;
use anyhow::{Context, Result};
use std::sync::Arc;
use wasmprecomp_codegen::{Isa, OptLevel};
use wasmprecomp_runtime::wasi::{self, WasiCtx};
use wasmprecomp_runtime::{Linker, Module, Store};

/// Stack of the thread that runs the guest, and how much of it compiled code may use.
const THREAD_STACK: usize = 64 << 20;
const MAX_WASM_STACK: usize = 48 << 20;

/// Runs `module` as a WASI command with `args` (argv, including argv[0]) on a thread
/// with a big stack, inheriting stdin and stderr; stdout is inherited too unless
/// `capture`, in which case it is returned. The guest sees no environment variables.
pub fn run_command_with(
    module: Module,
    args: Vec<String>,
    capture: bool,
) -> Result<(i32, Option<Vec<u8>>)> {
    let t = std::thread::Builder::new()
        .name("wasm".into())
        .stack_size(THREAD_STACK)
        .spawn(move || -> Result<(i32, Option<Vec<u8>>), String> {
            let mut store = Store::new();
            store.set_max_wasm_stack(MAX_WASM_STACK);
            let mut ctx = WasiCtx::new();
            ctx.args(args).inherit_stdio();
            let captured = capture.then(|| ctx.capture_stdout());
            let ctx = Arc::new(ctx);
            let mut linker = Linker::new();
            wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
            let code =
                wasi::run_command(&mut store, &linker, &module, &ctx).map_err(|e| e.to_string())?;
            let out = captured.map(|c| c.lock().map(|v| v.clone()).unwrap_or_default());
            Ok((code, out))
        })
        .context("starting the guest thread")?;
    match t.join() {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(Exit(exit::MODULE_FAILED, e).into()),
        Err(_) => Err(Exit(exit::MODULE_FAILED, "the guest thread panicked".into()).into()),
    }
}

/// [`run_command_with`], output inherited.
pub fn run_command(module: Module, args: Vec<String>) -> Result<i32> {
    Ok(run_command_with(module, args, false)?.0)
}

pub fn run(a: RunArgs) -> Result<i32> {
    crate::cli::require_file(&a.file)?;
    let module = if is_wasm(&a.file) {
        let opt = OptLevel::parse(&a.opt_level).ok_or_else(|| {
            Exit(
                exit::USAGE,
                format!("unknown --opt-level `{}`", a.opt_level),
            )
        })?;
        let isa = Isa::new(None, opt).map_err(|e| Exit(exit::USAGE, e.to_string()))?;
        let out = tempfile_dir()?;
        let opts = DriverOptions {
            isa,
            cache: a.cache.settings()?,
            out_dir: out.clone(),
            jobs: None,
            progress: false,
        };
        let mut warnings = Vec::new();
        let report = driver::compile_all(
            &[Input {
                path: a.file.clone(),
            }],
            &opts,
            &mut warnings,
        );
        for w in warnings {
            eprintln!("warning: {w}");
        }
        let m = &report.modules[0];
        let loaded = match (&m.error, &m.output) {
            (None, Some(p)) => {
                Module::from_file(p).map_err(|e| Exit(exit::MODULE_FAILED, e.to_string()))
            }
            (Some(e), _) => Err(Exit(exit::MODULE_FAILED, e.message.clone())),
            _ => Err(Exit(exit::MODULE_FAILED, "no artifact produced".into())),
        };
        let _ = std::fs::remove_dir_all(&out);
        loaded?
    } else {
        Module::from_file(&a.file).map_err(|e| Exit(exit::MODULE_FAILED, e.to_string()))?
    };
    let argv0 = a
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "main".into());
    let mut args = vec![argv0];
    args.extend(a.args.iter().cloned());
    run_command(module, args)
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "wasmprecomp-run-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}

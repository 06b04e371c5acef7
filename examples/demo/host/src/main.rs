//! Loads the precompiled plugins and runs them: no compiler at run time.
use std::sync::Arc;
use wasmprecomp_runtime::wasi::{self, WasiCtx};
use wasmprecomp_runtime::{Linker, Module, Store};

/// Runs a WASI command artifact and returns its exit code. `path` must be an artifact
/// this crate's build script precompiled.
fn run(name: &str, path: &str, args: &[&str]) -> i32 {
    // SAFETY: `path` is the build script's own output (its `WASMPRECOMP_*` variables), an
    // artifact the compiler wrote while this program was built.
    let module =
        unsafe { Module::from_file(path) }.unwrap_or_else(|e| panic!("loading {name}: {e}"));
    let mut argv = vec![name.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let mut store = Store::new();
    let mut ctx = WasiCtx::new();
    ctx.args(argv).inherit_stdio();
    let ctx = Arc::new(ctx);
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
    match wasi::run_command(&mut store, &linker, &module, &ctx) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{name}: {e}");
            1
        }
    }
}

fn main() {
    // Compiled code runs on this thread's stack: give it room.
    let t = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            let a = run("greet", env!("WASMPRECOMP_GREET"), &["precompiled", "plugins"]);
            let b = run("stats", env!("WASMPRECOMP_STATS"), &[]);
            a == 0 && b == 0
        })
        .expect("thread");
    let ok = t.join().unwrap_or(false);
    std::process::exit(if ok { 0 } else { 1 });
}

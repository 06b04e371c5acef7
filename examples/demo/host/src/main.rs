//! Runs the precompiled plugins, embedded in this binary: no compiler and no artifact
//! files at run time, so the binary alone can be shipped.
use std::sync::Arc;
use wasmprecomp_runtime::wasi::{self, WasiCtx};
use wasmprecomp_runtime::{Linker, Module, Store};

/// The artifacts the build script precompiled, embedded at compile time.
const GREET: &[u8] = include_bytes!(env!("WASMPRECOMP_GREET"));
const STATS: &[u8] = include_bytes!(env!("WASMPRECOMP_STATS"));

/// Runs a WASI command artifact and returns its exit code. `artifact` must be an
/// artifact this crate's build script precompiled.
fn run(name: &str, artifact: &[u8], args: &[&str]) -> i32 {
    // The loader reads the ELF structures in place, which wants them aligned: embedded
    // bytes are only byte-aligned, a heap copy is aligned for any of them.
    let bytes = artifact.to_vec();
    // SAFETY: `artifact` is the build script's own output (its `WASMPRECOMP_*`
    // variables), written by the compiler while this program was built.
    let module =
        unsafe { Module::from_bytes(&bytes) }.unwrap_or_else(|e| panic!("loading {name}: {e}"));
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
            let a = run("greet", GREET, &["precompiled", "plugins"]);
            let b = run("stats", STATS, &[]);
            a == 0 && b == 0
        })
        .expect("thread");
    let ok = t.join().unwrap_or(false);
    std::process::exit(if ok { 0 } else { 1 });
}

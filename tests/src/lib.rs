//! Shared helpers for wasmprecomp's cross-crate tests.

use wasmprecomp_codegen::{compile_wasm, BoundsChecks, Interruption, Isa, OptLevel};
use wasmprecomp_runtime::{Instance, Linker, Module, Store};

/// Compiles WebAssembly text or binary to a loaded module.
pub fn compile(wat_or_wasm: &str) -> Module {
    compile_with(wat_or_wasm, OptLevel::Speed)
}

pub fn compile_with(wat_or_wasm: &str, opt: OptLevel) -> Module {
    compile_for(wat_or_wasm, &Isa::new(None, opt).expect("host isa"))
}

/// Compiles WebAssembly text or binary for `isa` to a loaded module.
pub fn compile_for(wat_or_wasm: &str, isa: &Isa) -> Module {
    let wasm = wat::parse_str(wat_or_wasm).expect("valid wat");
    compile_bytes_for(&wasm, isa)
}

/// Compiles a WebAssembly binary for `isa` to a loaded module.
pub fn compile_bytes_for(wasm: &[u8], isa: &Isa) -> Module {
    let art = compile_wasm(wasm, isa).unwrap_or_else(|e| panic!("compile: {e}"));
    // SAFETY: `art` is the artifact the compiler wrote just above, unmodified.
    unsafe { Module::from_bytes(&art) }.unwrap_or_else(|e| panic!("load: {e}"))
}

fn host_isa() -> Isa {
    Isa::new(None, OptLevel::Speed).expect("host isa")
}

/// Compiles WebAssembly text with the given bounds-checking strategy.
pub fn compile_bounds(wat: &str, bounds: BoundsChecks) -> Module {
    compile_for(wat, &host_isa().with_bounds_checks(bounds))
}

/// Compiles WebAssembly text with the interruption checks `interruption`.
pub fn compile_interruptible(wat: &str, interruption: Interruption) -> Module {
    compile_for(wat, &host_isa().with_interruption(interruption))
}

/// Compiles and instantiates a module without imports.
pub fn instantiate(wat: &str) -> (Store, Instance) {
    let m = compile(wat);
    let mut store = Store::new();
    let i = Linker::new()
        .instantiate(&mut store, &m)
        .unwrap_or_else(|e| panic!("instantiate: {e}"));
    (store, i)
}

/// Compiles a WebAssembly binary to a loaded module.
pub fn compile_bytes(wasm: &[u8]) -> Module {
    compile_bytes_for(wasm, &host_isa())
}

/// Runs a WASI command with `ctx` the way real programs need it: on a new thread with a
/// 16 MiB stack and 8 MiB of it allowed for wasm. Returns the result of
/// [`wasmprecomp_runtime::wasi::run_command`] and the context (for its exit code).
pub fn run_wasi(
    module: &Module,
    ctx: wasmprecomp_runtime::wasi::WasiCtx,
) -> (
    Result<i32, wasmprecomp_runtime::wasi::RunError>,
    std::sync::Arc<wasmprecomp_runtime::wasi::WasiCtx>,
) {
    use wasmprecomp_runtime::wasi;
    let ctx = std::sync::Arc::new(ctx);
    let (m, c) = (module.clone(), ctx.clone());
    let r = std::thread::Builder::new()
        .name("wasi-command".into())
        .stack_size(16 << 20)
        .spawn(move || {
            let mut store = Store::new();
            store.set_max_wasm_stack(8 << 20);
            let mut linker = Linker::new();
            wasi::add_to_linker(&mut linker, &mut store, c.clone());
            wasi::run_command(&mut store, &linker, &m, &c)
        })
        .expect("spawn a runner thread")
        .join()
        .expect("the runner thread panicked");
    (r, ctx)
}

pub mod differential;
pub mod mutation;

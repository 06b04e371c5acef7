//! Shared helpers for wasmprecomp's cross-crate tests.

use wasmprecomp_codegen::{compile_wasm, BoundsChecks, Isa, OptLevel};
use wasmprecomp_runtime::{Instance, Linker, Module, Store};

/// Compiles WebAssembly text or binary to a loaded module.
pub fn compile(wat_or_wasm: &str) -> Module {
    compile_with(wat_or_wasm, OptLevel::Speed)
}

pub fn compile_with(wat_or_wasm: &str, opt: OptLevel) -> Module {
    let wasm = wat::parse_str(wat_or_wasm).expect("valid wat");
    let isa = Isa::new(None, opt).expect("host isa");
    let art = compile_wasm(&wasm, &isa).unwrap_or_else(|e| panic!("compile: {e}"));
    // SAFETY: `art` is the artifact the compiler wrote just above, unmodified.
    unsafe { Module::from_bytes(&art) }.unwrap_or_else(|e| panic!("load: {e}"))
}

/// Compiles WebAssembly text with the given bounds-checking strategy.
pub fn compile_bounds(wat: &str, bounds: BoundsChecks) -> Module {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let isa = Isa::new(None, OptLevel::Speed)
        .expect("host isa")
        .with_bounds_checks(bounds);
    let art = compile_wasm(&wasm, &isa).unwrap_or_else(|e| panic!("compile: {e}"));
    // SAFETY: `art` is the artifact the compiler wrote just above, unmodified.
    unsafe { Module::from_bytes(&art) }.unwrap_or_else(|e| panic!("load: {e}"))
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
    let isa = Isa::new(None, OptLevel::Speed).expect("host isa");
    let art = compile_wasm(wasm, &isa).unwrap_or_else(|e| panic!("compile: {e}"));
    // SAFETY: `art` is the artifact the compiler wrote just above, unmodified.
    unsafe { Module::from_bytes(&art) }.unwrap_or_else(|e| panic!("load: {e}"))
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

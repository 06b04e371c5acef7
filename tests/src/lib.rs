//! Shared helpers for wasmprecomp's cross-crate tests.

use wasmprecomp_codegen::{compile_wasm, Isa, OptLevel};
use wasmprecomp_runtime::{Instance, Linker, Module, Store};

/// Compiles WebAssembly text or binary to a loaded module.
pub fn compile(wat_or_wasm: &str) -> Module {
    compile_with(wat_or_wasm, OptLevel::Speed)
}

pub fn compile_with(wat_or_wasm: &str, opt: OptLevel) -> Module {
    let wasm = wat::parse_str(wat_or_wasm).expect("valid wat");
    let isa = Isa::new(None, opt).expect("host isa");
    let art = compile_wasm(&wasm, &isa).unwrap_or_else(|e| panic!("compile: {e}"));
    Module::from_bytes(&art).unwrap_or_else(|e| panic!("load: {e}"))
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

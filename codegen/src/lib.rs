//! wasmprecomp's compiler: WebAssembly to x86-64 machine code, one cacheable stencil per
//! function.
//!
//! The pipeline for one module ([`compile_module`]):
//! 1. [`module::parse_and_validate`]: full validation with `wasmparser`; proposals we do
//!    not compile are rejected by name.
//! 2. [`stencil::build`]: each function splits into a [`FunctionStencil`] (its key is a
//!    sha256) and its [`Parameters`].
//! 3. Cache lookup through a [`FunctionCache`]; the misses are compiled in parallel by
//!    [`Isa::compile`], which sees nothing but the stencil and the ISA. A module whose
//!    shape was compiled before first consults its [`manifest`]: functions with unchanged
//!    bodies skip steps 1 (body validation) to 3.
//! 4. Finalization applies the parameters through relocations, adds trampolines and
//!    writes the ELF artifact (format in `wasmprecomp-artifact`).

pub mod compiled;
mod elf;
pub mod error;
pub mod isa;
pub mod keys;
mod link;
pub mod lower;
pub mod manifest;
pub mod module;
pub mod pipeline;
pub mod stencil;
pub mod translate;
pub mod vcode;

pub use compiled::CompiledStencil;
pub use error::CompileError;
pub use isa::{Isa, OptLevel, CODEGEN_VERSION};
pub use keys::{module_key, wasm_digest, ManifestKey, ModuleKey, WasmDigester};
pub use pipeline::{
    compile_module, compile_modules, compile_modules_hashed, compile_wasm, CompileOptions,
    CompiledModule, FunctionCache, FunctionStats, NoCache, Timings,
};
pub use stencil::{FunctionStencil, Parameters, StencilKey};

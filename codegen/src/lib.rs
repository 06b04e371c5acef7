//! wasmprecomp's compiler: WebAssembly to x86-64 machine code, one cacheable stencil per
//! function.
//!
//! The pipeline for one module ([`compile_files`]; [`compile_module`] starts at step 2):
//! 1. The module tier: the module's finished artifact, looked up in a [`CodeCache`] under
//!    its [`ModuleKey`]; a hit is done.
//! 2. [`module::parse_and_validate`]: full validation with `wasmparser`; proposals we do
//!    not compile are rejected by name.
//! 3. [`stencil::build`]: each function splits into a [`FunctionStencil`] (its key is a
//!    sha256) and its [`Parameters`].
//! 4. Function lookup in the [`CodeCache`]; the misses are compiled in parallel by
//!    [`Isa::compile`], which sees nothing but the stencil and the ISA. A module whose
//!    shape was compiled before first consults its [`manifest`]: functions with unchanged
//!    bodies skip steps 2 (body validation) to 4.
//! 5. Finalization applies the parameters through relocations, adds trampolines and
//!    writes the ELF artifact (format in `wasmprecomp-artifact`), which the module tier
//!    stores.

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
pub use isa::{BoundsChecks, Interruption, Isa, OptLevel, TargetCpu, CODEGEN_VERSION};
pub use keys::{module_key, wasm_digest, ManifestKey, ModuleKey, WasmDigester};
pub use pipeline::{
    compile_files, compile_module, compile_modules, compile_modules_hashed, compile_wasm,
    CodeCache, CompileOptions, CompiledModule, FunctionStats, FunctionTime, KnownDigests,
    ModuleArtifact, ModuleEntry, ModuleError, ModuleInput, ModuleOutcome, ModuleTier, NoCache,
    Timings, IN_PLACE_HEAD, SLOWEST_FUNCTIONS,
};
pub use stencil::{FunctionStencil, Parameters, StencilKey};

//! The x86-64 backend: System V targets (Linux).

pub mod abi;
pub mod asm;
pub mod emit;
pub mod inst;
pub mod lower;
pub mod trampolines;

use crate::compiled::CompiledStencil;
use crate::error::CompileError;
use crate::stencil::FunctionStencil;
use crate::translate::translate;

/// CPU features the generated code requires (x86-64-v2 minus the parts we do not use).
pub const CPU_FEATURES: &[&str] = &["sse4.1", "popcnt"];

/// Compiles one stencil for x86-64.
pub fn compile(
    stencil: &FunctionStencil,
    env: &regalloc2::MachineEnv,
    algorithm: regalloc2::Algorithm,
) -> Result<CompiledStencil, CompileError> {
    let mut lower = lower::X64Lower;
    let vcode = translate(stencil, &mut lower)?;
    let opts = regalloc2::RegallocOptions {
        verbose_log: false,
        validate_ssa: cfg!(debug_assertions),
        algorithm,
    };
    // The allocator's working memory is reused across the functions a thread compiles
    // instead of being allocated afresh per function.
    thread_local! {
        static CTX: std::cell::RefCell<regalloc2::Ctx> = std::cell::RefCell::new(regalloc2::Ctx::default());
    }
    CTX.with(|ctx| {
        let mut ctx = ctx.borrow_mut();
        let out = regalloc2::run_with_ctx(&vcode, env, &opts, &mut ctx).map_err(|e| {
            CompileError::Internal {
                message: format!("register allocation failed: {e}"),
                function: None,
            }
        })?;
        Ok(emit::emit(&vcode, out))
    })
}

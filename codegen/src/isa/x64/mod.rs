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
    bounds: super::BoundsChecks,
    interruption: super::Interruption,
) -> Result<CompiledStencil, CompileError> {
    let mut lower = lower::X64Lower {
        guard: bounds == super::BoundsChecks::Guard,
    };
    let mut vcode = translate(stencil, &mut lower, interruption)?;
    crate::vcode::allocate(&mut vcode, env, algorithm, |v, ra| {
        emit::emit(v, ra, bounds)
    })
}

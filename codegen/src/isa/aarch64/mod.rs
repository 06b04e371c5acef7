//! The aarch64 backend: AAPCS64 targets (Linux).

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

/// CPU features the generated code requires beyond the Armv8.0-A baseline (none: the
/// floating-point and Advanced SIMD registers are part of every Linux aarch64 target).
pub const CPU_FEATURES: &[&str] = &[];

/// Compiles one stencil for aarch64.
pub fn compile(
    stencil: &FunctionStencil,
    env: &regalloc2::MachineEnv,
    algorithm: regalloc2::Algorithm,
    bounds: super::BoundsChecks,
    interruption: super::Interruption,
) -> Result<CompiledStencil, CompileError> {
    let mut lower = lower::A64Lower {
        guard: bounds == super::BoundsChecks::Guard,
    };
    let mut vcode = translate(stencil, &mut lower, interruption)?;
    crate::vcode::allocate(&mut vcode, env, algorithm, |v, ra| {
        emit::emit(v, ra, bounds)
    })
}

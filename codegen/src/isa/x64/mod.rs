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

use super::TargetCpu;

/// CPU features the baseline's code requires (x86-64-v2 minus the parts we do not use).
pub const CPU_FEATURES: &[&str] = &["sse4.1", "popcnt"];
/// x86-64-v2: the baseline and SSE4.2.
const V2_FEATURES: &[&str] = &["sse4.1", "popcnt", "sse4.2"];
/// x86-64-v3: the parts of that level the code uses (not MOVBE or FMA: a fused
/// multiply-add would change wasm's results).
const V3_FEATURES: &[&str] = &[
    "sse4.1", "popcnt", "sse4.2", "avx", "avx2", "bmi1", "bmi2", "lzcnt",
];

/// The CPU features code compiled for `cpu` (resolved, not `native`) requires, by the
/// names of `is_x86_feature_detected!`.
pub fn cpu_features(cpu: TargetCpu) -> &'static [&'static str] {
    match cpu {
        TargetCpu::Baseline | TargetCpu::Native => CPU_FEATURES,
        TargetCpu::X86_64V2 => V2_FEATURES,
        TargetCpu::X86_64V3 => V3_FEATURES,
    }
}

/// The highest level whose features this host has (the host must be x86-64).
pub fn host_cpu() -> TargetCpu {
    let has = wasmprecomp_artifact::host_has_cpu_feature;
    [TargetCpu::X86_64V3, TargetCpu::X86_64V2]
        .into_iter()
        .find(|cpu| cpu_features(*cpu).iter().all(|f| has(f)))
        .unwrap_or(TargetCpu::Baseline)
}

/// What the instruction selector may use beyond the baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// `pcmpgtq`.
    pub sse42: bool,
    /// VEX-encoded three-operand forms.
    pub avx: bool,
    /// `vpbroadcast*` from a register.
    pub avx2: bool,
    /// `lzcnt` and `tzcnt` (LZCNT and BMI1).
    pub bit_counts: bool,
    /// BMI2's three-operand shifts (`shlx`, `shrx`, `sarx`, count in any register) and
    /// `rorx`.
    pub bmi2: bool,
}

impl Features {
    pub fn of(cpu: TargetCpu) -> Features {
        let v2 = cpu >= TargetCpu::X86_64V2 && cpu != TargetCpu::Native;
        let v3 = cpu == TargetCpu::X86_64V3;
        Features {
            sse42: v2,
            avx: v3,
            avx2: v3,
            bit_counts: v3,
            bmi2: v3,
        }
    }
}

/// Compiles one stencil for x86-64.
pub fn compile(
    stencil: &FunctionStencil,
    env: &regalloc2::MachineEnv,
    algorithm: regalloc2::Algorithm,
    bounds: super::BoundsChecks,
    interruption: super::Interruption,
    cpu: TargetCpu,
) -> Result<CompiledStencil, CompileError> {
    let mut lower = lower::X64Lower {
        guard: bounds == super::BoundsChecks::Guard,
        features: Features::of(cpu),
        addresses: Vec::new(),
        addresses_block: None,
    };
    let mut vcode = translate(stencil, &mut lower, interruption)?;
    crate::vcode::allocate(&mut vcode, env, algorithm, |v, ra| {
        emit::emit(v, ra, bounds)
    })
}

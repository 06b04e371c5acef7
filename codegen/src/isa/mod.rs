//! The ISA boundary: target selection, flags, and the compiler identity that goes into
//! every cache key.
//!
//! Everything target-specific sits under `isa/<arch>/`: instruction selection for
//! non-control operators, register environment, calling convention, encoder, emission and
//! trampolines. Control-flow lowering, stencils, the cache and the artifact format are
//! shared, so adding aarch64 means adding `isa/aarch64/` and a match arm here.

pub mod x64;

use crate::compiled::CompiledStencil;
use crate::error::CompileError;
use crate::stencil::FunctionStencil;
use std::str::FromStr;
use target_lexicon::{Architecture, OperatingSystem, Triple};

/// Optimization level: which register allocator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptLevel {
    /// Fast single-pass allocation (regalloc2's Fastalloc): fastest compile.
    None,
    /// Backtracking allocation (regalloc2's Ion): better code.
    #[default]
    Speed,
}

impl OptLevel {
    pub fn name(self) -> &'static str {
        match self {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
        }
    }
    pub fn parse(s: &str) -> Option<OptLevel> {
        match s {
            "none" | "0" => Some(OptLevel::None),
            "speed" | "2" | "3" => Some(OptLevel::Speed),
            _ => None,
        }
    }
}

/// CPU features the generated code requires (x86-64-v2 minus the parts we do not use).
pub const X64_CPU_FEATURES: &[&str] = &["sse4.1", "popcnt"];

/// A compilation target with its flags.
#[derive(Debug, Clone)]
pub struct Isa {
    triple: Triple,
    opt_level: OptLevel,
    env: regalloc2::MachineEnv,
}

/// Identifies the code generator: changes whenever any file of the codegen crate does,
/// so cached code from another compiler build is never reused.
pub const CODEGEN_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("WASMPRECOMP_CODEGEN_HASH")
);

impl Isa {
    /// The ISA for `target` (a target triple; `None` = the host).
    pub fn new(target: Option<&str>, opt_level: OptLevel) -> Result<Isa, CompileError> {
        let triple = match target {
            None => Triple::host(),
            Some(t) => {
                Triple::from_str(t).map_err(|_| CompileError::UnsupportedTarget(t.to_string()))?
            }
        };
        let ok = triple.architecture == Architecture::X86_64
            && matches!(triple.operating_system, OperatingSystem::Linux);
        if !ok {
            return Err(CompileError::UnsupportedTarget(triple.to_string()));
        }
        Ok(Isa {
            triple,
            opt_level,
            env: x64::abi::machine_env(),
        })
    }

    pub fn triple(&self) -> &Triple {
        &self.triple
    }
    pub fn opt_level(&self) -> OptLevel {
        self.opt_level
    }
    pub fn cpu_features(&self) -> Vec<String> {
        X64_CPU_FEATURES.iter().map(|s| s.to_string()).collect()
    }
    /// The flags string recorded in artifacts and keys.
    pub fn flags(&self) -> String {
        format!("opt_level={}", self.opt_level.name())
    }
    /// Everything about the compiler that decides machine code, for cache keys.
    pub fn identity(&self) -> Vec<u8> {
        format!(
            "{}\0{}\0{}\0{}",
            CODEGEN_VERSION,
            self.triple,
            X64_CPU_FEATURES.join(","),
            self.flags()
        )
        .into_bytes()
    }

    /// Compiles one stencil. Sees nothing but the stencil and this ISA.
    pub fn compile(&self, stencil: &FunctionStencil) -> Result<CompiledStencil, CompileError> {
        let alg = match self.opt_level {
            OptLevel::None => regalloc2::Algorithm::Fastalloc,
            OptLevel::Speed => regalloc2::Algorithm::Ion,
        };
        x64::compile(stencil, &self.env, alg)
    }
}

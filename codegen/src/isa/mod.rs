//! The ISA boundary: target selection, flags, the compiler identity that goes into every
//! cache key, and the dispatch to a backend.
//!
//! Everything target-specific sits under `isa/<arch>/`: instruction selection (the
//! [`crate::lower::Lower`] hooks), register environment, calling convention, encoder,
//! emission and trampolines. Translation (`translate/`), stencils, the pipeline, the cache
//! and the artifact format are shared. Nothing outside `isa/<arch>/` names an
//! architecture but this file's `Backend` enum, one variant per `isa/<arch>/`.

pub mod aarch64;
pub mod call_conv;
pub mod x64;

use crate::compiled::CompiledStencil;
use crate::error::CompileError;
use crate::stencil::FunctionStencil;
use std::str::FromStr;
use target_lexicon::{Architecture, OperatingSystem, Triple};
pub use wasmprecomp_artifact::Interruption;

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

/// How generated code keeps memory accesses inside their linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundsChecks {
    /// Compare every access with the memory's current length.
    Explicit,
    /// Rely on the runtime's reservation (4 GiB plus
    /// [`GUARD_BYTES`](wasmprecomp_artifact::GUARD_BYTES) per 32-bit memory, inaccessible
    /// past the current length): an access whose static offset stays within the guard
    /// region has no check, and one that leaves the memory faults on an inaccessible page,
    /// which the runtime's fault handler turns into the same trap. Accesses with a larger
    /// offset keep an explicit check.
    #[default]
    Guard,
}

impl BoundsChecks {
    pub fn name(self) -> &'static str {
        match self {
            BoundsChecks::Explicit => "explicit",
            BoundsChecks::Guard => "guard",
        }
    }
    pub fn parse(s: &str) -> Option<BoundsChecks> {
        match s {
            "explicit" => Some(BoundsChecks::Explicit),
            "guard" => Some(BoundsChecks::Guard),
            _ => None,
        }
    }
}

/// Whether an access of `size` bytes at `offset` compares its address with the memory's
/// length, read through the VM context: always with explicit checks; with guard pages
/// only when a static offset reaches past the guard region. Lowering gives an access the
/// VM context as an operand only when this holds, so that a function whose VM context
/// lives in a spill slot does not reload it for every access.
pub(crate) fn needs_bounds_check(guard: bool, offset: crate::lower::MemOffset, size: u32) -> bool {
    match offset {
        _ if !guard => true,
        crate::lower::MemOffset::Slot(_) => false,
        crate::lower::MemOffset::Imm(offset) => {
            offset + size as u64 > wasmprecomp_artifact::GUARD_BYTES
        }
    }
}

/// Which instruction-set extensions beyond the target's portable baseline generated code
/// may use (`--target-cpu`). The enabled features are the ISA's
/// [`cpu_features`](Isa::cpu_features): they go into every cache key and artifact header,
/// and the runtime refuses an artifact on a CPU that lacks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TargetCpu {
    /// What every CPU of the target architecture has (x86-64: SSE4.1 and POPCNT).
    #[default]
    Baseline,
    /// x86-64-v2: adds SSE4.2 (`pcmpgtq`).
    X86_64V2,
    /// x86-64-v3: adds AVX, AVX2, BMI1 and LZCNT (three-operand VEX forms, broadcasts,
    /// `lzcnt`/`tzcnt`).
    X86_64V3,
    /// The highest level the host supports; only for the host's own architecture.
    Native,
}

impl TargetCpu {
    /// Every name [`parse`](Self::parse) accepts, for messages.
    pub const NAMES: &'static str = "`baseline`, `x86-64-v2`, `x86-64-v3` or `native`";

    pub fn name(self) -> &'static str {
        match self {
            TargetCpu::Baseline => "baseline",
            TargetCpu::X86_64V2 => "x86-64-v2",
            TargetCpu::X86_64V3 => "x86-64-v3",
            TargetCpu::Native => "native",
        }
    }
    pub fn parse(s: &str) -> Option<TargetCpu> {
        match s {
            "baseline" => Some(TargetCpu::Baseline),
            "x86-64-v2" => Some(TargetCpu::X86_64V2),
            "x86-64-v3" => Some(TargetCpu::X86_64V3),
            "native" => Some(TargetCpu::Native),
            _ => None,
        }
    }
}

impl std::fmt::Display for TargetCpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The backends, one per architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    X64,
    Aarch64,
}

/// A compilation target with its flags.
#[derive(Debug, Clone)]
pub struct Isa {
    triple: Triple,
    backend: Backend,
    opt_level: OptLevel,
    bounds_checks: BoundsChecks,
    interruption: Interruption,
    /// Resolved: never [`TargetCpu::Native`].
    cpu: TargetCpu,
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
        let backend = match (triple.architecture, triple.operating_system) {
            (Architecture::X86_64, OperatingSystem::Linux) => Backend::X64,
            (Architecture::Aarch64(_), OperatingSystem::Linux) => Backend::Aarch64,
            _ => return Err(CompileError::UnsupportedTarget(triple.to_string())),
        };
        let env = match backend {
            Backend::X64 => x64::abi::machine_env(),
            Backend::Aarch64 => aarch64::abi::machine_env(),
        };
        Ok(Isa {
            triple,
            backend,
            opt_level,
            bounds_checks: BoundsChecks::default(),
            interruption: Interruption::NONE,
            cpu: TargetCpu::Baseline,
            env,
        })
    }

    /// The same ISA with bounds-checking strategy `b`.
    pub fn with_bounds_checks(mut self, b: BoundsChecks) -> Isa {
        self.bounds_checks = b;
        self
    }
    pub fn bounds_checks(&self) -> BoundsChecks {
        self.bounds_checks
    }

    /// The same ISA with interruption checks `i` (fuel, epoch deadlines, or none).
    pub fn with_interruption(mut self, i: Interruption) -> Isa {
        self.interruption = i;
        self
    }
    pub fn interruption(&self) -> Interruption {
        self.interruption
    }

    /// The same ISA with the CPU level `cpu`; `native` becomes the highest level the host
    /// supports. Fails for a level this target does not have, and for `native` when the
    /// target is not the host's architecture.
    pub fn with_target_cpu(mut self, cpu: TargetCpu) -> Result<Isa, CompileError> {
        let unsupported = |reason: String| CompileError::UnsupportedTargetCpu {
            cpu: cpu.name().to_string(),
            target: self.triple.to_string(),
            reason,
        };
        let cpu = match cpu {
            TargetCpu::Native => {
                if self.triple.architecture != Triple::host().architecture {
                    return Err(unsupported(format!(
                        "`native` names the host's CPU, which cannot run {} code; name a level",
                        self.triple.architecture
                    )));
                }
                match self.backend {
                    Backend::X64 => x64::host_cpu(),
                    Backend::Aarch64 => TargetCpu::Baseline,
                }
            }
            c => c,
        };
        let known = match self.backend {
            Backend::X64 => true,
            Backend::Aarch64 => cpu == TargetCpu::Baseline,
        };
        if !known {
            return Err(unsupported(
                "this target has only `baseline` (or `native`)".to_string(),
            ));
        }
        self.cpu = cpu;
        Ok(self)
    }
    /// The CPU level, resolved (never `native`).
    pub fn target_cpu(&self) -> TargetCpu {
        self.cpu
    }

    pub fn triple(&self) -> &Triple {
        &self.triple
    }
    pub fn opt_level(&self) -> OptLevel {
        self.opt_level
    }
    /// CPU features the generated code requires.
    pub fn cpu_features(&self) -> Vec<String> {
        self.required_features()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
    fn required_features(&self) -> &'static [&'static str] {
        match self.backend {
            Backend::X64 => x64::cpu_features(self.cpu),
            Backend::Aarch64 => aarch64::CPU_FEATURES,
        }
    }
    /// The flags string recorded in artifacts and keys. Without interruption it has no
    /// interruption flag, so its keys and artifacts are those of before interruption.
    pub fn flags(&self) -> String {
        let mut flags = format!(
            "opt_level={},bounds_checks={}",
            self.opt_level.name(),
            self.bounds_checks.name()
        );
        if let Some(f) = self.interruption.flag() {
            flags.push(',');
            flags.push_str(f);
        }
        flags
    }
    /// Everything about the compiler that decides machine code, for cache keys.
    pub fn identity(&self) -> Vec<u8> {
        format!(
            "{}\0{}\0{}\0{}",
            CODEGEN_VERSION,
            self.triple,
            self.required_features().join(","),
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
        match self.backend {
            Backend::X64 => x64::compile(
                stencil,
                &self.env,
                alg,
                self.bounds_checks,
                self.interruption,
                self.cpu,
            ),
            Backend::Aarch64 => aarch64::compile(
                stencil,
                &self.env,
                alg,
                self.bounds_checks,
                self.interruption,
            ),
        }
    }

    /// The trampoline through which the host calls a function of type `ty`: arguments
    /// and results in an array of 8-byte values.
    pub fn array_to_wasm_trampoline(&self, ty: &wasmprecomp_artifact::FuncType) -> Vec<u8> {
        match self.backend {
            Backend::X64 => x64::trampolines::array_to_wasm(ty),
            Backend::Aarch64 => aarch64::trampolines::array_to_wasm(ty),
        }
    }

    /// The trampoline through which compiled code calls a host function of type `ty`,
    /// and the code offset of its trap site (a failing host call).
    pub fn wasm_to_host_trampoline(&self, ty: &wasmprecomp_artifact::FuncType) -> (Vec<u8>, u32) {
        match self.backend {
            Backend::X64 => x64::trampolines::wasm_to_host(ty),
            Backend::Aarch64 => aarch64::trampolines::wasm_to_host(ty),
        }
    }

    /// The proposals this target compiles: validation refuses the others by name.
    /// Both backends compile all of them, SIMD and relaxed SIMD included (x86-64 with
    /// SSE4.1, aarch64 with NEON).
    pub fn wasm_features(&self) -> wasmparser::WasmFeatures {
        match self.backend {
            Backend::X64 | Backend::Aarch64 => crate::module::SUPPORTED_FEATURES,
        }
    }

    /// The byte that fills the gaps between functions in `.text`: repeated, it is an
    /// instruction that traps (`int3`; on aarch64, whose functions and gaps are whole
    /// words long, four of it are `udf #0`).
    pub fn code_fill(&self) -> u8 {
        match self.backend {
            Backend::X64 => 0xcc,
            Backend::Aarch64 => 0,
        }
    }

    /// The ELF machine of this target's artifacts.
    pub fn elf_machine(&self) -> object::elf::Machine {
        match self.backend {
            Backend::X64 => object::elf::EM_X86_64,
            Backend::Aarch64 => object::elf::EM_AARCH64,
        }
    }

    /// Writes a relocation's resolved `value` into its field at `at` in `text`: for
    /// [`RelocKind::CallFunc`](crate::compiled::RelocKind::CallFunc) `value` is the
    /// callee's offset in `text`, otherwise the value the field holds (VM-context offset,
    /// real index or constant slot value, addend included; its low 32 bits for a
    /// constant). Returns false when the field cannot hold it.
    pub fn patch(
        &self,
        text: &mut [u8],
        at: usize,
        kind: crate::compiled::RelocKind,
        value: i64,
    ) -> bool {
        match self.backend {
            Backend::X64 => {
                let v = match kind {
                    crate::compiled::RelocKind::CallFunc => value - (at as i64 + 4),
                    _ => value,
                };
                // A 4-byte field: a signed displacement or a 32-bit pattern.
                if !(i32::MIN as i64..=u32::MAX as i64).contains(&v) {
                    return false;
                }
                text[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
                true
            }
            Backend::Aarch64 => aarch64::emit::patch(text, at, kind, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x64() -> Isa {
        Isa::new(Some("x86_64-unknown-linux-gnu"), OptLevel::Speed).unwrap()
    }

    #[test]
    fn baseline_named_is_the_default_identity() {
        let named = x64().with_target_cpu(TargetCpu::Baseline).unwrap();
        assert_eq!(named.identity(), x64().identity());
        assert_eq!(named.cpu_features(), ["sse4.1", "popcnt"]);
    }

    #[test]
    fn each_x86_64_level_has_its_own_features_and_identity() {
        let v2 = x64().with_target_cpu(TargetCpu::X86_64V2).unwrap();
        let v3 = x64().with_target_cpu(TargetCpu::X86_64V3).unwrap();
        assert_eq!(v2.cpu_features(), ["sse4.1", "popcnt", "sse4.2"]);
        assert!(v3.cpu_features().iter().any(|f| f == "avx2"));
        assert!(!v3.cpu_features().iter().any(|f| f == "fma"));
        let ids = [x64().identity(), v2.identity(), v3.identity()];
        assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
        // The flags stay those of before: the features tell the levels apart.
        assert_eq!(v3.flags(), x64().flags());
    }

    #[test]
    fn native_resolves_to_a_level_and_aarch64_has_only_the_baseline() {
        if Triple::host().architecture == Architecture::X86_64 {
            let n = x64().with_target_cpu(TargetCpu::Native).unwrap();
            assert_ne!(n.target_cpu(), TargetCpu::Native);
        } else {
            let e = x64().with_target_cpu(TargetCpu::Native).unwrap_err();
            assert!(e.to_string().contains("native"), "{e}");
        }
        let a64 = || Isa::new(Some("aarch64-unknown-linux-gnu"), OptLevel::Speed).unwrap();
        assert!(a64().with_target_cpu(TargetCpu::Baseline).is_ok());
        for cpu in [TargetCpu::X86_64V2, TargetCpu::X86_64V3] {
            let e = a64().with_target_cpu(cpu).unwrap_err().to_string();
            assert!(e.contains(cpu.name()) && e.contains("aarch64"), "{e}");
        }
        if Triple::host().architecture
            != Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64)
        {
            let e = a64()
                .with_target_cpu(TargetCpu::Native)
                .unwrap_err()
                .to_string();
            assert!(e.contains("`native`"), "{e}");
        }
    }

    #[test]
    fn every_name_parses_back() {
        for cpu in [
            TargetCpu::Baseline,
            TargetCpu::X86_64V2,
            TargetCpu::X86_64V3,
            TargetCpu::Native,
        ] {
            assert_eq!(TargetCpu::parse(cpu.name()), Some(cpu));
            assert!(TargetCpu::NAMES.contains(cpu.name()));
        }
        assert_eq!(TargetCpu::parse("x86-64-v4"), None);
    }
}

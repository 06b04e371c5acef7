//! The calling convention between compiled functions as the register allocator sees it,
//! and the register environment.
//!
//! Which register carries what is the artifact's register protocol,
//! [`wasmprecomp_artifact::abi::aarch64`]; this module decides only the compiler's own use
//! of the others:
//!
//! - `x16`, `x17` (`ip0`, `ip1`), `v30` and `v31` are scratch registers, never allocated;
//! - `x18` (the platform register), `fp`, `lr` and `sp` are never allocated.

use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use wasmprecomp_artifact::abi::aarch64 as protocol;
use wasmprecomp_artifact::ValType;

pub use crate::isa::call_conv::{area_offsets, ArgLoc};
pub use protocol::{
    CALLEE_SAVED, LIBCALL_PARAMS, LIBCALL_RESULT, LIBCALL_VMCTX, RESULTS_AREA, VMCTX,
};

pub fn gpr(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Int)
}
pub fn vreg(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Float)
}

/// Locations of `params` (the VM context is not included: it is always
/// [`protocol::VMCTX`]) and the stack they take, in 8-byte units.
pub fn param_locs(params: &[ValType]) -> (Vec<ArgLoc>, u32) {
    crate::isa::call_conv::param_locs(params, &protocol::INT_PARAMS, &protocol::FLOAT_PARAMS)
}

/// Register of a single result.
pub fn result_reg(t: ValType) -> PReg {
    if t.in_vector_regs() {
        vreg(protocol::FLOAT_RESULT)
    } else {
        gpr(protocol::INT_RESULT)
    }
}

/// Caller-saved general registers the allocator may use: `x0`-`x15`.
fn allocatable_int() -> impl Iterator<Item = u8> {
    0..16
}

/// Vector registers the allocator may use: `v0`-`v29`, all caller-saved in the internal
/// convention.
fn allocatable_float() -> impl Iterator<Item = u8> {
    0..30
}

/// Registers a call clobbers (all allocatable caller-saved registers).
pub fn call_clobbers() -> PRegSet {
    let mut s = PRegSet::empty();
    for r in allocatable_int() {
        s.add(gpr(r));
    }
    for x in allocatable_float() {
        s.add(vreg(x));
    }
    s
}

/// The register environment given to regalloc2.
pub fn machine_env() -> MachineEnv {
    let mut pref_int = PRegSet::empty();
    for r in allocatable_int() {
        pref_int.add(gpr(r));
    }
    let mut nonpref_int = PRegSet::empty();
    for r in CALLEE_SAVED {
        nonpref_int.add(gpr(r));
    }
    let mut pref_float = PRegSet::empty();
    for x in allocatable_float() {
        pref_float.add(vreg(x));
    }
    MachineEnv {
        preferred_regs_by_class: [pref_int, pref_float, PRegSet::empty()],
        non_preferred_regs_by_class: [nonpref_int, PRegSet::empty(), PRegSet::empty()],
        scratch_by_class: [Some(gpr(protocol::IP1)), Some(vreg(31)), None],
        fixed_stack_slots: vec![],
    }
}

//! The calling convention between compiled functions as the register allocator sees it,
//! and the register environment.
//!
//! Which register carries what (VM context, parameters, results, callee-saved registers)
//! is the artifact's register protocol, [`wasmprecomp_artifact::abi::x86_64`]; this module
//! takes the registers from there and decides only the compiler's own use of the others:
//!
//! - `r10, r11, xmm14, xmm15` are scratch registers, never allocated.

use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use wasmprecomp_artifact::abi::x86_64 as protocol;
use wasmprecomp_artifact::ValType;

pub use protocol::{
    CALLEE_SAVED, LIBCALL_PARAMS, LIBCALL_RESULT, LIBCALL_VMCTX, R8, R9, RAX, RCX, RDI, RDX,
    RESULTS_AREA, RSI, VMCTX,
};

pub fn gpr(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Int)
}
pub fn xmm(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Float)
}

pub use crate::isa::call_conv::{area_offsets, ArgLoc};

/// Locations of `params` (the VM context is not included: it is always
/// [`protocol::VMCTX`]) and the stack they take, in 8-byte units.
pub fn param_locs(params: &[ValType]) -> (Vec<ArgLoc>, u32) {
    crate::isa::call_conv::param_locs(params, &protocol::INT_PARAMS, &protocol::FLOAT_PARAMS)
}

/// Register of a single result.
pub fn result_reg(t: ValType) -> PReg {
    if t.in_vector_regs() {
        xmm(protocol::FLOAT_RESULT)
    } else {
        gpr(protocol::INT_RESULT)
    }
}

fn allocatable_int() -> Vec<u8> {
    vec![RAX, RCX, RDX, RSI, RDI, R8, R9]
}

/// Registers a call clobbers (all allocatable caller-saved registers).
pub fn call_clobbers() -> PRegSet {
    let mut s = PRegSet::empty();
    for r in allocatable_int() {
        s.add(gpr(r));
    }
    for x in 0..14 {
        s.add(xmm(x));
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
    for x in 0..14 {
        pref_float.add(xmm(x));
    }
    MachineEnv {
        preferred_regs_by_class: [pref_int, pref_float, PRegSet::empty()],
        non_preferred_regs_by_class: [nonpref_int, PRegSet::empty(), PRegSet::empty()],
        scratch_by_class: [Some(gpr(11)), Some(xmm(15)), None],
        fixed_stack_slots: vec![],
    }
}

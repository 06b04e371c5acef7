//! The calling convention between compiled functions, and the register environment.
//!
//! - `rdi`: callee's VM context.
//! - Integer and reference parameters: `rsi, rdx, rcx, r8, r9`, then the stack.
//! - Float parameters: `xmm0..xmm7`, then the stack. Stack parameters take 8 bytes each,
//!   in parameter order, at `[rsp]` at the call (`[rbp + 16]` in the callee).
//! - One result: `rax` or `xmm0`. Several results: all written to a caller-provided area
//!   (8 bytes each) whose address is passed in `rax`.
//! - Callee-saved: `rbx, rbp, r12..r15`; everything else is clobbered by a call.
//! - `r10, r11, xmm14, xmm15` are scratch registers, never allocated.

use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use wasmprecomp_artifact::ValType;

pub const RAX: u8 = 0;
pub const RCX: u8 = 1;
pub const RDX: u8 = 2;
pub const RBX: u8 = 3;
pub const RSI: u8 = 6;
pub const RDI: u8 = 7;
pub const R8: u8 = 8;
pub const R9: u8 = 9;
pub const R12: u8 = 12;
pub const R13: u8 = 13;
pub const R14: u8 = 14;
pub const R15: u8 = 15;

pub fn gpr(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Int)
}
pub fn xmm(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Float)
}

pub const INT_ARGS: [u8; 5] = [RSI, RDX, RCX, R8, R9];
pub const FLOAT_ARGS: usize = 8;
pub const CALLEE_SAVED: [u8; 5] = [RBX, R12, R13, R14, R15];

/// Where one parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgLoc {
    Reg(PReg),
    /// Stack slot index (8 bytes each).
    Stack(u32),
}

/// Locations of `params` (the VM context is not included: it is always `rdi`).
pub fn param_locs(params: &[ValType]) -> (Vec<ArgLoc>, u32) {
    let mut ni = 0;
    let mut nf = 0;
    let mut ns = 0;
    let locs = params
        .iter()
        .map(|t| {
            if t.is_float() {
                if nf < FLOAT_ARGS {
                    nf += 1;
                    return ArgLoc::Reg(xmm(nf as u8 - 1));
                }
            } else if ni < INT_ARGS.len() {
                ni += 1;
                return ArgLoc::Reg(gpr(INT_ARGS[ni - 1]));
            }
            ns += 1;
            ArgLoc::Stack(ns - 1)
        })
        .collect();
    (locs, ns)
}

/// Register of a single result.
pub fn result_reg(t: ValType) -> PReg {
    if t.is_float() {
        xmm(0)
    } else {
        gpr(RAX)
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

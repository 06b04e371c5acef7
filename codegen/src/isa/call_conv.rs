//! The parts of the internal calling convention every backend shares: how parameters are
//! assigned to a target's parameter registers and the stack, and how several results sit
//! in a results area. Which registers those are is each target's register protocol
//! (`wasmprecomp_artifact::abi`).

use regalloc2::{PReg, RegClass};
use wasmprecomp_artifact::ValType;

/// Where one parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgLoc {
    Reg(PReg),
    /// Stack position in 8-byte units from the first stack argument (a `v128` takes two).
    Stack(u32),
}

/// Locations of `params` given the target's integer and float parameter registers (by
/// hardware encoding, in order), and the stack they take in 8-byte units: each class
/// fills its registers in parameter order, the rest go on the stack in parameter order.
pub fn param_locs(params: &[ValType], int_regs: &[u8], float_regs: &[u8]) -> (Vec<ArgLoc>, u32) {
    let mut ni = 0;
    let mut nf = 0;
    let mut ns = 0;
    let locs = params
        .iter()
        .map(|t| {
            if t.in_vector_regs() {
                if let Some(&x) = float_regs.get(nf) {
                    nf += 1;
                    return ArgLoc::Reg(PReg::new(x as usize, RegClass::Float));
                }
            } else if let Some(&r) = int_regs.get(ni) {
                ni += 1;
                return ArgLoc::Reg(PReg::new(r as usize, RegClass::Int));
            }
            let at = ns;
            ns += t.area_bytes() / 8;
            ArgLoc::Stack(at)
        })
        .collect();
    (locs, ns)
}

/// Byte offset of each of `results` in a results area, and the area's size.
pub fn area_offsets(results: &[ValType]) -> (Vec<u32>, u32) {
    let mut at = 0;
    let offs = results
        .iter()
        .map(|t| {
            let o = at;
            at += t.area_bytes();
            o
        })
        .collect();
    (offs, at)
}

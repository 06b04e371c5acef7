//! The register protocol between compiled code and the runtime, one module per
//! architecture.
//!
//! Each module is the contract both sides are written against: which register carries
//! what at every boundary between compiled code and the runtime (entering compiled code,
//! calls between compiled functions of different artifacts, libcalls, host functions,
//! raising a trap), the layout of the value arrays the host passes values in, and what the
//! runtime's entry routine saves and its unwind restores. The compiler's calling
//! convention and trampolines and the runtime's assembly routines name registers through
//! these constants, never by spelling them out.
//!
//! Registers are numbered by their hardware encoding, the number the instruction encoding
//! uses (for x86-64, the ModRM/REX register number; for aarch64, the 5-bit register
//! field), so an encoder and an assembler use them directly.
//!
//! The protocol is part of [`FORMAT_VERSION`](crate::FORMAT_VERSION): an artifact built
//! against another protocol has another format version and is refused.

pub mod aarch64;
pub mod x86_64;

/// Whether `regs` contains `reg`: for the constant assertions with which each side states
/// what its code assumes of the protocol.
pub const fn contains(regs: &[u8], reg: u8) -> bool {
    let mut i = 0;
    while i < regs.len() {
        if regs[i] == reg {
            return true;
        }
        i += 1;
    }
    false
}

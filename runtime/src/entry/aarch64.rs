//! The aarch64 entry and raise routines ([`wasmprecomp_artifact::abi::aarch64`] describes
//! them step by step).
//!
//! The entry's frame, below its frame pointer `x29` (which addresses the saved `x29` and
//! `x30` pair): the pairs of [`CALLEE_SAVED`] in order (`x19`, `x20` at `[x29 - 16]`),
//! then `d8`-`d15` in pairs, then the store's previous entry stack pointer and the store
//! pointer at `[x29 - 160]`, where the store's entry stack pointer points during the call.
//! The stack pointer stays 16-byte aligned throughout. The exit restores everything with
//! loads relative to `x29` while the stack pointer is still below the frame, so a signal
//! arriving then cannot overwrite a saved register.

use wasmprecomp_artifact::abi::aarch64::{
    ARRAY_CODE, ARRAY_VALUES, ARRAY_VMCTX, CALLEE_SAVED, FP, IP0, LR, RAISE_VMCTX, SP,
};
use wasmprecomp_artifact::abi::contains;
use wasmprecomp_artifact::{STORE_ENTRY_SP, STORE_TRAP_PC, VMCTX_STORE};

/// Bytes of general-purpose callee-saved registers the entry saves below `x29`.
const GPR_BYTES: usize = 8 * CALLEE_SAVED.len();
/// Bytes of `d8`-`d15`, saved below those.
const FPR_BYTES: usize = 8 * 8;
/// The entry frame's slot for the store's previous entry stack pointer (the store pointer
/// follows it), below `x29`: where the store's entry stack pointer points during the call.
const PREV_SP_SLOT: usize = GPR_BYTES + FPR_BYTES + 16;

/// The offset below `x29` of the `i`-th pair of saved general-purpose registers.
const fn gpr_pair(i: usize) -> usize {
    16 * (i + 1)
}

/// The offset below `x29` of the pair `d(8 + 2i)`, `d(9 + 2i)`.
const fn fpr_pair(i: usize) -> usize {
    GPR_BYTES + 16 * (i + 1)
}

// What the routines below assume of the protocol: ten general-purpose registers saved in
// pairs, none of them the frame pointer, link register or stack pointer, nor a register
// the exit uses while restoring them (`x0` holding the result, `x9`, `x10`); the
// trampoline's registers set from this routine's AAPCS64 arguments (`x2`, `x3`, `x4`, the
// trampoline kept in `ip0`) in an order that overwrites no source before it is read; the
// raise routine's context register is neither of the scratch registers it uses (`x9`,
// `x10`) nor the link register it reads.
const _: () = {
    assert!(CALLEE_SAVED.len() == 10);
    assert!(!contains(&CALLEE_SAVED, FP) && !contains(&CALLEE_SAVED, LR));
    assert!(!contains(&CALLEE_SAVED, SP) && !contains(&CALLEE_SAVED, IP0));
    assert!(!contains(&CALLEE_SAVED, 0) && !contains(&CALLEE_SAVED, 9));
    assert!(!contains(&CALLEE_SAVED, 10));
    assert!(!contains(&[3, 4, IP0], ARRAY_VMCTX));
    assert!(!contains(&[4, IP0], ARRAY_CODE));
    assert!(ARRAY_VALUES != IP0);
    assert!(!contains(&[9, 10, LR, SP], RAISE_VMCTX));
    assert!(PREV_SP_SLOT.is_multiple_of(16) && PREV_SP_SLOT <= 512);
};

// SAFETY: the routines follow AAPCS64 at their boundaries: `enter` saves and restores
// every callee-saved register (`x19`-`x28`, `x29`, `x30`, the low halves of `v8`-`v15`)
// and keeps the stack 16-byte aligned at the call; `raise` only runs on a stack that
// `enter` set up (its saved frame is intact because compiled frames sit below it).
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl wasmprecomp_rt_enter",
    ".type wasmprecomp_rt_enter,%function",
    "wasmprecomp_rt_enter:",
    // `bti c`: a valid indirect-call target where branch target identification is on.
    "hint #34",
    "stp x29, x30, [sp, #-16]!",
    "mov x29, sp",
    "stp x{saved0}, x{saved1}, [sp, #-16]!",
    "stp x{saved2}, x{saved3}, [sp, #-16]!",
    "stp x{saved4}, x{saved5}, [sp, #-16]!",
    "stp x{saved6}, x{saved7}, [sp, #-16]!",
    "stp x{saved8}, x{saved9}, [sp, #-16]!",
    "stp d8, d9, [sp, #-16]!",
    "stp d10, d11, [sp, #-16]!",
    "stp d12, d13, [sp, #-16]!",
    "stp d14, d15, [sp, #-16]!",
    "ldr x9, [x0, #{entry_sp}]",
    "stp x9, x0, [sp, #-16]!",
    "mov x9, sp",
    "str x9, [x0, #{entry_sp}]",
    "mov x{ip0}, x1",
    "mov x{array_vmctx}, x2",
    "mov x{array_code}, x3",
    "mov x{array_values}, x4",
    "blr x{ip0}",
    "mov w0, #0",
    "2:",
    "ldp x9, x10, [x29, #-{prev_sp_slot}]",
    "str x9, [x10, #{entry_sp}]",
    "ldp d14, d15, [x29, #-{fpr3}]",
    "ldp d12, d13, [x29, #-{fpr2}]",
    "ldp d10, d11, [x29, #-{fpr1}]",
    "ldp d8, d9, [x29, #-{fpr0}]",
    "ldp x{saved8}, x{saved9}, [x29, #-{gpr4}]",
    "ldp x{saved6}, x{saved7}, [x29, #-{gpr3}]",
    "ldp x{saved4}, x{saved5}, [x29, #-{gpr2}]",
    "ldp x{saved2}, x{saved3}, [x29, #-{gpr1}]",
    "ldp x{saved0}, x{saved1}, [x29, #-{gpr0}]",
    "mov sp, x29",
    "ldp x29, x30, [sp], #16",
    "ret",
    ".size wasmprecomp_rt_enter, . - wasmprecomp_rt_enter",
    "",
    ".p2align 4",
    ".globl wasmprecomp_rt_raise",
    ".type wasmprecomp_rt_raise,%function",
    "wasmprecomp_rt_raise:",
    "hint #34",
    "ldr x9, [x{raise_vmctx}, #{store}]",
    "str x30, [x9, #{trap_pc}]",
    "ldr x10, [x9, #{entry_sp}]",
    "mov sp, x10",
    "add x29, sp, #{prev_sp_slot}",
    "mov w0, #1",
    "b 2b",
    ".size wasmprecomp_rt_raise, . - wasmprecomp_rt_raise",
    saved0 = const CALLEE_SAVED[0],
    saved1 = const CALLEE_SAVED[1],
    saved2 = const CALLEE_SAVED[2],
    saved3 = const CALLEE_SAVED[3],
    saved4 = const CALLEE_SAVED[4],
    saved5 = const CALLEE_SAVED[5],
    saved6 = const CALLEE_SAVED[6],
    saved7 = const CALLEE_SAVED[7],
    saved8 = const CALLEE_SAVED[8],
    saved9 = const CALLEE_SAVED[9],
    gpr0 = const gpr_pair(0),
    gpr1 = const gpr_pair(1),
    gpr2 = const gpr_pair(2),
    gpr3 = const gpr_pair(3),
    gpr4 = const gpr_pair(4),
    fpr0 = const fpr_pair(0),
    fpr1 = const fpr_pair(1),
    fpr2 = const fpr_pair(2),
    fpr3 = const fpr_pair(3),
    prev_sp_slot = const PREV_SP_SLOT,
    ip0 = const IP0,
    array_vmctx = const ARRAY_VMCTX,
    array_code = const ARRAY_CODE,
    array_values = const ARRAY_VALUES,
    raise_vmctx = const RAISE_VMCTX,
    entry_sp = const STORE_ENTRY_SP,
    trap_pc = const STORE_TRAP_PC,
    store = const VMCTX_STORE,
);

#[cfg(test)]
mod tests;

//! The x86-64 entry and raise routines ([`wasmprecomp_artifact::abi::x86_64`] describes
//! them step by step).

use wasmprecomp_artifact::abi::contains;
use wasmprecomp_artifact::abi::x86_64::{
    ARRAY_CODE, ARRAY_VALUES, ARRAY_VMCTX, CALLEE_SAVED, R8, RAISE_VMCTX, RAX, RBP, RCX, RSP,
};
use wasmprecomp_artifact::{STORE_ENTRY_SP, STORE_TRAP_PC, VMCTX_STORE};

/// Bytes of callee-saved registers the entry pushes below its frame pointer (`rbp`).
const SAVED_BYTES: usize = 8 * CALLEE_SAVED.len();
/// The entry frame's slot for the store pointer, below `rbp`.
const STORE_SLOT: usize = SAVED_BYTES + 8;
/// The entry frame's slot for the store's previous entry stack pointer, below `rbp`: where
/// the store's entry stack pointer points during the call.
const PREV_SP_SLOT: usize = SAVED_BYTES + 16;
/// Padding that aligns the stack to 16 bytes at the call (`rbp` itself is aligned).
const PAD: usize = PREV_SP_SLOT % 16;

// What the routines below assume of the protocol: the pushes name five registers, the
// frame pointer and stack pointer are not among them, and the trampoline's registers are
// set from this routine's System V arguments (`rdx`, `rcx`, `r8`, the trampoline kept in
// `rax`) in an order that overwrites no source before it is read.
const _: () = {
    assert!(CALLEE_SAVED.len() == 5);
    assert!(!contains(&CALLEE_SAVED, RBP) && !contains(&CALLEE_SAVED, RSP));
    assert!(!contains(&[RAX, RCX, R8], ARRAY_VMCTX));
    assert!(!contains(&[RAX, R8], ARRAY_CODE));
    assert!(ARRAY_VALUES != RAX);
};

/// Assembler lines that assemble `$line` with `\reg` bound to the 64-bit register whose
/// hardware encoding is the enclosing assembler macro's `enc` argument.
macro_rules! select_gpr {
    ($line:literal) => {
        concat!(
            ".set .Lgpr_enc, 0\n",
            ".irp reg, rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15\n",
            ".if .Lgpr_enc == \\enc\n",
            $line,
            "\n.endif\n",
            ".set .Lgpr_enc, .Lgpr_enc + 1\n",
            ".endr",
        )
    };
}

// SAFETY: the routines follow the System V ABI at their boundaries: `enter` saves and
// restores every callee-saved register and keeps the stack 16-byte aligned at the call;
// `raise` only runs on a stack that `enter` set up (its saved frame is intact because
// compiled frames sit below it).
std::arch::global_asm!(
    // `gpr_push ENC`, `gpr_pop ENC`, `gpr_mov_to ENC, SRC` (`mov REG, SRC`) and
    // `gpr_load DST, ENC, DISP` (`mov DST, [REG + DISP]`), where REG is the 64-bit
    // register whose hardware encoding is ENC: the protocol names registers by number.
    concat!(".macro gpr_push enc\n", select_gpr!("push \\reg"), "\n.endm"),
    concat!(".macro gpr_pop enc\n", select_gpr!("pop \\reg"), "\n.endm"),
    concat!(".macro gpr_mov_to enc, src\n", select_gpr!("mov \\reg, \\src"), "\n.endm"),
    concat!(
        ".macro gpr_load dst, enc, disp\n",
        select_gpr!("mov \\dst, [\\reg + \\disp]"),
        "\n.endm"
    ),
    ".text",
    ".p2align 4",
    ".globl wasmprecomp_rt_enter",
    ".type wasmprecomp_rt_enter,@function",
    "wasmprecomp_rt_enter:",
    "push rbp",
    "mov rbp, rsp",
    "gpr_push {saved0}",
    "gpr_push {saved1}",
    "gpr_push {saved2}",
    "gpr_push {saved3}",
    "gpr_push {saved4}",
    "push rdi",
    "push qword ptr [rdi + {entry_sp}]",
    "mov [rdi + {entry_sp}], rsp",
    "sub rsp, {pad}",
    "mov rax, rsi",
    "gpr_mov_to {array_vmctx}, rdx",
    "gpr_mov_to {array_code}, rcx",
    "gpr_mov_to {array_values}, r8",
    "call rax",
    "xor eax, eax",
    "2:",
    "mov rdi, [rbp - {store_slot}]",
    "mov rcx, [rbp - {prev_sp_slot}]",
    "mov [rdi + {entry_sp}], rcx",
    "lea rsp, [rbp - {saved_bytes}]",
    "gpr_pop {saved4}",
    "gpr_pop {saved3}",
    "gpr_pop {saved2}",
    "gpr_pop {saved1}",
    "gpr_pop {saved0}",
    "pop rbp",
    "ret",
    ".size wasmprecomp_rt_enter, . - wasmprecomp_rt_enter",
    "",
    ".p2align 4",
    ".globl wasmprecomp_rt_raise",
    ".type wasmprecomp_rt_raise,@function",
    "wasmprecomp_rt_raise:",
    "gpr_load rax, {raise_vmctx}, {store}",
    "mov rcx, [rsp]",
    "mov [rax + {trap_pc}], rcx",
    "mov rsp, [rax + {entry_sp}]",
    "lea rbp, [rsp + {prev_sp_slot}]",
    "mov eax, 1",
    "jmp 2b",
    ".size wasmprecomp_rt_raise, . - wasmprecomp_rt_raise",
    ".purgem gpr_push",
    ".purgem gpr_pop",
    ".purgem gpr_mov_to",
    ".purgem gpr_load",
    saved0 = const CALLEE_SAVED[0],
    saved1 = const CALLEE_SAVED[1],
    saved2 = const CALLEE_SAVED[2],
    saved3 = const CALLEE_SAVED[3],
    saved4 = const CALLEE_SAVED[4],
    saved_bytes = const SAVED_BYTES,
    store_slot = const STORE_SLOT,
    prev_sp_slot = const PREV_SP_SLOT,
    pad = const PAD,
    array_vmctx = const ARRAY_VMCTX,
    array_code = const ARRAY_CODE,
    array_values = const ARRAY_VALUES,
    raise_vmctx = const RAISE_VMCTX,
    entry_sp = const STORE_ENTRY_SP,
    trap_pc = const STORE_TRAP_PC,
    store = const VMCTX_STORE,
);

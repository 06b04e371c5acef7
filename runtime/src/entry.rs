//! The two routines that cross between host and compiled code: entering compiled code
//! and unwinding back to the entry after a trap.
//!
//! `wasmprecomp_rt_enter(store, trampoline, vmctx, code, values) -> u32` saves the
//! callee-saved registers, records its stack pointer in the store (keeping the previous
//! one for nested entries), and calls the array-to-wasm trampoline. It returns 0 when the
//! call returned normally.
//!
//! `wasmprecomp_rt_raise` is called by trap stubs with a VM context (or host-function
//! context) in `rdi`; the return address on the stack identifies the trap site. It records
//! that address in the store, resets the stack pointer to the innermost entry's frame and
//! returns 1 from `wasmprecomp_rt_enter`. No host frames are skipped: host functions
//! never unwind through compiled code, they return a failure status instead.

use wasmprecomp_artifact::{STORE_ENTRY_SP, STORE_TRAP_PC, VMCTX_STORE};

// SAFETY: the routines follow the System V ABI at their boundaries: `enter` saves and
// restores every callee-saved register and keeps the stack 16-byte aligned at the call;
// `raise` only runs on a stack that `enter` set up (its saved frame is intact because
// compiled frames sit below it).
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl wasmprecomp_rt_enter",
    ".type wasmprecomp_rt_enter,@function",
    "wasmprecomp_rt_enter:",
    "push rbp",
    "mov rbp, rsp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "push rdi",
    "push qword ptr [rdi + {entry_sp}]",
    "mov [rdi + {entry_sp}], rsp",
    "sub rsp, 8",
    "mov rax, rsi",
    "mov rdi, rdx",
    "mov rsi, rcx",
    "mov rdx, r8",
    "call rax",
    "xor eax, eax",
    "2:",
    "mov rdi, [rbp - 48]",
    "mov rcx, [rbp - 56]",
    "mov [rdi + {entry_sp}], rcx",
    "lea rsp, [rbp - 40]",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".size wasmprecomp_rt_enter, . - wasmprecomp_rt_enter",
    "",
    ".p2align 4",
    ".globl wasmprecomp_rt_raise",
    ".type wasmprecomp_rt_raise,@function",
    "wasmprecomp_rt_raise:",
    "mov rax, [rdi + {store}]",
    "mov rcx, [rsp]",
    "mov [rax + {trap_pc}], rcx",
    "mov rsp, [rax + {entry_sp}]",
    "lea rbp, [rsp + 56]",
    "mov eax, 1",
    "jmp 2b",
    ".size wasmprecomp_rt_raise, . - wasmprecomp_rt_raise",
    entry_sp = const STORE_ENTRY_SP,
    trap_pc = const STORE_TRAP_PC,
    store = const VMCTX_STORE,
);

unsafe extern "C" {
    /// Calls compiled code through an array-to-wasm trampoline. Returns 0 on normal
    /// return, 1 after a trap (the store's trap PC is then set).
    ///
    /// # Safety
    ///
    /// `store` must be the live store state the VM context `vmctx` points to, `trampoline`
    /// the array-to-wasm trampoline for the signature of the function at `code` (whose VM
    /// context is `vmctx`), and `values` an array of max(params, results) slots holding
    /// the arguments. Nothing may hold a Rust reference into the store state during the
    /// call: compiled code, libcalls and host functions use it.
    pub fn wasmprecomp_rt_enter(
        store: *mut u8,
        trampoline: *const u8,
        vmctx: *mut u8,
        code: *const u8,
        values: *mut u64,
    ) -> u32;
    /// The raise-trap entry point stored in every VM context. Never called from Rust: its
    /// address is all the runtime uses.
    pub fn wasmprecomp_rt_raise();
}

//! The two routines that cross between host and compiled code: entering compiled code
//! and unwinding back to the entry after a trap, one assembly file per architecture
//! (`entry/x86_64.rs`, `entry/aarch64.rs`). Both follow the artifact's register protocol
//! for that architecture ([`wasmprecomp_artifact::abi::x86_64`] describes them step by
//! step, [`wasmprecomp_artifact::abi::aarch64`] says where aarch64 differs) and take its
//! registers from there.
//!
//! `wasmprecomp_rt_enter(store, trampoline, vmctx, code, values) -> u32` saves the
//! callee-saved registers, records its stack pointer in the store (keeping the previous
//! one for nested entries), and calls the array-to-wasm trampoline. It returns 0 when the
//! call returned normally.
//!
//! `wasmprecomp_rt_raise` is called by trap stubs with a VM context (or host-function
//! context) in the protocol's `RAISE_VMCTX`; the return address (on the stack on x86-64,
//! in the link register on aarch64) identifies the trap site. It records that address in
//! the store, resets the stack pointer to the innermost entry's frame and returns 1 from
//! `wasmprecomp_rt_enter`. No host frames are skipped: host functions never unwind
//! through compiled code, they return a failure status instead.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

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
        values: *mut u128,
    ) -> u32;
    /// The raise-trap entry point stored in every VM context. Never called from Rust: its
    /// address is all the runtime uses.
    pub fn wasmprecomp_rt_raise();
}

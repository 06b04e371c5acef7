//! The x86-64 register protocol (System V targets: Linux).
//!
//! Compiled code and the runtime meet at five boundaries; for each, this module says which
//! register carries what. The compiler's calling convention and trampolines
//! (`isa/x64/abi.rs`, `isa/x64/trampolines.rs`) and the runtime's entry and raise routines
//! (`entry.rs`) take their registers from these constants. Registers are numbered by
//! hardware encoding: [`RAX`] to [`R15`] for general-purpose registers, plain indices for
//! `xmm` registers.
//!
//! # Compiled functions
//!
//! Every compiled function is called the same way, whether the caller is another function
//! of its artifact, a function of another artifact (through a function reference or an
//! import) or an array-to-wasm trampoline:
//!
//! - [`VMCTX`] (`rdi`): the callee's VM context ([`VmLayout`](crate::VmLayout)); for a
//!   wasm-to-host trampoline, its host-function context
//!   ([`HOSTCTX_CALLBACK`](crate::HOSTCTX_CALLBACK)).
//! - Parameters: integer and reference parameters in [`INT_PARAMS`], float and `v128`
//!   parameters in [`FLOAT_PARAMS`], each class in parameter order; the parameters that
//!   do not fit go on the stack, in parameter order, starting at `[rsp]` at the call, 8
//!   bytes each and 16 for a `v128` ([`ValType::area_bytes`](crate::ValType::area_bytes)).
//! - One result: [`INT_RESULT`] or [`FLOAT_RESULT`] (a `v128` too). Several results: the
//!   caller passes the address of an area in [`RESULTS_AREA`] holding the results in
//!   order, 8 bytes each and 16 for a `v128`, and the callee writes them there.
//! - Preserved across the call: `rbp` (compiled code keeps a frame-pointer chain),
//!   `rsp`, and [`CALLEE_SAVED`]; together exactly System V's callee-saved registers.
//!   Every other register may be clobbered. The stack is 16-byte aligned at the call.
//! - Compiled code reads the stack limit at
//!   [`STORE_STACK_LIMIT`](crate::STORE_STACK_LIMIT) in the store (found through
//!   [`VMCTX_STORE`](crate::VMCTX_STORE)) in every prologue and raises a stack-overflow
//!   trap when its frame would reach below it.
//!
//! # Value arrays
//!
//! The host passes arguments and receives results in an array of [`VALUE_SLOT`]-byte
//! (16-byte) slots, at least `max(params, results, 1)` long. Arguments fill slots from 0
//! in parameter order; results overwrite slots from 0 in result order. A slot holds a
//! `v128` (little-endian), or in its low 8 bytes an `i64`'s or `f64`'s bits, an `i32`'s
//! or `f32`'s bits in its low 32 bits (zero-extended in arguments, the rest unspecified
//! in results), a `funcref` as the address of a function reference (0 = null), an
//! `externref` as an opaque word of the runtime's (0 = null).
//!
//! # Entering compiled code: the array-to-wasm trampoline
//!
//! Every artifact has one array-to-wasm trampoline per signature. It is a System V
//! function taking [`ARRAY_VMCTX`] (the callee's VM context), [`ARRAY_CODE`] (the
//! callee's code address) and [`ARRAY_VALUES`] (the value array): it loads the arguments
//! from the array, calls the code with the VM context in [`VMCTX`] and writes the results
//! back to the array. It returns nothing; it preserves what a compiled function preserves.
//!
//! The runtime never calls a trampoline directly but through its entry routine
//! (`wasmprecomp_rt_enter`), which:
//!
//! 1. pushes `rbp` and makes it its frame pointer, then pushes [`CALLEE_SAVED`] in order;
//! 2. pushes the store pointer and the store's current
//!    [`STORE_ENTRY_SP`](crate::STORE_ENTRY_SP) (0 outside any call: entries nest when
//!    host functions call back into compiled code), then stores its stack pointer, which
//!    now addresses that saved value, in `STORE_ENTRY_SP`;
//! 3. aligns the stack and calls the trampoline with [`ARRAY_VMCTX`], [`ARRAY_CODE`] and
//!    [`ARRAY_VALUES`] set;
//! 4. on return, puts the saved `STORE_ENTRY_SP` back, restores [`CALLEE_SAVED`] and
//!    `rbp`, and returns 0.
//!
//! # Traps: raise and unwind
//!
//! A trap stub loads the VM context of the function it belongs to into [`RAISE_VMCTX`]
//! and calls the address at [`VMCTX_RAISE`](crate::VMCTX_RAISE) in that context; the
//! pushed return address is the trap site (`TrapSite::text_offset`). The raise routine
//! never returns to it: it finds the store through
//! [`VMCTX_STORE`](crate::VMCTX_STORE), records the return address in
//! [`STORE_TRAP_PC`](crate::STORE_TRAP_PC), resets the stack pointer to
//! [`STORE_ENTRY_SP`](crate::STORE_ENTRY_SP) (the innermost entry's frame) and finishes
//! that entry as in step 4, returning 1. The compiled frames in between are discarded
//! without running their epilogues, which is why the entry saves every callee-saved
//! register itself. Host frames are never discarded: a host function returns a failure
//! status instead of unwinding (see below).
//!
//! # Calls out of compiled code
//!
//! - Libcalls ([`Libcall`](crate::Libcall)) are System V functions: the VM context in
//!   [`LIBCALL_VMCTX`], the integer parameters in [`LIBCALL_PARAMS`] (every libcall's
//!   parameters fit), the result (a value or a status) in the low 32 bits of
//!   [`LIBCALL_RESULT`].
//! - A wasm-to-host trampoline is a compiled function of the host function's signature
//!   whose VM context is a host-function context. It stores its arguments to a value
//!   array on its stack and calls the context's callback, a System V function taking
//!   [`HOST_CALLBACK_CTX`] (the context) and [`HOST_CALLBACK_VALUES`] (the array) and
//!   returning a status in the low 32 bits of [`HOST_CALLBACK_STATUS`]: 0 when the
//!   results are in the array, non-zero when the callback recorded a trap in the store,
//!   which the trampoline then raises with the context as the VM context.

/// Hardware encoding of `rax`.
pub const RAX: u8 = 0;
/// Hardware encoding of `rcx`.
pub const RCX: u8 = 1;
/// Hardware encoding of `rdx`.
pub const RDX: u8 = 2;
/// Hardware encoding of `rbx`.
pub const RBX: u8 = 3;
/// Hardware encoding of `rsp`.
pub const RSP: u8 = 4;
/// Hardware encoding of `rbp`.
pub const RBP: u8 = 5;
/// Hardware encoding of `rsi`.
pub const RSI: u8 = 6;
/// Hardware encoding of `rdi`.
pub const RDI: u8 = 7;
/// Hardware encoding of `r8`.
pub const R8: u8 = 8;
/// Hardware encoding of `r9`.
pub const R9: u8 = 9;
/// Hardware encoding of `r10`.
pub const R10: u8 = 10;
/// Hardware encoding of `r11`.
pub const R11: u8 = 11;
/// Hardware encoding of `r12`.
pub const R12: u8 = 12;
/// Hardware encoding of `r13`.
pub const R13: u8 = 13;
/// Hardware encoding of `r14`.
pub const R14: u8 = 14;
/// Hardware encoding of `r15`.
pub const R15: u8 = 15;

/// Bytes of one slot of a value array.
pub const VALUE_SLOT: u32 = 16;

/// Compiled functions: the callee's VM context.
pub const VMCTX: u8 = RDI;
/// Compiled functions: integer and reference parameters, in order.
pub const INT_PARAMS: [u8; 5] = [RSI, RDX, RCX, R8, R9];
/// Compiled functions: float and `v128` parameters (`xmm` numbers), in order.
pub const FLOAT_PARAMS: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// Compiled functions: a single integer or reference result.
pub const INT_RESULT: u8 = RAX;
/// Compiled functions: a single float or `v128` result (`xmm` number).
pub const FLOAT_RESULT: u8 = 0;
/// Compiled functions with several results: the address of the caller's results area.
pub const RESULTS_AREA: u8 = RAX;
/// Registers a compiled function preserves besides `rbp` and `rsp`, in the order the
/// runtime's entry routine pushes them.
pub const CALLEE_SAVED: [u8; 5] = [RBX, R12, R13, R14, R15];

/// Array-to-wasm trampoline: the callee's VM context, passed on in [`VMCTX`].
pub const ARRAY_VMCTX: u8 = RDI;
/// Array-to-wasm trampoline: the callee's code address.
pub const ARRAY_CODE: u8 = RSI;
/// Array-to-wasm trampoline: the value array.
pub const ARRAY_VALUES: u8 = RDX;

/// Trap stubs: the VM context whose raise routine they call.
pub const RAISE_VMCTX: u8 = RDI;

/// Libcalls: the calling function's VM context.
pub const LIBCALL_VMCTX: u8 = RDI;
/// Libcalls: the parameters after the VM context, in order.
pub const LIBCALL_PARAMS: [u8; 5] = [RSI, RDX, RCX, R8, R9];
/// Libcalls: the result.
pub const LIBCALL_RESULT: u8 = RAX;

/// Host-function callback: the host-function context.
pub const HOST_CALLBACK_CTX: u8 = RDI;
/// Host-function callback: the value array.
pub const HOST_CALLBACK_VALUES: u8 = RSI;
/// Host-function callback: the status it returns.
pub const HOST_CALLBACK_STATUS: u8 = RAX;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Libcall;

    fn distinct(regs: &[u8]) -> bool {
        regs.iter()
            .enumerate()
            .all(|(i, r)| !regs[i + 1..].contains(r))
    }

    #[test]
    fn argument_registers_of_each_boundary_are_distinct() {
        let mut call = vec![VMCTX];
        call.extend(INT_PARAMS);
        assert!(distinct(&call));
        assert!(!INT_PARAMS.contains(&RESULTS_AREA) && RESULTS_AREA != VMCTX);
        assert!(distinct(&FLOAT_PARAMS));
        assert!(distinct(&[ARRAY_VMCTX, ARRAY_CODE, ARRAY_VALUES]));
        let mut libcall = vec![LIBCALL_VMCTX];
        libcall.extend(LIBCALL_PARAMS);
        assert!(distinct(&libcall));
        assert!(distinct(&[HOST_CALLBACK_CTX, HOST_CALLBACK_VALUES]));
    }

    #[test]
    fn callee_saved_registers_carry_nothing_across_a_boundary() {
        let carriers = [
            &[VMCTX, INT_RESULT, RESULTS_AREA][..],
            &INT_PARAMS,
            &[ARRAY_VMCTX, ARRAY_CODE, ARRAY_VALUES, RAISE_VMCTX],
            &[LIBCALL_VMCTX, LIBCALL_RESULT],
            &LIBCALL_PARAMS,
            &[
                HOST_CALLBACK_CTX,
                HOST_CALLBACK_VALUES,
                HOST_CALLBACK_STATUS,
            ],
        ];
        assert!(distinct(&CALLEE_SAVED));
        for r in carriers.iter().flat_map(|c| c.iter()) {
            assert!(!CALLEE_SAVED.contains(r), "register {r}");
            assert!(*r != RSP && *r != RBP, "register {r}");
        }
        for r in CALLEE_SAVED {
            assert!(r != RSP && r != RBP);
        }
    }

    #[test]
    fn callee_saved_registers_and_rbp_are_system_v_callee_saved_registers() {
        let mut saved = CALLEE_SAVED.to_vec();
        saved.push(RBP);
        saved.sort();
        assert_eq!(saved, [RBX, RBP, R12, R13, R14, R15]);
    }

    #[test]
    fn every_libcall_passes_its_parameters_in_registers() {
        for l in Libcall::ALL {
            assert!(l.params().len() <= LIBCALL_PARAMS.len(), "{}", l.name());
        }
    }
}

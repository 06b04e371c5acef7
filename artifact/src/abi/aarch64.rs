//! The aarch64 register protocol (AAPCS64 targets: Linux).
//!
//! The same five boundaries as on x86-64 ([`super::x86_64`] describes each step by step),
//! with AAPCS64's registers. Registers are numbered by hardware encoding: `x0` to `x30`
//! as 0 to 30 for general-purpose registers ([`SP`] is 31 where an instruction reads it
//! as the stack pointer), plain indices for the `v` registers.
//!
//! # Compiled functions
//!
//! - [`VMCTX`] (`x0`): the callee's VM context; for a wasm-to-host trampoline, its
//!   host-function context.
//! - Parameters: integer and reference parameters in [`INT_PARAMS`], float and `v128`
//!   parameters in [`FLOAT_PARAMS`], each class in parameter order; the rest on the
//!   stack, in parameter order, from `[sp]` at the call, 8 bytes each and 16 for a
//!   `v128`.
//! - One result in [`INT_RESULT`] or [`FLOAT_RESULT`]; several results in the caller's
//!   area whose address it passes in [`RESULTS_AREA`] (`x8`, AAPCS64's indirect-result
//!   register), 8 bytes each and 16 for a `v128`.
//! - Preserved across the call: [`FP`] (compiled code keeps a frame-pointer chain and
//!   keeps its VM context at `[fp - 8]`), `sp`, and [`CALLEE_SAVED`] (AAPCS64's
//!   callee-saved general-purpose registers). Every vector register may be clobbered
//!   (AAPCS64 preserves the low halves of `v8`-`v15`: the runtime's entry routine saves
//!   them for its Rust caller, and compiled code preserves none). [`LR`] holds the
//!   return address at the call; `sp` is 16-byte aligned at every call.
//! - Compiled code reads the stack limit in every prologue, as on x86-64.
//!
//! # Entering compiled code
//!
//! The array-to-wasm trampoline is an AAPCS64 function of [`ARRAY_VMCTX`],
//! [`ARRAY_CODE`] and [`ARRAY_VALUES`]. The runtime calls it through its entry routine
//! (`wasmprecomp_rt_enter`), which:
//!
//! 1. saves `fp` and `lr` as a pair and makes `fp` address it, then saves
//!    [`CALLEE_SAVED`] in pairs, in order, and `d8`-`d15` in pairs;
//! 2. saves the store's current [`STORE_ENTRY_SP`](crate::STORE_ENTRY_SP) (0 outside any
//!    call; entries nest) and the store pointer as a pair, then stores its stack pointer,
//!    which now addresses that saved value, in `STORE_ENTRY_SP`;
//! 3. calls (`blr`) the trampoline with [`ARRAY_VMCTX`], [`ARRAY_CODE`] and
//!    [`ARRAY_VALUES`] set; `sp` is 16-byte aligned throughout;
//! 4. on return, puts the saved `STORE_ENTRY_SP` back, restores `d8`-`d15`,
//!    [`CALLEE_SAVED`], `fp` and `lr`, and returns 0.
//!
//! # Traps
//!
//! A trap stub loads the VM context of its function (from `[fp - 8]`) into
//! [`RAISE_VMCTX`] and calls (`blr`) the address at
//! [`VMCTX_RAISE`](crate::VMCTX_RAISE) in that context: [`LR`] then holds the trap site
//! (`TrapSite::text_offset`: the return address of that call). The raise routine never
//! returns to it: it finds the store through [`VMCTX_STORE`](crate::VMCTX_STORE), records
//! `lr` in [`STORE_TRAP_PC`](crate::STORE_TRAP_PC), resets `sp` to `STORE_ENTRY_SP` (the
//! innermost entry's frame) and finishes that entry as in step 4, returning 1. It reads
//! no other register, so a stub may clobber any but [`RAISE_VMCTX`] and [`LR`].
//!
//! A guard-page fault at a memory-access trap site (`TrapSite::text_offset`: the
//! faulting instruction's address) is turned into the same call by the runtime's fault
//! handler: it sets [`LR`] to the faulting instruction's address, [`RAISE_VMCTX`] to the
//! word at `[fp - 8]` and `pc` to the raise routine, leaving `sp` as it was. So every
//! instruction that may be such a site must sit in a function body whose `fp` addresses
//! its frame (after the prologue, before the epilogue).
//!
//! # Calls out of compiled code
//!
//! - Libcalls are AAPCS64 functions: the VM context in [`LIBCALL_VMCTX`], the parameters
//!   in [`LIBCALL_PARAMS`], the result in the low 32 bits of [`LIBCALL_RESULT`].
//! - A wasm-to-host trampoline stores its arguments to a value array on its stack and
//!   calls the context's callback, an AAPCS64 function of [`HOST_CALLBACK_CTX`] and
//!   [`HOST_CALLBACK_VALUES`] returning a status in the low 32 bits of
//!   [`HOST_CALLBACK_STATUS`] (0: results in the array; non-zero: raise the trap the
//!   callback recorded, with the host context as the VM context).
//! - The callback finds the calling instance from the trampoline's frame, which has the
//!   x86-64 trampoline's shape: the trampoline saves `fp` and `lr` as a pair and makes
//!   `fp` address it, saves [`RESULTS_AREA`] and its VM context (the host context) as the
//!   pair below (the context at `[fp - 8]`, the results-area address at `[fp - 16]`), then
//!   reserves the value array, `max(params, results, 1)` slots rounded up to 16 bytes,
//!   directly below that, so the array ends 16 bytes below `fp`. The caller's VM context
//!   is then at `[[fp] - 8]`, as in every compiled frame.
//!
//! The value arrays are those of [`super::x86_64`]: [`VALUE_SLOT`]-byte slots.

/// Hardware encoding of `x0`.
pub const X0: u8 = 0;
/// Hardware encoding of `x1`.
pub const X1: u8 = 1;
/// Hardware encoding of `x2`.
pub const X2: u8 = 2;
/// Hardware encoding of `x8`, AAPCS64's indirect-result register.
pub const X8: u8 = 8;
/// The intra-procedure-call scratch register `x16` (`ip0`).
pub const IP0: u8 = 16;
/// The intra-procedure-call scratch register `x17` (`ip1`).
pub const IP1: u8 = 17;
/// The platform register `x18`, never used.
pub const PLATFORM: u8 = 18;
/// The frame pointer `x29`.
pub const FP: u8 = 29;
/// The link register `x30`.
pub const LR: u8 = 30;
/// The stack pointer, in instructions that read register 31 as `sp`.
pub const SP: u8 = 31;

/// Bytes of one slot of a value array.
pub const VALUE_SLOT: u32 = super::x86_64::VALUE_SLOT;

/// Compiled functions: the callee's VM context.
pub const VMCTX: u8 = X0;
/// Compiled functions: integer and reference parameters, in order.
pub const INT_PARAMS: [u8; 7] = [1, 2, 3, 4, 5, 6, 7];
/// Compiled functions: float and `v128` parameters (`v` numbers), in order.
pub const FLOAT_PARAMS: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// Compiled functions: a single integer or reference result.
pub const INT_RESULT: u8 = X0;
/// Compiled functions: a single float or `v128` result (`v` number).
pub const FLOAT_RESULT: u8 = 0;
/// Compiled functions with several results: the address of the caller's results area.
pub const RESULTS_AREA: u8 = X8;
/// Registers a compiled function preserves besides `fp`, `lr` and `sp`, in the order the
/// runtime's entry routine saves them.
pub const CALLEE_SAVED: [u8; 10] = [19, 20, 21, 22, 23, 24, 25, 26, 27, 28];

/// Array-to-wasm trampoline: the callee's VM context, passed on in [`VMCTX`].
pub const ARRAY_VMCTX: u8 = X0;
/// Array-to-wasm trampoline: the callee's code address.
pub const ARRAY_CODE: u8 = X1;
/// Array-to-wasm trampoline: the value array.
pub const ARRAY_VALUES: u8 = X2;

/// Trap stubs: the VM context whose raise routine they call.
pub const RAISE_VMCTX: u8 = X0;

/// Libcalls: the calling function's VM context.
pub const LIBCALL_VMCTX: u8 = X0;
/// Libcalls: the parameters after the VM context, in order.
pub const LIBCALL_PARAMS: [u8; 7] = [1, 2, 3, 4, 5, 6, 7];
/// Libcalls: the result.
pub const LIBCALL_RESULT: u8 = X0;

/// Host-function callback: the host-function context.
pub const HOST_CALLBACK_CTX: u8 = X0;
/// Host-function callback: the value array.
pub const HOST_CALLBACK_VALUES: u8 = X1;
/// Host-function callback: the status it returns.
pub const HOST_CALLBACK_STATUS: u8 = X0;

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
    fn callee_saved_registers_are_aapcs64_callee_saved_and_carry_nothing() {
        assert_eq!(CALLEE_SAVED.to_vec(), (19..=28).collect::<Vec<u8>>());
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
        for r in carriers.iter().flat_map(|c| c.iter()) {
            assert!(!CALLEE_SAVED.contains(r), "register {r}");
            assert!(
                ![IP0, IP1, PLATFORM, FP, LR, SP].contains(r),
                "register {r}"
            );
        }
    }

    #[test]
    fn every_libcall_passes_its_parameters_in_registers() {
        for l in Libcall::ALL {
            assert!(l.params().len() <= LIBCALL_PARAMS.len(), "{}", l.name());
        }
    }
}

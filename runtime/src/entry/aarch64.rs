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
mod tests {
    //! The routines run against hand-assembled code: an array-to-wasm trampoline and three
    //! functions shaped as compiled code is (a frame with the VM context at `[x29 - 8]`):
    //! one returns a value, one raises a trap as a trap stub does, one faults at a memory
    //! access site in a memory's guard region. Each function first overwrites every
    //! callee-saved register, and the entry is called from an assembly harness that fills
    //! those registers with known values before and compares them after, so a register the
    //! routines fail to restore is named by its bit in the harness's mask.

    use crate::entry::wasmprecomp_rt_raise;
    use crate::fault::Running;
    use crate::module::{CodeMemory, Module, ModuleInner};
    use crate::store::StoreInner;
    use crate::Store;
    use std::sync::Arc;
    use wasmprecomp_artifact::{ModuleMeta, TrapKind, TrapSite, STORE_ENTRY_SP, STORE_TRAP_PC};

    /// The code, one A64 instruction word each with its assembly. Assembled with
    /// `aarch64-linux-gnu-as` and checked by disassembling exactly these words:
    /// written little-endian to `code.bin`, `aarch64-linux-gnu-objdump -D -b binary -m
    /// aarch64 code.bin` prints each comment's assembly at the offset it gives.
    const CODE: [u32; 57] = [
        // TRAMPOLINE
        0xa9be7bfd, // 0x00: stp x29, x30, [sp, #-32]!
        0x910003fd, // 0x04: mov x29, sp
        0xf9000be2, // 0x08: str x2, [sp, #16]
        0xaa0103f0, // 0x0c: mov x16, x1
        0xf9400041, // 0x10: ldr x1, [x2]
        0xd63f0200, // 0x14: blr x16
        0xf9400be2, // 0x18: ldr x2, [sp, #16]
        0xf9000040, // 0x1c: str x0, [x2]
        0xa8c27bfd, // 0x20: ldp x29, x30, [sp], #32
        0xd65f03c0, // 0x24: ret
        // clobber: overwrites x19-x28 and d8-d15
        0xd2932273, // 0x28: mov x19, #0x9913
        0xd2932294, // 0x2c: mov x20, #0x9914
        0xd29322b5, // 0x30: mov x21, #0x9915
        0xd29322d6, // 0x34: mov x22, #0x9916
        0xd29322f7, // 0x38: mov x23, #0x9917
        0xd2932318, // 0x3c: mov x24, #0x9918
        0xd2932339, // 0x40: mov x25, #0x9919
        0xd293235a, // 0x44: mov x26, #0x991a
        0xd293237b, // 0x48: mov x27, #0x991b
        0xd293239c, // 0x4c: mov x28, #0x991c
        0x9e670268, // 0x50: fmov d8, x19
        0x9e670289, // 0x54: fmov d9, x20
        0x9e6702aa, // 0x58: fmov d10, x21
        0x9e6702cb, // 0x5c: fmov d11, x22
        0x9e6702ec, // 0x60: fmov d12, x23
        0x9e67030d, // 0x64: fmov d13, x24
        0x9e67032e, // 0x68: fmov d14, x25
        0x9e67034f, // 0x6c: fmov d15, x26
        0xd65f03c0, // 0x70: ret
        // ADD
        0xa9bf7bfd, // 0x74: stp x29, x30, [sp, #-16]!
        0x910003fd, // 0x78: mov x29, sp
        0xd10043ff, // 0x7c: sub sp, sp, #0x10
        0xf81f83a0, // 0x80: stur x0, [x29, #-8]
        0x97ffffe9, // 0x84: bl 0x28 (clobber)
        0xf85f83a0, // 0x88: ldur x0, [x29, #-8]
        0xf9400c09, // 0x8c: ldr x9, [x0, #24]
        0x8b090020, // 0x90: add x0, x1, x9
        0x910003bf, // 0x94: mov sp, x29
        0xa8c17bfd, // 0x98: ldp x29, x30, [sp], #16
        0xd65f03c0, // 0x9c: ret
        // RAISE
        0xa9bf7bfd, // 0xa0: stp x29, x30, [sp, #-16]!
        0x910003fd, // 0xa4: mov x29, sp
        0xd10043ff, // 0xa8: sub sp, sp, #0x10
        0xf81f83a0, // 0xac: stur x0, [x29, #-8]
        0x97ffffde, // 0xb0: bl 0x28 (clobber)
        0xf85f83a0, // 0xb4: ldur x0, [x29, #-8]
        0xf9400410, // 0xb8: ldr x16, [x0, #8]
        0xd63f0200, // 0xbc: blr x16
        // RAISE_SITE
        0xd4200000, // 0xc0: brk #0x0
        // FAULT
        0xa9bf7bfd, // 0xc4: stp x29, x30, [sp, #-16]!
        0x910003fd, // 0xc8: mov x29, sp
        0xd10043ff, // 0xcc: sub sp, sp, #0x10
        0xf81f83a0, // 0xd0: stur x0, [x29, #-8]
        0x97ffffd5, // 0xd4: bl 0x28 (clobber)
        0xd2800000, // 0xd8: mov x0, #0x0
        // FAULT_SITE
        0xb9400022, // 0xdc: ldr w2, [x1]
        0xd4200020, // 0xe0: brk #0x1
    ];
    /// Array-to-wasm trampoline: keeps the value array, passes slot 0 as the first
    /// integer parameter, calls the code with the VM context in `x0`, stores `x0` to slot 0.
    const TRAMPOLINE: usize = 0x00;
    /// Returns its parameter plus the word at `[vmctx + 24]`.
    const ADD: usize = 0x74;
    /// Raises: loads the VM context from its frame and calls the raise routine through it.
    const RAISE: usize = 0xa0;
    /// The trap site of `RAISE`: the return address of its `blr`.
    const RAISE_SITE: usize = 0xc0;
    /// Loads 32 bits from the address in its parameter, with `x0` cleared first, so the
    /// VM context can only come from its frame.
    const FAULT: usize = 0xc4;
    /// `FAULT`'s load, recorded as a memory-access trap site.
    const FAULT_SITE: usize = 0xdc;

    // The harness: `wasmprecomp_test_enter_checked(store, trampoline, vmctx, code, values,
    // out)` calls `wasmprecomp_rt_enter` with the first five arguments after setting
    // `x19`-`x28` to 0x1000 + n and `d8`-`d15` to 0x2000 + n, then writes the entry's
    // result to `out[0]` and to `out[1]` a mask with bit n set for each such register
    // that differs afterwards, bit 29 when `x29` and bit 31 when `sp` differ.
    std::arch::global_asm!(
        ".text",
        ".p2align 4",
        ".globl wasmprecomp_test_enter_checked",
        ".type wasmprecomp_test_enter_checked,%function",
        "wasmprecomp_test_enter_checked:",
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "stp x19, x20, [sp, #-16]!",
        "stp x21, x22, [sp, #-16]!",
        "stp x23, x24, [sp, #-16]!",
        "stp x25, x26, [sp, #-16]!",
        "stp x27, x28, [sp, #-16]!",
        "stp d8, d9, [sp, #-16]!",
        "stp d10, d11, [sp, #-16]!",
        "stp d12, d13, [sp, #-16]!",
        "stp d14, d15, [sp, #-16]!",
        "mov x9, sp",
        "stp x5, x9, [sp, #-16]!",
        ".irp r, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28",
        "mov x\\r, #(0x1000 + \\r)",
        ".endr",
        ".irp r, 8, 9, 10, 11, 12, 13, 14, 15",
        "mov x9, #(0x2000 + \\r)",
        "fmov d\\r, x9",
        ".endr",
        "bl wasmprecomp_rt_enter",
        "mov x9, #0",
        ".irp r, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28",
        "mov x10, #(0x1000 + \\r)",
        "cmp x\\r, x10",
        "cset x11, ne",
        "orr x9, x9, x11, lsl #\\r",
        ".endr",
        ".irp r, 8, 9, 10, 11, 12, 13, 14, 15",
        "fmov x10, d\\r",
        "mov x11, #(0x2000 + \\r)",
        "cmp x10, x11",
        "cset x12, ne",
        "orr x9, x9, x12, lsl #\\r",
        ".endr",
        "ldr x10, [sp, #8]",
        "sub x10, x10, #16",
        "mov x11, sp",
        "cmp x10, x11",
        "cset x12, ne",
        "orr x9, x9, x12, lsl #31",
        "add x10, x11, #160",
        "cmp x10, x29",
        "cset x12, ne",
        "orr x9, x9, x12, lsl #29",
        "ldr x5, [sp]",
        "str x0, [x5]",
        "str x9, [x5, #8]",
        "add sp, sp, #16",
        "ldp d14, d15, [sp], #16",
        "ldp d12, d13, [sp], #16",
        "ldp d10, d11, [sp], #16",
        "ldp d8, d9, [sp], #16",
        "ldp x27, x28, [sp], #16",
        "ldp x25, x26, [sp], #16",
        "ldp x23, x24, [sp], #16",
        "ldp x21, x22, [sp], #16",
        "ldp x19, x20, [sp], #16",
        "ldp x29, x30, [sp], #16",
        "ret",
        ".size wasmprecomp_test_enter_checked, . - wasmprecomp_test_enter_checked",
    );

    unsafe extern "C" {
        fn wasmprecomp_test_enter_checked(
            store: *mut u8,
            trampoline: *const u8,
            vmctx: *mut u8,
            code: *const u8,
            values: *mut u128,
            out: *mut [u64; 2],
        );
    }

    /// A store holding the code as a module (with `FAULT_SITE` as its one trap site), a
    /// memory of one page, and a VM-context header naming the store and the raise routine
    /// (the word at 24 is what `ADD` adds).
    struct Fixture {
        store: Store,
        module: Module,
        vmctx: [usize; 4],
    }

    impl Fixture {
        fn new() -> Fixture {
            let bytes: Vec<u8> = CODE.iter().flat_map(|w| w.to_le_bytes()).collect();
            let meta = ModuleMeta {
                traps: vec![TrapSite {
                    text_offset: FAULT_SITE as u32,
                    kind: TrapKind::MemoryOutOfBounds,
                    wasm_offset: 7,
                }],
                ..Default::default()
            };
            let layout = meta.validate(bytes.len()).unwrap();
            let code = CodeMemory::new(&bytes).unwrap();
            let module = Module {
                inner: Arc::new(ModuleInner { meta, layout, code }),
            };
            let mut store = Store::new();
            store.instantiate(&module, &[]).unwrap();
            let state = store.inner() as *const StoreInner as usize;
            let raise = wasmprecomp_rt_raise as *const () as usize;
            Fixture {
                store,
                module,
                vmctx: [state, raise, 0, 1000],
            }
        }

        fn state(&self) -> *mut u8 {
            self.store.inner() as *const StoreInner as *mut u8
        }

        /// The store word at `offset`.
        fn word(&self, offset: u32) -> usize {
            // SAFETY: the store's state is live and holds a word at each of the offsets the
            // routines use.
            unsafe { *(self.state().add(offset as usize) as *const usize) }
        }

        fn set_word(&mut self, offset: u32, value: usize) {
            // SAFETY: as in `word`; nothing else uses the state now.
            unsafe { *(self.state().add(offset as usize) as *mut usize) = value }
        }

        fn code(&self, offset: usize) -> usize {
            self.module.inner.code.base() as usize + offset
        }

        /// Enters `func` through the trampoline with `arg` in slot 0: the entry's result,
        /// the mask of registers the harness found changed, and slot 0 afterwards.
        fn enter(&mut self, func: usize, arg: u64) -> (u64, u64, u64) {
            let mut values = [arg as u128];
            let mut out = [u64::MAX; 2];
            let running = Running::enter(self.state() as *const StoreInner);
            // SAFETY: the trampoline and the function are the code above, which follows
            // the protocol; the VM context's header names this store and the raise
            // routine; `values` has the one slot the code uses.
            unsafe {
                wasmprecomp_test_enter_checked(
                    self.state(),
                    self.code(TRAMPOLINE) as *const u8,
                    self.vmctx.as_mut_ptr() as *mut u8,
                    self.code(func) as *const u8,
                    values.as_mut_ptr(),
                    &mut out,
                )
            };
            drop(running);
            (out[0] & 0xffff_ffff, out[1], values[0] as u64)
        }
    }

    #[test]
    fn the_entry_returns_0_with_the_result_in_the_value_array_and_callee_saved_registers_kept() {
        let mut f = Fixture::new();
        let (status, changed, result) = f.enter(ADD, 41);
        assert_eq!(status, 0);
        assert_eq!(changed, 0, "registers changed: {changed:#x}");
        assert_eq!(result, 1041);
        assert_eq!(f.word(STORE_ENTRY_SP), 0);
    }

    #[test]
    fn a_raise_returns_1_from_the_entry_with_the_trap_pc_and_callee_saved_registers_kept() {
        let mut f = Fixture::new();
        // As if an outer entry were running: the inner one must put its value back.
        f.set_word(STORE_ENTRY_SP, 0x1234_5670);
        let (status, changed, _) = f.enter(RAISE, 0);
        assert_eq!(status, 1);
        assert_eq!(changed, 0, "registers changed: {changed:#x}");
        assert_eq!(f.word(STORE_TRAP_PC), f.code(RAISE_SITE));
        assert_eq!(f.word(STORE_ENTRY_SP), 0x1234_5670);
        f.set_word(STORE_ENTRY_SP, 0);
        // The entry still works after a raise.
        assert_eq!(f.enter(ADD, 1), (0, 0, 1001));
    }

    #[test]
    fn a_guard_page_fault_at_a_memory_access_site_raises_with_the_faulting_pc() {
        let mut f = Fixture::new();
        let m = f.store.new_memory(1, None).unwrap();
        let past_end = f.store.memory_data(m).as_ptr() as u64 + 65536;
        let (status, changed, _) = f.enter(FAULT, past_end);
        assert_eq!(status, 1);
        assert_eq!(changed, 0, "registers changed: {changed:#x}");
        assert_eq!(f.word(STORE_TRAP_PC), f.code(FAULT_SITE));
        assert_eq!(f.word(STORE_ENTRY_SP), 0);
        // The thread's next fault-free entry is unaffected.
        assert_eq!(f.enter(ADD, 2), (0, 0, 1002));
    }
}

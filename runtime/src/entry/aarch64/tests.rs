//! The aarch64 routines run against hand-assembled code, before the code generator
//! emits any.
//!
//! First the routines alone: an array-to-wasm trampoline and three functions shaped as
//! compiled code is (a frame with the VM context at `[x29 - 8]`): one returns a value,
//! one raises a trap as a trap stub does, one faults at a memory access site in a
//! memory's guard region. Each function first overwrites every callee-saved register,
//! and the entry is called from an assembly harness that fills those registers with
//! known values before and compares them after, so a register the routines fail to
//! restore is named by its bit in the harness's mask.
//!
//! Then a whole module of hand-assembled code through the store's public API: a function
//! that calls its host import through the VM context, one that traps, and the trampolines
//! of their signature, laid out as the protocol says (the wasm-to-host trampoline's frame
//! is what the host callback walks to find the calling instance).

use crate::entry::wasmprecomp_rt_raise;
use crate::fault::Running;
use crate::module::{CodeMemory, Module, ModuleInner};
use crate::store::StoreInner;
use crate::{Extern, FuncType, Instance, Store, Trap, Val, ValType};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use wasmprecomp_artifact::{
    Export, ExternKind, FunctionCode, Import, ImportKind, ModuleMeta, Trampolines, TrapKind,
    TrapSite, FUNCREF_CODE, FUNCREF_VMCTX, HOSTCTX_CALLBACK, STORE_ENTRY_SP, STORE_TRAP_PC,
    VMCTX_RAISE,
};

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
        let meta = ModuleMeta {
            traps: vec![TrapSite {
                text_offset: FAULT_SITE as u32,
                kind: TrapKind::MemoryOutOfBounds,
                wasm_offset: 7,
            }],
            ..Default::default()
        };
        let module = module_of(&CODE, meta);
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

/// A module's `.text`, checked as `CODE` is: two functions of type `() -> i32` and that
/// type's trampolines, each 16-byte aligned.
const MODULE_CODE: [u32; 44] = [
    // RUN
    0xa9bf7bfd, // 0x00: stp x29, x30, [sp, #-16]!
    0x910003fd, // 0x04: mov x29, sp
    0xd10043ff, // 0x08: sub sp, sp, #0x10
    0xf81f83a0, // 0x0c: stur x0, [x29, #-8]
    0xf9401010, // 0x10: ldr x16, [x0, #32]
    0xf9401400, // 0x14: ldr x0, [x0, #40]
    0xd63f0200, // 0x18: blr x16
    0x11000400, // 0x1c: add w0, w0, #0x1
    0x910003bf, // 0x20: mov sp, x29
    0xa8c17bfd, // 0x24: ldp x29, x30, [sp], #16
    0xd65f03c0, // 0x28: ret
    0xd503201f, // 0x2c: nop
    // UNREACHABLE
    0xa9bf7bfd, // 0x30: stp x29, x30, [sp, #-16]!
    0x910003fd, // 0x34: mov x29, sp
    0xd10043ff, // 0x38: sub sp, sp, #0x10
    0xf81f83a0, // 0x3c: stur x0, [x29, #-8]
    0xf85f83a0, // 0x40: ldur x0, [x29, #-8]
    0xf9400410, // 0x44: ldr x16, [x0, #8]
    0xd63f0200, // 0x48: blr x16
    // UNREACHABLE_SITE
    0xd4200000, // 0x4c: brk #0x0
    // ARRAY_TO_WASM
    0xa9be7bfd, // 0x50: stp x29, x30, [sp, #-32]!
    0x910003fd, // 0x54: mov x29, sp
    0xf9000be2, // 0x58: str x2, [sp, #16]
    0xd63f0020, // 0x5c: blr x1
    0xf9400be2, // 0x60: ldr x2, [sp, #16]
    0xf9000040, // 0x64: str x0, [x2]
    0xa8c27bfd, // 0x68: ldp x29, x30, [sp], #32
    0xd65f03c0, // 0x6c: ret
    // WASM_TO_HOST
    0xa9bf7bfd, // 0x70: stp x29, x30, [sp, #-16]!
    0x910003fd, // 0x74: mov x29, sp
    0xa9bf03e8, // 0x78: stp x8, x0, [sp, #-16]!
    0xd10043ff, // 0x7c: sub sp, sp, #0x10
    0x910003e1, // 0x80: mov x1, sp
    0xf9401010, // 0x84: ldr x16, [x0, #32]
    0xd63f0200, // 0x88: blr x16
    0x350000a0, // 0x8c: cbnz w0, 0xa0 (host_failed)
    0xb94003e0, // 0x90: ldr w0, [sp]
    0x910003bf, // 0x94: mov sp, x29
    0xa8c17bfd, // 0x98: ldp x29, x30, [sp], #16
    0xd65f03c0, // 0x9c: ret
    // HOST_FAILED
    0xf85f83a0, // 0xa0: ldur x0, [x29, #-8]
    0xf9400410, // 0xa4: ldr x16, [x0, #8]
    0xd63f0200, // 0xa8: blr x16
    // HOST_FAILED_SITE
    0xd4200000, // 0xac: brk #0x0
];
/// Reads the word at `[vmctx + 32]` and `[vmctx + 40]`: the code and VM context of the
/// import's function reference.
const IMPORT_CODE_SLOT: u32 = 32;
/// Where `UNREACHABLE` sits and the return address of its call to the raise routine.
const UNREACHABLE: u32 = 0x30;
const UNREACHABLE_SITE: u32 = 0x4c;

/// The module: imports `host.f: () -> i32`; exports `run` (function 1: the import's result
/// plus one) and `unreachable` (function 2: an `Unreachable` trap at wasm offset 0x2a).
fn module_of_hand_assembled_code() -> Module {
    let func = |name: &str, index| Export {
        name: name.into(),
        kind: ExternKind::Func,
        index,
    };
    let meta = ModuleMeta {
        types: vec![i32_result()],
        imports: vec![Import {
            module: "host".into(),
            name: "f".into(),
            kind: ImportKind::Func(0),
        }],
        functions: vec![0, 0, 0],
        num_imported_funcs: 1,
        exports: vec![func("run", 1), func("unreachable", 2)],
        code: vec![
            FunctionCode {
                text_offset: 0,
                len: 0x2c,
            },
            FunctionCode {
                text_offset: UNREACHABLE,
                len: 0x20,
            },
        ],
        trampolines: vec![Trampolines {
            array_to_wasm: 0x50,
            wasm_to_host: 0x70,
        }],
        traps: vec![TrapSite {
            text_offset: UNREACHABLE_SITE,
            kind: TrapKind::Unreachable,
            wasm_offset: 0x2a,
        }],
        ..Default::default()
    };
    let module = module_of(&MODULE_CODE, meta);
    // The offsets encoded in the words above.
    let import = module.inner.layout.func_ref(0);
    assert_eq!(import + FUNCREF_CODE, IMPORT_CODE_SLOT);
    assert_eq!(import + FUNCREF_VMCTX, IMPORT_CODE_SLOT + 8);
    assert_eq!((HOSTCTX_CALLBACK, VMCTX_RAISE), (32, 8));
    module
}

/// A module of `words` as its `.text` and `meta` (validated against it), mapped as the
/// loader maps an artifact's code.
fn module_of(words: &[u32], meta: ModuleMeta) -> Module {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let layout = meta.validate(bytes.len()).unwrap();
    let code = CodeMemory::new(&bytes).unwrap();
    Module {
        inner: Arc::new(ModuleInner {
            meta,
            layout,
            code,
            interruption: crate::Interruption::NONE,
        }),
    }
}

fn i32_result() -> FuncType {
    FuncType {
        params: vec![],
        results: vec![ValType::I32],
    }
}

#[test]
fn a_module_of_hand_assembled_code_calls_its_host_import_and_traps_through_the_store() {
    let module = module_of_hand_assembled_code();
    let mut store = Store::new();
    let callers: Arc<Mutex<Vec<Option<Instance>>>> = Arc::default();
    let fail = Arc::new(AtomicBool::new(false));
    let (seen, failing) = (callers.clone(), fail.clone());
    let f = store.new_func(
        i32_result(),
        Arc::new(move |caller, _| {
            seen.lock().unwrap().push(caller.instance());
            if failing.load(Ordering::SeqCst) {
                return Err(Trap::host("the host refused"));
            }
            Ok(vec![Val::I32(41)])
        }),
    );
    let instance = store.instantiate(&module, &[Extern::Func(f)]).unwrap();
    let run = store.get_func(instance, "run").unwrap();
    assert_eq!(store.call(run, &[]), Ok(vec![Val::I32(42)]));
    assert_eq!(*callers.lock().unwrap(), [Some(instance)]);

    fail.store(true, Ordering::SeqCst);
    let e = store.call(run, &[]).unwrap_err();
    assert_eq!(e.kind, TrapKind::HostError);
    assert_eq!(e.message.as_deref(), Some("the host refused"));

    let unreachable = store.get_func(instance, "unreachable").unwrap();
    let e = store.call(unreachable, &[]).unwrap_err();
    assert_eq!(
        (e.kind, e.wasm_offset, e.func),
        (TrapKind::Unreachable, Some(0x2a), Some(2))
    );

    fail.store(false, Ordering::SeqCst);
    assert_eq!(store.call(run, &[]), Ok(vec![Val::I32(42)]));
    assert_eq!(callers.lock().unwrap().len(), 3);
}

//! The runtime functions compiled code calls through its VM context's libcall table.
//!
//! The table and its `extern "C"` entry points are generated from `artifact`'s list
//! ([`wasmprecomp_artifact::foreach_libcall!`]): each entry point finds the store and the
//! calling instance from the VM context and calls the function of the same name below
//! with the list's parameters. A function whose Rust signature differs from the list (`I32`
//! is `u32`, `I64` is `u64`, a `status` result is `Result<(), TrapKind>`) does not compile.

use super::StoreInner;
use crate::Trap;
use wasmprecomp_artifact::{TrapKind, NUM_LIBCALLS, VMCTX_INSTANCE, VMCTX_STORE};

/// Function addresses in [`wasmprecomp_artifact::Libcall`] order.
struct LibcallTable([*const (); NUM_LIBCALLS as usize]);
// SAFETY: an immutable table of function addresses.
unsafe impl Sync for LibcallTable {}

macro_rules! libcall_table {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $index:literal => $name:ident ( $($param:ident : $kind:ident),* ) $(-> $res:ident)? ;
    )*) => {
        /// The entry points compiled code calls.
        mod entry {
            use super::*;
            $(
                $(#[$doc])*
                ///
                /// # Safety
                ///
                /// `vmctx` must meet [`resolve`]'s contract and the indices be valid in its
                /// module, as compiled code calling through the table ensures.
                pub(super) unsafe extern "C" fn $name(
                    vmctx: *mut u8
                    $(, $param: libcall_table!(@rust $kind))*
                ) $(-> libcall_table!(@rust $res))? {
                    // SAFETY: this function's contract.
                    let (store, inst) = unsafe { resolve(vmctx) };
                    let r = super::$name(store, inst $(, $param)*);
                    libcall_table!(@ret store, r $(, $res)?)
                }
            )*
        }

        static LIBCALLS: LibcallTable = LibcallTable([$(entry::$name as *const ()),*]);
    };
    (@rust I32) => { u32 };
    (@rust I64) => { u64 };
    (@rust status) => { u32 };
    (@ret $store:ident, $r:ident, status) => { status($store, $r) };
    (@ret $store:ident, $r:ident $(, $res:ident)?) => { $r };
}

wasmprecomp_artifact::foreach_libcall!(libcall_table);

/// The address of the libcall table, for VM contexts.
pub(crate) fn table() -> usize {
    LIBCALLS.0.as_ptr() as usize
}

/// The store state and the instance index behind a VM context.
///
/// # Safety
///
/// `vmctx` must be the VM context of a live instance, as compiled code passes it to a
/// libcall, and the state must not be referenced elsewhere while the result is used.
unsafe fn resolve<'a>(vmctx: *mut u8) -> (&'a mut StoreInner, usize) {
    // SAFETY: a VM context starts with the store pointer and keeps the instance index in
    // its runtime-private word (the caller's promise that it is one); the state is live
    // while its compiled code runs and nothing else references it during a libcall.
    unsafe {
        let store = *(vmctx.add(VMCTX_STORE as usize) as *const *mut StoreInner);
        let index = *(vmctx.add(VMCTX_INSTANCE as usize) as *const u64) as usize;
        (&mut *store, index)
    }
}

/// The status result for `r`: 0, or 1 after recording the trap for compiled code to raise.
fn status(store: &mut StoreInner, r: Result<(), TrapKind>) -> u32 {
    match r {
        Ok(()) => 0,
        Err(k) => {
            store.pending = Some(Trap::new(k));
            1
        }
    }
}

fn memory_grow(store: &mut StoreInner, inst: usize, mem: u32, delta: u32) -> u32 {
    let m = store.instances[inst].memories[mem as usize];
    match store.grow_memory(m, delta as u64) {
        Some(old) => old as u32,
        None => u32::MAX,
    }
}

fn memory_copy(
    store: &mut StoreInner,
    inst: usize,
    dst_mem: u32,
    src_mem: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> Result<(), TrapKind> {
    let i = &store.instances[inst];
    let (dm, sm) = (i.memories[dst_mem as usize], i.memories[src_mem as usize]);
    store.memory_copy(dm, sm, dst, src, len)
}

fn memory_fill(
    store: &mut StoreInner,
    inst: usize,
    mem: u32,
    dst: u32,
    val: u32,
    len: u32,
) -> Result<(), TrapKind> {
    let m = store.instances[inst].memories[mem as usize];
    store.memory_mut(m).fill(dst, val as u8, len)
}

fn memory_init(
    store: &mut StoreInner,
    inst: usize,
    mem: u32,
    data: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> Result<(), TrapKind> {
    store.memory_init(inst, mem, data, dst, src, len)
}

fn data_drop(store: &mut StoreInner, inst: usize, data: u32) {
    store.data_drop(inst, data);
}

fn table_grow(store: &mut StoreInner, inst: usize, table: u32, init: u64, delta: u32) -> u32 {
    let t = store.instances[inst].tables[table as usize];
    match store.grow_table(t, delta as u64, init) {
        Some(old) => old as u32,
        None => u32::MAX,
    }
}

fn table_fill(
    store: &mut StoreInner,
    inst: usize,
    table: u32,
    dst: u32,
    val: u64,
    len: u32,
) -> Result<(), TrapKind> {
    let t = store.instances[inst].tables[table as usize];
    store.table_mut(t).fill(dst, val, len)
}

fn table_copy(
    store: &mut StoreInner,
    inst: usize,
    dst_table: u32,
    src_table: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> Result<(), TrapKind> {
    let i = &store.instances[inst];
    let (dt, st) = (i.tables[dst_table as usize], i.tables[src_table as usize]);
    store.table_copy(dt, st, dst, src, len)
}

fn table_init(
    store: &mut StoreInner,
    inst: usize,
    table: u32,
    elem: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> Result<(), TrapKind> {
    store.table_init(inst, table, elem, dst, src, len)
}

fn elem_drop(store: &mut StoreInner, inst: usize, elem: u32) {
    store.elem_drop(inst, elem);
}

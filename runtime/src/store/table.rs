//! Tables: the descriptor compiled code reads, the elements behind it, and the host API.

use super::{Slot, StoreData, StoreInner};
use crate::Val;
use std::ptr::NonNull;
use wasmprecomp_artifact::{TrapKind, ValType, VMTABLE_BASE, VMTABLE_LEN};

indexed_handle! {
    /// A table of a store.
    Table
}

/// The most elements a table may have here, when it is created or grown.
pub(crate) const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table descriptor as compiled code reads it.
#[repr(C)]
pub(crate) struct VMTable {
    pub base: *mut u64,
    /// In elements.
    pub len: u64,
}

const _: () = {
    assert!(std::mem::offset_of!(VMTable, base) == VMTABLE_BASE as usize);
    assert!(std::mem::offset_of!(VMTable, len) == VMTABLE_LEN as usize);
};

/// A table: its elements (function reference addresses or externref values, 0 = null)
/// and the descriptor that points at them.
pub(crate) struct TableInstance {
    /// The descriptor compiled code reads; only this table writes it.
    vm: Slot<VMTable>,
    pub elems: Vec<u64>,
    pub max: Option<u64>,
    pub elem: ValType,
}

impl TableInstance {
    /// A table of `min` elements set to `init`, whose descriptor it owns.
    pub(crate) fn new_host(elem: ValType, min: u64, max: Option<u64>, init: u64) -> TableInstance {
        let vm = Slot::owned(VMTable {
            base: std::ptr::null_mut(),
            len: 0,
        });
        TableInstance::new(vm, elem, min, max, init)
    }

    /// A table of `min` null elements whose descriptor is the VM-context slot `vm`.
    ///
    /// # Safety
    ///
    /// `vm` must be valid for writes for as long as the returned table is used, and
    /// written by nothing but this table (compiled code only reads it).
    pub(crate) unsafe fn in_vmctx(
        vm: NonNull<VMTable>,
        elem: ValType,
        min: u64,
        max: Option<u64>,
    ) -> Result<TableInstance, String> {
        if min > MAX_TABLE_ELEMENTS {
            return Err(format!(
                "table minimum of {min} elements exceeds this runtime's limit of {MAX_TABLE_ELEMENTS}"
            ));
        }
        // SAFETY: the caller's promise.
        Ok(TableInstance::new(
            unsafe { Slot::in_vmctx(vm) },
            elem,
            min,
            max,
            0,
        ))
    }

    fn new(
        vm: Slot<VMTable>,
        elem: ValType,
        min: u64,
        max: Option<u64>,
        init: u64,
    ) -> TableInstance {
        let mut t = TableInstance {
            vm,
            elems: vec![init; min as usize],
            max,
            elem,
        };
        t.sync();
        t
    }

    /// Points the descriptor at the elements; after every change of their length.
    fn sync(&mut self) {
        // SAFETY: the slot is valid and only this table writes it.
        unsafe {
            *self.vm.as_ptr() = VMTable {
                base: self.elems.as_mut_ptr(),
                len: self.elems.len() as u64,
            }
        }
    }

    /// The descriptor's address, for the VM contexts that import the table.
    pub(crate) fn descriptor(&self) -> *mut VMTable {
        self.vm.as_ptr()
    }

    /// Grows by `delta` elements set to `init`; the old size.
    pub(crate) fn grow(&mut self, delta: u64, init: u64) -> Option<u64> {
        let old = self.elems.len() as u64;
        let new = old.checked_add(delta)?;
        if new > self.max.unwrap_or(u32::MAX as u64).min(u32::MAX as u64)
            || new > MAX_TABLE_ELEMENTS
        {
            return None;
        }
        self.elems.resize(new as usize, init);
        self.sync();
        Some(old)
    }

    /// `table.fill`.
    pub(crate) fn fill(&mut self, dst: u32, val: u64, len: u32) -> Result<(), TrapKind> {
        let (d, n) = (dst as usize, len as usize);
        if d + n > self.elems.len() {
            return Err(TrapKind::TableOutOfBounds);
        }
        self.elems[d..d + n].fill(val);
        Ok(())
    }

    /// Copies `items[src..src + len]` to `dst` (`table.init`, active element segments).
    pub(crate) fn init(
        &mut self,
        dst: u32,
        items: &[u64],
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        let (d, s, n) = (dst as usize, src as usize, len as usize);
        if s + n > items.len() || d + n > self.elems.len() {
            return Err(TrapKind::TableOutOfBounds);
        }
        self.elems[d..d + n].copy_from_slice(&items[s..s + n]);
        Ok(())
    }
}

impl StoreInner {
    /// Adds `t`; its handle.
    pub(crate) fn push_table(&mut self, t: TableInstance) -> Table {
        self.tables.push(t);
        Table {
            store: self.id,
            index: self.tables.len() as u32 - 1,
        }
    }

    /// The table `t` names.
    #[track_caller]
    pub(crate) fn table(&self, t: Table) -> &TableInstance {
        self.check(t);
        &self.tables[t.index as usize]
    }

    /// The table `t` names, which one of this store's instances holds: not checked again.
    pub(crate) fn table_mut(&mut self, t: Table) -> &mut TableInstance {
        debug_assert!(t.store == self.id);
        &mut self.tables[t.index as usize]
    }

    /// `table.copy` between two tables of this store (the same one or two), which one of
    /// its instances holds.
    pub(crate) fn table_copy(
        &mut self,
        dt: Table,
        st: Table,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        debug_assert!(dt.store == self.id && st.store == self.id);
        let (di, si) = (dt.index as usize, st.index as usize);
        let (d, s, n) = (dst as usize, src as usize, len as usize);
        if s + n > self.tables[si].elems.len() || d + n > self.tables[di].elems.len() {
            return Err(TrapKind::TableOutOfBounds);
        }
        if di == si {
            self.tables[di].elems.copy_within(s..s + n, d);
        } else {
            let (dt, st) = super::pair_mut(&mut self.tables, di, si);
            dt.elems[d..d + n].copy_from_slice(&st.elems[s..s + n]);
        }
        Ok(())
    }
}

impl StoreData {
    /// Creates a host table of `min` elements set to `init`, growable to `max`.
    ///
    /// # Panics
    ///
    /// When `init` is not of type `elem`, or is a function of another store.
    #[track_caller]
    pub fn new_table(&mut self, elem: ValType, min: u64, max: Option<u64>, init: Val) -> Table {
        let inner = self.inner_mut();
        if init.ty() != elem {
            panic!("a table of {elem:?} cannot be filled with {init:?}");
        }
        inner.check_val(&init);
        let t = TableInstance::new_host(elem, min, max, init.to_bits() as u64);
        inner.push_table(t)
    }

    /// The number of elements of a table.
    ///
    /// # Panics
    ///
    /// When `t` comes from another store (as every method here that takes a handle).
    #[track_caller]
    pub fn table_size(&self, t: Table) -> u64 {
        self.inner().table(t).elems.len() as u64
    }

    /// Element `i` of a table, or `None` past its end.
    #[track_caller]
    pub fn table_get(&self, t: Table, i: u64) -> Option<Val> {
        let inner = self.inner();
        let t = inner.table(t);
        t.elems.get(i as usize).map(|b| {
            // SAFETY: a function table holds function references of its store only: the
            // host API checks what it stores, compiled code stores its own store's.
            unsafe { Val::from_bits(t.elem, *b as u128, inner.id) }
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{FuncType, Store, Val, ValType};
    use std::sync::Arc;

    #[test]
    fn host_tables_hold_their_initial_value() {
        let mut store = Store::new();
        let ty = FuncType::default();
        let f = store.new_func(ty, Arc::new(|_, _| Ok(vec![])));
        let t = store.new_table(ValType::FuncRef, 3, None, Val::FuncRef(Some(f)));
        assert_eq!(store.table_size(t), 3);
        assert_eq!(store.table_get(t, 2), Some(Val::FuncRef(Some(f))));
        assert_eq!(store.table_get(t, 3), None);
    }

    #[test]
    #[should_panic(expected = "a table of FuncRef cannot be filled with ExternRef(Some(5))")]
    fn a_function_table_refuses_an_externref_initial_value() {
        Store::new().new_table(ValType::FuncRef, 1, None, Val::ExternRef(Some(5)));
    }

    #[test]
    #[should_panic(expected = "Func handle used with a store other than the one that created it")]
    fn a_table_refuses_another_stores_function_as_initial_value() {
        let mut a = Store::new();
        let f = a.new_func(FuncType::default(), Arc::new(|_, _| Ok(vec![])));
        Store::new().new_table(ValType::FuncRef, 1, None, Val::FuncRef(Some(f)));
    }

    /// A store, and a table of another store.
    fn foreign_table() -> (Store, crate::Table) {
        let mut a = Store::new();
        let t = a.new_table(ValType::ExternRef, 1, None, Val::ExternRef(None));
        (Store::new(), t)
    }

    #[test]
    #[should_panic(expected = "Table handle used with a store other than the one that created it")]
    fn table_size_of_another_stores_table_panics() {
        let (b, t) = foreign_table();
        b.table_size(t);
    }

    #[test]
    #[should_panic(expected = "Table handle used with a store other than the one that created it")]
    fn table_get_of_another_stores_table_panics() {
        let (b, t) = foreign_table();
        b.table_get(t, 0);
    }
}

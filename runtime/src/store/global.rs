//! Globals: the cell compiled code reads and writes, and the host API.

use super::{Slot, StoreData, StoreInner};
use crate::Val;
use std::ptr::NonNull;
use wasmprecomp_artifact::GlobalType;

indexed_handle! {
    /// A global of a store.
    Global
}

/// A global: its value's cell (16 bytes, like a VM-context global slot).
pub(crate) struct GlobalInstance {
    cell: Slot<[u64; 2]>,
    pub ty: GlobalType,
}

impl GlobalInstance {
    /// A global whose cell it owns, holding `bits`.
    pub(crate) fn new_host(ty: GlobalType, bits: u128) -> GlobalInstance {
        GlobalInstance {
            cell: Slot::owned([bits as u64, (bits >> 64) as u64]),
            ty,
        }
    }

    /// A global whose cell is the VM-context slot `cell`.
    ///
    /// # Safety
    ///
    /// `cell` must be valid for reads and writes for as long as the returned global is
    /// used.
    pub(crate) unsafe fn in_vmctx(cell: NonNull<[u64; 2]>, ty: GlobalType) -> GlobalInstance {
        GlobalInstance {
            // SAFETY: the caller's promise.
            cell: unsafe { Slot::in_vmctx(cell) },
            ty,
        }
    }

    /// The cell's address, for the VM contexts that import the global.
    pub(crate) fn cell(&self) -> *mut u64 {
        self.cell.as_ptr() as *mut u64
    }

    /// The raw value (a `v128` fills the 16-byte cell, other values its low half).
    pub(crate) fn bits(&self) -> u128 {
        // SAFETY: the cell is valid while the global lives; compiled code does not run
        // while the host reads it.
        let [lo, hi] = unsafe { *self.cell.as_ptr() };
        lo as u128 | (hi as u128) << 64
    }

    fn set_bits(&self, bits: u128) {
        // SAFETY: as in `bits`.
        unsafe { *self.cell.as_ptr() = [bits as u64, (bits >> 64) as u64] }
    }
}

impl StoreInner {
    /// Adds `g`; its handle.
    pub(crate) fn push_global(&mut self, g: GlobalInstance) -> Global {
        self.globals.push(g);
        Global {
            store: self.id,
            index: self.globals.len() as u32 - 1,
        }
    }

    /// The global `g` names.
    #[track_caller]
    pub(crate) fn global(&self, g: Global) -> &GlobalInstance {
        self.check(g);
        &self.globals[g.index as usize]
    }

    /// Panics unless `v` fits a global of type `ty` in this store.
    #[track_caller]
    fn check_global_value(&self, ty: GlobalType, v: &Val) {
        if v.ty() != ty.ty {
            panic!("a global of type {:?} cannot hold {v:?}", ty.ty);
        }
        self.check_val(v);
    }
}

impl StoreData {
    /// Creates a host global holding `value`.
    ///
    /// # Panics
    ///
    /// When `value` is not of type `ty.ty`, or is a function of another store.
    #[track_caller]
    pub fn new_global(&mut self, ty: GlobalType, value: Val) -> Global {
        let inner = self.inner_mut();
        inner.check_global_value(ty, &value);
        inner.push_global(GlobalInstance::new_host(ty, value.to_bits()))
    }

    /// The value of a global.
    ///
    /// # Panics
    ///
    /// When `g` comes from another store (as every method here that takes a handle).
    #[track_caller]
    pub fn global_get(&self, g: Global) -> Val {
        let inner = self.inner();
        let gi = inner.global(g);
        // SAFETY: a reference-typed global holds function references of its store only:
        // the host API checks what it stores, compiled code stores its own store's.
        unsafe { Val::from_bits(gi.ty.ty, gi.bits(), inner.id) }
    }

    /// Sets the value of a global (mutable or not: the host may).
    ///
    /// # Panics
    ///
    /// Also when `v` is not of the global's type, or is a function of another store.
    #[track_caller]
    pub fn global_set(&mut self, g: Global, v: Val) {
        let inner = self.inner();
        let gi = inner.global(g);
        inner.check_global_value(gi.ty, &v);
        gi.set_bits(v.to_bits());
    }

    #[track_caller]
    pub fn global_type(&self, g: Global) -> GlobalType {
        self.inner().global(g).ty
    }
}

#[cfg(test)]
mod tests {
    use crate::{FuncType, GlobalType, Store, Val, ValType};
    use std::sync::Arc;

    const I32_VAR: GlobalType = GlobalType {
        ty: ValType::I32,
        mutable: true,
    };

    #[test]
    fn host_globals_keep_what_is_set() {
        let mut store = Store::new();
        let g = store.new_global(I32_VAR, Val::I32(1));
        store.global_set(g, Val::I32(2));
        assert_eq!(store.global_get(g), Val::I32(2));
        assert_eq!(store.global_type(g), I32_VAR);
    }

    #[test]
    #[should_panic(expected = "a global of type FuncRef cannot hold ExternRef(Some(5))")]
    fn a_function_global_refuses_an_externref() {
        let mut store = Store::new();
        let ty = GlobalType {
            ty: ValType::FuncRef,
            mutable: true,
        };
        let g = store.new_global(ty, Val::FuncRef(None));
        store.global_set(g, Val::ExternRef(Some(5)));
    }

    #[test]
    #[should_panic(expected = "a global of type I64 cannot hold I32(1)")]
    fn a_new_global_refuses_a_value_of_another_type() {
        let ty = GlobalType {
            ty: ValType::I64,
            mutable: false,
        };
        Store::new().new_global(ty, Val::I32(1));
    }

    #[test]
    #[should_panic(expected = "Func handle used with a store other than the one that created it")]
    fn a_global_refuses_another_stores_function() {
        let mut a = Store::new();
        let f = a.new_func(FuncType::default(), Arc::new(|_, _| Ok(vec![])));
        let mut b = Store::new();
        let ty = GlobalType {
            ty: ValType::FuncRef,
            mutable: true,
        };
        let g = b.new_global(ty, Val::FuncRef(None));
        b.global_set(g, Val::FuncRef(Some(f)));
    }

    #[test]
    #[should_panic(expected = "Func handle used with a store other than the one that created it")]
    fn a_new_global_refuses_another_stores_function() {
        let mut a = Store::new();
        let f = a.new_func(FuncType::default(), Arc::new(|_, _| Ok(vec![])));
        let ty = GlobalType {
            ty: ValType::FuncRef,
            mutable: false,
        };
        Store::new().new_global(ty, Val::FuncRef(Some(f)));
    }

    /// A store, and a global of another store.
    fn foreign_global() -> (Store, crate::Global) {
        let mut a = Store::new();
        let g = a.new_global(I32_VAR, Val::I32(1));
        (Store::new(), g)
    }

    #[test]
    #[should_panic(expected = "Global handle used with a store other than the one that created it")]
    fn global_get_of_another_stores_global_panics() {
        let (b, g) = foreign_global();
        b.global_get(g);
    }

    #[test]
    #[should_panic(expected = "Global handle used with a store other than the one that created it")]
    fn global_set_of_another_stores_global_panics() {
        let (mut b, g) = foreign_global();
        b.global_set(g, Val::I32(2));
    }

    #[test]
    #[should_panic(expected = "Global handle used with a store other than the one that created it")]
    fn global_type_of_another_stores_global_panics() {
        let (b, g) = foreign_global();
        b.global_type(g);
    }
}

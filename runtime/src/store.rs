//! The store: owns the instances, memories, tables, globals and host functions of a group
//! of instances, and hands out handles to them.
//!
//! Its children, each using only this module's items and those of the children listed
//! before it:
//!
//! - [`func`]: function handles, host functions and the callback compiled code enters them
//!   through.
//! - [`memory`], [`table`], [`global`]: the entities and their host API.
//! - [`call`]: calls into compiled code, and traps back to errors.
//! - [`instance`]: instance handles, exports, and the segment operations of an instance.
//! - [`libcalls`]: the runtime functions compiled code calls, their table generated from
//!   the list in `artifact`.
//! - [`interrupt`]: the engine's epoch, a store's fuel and epoch deadline.
//! - [`limits`]: the resource limiter asked before memories and tables grow.
//! - [`instantiate`]: linking, VM-context setup, segments and the start function.
//! - [`typed`]: host functions from Rust closures and typed calls.
//!
//! What keeps the safe API sound:
//!
//! - Everything compiled code reaches lives at a stable address that the store's state
//!   ([`StoreInner`]) owns until it drops: VM contexts, memory and table descriptors, global
//!   cells, host-function contexts. Nothing is freed while the store lives.
//! - Every handle carries the [`StoreId`] of the store that created it, and every API that
//!   takes a handle (or a [`Val`] holding one) checks it first: a handle used with another
//!   store panics instead of naming someone else's memory.
//! - [`StoreData`] is only a pointer to the state. Host functions receive `&mut StoreData`,
//!   so they can swap two of them: that swaps which state each one names and nothing else,
//!   and a state whose owner drops while its compiled code runs is freed when the call
//!   ends.
//! - No Rust reference into the state lives across an entry into compiled code: compiled
//!   code, libcalls and host functions reach it through raw pointers while it runs.

/// Defines a handle that names entry `index` of one of a store's entity lists.
macro_rules! indexed_handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            pub(super) store: $crate::store::StoreId,
            pub(super) index: u32,
        }

        impl $crate::store::Handle for $name {
            const KIND: &'static str = stringify!($name);
            fn store_id(self) -> $crate::store::StoreId {
                self.store
            }
        }
    };
}

mod call;
mod func;
mod global;
mod instance;
mod instantiate;
mod interrupt;
mod libcalls;
mod limits;
mod memory;
mod table;
mod typed;

pub use func::{Caller, Func, HostFunc};
pub use global::Global;
pub use instance::{Extern, Instance};
pub use interrupt::Engine;
pub use limits::{ResourceLimiter, StoreLimits};
pub use memory::Memory;
pub use table::Table;
pub use typed::{
    FuncTypeError, HostResult, IntoFunc, TypedFunc, WasmTy, WasmTyList, WithCaller, MAX_TYPED_ARITY,
};

use crate::module::ModuleInner;
use crate::{Trap, Val};
use func::HostFuncCtx;
use global::GlobalInstance;
use instance::InstanceData;
use memory::MemoryInstance;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU64;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use table::TableInstance;
use wasmprecomp_artifact::{
    FuncType, Interruption, STORE_ENTRY_SP, STORE_EPOCH, STORE_EPOCH_DEADLINE, STORE_FUEL,
    STORE_STACK_LIMIT, STORE_TRAP_PC,
};

/// Identifies a store for the life of the process; no two stores share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(NonZeroU64);

impl StoreId {
    fn next() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        // 2^64 stores never happen; wrapping would reuse ids, so refuse it.
        StoreId(NonZeroU64::new(id).expect("store ids exhausted"))
    }
}

/// A handle to something a store owns.
pub(crate) trait Handle: Copy {
    /// What the handle names, for the mismatch message.
    const KIND: &'static str;
    /// The store that created the handle.
    fn store_id(self) -> StoreId;
}

/// The state of a store, at a stable heap address.
#[repr(C)]
pub(crate) struct StoreInner {
    // Read by compiled code and the entry routines: keep first and in this order.
    stack_limit: usize,
    entry_sp: usize,
    trap_pc: usize,
    /// Fuel left (may run below zero between checks).
    fuel: i64,
    epoch_deadline: u64,
    /// The engine's counter (`engine` keeps it alive).
    epoch: *const AtomicU64,
    id: StoreId,
    engine: Engine,
    interruption: Interruption,
    limiter: Option<Box<dyn ResourceLimiter>>,
    /// The trap a libcall or host function recorded before returning its failure status.
    pending: Option<Trap>,
    max_wasm_stack: usize,
    sigs: HashMap<FuncType, u32>,
    sig_types: Vec<FuncType>,
    /// Array-to-wasm trampoline per signature id.
    tramps: Vec<usize>,
    /// Host-function wasm-to-host trampoline per signature id, once some module had one.
    host_tramps: Vec<usize>,
    modules: Vec<Arc<ModuleInner>>,
    instances: Vec<InstanceData>,
    memories: Vec<MemoryInstance>,
    tables: Vec<TableInstance>,
    globals: Vec<GlobalInstance>,
    /// Host contexts, at addresses compiled code and `Func` handles hold.
    host_funcs: Vec<HeapCell<HostFuncCtx>>,
    /// Addresses of the host contexts, to tell host functions from compiled ones.
    host_ctxs: HashSet<usize>,
    /// The `StoreData` of the innermost call running this store's compiled code: what host
    /// functions get as their [`Caller`]'s store. Null when none runs.
    caller: *mut StoreData,
    /// Calls into this store's compiled code that have not returned yet.
    active_calls: usize,
    /// Set when the owning `StoreData` dropped while a call ran; that call frees the state.
    orphaned: bool,
}

const _: () = {
    assert!(std::mem::offset_of!(StoreInner, stack_limit) == STORE_STACK_LIMIT as usize);
    assert!(std::mem::offset_of!(StoreInner, entry_sp) == STORE_ENTRY_SP as usize);
    assert!(std::mem::offset_of!(StoreInner, trap_pc) == STORE_TRAP_PC as usize);
    assert!(std::mem::offset_of!(StoreInner, fuel) == STORE_FUEL as usize);
    assert!(std::mem::offset_of!(StoreInner, epoch_deadline) == STORE_EPOCH_DEADLINE as usize);
    assert!(std::mem::offset_of!(StoreInner, epoch) == STORE_EPOCH as usize);
};

impl StoreInner {
    fn new(engine: &Engine, interruption: Interruption) -> StoreInner {
        StoreInner {
            stack_limit: 0,
            entry_sp: 0,
            trap_pc: 0,
            fuel: 0,
            epoch_deadline: engine.current_epoch(),
            epoch: engine.counter(),
            id: StoreId::next(),
            engine: engine.clone(),
            interruption,
            limiter: None,
            pending: None,
            max_wasm_stack: 1 << 20,
            sigs: HashMap::new(),
            sig_types: Vec::new(),
            tramps: Vec::new(),
            host_tramps: Vec::new(),
            modules: Vec::new(),
            instances: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            host_funcs: Vec::new(),
            host_ctxs: HashSet::new(),
            caller: std::ptr::null_mut(),
            active_calls: 0,
            orphaned: false,
        }
    }

    /// Panics unless `handle` was created by this store.
    #[track_caller]
    pub(crate) fn check<H: Handle>(&self, handle: H) {
        if handle.store_id() != self.id {
            panic!(
                "{} handle used with a store other than the one that created it",
                H::KIND
            );
        }
    }

    /// Panics unless every function reference in `v` was created by this store.
    #[track_caller]
    pub(crate) fn check_val(&self, v: &Val) {
        if let Val::FuncRef(Some(f)) = v {
            self.check(*f);
        }
    }

    /// The store-wide signature id of `ty`.
    fn intern(&mut self, ty: &FuncType) -> u32 {
        if let Some(id) = self.sigs.get(ty) {
            return *id;
        }
        let id = self.sig_types.len() as u32;
        self.sigs.insert(ty.clone(), id);
        self.sig_types.push(ty.clone());
        self.tramps.push(0);
        self.host_tramps.push(0);
        id
    }
}

/// A store's state as host code sees it: [`Store`] derefs to it and host functions get it
/// through their [`Caller`]. All methods that take handles panic when a handle comes from
/// another store.
pub struct StoreData {
    /// Owned: from `Box::leak`, freed on drop (or by the running call, see `orphaned`).
    inner: NonNull<StoreInner>,
}

impl StoreData {
    pub(crate) fn inner(&self) -> &StoreInner {
        // SAFETY: `inner` is live while this `StoreData` owns it; the only other accesses
        // are the raw ones of compiled code, libcalls and host callbacks, which happen
        // while no reference derived from here is in use (see the module docs).
        unsafe { self.inner.as_ref() }
    }

    pub(crate) fn inner_mut(&mut self) -> &mut StoreInner {
        // SAFETY: as in `inner`; `&mut self` makes this the only reference.
        unsafe { self.inner.as_mut() }
    }

    /// The id of the store whose state this is now.
    pub(crate) fn id(&self) -> StoreId {
        self.inner().id
    }

    /// Whether `handle` was created by the store whose state this is.
    pub(crate) fn owns<H: Handle>(&self, handle: H) -> bool {
        handle.store_id() == self.id()
    }

    /// Panics unless `handle` was created by the store whose state this is.
    #[track_caller]
    pub(crate) fn check<H: Handle>(&self, handle: H) {
        self.inner().check(handle);
    }

    /// Bytes of the calling thread's stack compiled code may use.
    pub fn set_max_wasm_stack(&mut self, bytes: usize) {
        self.inner_mut().max_wasm_stack = bytes;
    }
}

impl Drop for StoreData {
    fn drop(&mut self) {
        let inner = self.inner_mut();
        if inner.active_calls > 0 {
            // Only reachable when a host function swapped this data with its caller's:
            // the call still running the state's code frees it when it returns.
            inner.orphaned = true;
            return;
        }
        // SAFETY: the state came from `Box::leak`, this owner is its only one, and no
        // call runs its code any more.
        unsafe { drop(Box::from_raw(self.inner.as_ptr())) }
    }
}

/// Owns all runtime state of a group of instances.
pub struct Store {
    data: StoreData,
}

impl std::ops::Deref for Store {
    type Target = StoreData;
    fn deref(&self) -> &StoreData {
        &self.data
    }
}
impl std::ops::DerefMut for Store {
    fn deref_mut(&mut self) -> &mut StoreData {
        &mut self.data
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store with a new, process-unique id, its own engine and no interruption
    /// checks (for modules compiled without interruption).
    pub fn new() -> Store {
        Store::with_interruption(&Engine::new(), Interruption::NONE)
    }

    /// An empty store that counts epochs in `engine` and runs modules compiled with the
    /// interruption checks `interruption` (`--interruption` when compiling); instantiating
    /// a module compiled with other checks fails. With fuel, the store starts with none
    /// ([`StoreData::set_fuel`]); with epochs, its deadline is the current epoch
    /// ([`StoreData::set_epoch_deadline`]).
    pub fn with_interruption(engine: &Engine, interruption: Interruption) -> Store {
        let inner = Box::new(StoreInner::new(engine, interruption));
        Store {
            data: StoreData {
                inner: NonNull::from(Box::leak(inner)),
            },
        }
    }
}

/// A heap allocation reached only through its raw pointer, freed on drop. Unlike a `Box`,
/// moving the owner asserts nothing about the allocation, so the pointers compiled code
/// and the rest of the store keep into it stay valid.
pub(crate) struct HeapCell<T: ?Sized>(NonNull<T>);

impl<T: ?Sized> HeapCell<T> {
    pub(crate) fn new(value: Box<T>) -> HeapCell<T> {
        HeapCell(NonNull::from(Box::leak(value)))
    }

    pub(crate) fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T: ?Sized> Drop for HeapCell<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` and is freed only here.
        unsafe { drop(Box::from_raw(self.0.as_ptr())) }
    }
}

/// Where an entity keeps the structure compiled code reads (a memory or table descriptor,
/// a global's cell): in a VM context, or in an allocation of its own (host entities).
pub(crate) struct Slot<T> {
    ptr: NonNull<T>,
    _own: Option<HeapCell<T>>,
}

impl<T> Slot<T> {
    /// A slot of its own holding `value`.
    fn owned(value: T) -> Slot<T> {
        let own = HeapCell::new(Box::new(value));
        Slot {
            // SAFETY: a fresh allocation is not null.
            ptr: unsafe { NonNull::new_unchecked(own.as_ptr()) },
            _own: Some(own),
        }
    }

    /// The VM-context slot at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes for as long as the returned slot is used.
    unsafe fn in_vmctx(ptr: NonNull<T>) -> Slot<T> {
        Slot { ptr, _own: None }
    }

    /// The slot's address; valid for reads and writes while the slot lives.
    fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

/// Two distinct elements of `v`, both mutable.
fn pair_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b);
    if a < b {
        let (lo, hi) = v.split_at_mut(b);
        (&mut lo[a], &mut hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(a);
        (&mut hi[0], &mut lo[b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValType;
    use wasmprecomp_artifact::GlobalType;

    #[test]
    fn every_store_gets_its_own_id() {
        let (a, b) = (Store::new(), Store::new());
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn swapping_two_stores_data_swaps_which_state_each_names() {
        let (mut a, mut b) = (Store::new(), Store::new());
        let ga = a.new_global(
            GlobalType {
                ty: ValType::I32,
                mutable: true,
            },
            Val::I32(1),
        );
        let gb = b.new_global(
            GlobalType {
                ty: ValType::I32,
                mutable: true,
            },
            Val::I32(2),
        );
        std::mem::swap(&mut *a, &mut *b);
        assert_eq!(b.global_get(ga), Val::I32(1));
        assert_eq!(a.global_get(gb), Val::I32(2));
    }

    #[test]
    fn pair_mut_returns_the_two_elements_in_argument_order() {
        let mut v = [1, 2, 3];
        let (x, y) = pair_mut(&mut v, 2, 0);
        assert_eq!((*x, *y), (3, 1));
        let (x, y) = pair_mut(&mut v, 0, 1);
        assert_eq!((*x, *y), (1, 2));
    }
}

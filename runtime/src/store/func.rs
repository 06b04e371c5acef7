//! Functions: the handle, the function reference compiled code calls through, and host
//! functions with the callback their wasm-to-host trampolines enter.

use super::{Extern, Handle, HeapCell, Instance, Memory, StoreData, StoreId, StoreInner};
use crate::entry::wasmprecomp_rt_raise;
use crate::{Trap, Val};
use std::sync::Arc;
#[cfg(target_arch = "aarch64")]
use wasmprecomp_artifact::abi::aarch64::VALUE_SLOT;
#[cfg(target_arch = "x86_64")]
use wasmprecomp_artifact::abi::x86_64::VALUE_SLOT;
use wasmprecomp_artifact::{
    FuncType, FUNCREF_CODE, FUNCREF_SIG, FUNCREF_SIZE, FUNCREF_VMCTX, HOSTCTX_CALLBACK,
    VMCTX_RAISE, VMCTX_STORE,
};

/// A function of a store: compiled (an export, an element) or a host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func {
    store: StoreId,
    /// Address of the function's [`VMFuncRef`], owned by that store.
    funcref: usize,
}

impl Handle for Func {
    const KIND: &'static str = "Func";
    fn store_id(self) -> StoreId {
        self.store
    }
}

impl Func {
    /// The handle of the function reference at `funcref`.
    ///
    /// # Safety
    ///
    /// `funcref` must be the address of a [`VMFuncRef`] that the store `store` owns (inside
    /// one of its VM contexts or host contexts), so it lives as long as that store.
    pub(crate) unsafe fn from_raw(store: StoreId, funcref: usize) -> Func {
        Func { store, funcref }
    }

    /// The address of the function's reference: what tables, globals and value arrays
    /// hold.
    pub(crate) fn addr(self) -> usize {
        self.funcref
    }
}

/// Function reference as compiled code sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct VMFuncRef {
    pub code: *const u8,
    pub vmctx: *mut u8,
    pub sig: u64,
}

const _: () = {
    assert!(std::mem::size_of::<VMFuncRef>() == FUNCREF_SIZE as usize);
    assert!(std::mem::offset_of!(VMFuncRef, code) == FUNCREF_CODE as usize);
    assert!(std::mem::offset_of!(VMFuncRef, vmctx) == FUNCREF_VMCTX as usize);
    assert!(std::mem::offset_of!(VMFuncRef, sig) == FUNCREF_SIG as usize);
};

/// A host function: receives the caller's store and the arguments, returns the results.
pub type HostFunc = Arc<dyn Fn(&mut Caller<'_>, &[Val]) -> Result<Vec<Val>, Trap> + Send + Sync>;

/// A typed host function ([`Func::wrap`]): reads its arguments from the value slots and
/// writes its results there (slots as [`Val::to_bits`] holds values; numbers only).
pub(crate) type TypedHostFunc =
    Arc<dyn Fn(&mut Caller<'_>, &mut [u128]) -> Result<(), Trap> + Send + Sync>;

/// What a host context calls.
#[derive(Clone)]
pub(crate) enum HostCallable {
    /// With `Val`s ([`StoreData::new_func`]).
    Untyped(HostFunc),
    /// On the value slots directly.
    Typed(TypedHostFunc),
}

/// What a host function can reach while it runs: the store, and the instance whose
/// compiled code called it.
pub struct Caller<'a> {
    pub store: &'a mut StoreData,
    instance: Option<Instance>,
}

impl<'a> Caller<'a> {
    pub(crate) fn new(store: &'a mut StoreData, instance: Option<Instance>) -> Caller<'a> {
        Caller { store, instance }
    }

    /// The instance whose compiled code made this call, also while that instance's start
    /// function runs (before `instantiate` has returned its handle). `None` when the host
    /// called the function itself (`call` on a host function's handle).
    pub fn instance(&self) -> Option<Instance> {
        self.instance
    }

    /// The calling instance's export `name`.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        self.store.get_export(self.instance?, name)
    }

    /// The calling instance's exported memory `name` (WASI programs export `memory`).
    pub fn get_memory(&self, name: &str) -> Option<Memory> {
        self.store.get_memory(self.instance?, name)
    }
}

/// A host function's context: starts with the same header as a VM context, so the
/// trampolines and the raise routine treat both alike.
#[repr(C)]
pub(crate) struct HostFuncCtx {
    store: *mut StoreInner,
    raise: usize,
    _reserved: [usize; 2],
    callback: usize,
    pub funcref: VMFuncRef,
    pub ty: FuncType,
    /// Value slots a call uses: max(params, results, 1).
    pub slots: usize,
    pub func: HostCallable,
}

const _: () = {
    assert!(std::mem::offset_of!(HostFuncCtx, store) == VMCTX_STORE as usize);
    assert!(std::mem::offset_of!(HostFuncCtx, raise) == VMCTX_RAISE as usize);
    assert!(std::mem::offset_of!(HostFuncCtx, callback) == HOSTCTX_CALLBACK as usize);
};

impl StoreInner {
    /// The function reference `f` names.
    #[track_caller]
    pub(crate) fn funcref(&self, f: Func) -> &VMFuncRef {
        self.check(f);
        // SAFETY: `f` comes from this store (checked above), so by `Func::from_raw`'s
        // contract it names a function reference this store owns and keeps at its address.
        unsafe { &*(f.funcref as *const VMFuncRef) }
    }

    /// The host context of `fr`, when it is a host function's reference.
    pub(crate) fn host_ctx(&self, fr: &VMFuncRef) -> Option<&HostFuncCtx> {
        let ctx = fr.vmctx as usize;
        self.host_ctxs.contains(&ctx).then(|| {
            // SAFETY: `ctx` is the address of one of the host contexts this store owns
            // (it is in `host_ctxs`).
            unsafe { &*(ctx as *const HostFuncCtx) }
        })
    }

    /// Records `addr` as the wasm-to-host trampoline for signature `sig` unless one is
    /// known, and gives it to every host function of that signature that has none yet.
    /// Compiled code can reach a function reference only through a signature its module
    /// declares, so no host function is called before its code is set.
    pub(crate) fn add_host_trampoline(&mut self, sig: u32, addr: usize) {
        if self.host_tramps[sig as usize] != 0 {
            return;
        }
        self.host_tramps[sig as usize] = addr;
        for ctx in &self.host_funcs {
            // SAFETY: the context is live while the store is, and no reference to it is
            // in use (host functions do not run now).
            let fr = unsafe { &mut (*ctx.as_ptr()).funcref };
            if fr.sig == sig as u64 && fr.code.is_null() {
                fr.code = addr as *const u8;
            }
        }
    }
}

impl StoreData {
    /// The signature of a function.
    ///
    /// # Panics
    ///
    /// When `f` comes from another store.
    #[track_caller]
    pub fn func_type(&self, f: Func) -> &FuncType {
        let inner = self.inner();
        &inner.sig_types[inner.funcref(f).sig as usize]
    }

    /// Creates a host function that takes and returns [`Val`]s (see [`Func::wrap`] for
    /// one with Rust types).
    pub fn new_func(&mut self, ty: FuncType, func: HostFunc) -> Func {
        self.new_host_func(ty, HostCallable::Untyped(func))
    }

    pub(crate) fn new_host_func(&mut self, ty: FuncType, func: HostCallable) -> Func {
        let store = self.inner.as_ptr();
        let inner = self.inner_mut();
        let sig = inner.intern(&ty);
        let ctx = HeapCell::new(Box::new(HostFuncCtx {
            store,
            raise: wasmprecomp_rt_raise as *const () as usize,
            _reserved: [0; 2],
            callback: host_callback as *const () as usize,
            funcref: VMFuncRef {
                code: inner.host_tramps[sig as usize] as *const u8,
                vmctx: std::ptr::null_mut(),
                sig: sig as u64,
            },
            slots: ty.params.len().max(ty.results.len()).max(1),
            ty,
            func,
        }));
        let p = ctx.as_ptr();
        // SAFETY: `p` is the fresh context, which nothing else references yet.
        let funcref = unsafe {
            (*p).funcref.vmctx = p as *mut u8;
            std::ptr::addr_of!((*p).funcref) as usize
        };
        // SAFETY: the reference sits in a host context this store keeps until it drops.
        let f = unsafe { Func::from_raw(inner.id, funcref) };
        inner.host_ctxs.insert(p as usize);
        inner.host_funcs.push(ctx);
        f
    }
}

/// The trap message for a host function result that names another store's function.
const FOREIGN_RESULT: &str =
    "host function returned a Func handle used with a store other than the one that created it";

/// Checks that an untyped host function's `results` have the types `ty` names and name no
/// function of another store than `id`.
pub(crate) fn check_results(results: &[Val], ty: &FuncType, id: StoreId) -> Result<(), Trap> {
    if results.len() != ty.results.len()
        || results.iter().zip(&ty.results).any(|(v, t)| v.ty() != *t)
    {
        return Err(Trap::host(
            "host function returned values of the wrong type",
        ));
    }
    let foreign = |v: &Val| matches!(v, Val::FuncRef(Some(f)) if f.store != id);
    if results.iter().any(foreign) {
        return Err(Trap::host(FOREIGN_RESULT));
    }
    Ok(())
}

/// Runs `func` of type `ty` on the value slots `values` (arguments in, results out).
pub(crate) fn call_host(
    func: &HostCallable,
    ty: &FuncType,
    caller: &mut Caller<'_>,
    values: &mut [u128],
) -> Result<(), Trap> {
    match func {
        HostCallable::Typed(f) => f(caller, values),
        HostCallable::Untyped(f) => {
            let id = caller.store.id();
            let args: Vec<Val> = ty
                .params
                .iter()
                .zip(values.iter())
                // SAFETY: the slots hold arguments of this store's functions: compiled
                // code passes only its own store's references, and `call` checks the
                // host's.
                .map(|(t, v)| unsafe { Val::from_bits(*t, *v, id) })
                .collect();
            let results = f(caller, &args)?;
            check_results(&results, ty, id)?;
            for (slot, v) in values.iter_mut().zip(&results) {
                *slot = v.to_bits();
            }
            Ok(())
        }
    }
}

/// Called by wasm-to-host trampolines: runs the host function with the arguments in
/// `values` and writes its results there. Returns 0, or 1 after recording a trap in the
/// store.
///
/// # Safety
///
/// `ctx` must be a live host context and `values` an array of its `slots` slots holding
/// the arguments, as the trampoline passes them, and the call must come from compiled
/// code of the context's store (so a `call` of that store is running and its `caller` is
/// set).
unsafe extern "C" fn host_callback(ctx: *mut HostFuncCtx, values: *mut u128) -> u32 {
    // SAFETY: `ctx` is live (contract); the state it points to outlives it.
    let store = unsafe { (*ctx).store };
    // SAFETY: as above; the callable is cloned (a reference count) so no reference into
    // the context lives across the call.
    let (func, slots) = unsafe { ((*ctx).func.clone(), (*ctx).slots) };
    // SAFETY: the state is live while its compiled code runs, and no reference to it is
    // in use while compiled code calls out (module docs of `store`).
    let caller = unsafe { (*store).caller };
    // SAFETY: `values` is the trampoline's value array on its stack (contract), which
    // compiled code of this store called.
    let vmctx = unsafe { calling_vmctx(ctx, values, slots) };
    // SAFETY: as for reading `caller` above; only the addresses of the VM contexts are read.
    let instance = vmctx.and_then(|vm| unsafe { (*store).instance_at_vmctx(vm) });
    // SAFETY: `values` holds `slots` slots (contract), used by nothing else meanwhile.
    let values = unsafe { std::slice::from_raw_parts_mut(values, slots) };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `caller` is the `StoreData` of the running call (contract), borrowed by
        // that call for its whole duration, which lasts longer than this callback.
        let store = unsafe { &mut *caller };
        let mut caller = Caller::new(store, instance);
        // SAFETY: the type lives in the context, which lives as long as the store; the
        // host function cannot reach it.
        let ty = unsafe { &(*ctx).ty };
        call_host(&func, ty, &mut caller, values)
    }));
    match r.unwrap_or_else(|_| Err(Trap::host("host function panicked"))) {
        Ok(()) => 0,
        Err(t) => {
            // SAFETY: as for reading `caller` above; the host function's borrow has ended.
            unsafe { (*store).pending = Some(t) };
            1
        }
    }
}

/// The VM context of the compiled function that called the wasm-to-host trampoline
/// whose value array is `values`, read from the two frames the trampoline and its caller
/// keep (`codegen`'s `isa/<arch>/trampolines.rs` and the prologue in `isa/<arch>/emit`).
/// On x86-64 the trampoline pushes `rbp`, then its VM context (the host context) and the
/// results-area register, then reserves the array; on aarch64 it saves `x29` and `x30`,
/// points `x29` at them, saves the results-area register and its VM context in the pair
/// below (the context at `[x29 - 8]`), then reserves the array (the frame that
/// `artifact`'s aarch64 protocol describes). Either way the frame pointer sits 16 bytes
/// above the array (rounded up to 16 bytes), the context 8 bytes below it, and every
/// compiled function keeps its VM context just below its saved frame pointer. `None`
/// when the trampoline's slot does not hold `ctx`, so a frame of another shape is never
/// read further.
///
/// # Safety
///
/// `values` must be the value array of `n` slots (max(params, results, 1) of its
/// signature) a wasm-to-host trampoline passed to the callback of `ctx`, from a call made
/// by compiled code.
unsafe fn calling_vmctx(ctx: *mut HostFuncCtx, values: *mut u128, n: usize) -> Option<usize> {
    let array = (n * VALUE_SLOT as usize + 15) & !15;
    let fp = values as usize + array + 16;
    // SAFETY: `fp` is the trampoline's frame pointer (contract and the layout above), so
    // its saved-context slot is a live, aligned word of the trampoline's frame.
    let own = unsafe { *((fp - 8) as *const usize) };
    if own != ctx as usize {
        return None;
    }
    // SAFETY: the frame has the trampoline's shape (checked above), so `[fp]` is the
    // caller's saved frame pointer, and 8 bytes below it the caller keeps its VM context.
    let caller_fp = unsafe { *(fp as *const usize) };
    if caller_fp < 8 {
        return None;
    }
    // SAFETY: as above: the slot is in the calling compiled function's live frame.
    Some(unsafe { *((caller_fp - 8) as *const usize) })
}

#[cfg(test)]
mod tests {
    use crate::{FuncType, Store, Val, ValType};
    use std::sync::Arc;

    fn host_func(store: &mut Store) -> crate::Func {
        let ty = FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        };
        store.new_func(
            ty,
            Arc::new(|_, args| Ok(vec![Val::I32(args[0].unwrap_i32() + 1)])),
        )
    }

    #[test]
    fn host_functions_are_callable_from_the_host() {
        let mut store = Store::new();
        let f = host_func(&mut store);
        assert_eq!(store.call(f, &[Val::I32(41)]).unwrap(), vec![Val::I32(42)]);
    }

    #[test]
    #[should_panic(expected = "Func handle used with a store other than the one that created it")]
    fn func_type_of_another_stores_func_panics() {
        let mut a = Store::new();
        let f = host_func(&mut a);
        Store::new().func_type(f);
    }

    #[test]
    #[should_panic(expected = "Func handle used with a store other than the one that created it")]
    fn calling_another_stores_func_panics() {
        let mut a = Store::new();
        let f = host_func(&mut a);
        let _ = Store::new().call(f, &[Val::I32(1)]);
    }

    #[test]
    #[should_panic(expected = "Func handle used with a store other than the one that created it")]
    fn passing_another_stores_func_as_an_argument_panics() {
        let mut a = Store::new();
        let f = host_func(&mut a);
        let mut b = Store::new();
        let ty = FuncType {
            params: vec![ValType::FuncRef],
            results: vec![],
        };
        let g = b.new_func(ty, Arc::new(|_, _| Ok(vec![])));
        let _ = b.call(g, &[Val::FuncRef(Some(f))]);
    }
}

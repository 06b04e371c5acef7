//! Calls into compiled code through the per-signature array-to-wasm trampolines, and the
//! mapping from a trapping return address back to a trap site.

use super::func::{call_host, Caller};
use super::{Func, ModuleInner, StoreData, StoreInner};
use crate::entry::wasmprecomp_rt_enter;
use crate::{Trap, TrapKind, Val};
use wasmprecomp_artifact::TrapSite;

impl StoreData {
    /// Calls a function with arguments of its signature.
    ///
    /// # Panics
    ///
    /// When `f`, or a function reference among `args`, comes from another store.
    #[track_caller]
    pub fn call(&mut self, f: Func, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let inner = self.inner();
        let fr = *inner.funcref(f);
        let ty = inner.sig_types[fr.sig as usize].clone();
        for a in args {
            inner.check_val(a);
        }
        if args.len() != ty.params.len() || args.iter().zip(&ty.params).any(|(a, t)| a.ty() != *t) {
            return Err(Trap::host(format!(
                "wrong arguments for a function of type {ty}: {args:?}"
            )));
        }
        let mut values: Vec<u128> = vec![0; ty.params.len().max(ty.results.len()).max(1)];
        for (i, a) in args.iter().enumerate() {
            values[i] = a.to_bits();
        }
        // The store whose code runs: a host function may swap `self` with another's data.
        let id = inner.id;
        self.call_slots(f, &mut values)?;
        Ok(ty
            .results
            .iter()
            .enumerate()
            // SAFETY: compiled code and host functions of this store return only its own
            // function references (host functions' results are checked).
            .map(|(i, t)| unsafe { Val::from_bits(*t, values[i], id) })
            .collect())
    }

    /// Calls `f` with its arguments in `values` (as [`Val::to_bits`] holds them, every
    /// function reference among them this store's) and leaves its results there.
    ///
    /// # Panics
    ///
    /// When `f` comes from another store, or `values` has fewer than max(params, results,
    /// 1) slots of `f`'s signature.
    #[track_caller]
    pub(crate) fn call_slots(&mut self, f: Func, values: &mut [u128]) -> Result<(), Trap> {
        let state = self.inner;
        // SAFETY: `self` owns the state and no call of this store is using it now. Taken
        // from the pointer, not through `self`, so `self` can be lent to host code below.
        let inner = unsafe { &mut *state.as_ptr() };
        let fr = *inner.funcref(f);
        let ty = &inner.sig_types[fr.sig as usize];
        assert!(values.len() >= ty.params.len().max(ty.results.len()).max(1));
        if let Some(ctx) = inner.host_ctx(&fr) {
            let (func, ty) = (ctx.func.clone(), ctx.ty.clone());
            let mut caller = Caller::new(self, None);
            return call_host(&func, &ty, &mut caller, values);
        }
        let tramp = inner.tramps[fr.sig as usize];
        let outermost = inner.entry_sp == 0;
        if outermost {
            let here = &values as *const _ as usize;
            inner.stack_limit = here.saturating_sub(inner.max_wasm_stack);
        }
        // The last use of `self`: host functions reach it through this pointer.
        let prev_caller = std::mem::replace(&mut inner.caller, self as *mut StoreData);
        inner.active_calls += 1;
        // Guard-page faults of this call are this store's.
        let running = crate::fault::Running::enter(state.as_ptr());
        // SAFETY: `tramp` is the array-to-wasm trampoline for this signature in a module
        // the store keeps alive, `fr` is a live function reference of this store, `values`
        // has room for the parameters and the results, and no reference into the state is
        // used until the call returns.
        let r = unsafe {
            wasmprecomp_rt_enter(
                state.as_ptr() as *mut u8,
                tramp as *const u8,
                fr.vmctx,
                fr.code,
                values.as_mut_ptr(),
            )
        };
        drop(running);
        // SAFETY: the state stays allocated while `active_calls` counts this call, even if
        // a host function swapped `self` with another store's data, and nothing else uses
        // it now.
        let inner = unsafe { &mut *state.as_ptr() };
        inner.caller = prev_caller;
        inner.active_calls -= 1;
        if outermost {
            inner.stack_limit = 0;
        }
        let result = if r != 0 {
            let pc = inner.trap_pc;
            let pending = inner.pending.take();
            Err(inner.trap_at(pc, pending))
        } else {
            Ok(())
        };
        if inner.orphaned && inner.active_calls == 0 {
            // SAFETY: the owner dropped during the call and this was the last call using
            // the state, which came from `Box::leak`.
            unsafe { drop(Box::from_raw(state.as_ptr())) };
        }
        result
    }
}

impl StoreInner {
    /// The module whose code holds `pc`, `pc`'s offset in its `.text` and the trap site
    /// recorded at exactly that offset, if any. Allocation-free (the fault handler uses it).
    fn site_at(&self, pc: usize) -> Option<(&ModuleInner, u32, Option<TrapSite>)> {
        let m = self.modules.iter().find(|m| m.code.contains(pc))?;
        let off = (pc - m.code.base() as usize) as u32;
        let traps = &m.meta.traps;
        let site = traps
            .binary_search_by_key(&off, |t| t.text_offset)
            .ok()
            .map(|i| traps[i]);
        Some((m, off, site))
    }

    /// Whether a fault at `pc` touching `addr` is a guard-page bounds check of this store:
    /// `pc` is a memory access site in its code and `addr` lies in one of its memories'
    /// reservations. Reads only; allocation-free, for the fault handler.
    pub(crate) fn is_guard_fault(&self, pc: usize, addr: usize) -> bool {
        let site = matches!(self.site_at(pc), Some((_, _, Some(s))) if s.kind == TrapKind::MemoryOutOfBounds);
        site && self.memories.iter().any(|mem| mem.reserves(addr))
    }

    /// The trap for a raise at return address `pc`, preferring the trap a libcall or host
    /// function recorded.
    fn trap_at(&self, pc: usize, pending: Option<Trap>) -> Trap {
        if let Some((m, off, site)) = self.site_at(pc) {
            let meta = &m.meta;
            let func = meta
                .code
                .iter()
                .position(|c| off > c.text_offset && off <= c.text_offset + c.len)
                .map(|i| i as u32 + meta.num_imported_funcs);
            let mut t = match (pending, site) {
                (Some(p), _) => p,
                (None, Some(s)) => Trap::new(s.kind),
                (None, None) => Trap::host(format!("trap at unknown site {off:#x}")),
            };
            if t.wasm_offset.is_none() {
                t.wasm_offset = site.filter(|s| s.wasm_offset != 0).map(|s| s.wasm_offset);
            }
            if t.func.is_none() {
                t.func = func;
            }
            return t;
        }
        pending.unwrap_or_else(|| Trap::host(format!("trap at unknown address {pc:#x}")))
    }
}

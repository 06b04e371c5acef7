//! Instantiation: import checks, the VM context, defined entities, exports, element and
//! data segments, and the start function.

use super::func::VMFuncRef;
use super::global::GlobalInstance;
use super::instance::InstanceData;
use super::memory::{MemoryInstance, VMMemory};
use super::table::{TableInstance, VMTable};
use super::{libcalls, Extern, Func, HeapCell, Instance, StoreData, StoreInner};
use crate::entry::wasmprecomp_rt_raise;
use crate::module::Module;
use crate::{InstantiateError, Trap};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::Arc;
use wasmprecomp_artifact::{
    self as art, ConstExpr, ConstOp, ExternKind, ImportKind, SegmentMode, FUNCREF_CODE,
    FUNCREF_SIG, FUNCREF_VMCTX, VMCTX_INSTANCE, VMCTX_LIBCALLS, VMCTX_RAISE, VMCTX_STORE,
};

impl StoreData {
    /// Instantiates `module` with `imports` in the module's import order.
    ///
    /// # Panics
    ///
    /// When an import comes from another store.
    #[track_caller]
    pub fn instantiate(
        &mut self,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance, InstantiateError> {
        let store = self.inner.as_ptr();
        let inner = self.inner_mut();
        let module = module.inner.clone();
        let meta = &module.meta;
        for ext in imports {
            inner.check_extern(ext);
        }
        if imports.len() != meta.imports.len() {
            return Err(InstantiateError::Link(format!(
                "expected {} imports, got {}",
                meta.imports.len(),
                imports.len()
            )));
        }
        // Type-check imports first: nothing changes if linking fails.
        for (imp, ext) in meta.imports.iter().zip(imports) {
            inner.check_import(meta, imp, ext)?;
        }
        if module.interruption != inner.interruption {
            return Err(InstantiateError::Interruption {
                module: module.interruption,
                store: inner.interruption,
            });
        }
        inner.check_limits(meta)?;
        if !inner.modules.iter().any(|m| Arc::ptr_eq(m, &module)) {
            inner.modules.push(module.clone());
        }
        // Every index in the metadata was checked against what it names when the module
        // was loaded (`ModuleMeta::validate`), and so was the layout's arithmetic.
        let layout = module.layout;
        let base = module.code.base() as usize;
        let sig_ids: Vec<u32> = meta.types.iter().map(|t| inner.intern(t)).collect();
        for (ti, t) in meta.trampolines.iter().enumerate() {
            let id = sig_ids[ti];
            if inner.tramps[id as usize] == 0 {
                inner.tramps[id as usize] = base + t.array_to_wasm as usize;
            }
            inner.add_host_trampoline(id, base + t.wasm_to_host as usize);
        }
        let index = inner.next_instance_index();
        let vmctx = HeapCell::new(vec![0u64; layout.size() as usize / 8].into_boxed_slice());
        let vm = vmctx.as_ptr() as *mut u8;
        let slot = |off: u32| {
            // SAFETY: `off` comes from this VM context's layout, so the slot lies inside
            // the allocation.
            unsafe { NonNull::new_unchecked(vm.add(off as usize)) }
        };
        let w = |off: u32, v: u64| {
            // SAFETY: as in `slot`; every slot is 8-byte aligned and nothing else holds a
            // reference into the fresh VM context.
            unsafe { *slot(off).cast::<u64>().as_ptr() = v }
        };
        w(VMCTX_STORE, store as u64);
        w(
            VMCTX_RAISE,
            wasmprecomp_rt_raise as *const () as usize as u64,
        );
        w(VMCTX_LIBCALLS, libcalls::table() as u64);
        w(VMCTX_INSTANCE, index as u64);
        for (ti, id) in sig_ids.iter().enumerate() {
            w(layout.sig_id(ti as u32), *id as u64);
        }
        let write_funcref = |off: u32, fr: VMFuncRef| {
            w(off + FUNCREF_CODE, fr.code as u64);
            w(off + FUNCREF_VMCTX, fr.vmctx as u64);
            w(off + FUNCREF_SIG, fr.sig);
            // SAFETY: the reference sits in this VM context, which the store keeps.
            unsafe { Func::from_raw(inner.id, vm as usize + off as usize) }
        };
        let mut inst = InstanceData {
            module: module.clone(),
            vmctx,
            funcs: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            elems: Vec::new(),
            data_dropped: vec![false; meta.data.len()],
            exports: HashMap::new(),
        };
        // Imports.
        let (mut fi, mut mi, mut ti, mut gi) = (0u32, 0u32, 0u32, 0u32);
        for (imp, ext) in meta.imports.iter().zip(imports) {
            match (&imp.kind, ext) {
                (ImportKind::Func(_), Extern::Func(f)) => {
                    let fr = *inner.funcref(*f);
                    inst.funcs.push(write_funcref(layout.func_ref(fi), fr));
                    fi += 1;
                }
                (ImportKind::Memory(_), Extern::Memory(m)) => {
                    w(layout.memory(mi), inner.memory(*m).descriptor() as u64);
                    inst.memories.push(*m);
                    mi += 1;
                }
                (ImportKind::Table(_), Extern::Table(t)) => {
                    w(layout.table(ti), inner.table(*t).descriptor() as u64);
                    inst.tables.push(*t);
                    ti += 1;
                }
                (ImportKind::Global(_), Extern::Global(g)) => {
                    w(layout.global(gi), inner.global(*g).cell() as u64);
                    inst.globals.push(*g);
                    gi += 1;
                }
                _ => return Err(InstantiateError::Link("import kind mismatch".into())),
            }
        }
        // Defined functions.
        for (i, c) in meta.code.iter().enumerate() {
            let idx = meta.num_imported_funcs + i as u32;
            let fr = VMFuncRef {
                code: (base + c.text_offset as usize) as *const u8,
                vmctx: vm,
                sig: sig_ids[meta.functions[idx as usize] as usize] as u64,
            };
            inst.funcs.push(write_funcref(layout.func_ref(idx), fr));
        }
        // Defined memories, tables, globals.
        for (i, m) in meta.memories.iter().enumerate() {
            let vm = slot(layout.memory(meta.num_imported_memories + i as u32)).cast::<VMMemory>();
            // SAFETY: the slot is this memory's in the VM context, which lives as long as
            // the store and which nothing else writes.
            let mem = unsafe { MemoryInstance::in_vmctx(vm, m.limits.min, m.limits.max) }
                .map_err(InstantiateError::Resource)?;
            inst.memories.push(inner.push_memory(mem));
        }
        for (i, t) in meta.tables.iter().enumerate() {
            let vm = slot(layout.table(meta.num_imported_tables + i as u32)).cast::<VMTable>();
            // SAFETY: as for memories.
            let tab = unsafe { TableInstance::in_vmctx(vm, t.elem, t.limits.min, t.limits.max) }
                .map_err(InstantiateError::Resource)?;
            inst.tables.push(inner.push_table(tab));
        }
        for (i, g) in meta.globals.iter().enumerate() {
            let v = inner.eval_const(&inst, &g.init);
            let off = layout.global(meta.num_imported_globals + i as u32);
            // A global's slot is 16 bytes: a v128 fills it, other values its low half.
            w(off, v as u64);
            w(off + 8, (v >> 64) as u64);
            // SAFETY: as for memories; compiled code writes the cell too, which is what a
            // global's cell is for.
            let global = unsafe { GlobalInstance::in_vmctx(slot(off).cast(), g.ty) };
            inst.globals.push(inner.push_global(global));
        }
        for e in &meta.exports {
            let x = match e.kind {
                ExternKind::Func => Extern::Func(inst.funcs[e.index as usize]),
                ExternKind::Memory => Extern::Memory(inst.memories[e.index as usize]),
                ExternKind::Table => Extern::Table(inst.tables[e.index as usize]),
                ExternKind::Global => Extern::Global(inst.globals[e.index as usize]),
            };
            inst.exports.insert(e.name.clone(), x);
        }
        inst.elems = meta
            .elements
            .iter()
            .map(|e| {
                Some(
                    e.items
                        .iter()
                        .map(|it| inner.eval_const(&inst, it) as u64)
                        .collect(),
                )
            })
            .collect();
        let handle = inner.push_instance(inst);
        self.initialize(index).map_err(InstantiateError::Trap)?;
        Ok(handle)
    }

    /// Element and data segments, then the start function, of instance `index`.
    fn initialize(&mut self, index: usize) -> Result<(), Trap> {
        let inner = self.inner_mut();
        let module = inner.instances[index].module.clone();
        let meta = &module.meta;
        for (i, e) in meta.elements.iter().enumerate() {
            match &e.mode {
                SegmentMode::Active {
                    index: table,
                    offset,
                } => {
                    let off = inner.eval_const(&inner.instances[index], offset) as u32;
                    let n = e.items.len() as u32;
                    let res = inner.table_init(index, *table, i as u32, off, 0, n);
                    inner.elem_drop(index, i as u32);
                    res.map_err(Trap::new)?;
                }
                SegmentMode::Declared => inner.elem_drop(index, i as u32),
                SegmentMode::Passive => {}
            }
        }
        for (i, d) in meta.data.iter().enumerate() {
            if let SegmentMode::Active { index: mem, offset } = &d.mode {
                let off = inner.eval_const(&inner.instances[index], offset) as u32;
                let n = d.bytes.len() as u32;
                let res = inner.memory_init(index, *mem, i as u32, off, 0, n);
                inner.data_drop(index, i as u32);
                res.map_err(Trap::new)?;
            }
        }
        if let Some(s) = meta.start {
            let f = inner.instances[index].funcs[s as usize];
            self.call(f, &[])?;
        }
        Ok(())
    }
}

impl StoreInner {
    /// Panics unless `ext` was created by this store.
    #[track_caller]
    /// Refuses an instance the store's limiter does not allow: one instance, memory or
    /// table too many, or a defined memory or table whose initial size it refuses.
    fn check_limits(&mut self, meta: &art::ModuleMeta) -> Result<(), InstantiateError> {
        let (instances, memories, tables) = self.count_limits();
        let over = |what: &str, have: usize, adding: usize, limit: usize| {
            (have.saturating_add(adding) > limit).then(|| {
                InstantiateError::Resource(format!(
                    "instantiation would make {} {what}, over the store's limit of {limit}",
                    have.saturating_add(adding)
                ))
            })
        };
        if let Some(e) = over("instances", self.instances.len(), 1, instances)
            .or_else(|| {
                over(
                    "memories",
                    self.memories.len(),
                    meta.memories.len(),
                    memories,
                )
            })
            .or_else(|| over("tables", self.tables.len(), meta.tables.len(), tables))
        {
            return Err(e);
        }
        for (i, m) in meta.memories.iter().enumerate() {
            if !self.memory_growing(0, m.limits.min, m.limits.max) {
                return Err(InstantiateError::Resource(format!(
                    "memory {} of {} pages ({} bytes) is refused by the store's resource limiter",
                    meta.num_imported_memories as usize + i,
                    m.limits.min,
                    m.limits.min.saturating_mul(65536)
                )));
            }
        }
        for (i, t) in meta.tables.iter().enumerate() {
            if !self.table_growing(0, t.limits.min, t.limits.max) {
                return Err(InstantiateError::Resource(format!(
                    "table {} of {} elements is refused by the store's resource limiter",
                    meta.num_imported_tables as usize + i,
                    t.limits.min
                )));
            }
        }
        Ok(())
    }

    fn check_extern(&self, ext: &Extern) {
        match *ext {
            Extern::Func(f) => self.check(f),
            Extern::Memory(m) => self.check(m),
            Extern::Table(t) => self.check(t),
            Extern::Global(g) => self.check(g),
        }
    }

    fn check_import(
        &self,
        meta: &art::ModuleMeta,
        imp: &art::Import,
        ext: &Extern,
    ) -> Result<(), InstantiateError> {
        let err = |m: String| {
            Err(InstantiateError::Link(format!(
                "incompatible import type for `{}::{}`: {m}",
                imp.module, imp.name
            )))
        };
        let limits_ok = |cur: u64, max: Option<u64>, want: &art::Limits| {
            cur >= want.min
                && match want.max {
                    None => true,
                    Some(wm) => max.is_some_and(|m| m <= wm),
                }
        };
        match (&imp.kind, ext) {
            (ImportKind::Func(t), Extern::Func(f)) => {
                let want = &meta.types[*t as usize];
                let have = &self.sig_types[self.funcref(*f).sig as usize];
                if want != have {
                    return err(format!("expected {want}, found {have}"));
                }
            }
            (ImportKind::Memory(mt), Extern::Memory(m)) => {
                let mi = self.memory(*m);
                if !limits_ok(mi.pages(), mi.max(), &mt.limits) {
                    return err("memory limits".into());
                }
            }
            (ImportKind::Table(tt), Extern::Table(t)) => {
                let ti = self.table(*t);
                if ti.elem != tt.elem || !limits_ok(ti.elems.len() as u64, ti.max, &tt.limits) {
                    return err("table type".into());
                }
            }
            (ImportKind::Global(gt), Extern::Global(g)) => {
                if self.global(*g).ty != *gt {
                    return err("global type".into());
                }
            }
            _ => return err("wrong kind".into()),
        }
        Ok(())
    }

    /// The value of a constant expression in the instance `inst` (being) set up.
    fn eval_const(&self, inst: &InstanceData, e: &ConstExpr) -> u128 {
        let gval = |g: u32| -> u128 { self.global(inst.globals[g as usize]).bits() };
        match e {
            ConstExpr::I32(v) => *v as u32 as u128,
            ConstExpr::I64(v) => *v as u64 as u128,
            ConstExpr::F32(v) => *v as u128,
            ConstExpr::F64(v) => *v as u128,
            ConstExpr::V128(v) => *v,
            ConstExpr::RefNull(_) => 0,
            ConstExpr::RefFunc(i) => inst.funcs[*i as usize].addr() as u128,
            ConstExpr::GlobalGet(g) => gval(*g),
            ConstExpr::Ops(ops) => {
                let mut st: Vec<u64> = Vec::new();
                for op in ops {
                    let bin = |st: &mut Vec<u64>, f: &dyn Fn(u64, u64) -> u64| {
                        let b = st.pop().unwrap_or(0);
                        let a = st.pop().unwrap_or(0);
                        st.push(f(a, b));
                    };
                    match op {
                        ConstOp::I32(v) => st.push(*v as u32 as u64),
                        ConstOp::I64(v) => st.push(*v as u64),
                        ConstOp::GlobalGet(g) => st.push(gval(*g) as u64),
                        ConstOp::I32Add => {
                            bin(&mut st, &|a, b| (a as u32).wrapping_add(b as u32) as u64)
                        }
                        ConstOp::I32Sub => {
                            bin(&mut st, &|a, b| (a as u32).wrapping_sub(b as u32) as u64)
                        }
                        ConstOp::I32Mul => {
                            bin(&mut st, &|a, b| (a as u32).wrapping_mul(b as u32) as u64)
                        }
                        ConstOp::I64Add => bin(&mut st, &|a, b| a.wrapping_add(b)),
                        ConstOp::I64Sub => bin(&mut st, &|a, b| a.wrapping_sub(b)),
                        ConstOp::I64Mul => bin(&mut st, &|a, b| a.wrapping_mul(b)),
                    }
                }
                st.pop().unwrap_or(0) as u128
            }
        }
    }
}

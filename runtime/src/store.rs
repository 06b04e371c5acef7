//! The store: instances, memories, tables, globals and functions, and calls into
//! compiled code.
//!
//! Everything compiled code touches lives at a stable heap address: VM contexts, memory
//! and table descriptors, global cells, host-function contexts. Handles ([`Memory`],
//! [`Table`], [`Global`], [`Instance`]) are indices; a [`Func`] is the address of its
//! function reference.

use crate::entry::{wasmprecomp_rt_enter, wasmprecomp_rt_raise};
use crate::module::{Module, ModuleInner};
use crate::{InstantiateError, Trap, Val};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use wasmprecomp_artifact::{
    self as art, ConstExpr, ConstOp, ExternKind, FuncType, GlobalType, ImportKind, Libcall,
    SegmentMode, TrapKind, ValType, VmCounts, VmLayout, FUNCREF_SIZE, NUM_LIBCALLS,
};

const PAGE: u64 = 65536;
const MAX_PAGES: u64 = 65536;

/// Function reference as compiled code sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct VMFuncRef {
    pub code: *const u8,
    pub vmctx: *mut u8,
    pub sig: u64,
}

#[repr(C)]
pub(crate) struct VMMemory {
    pub base: *mut u8,
    pub len: u64,
}

#[repr(C)]
pub(crate) struct VMTable {
    pub base: *mut u64,
    pub len: u64,
}

/// A function: the address of its [`VMFuncRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func(pub(crate) usize);
/// A linear memory of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory(pub(crate) u32);
/// A table of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table(pub(crate) u32);
/// A global of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global(pub(crate) u32);
/// An instance of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance(pub(crate) u32);

/// Something an instance can import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extern {
    Func(Func),
    Memory(Memory),
    Table(Table),
    Global(Global),
}

struct MemoryInstance {
    vm: *mut VMMemory,
    _own: Option<Box<VMMemory>>,
    reserved: usize,
    max_pages: u64,
}

impl MemoryInstance {
    /// Reserves address space for the whole maximum so the base never moves.
    fn new(
        vm: *mut VMMemory,
        own: Option<Box<VMMemory>>,
        min: u64,
        max: Option<u64>,
    ) -> Result<Self, String> {
        let max_pages = max.unwrap_or(MAX_PAGES).min(MAX_PAGES);
        if min > max_pages {
            return Err(format!("memory minimum {min} exceeds its maximum"));
        }
        let reserved = (max_pages * PAGE) as usize;
        let base = if reserved == 0 {
            std::ptr::NonNull::<u64>::dangling().as_ptr() as *mut u8
        } else {
            // SAFETY: a fresh anonymous reservation; pages become accessible only through
            // mprotect in `grow_to`.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    reserved,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(format!(
                    "cannot reserve {reserved} bytes for a memory: {}",
                    std::io::Error::last_os_error()
                ));
            }
            p as *mut u8
        };
        // SAFETY: `vm` points to a live descriptor owned by the instance or by `own`.
        unsafe {
            (*vm).base = base;
            (*vm).len = 0;
        }
        let m = MemoryInstance {
            vm,
            _own: own,
            reserved,
            max_pages,
        };
        if !m.grow_to(min) {
            return Err("cannot commit the memory's initial pages".into());
        }
        Ok(m)
    }
    fn pages(&self) -> u64 {
        // SAFETY: descriptor is live for the memory's lifetime.
        unsafe { (*self.vm).len / PAGE }
    }
    fn grow_to(&self, pages: u64) -> bool {
        if pages > self.max_pages {
            return false;
        }
        // SAFETY: the range lies within our reservation.
        unsafe {
            let old = (*self.vm).len as usize;
            let new = (pages * PAGE) as usize;
            if new > old {
                let r = libc::mprotect(
                    (*self.vm).base.add(old) as *mut libc::c_void,
                    new - old,
                    libc::PROT_READ | libc::PROT_WRITE,
                );
                if r != 0 {
                    return false;
                }
            }
            (*self.vm).len = new as u64;
        }
        true
    }
    fn grow(&self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        self.grow_to(new).then_some(old)
    }
    fn data(&self) -> &[u8] {
        // SAFETY: base..base+len is committed read-write memory owned by this instance.
        unsafe { std::slice::from_raw_parts((*self.vm).base, (*self.vm).len as usize) }
    }
    fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; `&mut self` makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut((*self.vm).base, (*self.vm).len as usize) }
    }
}

impl Drop for MemoryInstance {
    fn drop(&mut self) {
        if self.reserved > 0 {
            // SAFETY: unmapping our own reservation; nothing runs after the store drops.
            unsafe {
                libc::munmap((*self.vm).base as *mut libc::c_void, self.reserved);
            }
        }
    }
}

struct TableInstance {
    vm: *mut VMTable,
    _own: Option<Box<VMTable>>,
    elems: Vec<u64>,
    max: Option<u64>,
    elem: ValType,
}

impl TableInstance {
    fn sync(&mut self) {
        // SAFETY: the descriptor is live for the table's lifetime.
        unsafe {
            (*self.vm).base = self.elems.as_mut_ptr();
            (*self.vm).len = self.elems.len() as u64;
        }
    }
    fn grow(&mut self, delta: u64, init: u64) -> Option<u64> {
        let old = self.elems.len() as u64;
        let new = old.checked_add(delta)?;
        if new > self.max.unwrap_or(u32::MAX as u64).min(u32::MAX as u64) || new > 10_000_000 {
            return None;
        }
        self.elems.resize(new as usize, init);
        self.sync();
        Some(old)
    }
}

struct GlobalInstance {
    ptr: *mut u64,
    _own: Option<Box<[u64; 2]>>,
    ty: GlobalType,
}

/// A host function's context: starts with the same header as a VM context.
#[repr(C)]
struct HostFuncCtx {
    store: *mut StoreData,
    raise: usize,
    _reserved: [usize; 2],
    callback: usize,
    funcref: VMFuncRef,
    ty: FuncType,
    func: HostFunc,
}

/// A host function: receives the caller's store and the arguments, returns the results.
pub type HostFunc = Arc<dyn Fn(&mut Caller<'_>, &[Val]) -> Result<Vec<Val>, Trap> + Send + Sync>;

/// What a host function can reach while it runs.
pub struct Caller<'a> {
    pub store: &'a mut StoreData,
}

pub(crate) struct InstanceData {
    module: Arc<ModuleInner>,
    vmctx: Box<[u64]>,
    store: *mut StoreData,
    funcs: Vec<Func>,
    memories: Vec<Memory>,
    tables: Vec<Table>,
    globals: Vec<Global>,
    /// Evaluated element segments; `None` once dropped.
    elems: Vec<Option<Vec<u64>>>,
    data_dropped: Vec<bool>,
    exports: HashMap<String, Extern>,
}

/// The store's state; [`Store`] owns it at a stable address.
#[repr(C)]
pub struct StoreData {
    // Read by compiled code and the entry routines: keep first and in this order.
    stack_limit: usize,
    entry_sp: usize,
    trap_pc: usize,
    pending: Option<Trap>,
    max_wasm_stack: usize,
    sigs: HashMap<FuncType, u32>,
    sig_types: Vec<FuncType>,
    /// Array-to-wasm trampoline per signature id.
    tramps: Vec<usize>,
    /// Host-function wasm-to-host trampoline per signature id, once some module had one.
    host_tramps: Vec<usize>,
    modules: Vec<Arc<ModuleInner>>,
    // Boxed: compiled code and libcalls hold pointers to instance data and host contexts,
    // which must not move when the vectors grow.
    #[allow(clippy::vec_box)]
    instances: Vec<Box<InstanceData>>,
    memories: Vec<MemoryInstance>,
    tables: Vec<TableInstance>,
    globals: Vec<GlobalInstance>,
    #[allow(clippy::vec_box)]
    host_funcs: Vec<Box<HostFuncCtx>>,
    host_ctxs: HashSet<usize>,
}

/// Owns all runtime state of a group of instances.
pub struct Store {
    data: Box<StoreData>,
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
    pub fn new() -> Store {
        Store {
            data: Box::new(StoreData {
                stack_limit: 0,
                entry_sp: 0,
                trap_pc: 0,
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
            }),
        }
    }
}

/// The libcall table compiled code calls through (order: [`Libcall`]).
struct LibcallTable([*const (); NUM_LIBCALLS as usize]);
// SAFETY: immutable table of function addresses.
unsafe impl Sync for LibcallTable {}

static LIBCALLS: LibcallTable = LibcallTable([
    lc_memory_grow as *const (),
    lc_memory_copy as *const (),
    lc_memory_fill as *const (),
    lc_memory_init as *const (),
    lc_data_drop as *const (),
    lc_table_grow as *const (),
    lc_table_fill as *const (),
    lc_table_copy as *const (),
    lc_table_init as *const (),
    lc_elem_drop as *const (),
]);

fn libcall_table() -> usize {
    debug_assert_eq!(Libcall::ElemDrop as u32 + 1, NUM_LIBCALLS);
    LIBCALLS.0.as_ptr() as usize
}

impl StoreData {
    /// Bytes of the calling thread's stack compiled code may use.
    pub fn set_max_wasm_stack(&mut self, bytes: usize) {
        self.max_wasm_stack = bytes;
    }

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

    fn funcref(&self, f: Func) -> &VMFuncRef {
        // SAFETY: a Func is the address of a VMFuncRef inside a VM context or host
        // context owned by this store.
        unsafe { &*(f.0 as *const VMFuncRef) }
    }

    /// The signature of a function.
    pub fn func_type(&self, f: Func) -> &FuncType {
        &self.sig_types[self.funcref(f).sig as usize]
    }

    /// Creates a host function.
    pub fn new_func(&mut self, ty: FuncType, func: HostFunc) -> Func {
        let sig = self.intern(&ty);
        let me: *mut StoreData = self;
        let mut ctx = Box::new(HostFuncCtx {
            store: me,
            raise: wasmprecomp_rt_raise as *const () as usize,
            _reserved: [0; 2],
            callback: host_callback as *const () as usize,
            funcref: VMFuncRef {
                code: self.host_tramps[sig as usize] as *const u8,
                vmctx: std::ptr::null_mut(),
                sig: sig as u64,
            },
            ty,
            func,
        });
        let p: *mut HostFuncCtx = &mut *ctx;
        ctx.funcref.vmctx = p as *mut u8;
        let f = Func(&ctx.funcref as *const VMFuncRef as usize);
        self.host_ctxs.insert(p as usize);
        self.host_funcs.push(ctx);
        f
    }

    /// Creates a host memory.
    pub fn new_memory(&mut self, min: u64, max: Option<u64>) -> Result<Memory, String> {
        let mut own = Box::new(VMMemory {
            base: std::ptr::null_mut(),
            len: 0,
        });
        let vm: *mut VMMemory = &mut *own;
        let m = MemoryInstance::new(vm, Some(own), min, max)?;
        self.memories.push(m);
        Ok(Memory(self.memories.len() as u32 - 1))
    }

    /// Creates a host table filled with `init`.
    pub fn new_table(&mut self, elem: ValType, min: u64, max: Option<u64>, init: Val) -> Table {
        let mut own = Box::new(VMTable {
            base: std::ptr::null_mut(),
            len: 0,
        });
        let vm: *mut VMTable = &mut *own;
        let mut t = TableInstance {
            vm,
            _own: Some(own),
            elems: vec![init.to_bits(); min as usize],
            max,
            elem,
        };
        t.sync();
        self.tables.push(t);
        Table(self.tables.len() as u32 - 1)
    }

    /// Creates a host global.
    pub fn new_global(&mut self, ty: GlobalType, value: Val) -> Global {
        let mut own = Box::new([value.to_bits(), 0]);
        let ptr = own.as_mut_ptr();
        self.globals.push(GlobalInstance {
            ptr,
            _own: Some(own),
            ty,
        });
        Global(self.globals.len() as u32 - 1)
    }

    pub fn memory_data(&self, m: Memory) -> &[u8] {
        self.memories[m.0 as usize].data()
    }
    pub fn memory_data_mut(&mut self, m: Memory) -> &mut [u8] {
        self.memories[m.0 as usize].data_mut()
    }
    pub fn memory_pages(&self, m: Memory) -> u64 {
        self.memories[m.0 as usize].pages()
    }
    /// Grows a memory; returns the old size in pages.
    pub fn memory_grow(&mut self, m: Memory, delta: u64) -> Option<u64> {
        self.memories[m.0 as usize].grow(delta)
    }
    pub fn table_size(&self, t: Table) -> u64 {
        self.tables[t.0 as usize].elems.len() as u64
    }
    pub fn table_get(&self, t: Table, i: u64) -> Option<Val> {
        let t = &self.tables[t.0 as usize];
        t.elems.get(i as usize).map(|b| Val::from_bits(t.elem, *b))
    }
    pub fn global_get(&self, g: Global) -> Val {
        let gi = &self.globals[g.0 as usize];
        // SAFETY: the cell is live for the store's lifetime.
        Val::from_bits(gi.ty.ty, unsafe { *gi.ptr })
    }
    pub fn global_set(&mut self, g: Global, v: Val) {
        let gi = &self.globals[g.0 as usize];
        // SAFETY: as above.
        unsafe { *gi.ptr = v.to_bits() }
    }
    pub fn global_type(&self, g: Global) -> GlobalType {
        self.globals[g.0 as usize].ty
    }

    /// An export of an instance.
    pub fn get_export(&self, i: Instance, name: &str) -> Option<Extern> {
        self.instances[i.0 as usize].exports.get(name).copied()
    }
    pub fn get_func(&self, i: Instance, name: &str) -> Option<Func> {
        match self.get_export(i, name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }
    pub fn get_memory(&self, i: Instance, name: &str) -> Option<Memory> {
        match self.get_export(i, name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }
    /// All exports of an instance.
    pub fn exports(&self, i: Instance) -> Vec<(String, Extern)> {
        let mut v: Vec<_> = self.instances[i.0 as usize]
            .exports
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Calls a function with arguments of its signature.
    pub fn call(&mut self, f: Func, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let ty = self.func_type(f).clone();
        if args.len() != ty.params.len() || args.iter().zip(&ty.params).any(|(a, t)| a.ty() != *t) {
            return Err(Trap::host(format!(
                "wrong arguments for a function of type {ty}: {args:?}"
            )));
        }
        let fr = *self.funcref(f);
        if self.host_ctxs.contains(&(fr.vmctx as usize)) {
            // SAFETY: host contexts are boxed and owned by this store.
            let func = unsafe { (*(fr.vmctx as *const HostFuncCtx)).func.clone() };
            let mut caller = Caller { store: self };
            return func(&mut caller, args);
        }
        let tramp = self.tramps[fr.sig as usize];
        let mut values: Vec<u64> = vec![0; ty.params.len().max(ty.results.len()).max(1)];
        for (i, a) in args.iter().enumerate() {
            values[i] = a.to_bits();
        }
        let outermost = self.entry_sp == 0;
        if outermost {
            let here = &values as *const _ as usize;
            self.stack_limit = here.saturating_sub(self.max_wasm_stack);
        }
        let me: *mut StoreData = self;
        // SAFETY: `tramp` is the array-to-wasm trampoline for this signature in a module
        // kept alive by the store, `fr` is a live function reference, and `values` has
        // room for the parameters and the results.
        let r = unsafe {
            wasmprecomp_rt_enter(
                me as *mut u8,
                tramp as *const u8,
                fr.vmctx,
                fr.code,
                values.as_mut_ptr(),
            )
        };
        if r != 0 {
            let pc = self.trap_pc;
            let pending = self.pending.take();
            if outermost {
                self.stack_limit = 0;
            }
            return Err(self.trap_at(pc, pending));
        }
        Ok(ty
            .results
            .iter()
            .enumerate()
            .map(|(i, t)| Val::from_bits(*t, values[i]))
            .collect())
    }

    fn trap_at(&self, pc: usize, pending: Option<Trap>) -> Trap {
        for m in &self.modules {
            if !m.code.contains(pc) {
                continue;
            }
            let off = (pc - m.code.base() as usize) as u32;
            let meta = &m.meta;
            let site = meta
                .traps
                .binary_search_by_key(&off, |t| t.text_offset)
                .ok()
                .map(|i| meta.traps[i]);
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

    /// Instantiates `module` with `imports` in the module's import order.
    pub fn instantiate(
        &mut self,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance, InstantiateError> {
        let inner = module.inner.clone();
        let meta = &inner.meta;
        if imports.len() != meta.imports.len() {
            return Err(InstantiateError::Link(format!(
                "expected {} imports, got {}",
                meta.imports.len(),
                imports.len()
            )));
        }
        // Type-check imports first: nothing changes if linking fails.
        for (imp, ext) in meta.imports.iter().zip(imports) {
            self.check_import(meta, imp, ext)?;
        }
        if !self.modules.iter().any(|m| Arc::ptr_eq(m, &inner)) {
            self.modules.push(inner.clone());
        }
        let layout = VmLayout::new(VmCounts {
            funcs: meta.functions.len() as u32,
            memories: meta.num_memories(),
            tables: meta.num_tables(),
            globals: meta.num_globals(),
            types: meta.types.len() as u32,
        });
        let me: *mut StoreData = self;
        let base = inner.code.base() as usize;
        let sig_ids: Vec<u32> = meta.types.iter().map(|t| self.intern(t)).collect();
        for (ti, t) in meta.trampolines.iter().enumerate() {
            let id = sig_ids[ti] as usize;
            if self.tramps[id] == 0 {
                self.tramps[id] = base + t.array_to_wasm as usize;
            }
            if self.host_tramps[id] == 0 {
                self.host_tramps[id] = base + t.wasm_to_host as usize;
            }
        }
        let mut inst = Box::new(InstanceData {
            module: inner.clone(),
            vmctx: vec![0u64; layout.size() as usize / 8].into_boxed_slice(),
            store: me,
            funcs: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            elems: Vec::new(),
            data_dropped: vec![false; meta.data.len()],
            exports: HashMap::new(),
        });
        let vm = inst.vmctx.as_mut_ptr() as *mut u8;
        let ip: *mut InstanceData = &mut *inst;
        let w = |off: u32, v: u64| {
            // SAFETY: offsets come from the layout of this vmctx.
            unsafe { *(vm.add(off as usize) as *mut u64) = v }
        };
        w(art::VMCTX_STORE, me as u64);
        w(
            art::VMCTX_RAISE,
            wasmprecomp_rt_raise as *const () as usize as u64,
        );
        w(art::VMCTX_LIBCALLS, libcall_table() as u64);
        w(24, ip as u64);
        for (ti, id) in sig_ids.iter().enumerate() {
            w(layout.sig_id(ti as u32), *id as u64);
        }
        // Imports.
        let (mut fi, mut mi, mut ti, mut gi) = (0u32, 0u32, 0u32, 0u32);
        for (imp, ext) in meta.imports.iter().zip(imports) {
            match (&imp.kind, ext) {
                (ImportKind::Func(t), Extern::Func(f)) => {
                    let fr = self.funcref(*f);
                    if fr.code.is_null() {
                        // A host function first imported here: give it this module's
                        // trampoline for its signature.
                        let tr = base + meta.trampolines[*t as usize].wasm_to_host as usize;
                        // SAFETY: host function references live in boxed host contexts.
                        unsafe { (*(f.0 as *mut VMFuncRef)).code = tr as *const u8 };
                    }
                    let fr = *self.funcref(*f);
                    let off = layout.func_ref(fi);
                    w(off, fr.code as u64);
                    w(off + 8, fr.vmctx as u64);
                    w(off + 16, fr.sig);
                    inst.funcs.push(Func(vm as usize + off as usize));
                    fi += 1;
                }
                (ImportKind::Memory(_), Extern::Memory(m)) => {
                    w(layout.memory(mi), self.memories[m.0 as usize].vm as u64);
                    inst.memories.push(*m);
                    mi += 1;
                }
                (ImportKind::Table(_), Extern::Table(t)) => {
                    w(layout.table(ti), self.tables[t.0 as usize].vm as u64);
                    inst.tables.push(*t);
                    ti += 1;
                }
                (ImportKind::Global(_), Extern::Global(g)) => {
                    w(layout.global(gi), self.globals[g.0 as usize].ptr as u64);
                    inst.globals.push(*g);
                    gi += 1;
                }
                _ => return Err(InstantiateError::Link("import kind mismatch".into())),
            }
        }
        // Defined functions.
        for (i, c) in meta.code.iter().enumerate() {
            let idx = meta.num_imported_funcs + i as u32;
            let off = layout.func_ref(idx);
            w(off, (base + c.text_offset as usize) as u64);
            w(off + 8, vm as u64);
            w(
                off + 16,
                sig_ids[meta.functions[idx as usize] as usize] as u64,
            );
            inst.funcs.push(Func(vm as usize + off as usize));
        }
        let _ = FUNCREF_SIZE;
        // Defined memories, tables, globals.
        for (i, m) in meta.memories.iter().enumerate() {
            // SAFETY: the slot is inside this vmctx.
            let slot =
                unsafe { vm.add(layout.memory(meta.num_imported_memories + i as u32) as usize) }
                    as *mut VMMemory;
            let mem = MemoryInstance::new(slot, None, m.limits.min, m.limits.max)
                .map_err(InstantiateError::Resource)?;
            self.memories.push(mem);
            inst.memories.push(Memory(self.memories.len() as u32 - 1));
        }
        for (i, t) in meta.tables.iter().enumerate() {
            // SAFETY: the slot is inside this vmctx.
            let slot = unsafe { vm.add(layout.table(meta.num_imported_tables + i as u32) as usize) }
                as *mut VMTable;
            let mut tab = TableInstance {
                vm: slot,
                _own: None,
                elems: vec![0; t.limits.min as usize],
                max: t.limits.max,
                elem: t.elem,
            };
            tab.sync();
            self.tables.push(tab);
            inst.tables.push(Table(self.tables.len() as u32 - 1));
        }
        for (i, g) in meta.globals.iter().enumerate() {
            let v = self.eval_const(&inst, &g.init);
            let off = layout.global(meta.num_imported_globals + i as u32);
            w(off, v);
            self.globals.push(GlobalInstance {
                // SAFETY: the slot is inside this vmctx.
                ptr: unsafe { vm.add(off as usize) } as *mut u64,
                _own: None,
                ty: g.ty,
            });
            inst.globals.push(Global(self.globals.len() as u32 - 1));
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
        let elems: Vec<Option<Vec<u64>>> = meta
            .elements
            .iter()
            .map(|e| {
                Some(
                    e.items
                        .iter()
                        .map(|it| self.eval_const(&inst, it))
                        .collect(),
                )
            })
            .collect();
        inst.elems = elems;
        self.instances.push(inst);
        let handle = Instance(self.instances.len() as u32 - 1);
        self.initialize(handle).map_err(InstantiateError::Trap)?;
        Ok(handle)
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
                let have = self.func_type(*f);
                if want != have {
                    return err(format!("expected {want}, found {have}"));
                }
            }
            (ImportKind::Memory(mt), Extern::Memory(m)) => {
                let mi = &self.memories[m.0 as usize];
                let max = (mi.max_pages < MAX_PAGES || mi.reserved == 0).then_some(mi.max_pages);
                if !limits_ok(mi.pages(), max, &mt.limits) {
                    return err("memory limits".into());
                }
            }
            (ImportKind::Table(tt), Extern::Table(t)) => {
                let ti = &self.tables[t.0 as usize];
                if ti.elem != tt.elem || !limits_ok(ti.elems.len() as u64, ti.max, &tt.limits) {
                    return err("table type".into());
                }
            }
            (ImportKind::Global(gt), Extern::Global(g)) => {
                if self.globals[g.0 as usize].ty != *gt {
                    return err("global type".into());
                }
            }
            _ => return err("wrong kind".into()),
        }
        Ok(())
    }

    fn eval_const(&self, inst: &InstanceData, e: &ConstExpr) -> u64 {
        let gval = |g: u32| -> u64 {
            let gi = &self.globals[inst.globals[g as usize].0 as usize];
            // SAFETY: live global cell.
            unsafe { *gi.ptr }
        };
        match e {
            ConstExpr::I32(v) => *v as u32 as u64,
            ConstExpr::I64(v) => *v as u64,
            ConstExpr::F32(v) => *v as u64,
            ConstExpr::F64(v) => *v,
            ConstExpr::RefNull(_) => 0,
            ConstExpr::RefFunc(i) => inst.funcs[*i as usize].0 as u64,
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
                        ConstOp::GlobalGet(g) => st.push(gval(*g)),
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
                st.pop().unwrap_or(0)
            }
        }
    }

    /// Element and data segments, then the start function.
    fn initialize(&mut self, h: Instance) -> Result<(), Trap> {
        let ip: *mut InstanceData = &mut *self.instances[h.0 as usize];
        // SAFETY: instance data is boxed; we only read the module through it.
        let module = unsafe { (*ip).module.clone() };
        let meta = &module.meta;
        for (i, e) in meta.elements.iter().enumerate() {
            match &e.mode {
                SegmentMode::Active { index, offset } => {
                    // SAFETY: as above.
                    let off = self.eval_const(unsafe { &*ip }, offset) as u32;
                    let n = e.items.len() as u32;
                    // SAFETY: as above.
                    let res = unsafe { table_init(&mut *ip, *index, i as u32, off, 0, n) };
                    unsafe { (&mut (*ip).elems)[i] = None };
                    if let Err(k) = res {
                        return Err(Trap::new(k));
                    }
                }
                SegmentMode::Declared => unsafe { (&mut (*ip).elems)[i] = None },
                SegmentMode::Passive => {}
            }
        }
        for (i, d) in meta.data.iter().enumerate() {
            if let SegmentMode::Active { index, offset } = &d.mode {
                // SAFETY: as above.
                let off = self.eval_const(unsafe { &*ip }, offset) as u32;
                let res = unsafe {
                    memory_init(&mut *ip, *index, i as u32, off, 0, d.bytes.len() as u32)
                };
                unsafe { (&mut (*ip).data_dropped)[i] = true };
                res.map_err(Trap::new)?;
            }
        }
        if let Some(s) = meta.start {
            // SAFETY: as above.
            let f = unsafe { (&(*ip).funcs)[s as usize] };
            self.call(f, &[])?;
        }
        Ok(())
    }
}

// ---- Host calls and libcalls ----

/// Called by wasm-to-host trampolines.
extern "C" fn host_callback(ctx: *mut HostFuncCtx, values: *mut u64) -> u32 {
    // SAFETY: the trampoline passes the host context it was called with and a value
    // array sized for max(params, results).
    let (store, func, ty) = unsafe { ((*ctx).store, (*ctx).func.clone(), (*ctx).ty.clone()) };
    let args: Vec<Val> = ty
        .params
        .iter()
        .enumerate()
        .map(|(i, t)| Val::from_bits(*t, unsafe { *values.add(i) }))
        .collect();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the store outlives every call into it; compiled code does not hold
        // references into it across this call.
        let mut caller = Caller {
            store: unsafe { &mut *store },
        };
        func(&mut caller, &args)
    }));
    let r = match r {
        Ok(r) => r,
        Err(_) => Err(Trap::host("host function panicked")),
    };
    match r {
        Ok(results) => {
            if results.len() != ty.results.len()
                || results.iter().zip(&ty.results).any(|(v, t)| v.ty() != *t)
            {
                // SAFETY: as above.
                unsafe {
                    (*store).pending = Some(Trap::host(
                        "host function returned values of the wrong type",
                    ))
                };
                return 1;
            }
            for (i, v) in results.iter().enumerate() {
                // SAFETY: as above.
                unsafe { *values.add(i) = v.to_bits() };
            }
            0
        }
        Err(t) => {
            // SAFETY: as above.
            unsafe { (*store).pending = Some(t) };
            1
        }
    }
}

fn instance_of<'a>(vmctx: *mut u8) -> &'a mut InstanceData {
    // SAFETY: every VM context holds its instance's address at offset 24.
    unsafe { &mut *(*(vmctx.add(24) as *const *mut InstanceData)) }
}

fn store_of<'a>(inst: &InstanceData) -> &'a mut StoreData {
    // SAFETY: the instance's store outlives it.
    unsafe { &mut *inst.store }
}

fn fail(inst: &InstanceData, k: TrapKind) -> u32 {
    store_of(inst).pending = Some(Trap::new(k));
    1
}

extern "C" fn lc_memory_grow(vmctx: *mut u8, mem: u32, delta: u32) -> u32 {
    let inst = instance_of(vmctx);
    let m = inst.memories[mem as usize];
    match store_of(inst).memories[m.0 as usize].grow(delta as u64) {
        Some(old) => old as u32,
        None => u32::MAX,
    }
}

fn mem_slice<'a>(inst: &InstanceData, mem: u32) -> &'a mut [u8] {
    let m = inst.memories[mem as usize];
    store_of(inst).memories[m.0 as usize].data_mut()
}

extern "C" fn lc_memory_copy(
    vmctx: *mut u8,
    dm: u32,
    sm: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    let inst = instance_of(vmctx);
    let (d, s, n) = (dst as usize, src as usize, len as usize);
    let dl = mem_slice(inst, dm).len();
    let sl = mem_slice(inst, sm).len();
    if d + n > dl || s + n > sl {
        return fail(inst, TrapKind::MemoryOutOfBounds);
    }
    let dp = mem_slice(inst, dm).as_mut_ptr();
    let sp = mem_slice(inst, sm).as_ptr();
    // SAFETY: both ranges were bounds-checked; `copy` handles overlap.
    unsafe { std::ptr::copy(sp.add(s), dp.add(d), n) };
    0
}

extern "C" fn lc_memory_fill(vmctx: *mut u8, mem: u32, dst: u32, val: u32, len: u32) -> u32 {
    let inst = instance_of(vmctx);
    let m = mem_slice(inst, mem);
    let (d, n) = (dst as usize, len as usize);
    if d + n > m.len() {
        return fail(inst, TrapKind::MemoryOutOfBounds);
    }
    m[d..d + n].fill(val as u8);
    0
}

/// Copies part of data segment `data` into memory `mem`.
fn memory_init(
    inst: &mut InstanceData,
    mem: u32,
    data: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> Result<(), TrapKind> {
    let bytes: &[u8] = if inst.data_dropped[data as usize] {
        &[]
    } else {
        &inst.module.meta.data[data as usize].bytes
    };
    let m = mem_slice(inst, mem);
    let (d, s, n) = (dst as usize, src as usize, len as usize);
    if s + n > bytes.len() || d + n > m.len() {
        return Err(TrapKind::MemoryOutOfBounds);
    }
    m[d..d + n].copy_from_slice(&bytes[s..s + n]);
    Ok(())
}

extern "C" fn lc_memory_init(
    vmctx: *mut u8,
    mem: u32,
    data: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    let inst = instance_of(vmctx);
    match memory_init(inst, mem, data, dst, src, len) {
        Ok(()) => 0,
        Err(k) => fail(inst, k),
    }
}

extern "C" fn lc_data_drop(vmctx: *mut u8, data: u32) {
    instance_of(vmctx).data_dropped[data as usize] = true;
}

fn table_of<'a>(inst: &InstanceData, t: u32) -> &'a mut TableInstance {
    let h = inst.tables[t as usize];
    &mut store_of(inst).tables[h.0 as usize]
}

extern "C" fn lc_table_grow(vmctx: *mut u8, table: u32, init: u64, delta: u32) -> u32 {
    let inst = instance_of(vmctx);
    match table_of(inst, table).grow(delta as u64, init) {
        Some(old) => old as u32,
        None => u32::MAX,
    }
}

extern "C" fn lc_table_fill(vmctx: *mut u8, table: u32, dst: u32, val: u64, len: u32) -> u32 {
    let inst = instance_of(vmctx);
    let t = table_of(inst, table);
    let (d, n) = (dst as usize, len as usize);
    if d + n > t.elems.len() {
        return fail(inst, TrapKind::TableOutOfBounds);
    }
    t.elems[d..d + n].fill(val);
    0
}

extern "C" fn lc_table_copy(vmctx: *mut u8, dt: u32, st: u32, dst: u32, src: u32, len: u32) -> u32 {
    let inst = instance_of(vmctx);
    let (d, s, n) = (dst as usize, src as usize, len as usize);
    let slen = table_of(inst, st).elems.len();
    let dlen = table_of(inst, dt).elems.len();
    if s + n > slen || d + n > dlen {
        return fail(inst, TrapKind::TableOutOfBounds);
    }
    let tmp: Vec<u64> = table_of(inst, st).elems[s..s + n].to_vec();
    table_of(inst, dt).elems[d..d + n].copy_from_slice(&tmp);
    0
}

fn table_init(
    inst: &mut InstanceData,
    table: u32,
    elem: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> Result<(), TrapKind> {
    let items: Vec<u64> = inst.elems[elem as usize].clone().unwrap_or_default();
    let t = table_of(inst, table);
    let (d, s, n) = (dst as usize, src as usize, len as usize);
    if s + n > items.len() || d + n > t.elems.len() {
        return Err(TrapKind::TableOutOfBounds);
    }
    t.elems[d..d + n].copy_from_slice(&items[s..s + n]);
    Ok(())
}

extern "C" fn lc_table_init(
    vmctx: *mut u8,
    table: u32,
    elem: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    let inst = instance_of(vmctx);
    match table_init(inst, table, elem, dst, src, len) {
        Ok(()) => 0,
        Err(k) => fail(inst, k),
    }
}

extern "C" fn lc_elem_drop(vmctx: *mut u8, elem: u32) {
    instance_of(vmctx).elems[elem as usize] = None;
}

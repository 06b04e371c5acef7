//! Instances: the handle, what the store keeps per instance, exports, and the operations
//! on an instance's segments (shared by instantiation and the libcalls).

use super::{Func, Global, HeapCell, Memory, StoreData, StoreInner, Table};
use crate::module::ModuleInner;
use std::collections::HashMap;
use std::sync::Arc;
use wasmprecomp_artifact::TrapKind;

indexed_handle! {
    /// An instance of a store.
    Instance
}

/// Something an instance can import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extern {
    Func(Func),
    Memory(Memory),
    Table(Table),
    Global(Global),
}

/// What the store keeps per instance. Its index in the store is written into the VM
/// context's runtime-private word, where the libcalls find it.
pub(crate) struct InstanceData {
    pub module: Arc<ModuleInner>,
    /// The VM context, at the address compiled code holds.
    pub vmctx: HeapCell<[u64]>,
    /// Every function, memory, table and global by module index, imports first.
    pub funcs: Vec<Func>,
    pub memories: Vec<Memory>,
    pub tables: Vec<Table>,
    pub globals: Vec<Global>,
    /// Evaluated element segments; `None` once dropped.
    pub elems: Vec<Option<Vec<u64>>>,
    pub data_dropped: Vec<bool>,
    pub exports: HashMap<String, Extern>,
}

impl StoreInner {
    /// Adds `inst`; its handle.
    pub(crate) fn push_instance(&mut self, inst: InstanceData) -> Instance {
        self.instances.push(inst);
        Instance {
            store: self.id,
            index: self.instances.len() as u32 - 1,
        }
    }

    /// The index the next instance will get.
    pub(crate) fn next_instance_index(&self) -> usize {
        self.instances.len()
    }

    /// The instance whose VM context is at `vmctx`, if one of this store's is.
    pub(crate) fn instance_at_vmctx(&self, vmctx: usize) -> Option<Instance> {
        let index = self
            .instances
            .iter()
            .position(|i| i.vmctx.as_ptr() as *mut u64 as usize == vmctx)?;
        Some(Instance {
            store: self.id,
            index: index as u32,
        })
    }

    /// The instance `i` names.
    #[track_caller]
    pub(crate) fn instance(&self, i: Instance) -> &InstanceData {
        self.check(i);
        &self.instances[i.index as usize]
    }

    /// Copies part of data segment `data` of instance `inst` into its memory `mem`.
    pub(crate) fn memory_init(
        &mut self,
        inst: usize,
        mem: u32,
        data: u32,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        let i = &self.instances[inst];
        let bytes: &[u8] = if i.data_dropped[data as usize] {
            &[]
        } else {
            &i.module.meta.data[data as usize].bytes
        };
        let m = i.memories[mem as usize];
        debug_assert!(m.store == self.id);
        self.memories[m.index as usize].init(dst, bytes, src, len)
    }

    /// Copies part of element segment `elem` of instance `inst` into its table `table`.
    pub(crate) fn table_init(
        &mut self,
        inst: usize,
        table: u32,
        elem: u32,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        let i = &self.instances[inst];
        let items: &[u64] = i.elems[elem as usize].as_deref().unwrap_or_default();
        let t = i.tables[table as usize];
        debug_assert!(t.store == self.id);
        self.tables[t.index as usize].init(dst, items, src, len)
    }

    pub(crate) fn data_drop(&mut self, inst: usize, data: u32) {
        self.instances[inst].data_dropped[data as usize] = true;
    }

    pub(crate) fn elem_drop(&mut self, inst: usize, elem: u32) {
        self.instances[inst].elems[elem as usize] = None;
    }
}

impl StoreData {
    /// An export of an instance.
    ///
    /// # Panics
    ///
    /// When `i` comes from another store (as every method here).
    #[track_caller]
    pub fn get_export(&self, i: Instance, name: &str) -> Option<Extern> {
        self.inner().instance(i).exports.get(name).copied()
    }

    #[track_caller]
    pub fn get_func(&self, i: Instance, name: &str) -> Option<Func> {
        match self.get_export(i, name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    #[track_caller]
    pub fn get_memory(&self, i: Instance, name: &str) -> Option<Memory> {
        match self.get_export(i, name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// All exports of an instance, sorted by name.
    #[track_caller]
    pub fn exports(&self, i: Instance) -> Vec<(String, Extern)> {
        let mut v: Vec<_> = self
            .inner()
            .instance(i)
            .exports
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

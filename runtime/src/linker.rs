//! Resolving imports by name.

use crate::module::Module;
use crate::store::{Extern, Func, HostFunc, Instance, IntoFunc, Store, StoreData};
use crate::FuncType;
use crate::InstantiateError;
use std::collections::HashMap;
use wasmprecomp_artifact::ImportKind;

/// A name -> definition map used to satisfy a module's imports.
#[derive(Default, Clone)]
pub struct Linker {
    defs: HashMap<(String, String), Extern>,
}

impl Linker {
    pub fn new() -> Linker {
        Linker::default()
    }

    /// Defines `module::name`.
    pub fn define(&mut self, module: &str, name: &str, ext: Extern) -> &mut Self {
        self.defs
            .insert((module.to_string(), name.to_string()), ext);
        self
    }

    /// Defines `module::name` as a host function made from a Rust closure
    /// ([`Func::wrap`]); instantiation checks its type against the import's.
    pub fn func_wrap<Params, Results>(
        &mut self,
        store: &mut StoreData,
        module: &str,
        name: &str,
        f: impl IntoFunc<Params, Results>,
    ) -> &mut Self {
        let f = Func::wrap(store, f);
        self.define(module, name, Extern::Func(f))
    }

    /// Defines `module::name` as a host function of type `ty` on [`Val`](crate::Val)s
    /// ([`StoreData::new_func`]).
    pub fn func_new(
        &mut self,
        store: &mut StoreData,
        module: &str,
        name: &str,
        ty: FuncType,
        f: HostFunc,
    ) -> &mut Self {
        let f = store.new_func(ty, f);
        self.define(module, name, Extern::Func(f))
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn define_instance(
        &mut self,
        store: &Store,
        module: &str,
        instance: Instance,
    ) -> &mut Self {
        for (name, ext) in store.exports(instance) {
            self.define(module, &name, ext);
        }
        self
    }

    pub fn get(&self, module: &str, name: &str) -> Option<Extern> {
        self.defs
            .get(&(module.to_string(), name.to_string()))
            .copied()
    }

    /// Instantiates `module`, resolving its imports by name.
    pub fn instantiate(
        &self,
        store: &mut Store,
        module: &Module,
    ) -> Result<Instance, InstantiateError> {
        let mut imports = Vec::with_capacity(module.meta().imports.len());
        for imp in &module.meta().imports {
            let ext = self.get(&imp.module, &imp.name).ok_or_else(|| {
                let kind = match imp.kind {
                    ImportKind::Func(_) => "function",
                    ImportKind::Table(_) => "table",
                    ImportKind::Memory(_) => "memory",
                    ImportKind::Global(_) => "global",
                };
                InstantiateError::Link(format!(
                    "unknown import: {kind} `{}::{}`",
                    imp.module, imp.name
                ))
            })?;
            imports.push(ext);
        }
        store.instantiate(module, &imports)
    }
}

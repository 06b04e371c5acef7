//! Handles belong to the store that created them: using one with another store panics
//! with a clear message, and no use of the safe API reaches another store's state.

use std::sync::Arc;
use wasmprecomp_runtime::{Extern, FuncType, Linker, Store, Trap, Val, ValType};
use wasmprecomp_tests::{compile, instantiate};

const EXPORTS: &str = r#"(module
  (memory (export "memory") 1)
  (table (export "table") 1 funcref)
  (global (export "global") (mut i32) (i32.const 7))
  (func $id (export "id") (param i32) (result i32) local.get 0)
  (func (export "ref") (result funcref) ref.func $id)
  (elem declare func $id))"#;

#[test]
#[should_panic(expected = "Instance handle used with a store other than the one that created it")]
fn get_export_with_another_stores_instance_panics() {
    let (_a, i) = instantiate(EXPORTS);
    Store::new().get_export(i, "id");
}

#[test]
#[should_panic(expected = "Instance handle used with a store other than the one that created it")]
fn get_func_with_another_stores_instance_panics() {
    let (_a, i) = instantiate(EXPORTS);
    Store::new().get_func(i, "id");
}

#[test]
#[should_panic(expected = "Instance handle used with a store other than the one that created it")]
fn get_memory_with_another_stores_instance_panics() {
    let (_a, i) = instantiate(EXPORTS);
    Store::new().get_memory(i, "memory");
}

#[test]
#[should_panic(expected = "Instance handle used with a store other than the one that created it")]
fn exports_of_another_stores_instance_panics() {
    let (_a, i) = instantiate(EXPORTS);
    Store::new().exports(i);
}

#[test]
#[should_panic(expected = "Instance handle used with a store other than the one that created it")]
fn define_instance_with_another_stores_instance_panics() {
    let (_a, i) = instantiate(EXPORTS);
    Linker::new().define_instance(&Store::new(), "m", i);
}

#[test]
#[should_panic(expected = "Func handle used with a store other than the one that created it")]
fn calling_an_exported_function_in_another_store_panics() {
    let (a, i) = instantiate(EXPORTS);
    let f = a.get_func(i, "id").unwrap();
    let _ = Store::new().call(f, &[Val::I32(1)]);
}

#[test]
fn a_function_reference_returned_by_wasm_belongs_to_the_calling_store() {
    let (mut a, i) = instantiate(EXPORTS);
    let get_ref = a.get_func(i, "ref").unwrap();
    let r = a.call(get_ref, &[]).unwrap();
    let Val::FuncRef(Some(f)) = r[0] else {
        panic!("expected a function reference, got {r:?}");
    };
    assert_eq!(a.call(f, &[Val::I32(5)]).unwrap(), vec![Val::I32(5)]);
    let other = std::panic::catch_unwind(|| Store::new().func_type(f).clone());
    assert!(other.is_err(), "another store accepted the reference");
}

#[test]
#[should_panic(expected = "Table handle used with a store other than the one that created it")]
fn table_get_of_an_exported_table_in_another_store_panics() {
    let (a, i) = instantiate(EXPORTS);
    let Some(Extern::Table(t)) = a.get_export(i, "table") else {
        panic!("no table export");
    };
    Store::new().table_get(t, 0);
}

#[test]
#[should_panic(expected = "Global handle used with a store other than the one that created it")]
fn global_get_of_an_exported_global_in_another_store_panics() {
    let (a, i) = instantiate(EXPORTS);
    let Some(Extern::Global(g)) = a.get_export(i, "global") else {
        panic!("no global export");
    };
    Store::new().global_get(g);
}

const IMPORTS: &str = r#"(module
  (import "host" "f" (func (param i32) (result i32)))
  (import "host" "memory" (memory 1))
  (import "host" "table" (table 1 funcref))
  (import "host" "global" (global (mut i32))))"#;

/// A definition in `store` for the import `host::<name>` of [`IMPORTS`].
fn definition(store: &mut Store, name: &str) -> Extern {
    match name {
        "f" => {
            let ty = FuncType {
                params: vec![ValType::I32],
                results: vec![ValType::I32],
            };
            Extern::Func(store.new_func(ty, Arc::new(|_, a| Ok(a.to_vec()))))
        }
        "memory" => Extern::Memory(store.new_memory(1, None).unwrap()),
        "table" => Extern::Table(store.new_table(ValType::FuncRef, 1, None, Val::FuncRef(None))),
        _ => {
            let ty = wasmprecomp_runtime::GlobalType {
                ty: ValType::I32,
                mutable: true,
            };
            Extern::Global(store.new_global(ty, Val::I32(0)))
        }
    }
}

/// A linker for [`IMPORTS`] whose definitions come from `store`, except the one named
/// `foreign`, which comes from a second store.
fn linker_with_one_foreign_import(store: &mut Store, foreign: &str) -> Linker {
    let mut other = Store::new();
    let mut linker = Linker::new();
    for name in ["f", "memory", "table", "global"] {
        let s = if name == foreign {
            &mut other
        } else {
            &mut *store
        };
        linker.define("host", name, definition(s, name));
    }
    // `other` drops here: a handle outliving its store must not matter either.
    linker
}

#[test]
fn imports_from_the_same_store_link() {
    let mut store = Store::new();
    let linker = linker_with_one_foreign_import(&mut store, "");
    linker.instantiate(&mut store, &compile(IMPORTS)).unwrap();
}

#[test]
#[should_panic(expected = "Func handle used with a store other than the one that created it")]
fn importing_another_stores_function_panics() {
    let mut store = Store::new();
    let linker = linker_with_one_foreign_import(&mut store, "f");
    let _ = linker.instantiate(&mut store, &compile(IMPORTS));
}

#[test]
#[should_panic(expected = "Memory handle used with a store other than the one that created it")]
fn importing_another_stores_memory_panics() {
    let mut store = Store::new();
    let linker = linker_with_one_foreign_import(&mut store, "memory");
    let _ = linker.instantiate(&mut store, &compile(IMPORTS));
}

#[test]
#[should_panic(expected = "Table handle used with a store other than the one that created it")]
fn importing_another_stores_table_panics() {
    let mut store = Store::new();
    let linker = linker_with_one_foreign_import(&mut store, "table");
    let _ = linker.instantiate(&mut store, &compile(IMPORTS));
}

#[test]
#[should_panic(expected = "Global handle used with a store other than the one that created it")]
fn importing_another_stores_global_panics() {
    let mut store = Store::new();
    let linker = linker_with_one_foreign_import(&mut store, "global");
    let _ = linker.instantiate(&mut store, &compile(IMPORTS));
}

#[test]
#[should_panic(expected = "Memory handle used with a store other than the one that created it")]
fn pointing_wasi_at_another_stores_memory_panics() {
    let (a, i) = instantiate(EXPORTS);
    let m = a.get_memory(i, "memory").unwrap();
    wasmprecomp_runtime::wasi::WasiCtx::new().set_memory(&Store::new(), m);
}

/// A module calling host function `host::get` (no parameters, one funcref result).
const CALLS_GET: &str = r#"(module
  (import "host" "get" (func $get (result funcref)))
  (func (export "run") (result i32) call $get ref.is_null))"#;

#[test]
fn a_host_function_returning_another_stores_function_traps() {
    let mut other = Store::new();
    let foreign = other.new_func(FuncType::default(), Arc::new(|_, _| Ok(vec![])));
    let mut store = Store::new();
    let ty = FuncType {
        params: vec![],
        results: vec![ValType::FuncRef],
    };
    let get = store.new_func(
        ty,
        Arc::new(move |_, _| Ok(vec![Val::FuncRef(Some(foreign))])),
    );
    let mut linker = Linker::new();
    linker.define("host", "get", Extern::Func(get));
    let i = linker.instantiate(&mut store, &compile(CALLS_GET)).unwrap();
    let run = store.get_func(i, "run").unwrap();
    let err: Trap = store.call(run, &[]).unwrap_err();
    let message = err.message.unwrap_or_default();
    assert!(
        message.contains("used with a store other than the one that created it"),
        "{message}"
    );
}

#[test]
fn a_host_function_reached_only_through_a_table_is_callable() {
    // The host function's signature is declared by no module yet when the table is made,
    // so it gets its trampoline only when the module below arrives.
    let mut store = Store::new();
    let ty = FuncType {
        params: vec![ValType::I32],
        results: vec![ValType::I32],
    };
    let double = store.new_func(
        ty,
        Arc::new(|_, a| Ok(vec![Val::I32(a[0].unwrap_i32() * 2)])),
    );
    let table = store.new_table(ValType::FuncRef, 1, None, Val::FuncRef(Some(double)));
    let mut linker = Linker::new();
    linker.define("host", "table", Extern::Table(table));
    let wat = r#"(module
      (import "host" "table" (table 1 funcref))
      (type $t (func (param i32) (result i32)))
      (func (export "run") (param i32) (result i32)
        local.get 0 i32.const 0 call_indirect (type $t)))"#;
    let i = linker.instantiate(&mut store, &compile(wat)).unwrap();
    let run = store.get_func(i, "run").unwrap();
    assert_eq!(
        store.call(run, &[Val::I32(21)]).unwrap(),
        vec![Val::I32(42)]
    );
}

#[test]
fn a_store_swapped_away_and_dropped_during_a_call_lives_until_the_call_returns() {
    // The host function swaps its caller's store with a fresh one and drops that one,
    // which then holds the running store's state; the wasm code then keeps using its
    // memory.
    let mut store = Store::new();
    let swap = store.new_func(
        FuncType::default(),
        Arc::new(|caller, _| {
            let mut fresh = Store::new();
            std::mem::swap(caller.store, &mut *fresh);
            drop(fresh);
            Ok(vec![])
        }),
    );
    let mut linker = Linker::new();
    linker.define("host", "swap", Extern::Func(swap));
    let wat = r#"(module
      (import "host" "swap" (func $swap))
      (memory 1)
      (func (export "run") (result i32)
        i32.const 0 i32.const 41 i32.store
        call $swap
        i32.const 0 i32.load i32.const 1 i32.add))"#;
    let i = linker.instantiate(&mut store, &compile(wat)).unwrap();
    let run = store.get_func(i, "run").unwrap();
    assert_eq!(store.call(run, &[]).unwrap(), vec![Val::I32(42)]);
    // `store` now holds the fresh state, which knows nothing of the instance.
    let lookup =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.get_func(i, "run")));
    assert!(
        lookup.is_err(),
        "the swapped-in state accepted the old instance"
    );
}

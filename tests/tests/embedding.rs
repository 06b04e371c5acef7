//! The embedding API: host functions from Rust closures (`Func::wrap`, `Linker::func_wrap`),
//! typed calls (`TypedFunc`), and a store's resource limiter.

use std::sync::{Arc, Mutex};
use wasmprecomp_runtime::{
    Caller, Extern, Func, FuncType, InstantiateError, Linker, ResourceLimiter, Store, StoreLimits,
    Trap, TrapKind, Val, ValType,
};
use wasmprecomp_tests::compile;

/// Imports host functions of several arities and result types, and calls each from an
/// export of the same shape.
const IMPORTS: &str = r#"(module
  (import "host" "zero" (func $zero (result i32)))
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (import "host" "mix" (func $mix (param i32 i64 f32 f64) (result f64)))
  (import "host" "pair" (func $pair (param i64) (result i32 i64)))
  (import "host" "eight" (func $eight (param i32 i32 i32 i32 i32 i32 i32 i32) (result i64)))
  (import "host" "fail" (func $fail (param i32) (result i32)))
  (import "host" "peek" (func $peek (param i32) (result i32)))
  (import "host" "note" (func $note (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\2a")
  (func (export "zero") (result i32) call $zero)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 call $add)
  (func (export "mix") (param i32 i64 f32 f64) (result f64)
    local.get 0 local.get 1 local.get 2 local.get 3 call $mix)
  (func (export "pair") (param i64) (result i32 i64) local.get 0 call $pair)
  (func (export "eight") (result i64)
    i32.const 1 i32.const 2 i32.const 3 i32.const 4
    i32.const 5 i32.const 6 i32.const 7 i32.const 8 call $eight)
  (func (export "fail") (param i32) (result i32) local.get 0 call $fail)
  (func (export "peek") (param i32) (result i32) local.get 0 call $peek)
  (func (export "note") (param i32) local.get 0 call $note)
)"#;

fn link(store: &mut Store, notes: Arc<Mutex<Vec<i32>>>) -> Linker {
    let mut l = Linker::new();
    l.func_wrap(store, "host", "zero", || 7i32)
        .func_wrap(store, "host", "add", |a: i32, b: i32| a.wrapping_add(b))
        .func_wrap(store, "host", "mix", |a: i32, b: i64, c: f32, d: f64| {
            a as f64 + b as f64 + c as f64 + d
        })
        .func_wrap(store, "host", "pair", |x: i64| ((x as i32) * 2, x + 1))
        .func_wrap(
            store,
            "host",
            "eight",
            |a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32| {
                [a, b, c, d, e, f, g, h]
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (*v as i64) << (4 * i))
                    .sum::<i64>()
            },
        )
        .func_wrap(store, "host", "fail", |x: i32| -> Result<i32, Trap> {
            if x < 0 {
                Err(Trap::host(format!("negative: {x}")))
            } else {
                Ok(x)
            }
        })
        .func_wrap(store, "host", "peek", |caller: &mut Caller, addr: i32| {
            let m = caller
                .get_memory("memory")
                .expect("the caller exports memory");
            caller.store.memory_data(m)[addr as usize] as i32
        })
        .func_wrap(store, "host", "note", move |x: i32| {
            notes.lock().unwrap().push(x);
        });
    l
}

fn imports_instance() -> (Store, wasmprecomp_runtime::Instance, Arc<Mutex<Vec<i32>>>) {
    let mut store = Store::new();
    let notes = Arc::new(Mutex::new(Vec::new()));
    let l = link(&mut store, notes.clone());
    let i = l.instantiate(&mut store, &compile(IMPORTS)).expect("links");
    (store, i, notes)
}

fn export(store: &Store, i: wasmprecomp_runtime::Instance, name: &str) -> Func {
    store.get_func(i, name).expect("export")
}

#[test]
fn wrapped_closures_of_every_arity_and_result_type_are_called_by_compiled_code() {
    let (mut store, i, notes) = imports_instance();
    let zero = export(&store, i, "zero").typed::<(), i32>(&store).unwrap();
    assert_eq!(zero.call(&mut store, ()).unwrap(), 7);
    let add = export(&store, i, "add")
        .typed::<(i32, i32), i32>(&store)
        .unwrap();
    assert_eq!(add.call(&mut store, (40, 2)).unwrap(), 42);
    assert_eq!(add.call(&mut store, (i32::MAX, 1)).unwrap(), i32::MIN);
    let mix = export(&store, i, "mix")
        .typed::<(i32, i64, f32, f64), f64>(&store)
        .unwrap();
    assert_eq!(mix.call(&mut store, (1, 2, 0.5, 0.25)).unwrap(), 3.75);
    let pair = export(&store, i, "pair")
        .typed::<i64, (i32, i64)>(&store)
        .unwrap();
    assert_eq!(pair.call(&mut store, 20).unwrap(), (40, 21));
    let eight = export(&store, i, "eight").typed::<(), i64>(&store).unwrap();
    assert_eq!(eight.call(&mut store, ()).unwrap(), 0x8765_4321);
    let note = export(&store, i, "note").typed::<i32, ()>(&store).unwrap();
    note.call(&mut store, 5).unwrap();
    note.call(&mut store, 6).unwrap();
    assert_eq!(*notes.lock().unwrap(), [5, 6]);
}

#[test]
fn a_wrapped_closure_sees_the_calling_instances_memory() {
    let (mut store, i, _) = imports_instance();
    let peek = export(&store, i, "peek").typed::<i32, i32>(&store).unwrap();
    assert_eq!(peek.call(&mut store, 16).unwrap(), 42);
    let m = store.get_memory(i, "memory").unwrap();
    store.memory_data_mut(m)[16] = 9;
    assert_eq!(peek.call(&mut store, 16).unwrap(), 9);
}

#[test]
fn a_wrapped_closures_error_or_panic_is_a_host_trap() {
    let (mut store, i, _) = imports_instance();
    let fail = export(&store, i, "fail").typed::<i32, i32>(&store).unwrap();
    assert_eq!(fail.call(&mut store, 3).unwrap(), 3);
    let t = fail.call(&mut store, -1).unwrap_err();
    assert_eq!(t.kind, TrapKind::HostError);
    assert_eq!(t.message.as_deref(), Some("negative: -1"));
    let boom = Func::wrap(&mut store, |x: i32| -> i32 {
        if x > 0 {
            panic!("boom")
        }
        x
    });
    let mut l = Linker::new();
    l.define("host", "f", Extern::Func(boom));
    let m = compile(
        r#"(module (import "host" "f" (func $f (param i32) (result i32)))
           (func (export "g") (param i32) (result i32) local.get 0 call $f))"#,
    );
    let j = l.instantiate(&mut store, &m).unwrap();
    let g = export(&store, j, "g").typed::<i32, i32>(&store).unwrap();
    assert_eq!(g.call(&mut store, 0).unwrap(), 0);
    let t = g.call(&mut store, 1).unwrap_err();
    assert_eq!(t.message.as_deref(), Some("host function panicked"));
}

#[test]
fn a_wrapped_closure_of_the_wrong_type_is_refused_at_link_time() {
    let mut store = Store::new();
    let mut l = Linker::new();
    l.func_wrap(&mut store, "host", "add", |a: i64, b: i64| a + b);
    let m = compile(r#"(module (import "host" "add" (func (param i32 i32) (result i32))))"#);
    let e = l.instantiate(&mut store, &m).unwrap_err();
    assert!(matches!(e, InstantiateError::Link(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "unlinkable: incompatible import type for `host::add`: expected (i32, i32) -> (i32), found (i64, i64) -> (i64)"
    );
}

#[test]
fn a_typed_use_of_the_wrong_type_is_refused_with_both_types() {
    let (store, i, _) = imports_instance();
    let add = export(&store, i, "add");
    let e = add.typed::<(i64, i64), i64>(&store).unwrap_err();
    assert_eq!(
        e.to_string(),
        "function has type (i32, i32) -> (i32), not (i64, i64) -> (i64) as its typed use asks"
    );
    assert!(add.typed::<i32, i32>(&store).is_err());
    assert!(add.typed::<(i32, i32), ()>(&store).is_err());
    assert!(
        add.typed::<(u32, u32), u32>(&store).is_ok(),
        "u32 is an i32"
    );
}

#[test]
fn typed_calls_reach_host_functions_and_report_traps() {
    let mut store = Store::new();
    let typed_host = Func::wrap(&mut store, |a: u64, b: f32| a as f32 * b);
    let f = typed_host.typed::<(u64, f32), f32>(&store).unwrap();
    assert_eq!(f.call(&mut store, (3, 1.5)).unwrap(), 4.5);
    // A typed host function called through the untyped API, and the other way round.
    assert_eq!(
        store
            .call(typed_host, &[Val::I64(2), Val::F32(2.0f32.to_bits())])
            .unwrap(),
        [Val::F32(4.0f32.to_bits())]
    );
    let ty = FuncType {
        params: vec![ValType::I32],
        results: vec![ValType::I32],
    };
    let untyped = store.new_func(
        ty,
        Arc::new(|_, a| Ok(vec![Val::I32(a[0].unwrap_i32() * 3)])),
    );
    let u = untyped.typed::<i32, i32>(&store).unwrap();
    assert_eq!(u.call(&mut store, 5).unwrap(), 15);
    let m = compile(
        r#"(module (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s))"#,
    );
    let i = Linker::new().instantiate(&mut store, &m).unwrap();
    let div = export(&store, i, "div")
        .typed::<(i32, i32), i32>(&store)
        .unwrap();
    assert_eq!(div.call(&mut store, (7, 2)).unwrap(), 3);
    let t = div.call(&mut store, (7, 0)).unwrap_err();
    assert_eq!(t.kind, TrapKind::IntegerDivideByZero);
    assert!(t.wasm_offset.is_some());
}

#[test]
#[should_panic(expected = "Func handle used with a store other than the one that created it")]
fn a_typed_call_with_another_store_panics() {
    let mut a = Store::new();
    let f = Func::wrap(&mut a, |x: i32| x)
        .typed::<i32, i32>(&a)
        .unwrap();
    let _ = f.call(&mut Store::new(), 1);
}

const GROWS: &str = r#"(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
  (func (export "tgrow") (param i32) (result i32) ref.null func local.get 0 table.grow 0))"#;

fn limited(limits: StoreLimits) -> (Store, wasmprecomp_runtime::Instance) {
    let mut store = Store::new();
    store.set_limiter(limits);
    let i = Linker::new()
        .instantiate(&mut store, &compile(GROWS))
        .expect("within limits");
    (store, i)
}

#[test]
fn a_refused_memory_grow_returns_minus_one_and_leaves_the_memory_as_it_was() {
    let (mut store, i) = limited(StoreLimits::new().memory_size(3 * 65536));
    let grow = export(&store, i, "grow").typed::<i32, i32>(&store).unwrap();
    let size = export(&store, i, "size").typed::<(), i32>(&store).unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(size.call(&mut store, ()).unwrap(), 3);
    assert_eq!(
        grow.call(&mut store, 0).unwrap(),
        3,
        "growing by 0 is always allowed"
    );
    let m = store.get_memory(i, "memory").unwrap();
    assert_eq!(
        store.memory_grow(m, 1),
        None,
        "the host API asks the limiter too"
    );
    assert_eq!(store.memory_data(m).len(), 3 * 65536);
}

#[test]
fn a_refused_table_grow_returns_minus_one() {
    let (mut store, i) = limited(StoreLimits::new().table_elements(3));
    let tgrow = export(&store, i, "tgrow")
        .typed::<i32, i32>(&store)
        .unwrap();
    assert_eq!(tgrow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(tgrow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(tgrow.call(&mut store, 0).unwrap(), 3);
}

#[test]
fn instantiation_over_a_limit_fails_clearly_and_changes_nothing() {
    let cases: [(StoreLimits, &str); 4] = [
        (
            StoreLimits::new().memory_size(65535),
            "resource limit: memory 0 of 1 pages (65536 bytes) is refused by the store's resource limiter",
        ),
        (
            StoreLimits::new().table_elements(0),
            "resource limit: table 0 of 1 elements is refused by the store's resource limiter",
        ),
        (
            StoreLimits::new().memories(0),
            "resource limit: instantiation would make 1 memories, over the store's limit of 0",
        ),
        (
            StoreLimits::new().instances(0),
            "resource limit: instantiation would make 1 instances, over the store's limit of 0",
        ),
    ];
    let m = compile(GROWS);
    for (limits, message) in cases {
        let mut store = Store::new();
        store.set_limiter(limits);
        let e = Linker::new().instantiate(&mut store, &m).unwrap_err();
        assert!(matches!(e, InstantiateError::Resource(_)), "{e:?}");
        assert_eq!(e.to_string(), message);
        // Nothing was created: lifting the limit, the first instance is instance 0 with
        // memory 0.
        store.set_limiter(StoreLimits::new());
        let i = Linker::new().instantiate(&mut store, &m).unwrap();
        assert!(store.get_memory(i, "memory").is_some());
    }
    let mut store = Store::new();
    store.set_limiter(StoreLimits::new().instances(1));
    Linker::new().instantiate(&mut store, &m).unwrap();
    let e = Linker::new().instantiate(&mut store, &m).unwrap_err();
    assert!(e.to_string().contains("would make 2 instances"), "{e}");
}

/// What a limiter was asked: (current, desired, maximum) per growth.
type Asked = Arc<Mutex<Vec<(usize, usize, Option<usize>)>>>;

/// A limiter that records what it is asked and refuses growth past `pages`.
struct Recorder {
    pages: usize,
    asked: Asked,
}

impl ResourceLimiter for Recorder {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        self.asked.lock().unwrap().push((current, desired, maximum));
        desired <= self.pages * 65536
    }
    fn table_growing(&mut self, _: u64, _: u64, _: Option<u64>) -> bool {
        true
    }
}

#[test]
fn a_custom_limiter_is_asked_with_bytes_and_the_memorys_maximum() {
    let asked: Asked = Arc::default();
    let mut store = Store::new();
    store.set_limiter(Recorder {
        pages: 2,
        asked: asked.clone(),
    });
    let m = compile(
        r#"(module (memory 1 4)
           (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
    );
    let i = Linker::new().instantiate(&mut store, &m).unwrap();
    let grow = export(&store, i, "grow").typed::<i32, i32>(&store).unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    let p = 65536;
    assert_eq!(
        *asked.lock().unwrap(),
        [
            (0, p, Some(4 * p)),
            (p, 2 * p, Some(4 * p)),
            (2 * p, 3 * p, Some(4 * p))
        ]
    );
}

#[test]
fn a_host_memory_over_the_limit_is_refused() {
    let mut store = Store::new();
    store.set_limiter(StoreLimits::new().memory_size(65536));
    assert!(store.new_memory(1, None).is_ok());
    let e = store.new_memory(2, None).unwrap_err();
    assert!(e.contains("refused by the store's resource limiter"), "{e}");
}

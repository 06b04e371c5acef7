//! Fuel and epoch interruption: code compiled with the checks stops where the store's
//! budget or deadline says, reports it as a trap with kind and wasm offset, and runs in no
//! store configured otherwise.

use std::time::Duration;
use wasmprecomp_runtime::{
    Engine, InstantiateError, Interruption, Linker, Module, Store, Trap, TrapKind, Val,
};
use wasmprecomp_tests::{compile, compile_interruptible};

const FUEL: Interruption = Interruption {
    fuel: true,
    epoch: false,
};
const EPOCH: Interruption = Interruption {
    fuel: false,
    epoch: true,
};
const BOTH: Interruption = Interruption {
    fuel: true,
    epoch: true,
};

/// Costs, as `Interruption` documents them: `add3` is local.get, 2 x i32.const, 2 x
/// i32.add = 5 (the `end` is free); one round of `count`'s loop is local.get, i32.const,
/// i32.sub, local.tee, br_if = 5 (`loop` and `end` are free); `call_add3` is local.get,
/// call = 2 plus `add3`'s 5.
const PROGRAM: &str = r#"(module
  (func $add3 (export "add3") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add i32.const 2 i32.add)
  (func (export "count") (param $n i32)
    (loop $l
      local.get $n i32.const 1 i32.sub local.tee $n
      br_if $l))
  (func (export "call_add3") (param i32) (result i32)
    local.get 0 call $add3)
  (func (export "spin") (loop $l br $l))
  (func $recurse (export "recurse") call $recurse)
  (func (export "nop") nop)
)"#;

fn program() -> String {
    PROGRAM.to_string()
}

fn instance(store: &mut Store, module: &Module) -> wasmprecomp_runtime::Instance {
    Linker::new()
        .instantiate(store, module)
        .unwrap_or_else(|e| panic!("instantiate: {e}"))
}

fn call(
    store: &mut Store,
    i: wasmprecomp_runtime::Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Trap> {
    let f = store.get_func(i, name).expect("export");
    store.call(f, args)
}

fn fuel_store() -> (Store, wasmprecomp_runtime::Instance) {
    let m = compile_interruptible(&program(), FUEL);
    let mut store = Store::with_interruption(&Engine::new(), FUEL);
    let i = instance(&mut store, &m);
    (store, i)
}

#[test]
fn fuel_is_consumed_exactly_per_operator() {
    let (mut store, i) = fuel_store();
    store.set_fuel(100).unwrap();
    assert_eq!(
        call(&mut store, i, "add3", &[Val::I32(4)]).unwrap(),
        [Val::I32(7)]
    );
    assert_eq!(store.get_fuel().unwrap(), 95);
    call(&mut store, i, "count", &[Val::I32(10)]).unwrap();
    assert_eq!(store.get_fuel().unwrap(), 45);
    assert_eq!(
        call(&mut store, i, "call_add3", &[Val::I32(1)]).unwrap(),
        [Val::I32(4)]
    );
    assert_eq!(store.get_fuel().unwrap(), 38);
    call(&mut store, i, "nop", &[]).unwrap();
    assert_eq!(store.get_fuel().unwrap(), 38, "nop and end are free");
}

#[test]
fn a_loop_traps_at_the_header_where_the_fuel_is_gone() {
    let (mut store, i) = fuel_store();
    // Nine rounds use 45; the tenth round's header finds none left.
    store.set_fuel(45).unwrap();
    let t = call(&mut store, i, "count", &[Val::I32(10)]).unwrap_err();
    assert_eq!(t.kind, TrapKind::OutOfFuel, "{t}");
    assert!(t.wasm_offset.is_some(), "{t}");
    assert_eq!(t.func, Some(1), "{t}");
    assert!(t.to_string().contains("all fuel consumed"), "{t}");
    assert_eq!(store.get_fuel().unwrap(), 0);
    // One unit more and the tenth round runs (taking the count to -4, read as 0).
    store.set_fuel(46).unwrap();
    call(&mut store, i, "count", &[Val::I32(10)]).unwrap();
    assert_eq!(store.get_fuel().unwrap(), 0);
}

#[test]
fn a_function_entered_without_fuel_traps_at_entry_and_runs_after_a_refill() {
    let (mut store, i) = fuel_store();
    let t = call(&mut store, i, "add3", &[Val::I32(1)]).unwrap_err();
    assert_eq!(t.kind, TrapKind::OutOfFuel);
    assert_eq!(t.func, Some(0));
    store.set_fuel(5).unwrap();
    assert_eq!(
        call(&mut store, i, "add3", &[Val::I32(1)]).unwrap(),
        [Val::I32(4)]
    );
    assert_eq!(store.get_fuel().unwrap(), 0);
    let t = call(&mut store, i, "add3", &[Val::I32(1)]).unwrap_err();
    assert_eq!(t.kind, TrapKind::OutOfFuel);
}

#[test]
fn fuel_stops_a_runaway_loop_and_runaway_recursion() {
    let (mut store, i) = fuel_store();
    store.set_fuel(1_000_000).unwrap();
    let t = call(&mut store, i, "spin", &[]).unwrap_err();
    assert_eq!(t.kind, TrapKind::OutOfFuel, "{t}");
    assert_eq!(t.func, Some(3));
    store.set_fuel(10_000).unwrap();
    let t = call(&mut store, i, "recurse", &[]).unwrap_err();
    assert_eq!(t.kind, TrapKind::OutOfFuel, "{t}");
}

#[test]
fn an_epoch_bump_from_another_thread_stops_a_runaway_loop() {
    let engine = Engine::new();
    let m = compile_interruptible(&program(), EPOCH);
    let mut store = Store::with_interruption(&engine, EPOCH);
    let i = instance(&mut store, &m);
    store.set_epoch_deadline(1).unwrap();
    let ticker = engine.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        ticker.increment_epoch();
    });
    let started = std::time::Instant::now();
    let trap = call(&mut store, i, "spin", &[]).unwrap_err();
    t.join().unwrap();
    assert_eq!(trap.kind, TrapKind::Interrupt, "{trap}");
    assert_eq!(trap.func, Some(3));
    assert!(trap.wasm_offset.is_some());
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(engine.current_epoch(), 1);
}

#[test]
fn code_runs_until_the_deadline_and_traps_once_it_has_passed() {
    let engine = Engine::new();
    let m = compile_interruptible(&program(), EPOCH);
    let mut store = Store::with_interruption(&engine, EPOCH);
    let i = instance(&mut store, &m);
    // A new store's deadline is the current epoch: the first check traps.
    let t = call(&mut store, i, "add3", &[Val::I32(1)]).unwrap_err();
    assert_eq!(t.kind, TrapKind::Interrupt);
    store.set_epoch_deadline(2).unwrap();
    engine.increment_epoch();
    assert_eq!(
        call(&mut store, i, "add3", &[Val::I32(1)]).unwrap(),
        [Val::I32(4)]
    );
    call(&mut store, i, "count", &[Val::I32(1000)]).unwrap();
    engine.increment_epoch();
    let t = call(&mut store, i, "count", &[Val::I32(1000)]).unwrap_err();
    assert_eq!(t.kind, TrapKind::Interrupt);
}

#[test]
fn stores_of_one_engine_share_its_epoch_and_keep_their_own_deadlines() {
    let engine = Engine::new();
    let m = compile_interruptible(&program(), EPOCH);
    let mut a = Store::with_interruption(&engine, EPOCH);
    let mut b = Store::with_interruption(&engine, EPOCH);
    let (ia, ib) = (instance(&mut a, &m), instance(&mut b, &m));
    a.set_epoch_deadline(1).unwrap();
    b.set_epoch_deadline(3).unwrap();
    engine.increment_epoch();
    assert_eq!(
        call(&mut a, ia, "add3", &[Val::I32(0)]).unwrap_err().kind,
        TrapKind::Interrupt
    );
    assert_eq!(
        call(&mut b, ib, "add3", &[Val::I32(0)]).unwrap(),
        [Val::I32(3)]
    );
}

#[test]
fn fuel_and_epoch_together_each_stop_code() {
    let engine = Engine::new();
    let m = compile_interruptible(&program(), BOTH);
    let mut store = Store::with_interruption(&engine, BOTH);
    let i = instance(&mut store, &m);
    store.set_epoch_deadline(1).unwrap();
    store.set_fuel(1000).unwrap();
    assert_eq!(
        call(&mut store, i, "spin", &[]).unwrap_err().kind,
        TrapKind::OutOfFuel
    );
    store.set_fuel(u64::MAX).unwrap();
    engine.increment_epoch();
    assert_eq!(
        call(&mut store, i, "spin", &[]).unwrap_err().kind,
        TrapKind::Interrupt
    );
}

#[test]
fn a_store_refuses_a_module_compiled_with_other_interruption_checks() {
    let cases = [
        (Interruption::NONE, FUEL),
        (FUEL, Interruption::NONE),
        (EPOCH, FUEL),
        (BOTH, EPOCH),
    ];
    for (compiled, store_runs) in cases {
        let m = compile_interruptible(&program(), compiled);
        assert_eq!(m.interruption(), compiled);
        let mut store = Store::with_interruption(&Engine::new(), store_runs);
        let e = Linker::new().instantiate(&mut store, &m).unwrap_err();
        assert!(
            matches!(e, InstantiateError::Interruption { module, store } if module == compiled && store == store_runs),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("compiled with interruption `{compiled}`"))
                && msg.contains(&format!("--interruption {store_runs}")),
            "{msg}"
        );
    }
}

#[test]
fn fuel_and_deadlines_are_refused_by_a_store_without_them() {
    let mut store = Store::new();
    let e = store.set_fuel(10).unwrap_err();
    assert!(
        e.to_string().contains("fuel interruption is not enabled"),
        "{e}"
    );
    assert!(store.get_fuel().is_err());
    let e = store.set_epoch_deadline(1).unwrap_err();
    assert!(
        e.to_string().contains("epoch interruption is not enabled"),
        "{e}"
    );
    let mut fuel_only = Store::with_interruption(&Engine::new(), FUEL);
    assert!(fuel_only.set_epoch_deadline(1).is_err());
    assert!(fuel_only.set_fuel(1).is_ok());
}

#[test]
fn without_interruption_the_artifact_is_the_one_the_default_compiler_writes() {
    use wasmprecomp_codegen::{compile_wasm, Isa, OptLevel};
    let wasm = wat::parse_str(program()).unwrap();
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let plain = compile_wasm(&wasm, &isa).unwrap();
    let none = compile_wasm(&wasm, &isa.clone().with_interruption(Interruption::NONE)).unwrap();
    assert_eq!(plain, none);
    assert!(!isa.flags().contains("interruption"));
    let fuel = isa.clone().with_interruption(FUEL);
    assert!(
        fuel.flags().ends_with(",interruption=fuel"),
        "{}",
        fuel.flags()
    );
    assert_ne!(fuel.identity(), isa.identity());
    let fueled = compile_wasm(&wasm, &fuel).unwrap();
    assert!(fueled.len() > plain.len());
    // The default module runs in a default store as before.
    let mut store = Store::new();
    let m = compile(&program());
    let i = instance(&mut store, &m);
    assert_eq!(
        call(&mut store, i, "add3", &[Val::I32(1)]).unwrap(),
        [Val::I32(4)]
    );
}

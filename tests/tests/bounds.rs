//! Bounds checks: code compiled with guard pages (the default) and with explicit checks
//! traps on the same accesses with the same trap, at the same operator, from any thread.

use wasmprecomp_codegen::BoundsChecks;
use wasmprecomp_runtime::{Linker, Module, Store, Trap, TrapKind, Val};
use wasmprecomp_tests::compile_bounds;

/// One access per function: loads and stores of every width, with small and large
/// static offsets (past the guard region for the last ones), into a 1-page memory that
/// can grow to 3 pages.
const ACCESSES: &str = r#"(module
  (memory (export "mem") 1 3)
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32_off") (param i32) (result i32) (i32.load offset=100 (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "load128") (param i32) (result v128) (v128.load offset=8 (local.get 0)))
  (func (export "store16") (param i32) (i32.store16 (local.get 0) (i32.const 7)))
  (func (export "store64_off") (param i32) (i64.store offset=0x10000 (local.get 0) (i64.const 9)))
  (func (export "load_guard_edge") (param i32) (result i32) (i32.load offset=0x7ffffff0 (local.get 0)))
  (func (export "load_past_guard") (param i32) (result i32) (i32.load offset=0x80000000 (local.get 0))))"#;

const FUNCS: &[&str] = &[
    "load8",
    "load32_off",
    "load64",
    "load128",
    "store16",
    "store64_off",
    "load_guard_edge",
    "load_past_guard",
];

const ADDRS: &[u32] = &[
    0,
    1,
    96,
    65_400,
    65_432,
    65_528,
    65_535,
    65_536,
    131_000,
    196_600,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fff0,
    0xffff_ffff,
];

/// Every function at every address, before and after the memory grows twice.
fn outcomes(m: &Module) -> Vec<String> {
    let mut store = Store::new();
    let inst = Linker::new()
        .instantiate(&mut store, m)
        .unwrap_or_else(|e| panic!("instantiate: {e}"));
    let mut out = Vec::new();
    for round in 0..3 {
        for f in FUNCS {
            let func = store.get_func(inst, f).expect("export");
            for a in ADDRS {
                let r = store.call(func, &[Val::I32(*a as i32)]);
                out.push(format!("{round} {f}({a:#x}) = {}", describe(r)));
            }
        }
        let grow = store.get_func(inst, "grow").expect("grow");
        store.call(grow, &[]).expect("grow");
    }
    out
}

fn describe(r: Result<Vec<Val>, Trap>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(t) => format!("trap {:?} at {:?}", t.kind, t.wasm_offset),
    }
}

#[test]
fn guard_pages_and_explicit_checks_trap_on_the_same_accesses() {
    let guard = outcomes(&compile_bounds(ACCESSES, BoundsChecks::Guard));
    let explicit = outcomes(&compile_bounds(ACCESSES, BoundsChecks::Explicit));
    assert_eq!(guard, explicit);
    let traps = guard
        .iter()
        .filter(|o| o.contains("MemoryOutOfBounds"))
        .count();
    let fine = guard.iter().filter(|o| !o.contains("trap")).count();
    assert!(
        traps > 100 && fine > 30,
        "{traps} traps, {fine} accesses: {guard:#?}"
    );
    // The trap names the access: no trap is reported without its operator's offset.
    assert!(
        guard
            .iter()
            .all(|o| !o.contains("trap") || o.contains("Some(")),
        "{guard:#?}"
    );
}

#[test]
fn guard_page_traps_are_caught_on_many_threads_at_once() {
    let m = compile_bounds(ACCESSES, BoundsChecks::Guard);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                let mut store = Store::new();
                let inst = Linker::new()
                    .instantiate(&mut store, &m)
                    .expect("instantiate");
                let load = store.get_func(inst, "load64").expect("load64");
                let mut traps = 0;
                for i in 0..500u32 {
                    let addr = if i % 2 == 0 { 8 } else { 70_000 + i };
                    match store.call(load, &[Val::I32(addr as i32)]) {
                        Ok(_) => {}
                        Err(t) => {
                            assert_eq!(t.kind, TrapKind::MemoryOutOfBounds);
                            traps += 1;
                        }
                    }
                }
                traps
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread"), 250);
    }
}

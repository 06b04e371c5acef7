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

/// `memory.copy` with a length from the stack (copied in line up to 32 bytes) and with
/// constant lengths, into a 1-page memory that can grow to 2 pages.
const COPIES: &str = r#"(module
  (memory (export "mem") 1 2)
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy3") (param i32 i32) (memory.copy (local.get 0) (local.get 1) (i32.const 3)))
  (func (export "copy13") (param i32 i32) (memory.copy (local.get 0) (local.get 1) (i32.const 13)))
  (func (export "copy32") (param i32 i32) (memory.copy (local.get 0) (local.get 1) (i32.const 32))))"#;

/// `memory.copy` of `n` bytes from `s` to `d` in `mem`, as the specification says it:
/// out of bounds on either side traps with nothing written, else a copy as if through
/// a temporary buffer.
fn model_copy(mem: &mut [u8], d: u32, s: u32, n: u32) -> Result<(), ()> {
    let (d, s, n) = (d as u64, s as u64, n as u64);
    let len = mem.len() as u64;
    if d + n > len || s + n > len {
        return Err(());
    }
    let (d, s, n) = (d as usize, s as usize, n as usize);
    mem.copy_within(s..s + n, d);
    Ok(())
}

/// Every copy of `cases` run by compiled code and by the model on the same memory
/// contents: the same outcome and the same bytes afterwards, before and after a grow.
fn check_copies(bounds: BoundsChecks) -> (usize, usize) {
    let m = compile_bounds(COPIES, bounds);
    let mut store = Store::new();
    let inst = Linker::new()
        .instantiate(&mut store, &m)
        .unwrap_or_else(|e| panic!("instantiate: {e}"));
    let mem = store.get_memory(inst, "mem").expect("memory");
    let (mut traps, mut copies) = (0, 0);
    for round in 0..2u32 {
        let size = 65_536 * (round + 1);
        // Addresses near 0, near each other (overlapping both ways), at the end of the
        // memory and past it, and near 2^32 (where a 32-bit sum would wrap).
        let mut addrs: Vec<u32> = vec![0, 1, 7, 100, 103, 117, 131];
        for back in [0u32, 1, 2, 3, 8, 15, 16, 17, 31, 32, 33, 40] {
            addrs.push(size - back);
        }
        addrs.extend([size + 1, size + 64, 0xffff_ffe0, 0xffff_fff0, 0xffff_ffff]);
        let funcs: [(&str, Option<u32>); 4] = [
            ("copy", None),
            ("copy3", Some(3)),
            ("copy13", Some(13)),
            ("copy32", Some(32)),
        ];
        for (name, fixed) in funcs {
            let f = store.get_func(inst, name).expect("export");
            let lens: Vec<u32> = match fixed {
                Some(n) => vec![n],
                None => (0..=40).chain([64, 1000]).collect(),
            };
            for &n in &lens {
                for &d in &addrs {
                    for &s in &addrs {
                        // A pattern that differs at every byte of the window copied.
                        let data = store.memory_data_mut(mem);
                        for (i, b) in data.iter_mut().enumerate().take(200) {
                            *b = (i as u8).wrapping_mul(7).wrapping_add(1);
                        }
                        for back in 1..=80usize {
                            data[size as usize - back] = (back as u8).wrapping_mul(13) ^ 0x5a;
                        }
                        let mut expected = data.to_vec();
                        let want = model_copy(&mut expected, d, s, n);
                        let mut args = vec![Val::I32(d as i32), Val::I32(s as i32)];
                        if fixed.is_none() {
                            args.push(Val::I32(n as i32));
                        }
                        let got = store.call(f, &args);
                        let what =
                            format!("{bounds:?} round {round} {name}(d={d:#x}, s={s:#x}, n={n})");
                        match (&want, &got) {
                            (Ok(()), Ok(_)) => copies += 1,
                            (Err(()), Err(t)) => {
                                assert_eq!(t.kind, TrapKind::MemoryOutOfBounds, "{what}");
                                assert!(t.wasm_offset.is_some(), "{what}: trap without its offset");
                                traps += 1;
                            }
                            _ => panic!("{what}: model {want:?}, compiled code {got:?}"),
                        }
                        assert!(
                            store.memory_data(mem) == expected.as_slice(),
                            "{what}: memory differs"
                        );
                    }
                }
            }
        }
        let grow = store.get_func(inst, "grow").expect("grow");
        store.call(grow, &[]).expect("grow");
    }
    (traps, copies)
}

#[test]
fn memory_copy_of_every_small_length_traps_or_copies_as_specified_with_both_strategies() {
    for bounds in [BoundsChecks::Guard, BoundsChecks::Explicit] {
        let (traps, copies) = check_copies(bounds);
        // Both outcomes are covered at every length range (the counts are of the cases
        // above, the same for both strategies).
        assert!(
            traps > 20_000 && copies > 5_000,
            "{bounds:?}: {traps} traps, {copies} copies"
        );
    }
}

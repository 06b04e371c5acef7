//! The stencil/parameters split: what shares a key, what does not, and that shared
//! compiled code runs correctly in every module that uses it.

use wasmprecomp_codegen::module::parse_and_validate;
use wasmprecomp_codegen::{stencil, Isa, OptLevel, StencilKey};
use wasmprecomp_runtime::{Extern, Linker, Module, Store, Val};

fn keys_with(wat: &str, isa: &Isa) -> Vec<StencilKey> {
    let wasm = wat::parse_str(wat).unwrap();
    let info = parse_and_validate(&wasm).unwrap();
    (0..info.bodies.len() as u32)
        .map(|i| {
            stencil::build(&info, &wasm, i)
                .unwrap()
                .0
                .key(&isa.identity())
        })
        .collect()
}

fn keys(wat: &str) -> Vec<StencilKey> {
    keys_with(wat, &Isa::new(None, OptLevel::Speed).unwrap())
}

fn compiled(wat: &str, func: u32) -> Vec<u8> {
    let wasm = wat::parse_str(wat).unwrap();
    let info = parse_and_validate(&wasm).unwrap();
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let (s, _) = stencil::build(&info, &wasm, func).unwrap();
    isa.compile(&s).unwrap().encode()
}

/// The function under test is the last one; its references point at entities whose
/// indices differ between the two modules (extra padding entities shift them).
fn module_with_padding(pad: usize) -> String {
    let pad_funcs: String = (0..pad)
        .map(|i| format!("(func $pad{i} (param i64) (result i64) local.get 0)\n"))
        .collect();
    let pad_globals: String = (0..pad)
        .map(|i| format!("(global $gpad{i} (mut i64) (i64.const {i}))\n"))
        .collect();
    let pad_types: String = (0..pad).map(|i| format!("(type $tpad{i} (func (param f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32) (result i32 i32 i32 {})))\n", "i32 ".repeat(i % 3))).collect();
    let pad_elems: String = (0..pad)
        .map(|_| "(elem declare func $helper)\n".to_string())
        .collect();
    let pad_data: String = (0..pad).map(|i| format!("(data \"pad{i}\")\n")).collect();
    format!(
        r#"(module
  {pad_types}
  (type $sig (func (param i32) (result i32)))
  {pad_funcs}
  {pad_globals}
  (memory (export "memory") 1)
  (table $pad_t {pad} funcref)
  (table $t 4 funcref)
  (global $g (mut i32) (i32.const 5))
  {pad_elems}
  {pad_data}
  (data $d "\01\02\03\04")
  (elem $e func $helper $helper)
  (func $helper (param i32) (result i32) local.get 0 i32.const 3 i32.mul)
  (func (export "f") (param i32) (result i32)
    ;; every kind of module-level index: function, type, global, table, memory, data, element
    (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 2))
    (memory.init $d (i32.const 100) (i32.const 0) (i32.const 4))
    (global.set $g (i32.add (global.get $g) (i32.load8_u (i32.const 102))))
    (i32.add
      (call $helper (local.get 0))
      (i32.add (call_indirect $t (type $sig) (global.get $g) (i32.const 1))
               (i32.add (table.size $t) (ref.is_null (ref.func $helper))))))
)"#
    )
}

#[test]
fn functions_that_differ_only_in_referenced_indices_share_key_and_code_and_run_correctly() {
    let a = module_with_padding(0);
    let b = module_with_padding(3);
    let ka = keys(&a);
    let kb = keys(&b);
    let (fa, fb) = (*ka.last().unwrap(), *kb.last().unwrap());
    assert_eq!(fa, fb, "same stencil key across modules");
    let ia = ka.len() as u32 - 1;
    let ib = kb.len() as u32 - 1;
    assert_eq!(
        compiled(&a, ia),
        compiled(&b, ib),
        "byte-identical compiled stencils"
    );
    // Each finalized copy computes the same, correct result.
    for wat in [&a, &b] {
        let m = wasmprecomp_tests::compile(wat);
        let mut store = Store::new();
        let inst = Linker::new().instantiate(&mut store, &m).unwrap();
        let f = store.get_func(inst, "f").unwrap();
        // helper(10) = 30; g = 5 + mem[102] (3) = 8; call_indirect passes g to table[1]
        // = helper -> 24; table.size = 4; ref.is_null(ref.func) = 0.
        assert_eq!(store.call(f, &[Val::I32(10)]).unwrap(), vec![Val::I32(58)]);
        let mem = store.get_memory(inst, "memory").unwrap();
        assert_eq!(&store.memory_data(mem)[100..104], &[1, 2, 3, 4]);
    }
}

fn runs(wat: &str, arg: i32) -> Vec<Val> {
    let m: Module = wasmprecomp_tests::compile(wat);
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &m).unwrap();
    let f = store.get_func(inst, "f").unwrap();
    store.call(f, &[Val::I32(arg)]).unwrap()
}

#[test]
fn shared_code_runs_correctly_in_both_modules() {
    let mk = |pad: usize| {
        let pads: String = (0..pad)
            .map(|i| format!("(func $p{i}) (global $q{i} i32 (i32.const 0))\n"))
            .collect();
        format!(
            r#"(module {pads}
  (global $g (mut i32) (i32.const 100))
  (func $h (param i32) (result i32) local.get 0 global.get $g i32.add)
  (table 2 funcref) (elem (i32.const 1) $h)
  (type $s (func (param i32) (result i32)))
  (func (export "f") (param i32) (result i32)
    (call_indirect (type $s) (call $h (local.get 0)) (i32.const 1))))"#
        )
    };
    let (a, b) = (mk(0), mk(5));
    assert_eq!(keys(&a).last(), keys(&b).last());
    assert_eq!(runs(&a, 1), vec![Val::I32(201)]);
    assert_eq!(runs(&b, 1), vec![Val::I32(201)]);
}

const BASE: &str = r#"(module
  (func $callee (param i32) (result i32) local.get 0)
  (global $g (mut i32) (i32.const 0))
  (func (param i32) (result i32) (local i64)
    local.get 0 i32.const 7 i32.add call $callee global.get $g i32.add))"#;

#[test]
fn any_change_that_matters_changes_the_key() {
    let base = *keys(BASE).last().unwrap();
    let variants = [
        (
            "operator",
            BASE.replace("i32.const 7 i32.add", "i32.const 7 i32.sub"),
        ),
        ("immediate", BASE.replace("i32.const 7", "i32.const 8")),
        ("local", BASE.replace("(local i64)", "(local f64)")),
        (
            "signature",
            BASE.replace(
                "(func (param i32) (result i32) (local i64)",
                "(func (param i32 i32) (result i32) (local i64)",
            ),
        ),
        (
            "callee body",
            BASE.replace(
                "(func $callee (param i32) (result i32) local.get 0)",
                "(func $callee (param i32) (result i32) (local i32) local.get 0)",
            ),
        ),
        (
            "global type",
            BASE.replace("(global $g (mut i32)", "(global $g i32"),
        ),
    ];
    for (what, wat) in &variants {
        let k = *keys(wat).last().unwrap();
        if *what == "callee body" {
            // Changing only the callee's body must NOT change the caller's key.
            assert_eq!(k, base, "callee body is not part of the caller's stencil");
            continue;
        }
        assert_ne!(k, base, "changing the {what} must change the key");
    }
    // A real callee signature change.
    let sig = BASE
        .replace(
            "(func $callee (param i32) (result i32) local.get 0)",
            "(func $callee (param i32) (result i32) (result i32) local.get 0 local.get 0)",
        )
        .replace("call $callee global.get", "call $callee i32.add global.get");
    assert_ne!(
        *keys(&sig).last().unwrap(),
        base,
        "callee signature changes the key"
    );
    // Imported vs defined callee.
    let imported = BASE.replace(
        "(func $callee (param i32) (result i32) local.get 0)",
        "(import \"env\" \"callee\" (func $callee (param i32) (result i32)))",
    );
    assert_ne!(
        *keys(&imported).last().unwrap(),
        base,
        "imported callee changes the key"
    );
    // Flags (opt level) change every key.
    let none = keys_with(BASE, &Isa::new(None, OptLevel::None).unwrap());
    assert_ne!(*none.last().unwrap(), base, "opt level changes the key");
    // Another target (same architecture, other OS variant) changes the key.
    let musl = keys_with(
        BASE,
        &Isa::new(Some("x86_64-unknown-linux-musl"), OptLevel::Speed).unwrap(),
    );
    assert_ne!(*musl.last().unwrap(), base, "target changes the key");
}

#[test]
fn identical_functions_in_one_module_are_deduplicated() {
    let wat = r#"(module
      (func (param i32) (result i32) local.get 0 i32.const 1 i32.add)
      (func (param i32) (result i32) local.get 0 i32.const 1 i32.add)
      (func (param i32) (result i32) local.get 0 i32.const 2 i32.add))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let isa = Isa::new(None, OptLevel::Speed).unwrap();
    let cm = wasmprecomp_codegen::compile_module(
        &wasm,
        wasmprecomp_codegen::CompileOptions {
            isa: &isa,
            cache: &wasmprecomp_codegen::NoCache,
            check_cache: false,
        },
    )
    .unwrap();
    assert_eq!(cm.stats.functions, 3);
    assert_eq!(cm.stats.deduplicated, 1);
    assert_eq!(cm.stats.misses, 2);
    let _ = Extern::Func;
}

/// Functions whose large constants and offsets differ: an address, a load offset, a
/// shift count, a divisor and two `i64` constants (one above `i32::MAX`, one negative).
struct Consts {
    addr: i64,
    offset: u64,
    shift: i64,
    divisor: i64,
    wide: i64,
    negative: i64,
}

const CONSTS_A: Consts = Consts {
    addr: 5000,
    offset: 70_000,
    shift: 4097,
    divisor: 5000,
    wide: 70_000,
    negative: -70_000,
};

const CONSTS_B: Consts = Consts {
    addr: 6004,
    offset: 70_012,
    shift: 4098,
    divisor: -7001,
    wide: 4_000_000_000,
    negative: -2_000_000_000,
};

fn consts_module(c: &Consts) -> String {
    let Consts {
        addr,
        offset,
        shift,
        divisor,
        wide,
        negative,
    } = c;
    format!(
        r#"(module
  (memory (export "memory") 2)
  (data (i32.const {addr}) "\2a\00\00\00")
  (data (i32.const {offset}) "\07\00\00\00")
  (func (export "addr") (param i32) (result i32) (i32.load (i32.const {addr})))
  (func (export "off") (param i32) (result i32) (i32.load offset={offset} (local.get 0)))
  (func (export "store") (param i32) (result i32)
    (i32.store offset={offset} (local.get 0) (i32.const 9))
    (i32.load offset={offset} (local.get 0)))
  (func (export "shl") (param i32) (result i32) (i32.shl (local.get 0) (i32.const {shift})))
  (func (export "div") (param i32) (result i32) (i32.div_s (local.get 0) (i32.const {divisor})))
  (func (export "wide") (param i32) (result i64)
    (i64.add (i64.extend_i32_s (local.get 0)) (i64.const {wide})))
  (func (export "negative") (param i32) (result i64)
    (i64.add (i64.extend_i32_s (local.get 0)) (i64.const {negative})))
  (func (export "xor") (param i32) (result i32) (i32.xor (local.get 0) (i32.const {divisor})))
  (func (export "below") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const {addr}))
      (then (i32.const 1)) (else (i32.const 2))))
  (func (export "above_negative") (param i32) (result i32)
    (i64.gt_s (i64.extend_i32_s (local.get 0)) (i64.const {negative})))
  (func (export "mask_wide") (param i32) (result i64)
    (i64.and (i64.extend_i32_s (local.get 0)) (i64.const {wide})))
  (func (export "sub_negative") (param i32) (result i64)
    (i64.sub (i64.extend_i32_s (local.get 0)) (i64.const {negative}))))"#
    )
}

fn call(m: &Module, name: &str, arg: i32) -> Result<Vec<Val>, String> {
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, m).unwrap();
    let f = store.get_func(inst, name).unwrap();
    store.call(f, &[Val::I32(arg)]).map_err(|t| t.to_string())
}

#[test]
fn large_constants_and_offsets_are_parameters_that_share_code_and_run_with_their_values() {
    let (a, b) = (consts_module(&CONSTS_A), consts_module(&CONSTS_B));
    let (ka, kb) = (keys(&a), keys(&b));
    assert_eq!(
        ka, kb,
        "only parameterized constants differ: every key is shared"
    );
    for i in 0..ka.len() as u32 {
        assert_eq!(compiled(&a, i), compiled(&b, i), "function {i}: same code");
    }
    for bounds in [
        wasmprecomp_codegen::BoundsChecks::Guard,
        wasmprecomp_codegen::BoundsChecks::Explicit,
    ] {
        for c in [&CONSTS_A, &CONSTS_B] {
            let m = wasmprecomp_tests::compile_bounds(&consts_module(c), bounds);
            let what = format!("{bounds:?}, divisor {}", c.divisor);
            assert_eq!(call(&m, "addr", 0), Ok(vec![Val::I32(42)]), "{what}");
            assert_eq!(call(&m, "off", 0), Ok(vec![Val::I32(7)]), "{what}");
            assert_eq!(call(&m, "store", 4), Ok(vec![Val::I32(9)]), "{what}");
            // The last in-bounds word, then one byte past it: the offset decides.
            let last = (2 * 65536 - 4 - c.offset) as i32;
            assert_eq!(call(&m, "off", last), Ok(vec![Val::I32(0)]), "{what}");
            assert!(call(&m, "off", last + 1).is_err(), "{what}: out of bounds");
            assert!(
                call(&m, "store", last + 1).is_err(),
                "{what}: out of bounds"
            );
            assert_eq!(
                call(&m, "shl", 3),
                Ok(vec![Val::I32(3 << (c.shift % 32))]),
                "{what}"
            );
            assert_eq!(
                call(&m, "div", 1_000_000),
                Ok(vec![Val::I32(1_000_000 / c.divisor as i32)]),
                "{what}"
            );
            assert_eq!(
                call(&m, "wide", -3),
                Ok(vec![Val::I64(c.wide - 3)]),
                "{what}"
            );
            assert_eq!(
                call(&m, "negative", 5),
                Ok(vec![Val::I64(c.negative + 5)]),
                "{what}"
            );
            // Slots as the immediates of ALU operations and comparisons.
            assert_eq!(
                call(&m, "xor", 12345),
                Ok(vec![Val::I32(12345 ^ c.divisor as i32)]),
                "{what}"
            );
            let addr = c.addr as i32;
            assert_eq!(call(&m, "below", addr - 1), Ok(vec![Val::I32(1)]), "{what}");
            assert_eq!(call(&m, "below", addr), Ok(vec![Val::I32(2)]), "{what}");
            let neg = c.negative as i32;
            assert_eq!(
                call(&m, "above_negative", neg + 1),
                Ok(vec![Val::I32(1)]),
                "{what}"
            );
            assert_eq!(
                call(&m, "above_negative", neg),
                Ok(vec![Val::I32(0)]),
                "{what}"
            );
            assert_eq!(
                call(&m, "mask_wide", -1),
                Ok(vec![Val::I64(c.wide)]),
                "{what}"
            );
            assert_eq!(
                call(&m, "mask_wide", 0x7fff_0000),
                Ok(vec![Val::I64(c.wide & 0x7fff_0000)]),
                "{what}"
            );
            assert_eq!(
                call(&m, "sub_negative", 5),
                Ok(vec![Val::I64(5 - c.negative)]),
                "{what}"
            );
        }
    }
}

#[test]
fn constants_that_stay_in_the_key_change_it() {
    let base = keys(&consts_module(&CONSTS_A));
    let variants = [
        // Below the threshold: folded into the code, so part of the key.
        (
            "small address",
            0,
            Consts {
                addr: 100,
                ..CONSTS_A
            },
        ),
        (
            "small offset",
            1,
            Consts {
                offset: 16,
                ..CONSTS_A
            },
        ),
        (
            "small shift",
            3,
            Consts {
                shift: 5,
                ..CONSTS_A
            },
        ),
        (
            "small divisor",
            4,
            Consts {
                divisor: 7,
                ..CONSTS_A
            },
        ),
        // Masks and powers of two are folded into the code.
        (
            "power of two",
            0,
            Consts {
                addr: 8192,
                ..CONSTS_A
            },
        ),
        (
            "mask",
            5,
            Consts {
                wide: 0xffff_ffff,
                ..CONSTS_A
            },
        ),
        (
            "negative power of two",
            6,
            Consts {
                negative: -65536,
                ..CONSTS_A
            },
        ),
        // Outside the 32-bit ranges an i64 constant is materialized differently.
        (
            "wide i64",
            5,
            Consts {
                wide: 1 << 40,
                ..CONSTS_A
            },
        ),
        (
            "wide negative i64",
            6,
            Consts {
                negative: -(1 << 40),
                ..CONSTS_A
            },
        ),
        // Offsets past the guard region keep their explicit check.
        (
            "huge offset",
            1,
            Consts {
                offset: 3 << 30,
                ..CONSTS_A
            },
        ),
    ];
    for (what, func, c) in variants {
        let k = keys(&consts_module(&c));
        assert_ne!(k[func], base[func], "{what} must change the key");
    }
    // An i64 constant moving between the unsigned and the signed 32-bit range.
    let k = keys(&consts_module(&Consts {
        wide: -70_000,
        ..CONSTS_A
    }));
    assert_ne!(k[5], base[5], "the class of a slot is part of the key");
    // Two uses of one value share a slot; two values do not.
    let shared = r#"(module (func (result i32) (i32.add (i32.const 5000) (i32.const 5000))))"#;
    let two = r#"(module (func (result i32) (i32.add (i32.const 5000) (i32.const 6000))))"#;
    let two_more = r#"(module (func (result i32) (i32.add (i32.const 7000) (i32.const 8000))))"#;
    assert_ne!(keys(shared), keys(two));
    assert_eq!(keys(two), keys(two_more));
}

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

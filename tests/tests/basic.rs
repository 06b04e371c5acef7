//! End-to-end: wat -> compiler -> artifact -> runtime.

use wasmprecomp_runtime::{TrapKind, Val};
use wasmprecomp_tests::instantiate;

fn call(wat: &str, name: &str, args: &[Val]) -> Result<Vec<Val>, wasmprecomp_runtime::Trap> {
    let (mut s, i) = instantiate(wat);
    let f = s.get_func(i, name).expect("export");
    s.call(f, args)
}

#[test]
fn adds_two_numbers() {
    let r = call(
        r#"(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#,
        "add",
        &[Val::I32(40), Val::I32(2)],
    )
    .unwrap();
    assert_eq!(r, vec![Val::I32(42)]);
}

#[test]
fn recursive_fibonacci() {
    let wat = r#"(module
      (func $fib (export "fib") (param i64) (result i64)
        local.get 0 i64.const 2 i64.lt_u
        if (result i64) local.get 0
        else local.get 0 i64.const 1 i64.sub call $fib
             local.get 0 i64.const 2 i64.sub call $fib i64.add end))"#;
    assert_eq!(
        call(wat, "fib", &[Val::I64(20)]).unwrap(),
        vec![Val::I64(6765)]
    );
}

#[test]
fn loop_with_locals_sums() {
    let wat = r#"(module
      (func (export "sum") (param i32) (result i32) (local i32 i32)
        block loop
          local.get 1 local.get 0 i32.ge_s br_if 1
          local.get 2 local.get 1 i32.add local.set 2
          local.get 1 i32.const 1 i32.add local.set 1
          br 0
        end end
        local.get 2))"#;
    assert_eq!(
        call(wat, "sum", &[Val::I32(100)]).unwrap(),
        vec![Val::I32(4950)]
    );
}

#[test]
fn locals_dead_at_a_join_keep_every_value_that_is_read() {
    // `t` is dead at the loop header, `x` at the `if`'s join; the else arm still reads
    // the value `x` had before the `if`, and `y` is live after the join on one path only.
    let wat = r#"(module
      (func (export "fib") (param $n i32) (result i64) (local $a i64) (local $b i64) (local $t i64)
        (local.set $b (i64.const 1))
        (block $done (loop $step
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $t (i64.add (local.get $a) (local.get $b)))
          (local.set $a (local.get $b))
          (local.set $b (local.get $t))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $step)))
        (local.get $a))
      (func (export "arms") (param $c i32) (param $v i32) (result i32) (local $x i32) (local $y i32)
        (local.set $x (i32.add (local.get $v) (i32.const 7)))
        (if (local.get $c)
          (then (local.set $x (i32.const 5)) (local.set $y (i32.const 100)))
          (else (local.set $v (i32.mul (local.get $x) (i32.const 3)))))
        (local.set $x (i32.add (local.get $v) (local.get $y)))
        (local.get $x)))"#;
    let (mut s, i) = instantiate(wat);
    let fib = s.get_func(i, "fib").expect("export");
    assert_eq!(
        s.call(fib, &[Val::I32(50)]).unwrap(),
        vec![Val::I64(12586269025)]
    );
    let arms = s.get_func(i, "arms").expect("export");
    assert_eq!(
        s.call(arms, &[Val::I32(1), Val::I32(2)]).unwrap(),
        vec![Val::I32(102)]
    );
    assert_eq!(
        s.call(arms, &[Val::I32(0), Val::I32(2)]).unwrap(),
        vec![Val::I32(27)]
    );
}

#[test]
fn memory_load_store_and_out_of_bounds_trap() {
    let wat = r#"(module (memory 1)
      (func (export "rw") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.store
        local.get 0 i32.load))"#;
    assert_eq!(
        call(wat, "rw", &[Val::I32(8), Val::I32(77)]).unwrap(),
        vec![Val::I32(77)]
    );
    let e = call(wat, "rw", &[Val::I32(65533), Val::I32(1)]).unwrap_err();
    assert_eq!(e.kind, TrapKind::MemoryOutOfBounds);
    assert!(e.wasm_offset.is_some());
}

#[test]
fn division_traps() {
    let wat = r#"(module (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s))"#;
    assert_eq!(
        call(wat, "div", &[Val::I32(7), Val::I32(2)]).unwrap(),
        vec![Val::I32(3)]
    );
    assert_eq!(
        call(wat, "div", &[Val::I32(1), Val::I32(0)])
            .unwrap_err()
            .kind,
        TrapKind::IntegerDivideByZero
    );
    assert_eq!(
        call(wat, "div", &[Val::I32(i32::MIN), Val::I32(-1)])
            .unwrap_err()
            .kind,
        TrapKind::IntegerOverflow
    );
}

#[test]
fn call_indirect_and_signature_mismatch() {
    let wat = r#"(module
      (type $ii (func (param i32) (result i32)))
      (table 3 funcref) (elem (i32.const 0) $inc $dbl $other)
      (func $inc (param i32) (result i32) local.get 0 i32.const 1 i32.add)
      (func $dbl (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
      (func $other (param i64) (result i64) local.get 0)
      (func (export "go") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (type $ii)))"#;
    assert_eq!(
        call(wat, "go", &[Val::I32(1), Val::I32(10)]).unwrap(),
        vec![Val::I32(20)]
    );
    assert_eq!(
        call(wat, "go", &[Val::I32(0), Val::I32(10)]).unwrap(),
        vec![Val::I32(11)]
    );
    assert_eq!(
        call(wat, "go", &[Val::I32(2), Val::I32(1)])
            .unwrap_err()
            .kind,
        TrapKind::BadSignature
    );
    assert_eq!(
        call(wat, "go", &[Val::I32(5), Val::I32(1)])
            .unwrap_err()
            .kind,
        TrapKind::UndefinedElement
    );
}

#[test]
fn infinite_recursion_is_stack_exhaustion() {
    let wat = r#"(module (func $f (export "f") (param i32) (result i32) local.get 0 call $f))"#;
    assert_eq!(
        call(wat, "f", &[Val::I32(0)]).unwrap_err().kind,
        TrapKind::StackOverflow
    );
}

#[test]
fn many_params_and_multi_value() {
    let wat = r#"(module
      (func $g (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64) (result f64 i32 i64)
        local.get 15 local.get 12 local.get 13)
      (func (export "f") (result f64 i32 i64)
        i32.const 1 i64.const 2 f32.const 3 f64.const 4 i32.const 5 i64.const 6 f32.const 7 f64.const 8
        i32.const 9 i64.const 10 f32.const 11 f64.const 12 i32.const 13 i64.const 14 f32.const 15 f64.const 16
        call $g))"#;
    assert_eq!(
        call(wat, "f", &[]).unwrap(),
        vec![Val::F64(16f64.to_bits()), Val::I32(13), Val::I64(14)]
    );
}

#[test]
fn byte_swaps_written_out_compute_what_they_say() {
    // The golden case's functions, one `bswap` each where the whole value is reversed,
    // and the near misses that stay as written.
    let wat = include_str!("../../codegen/tests/golden/byte_swap.wat")
        .replace("(func $load_be_i64", "(func (export \"load_be_i64\")")
        .replace("(func $swap_i32", "(func (export \"swap_i32\")")
        .replace(
            "(func $piece_used_again",
            "(func (export \"piece_used_again\")",
        )
        .replace("(func $half_swap", "(func (export \"half_swap\")")
        .replace("(func $two_sources", "(func (export \"two_sources\")")
        .replace("(memory 1)", "(memory (export \"memory\") 1)");
    let values = [
        0u64,
        1,
        0x0123_4567_89ab_cdef,
        u64::MAX,
        0x8000_0000_0000_0001,
        0xff00,
    ];
    let (mut s, i) = instantiate(&wat);
    let memory = s.get_memory(i, "memory").expect("memory");
    let mut at = 3;
    for v in values {
        s.memory_data_mut(memory)[at..at + 8].copy_from_slice(&v.to_le_bytes());
        at += 8;
    }
    let mut call = |name: &str, args: &[Val]| {
        let f = s.get_func(i, name).expect("export");
        s.call(f, args).expect("no trap")
    };
    for (k, &v) in values.iter().enumerate() {
        let w = v as u32;
        let other = values[(k + 1) % values.len()] as u32;
        assert_eq!(
            call("swap_i32", &[Val::I32(w as i32)]),
            vec![Val::I32(w.swap_bytes() as i32)]
        );
        assert_eq!(
            call("piece_used_again", &[Val::I32(w as i32)]),
            vec![Val::I32(
                w.swap_bytes().wrapping_add(w.rotate_right(24)) as i32
            )]
        );
        assert_eq!(
            call("half_swap", &[Val::I32(w as i32)]),
            vec![Val::I32(((w >> 24) | ((w >> 8) & 0xff00)) as i32)]
        );
        let two = (w & 0x00ff_00ff).rotate_right(8) | (other.rotate_right(24) & 0x00ff_00ff);
        assert_eq!(
            call("two_sources", &[Val::I32(w as i32), Val::I32(other as i32)]),
            vec![Val::I32(two as i32)]
        );
    }
    for (k, &v) in values.iter().enumerate() {
        let at = 8 * k as u32 + 3;
        assert_eq!(
            call("load_be_i64", &[Val::I32(at as i32)]),
            vec![Val::I64(v.swap_bytes() as i64)]
        );
    }
}

;; Calls with more arguments than argument registers (integer and float), so some go on
;; the stack; and a callee that reads its stack parameters.
(module
  (func $ints (param i32 i64 i32 i64 i32 i64 i32 i64 i32 i64) (result i64)
    (i64.add (local.get 9) (i64.extend_i32_u (local.get 8))))
  (func $floats (param f64 f64 f64 f64 f64 f64 f64 f64 f64 f32) (result f64)
    (f64.add (local.get 8) (f64.promote_f32 (local.get 9))))
  (func $mixed (param i32 f32 i64 f64 i32 f32 i64 f64 i32 f32 i64 f64 i32 f32 i64 f64 i32 i32)
    (result i32)
    (i32.add (local.get 16) (local.get 17)))
  (func $call_ints (param i32 i64) (result i64)
    (call $ints (local.get 0) (local.get 1) (local.get 0) (local.get 1) (local.get 0)
                (local.get 1) (local.get 0) (local.get 1) (i32.const 9) (i64.const 10)))
  (func $call_floats (param f64) (result f64)
    (call $floats (local.get 0) (local.get 0) (local.get 0) (local.get 0) (local.get 0)
                  (local.get 0) (local.get 0) (local.get 0) (f64.const 9) (f32.const 10)))
  (func $call_mixed (result i32)
    (call $mixed
      (i32.const 1) (f32.const 2) (i64.const 3) (f64.const 4)
      (i32.const 5) (f32.const 6) (i64.const 7) (f64.const 8)
      (i32.const 9) (f32.const 10) (i64.const 11) (f64.const 12)
      (i32.const 13) (f32.const 14) (i64.const 15) (f64.const 16)
      (i32.const 17) (i32.const 18))))

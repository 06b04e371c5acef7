;; Direct calls to defined functions: no arguments, arguments in registers, a call whose
;; result feeds another call, and recursion.
(module
  (func $nothing)
  (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $call_nothing (call $nothing))
  (func $call_add (param i32) (result i32) (call $add (local.get 0) (i32.const 1)))
  (func $nested (param i32 i32) (result i32)
    (call $add (call $add (local.get 0) (local.get 1)) (local.get 1)))
  (func $live_across_call (param i32) (result i32)
    (i32.add (local.get 0) (call $add (local.get 0) (local.get 0))))
  (func $fact (param i64) (result i64)
    (if (result i64) (i64.le_u (local.get 0) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fact (i64.sub (local.get 0) (i64.const 1))))))))

;; Multi-value: functions returning several values (through the caller's result area), and
;; calls that consume them.
(module
  (func $pair (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func $mixed (param f64 i32) (result i32 f64 i32) (local.get 1) (local.get 0) (i32.const 3))
  (func $many (result i32 i32 i32 i32 i32 i32 i32 i32)
    (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
    (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8))
  (func $use_pair (param i32 i64) (result i64)
    (call $pair (local.get 0) (local.get 1))
    (i64.extend_i32_u)
    (i64.add))
  (func $sum_many (result i32)
    (call $many)
    (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add))
  (func $swap_through_call (param f64 i32) (result i32)
    (call $mixed (local.get 0) (local.get 1))
    (drop) (drop)))

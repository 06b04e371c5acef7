;; Locals of every type (zero-initialised), local.tee, and a parameter overwritten.
(module
  (func $zeroed (result i32 i64 f32 f64 funcref externref)
    (local i32 i64 f32 f64 funcref externref)
    (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5))
  (func $tee (param i32) (result i32)
    (local $t i32)
    (i32.add (local.tee $t (i32.mul (local.get 0) (local.get 0))) (local.get $t)))
  (func $overwrite_param (param i64) (result i64)
    (local.set 0 (i64.add (local.get 0) (i64.const 1)))
    (local.get 0))
  (func $drop_and_nop (param i32)
    (drop (local.get 0))
    (nop)))

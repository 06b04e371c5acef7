;; Bit-pattern moves between integer and float registers.
(module
  (func $i32_reinterpret_f32 (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
  (func $i64_reinterpret_f64 (param f64) (result i64) (i64.reinterpret_f64 (local.get 0)))
  (func $f32_reinterpret_i32 (param i32) (result f32) (f32.reinterpret_i32 (local.get 0)))
  (func $f64_reinterpret_i64 (param i64) (result f64) (f64.reinterpret_i64 (local.get 0)))
  (func $round_trip (param f64) (result f64)
    (f64.reinterpret_i64 (i64.xor (i64.reinterpret_f64 (local.get 0)) (i64.const 1)))))

;; Integer to float conversions (unsigned i64 needs a fixup path), demote and promote.
(module
  (func $f32_convert_i32_s (param i32) (result f32) (f32.convert_i32_s (local.get 0)))
  (func $f32_convert_i32_u (param i32) (result f32) (f32.convert_i32_u (local.get 0)))
  (func $f32_convert_i64_s (param i64) (result f32) (f32.convert_i64_s (local.get 0)))
  (func $f32_convert_i64_u (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
  (func $f64_convert_i32_s (param i32) (result f64) (f64.convert_i32_s (local.get 0)))
  (func $f64_convert_i32_u (param i32) (result f64) (f64.convert_i32_u (local.get 0)))
  (func $f64_convert_i64_s (param i64) (result f64) (f64.convert_i64_s (local.get 0)))
  (func $f64_convert_i64_u (param i64) (result f64) (f64.convert_i64_u (local.get 0)))
  (func $demote (param f64) (result f32) (f32.demote_f64 (local.get 0)))
  (func $promote (param f32) (result f64) (f64.promote_f32 (local.get 0))))

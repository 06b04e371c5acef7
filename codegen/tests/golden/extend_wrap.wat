;; Integer width changes: wrap, zero and sign extension, and the sign-extension operators.
(module
  (func $wrap (param i64) (result i32) (i32.wrap_i64 (local.get 0)))
  (func $extend_i32_s (param i32) (result i64) (i64.extend_i32_s (local.get 0)))
  (func $extend_i32_u (param i32) (result i64) (i64.extend_i32_u (local.get 0)))
  (func $i32_extend8_s (param i32) (result i32) (i32.extend8_s (local.get 0)))
  (func $i32_extend16_s (param i32) (result i32) (i32.extend16_s (local.get 0)))
  (func $i64_extend8_s (param i64) (result i64) (i64.extend8_s (local.get 0)))
  (func $i64_extend16_s (param i64) (result i64) (i64.extend16_s (local.get 0)))
  (func $i64_extend32_s (param i64) (result i64) (i64.extend32_s (local.get 0)))
  (func $wrap_then_add (param i64 i32) (result i32)
    (i32.add (i32.wrap_i64 (local.get 0)) (local.get 1)))
  (func $extend_const (result i64) (i64.extend_i32_u (i32.const -1))))

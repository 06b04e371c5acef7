;; Every i64 comparison as an i32 value, and against a 64-bit constant.
(module
  (func $eq (param i64 i64) (result i32) (i64.eq (local.get 0) (local.get 1)))
  (func $ne (param i64 i64) (result i32) (i64.ne (local.get 0) (local.get 1)))
  (func $lt_s (param i64 i64) (result i32) (i64.lt_s (local.get 0) (local.get 1)))
  (func $lt_u (param i64 i64) (result i32) (i64.lt_u (local.get 0) (local.get 1)))
  (func $gt_s (param i64 i64) (result i32) (i64.gt_s (local.get 0) (local.get 1)))
  (func $gt_u (param i64 i64) (result i32) (i64.gt_u (local.get 0) (local.get 1)))
  (func $le_s (param i64 i64) (result i32) (i64.le_s (local.get 0) (local.get 1)))
  (func $le_u (param i64 i64) (result i32) (i64.le_u (local.get 0) (local.get 1)))
  (func $ge_s (param i64 i64) (result i32) (i64.ge_s (local.get 0) (local.get 1)))
  (func $ge_u (param i64 i64) (result i32) (i64.ge_u (local.get 0) (local.get 1)))
  (func $eq_imm64 (param i64) (result i32) (i64.eq (local.get 0) (i64.const 0x100000000))))

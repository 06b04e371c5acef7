;; call_indirect: bounds, null and signature checks, with two signatures and two tables.
(module
  (type $unary (func (param i32) (result i32)))
  (type $binary (func (param i64 i64) (result i64)))
  (table $t0 4 funcref)
  (table $t1 2 funcref)
  (func $call_unary (param i32 i32) (result i32)
    (call_indirect $t0 (type $unary) (local.get 0) (local.get 1)))
  (func $call_binary (param i64 i64 i32) (result i64)
    (call_indirect $t1 (type $binary) (local.get 0) (local.get 1) (local.get 2)))
  (func $call_void (param i32) (call_indirect $t0 (local.get 0)))
  (func $const_index (param i32) (result i32)
    (call_indirect $t0 (type $unary) (local.get 0) (i32.const 3))))

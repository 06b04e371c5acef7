;; Shifts by constants and by registers (8-bit lanes through 16-bit ones, i64x2.shr_s
;; without psraq), reductions, bit select.
(module
  (func $i32x4_shl_const (param v128) (result v128) (i32x4.shl (local.get 0) (i32.const 35)))
  (func $i16x8_shr_s (param v128 i32) (result v128) (i16x8.shr_s (local.get 0) (local.get 1)))
  (func $i8x16_shl_const (param v128) (result v128) (i8x16.shl (local.get 0) (i32.const 3)))
  (func $i8x16_shr_s (param v128 i32) (result v128) (i8x16.shr_s (local.get 0) (local.get 1)))
  (func $i64x2_shr_s_const (param v128) (result v128) (i64x2.shr_s (local.get 0) (i32.const 7)))
  (func $any_true (param v128) (result i32) (v128.any_true (local.get 0)))
  (func $i16x8_all_true (param v128) (result i32) (i16x8.all_true (local.get 0)))
  (func $i16x8_bitmask (param v128) (result i32) (i16x8.bitmask (local.get 0)))
  (func $bitselect (param v128 v128 v128) (result v128)
    (v128.bitselect (local.get 0) (local.get 1) (local.get 2))))

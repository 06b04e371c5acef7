;; Lane-wise integer arithmetic: one instruction each, except i64x2.mul (no pmullq).
(module
  (func $i8x16_add (param v128 v128) (result v128) (i8x16.add (local.get 0) (local.get 1)))
  (func $i16x8_add_sat_u (param v128 v128) (result v128) (i16x8.add_sat_u (local.get 0) (local.get 1)))
  (func $i32x4_mul (param v128 v128) (result v128) (i32x4.mul (local.get 0) (local.get 1)))
  (func $i64x2_mul (param v128 v128) (result v128) (i64x2.mul (local.get 0) (local.get 1)))
  (func $i32x4_min_u (param v128 v128) (result v128) (i32x4.min_u (local.get 0) (local.get 1)))
  (func $i8x16_neg (param v128) (result v128) (i8x16.neg (local.get 0)))
  (func $i64x2_abs (param v128) (result v128) (i64x2.abs (local.get 0)))
  (func $i32x4_dot (param v128 v128) (result v128) (i32x4.dot_i16x8_s (local.get 0) (local.get 1))))

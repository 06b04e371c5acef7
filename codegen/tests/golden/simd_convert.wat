;; Widening, narrowing and conversions, saturating and rounding forms.
(module
  (func $extend_high_s (param v128) (result v128) (i16x8.extend_high_i8x16_s (local.get 0)))
  (func $extmul_low_u (param v128 v128) (result v128) (i32x4.extmul_low_i16x8_u (local.get 0) (local.get 1)))
  (func $extadd_u (param v128) (result v128) (i32x4.extadd_pairwise_i16x8_u (local.get 0)))
  (func $narrow_s (param v128 v128) (result v128) (i8x16.narrow_i16x8_s (local.get 0) (local.get 1)))
  (func $convert_u (param v128) (result v128) (f32x4.convert_i32x4_u (local.get 0)))
  (func $trunc_sat_s (param v128) (result v128) (i32x4.trunc_sat_f32x4_s (local.get 0)))
  (func $trunc_sat_u (param v128) (result v128) (i32x4.trunc_sat_f32x4_u (local.get 0)))
  (func $trunc_sat_zero_u (param v128) (result v128) (i32x4.trunc_sat_f64x2_u_zero (local.get 0)))
  (func $convert_low_u (param v128) (result v128) (f64x2.convert_low_i32x4_u (local.get 0)))
  (func $promote (param v128) (result v128) (f64x2.promote_low_f32x4 (local.get 0))))

;; Comparisons: direct where SSE has them, composed from min/max, equality and not
;; elsewhere; i64x2.gt_s without SSE4.2's pcmpgtq.
(module
  (func $i8x16_eq (param v128 v128) (result v128) (i8x16.eq (local.get 0) (local.get 1)))
  (func $i16x8_ne (param v128 v128) (result v128) (i16x8.ne (local.get 0) (local.get 1)))
  (func $i32x4_lt_s (param v128 v128) (result v128) (i32x4.lt_s (local.get 0) (local.get 1)))
  (func $i32x4_ge_u (param v128 v128) (result v128) (i32x4.ge_u (local.get 0) (local.get 1)))
  (func $i8x16_gt_u (param v128 v128) (result v128) (i8x16.gt_u (local.get 0) (local.get 1)))
  (func $i64x2_gt_s (param v128 v128) (result v128) (i64x2.gt_s (local.get 0) (local.get 1)))
  (func $f32x4_gt (param v128 v128) (result v128) (f32x4.gt (local.get 0) (local.get 1)))
  (func $f64x2_ne (param v128 v128) (result v128) (f64x2.ne (local.get 0) (local.get 1))))

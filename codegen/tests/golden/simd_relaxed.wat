;; Relaxed SIMD: the one lowering each operator gets on x86-64 (see docs/architecture.md).
(module
  (func $swizzle (param v128 v128) (result v128) (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
  (func $trunc_s (param v128) (result v128) (i32x4.relaxed_trunc_f32x4_s (local.get 0)))
  (func $madd (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
  (func $nmadd (param v128 v128 v128) (result v128) (f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
  (func $laneselect (param v128 v128 v128) (result v128) (i8x16.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func $min (param v128 v128) (result v128) (f32x4.relaxed_min (local.get 0) (local.get 1)))
  (func $q15 (param v128 v128) (result v128) (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1)))
  (func $dot_add (param v128 v128 v128) (result v128)
    (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2))))

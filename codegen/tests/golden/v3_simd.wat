;; x86-64-v3: the VEX three-operand forms (no copy of the first operand into the
;; destination; shifts by an immediate and comparisons with a predicate too), pcmpgtq for
;; i64x2 comparisons, AVX2 broadcasts for splats, lzcnt and tzcnt.
(module
  (func $i32x4_add_keep (param v128 v128) (result v128)
    (i32x4.mul (i32x4.add (local.get 0) (local.get 1)) (local.get 0)))
  (func $f32x4_madd (param v128 v128 v128) (result v128)
    (f32x4.add (f32x4.mul (local.get 0) (local.get 1)) (local.get 2)))
  (func $i64x2_gt_s (param v128 v128) (result v128) (i64x2.gt_s (local.get 0) (local.get 1)))
  (func $i64x2_le_s (param v128 v128) (result v128) (i64x2.le_s (local.get 0) (local.get 1)))
  (func $i32x4_shr_u_const (param v128) (result v128)
    (i32x4.add (i32x4.shr_u (local.get 0) (i32.const 3)) (local.get 0)))
  (func $f32x4_lt (param v128 v128) (result v128) (f32x4.lt (local.get 0) (local.get 1)))
  (func $i8x16_splat (param i32) (result v128) (i8x16.splat (local.get 0)))
  (func $f32x4_splat (param f32) (result v128) (f32x4.splat (local.get 0)))
  (func $i32_clz (param i32) (result i32) (i32.clz (local.get 0)))
  (func $i64_ctz (param i64) (result i64) (i64.ctz (local.get 0))))

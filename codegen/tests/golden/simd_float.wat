;; Float lanes: arithmetic, WebAssembly min/max (NaN and signed-zero handling),
;; pseudo-min, sign operations through constants, rounding.
(module
  (func $f32x4_add (param v128 v128) (result v128) (f32x4.add (local.get 0) (local.get 1)))
  (func $f64x2_div (param v128 v128) (result v128) (f64x2.div (local.get 0) (local.get 1)))
  (func $f32x4_min (param v128 v128) (result v128) (f32x4.min (local.get 0) (local.get 1)))
  (func $f64x2_max (param v128 v128) (result v128) (f64x2.max (local.get 0) (local.get 1)))
  (func $f32x4_pmin (param v128 v128) (result v128) (f32x4.pmin (local.get 0) (local.get 1)))
  (func $f32x4_abs (param v128) (result v128) (f32x4.abs (local.get 0)))
  (func $f64x2_neg (param v128) (result v128) (f64x2.neg (local.get 0)))
  (func $f32x4_nearest (param v128) (result v128) (f32x4.nearest (local.get 0)))
  (func $f64x2_sqrt (param v128) (result v128) (f64x2.sqrt (local.get 0))))

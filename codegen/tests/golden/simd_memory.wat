;; Vector loads and stores: whole, splat, zero, extending, lane.
(module
  (memory 1)
  (global $g (mut v128) (v128.const i32x4 0 0 0 0))
  (func $load (param i32) (result v128) (v128.load offset=16 (local.get 0)))
  (func $store (param i32 v128) (v128.store (local.get 0) (local.get 1)))
  (func $load32_splat (param i32) (result v128) (v128.load32_splat (local.get 0)))
  (func $load64_zero (param i32) (result v128) (v128.load64_zero (local.get 0)))
  (func $load8x8_s (param i32) (result v128) (v128.load8x8_s (local.get 0)))
  (func $load16_lane (param i32 v128) (result v128) (v128.load16_lane 5 (local.get 0) (local.get 1)))
  (func $store64_lane (param i32 v128) (v128.store64_lane 1 (local.get 0) (local.get 1)))
  (func $global (param v128) (result v128) (global.set $g (local.get 0)) (global.get $g)))

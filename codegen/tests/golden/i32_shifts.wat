;; i32 shifts and rotates by a register and by constants (including counts >= 32, which
;; wasm takes modulo 32).
(module
  (func $shl (param i32 i32) (result i32) (i32.shl (local.get 0) (local.get 1)))
  (func $shr_s (param i32 i32) (result i32) (i32.shr_s (local.get 0) (local.get 1)))
  (func $shr_u (param i32 i32) (result i32) (i32.shr_u (local.get 0) (local.get 1)))
  (func $rotl (param i32 i32) (result i32) (i32.rotl (local.get 0) (local.get 1)))
  (func $rotr (param i32 i32) (result i32) (i32.rotr (local.get 0) (local.get 1)))
  (func $shl_3 (param i32) (result i32) (i32.shl (local.get 0) (i32.const 3)))
  (func $shr_s_31 (param i32) (result i32) (i32.shr_s (local.get 0) (i32.const 31)))
  (func $shr_u_33 (param i32) (result i32) (i32.shr_u (local.get 0) (i32.const 33)))
  (func $rotl_7 (param i32) (result i32) (i32.rotl (local.get 0) (i32.const 7)))
  (func $rotr_1 (param i32) (result i32) (i32.rotr (local.get 0) (i32.const 1)))
  (func $const_by_reg (param i32) (result i32) (i32.shl (i32.const 1) (local.get 0))))

;; i64 shifts and rotates by a register and by constants.
(module
  (func $shl (param i64 i64) (result i64) (i64.shl (local.get 0) (local.get 1)))
  (func $shr_s (param i64 i64) (result i64) (i64.shr_s (local.get 0) (local.get 1)))
  (func $shr_u (param i64 i64) (result i64) (i64.shr_u (local.get 0) (local.get 1)))
  (func $rotl (param i64 i64) (result i64) (i64.rotl (local.get 0) (local.get 1)))
  (func $rotr (param i64 i64) (result i64) (i64.rotr (local.get 0) (local.get 1)))
  (func $shl_40 (param i64) (result i64) (i64.shl (local.get 0) (i64.const 40)))
  (func $shr_s_63 (param i64) (result i64) (i64.shr_s (local.get 0) (i64.const 63)))
  (func $shr_u_65 (param i64) (result i64) (i64.shr_u (local.get 0) (i64.const 65)))
  (func $rotr_13 (param i64) (result i64) (i64.rotr (local.get 0) (i64.const 13))))

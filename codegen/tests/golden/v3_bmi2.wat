;; x86-64-v3: BMI2. Rotates by a constant are `rorx` (a left rotate by k is a right
;; rotate by the width minus k) and shifts by a register are `shlx`/`shrx`/`sarx`: three
;; operands, so no copy of the shifted value and no count pinned to rcx. A rotate by a
;; register keeps `rol`/`ror` with the count in cl.
(module
  (func $rotl32_const (param i32) (result i32)
    (i32.rotl (local.get 0) (i32.const 7)))
  (func $rotr64_const (param i64) (result i64)
    (i64.rotr (local.get 0) (i64.const 14)))
  (func $rotl64_by_width (param i64) (result i64)
    (i64.rotl (local.get 0) (i64.const 64)))
  (func $sigma (param i64) (result i64)
    (i64.xor
      (i64.xor (i64.rotr (local.get 0) (i64.const 28)) (i64.rotr (local.get 0) (i64.const 34)))
      (i64.rotr (local.get 0) (i64.const 39))))
  (func $shl32_reg (param i32 i32) (result i32)
    (i32.shl (local.get 0) (local.get 1)))
  (func $shr_u64_reg (param i64 i64) (result i64)
    (i64.shr_u (local.get 0) (local.get 1)))
  (func $shr_s32_reg_keep (param i32 i32) (result i32)
    (i32.add (i32.shr_s (local.get 0) (local.get 1)) (local.get 0)))
  (func $rotl32_reg (param i32 i32) (result i32)
    (i32.rotl (local.get 0) (local.get 1))))

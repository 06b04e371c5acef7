;; i64 arithmetic and bitwise operators, with registers, 32-bit immediates and constants
;; that need a 64-bit move.
(module
  (func $add (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func $sub (param i64 i64) (result i64) (i64.sub (local.get 0) (local.get 1)))
  (func $mul (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
  (func $and (param i64 i64) (result i64) (i64.and (local.get 0) (local.get 1)))
  (func $or (param i64 i64) (result i64) (i64.or (local.get 0) (local.get 1)))
  (func $xor (param i64 i64) (result i64) (i64.xor (local.get 0) (local.get 1)))
  (func $add_imm (param i64) (result i64) (i64.add (local.get 0) (i64.const -1000)))
  (func $and_imm_neg (param i64) (result i64) (i64.and (local.get 0) (i64.const -16)))
  (func $add_imm64 (param i64) (result i64) (i64.add (local.get 0) (i64.const 0x123456789)))
  (func $or_high_bit (param i64) (result i64) (i64.or (local.get 0) (i64.const 0x8000000000000000)))
  (func $const_u32 (result i64) (i64.const 0xffffffff))
  (func $const_big (result i64) (i64.const 0x0102030405060708)))

;; i32 operators with a constant operand (8-bit and 32-bit immediates), constants on the
;; left, and two constants.
(module
  (func $add_imm8 (param i32) (result i32) (i32.add (local.get 0) (i32.const 5)))
  (func $add_imm32 (param i32) (result i32) (i32.add (local.get 0) (i32.const 100000)))
  (func $sub_imm (param i32) (result i32) (i32.sub (local.get 0) (i32.const -128)))
  (func $const_minus_x (param i32) (result i32) (i32.sub (i32.const 10) (local.get 0)))
  (func $mul_imm (param i32) (result i32) (i32.mul (local.get 0) (i32.const 12)))
  (func $mul_pow2 (param i32) (result i32) (i32.mul (local.get 0) (i32.const 8)))
  (func $and_imm (param i32) (result i32) (i32.and (i32.const 255) (local.get 0)))
  (func $or_imm (param i32) (result i32) (i32.or (local.get 0) (i32.const 0x80000000)))
  (func $xor_minus_one (param i32) (result i32) (i32.xor (local.get 0) (i32.const -1)))
  (func $add_zero (param i32) (result i32) (i32.add (local.get 0) (i32.const 0)))
  (func $two_consts (result i32) (i32.add (i32.const 40) (i32.const 2)))
  (func $const_only (result i32) (i32.const -7)))

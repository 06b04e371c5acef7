;; i32 arithmetic and bitwise operators on two registers.
(module
  (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $sub (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
  (func $and (param i32 i32) (result i32) (i32.and (local.get 0) (local.get 1)))
  (func $or (param i32 i32) (result i32) (i32.or (local.get 0) (local.get 1)))
  (func $xor (param i32 i32) (result i32) (i32.xor (local.get 0) (local.get 1)))
  (func $sub_reversed (param i32 i32) (result i32) (i32.sub (local.get 1) (local.get 0)))
  (func $same_operand (param i32) (result i32) (i32.mul (local.get 0) (local.get 0))))

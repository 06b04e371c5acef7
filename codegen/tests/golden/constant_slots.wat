;; Constants of magnitude 4096 and more are constant slots, written at link time. An
;; ALU operation takes one as its relocated imm32 field when every value of the slot's
;; class fits it: any i32, and an i64 that is the sign extension of its lower half.
(module
  (func $add_i32 (param i32) (result i32)
    local.get 0
    i32.const 0x428a2f98
    i32.add)
  (func $mask_then_xor (param i32) (result i32)
    local.get 0
    i32.const 0x0f0f0f0f
    i32.and
    i32.const 100000
    i32.xor)
  (func $constant_first (param i32) (result i32)
    i32.const 100000
    local.get 0
    i32.sub
    i32.const 100000
    local.get 0
    i32.or
    i32.add)
  (func $add_i64_negative (param i64) (result i64)
    local.get 0
    i64.const -100000
    i64.add)
  ;; 0x90000000 as an i64 is not the sign extension of its lower half: in a register.
  (func $add_i64_unsigned (param i64) (result i64)
    local.get 0
    i64.const 0x90000000
    i64.add)
  ;; An i64 `and` with a slot whose upper half is zero: a 32-bit `and`, which zeroes the
  ;; upper half as the constant would.
  (func $and_i64_unsigned (param i64) (result i64)
    local.get 0
    i64.const 0x90000000
    i64.and)
  ;; Comparisons too: a branch, a select and a 0/1 result.
  (func $loop_to_slot (param i32) (result i32)
    (local i32)
    (loop $l
      local.get 1
      i32.const 1
      i32.add
      local.tee 1
      i32.const 0x300000
      i32.lt_u
      br_if $l)
    local.get 1)
  (func $select_on_slot (param i32 i32 i32) (result i32)
    local.get 1
    local.get 2
    local.get 0
    i32.const 100000
    i32.gt_s
    select)
  (func $compare_i64_slot (param i64) (result i32)
    i64.const -100000
    local.get 0
    i64.lt_s))

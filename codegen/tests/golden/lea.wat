;; Adds as `lea`: the sum gets a register of its own when an addend lives on (no copy
;; first), and is an `add` again when a branch tests its zero flag.
(module
  (func $addend_lives_on (param i32 i32) (result i32)
    (i32.mul (i32.add (local.get 0) (local.get 1)) (local.get 0)))
  (func $constant_addend_lives_on (param i64) (result i64)
    (i64.mul (i64.add (local.get 0) (i64.const 7)) (local.get 0)))
  (func $sum_returned (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func $count_down_by_adding (param i32) (result i32)
    (loop $l
      (br_if $l (local.tee 0 (i32.add (local.get 0) (i32.const -1)))))
    (local.get 0)))

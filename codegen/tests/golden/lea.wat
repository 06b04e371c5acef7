;; Adds as `lea`: the sum gets a register of its own when an addend lives on (no copy
;; first), and is an `add` again when a branch tests its zero flag. An addend shifted left
;; by 1 to 3 is the scaled index, and the shift goes when nothing else uses it.
(module
  (memory 1)
  (func $addend_lives_on (param i32 i32) (result i32)
    (i32.mul (i32.add (local.get 0) (local.get 1)) (local.get 0)))
  (func $constant_addend_lives_on (param i64) (result i64)
    (i64.mul (i64.add (local.get 0) (i64.const 7)) (local.get 0)))
  (func $sum_returned (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func $count_down_by_adding (param i32) (result i32)
    (loop $l
      (br_if $l (local.tee 0 (i32.add (local.get 0) (i32.const -1)))))
    (local.get 0))
  (func $scaled_index (param i32 i32) (result i32)
    (i32.add (local.get 0) (i32.shl (local.get 1) (i32.const 2))))
  (func $scaled_index_first_64 (param i64 i64) (result i64)
    (i64.add (i64.shl (local.get 0) (i64.const 3)) (local.get 1)))
  ;; The shift stays beside the lea when its result is used again: one instruction more
  ;; than an add of the shifted value.
  (func $shift_also_used (param i32 i32) (result i32)
    (local i32)
    (i32.mul
      (i32.add (local.get 0) (local.tee 2 (i32.shl (local.get 1) (i32.const 1))))
      (local.get 2)))
  (func $shift_by_4_stays (param i32 i32) (result i32)
    (i32.add (local.get 0) (i32.shl (local.get 1) (i32.const 4))))
  (func $array_element (param i32 i32) (result i32)
    (i32.load offset=8 (i32.add (local.get 0) (i32.shl (local.get 1) (i32.const 2))))))

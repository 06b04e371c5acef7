;; Locals assigned inside a construct but dead at its join travel as no block parameter:
;; `x` is overwritten after the `if` (the else arm still reads its value from before), and
;; the loop's `t` is written before it is read in every iteration. Only `v` and `y` reach
;; the `if`'s join, and only `i` and `acc` the loop header.
(module
  (func $arms (param $c i32) (param $v i32) (result i32) (local $x i32) (local $y i32)
    (local.set $x (i32.add (local.get $v) (i32.const 7)))
    (if (local.get $c)
      (then (local.set $x (i32.const 5)) (local.set $y (i32.const 100)))
      (else (local.set $v (i32.mul (local.get $x) (i32.const 3)))))
    (local.set $x (i32.add (local.get $v) (local.get $y)))
    (local.get $x))
  (func $temp_in_loop (param $i i32) (result i32) (local $acc i32) (local $t i32)
    (loop $l
      (local.set $t (i32.mul (local.get $i) (local.get $i)))
      (local.set $acc (i32.add (local.get $acc) (local.get $t)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i)))
    (local.get $acc)))

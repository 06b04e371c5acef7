;; Structured control flow without block parameters: if without else, nested blocks left
;; by br with a value, br to an outer loop, and an if whose arms end in br.
(module
  (func $if_no_else (param i32 i32) (result i32)
    (if (local.get 0) (then (local.set 1 (i32.const 0))))
    (local.get 1))
  (func $br_out_of_nest (param i32) (result i32)
    (block $outer (result i32)
      (block $middle
        (block $inner
          (br_if $inner (i32.eq (local.get 0) (i32.const 1)))
          (br_if $middle (i32.eq (local.get 0) (i32.const 2)))
          (br $outer (i32.const 3)))
        (br $outer (i32.const 1)))
      (i32.const 2)))
  (func $nested_loops (param i32 i32) (result i32)
    (local $i i32) (local $j i32) (local $acc i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $acc))
  (func $arms_branch (param i32) (result i32)
    (block $a (result i32)
      (if (local.get 0)
        (then (br $a (i32.const 1)))
        (else (br $a (i32.const 2))))
      (i32.const 3))))

;; br_table: a jump table with several targets, one with only a default, and one carrying
;; a value to its targets.
(module
  (func $switch (param i32) (result i32)
    (block $d
      (block $c
        (block $b
          (block $a
            (br_table $a $b $c $a $d (local.get 0)))
          (return (i32.const 10)))
        (return (i32.const 20)))
      (return (i32.const 30)))
    (i32.const 40))
  (func $default_only (param i32) (result i32)
    (block $x
      (br_table $x (local.get 0)))
    (i32.const 1))
  (func $with_value (param i32 i32) (result i32)
    (block $outer (result i32)
      (block $inner (result i32)
        (local.get 1)
        (br_table $inner $outer (local.get 0)))
      (i32.add (i32.const 100)))))

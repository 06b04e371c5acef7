;; Small realistic functions: iterative and recursive Fibonacci, and a byte search.
(module
  (memory 1)
  (func $fib_iter (param $n i32) (result i64)
    (local $a i64) (local $b i64) (local $t i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $step
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $step)))
    (local.get $a))
  (func $fib_rec (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib_rec (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib_rec (i32.sub (local.get $n) (i32.const 2)))))))
  (func $find_byte (param $ptr i32) (param $len i32) (param $byte i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $not_found
      (loop $scan
        (br_if $not_found (i32.ge_u (local.get $ptr) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $ptr)) (local.get $byte))
          (then (return (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $scan)))
    (i32.const -1)))

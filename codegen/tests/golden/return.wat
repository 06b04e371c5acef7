;; return from nested blocks and loops, with no value, one value and several values.
(module
  (func $early (param i32)
    (block
      (br_if 0 (local.get 0))
      (return))
    (nop))
  (func $from_loop (param i32) (result i32)
    (loop $l
      (if (i32.gt_u (local.get 0) (i32.const 100))
        (then (return (local.get 0))))
      (local.set 0 (i32.add (local.get 0) (i32.const 7)))
      (br $l))
    (unreachable))
  (func $two_values (param i32) (result i32 f64)
    (if (local.get 0) (then (return (i32.const 1) (f64.const 1))))
    (i32.const 0) (f64.const 0))
  (func $explicit_return_at_end (result i64) (return (i64.const 9))))

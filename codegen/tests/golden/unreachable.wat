;; unreachable as a whole body, on one arm of an if, and with dead code after it.
(module
  (func $always (unreachable))
  (func $guard (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (unreachable)))
    (local.get 0))
  (func $dead_code_after (result i32)
    (unreachable)
    (i32.add (i32.const 1) (i32.const 2))))

;; v128 values across calls: in xmm registers, on the stack past eight of them, in the
;; results area of a multi-value call; and spilled (16-byte slots) across a call.
(module
  (func $many (param v128 v128 v128 v128 v128 v128 v128 v128 v128 f64) (result v128)
    (i32x4.add (local.get 0) (local.get 8)))
  (func $call_many (param v128) (result v128)
    (call $many (local.get 0) (local.get 0) (local.get 0) (local.get 0) (local.get 0)
      (local.get 0) (local.get 0) (local.get 0) (local.get 0) (f64.const 1)))
  (func $pair (param v128) (result i32 v128 i64) (i32.const 1) (local.get 0) (i64.const 2))
  (func $call_pair (param v128) (result v128)
    (call $pair (local.get 0)) (drop) (local.set 0) (drop) (local.get 0))
  (func $keep_across_call (param v128) (result v128)
    (i32x4.add (local.get 0) (call $call_pair (local.get 0)))))

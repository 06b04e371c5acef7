;; The smallest functions: prologue (frame, VM context slot, stack check) and epilogue.
(module
  (func $empty)
  (func $identity (param i64) (result i64) (local.get 0))
  (func $identity_f32 (param f32) (result f32) (local.get 0))
  (func $second_param (param i32 i32) (result i32) (local.get 1)))

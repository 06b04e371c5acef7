;; Reference operators: ref.null, ref.is_null on both reference types, ref.func.
(module
  (func $target (result i32) (i32.const 1))
  (elem declare func $target)
  (func $null_func (result funcref) (ref.null func))
  (func $null_extern (result externref) (ref.null extern))
  (func $is_null_func (param funcref) (result i32) (ref.is_null (local.get 0)))
  (func $is_null_extern (param externref) (result i32) (ref.is_null (local.get 0)))
  (func $ref_func (result funcref) (ref.func $target))
  (func $is_null_branch (param externref) (result i32)
    (if (result i32) (ref.is_null (local.get 0))
      (then (i32.const 10))
      (else (i32.const 20)))))

;; memory.size and memory.grow.
(module
  (memory 1 10)
  (func $size (result i32) (memory.size))
  (func $grow (param i32) (result i32) (memory.grow (local.get 0)))
  (func $grow_one (result i32) (memory.grow (i32.const 1)))
  (func $size_in_bytes (result i32) (i32.mul (memory.size) (i32.const 65536))))

;; Accesses to an imported memory (its base and length come through the import's slot).
(module
  (import "env" "memory" (memory 1))
  (func $load (param i32) (result i32) (i32.load offset=8 (local.get 0)))
  (func $store (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func $size (result i32) (memory.size)))

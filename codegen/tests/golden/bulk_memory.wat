;; memory.copy, memory.fill, memory.init from a passive segment, and data.drop.
(module
  (memory 1)
  (data (i32.const 0) "active")
  (data $hello "hello, world")
  (func $copy (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func $fill (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func $fill_const (param i32) (memory.fill (local.get 0) (i32.const 0) (i32.const 256)))
  (func $init (param i32 i32 i32) (memory.init $hello (local.get 0) (local.get 1) (local.get 2)))
  (func $drop (data.drop $hello))
  (func $init_then_drop (param i32)
    (memory.init $hello (local.get 0) (i32.const 0) (i32.const 12))
    (data.drop $hello)))

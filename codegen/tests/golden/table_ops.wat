;; table.get, table.set, table.size, table.grow and table.fill on funcref and externref
;; tables.
(module
  (table $funcs 4 funcref)
  (table $externs 2 10 externref)
  (func $get (param i32) (result funcref) (table.get $funcs (local.get 0)))
  (func $set (param i32 funcref) (table.set $funcs (local.get 0) (local.get 1)))
  (func $get_extern (param i32) (result externref) (table.get $externs (local.get 0)))
  (func $set_extern (param i32 externref) (table.set $externs (local.get 0) (local.get 1)))
  (func $size (result i32) (table.size $externs))
  (func $grow (param externref i32) (result i32) (table.grow $externs (local.get 0) (local.get 1)))
  (func $fill (param i32 funcref i32) (table.fill $funcs (local.get 0) (local.get 1) (local.get 2)))
  (func $set_null (param i32) (table.set $funcs (local.get 0) (ref.null func))))

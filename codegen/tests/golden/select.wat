;; select on every value type, with a plain i32 condition and with typed select.
(module
  (func $i32 (param i32 i32 i32) (result i32) (select (local.get 0) (local.get 1) (local.get 2)))
  (func $i64 (param i64 i64 i32) (result i64) (select (local.get 0) (local.get 1) (local.get 2)))
  (func $f32 (param f32 f32 i32) (result f32) (select (local.get 0) (local.get 1) (local.get 2)))
  (func $f64 (param f64 f64 i32) (result f64) (select (local.get 0) (local.get 1) (local.get 2)))
  (func $funcref (param funcref funcref i32) (result funcref)
    (select (result funcref) (local.get 0) (local.get 1) (local.get 2)))
  (func $consts (param i32) (result i32) (select (i32.const 3) (i32.const 4) (local.get 0))))

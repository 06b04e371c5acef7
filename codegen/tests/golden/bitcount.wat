;; clz, ctz and popcnt on i32 and i64.
(module
  (func $i32_clz (param i32) (result i32) (i32.clz (local.get 0)))
  (func $i32_ctz (param i32) (result i32) (i32.ctz (local.get 0)))
  (func $i32_popcnt (param i32) (result i32) (i32.popcnt (local.get 0)))
  (func $i64_clz (param i64) (result i64) (i64.clz (local.get 0)))
  (func $i64_ctz (param i64) (result i64) (i64.ctz (local.get 0)))
  (func $i64_popcnt (param i64) (result i64) (i64.popcnt (local.get 0))))

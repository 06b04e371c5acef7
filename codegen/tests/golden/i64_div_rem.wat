;; i64 division and remainder with their traps.
(module
  (func $div_s (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
  (func $div_u (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
  (func $rem_s (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
  (func $rem_u (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1))))

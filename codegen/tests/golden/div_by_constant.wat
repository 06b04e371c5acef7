;; Division and remainder by constant divisors: non-zero (no zero check needed), -1
;; (overflow check), zero (always traps), and a constant dividend.
(module
  (func $div_s_7 (param i32) (result i32) (i32.div_s (local.get 0) (i32.const 7)))
  (func $div_u_16 (param i32) (result i32) (i32.div_u (local.get 0) (i32.const 16)))
  (func $rem_u_10 (param i64) (result i64) (i64.rem_u (local.get 0) (i64.const 10)))
  (func $div_s_minus_one (param i32) (result i32) (i32.div_s (local.get 0) (i32.const -1)))
  (func $rem_s_minus_one (param i64) (result i64) (i64.rem_s (local.get 0) (i64.const -1)))
  (func $div_u_zero (param i32) (result i32) (i32.div_u (local.get 0) (i32.const 0)))
  (func $const_dividend (param i32) (result i32) (i32.div_u (i32.const 1000) (local.get 0))))

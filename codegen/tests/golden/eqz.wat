;; eqz as a value and as a branch condition (which should test and branch directly).
(module
  (func $i32_eqz (param i32) (result i32) (i32.eqz (local.get 0)))
  (func $i64_eqz (param i64) (result i32) (i64.eqz (local.get 0)))
  (func $eqz_br_if (param i32) (result i32)
    (block $zero
      (br_if $zero (i32.eqz (local.get 0)))
      (return (i32.const 1)))
    (i32.const 0))
  (func $eqz_if (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (local.get 0))))
  (func $double_eqz (param i32) (result i32) (i32.eqz (i32.eqz (local.get 0)))))

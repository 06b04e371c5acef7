;; i32 division and remainder: divide-by-zero traps, the signed-overflow trap of div_s,
;; and rem_s of INT_MIN by -1 (which is 0, not a trap).
(module
  (func $div_s (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $div_u (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
  (func $rem_s (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func $rem_u (param i32 i32) (result i32) (i32.rem_u (local.get 0) (local.get 1))))

;; Calls to imported functions (through the import's slot in the VM context), mixed with a
;; call to a defined function.
(module
  (import "env" "log" (func $log (param i32)))
  (import "env" "mix" (func $mix (param i64 f64) (result f64)))
  (func $local (param i32) (result i32) (local.get 0))
  (func $call_log (param i32) (call $log (local.get 0)))
  (func $call_mix (param i64 f64) (result f64) (call $mix (local.get 0) (local.get 1)))
  (func $both (param i32)
    (call $log (call $local (local.get 0)))
    (call $log (i32.const 0))))

;; Imported globals (reached through a pointer in the VM context), mutable and not, next
;; to a defined one.
(module
  (import "env" "g_const" (global $g_const i32))
  (import "env" "g_mut" (global $g_mut (mut i64)))
  (import "env" "g_float" (global $g_float (mut f64)))
  (global $own (mut i32) (i32.const 5))
  (func $get_const (result i32) (global.get $g_const))
  (func $get_mut (result i64) (global.get $g_mut))
  (func $set_mut (param i64) (global.set $g_mut (local.get 0)))
  (func $set_float (param f64) (global.set $g_float (local.get 0)))
  (func $mixed (result i32)
    (global.set $own (i32.add (global.get $own) (global.get $g_const)))
    (global.get $own)))

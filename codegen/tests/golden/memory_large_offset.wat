;; Guard-page bounds checks: an access whose static offset fits in the guard region is
;; unchecked (and faults); one with a larger offset keeps the explicit check.
(module
  (memory 1)
  (func $within_guard (param i32) (result i64) (i64.load offset=0x7ffffff0 (local.get 0)))
  (func $past_guard (param i32) (result i32) (i32.load offset=0x80000000 (local.get 0)))
  (func $largest (param i32) (result i32) (i32.load8_u offset=0xffffffff (local.get 0))))

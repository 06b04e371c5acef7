;; Explicit bounds checks (`--bounds-checks explicit`): every access compares address +
;; offset + size with the memory's length.
(module
  (memory 1)
  (func $load (param i32) (result i32) (i32.load offset=12 (local.get 0)))
  (func $store_byte (param i32 i32) (i32.store8 offset=7 (local.get 0) (local.get 1)))
  (func $load_v128 (param i32) (result v128) (v128.load (local.get 0)))
  ;; A constant address is checked as address + offset + size from zero.
  (func $load_const_address (result i32) (i32.load offset=4 (i32.const 1024))))

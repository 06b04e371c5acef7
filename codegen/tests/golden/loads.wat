;; Loads of every width and extension, with zero, small and large static offsets.
(module
  (memory 1)
  (func $i32_load (param i32) (result i32) (i32.load (local.get 0)))
  (func $i32_load_offset (param i32) (result i32) (i32.load offset=16 (local.get 0)))
  (func $i32_load_large_offset (param i32) (result i32) (i32.load offset=0x10000000 (local.get 0)))
  (func $i32_load8_s (param i32) (result i32) (i32.load8_s offset=1 (local.get 0)))
  (func $i32_load8_u (param i32) (result i32) (i32.load8_u offset=2 (local.get 0)))
  (func $i32_load16_s (param i32) (result i32) (i32.load16_s offset=3 (local.get 0)))
  (func $i32_load16_u (param i32) (result i32) (i32.load16_u offset=4 (local.get 0)))
  (func $i64_load (param i32) (result i64) (i64.load offset=8 (local.get 0)))
  (func $i64_load8_s (param i32) (result i64) (i64.load8_s (local.get 0)))
  (func $i64_load8_u (param i32) (result i64) (i64.load8_u (local.get 0)))
  (func $i64_load16_s (param i32) (result i64) (i64.load16_s (local.get 0)))
  (func $i64_load16_u (param i32) (result i64) (i64.load16_u (local.get 0)))
  (func $i64_load32_s (param i32) (result i64) (i64.load32_s (local.get 0)))
  (func $i64_load32_u (param i32) (result i64) (i64.load32_u (local.get 0)))
  (func $f32_load (param i32) (result f32) (f32.load offset=12 (local.get 0)))
  (func $f64_load (param i32) (result f64) (f64.load offset=24 (local.get 0)))
  ;; A constant address is part of the displacement; the address 0 with an offset that is
  ;; a constant slot (how toolchains reach statics) too, with the slot as displacement.
  (func $load_const_address (result i32) (i32.load (i32.const 1024)))
  (func $static_at_zero_plus_offset (result i32) (i32.load offset=0x10bed8 (i32.const 0)))
  (func $two_loads (param i32) (result i32)
    (i32.add (i32.load (local.get 0)) (i32.load offset=4 (local.get 0))))
  ;; An address a 32-bit add computed is already zero-extended: the accesses index with
  ;; its register, without a copy into r10 (a parameter's address takes the copy).
  (func $computed_address (param i32 i32) (result i32)
    (local i32)
    (local.set 2 (i32.add (local.get 0) (local.get 1)))
    (i32.store offset=8 (local.get 2) (i32.load8_u offset=3 (local.get 2)))
    (i32.add (i32.load (local.get 2)) (i32.load16_u offset=2 (i32.shl (local.get 1) (i32.const 2)))))
  ;; A loop-carried address is not known to be zero-extended: its first access copies it
  ;; into r10, the second zero-extends it into a register of its own, which the third and
  ;; fourth share.
  (func $fields_in_a_loop (param i32 i32) (result i32)
    (local i32)
    (loop $l
      (local.set 2
        (i32.add (local.get 2)
          (i32.add (i32.load (local.get 0))
            (i32.add (i32.load offset=4 (local.get 0)) (i32.load offset=8 (local.get 0))))))
      (local.set 0 (i32.load offset=12 (local.get 0)))
      (br_if $l (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
    (local.get 2)))

;; Byte swaps written out as shifts, masks and `or`s (WebAssembly has no byte-swap
;; operator) become one `bswap`, and the pieces that fed it go. What is not a whole swap
;; stays as written.
(module
  (memory 1)
  ;; What LLVM writes for `u64::from_be_bytes` of a load.
  (func $load_be_i64 (param i32) (result i64) (local i64)
    (local.set 1 (i64.load (local.get 0)))
    (i64.or
      (i64.or
        (i64.or (i64.shl (local.get 1) (i64.const 56))
                (i64.shl (i64.and (local.get 1) (i64.const 0xff00)) (i64.const 40)))
        (i64.or (i64.shl (i64.and (local.get 1) (i64.const 0xff0000)) (i64.const 24))
                (i64.shl (i64.and (local.get 1) (i64.const 0xff000000)) (i64.const 8))))
      (i64.or
        (i64.or (i64.and (i64.shr_u (local.get 1) (i64.const 8)) (i64.const 0xff000000))
                (i64.and (i64.shr_u (local.get 1) (i64.const 24)) (i64.const 0xff0000)))
        (i64.or (i64.and (i64.shr_u (local.get 1) (i64.const 40)) (i64.const 0xff00))
                (i64.shr_u (local.get 1) (i64.const 56))))))
  ;; And for `u32::from_be_bytes`: two rotates.
  (func $swap_i32 (param i32) (result i32)
    (i32.or
      (i32.rotr (i32.and (local.get 0) (i32.const 0x00ff00ff)) (i32.const 8))
      (i32.and (i32.rotr (local.get 0) (i32.const 24)) (i32.const 0x00ff00ff))))
  ;; A piece used again stays, beside the swap.
  (func $piece_used_again (param i32) (result i32)
    (i32.add
      (i32.or
        (i32.rotr (i32.and (local.get 0) (i32.const 0x00ff00ff)) (i32.const 8))
        (i32.and (i32.rotr (local.get 0) (i32.const 24)) (i32.const 0x00ff00ff)))
      (i32.rotr (local.get 0) (i32.const 24))))
  ;; Half a swap (the two high bytes swapped into the low half) is not one.
  (func $half_swap (param i32) (result i32)
    (i32.or
      (i32.shr_u (local.get 0) (i32.const 24))
      (i32.and (i32.shr_u (local.get 0) (i32.const 8)) (i32.const 0xff00))))
  ;; Bytes of two values: not a swap of either.
  (func $two_sources (param i32 i32) (result i32)
    (i32.or
      (i32.rotr (i32.and (local.get 0) (i32.const 0x00ff00ff)) (i32.const 8))
      (i32.and (i32.rotr (local.get 1) (i32.const 24)) (i32.const 0x00ff00ff)))))

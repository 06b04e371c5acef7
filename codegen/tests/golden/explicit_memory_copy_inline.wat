;; memory.copy of 1 to 32 bytes is copied in line: a dispatch on the length (1-3, 4-8,
;; 9-16, 17-32 bytes), every load before any store, the store that reaches the highest
;; address first; a length of 0 or above 32, or an address within 32 bytes of 2^32, goes to
;; the libcall. A constant length of 1 to 32 is straight-line chunks at static offsets.
(module
  (memory 1)
  (func $dynamic (param $dst i32) (param $src i32) (param $len i32)
    local.get $dst
    local.get $src
    local.get $len
    memory.copy)
  (func $const_7 (param $dst i32) (param $src i32)
    local.get $dst
    local.get $src
    i32.const 7
    memory.copy)
  (func $const_24 (param $dst i32) (param $src i32)
    local.get $dst
    local.get $src
    i32.const 24
    memory.copy)
  (func $const_64_libcall (param $dst i32) (param $src i32)
    local.get $dst
    local.get $src
    i32.const 64
    memory.copy))

;; ceil, floor, trunc and nearest on f32 and f64 (roundss/roundsd with SSE4.1).
(module
  (func $f32_ceil (param f32) (result f32) (f32.ceil (local.get 0)))
  (func $f32_floor (param f32) (result f32) (f32.floor (local.get 0)))
  (func $f32_trunc (param f32) (result f32) (f32.trunc (local.get 0)))
  (func $f32_nearest (param f32) (result f32) (f32.nearest (local.get 0)))
  (func $f64_ceil (param f64) (result f64) (f64.ceil (local.get 0)))
  (func $f64_floor (param f64) (result f64) (f64.floor (local.get 0)))
  (func $f64_trunc (param f64) (result f64) (f64.trunc (local.get 0)))
  (func $f64_nearest (param f64) (result f64) (f64.nearest (local.get 0))))

;; copysign on f32 and f64, by register and with a constant sign source.
(module
  (func $f32 (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1)))
  (func $f64 (param f64 f64) (result f64) (f64.copysign (local.get 0) (local.get 1)))
  (func $f64_negative (param f64) (result f64) (f64.copysign (local.get 0) (f64.const -1))))

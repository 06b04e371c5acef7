;; min and max, which must propagate NaN and order -0 below +0 (not plain minss/maxss).
(module
  (func $f32_min (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
  (func $f32_max (param f32 f32) (result f32) (f32.max (local.get 0) (local.get 1)))
  (func $f64_min (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
  (func $f64_max (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1))))

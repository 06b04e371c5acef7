;; Float constants: +0 and -0 (distinct bit patterns), one, NaN, infinity, and f64 values
;; that need all 64 bits.
(module
  (func $f32_zero (result f32) (f32.const 0))
  (func $f32_minus_zero (result f32) (f32.const -0))
  (func $f32_one (result f32) (f32.const 1))
  (func $f32_nan (result f32) (f32.const nan))
  (func $f64_zero (result f64) (f64.const 0))
  (func $f64_inf (result f64) (f64.const -inf))
  (func $f64_pi (result f64) (f64.const 3.141592653589793))
  (func $f64_nan_payload (result f64) (f64.const nan:0x4000000000001)))

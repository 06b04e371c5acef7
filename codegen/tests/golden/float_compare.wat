;; Float comparisons as values (eq and ne must handle the unordered case) and as branch
;; conditions.
(module
  (func $f32_eq (param f32 f32) (result i32) (f32.eq (local.get 0) (local.get 1)))
  (func $f32_ne (param f32 f32) (result i32) (f32.ne (local.get 0) (local.get 1)))
  (func $f32_lt (param f32 f32) (result i32) (f32.lt (local.get 0) (local.get 1)))
  (func $f32_gt (param f32 f32) (result i32) (f32.gt (local.get 0) (local.get 1)))
  (func $f32_le (param f32 f32) (result i32) (f32.le (local.get 0) (local.get 1)))
  (func $f32_ge (param f32 f32) (result i32) (f32.ge (local.get 0) (local.get 1)))
  (func $f64_eq (param f64 f64) (result i32) (f64.eq (local.get 0) (local.get 1)))
  (func $f64_ne (param f64 f64) (result i32) (f64.ne (local.get 0) (local.get 1)))
  (func $f64_lt (param f64 f64) (result i32) (f64.lt (local.get 0) (local.get 1)))
  (func $f64_ge (param f64 f64) (result i32) (f64.ge (local.get 0) (local.get 1)))
  (func $f64_lt_br_if (param f64 f64) (result i32)
    (block $yes
      (br_if $yes (f64.lt (local.get 0) (local.get 1)))
      (return (i32.const 0)))
    (i32.const 1))
  (func $f32_eq_if (param f32 f32) (result f32)
    (if (result f32) (f32.eq (local.get 0) (local.get 1))
      (then (local.get 0))
      (else (f32.const 0)))))

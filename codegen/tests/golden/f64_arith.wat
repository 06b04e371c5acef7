;; f64 arithmetic: binary operators, sqrt, neg and abs.
(module
  (func $add (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
  (func $sub (param f64 f64) (result f64) (f64.sub (local.get 0) (local.get 1)))
  (func $mul (param f64 f64) (result f64) (f64.mul (local.get 0) (local.get 1)))
  (func $div (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
  (func $sqrt (param f64) (result f64) (f64.sqrt (local.get 0)))
  (func $neg (param f64) (result f64) (f64.neg (local.get 0)))
  (func $abs (param f64) (result f64) (f64.abs (local.get 0)))
  (func $mul_const (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.1))))

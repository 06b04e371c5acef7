;; f32 arithmetic: binary operators, sqrt, neg and abs (sign-bit masks).
(module
  (func $add (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
  (func $sub (param f32 f32) (result f32) (f32.sub (local.get 0) (local.get 1)))
  (func $mul (param f32 f32) (result f32) (f32.mul (local.get 0) (local.get 1)))
  (func $div (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))
  (func $sqrt (param f32) (result f32) (f32.sqrt (local.get 0)))
  (func $neg (param f32) (result f32) (f32.neg (local.get 0)))
  (func $abs (param f32) (result f32) (f32.abs (local.get 0)))
  (func $add_const (param f32) (result f32) (f32.add (local.get 0) (f32.const 1.5))))

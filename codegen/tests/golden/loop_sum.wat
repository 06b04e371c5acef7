;; A counting loop over memory: the shape of most hot code (induction variable, load,
;; accumulate, compare and branch back).
(module
  (memory 1)
  (func $sum (param $ptr i32) (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $next
        (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
        (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (local.get $acc))
  (func $count_down (param i64) (result i64)
    (loop $l
      (local.set 0 (i64.sub (local.get 0) (i64.const 1)))
      (br_if $l (i64.gt_s (local.get 0) (i64.const 0))))
    (local.get 0)))

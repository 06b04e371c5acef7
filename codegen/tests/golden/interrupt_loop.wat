;; Fuel and epoch checks (compiled with --interruption fuel+epoch): a straight-line
;; function charges its fuel before returning; a loop checks both at its header and
;; charges each round's fuel before its back edge.
(module
  (func $add3 (param i32) (result i32)
    (i32.add (i32.add (local.get 0) (i32.const 1)) (i32.const 2)))
  (func $count (param $n i32)
    (loop $l
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))

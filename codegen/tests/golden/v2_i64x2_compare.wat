;; x86-64-v2: i64x2 comparisons with SSE4.2's pcmpgtq, still legacy-encoded.
(module
  (func $i64x2_gt_s (param v128 v128) (result v128) (i64x2.gt_s (local.get 0) (local.get 1)))
  (func $i64x2_lt_s (param v128 v128) (result v128) (i64x2.lt_s (local.get 0) (local.get 1))))

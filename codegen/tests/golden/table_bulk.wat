;; table.copy (within and between tables), table.init from a passive segment, elem.drop.
(module
  (table $a 8 funcref)
  (table $b 8 funcref)
  (func $f0)
  (func $f1)
  (elem (table $a) (i32.const 0) func $f0)
  (elem $passive func $f0 $f1)
  (func $copy_within (param i32 i32 i32) (table.copy $a $a (local.get 0) (local.get 1) (local.get 2)))
  (func $copy_between (param i32 i32 i32) (table.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
  (func $init (param i32 i32 i32) (table.init $b $passive (local.get 0) (local.get 1) (local.get 2)))
  (func $drop (elem.drop $passive)))

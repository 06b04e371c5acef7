//! aarch64 emission: 128-bit SIMD instructions. Each is one NEON instruction but for
//! constants, the two-register table lookup and the lane moves between register files.

use super::*;

impl Emitter {
    /// `v = bits`: `movi` when every byte is 0 or `0xff` and both halves are equal,
    /// otherwise the halves through `ip0` (`dup` when they are equal).
    fn vec_const(&mut self, v: Vreg, bits: u128) {
        let (lo, hi) = (bits as u64, (bits >> 64) as u64);
        let mask_byte = |x: u64| {
            let bytes = x.to_le_bytes();
            bytes
                .iter()
                .all(|b| *b == 0 || *b == 0xff)
                .then(|| (0..8).fold(0u8, |m, i| m | u8::from(bytes[i] == 0xff) << i))
        };
        if lo == hi {
            if let Some(m) = mask_byte(lo) {
                self.asm.movi_2d(v, m);
                return;
            }
            self.asm.mov_imm(Size::S64, IP0, lo);
            self.asm.dup_gpr(Arr::full(Elem::D), v, IP0);
            return;
        }
        if lo == 0 {
            self.asm.movi_2d(v, 0);
        } else {
            self.asm.mov_imm(Size::S64, IP0, lo);
            self.asm.fmov_from_gpr(Size::S64, v, IP0);
        }
        if hi != 0 {
            self.asm.mov_imm(Size::S64, IP0, hi);
            self.asm.ins_gpr(Elem::D, v, 1, IP0);
        }
    }

    /// Emits one of the SIMD instructions (see `Emitter::inst`).
    pub(super) fn simd(&mut self, inst: &Inst) {
        match inst {
            Inst::VecRRR { a, b, dst, op, arr } => {
                if *op == V3::Tbl {
                    self.asm.tbl(1, vr(*dst), vr(*a), vr(*b));
                } else {
                    self.asm.v3(*op, *arr, vr(*dst), vr(*a), vr(*b));
                }
            }
            Inst::VecRR { src, dst, op, arr } => self.asm.v2(*op, *arr, vr(*dst), vr(*src)),
            Inst::VecShift {
                src,
                dst,
                op,
                arr,
                amount,
            } => self.asm.vshift(*op, *arr, vr(*dst), vr(*src), *amount),
            Inst::VecBsl { mask, a, b, dst } => {
                debug_assert_eq!(mask.preg(), dst.preg());
                self.asm
                    .v3(V3::Bsl, Arr::full(Elem::B), vr(*dst), vr(*a), vr(*b));
            }
            Inst::VecDup {
                src,
                dst,
                arr,
                from_vec,
            } => {
                if *from_vec {
                    self.asm.dup_elem(*arr, vr(*dst), vr(*src), 0);
                } else {
                    self.asm.dup_gpr(*arr, vr(*dst), g(*src));
                }
            }
            Inst::VecExtract {
                src,
                dst,
                elem,
                lane,
                signed,
                to_vec,
            } => {
                if *to_vec {
                    self.asm.dup_scalar(*elem, vr(*dst), vr(*src), *lane);
                } else if *signed {
                    self.asm.smov(*elem, Size::S32, g(*dst), vr(*src), *lane);
                } else {
                    self.asm.umov(*elem, g(*dst), vr(*src), *lane);
                }
            }
            Inst::VecInsert {
                vec,
                src,
                dst,
                elem,
                lane,
                from_vec,
            } => {
                debug_assert_eq!(vec.preg(), dst.preg());
                if *from_vec {
                    self.asm.ins_elem(*elem, vr(*dst), *lane, vr(*src), 0);
                } else {
                    self.asm.ins_gpr(*elem, vr(*dst), *lane, g(*src));
                }
            }
            Inst::VecConst { dst, bits } => self.vec_const(vr(*dst), *bits),
            Inst::VecTbl2 { a, b, idx, dst } => {
                // The table is two consecutive registers: v30, v31.
                const _: () = assert!(VSCRATCH2.0 + 1 == VSCRATCH.0);
                self.asm.vmov(VSCRATCH2, vr(*a));
                self.asm.vmov(VSCRATCH, vr(*b));
                self.asm.tbl(2, vr(*dst), VSCRATCH2, vr(*idx));
            }
            other => unreachable!("not a SIMD instruction: {other:?}"),
        }
    }
}

//! aarch64 lowering: 128-bit SIMD with NEON.
//!
//! Most operators are one NEON instruction; the others are composed here from
//! single-instruction forms on virtual registers, so the allocator sees every temporary:
//! narrowing (two narrowing halves joined by `zip1`), `i64x2.mul` (through general
//! registers, NEON having no 64-bit lane product), the dot products (widening products
//! summed pairwise), shifts by a register (`sshl`/`ushl` by the masked count, negated for
//! right shifts), the bit masks (lane sign masks weighted by powers of two and summed) and
//! the reductions (`umaxv`).
//!
//! Relaxed SIMD, one deterministic choice per operator (`docs/architecture.md`):
//! `relaxed_swizzle` is `swizzle` (`tbl`), the relaxed truncations are the saturating
//! ones (`fcvtzs`/`fcvtzu`), `relaxed_min`/`relaxed_max` are `min`/`max`, `relaxed_madd`
//! and `relaxed_nmadd` round the product and then the sum, `relaxed_laneselect` is
//! `bitselect`, `relaxed_q15mulr_s` is `q15mulr_sat_s` (`sqrdmulh`), and the dot products
//! take both operands signed, summing each pair of products in 16 bits (wrapping).

use super::*;
use crate::isa::aarch64::asm::{Arr, Elem, VShift, V2, V3};
use crate::lower::{Lanes, LowerSimd, VBinOp, VShiftOp, VTernOp, VTestOp, VUnOp};

const BYTES: Arr = Arr::full(Elem::B);

/// The lane size of a shape.
fn elem_of(l: Lanes) -> Elem {
    match l {
        Lanes::I8x16 => Elem::B,
        Lanes::I16x8 => Elem::H,
        Lanes::I32x4 | Lanes::F32x4 => Elem::S,
        Lanes::I64x2 | Lanes::F64x2 => Elem::D,
    }
}

/// The lane half as wide as `e` (the source of a widening to `e`).
fn narrower(e: Elem) -> Elem {
    match e {
        Elem::D => Elem::S,
        Elem::S => Elem::H,
        _ => Elem::B,
    }
}

fn full(l: Lanes) -> Arr {
    Arr::full(elem_of(l))
}

/// A lane's bits replicated over 128 bits.
fn replicate(lanes: Lanes, bits: u64) -> u128 {
    let w = lanes.bytes() as u32 * 8;
    let lane = if w == 64 {
        bits as u128
    } else {
        (bits & ((1u64 << w) - 1)) as u128
    };
    (0..lanes.count() as u32).fold(0u128, |acc, i| acc | lane << (w * i))
}

impl A64Lower {
    fn vnew(ctx: C) -> VReg {
        ctx.builder.new_vreg(RegClass::Float)
    }

    fn v3(&mut self, ctx: C, op: V3, arr: Arr, a: VReg, b: VReg) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecRRR {
            a: r(a),
            b: r(b),
            dst: r(dst),
            op,
            arr,
        });
        dst
    }

    fn v2(&mut self, ctx: C, op: V2, arr: Arr, a: VReg) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecRR {
            src: r(a),
            dst: r(dst),
            op,
            arr,
        });
        dst
    }

    fn vshift(&mut self, ctx: C, op: VShift, arr: Arr, a: VReg, amount: u32) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecShift {
            src: r(a),
            dst: r(dst),
            op,
            arr,
            amount,
        });
        dst
    }

    fn vconst(&mut self, ctx: C, bits: u128) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecConst { dst: r(dst), bits });
        dst
    }

    /// `(mask & a) | (!mask & b)`.
    fn bsl(&mut self, ctx: C, mask: VReg, a: VReg, b: VReg) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecBsl {
            mask: r(mask),
            a: r(a),
            b: r(b),
            dst: r(dst),
        });
        dst
    }

    /// Lane `lane` of `v` in a general register (zero-extended).
    fn lane_to_gpr(&mut self, ctx: C, elem: Elem, v: VReg, lane: u8) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::VecExtract {
            src: r(v),
            dst: r(dst),
            elem,
            lane,
            signed: false,
            to_vec: false,
        });
        dst
    }

    /// Every lane of `arr` set to the general register `x`.
    fn dup_gpr(&mut self, ctx: C, arr: Arr, x: VReg) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecDup {
            src: r(x),
            dst: r(dst),
            arr,
            from_vec: false,
        });
        dst
    }

    /// The i32 `cc`-comparison of the general register `x` with zero, as 0 or 1.
    fn test_zero(&mut self, ctx: C, x: VReg, cc: Cond) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::CmpSet {
            lhs: r(x),
            rhs: RegOrImm::Imm(0),
            dst: r(dst),
            size: Size::S32,
            cc,
        });
        dst
    }

    /// `i64x2.mul`: each lane's product in a general register.
    fn mul64(&mut self, ctx: C, a: VReg, b: VReg) -> VReg {
        let mut products = [a; 2];
        for (lane, p) in products.iter_mut().enumerate() {
            let x = self.lane_to_gpr(ctx, Elem::D, a, lane as u8);
            let y = self.lane_to_gpr(ctx, Elem::D, b, lane as u8);
            *p = ctx.builder.new_vreg(RegClass::Int);
            ctx.builder.push(Inst::Mul {
                a: r(x),
                b: r(y),
                dst: r(*p),
                size: Size::S64,
            });
        }
        let low = self.dup_gpr(ctx, Arr::full(Elem::D), products[0]);
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecInsert {
            vec: r(low),
            src: r(products[1]),
            dst: r(dst),
            elem: Elem::D,
            lane: 1,
            from_vec: false,
        });
        dst
    }

    /// The pairwise sums of the signed products of `a`'s and `b`'s `narrow` lanes, in
    /// lanes twice as wide (wrapping).
    fn dot(&mut self, ctx: C, narrow: Elem, a: VReg, b: VReg) -> VReg {
        let lo = self.v3(ctx, V3::Smull, Arr::half(narrow), a, b);
        let hi = self.v3(ctx, V3::Smull, Arr::full(narrow), a, b);
        self.v3(ctx, V3::Addp, Arr::full(narrow.wider()), lo, hi)
    }

    /// The two narrowing halves of `a` and `b` (lanes of `to`) joined.
    fn narrow(&mut self, ctx: C, op: V2, to: Elem, a: VReg, b: VReg) -> VReg {
        let lo = self.v2(ctx, op, Arr::half(to), a);
        let hi = self.v2(ctx, op, Arr::half(to), b);
        self.v3(ctx, V3::Zip1, Arr::full(Elem::D), lo, hi)
    }
}

impl LowerSimd for A64Lower {
    fn v128_const(&mut self, ctx: C, bits: u128) -> VReg {
        self.vconst(ctx, bits)
    }

    fn splat(&mut self, ctx: C, lanes: Lanes, x: Val) -> VReg {
        if let Val::Const(_, bits) = x {
            return self.vconst(ctx, replicate(lanes, bits));
        }
        let x = self.reg(ctx, x);
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecDup {
            src: r(x),
            dst: r(dst),
            arr: full(lanes),
            from_vec: lanes.is_float(),
        });
        dst
    }

    fn extract_lane(&mut self, ctx: C, lanes: Lanes, lane: u8, signed: bool, v: VReg) -> VReg {
        let dst = ctx.new_reg(lanes.scalar());
        let elem = elem_of(lanes);
        ctx.builder.push(Inst::VecExtract {
            src: r(v),
            dst: r(dst),
            elem,
            lane,
            signed: signed && matches!(elem, Elem::B | Elem::H),
            to_vec: lanes.is_float(),
        });
        dst
    }

    fn replace_lane(&mut self, ctx: C, lanes: Lanes, lane: u8, v: VReg, x: Val) -> VReg {
        let x = self.reg(ctx, x);
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecInsert {
            vec: r(v),
            src: r(x),
            dst: r(dst),
            elem: elem_of(lanes),
            lane,
            from_vec: lanes.is_float(),
        });
        dst
    }

    fn shuffle(&mut self, ctx: C, a: VReg, b: VReg, lanes: [u8; 16]) -> VReg {
        let index = |f: &dyn Fn(u8) -> u8| {
            lanes
                .iter()
                .enumerate()
                .fold(0u128, |acc, (i, l)| acc | (f(*l) as u128) << (8 * i))
        };
        // One table register when every index selects from one operand.
        let one = if a == b {
            Some((a, index(&|l| l & 15)))
        } else if lanes.iter().all(|l| *l < 16) {
            Some((a, index(&|l| l)))
        } else if lanes.iter().all(|l| *l >= 16) {
            Some((b, index(&|l| l - 16)))
        } else {
            None
        };
        if let Some((t, bits)) = one {
            let idx = self.vconst(ctx, bits);
            return self.v3(ctx, V3::Tbl, BYTES, t, idx);
        }
        let idx = self.vconst(ctx, index(&|l| l));
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VecTbl2 {
            a: r(a),
            b: r(b),
            idx: r(idx),
            dst: r(dst),
        });
        dst
    }

    fn simd_bin(&mut self, ctx: C, op: VBinOp, lanes: Lanes, a: VReg, b: VReg) -> VReg {
        use VBinOp::*;
        let f = full(lanes);
        let float = lanes.is_float();
        let (op3, swap) = match op {
            And => (V3::And, false),
            AndNot => (V3::Bic, false),
            Or => (V3::Orr, false),
            Xor => (V3::Eor, false),
            Add if float => (V3::Fadd, false),
            Add => (V3::Add, false),
            Sub if float => (V3::Fsub, false),
            Sub => (V3::Sub, false),
            Mul if float => (V3::Fmul, false),
            Mul if lanes == Lanes::I64x2 => return self.mul64(ctx, a, b),
            Mul => (V3::Mul, false),
            AddSatS => (V3::Sqadd, false),
            AddSatU => (V3::Uqadd, false),
            SubSatS => (V3::Sqsub, false),
            SubSatU => (V3::Uqsub, false),
            MinS => (V3::Smin, false),
            MinU => (V3::Umin, false),
            MaxS => (V3::Smax, false),
            MaxU => (V3::Umax, false),
            AvgrU => (V3::Urhadd, false),
            // (a * b + 2^14) >> 15, saturated: `sqrdmulh` doubles, rounds at 2^15 and
            // takes the high half, which is the same.
            Q15MulrSatS | RelaxedQ15MulrS => (V3::Sqrdmulh, false),
            Eq => (V3::Cmeq, false),
            Ne | FNe => {
                let eq = if float { V3::Fcmeq } else { V3::Cmeq };
                let eq = self.v3(ctx, eq, f, a, b);
                return self.v2(ctx, V2::Not, BYTES, eq);
            }
            LtS => (V3::Cmgt, true),
            LtU => (V3::Cmhi, true),
            GtS => (V3::Cmgt, false),
            GtU => (V3::Cmhi, false),
            LeS => (V3::Cmge, true),
            LeU => (V3::Cmhs, true),
            GeS => (V3::Cmge, false),
            GeU => (V3::Cmhs, false),
            Div => (V3::Fdiv, false),
            // NEON's fmin/fmax have WebAssembly's semantics: NaN propagates, -0 < +0.
            Min | RelaxedMin => (V3::Fmin, false),
            Max | RelaxedMax => (V3::Fmax, false),
            // b where b < a (pmin) or a < b (pmax), else a.
            PMin | PMax => {
                let (x, y) = if op == PMin { (a, b) } else { (b, a) };
                let take_b = self.v3(ctx, V3::Fcmgt, f, x, y);
                return self.bsl(ctx, take_b, b, a);
            }
            FEq => (V3::Fcmeq, false),
            FLt => (V3::Fcmgt, true),
            FGt => (V3::Fcmgt, false),
            FLe => (V3::Fcmge, true),
            FGe => (V3::Fcmge, false),
            NarrowS => return self.narrow(ctx, V2::Sqxtn, elem_of(lanes), a, b),
            NarrowU => return self.narrow(ctx, V2::Sqxtun, elem_of(lanes), a, b),
            ExtMulLowS | ExtMulLowU | ExtMulHighS | ExtMulHighU => {
                let signed = matches!(op, ExtMulLowS | ExtMulHighS);
                let high = matches!(op, ExtMulHighS | ExtMulHighU);
                let src = Arr {
                    elem: narrower(elem_of(lanes)),
                    q: high,
                };
                let op = if signed { V3::Smull } else { V3::Umull };
                return self.v3(ctx, op, src, a, b);
            }
            DotS => return self.dot(ctx, Elem::H, a, b),
            RelaxedDot => return self.dot(ctx, Elem::B, a, b),
            Swizzle | RelaxedSwizzle => (V3::Tbl, false),
        };
        let (x, y) = if swap { (b, a) } else { (a, b) };
        self.v3(ctx, op3, f, x, y)
    }

    fn simd_unary(&mut self, ctx: C, op: VUnOp, lanes: Lanes, a: VReg) -> VReg {
        use VUnOp::*;
        let f = full(lanes);
        let float = lanes.is_float();
        let e = elem_of(lanes);
        let op2 = match op {
            Not => return self.v2(ctx, V2::Not, BYTES, a),
            Abs if float => V2::Fabs,
            Abs => V2::Abs,
            Neg if float => V2::Fneg,
            Neg => V2::Neg,
            Popcnt => return self.v2(ctx, V2::Cnt, BYTES, a),
            Sqrt => V2::Fsqrt,
            Ceil => V2::Frintp,
            Floor => V2::Frintm,
            Trunc => V2::Frintz,
            Nearest => V2::Frintn,
            ExtendLowS | ExtendLowU | ExtendHighS | ExtendHighU => {
                let signed = matches!(op, ExtendLowS | ExtendHighS);
                let src = Arr {
                    elem: narrower(e),
                    q: matches!(op, ExtendHighS | ExtendHighU),
                };
                let op = if signed { VShift::Sshll } else { VShift::Ushll };
                return self.vshift(ctx, op, src, a, 0);
            }
            ExtAddPairwiseS => return self.v2(ctx, V2::Saddlp, Arr::full(narrower(e)), a),
            ExtAddPairwiseU => return self.v2(ctx, V2::Uaddlp, Arr::full(narrower(e)), a),
            ConvertS => V2::Scvtf,
            ConvertU => V2::Ucvtf,
            ConvertLowS | ConvertLowU => {
                let signed = op == ConvertLowS;
                let (widen, cvt) = if signed {
                    (VShift::Sshll, V2::Scvtf)
                } else {
                    (VShift::Ushll, V2::Ucvtf)
                };
                let wide = self.vshift(ctx, widen, Arr::half(Elem::S), a, 0);
                return self.v2(ctx, cvt, Arr::full(Elem::D), wide);
            }
            // fcvtz* saturates and gives 0 for NaN: `trunc_sat` exactly.
            TruncSatS | RelaxedTruncS => V2::Fcvtzs,
            TruncSatU | RelaxedTruncU => V2::Fcvtzu,
            TruncSatZeroS | RelaxedTruncZeroS | TruncSatZeroU | RelaxedTruncZeroU => {
                let signed = matches!(op, TruncSatZeroS | RelaxedTruncZeroS);
                let (cvt, narrow) = if signed {
                    (V2::Fcvtzs, V2::Sqxtn)
                } else {
                    (V2::Fcvtzu, V2::Uqxtn)
                };
                let wide = self.v2(ctx, cvt, Arr::full(Elem::D), a);
                return self.v2(ctx, narrow, Arr::half(Elem::S), wide);
            }
            DemoteZero => return self.v2(ctx, V2::Fcvtn, Arr::half(Elem::D), a),
            PromoteLow => return self.v2(ctx, V2::Fcvtl, Arr::half(Elem::D), a),
        };
        self.v2(ctx, op2, f, a)
    }

    fn simd_ternary(
        &mut self,
        ctx: C,
        op: VTernOp,
        lanes: Lanes,
        a: VReg,
        b: VReg,
        c: VReg,
    ) -> VReg {
        let f = full(lanes);
        match op {
            VTernOp::Bitselect | VTernOp::RelaxedLaneselect => self.bsl(ctx, c, a, b),
            VTernOp::RelaxedMadd => {
                let p = self.v3(ctx, V3::Fmul, f, a, b);
                self.v3(ctx, V3::Fadd, f, p, c)
            }
            VTernOp::RelaxedNmadd => {
                let p = self.v3(ctx, V3::Fmul, f, a, b);
                self.v3(ctx, V3::Fsub, f, c, p)
            }
            VTernOp::RelaxedDotAdd => {
                let d = self.dot(ctx, Elem::B, a, b);
                let s = self.v2(ctx, V2::Saddlp, Arr::full(Elem::H), d);
                self.v3(ctx, V3::Add, Arr::full(Elem::S), s, c)
            }
        }
    }

    fn simd_shift(&mut self, ctx: C, op: VShiftOp, lanes: Lanes, a: VReg, count: Val) -> VReg {
        let f = full(lanes);
        let bits = f.elem.bits();
        if let Val::Const(_, n) = count {
            let n = (n as u32) & (bits - 1);
            if n == 0 {
                let dst = Self::vnew(ctx);
                ctx.builder.push(Inst::Mov {
                    src: r(a),
                    dst: r(dst),
                    float: true,
                });
                return dst;
            }
            let op = match op {
                VShiftOp::Shl => VShift::Shl,
                VShiftOp::ShrS => VShift::Sshr,
                VShiftOp::ShrU => VShift::Ushr,
            };
            return self.vshift(ctx, op, f, a, n);
        }
        let c = self.reg(ctx, count);
        let masked = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::AluRI {
            a: r(c),
            dst: r(masked),
            op: AluOp::And,
            size: Size::S32,
            imm: (bits - 1) as u64,
        });
        let mut counts = self.dup_gpr(ctx, f, masked);
        // sshl/ushl shift right by a negative count.
        if op != VShiftOp::Shl {
            counts = self.v2(ctx, V2::Neg, f, counts);
        }
        let op = if op == VShiftOp::ShrS {
            V3::Sshl
        } else {
            V3::Ushl
        };
        self.v3(ctx, op, f, a, counts)
    }

    fn simd_test(&mut self, ctx: C, op: VTestOp, lanes: Lanes, a: VReg) -> VReg {
        let f = full(lanes);
        let words = Arr::full(Elem::S);
        match op {
            VTestOp::AnyTrue => {
                let m = self.v2(ctx, V2::Umaxv, words, a);
                let x = self.lane_to_gpr(ctx, Elem::S, m, 0);
                self.test_zero(ctx, x, Cond::Ne)
            }
            VTestOp::AllTrue => {
                let zero = self.v2(ctx, V2::Cmeq0, f, a);
                let m = self.v2(ctx, V2::Umaxv, words, zero);
                let x = self.lane_to_gpr(ctx, Elem::S, m, 0);
                self.test_zero(ctx, x, Cond::Eq)
            }
            VTestOp::Bitmask => {
                // Each negative lane keeps its weight 2^i (i counted within each 64-bit
                // half for bytes); the sums of the weights are the mask.
                let neg = self.v2(ctx, V2::Cmlt0, f, a);
                let count = lanes.count() as u32;
                let per_half = count.min(8);
                let w = f.elem.bits();
                let weights =
                    (0..count).fold(0u128, |acc, i| acc | (1u128 << (i % per_half)) << (w * i));
                let wv = self.vconst(ctx, weights);
                let t = self.v3(ctx, V3::And, BYTES, neg, wv);
                match f.elem {
                    Elem::B => {
                        // Three pairwise additions leave the low half's sum in byte 0 and
                        // the high half's in byte 1.
                        let mut s = t;
                        for _ in 0..3 {
                            s = self.v3(ctx, V3::Addp, f, s, s);
                        }
                        self.lane_to_gpr(ctx, Elem::H, s, 0)
                    }
                    Elem::D => {
                        let s = self.v3(ctx, V3::Addp, f, t, t);
                        self.lane_to_gpr(ctx, Elem::S, s, 0)
                    }
                    e => {
                        let s = self.v2(ctx, V2::Addv, f, t);
                        self.lane_to_gpr(ctx, e, s, 0)
                    }
                }
            }
        }
    }
}

//! x86-64 lowering: 128-bit SIMD on SSE4.1 (with SSSE3 and SSE3, which it implies).
//!
//! Operations without a single SSE instruction are composed here from single-instruction
//! forms on virtual registers, so the register allocator sees every temporary; the
//! sequences follow the usual SSE idioms (Cranelift's and V8's lowerings use the same).
//! Relaxed SIMD takes one fixed choice per operator (see `docs/architecture.md`).

use super::*;
use crate::isa::x64::asm::{Broadcast, LaneSize, VecImmOp, VecOp, VecShiftImm};
use crate::lower::{Lanes, LowerSimd, VBinOp, VShiftOp, VTernOp, VTestOp, VUnOp};

fn splat8(b: u8) -> u128 {
    u128::from_le_bytes([b; 16])
}
fn splat16(h: u16) -> u128 {
    let mut v = 0u128;
    for i in 0..8 {
        v |= (h as u128) << (16 * i);
    }
    v
}
fn splat32(w: u32) -> u128 {
    let w = w as u128;
    w | w << 32 | w << 64 | w << 96
}
fn splat64(d: u64) -> u128 {
    let d = d as u128;
    d | d << 64
}

/// `cmpps`/`cmppd` predicates.
const CMP_EQ: u8 = 0;
const CMP_LT: u8 = 1;
const CMP_LE: u8 = 2;
const CMP_UNORD: u8 = 3;
const CMP_NEQ: u8 = 4;

/// `roundps`/`roundpd` modes.
const ROUND_NEAREST: u8 = 0;
const ROUND_FLOOR: u8 = 1;
const ROUND_CEIL: u8 = 2;
const ROUND_TRUNC: u8 = 3;

impl X64Lower {
    fn vnew(ctx: C) -> VReg {
        ctx.builder.new_vreg(RegClass::Float)
    }

    fn vconst(&mut self, ctx: C, bits: u128) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VConst { dst: r(dst), bits });
        dst
    }

    /// `a op b`; with AVX in the three-operand form, which needs no copy of `a`.
    fn vbin(&mut self, ctx: C, op: VecOp, a: VReg, b: VReg) -> VReg {
        let dst = Self::vnew(ctx);
        let (a, b, dst_r) = (r(a), r(b), r(dst));
        ctx.builder.push(if self.features.avx && op.has_vex3() {
            Inst::VBin3 {
                a,
                b,
                dst: dst_r,
                op,
            }
        } else {
            Inst::VBin {
                a,
                b,
                dst: dst_r,
                op,
            }
        });
        dst
    }

    fn vun(&mut self, ctx: C, op: VecOp, src: VReg) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VUn {
            src: r(src),
            dst: r(dst),
            op,
        });
        dst
    }

    /// `op(a, b, imm)`; with AVX in the three-operand form.
    fn vbin_imm(&mut self, ctx: C, op: VecImmOp, a: VReg, b: VReg, imm: u8) -> VReg {
        let dst = Self::vnew(ctx);
        let (a, b, dst_r) = (r(a), r(b), r(dst));
        ctx.builder.push(if self.features.avx && op.has_vex3() {
            Inst::VBinImm3 {
                a,
                b,
                dst: dst_r,
                op,
                imm,
            }
        } else {
            Inst::VBinImm {
                a,
                b,
                dst: dst_r,
                op,
                imm,
            }
        });
        dst
    }

    fn vun_imm(&mut self, ctx: C, op: VecImmOp, src: VReg, imm: u8) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::VUnImm {
            src: r(src),
            dst: r(dst),
            op,
            imm,
        });
        dst
    }

    /// `src` shifted by `imm`; with AVX into a register of its own.
    fn vshift_imm(&mut self, ctx: C, op: VecShiftImm, src: VReg, imm: u8) -> VReg {
        let dst = Self::vnew(ctx);
        let (src, dst_r) = (r(src), r(dst));
        ctx.builder.push(if self.features.avx {
            Inst::VShiftImm3 {
                src,
                dst: dst_r,
                op,
                imm,
            }
        } else {
            Inst::VShiftImm {
                src,
                dst: dst_r,
                op,
                imm,
            }
        });
        dst
    }

    /// `op a, constant`.
    fn vbin_const(&mut self, ctx: C, op: VecOp, a: VReg, bits: u128) -> VReg {
        let c = self.vconst(ctx, bits);
        self.vbin(ctx, op, a, c)
    }

    fn vnot(&mut self, ctx: C, a: VReg) -> VReg {
        self.vbin_const(ctx, VecOp::Pxor, a, u128::MAX)
    }

    /// A general register into the low lane of a vector register (`movd`/`movq`).
    fn gpr_to_vec(&mut self, ctx: C, src: VReg, size: Size) -> VReg {
        let dst = Self::vnew(ctx);
        ctx.builder.push(Inst::Bitcast {
            src: r(src),
            dst: r(dst),
            to_float: true,
            size,
        });
        dst
    }

    fn gpr_op_imm(&mut self, ctx: C, op: AluOp, src: VReg, imm: i32) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::AluRI {
            src: r(src),
            dst: r(dst),
            op,
            size: Size::S32,
            imm,
        });
        dst
    }

    /// Lane-wise `a > b`, signed.
    fn gt_s(&mut self, ctx: C, lanes: Lanes, a: VReg, b: VReg) -> VReg {
        match lanes {
            Lanes::I8x16 => self.vbin(ctx, VecOp::Pcmpgtb, a, b),
            Lanes::I16x8 => self.vbin(ctx, VecOp::Pcmpgtw, a, b),
            Lanes::I32x4 => self.vbin(ctx, VecOp::Pcmpgtd, a, b),
            _ if self.features.sse42 => self.vbin(ctx, VecOp::Pcmpgtq, a, b),
            _ => {
                // No `pcmpgtq` before SSE4.2: where the high halves are equal, the sign of
                // `b - a` decides; elsewhere the signed comparison of the high halves.
                let d = self.vbin(ctx, VecOp::Psubq, b, a);
                let e = self.vbin(ctx, VecOp::Pcmpeqd, a, b);
                let d = self.vbin(ctx, VecOp::Pand, d, e);
                let g = self.vbin(ctx, VecOp::Pcmpgtd, a, b);
                let d = self.vbin(ctx, VecOp::Por, d, g);
                self.vun_imm(ctx, VecImmOp::Pshufd, d, 0xF5)
            }
        }
    }

    fn eq(&mut self, ctx: C, lanes: Lanes, a: VReg, b: VReg) -> VReg {
        let op = match lanes {
            Lanes::I8x16 => VecOp::Pcmpeqb,
            Lanes::I16x8 => VecOp::Pcmpeqw,
            Lanes::I32x4 => VecOp::Pcmpeqd,
            _ => VecOp::Pcmpeqq,
        };
        self.vbin(ctx, op, a, b)
    }

    fn min_max(lanes: Lanes, max: bool, signed: bool) -> VecOp {
        use VecOp::*;
        match (lanes, max, signed) {
            (Lanes::I8x16, false, true) => Pminsb,
            (Lanes::I8x16, false, false) => Pminub,
            (Lanes::I8x16, true, true) => Pmaxsb,
            (Lanes::I8x16, true, false) => Pmaxub,
            (Lanes::I16x8, false, true) => Pminsw,
            (Lanes::I16x8, false, false) => Pminuw,
            (Lanes::I16x8, true, true) => Pmaxsw,
            (Lanes::I16x8, true, false) => Pmaxuw,
            (_, false, true) => Pminsd,
            (_, false, false) => Pminud,
            (_, true, true) => Pmaxsd,
            (_, true, false) => Pmaxud,
        }
    }

    /// `a >= b` (or `<=` with `max` false): `max(a, b) == a`.
    fn ge_via_minmax(
        &mut self,
        ctx: C,
        lanes: Lanes,
        max: bool,
        signed: bool,
        a: VReg,
        b: VReg,
    ) -> VReg {
        let m = self.vbin(ctx, Self::min_max(lanes, max, signed), a, b);
        self.eq(ctx, lanes, m, a)
    }

    fn int_compare(&mut self, ctx: C, op: VBinOp, lanes: Lanes, a: VReg, b: VReg) -> VReg {
        use VBinOp::*;
        let wide = lanes == Lanes::I64x2;
        match op {
            Eq => self.eq(ctx, lanes, a, b),
            Ne => {
                let e = self.eq(ctx, lanes, a, b);
                self.vnot(ctx, e)
            }
            GtS => self.gt_s(ctx, lanes, a, b),
            LtS => self.gt_s(ctx, lanes, b, a),
            GeS if wide => {
                let g = self.gt_s(ctx, lanes, b, a);
                self.vnot(ctx, g)
            }
            LeS if wide => {
                let g = self.gt_s(ctx, lanes, a, b);
                self.vnot(ctx, g)
            }
            GeS => self.ge_via_minmax(ctx, lanes, true, true, a, b),
            LeS => self.ge_via_minmax(ctx, lanes, false, true, a, b),
            GeU => self.ge_via_minmax(ctx, lanes, true, false, a, b),
            LeU => self.ge_via_minmax(ctx, lanes, false, false, a, b),
            GtU => {
                let le = self.ge_via_minmax(ctx, lanes, false, false, a, b);
                self.vnot(ctx, le)
            }
            LtU => {
                let ge = self.ge_via_minmax(ctx, lanes, true, false, a, b);
                self.vnot(ctx, ge)
            }
            _ => unreachable!("not an integer comparison: {op:?}"),
        }
    }

    /// WebAssembly `fmin`/`fmax` on packed floats: NaN in, canonical NaN out; -0 < +0.
    fn float_min_max(&mut self, ctx: C, max: bool, double: bool, a: VReg, b: VReg) -> VReg {
        let (mn, mx, cmp, shift, nan_bits) = if double {
            (
                VecOp::Minpd,
                VecOp::Maxpd,
                VecImmOp::Cmppd,
                VecShiftImm::Psrlq,
                13,
            )
        } else {
            (
                VecOp::Minps,
                VecOp::Maxps,
                VecImmOp::Cmpps,
                VecShiftImm::Psrld,
                10,
            )
        };
        if !max {
            // min(a, b) and min(b, a) differ only for NaNs and signed zeros; or-ing them
            // keeps -0 and a NaN.
            let m1 = self.vbin(ctx, mn, a, b);
            let m2 = self.vbin(ctx, mn, b, a);
            let o = self.vbin(ctx, VecOp::Orps, m1, m2);
            let nan = self.vbin_imm(ctx, cmp, o, m2, CMP_UNORD);
            let o = self.vbin(ctx, VecOp::Orps, o, nan);
            let quiet = self.vshift_imm(ctx, shift, nan, nan_bits);
            self.vbin(ctx, VecOp::Andnps, quiet, o)
        } else {
            let m1 = self.vbin(ctx, mx, a, b);
            let m2 = self.vbin(ctx, mx, b, a);
            let diff = self.vbin(ctx, VecOp::Xorps, m1, m2);
            let o = self.vbin(ctx, VecOp::Orps, m1, diff);
            // Subtracting the difference turns (+0, -0) into +0 and keeps NaNs.
            let sub = if double { VecOp::Subpd } else { VecOp::Subps };
            let pos = self.vbin(ctx, sub, o, diff);
            let nan = self.vbin_imm(ctx, cmp, o, o, CMP_UNORD);
            let quiet = self.vshift_imm(ctx, shift, nan, nan_bits);
            self.vbin(ctx, VecOp::Andnps, quiet, pos)
        }
    }

    fn i64_mul(&mut self, ctx: C, a: VReg, b: VReg) -> VReg {
        // lo(a)*lo(b) + ((hi(a)*lo(b) + lo(a)*hi(b)) << 32)
        let ah = self.vshift_imm(ctx, VecShiftImm::Psrlq, a, 32);
        let ah = self.vbin(ctx, VecOp::Pmuludq, ah, b);
        let bh = self.vshift_imm(ctx, VecShiftImm::Psrlq, b, 32);
        let bh = self.vbin(ctx, VecOp::Pmuludq, bh, a);
        let cross = self.vbin(ctx, VecOp::Paddq, ah, bh);
        let cross = self.vshift_imm(ctx, VecShiftImm::Psllq, cross, 32);
        let lo = self.vbin(ctx, VecOp::Pmuludq, a, b);
        self.vbin(ctx, VecOp::Paddq, lo, cross)
    }

    /// The high half of `a` moved to the low half.
    fn high_half(&mut self, ctx: C, a: VReg) -> VReg {
        self.vun_imm(ctx, VecImmOp::Pshufd, a, 0xEE)
    }

    fn extend(&mut self, ctx: C, lanes: Lanes, high: bool, signed: bool, a: VReg) -> VReg {
        let src = if high { self.high_half(ctx, a) } else { a };
        let op = match (lanes, signed) {
            (Lanes::I16x8, true) => VecOp::Pmovsxbw,
            (Lanes::I16x8, false) => VecOp::Pmovzxbw,
            (Lanes::I32x4, true) => VecOp::Pmovsxwd,
            (Lanes::I32x4, false) => VecOp::Pmovzxwd,
            (_, true) => VecOp::Pmovsxdq,
            (_, false) => VecOp::Pmovzxdq,
        };
        self.vun(ctx, op, src)
    }

    fn ext_mul(
        &mut self,
        ctx: C,
        lanes: Lanes,
        high: bool,
        signed: bool,
        a: VReg,
        b: VReg,
    ) -> VReg {
        match lanes {
            Lanes::I16x8 => {
                let a = self.extend(ctx, lanes, high, signed, a);
                let b = self.extend(ctx, lanes, high, signed, b);
                self.vbin(ctx, VecOp::Pmullw, a, b)
            }
            Lanes::I32x4 => {
                let lo = self.vbin(ctx, VecOp::Pmullw, a, b);
                let hop = if signed {
                    VecOp::Pmulhw
                } else {
                    VecOp::Pmulhuw
                };
                let hi = self.vbin(ctx, hop, a, b);
                let unpack = if high {
                    VecOp::Punpckhwd
                } else {
                    VecOp::Punpcklwd
                };
                self.vbin(ctx, unpack, lo, hi)
            }
            _ => {
                let sel = if high { 0xFA } else { 0x50 };
                let a = self.vun_imm(ctx, VecImmOp::Pshufd, a, sel);
                let b = self.vun_imm(ctx, VecImmOp::Pshufd, b, sel);
                let op = if signed {
                    VecOp::Pmuldq
                } else {
                    VecOp::Pmuludq
                };
                self.vbin(ctx, op, a, b)
            }
        }
    }

    fn trunc_sat_s(&mut self, ctx: C, a: VReg) -> VReg {
        // NaN lanes become 0; positive overflow (0x80000000 from `cvttps2dq` on a positive
        // lane) becomes 0x7fffffff.
        let ok = self.vbin_imm(ctx, VecImmOp::Cmpps, a, a, CMP_EQ);
        let v = self.vbin(ctx, VecOp::Andps, a, ok);
        let sign = self.vbin(ctx, VecOp::Pxor, ok, v);
        let t = self.vun(ctx, VecOp::Cvttps2dq, v);
        let sign = self.vbin(ctx, VecOp::Pand, sign, t);
        let sign = self.vshift_imm(ctx, VecShiftImm::Psrad, sign, 31);
        self.vbin(ctx, VecOp::Pxor, t, sign)
    }

    fn trunc_sat_u(&mut self, ctx: C, a: VReg) -> VReg {
        let zero = self.vconst(ctx, 0);
        let x = self.vbin(ctx, VecOp::Maxps, a, zero);
        // 2^31 as a float.
        let c = self.vconst(ctx, splat32(0x4F00_0000));
        let lo = self.vun(ctx, VecOp::Cvttps2dq, x);
        let y = self.vbin(ctx, VecOp::Subps, x, c);
        let over = self.vbin_imm(ctx, VecImmOp::Cmpps, c, y, CMP_LE);
        let hi = self.vun(ctx, VecOp::Cvttps2dq, y);
        let hi = self.vbin(ctx, VecOp::Pxor, hi, over);
        let hi = self.vbin(ctx, VecOp::Pmaxsd, hi, zero);
        self.vbin(ctx, VecOp::Paddd, lo, hi)
    }

    fn trunc_sat_zero_s(&mut self, ctx: C, a: VReg) -> VReg {
        let ok = self.vbin_imm(ctx, VecImmOp::Cmppd, a, a, CMP_EQ);
        let limit = self.vbin_const(ctx, VecOp::Andps, ok, splat64(2147483647f64.to_bits()));
        let v = self.vbin(ctx, VecOp::Minpd, a, limit);
        self.vun(ctx, VecOp::Cvttpd2dq, v)
    }

    fn trunc_sat_zero_u(&mut self, ctx: C, a: VReg) -> VReg {
        let zero = self.vconst(ctx, 0);
        let v = self.vbin(ctx, VecOp::Maxpd, a, zero);
        let v = self.vbin_const(ctx, VecOp::Minpd, v, splat64(4294967295f64.to_bits()));
        let v = self.vun_imm(ctx, VecImmOp::Roundpd, v, ROUND_TRUNC);
        // Adding 2^52 puts the integer in the low 32 bits of each double.
        let v = self.vbin_const(ctx, VecOp::Addpd, v, splat64(4503599627370496f64.to_bits()));
        self.vbin_imm(ctx, VecImmOp::Shufps, v, zero, 0x88)
    }

    /// The shift by an immediate and the shift by a register's count for 16-, 32- and
    /// 64-bit lanes (`i64x2.shr_s` has none: SSE lacks `psraq`).
    fn shift_ops(op: VShiftOp, lanes: Lanes) -> (VecShiftImm, VecOp) {
        use VecShiftImm as I;
        match (op, lanes.bytes()) {
            (VShiftOp::Shl, 2) => (I::Psllw, VecOp::Psllw),
            (VShiftOp::Shl, 4) => (I::Pslld, VecOp::Pslld),
            (VShiftOp::Shl, _) => (I::Psllq, VecOp::Psllq),
            (VShiftOp::ShrU, 2) => (I::Psrlw, VecOp::Psrlw),
            (VShiftOp::ShrU, 4) => (I::Psrld, VecOp::Psrld),
            (VShiftOp::ShrU, _) => (I::Psrlq, VecOp::Psrlq),
            (VShiftOp::ShrS, 2) => (I::Psraw, VecOp::Psraw),
            (VShiftOp::ShrS, _) => (I::Psrad, VecOp::Psrad),
        }
    }

    /// Shifts 8-bit lanes through 16-bit ones: each half widened, shifted by `count`
    /// (a vector register; for `ShrS`, the count plus 8), packed back.
    fn shift_bytes(&mut self, ctx: C, op: VShiftOp, a: VReg, count: VReg) -> VReg {
        let (lo, hi) = match op {
            // Byte b as the word b:b, so the low byte shifts in from nothing and the
            // high byte sign-extends.
            VShiftOp::Shl | VShiftOp::ShrS => (
                self.vbin(ctx, VecOp::Punpcklbw, a, a),
                self.vbin(ctx, VecOp::Punpckhbw, a, a),
            ),
            VShiftOp::ShrU => {
                let zero = self.vconst(ctx, 0);
                (
                    self.vbin(ctx, VecOp::Punpcklbw, a, zero),
                    self.vbin(ctx, VecOp::Punpckhbw, a, zero),
                )
            }
        };
        let sh = match op {
            VShiftOp::Shl => VecOp::Psllw,
            VShiftOp::ShrU => VecOp::Psrlw,
            VShiftOp::ShrS => VecOp::Psraw,
        };
        let lo = self.vbin(ctx, sh, lo, count);
        let hi = self.vbin(ctx, sh, hi, count);
        match op {
            VShiftOp::ShrS => self.vbin(ctx, VecOp::Packsswb, lo, hi),
            VShiftOp::ShrU => self.vbin(ctx, VecOp::Packuswb, lo, hi),
            VShiftOp::Shl => {
                let m = self.vconst(ctx, splat16(0x00FF));
                let lo = self.vbin(ctx, VecOp::Pand, lo, m);
                let hi = self.vbin(ctx, VecOp::Pand, hi, m);
                self.vbin(ctx, VecOp::Packuswb, lo, hi)
            }
        }
    }

    fn bitselect(&mut self, ctx: C, a: VReg, b: VReg, c: VReg) -> VReg {
        let t = self.vbin(ctx, VecOp::Pand, a, c);
        let u = self.vbin(ctx, VecOp::Pandn, c, b);
        self.vbin(ctx, VecOp::Por, t, u)
    }
}

impl LowerSimd for X64Lower {
    fn v128_const(&mut self, ctx: C, bits: u128) -> VReg {
        self.vconst(ctx, bits)
    }

    fn splat(&mut self, ctx: C, lanes: Lanes, x: Val) -> VReg {
        let s = self.reg(ctx, x);
        if self.features.avx2 {
            let (v, op) = match lanes {
                Lanes::I8x16 => (self.gpr_to_vec(ctx, s, Size::S32), Broadcast::Vpbroadcastb),
                Lanes::I16x8 => (self.gpr_to_vec(ctx, s, Size::S32), Broadcast::Vpbroadcastw),
                Lanes::I32x4 => (self.gpr_to_vec(ctx, s, Size::S32), Broadcast::Vpbroadcastd),
                Lanes::I64x2 => (self.gpr_to_vec(ctx, s, Size::S64), Broadcast::Vpbroadcastq),
                Lanes::F32x4 => (s, Broadcast::Vbroadcastss),
                // `movddup` (SSE3) already takes one instruction.
                Lanes::F64x2 => return self.vun(ctx, VecOp::Movddup, s),
            };
            let dst = Self::vnew(ctx);
            ctx.builder.push(Inst::VBroadcast {
                src: r(v),
                dst: r(dst),
                op,
            });
            return dst;
        }
        match lanes {
            Lanes::I8x16 => {
                let v = self.gpr_to_vec(ctx, s, Size::S32);
                let zero = self.vconst(ctx, 0);
                self.vbin(ctx, VecOp::Pshufb, v, zero)
            }
            Lanes::I16x8 => {
                let v = self.gpr_to_vec(ctx, s, Size::S32);
                let v = self.vun_imm(ctx, VecImmOp::Pshuflw, v, 0);
                self.vun_imm(ctx, VecImmOp::Pshufd, v, 0)
            }
            Lanes::I32x4 => {
                let v = self.gpr_to_vec(ctx, s, Size::S32);
                self.vun_imm(ctx, VecImmOp::Pshufd, v, 0)
            }
            Lanes::I64x2 => {
                let v = self.gpr_to_vec(ctx, s, Size::S64);
                self.vun_imm(ctx, VecImmOp::Pshufd, v, 0x44)
            }
            Lanes::F32x4 => self.vun_imm(ctx, VecImmOp::Pshufd, s, 0),
            Lanes::F64x2 => self.vun_imm(ctx, VecImmOp::Pshufd, s, 0x44),
        }
    }

    fn extract_lane(&mut self, ctx: C, lanes: Lanes, lane: u8, signed: bool, v: VReg) -> VReg {
        let extract = |ctx: C, size: LaneSize| {
            let dst = ctx.builder.new_vreg(RegClass::Int);
            ctx.builder.push(Inst::VExtract {
                v: r(v),
                dst: r(dst),
                size,
                lane,
            });
            dst
        };
        let extend = |ctx: C, src: VReg, kind: LoadKind| {
            let dst = ctx.builder.new_vreg(RegClass::Int);
            ctx.builder.push(Inst::Extend {
                src: r(src),
                dst: r(dst),
                kind,
                size: Size::S32,
            });
            dst
        };
        match lanes {
            Lanes::I8x16 => {
                let b = extract(ctx, LaneSize::B);
                if signed {
                    extend(ctx, b, LoadKind::S8)
                } else {
                    b
                }
            }
            Lanes::I16x8 => {
                let h = extract(ctx, LaneSize::W);
                if signed {
                    extend(ctx, h, LoadKind::S16)
                } else {
                    h
                }
            }
            Lanes::I32x4 => extract(ctx, LaneSize::D),
            Lanes::I64x2 => extract(ctx, LaneSize::Q),
            // A scalar float is the low lane of its register; the other lanes do not
            // matter to scalar code.
            Lanes::F32x4 => self.vun_imm(ctx, VecImmOp::Pshufd, v, lane),
            Lanes::F64x2 => self.vun_imm(
                ctx,
                VecImmOp::Pshufd,
                v,
                if lane == 0 { 0x44 } else { 0xEE },
            ),
        }
    }

    fn replace_lane(&mut self, ctx: C, lanes: Lanes, lane: u8, v: VReg, x: Val) -> VReg {
        let s = self.reg(ctx, x);
        let insert = |ctx: C, size: LaneSize| {
            let dst = X64Lower::vnew(ctx);
            ctx.builder.push(Inst::VInsert {
                v: r(v),
                x: r(s),
                dst: r(dst),
                size,
                lane,
            });
            dst
        };
        match lanes {
            Lanes::I8x16 => insert(ctx, LaneSize::B),
            Lanes::I16x8 => insert(ctx, LaneSize::W),
            Lanes::I32x4 => insert(ctx, LaneSize::D),
            Lanes::I64x2 => insert(ctx, LaneSize::Q),
            Lanes::F32x4 => self.vbin_imm(ctx, VecImmOp::Insertps, v, s, lane << 4),
            Lanes::F64x2 if lane == 0 => self.vbin(ctx, VecOp::Movsd, v, s),
            Lanes::F64x2 => self.vbin(ctx, VecOp::Movlhps, v, s),
        }
    }

    fn shuffle(&mut self, ctx: C, a: VReg, b: VReg, lanes: [u8; 16]) -> VReg {
        // `pshufb` zeroes a byte whose index has bit 7 set.
        let mask = |from_b: bool| {
            let mut m = [0x80u8; 16];
            for (i, l) in lanes.iter().enumerate() {
                if (*l >= 16) == from_b {
                    m[i] = l & 15;
                }
            }
            u128::from_le_bytes(m)
        };
        let uses_a = lanes.iter().any(|l| *l < 16);
        let uses_b = lanes.iter().any(|l| *l >= 16);
        let pa = uses_a.then(|| self.vbin_const(ctx, VecOp::Pshufb, a, mask(false)));
        let pb = uses_b.then(|| self.vbin_const(ctx, VecOp::Pshufb, b, mask(true)));
        match (pa, pb) {
            (Some(x), Some(y)) => self.vbin(ctx, VecOp::Por, x, y),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => self.vconst(ctx, 0),
        }
    }

    fn simd_bin(&mut self, ctx: C, op: VBinOp, lanes: Lanes, a: VReg, b: VReg) -> VReg {
        use VBinOp::*;
        use VecOp as V;
        let f64s = lanes == Lanes::F64x2;
        let pick = |i8: V, i16: V, i32: V, i64: V| match lanes.bytes() {
            1 => i8,
            2 => i16,
            4 => i32,
            _ => i64,
        };
        let direct = |op: V| Some(op);
        let simple = match op {
            And => direct(V::Pand),
            Or => direct(V::Por),
            Xor => direct(V::Pxor),
            Add if lanes == Lanes::F32x4 => direct(V::Addps),
            Add if f64s => direct(V::Addpd),
            Add => direct(pick(V::Paddb, V::Paddw, V::Paddd, V::Paddq)),
            Sub if lanes == Lanes::F32x4 => direct(V::Subps),
            Sub if f64s => direct(V::Subpd),
            Sub => direct(pick(V::Psubb, V::Psubw, V::Psubd, V::Psubq)),
            Mul if lanes == Lanes::F32x4 => direct(V::Mulps),
            Mul if f64s => direct(V::Mulpd),
            Mul if lanes == Lanes::I16x8 => direct(V::Pmullw),
            Mul if lanes == Lanes::I32x4 => direct(V::Pmulld),
            Div if f64s => direct(V::Divpd),
            Div => direct(V::Divps),
            AddSatS => direct(pick(V::Paddsb, V::Paddsw, V::Paddsw, V::Paddsw)),
            AddSatU => direct(pick(V::Paddusb, V::Paddusw, V::Paddusw, V::Paddusw)),
            SubSatS => direct(pick(V::Psubsb, V::Psubsw, V::Psubsw, V::Psubsw)),
            SubSatU => direct(pick(V::Psubusb, V::Psubusw, V::Psubusw, V::Psubusw)),
            MinS => direct(Self::min_max(lanes, false, true)),
            MinU => direct(Self::min_max(lanes, false, false)),
            MaxS => direct(Self::min_max(lanes, true, true)),
            MaxU => direct(Self::min_max(lanes, true, false)),
            AvgrU => direct(pick(V::Pavgb, V::Pavgw, V::Pavgw, V::Pavgw)),
            DotS => direct(V::Pmaddwd),
            NarrowS if lanes == Lanes::I8x16 => direct(V::Packsswb),
            NarrowS => direct(V::Packssdw),
            NarrowU if lanes == Lanes::I8x16 => direct(V::Packuswb),
            NarrowU => direct(V::Packusdw),
            RelaxedSwizzle => direct(V::Pshufb),
            RelaxedMin if f64s => direct(V::Minpd),
            RelaxedMin => direct(V::Minps),
            RelaxedMax if f64s => direct(V::Maxpd),
            RelaxedMax => direct(V::Maxps),
            RelaxedQ15MulrS => direct(V::Pmulhrsw),
            _ => None,
        };
        if let Some(o) = simple {
            return self.vbin(ctx, o, a, b);
        }
        let fcmp = if f64s {
            VecImmOp::Cmppd
        } else {
            VecImmOp::Cmpps
        };
        match op {
            AndNot => self.vbin(ctx, V::Pandn, b, a),
            Mul => self.i64_mul(ctx, a, b),
            Eq | Ne | LtS | LtU | GtS | GtU | LeS | LeU | GeS | GeU => {
                self.int_compare(ctx, op, lanes, a, b)
            }
            FEq => self.vbin_imm(ctx, fcmp, a, b, CMP_EQ),
            FNe => self.vbin_imm(ctx, fcmp, a, b, CMP_NEQ),
            FLt => self.vbin_imm(ctx, fcmp, a, b, CMP_LT),
            FLe => self.vbin_imm(ctx, fcmp, a, b, CMP_LE),
            FGt => self.vbin_imm(ctx, fcmp, b, a, CMP_LT),
            FGe => self.vbin_imm(ctx, fcmp, b, a, CMP_LE),
            Min => self.float_min_max(ctx, false, f64s, a, b),
            Max => self.float_min_max(ctx, true, f64s, a, b),
            // `minps b, a` returns its second operand unless `b < a`.
            PMin => self.vbin(ctx, if f64s { V::Minpd } else { V::Minps }, b, a),
            PMax => self.vbin(ctx, if f64s { V::Maxpd } else { V::Maxps }, b, a),
            Q15MulrSatS => {
                // `pmulhrsw` gives 0x8000 only for 0x8000 * 0x8000, which saturates.
                let t = self.vbin(ctx, V::Pmulhrsw, a, b);
                let c = self.vbin_const(ctx, V::Pcmpeqw, t, splat16(0x8000));
                self.vbin(ctx, V::Pxor, t, c)
            }
            ExtMulLowS => self.ext_mul(ctx, lanes, false, true, a, b),
            ExtMulLowU => self.ext_mul(ctx, lanes, false, false, a, b),
            ExtMulHighS => self.ext_mul(ctx, lanes, true, true, a, b),
            ExtMulHighU => self.ext_mul(ctx, lanes, true, false, a, b),
            Swizzle => {
                // Indices past 15 saturate to 0x80 and up, which `pshufb` zeroes.
                let idx = self.vbin_const(ctx, V::Paddusb, b, splat8(0x70));
                self.vbin(ctx, V::Pshufb, a, idx)
            }
            // `pmaddubsw` takes its first operand unsigned: exact for the 7-bit lanes the
            // operator defines.
            RelaxedDot => self.vbin(ctx, V::Pmaddubsw, b, a),
            _ => unreachable!("handled above: {op:?}"),
        }
    }

    fn simd_unary(&mut self, ctx: C, op: VUnOp, lanes: Lanes, a: VReg) -> VReg {
        use VUnOp::*;
        use VecOp as V;
        let f64s = lanes == Lanes::F64x2;
        let round = |imm: u8| {
            (
                if f64s {
                    VecImmOp::Roundpd
                } else {
                    VecImmOp::Roundps
                },
                imm,
            )
        };
        match op {
            Not => self.vnot(ctx, a),
            Abs if lanes == Lanes::F32x4 => self.vbin_const(ctx, V::Andps, a, splat32(0x7FFF_FFFF)),
            Abs if f64s => self.vbin_const(ctx, V::Andps, a, splat64(0x7FFF_FFFF_FFFF_FFFF)),
            Abs if lanes == Lanes::I8x16 => self.vun(ctx, V::Pabsb, a),
            Abs if lanes == Lanes::I16x8 => self.vun(ctx, V::Pabsw, a),
            Abs if lanes == Lanes::I32x4 => self.vun(ctx, V::Pabsd, a),
            Abs => {
                let s = self.vshift_imm(ctx, VecShiftImm::Psrad, a, 31);
                let s = self.vun_imm(ctx, VecImmOp::Pshufd, s, 0xF5);
                let x = self.vbin(ctx, V::Pxor, a, s);
                self.vbin(ctx, V::Psubq, x, s)
            }
            Neg if lanes == Lanes::F32x4 => self.vbin_const(ctx, V::Xorps, a, splat32(0x8000_0000)),
            Neg if f64s => self.vbin_const(ctx, V::Xorps, a, splat64(1 << 63)),
            Neg => {
                let zero = self.vconst(ctx, 0);
                let sub = match lanes.bytes() {
                    1 => V::Psubb,
                    2 => V::Psubw,
                    4 => V::Psubd,
                    _ => V::Psubq,
                };
                self.vbin(ctx, sub, zero, a)
            }
            Popcnt => {
                let m = self.vconst(ctx, splat8(0x0F));
                let lo = self.vbin(ctx, V::Pand, a, m);
                let hi = self.vshift_imm(ctx, VecShiftImm::Psrlw, a, 4);
                let hi = self.vbin(ctx, V::Pand, hi, m);
                let table = u128::from_le_bytes([0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4]);
                let t = self.vconst(ctx, table);
                let l = self.vbin(ctx, V::Pshufb, t, lo);
                let h = self.vbin(ctx, V::Pshufb, t, hi);
                self.vbin(ctx, V::Paddb, l, h)
            }
            Sqrt => self.vun(ctx, if f64s { V::Sqrtpd } else { V::Sqrtps }, a),
            Ceil | Floor | Trunc | Nearest => {
                let mode = match op {
                    Ceil => ROUND_CEIL,
                    Floor => ROUND_FLOOR,
                    Trunc => ROUND_TRUNC,
                    _ => ROUND_NEAREST,
                };
                let (o, imm) = round(mode);
                self.vun_imm(ctx, o, a, imm)
            }
            ExtendLowS => self.extend(ctx, lanes, false, true, a),
            ExtendLowU => self.extend(ctx, lanes, false, false, a),
            ExtendHighS => self.extend(ctx, lanes, true, true, a),
            ExtendHighU => self.extend(ctx, lanes, true, false, a),
            ExtAddPairwiseS if lanes == Lanes::I16x8 => {
                let ones = self.vconst(ctx, splat8(1));
                self.vbin(ctx, V::Pmaddubsw, ones, a)
            }
            ExtAddPairwiseU if lanes == Lanes::I16x8 => {
                self.vbin_const(ctx, V::Pmaddubsw, a, splat8(1))
            }
            ExtAddPairwiseS => self.vbin_const(ctx, V::Pmaddwd, a, splat16(1)),
            ExtAddPairwiseU => {
                // Bias to signed, add pairs, unbias.
                let t = self.vbin_const(ctx, V::Pxor, a, splat16(0x8000));
                let t = self.vbin_const(ctx, V::Pmaddwd, t, splat16(1));
                self.vbin_const(ctx, V::Paddd, t, splat32(0x0001_0000))
            }
            ConvertS => self.vun(ctx, V::Cvtdq2ps, a),
            ConvertU => {
                // Low 16 bits convert exactly; the high part converts halved, then doubles.
                let lo = self.vshift_imm(ctx, VecShiftImm::Pslld, a, 16);
                let lo = self.vshift_imm(ctx, VecShiftImm::Psrld, lo, 16);
                let hi = self.vbin(ctx, V::Psubd, a, lo);
                let lo = self.vun(ctx, V::Cvtdq2ps, lo);
                let hi = self.vshift_imm(ctx, VecShiftImm::Psrld, hi, 1);
                let hi = self.vun(ctx, V::Cvtdq2ps, hi);
                let hi = self.vbin(ctx, V::Addps, hi, hi);
                self.vbin(ctx, V::Addps, hi, lo)
            }
            ConvertLowS => self.vun(ctx, V::Cvtdq2pd, a),
            ConvertLowU => {
                // 0x43300000_xxxxxxxx is 2^52 + x as a double.
                let t = self.vbin_const(ctx, V::Unpcklps, a, splat32(0x4330_0000));
                self.vbin_const(ctx, V::Subpd, t, splat64(4503599627370496f64.to_bits()))
            }
            TruncSatS => self.trunc_sat_s(ctx, a),
            TruncSatU | RelaxedTruncU => self.trunc_sat_u(ctx, a),
            TruncSatZeroS => self.trunc_sat_zero_s(ctx, a),
            TruncSatZeroU | RelaxedTruncZeroU => self.trunc_sat_zero_u(ctx, a),
            RelaxedTruncS => self.vun(ctx, V::Cvttps2dq, a),
            RelaxedTruncZeroS => self.vun(ctx, V::Cvttpd2dq, a),
            DemoteZero => self.vun(ctx, V::Cvtpd2ps, a),
            PromoteLow => self.vun(ctx, V::Cvtps2pd, a),
        }
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
        let f64s = lanes == Lanes::F64x2;
        let (mul, add, sub) = if f64s {
            (VecOp::Mulpd, VecOp::Addpd, VecOp::Subpd)
        } else {
            (VecOp::Mulps, VecOp::Addps, VecOp::Subps)
        };
        match op {
            VTernOp::Bitselect | VTernOp::RelaxedLaneselect => self.bitselect(ctx, a, b, c),
            // Unfused: a product rounded, then the sum.
            VTernOp::RelaxedMadd => {
                let p = self.vbin(ctx, mul, a, b);
                self.vbin(ctx, add, p, c)
            }
            VTernOp::RelaxedNmadd => {
                let p = self.vbin(ctx, mul, a, b);
                self.vbin(ctx, sub, c, p)
            }
            VTernOp::RelaxedDotAdd => {
                let d = self.vbin(ctx, VecOp::Pmaddubsw, b, a);
                let d = self.vbin_const(ctx, VecOp::Pmaddwd, d, splat16(1));
                self.vbin(ctx, VecOp::Paddd, d, c)
            }
        }
    }

    fn simd_shift(&mut self, ctx: C, op: VShiftOp, lanes: Lanes, a: VReg, count: Val) -> VReg {
        let bits = lanes.bytes() as u32 * 8;
        let wide_sra = op == VShiftOp::ShrS && lanes == Lanes::I64x2;
        if let Val::Const(_, c) = count {
            let c = (c as u32 % bits) as u8;
            if lanes == Lanes::I8x16 {
                return match op {
                    VShiftOp::Shl => {
                        let t = self.vshift_imm(ctx, VecShiftImm::Psllw, a, c);
                        self.vbin_const(ctx, VecOp::Pand, t, splat8(0xFFu8 << c))
                    }
                    VShiftOp::ShrU => {
                        let t = self.vshift_imm(ctx, VecShiftImm::Psrlw, a, c);
                        self.vbin_const(ctx, VecOp::Pand, t, splat8(0xFFu8 >> c))
                    }
                    VShiftOp::ShrS => {
                        let lo = self.vbin(ctx, VecOp::Punpcklbw, a, a);
                        let hi = self.vbin(ctx, VecOp::Punpckhbw, a, a);
                        let lo = self.vshift_imm(ctx, VecShiftImm::Psraw, lo, c + 8);
                        let hi = self.vshift_imm(ctx, VecShiftImm::Psraw, hi, c + 8);
                        self.vbin(ctx, VecOp::Packsswb, lo, hi)
                    }
                };
            }
            if wide_sra {
                // (a >>u c ^ m) - m with m = 2^63 >>u c.
                let m = splat64((1u64 << 63) >> c);
                let t = self.vshift_imm(ctx, VecShiftImm::Psrlq, a, c);
                let t = self.vbin_const(ctx, VecOp::Pxor, t, m);
                return self.vbin_const(ctx, VecOp::Psubq, t, m);
            }
            return self.vshift_imm(ctx, Self::shift_ops(op, lanes).0, a, c);
        }
        let c = self.reg(ctx, count);
        let c = self.gpr_op_imm(ctx, AluOp::And, c, bits as i32 - 1);
        if lanes == Lanes::I8x16 {
            let c = if op == VShiftOp::ShrS {
                self.gpr_op_imm(ctx, AluOp::Add, c, 8)
            } else {
                c
            };
            let cv = self.gpr_to_vec(ctx, c, Size::S32);
            return self.shift_bytes(ctx, op, a, cv);
        }
        let cv = self.gpr_to_vec(ctx, c, Size::S32);
        if wide_sra {
            let m = self.vconst(ctx, splat64(1 << 63));
            let m = self.vbin(ctx, VecOp::Psrlq, m, cv);
            let t = self.vbin(ctx, VecOp::Psrlq, a, cv);
            let t = self.vbin(ctx, VecOp::Pxor, t, m);
            return self.vbin(ctx, VecOp::Psubq, t, m);
        }
        self.vbin(ctx, Self::shift_ops(op, lanes).1, a, cv)
    }

    fn simd_test(&mut self, ctx: C, op: VTestOp, lanes: Lanes, a: VReg) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        match op {
            VTestOp::AnyTrue => ctx.builder.push(Inst::VTest {
                a: r(a),
                b: r(a),
                dst: r(dst),
                nonzero: true,
            }),
            VTestOp::AllTrue => {
                let zero = self.vconst(ctx, 0);
                let z = self.eq(ctx, lanes, zero, a);
                ctx.builder.push(Inst::VTest {
                    a: r(z),
                    b: r(z),
                    dst: r(dst),
                    nonzero: false,
                });
            }
            VTestOp::Bitmask => {
                let (src, kind) = match lanes {
                    Lanes::I8x16 => (a, MaskKind::Bytes),
                    Lanes::I16x8 => (self.vbin(ctx, VecOp::Packsswb, a, a), MaskKind::Bytes),
                    Lanes::I32x4 | Lanes::F32x4 => (a, MaskKind::Singles),
                    _ => (a, MaskKind::Doubles),
                };
                ctx.builder.push(Inst::VMask {
                    src: r(src),
                    dst: r(dst),
                    kind,
                });
                if lanes == Lanes::I16x8 {
                    return self.gpr_op_imm(ctx, AluOp::And, dst, 0xFF);
                }
            }
        }
        dst
    }
}

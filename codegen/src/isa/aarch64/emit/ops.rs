//! aarch64 emission: integer, float and conversion instructions.

use super::*;
use crate::lower::{DivOp, FloatCC};

/// The exclusive bounds within which a float truncates to an integer of `to` without
/// overflow: a value `x` converts iff `lo < x < hi` (each bound exact in `from`).
fn trunc_bounds(from: FSize, to: Size, signed: bool) -> (f64, f64) {
    match (to, signed, from) {
        (Size::S32, true, FSize::S) => (-2147483904.0, 2147483648.0),
        (Size::S32, true, FSize::D) => (-2147483649.0, 2147483648.0),
        (Size::S32, false, _) => (-1.0, 4294967296.0),
        (Size::S64, true, FSize::S) => (-9223373136366403584.0, 9223372036854775808.0),
        (Size::S64, true, FSize::D) => (-9223372036854777856.0, 9223372036854775808.0),
        (Size::S64, false, _) => (-1.0, 18446744073709551616.0),
    }
}

/// The condition that holds after `fcmp a, b` exactly when `a op b` (false on NaN but for
/// `Ne`).
fn float_cond(op: FloatCC) -> Cond {
    match op {
        FloatCC::Eq => Cond::Eq,
        FloatCC::Ne => Cond::Ne,
        FloatCC::Lt => Cond::Mi,
        FloatCC::Gt => Cond::Gt,
        FloatCC::Le => Cond::Ls,
        FloatCC::Ge => Cond::Ge,
    }
}

fn width(size: FSize) -> Size {
    match size {
        FSize::S => Size::S32,
        FSize::D => Size::S64,
    }
}

impl Emitter {
    /// `v = bits` (a float of `size`) through `ip0`.
    fn float_const(&mut self, size: FSize, v: Vreg, bits: u64) {
        if bits == 0 {
            self.asm.fmov_from_gpr(Size::S64, v, ZR);
        } else {
            self.asm.mov_imm(width(size), IP0, bits);
            self.asm.fmov_from_gpr(width(size), v, IP0);
        }
    }

    /// Emits one of the integer, float and conversion instructions (see `Emitter::inst`).
    pub(super) fn ops(&mut self, inst: &Inst) {
        match inst {
            Inst::Imm { dst, size, bits } => self.asm.mov_imm(*size, g(*dst), *bits),
            Inst::FImm { dst, size, bits } => self.float_const(*size, vr(*dst), *bits),
            Inst::AluRRR {
                a,
                b,
                dst,
                op,
                size,
            } => self.asm.alu_rrr(*op, *size, g(*dst), g(*a), g(*b)),
            Inst::AluRI {
                a,
                dst,
                op,
                size,
                imm,
            } => self.asm.alu_ri(*op, *size, g(*dst), g(*a), *imm),
            Inst::Mul { a, b, dst, size } => self.asm.madd(*size, g(*dst), g(*a), g(*b), ZR),
            Inst::ShiftRR {
                a,
                b,
                dst,
                op,
                rotl,
                size,
            } => {
                if *rotl {
                    // A left rotation by n is a right rotation by -n (modulo the width).
                    self.asm.alu_rrr(AluOp::Sub, Size::S32, IP0, ZR, g(*b));
                    self.asm.shift_rr(*op, *size, g(*dst), g(*a), IP0);
                } else {
                    self.asm.shift_rr(*op, *size, g(*dst), g(*a), g(*b));
                }
            }
            Inst::ShiftRI {
                a,
                dst,
                op,
                size,
                imm,
            } => {
                if *imm == 0 {
                    self.asm.mov(*size, g(*dst), g(*a));
                } else {
                    self.asm.shift_ri(*op, *size, g(*dst), g(*a), *imm);
                }
            }
            Inst::DivRem {
                a,
                b,
                dst,
                kind,
                size,
                trap,
            } => {
                let (a, b, dst, size) = (g(*a), g(*b), g(*dst), *size);
                let dz = self.stub(TrapKind::IntegerDivideByZero, trap.offset);
                self.cbz(size, false, b, dz);
                let signed = matches!(kind, DivOp::DivS | DivOp::RemS);
                if *kind == DivOp::DivS {
                    // MIN / -1 overflows: compare b with -1, then a with MIN.
                    let ok = self.asm.new_label();
                    self.asm.alu_ri(AluOp::Adds, size, ZR, b, 1);
                    self.asm.b_cond(Cond::Ne, ok);
                    let min = match size {
                        Size::S32 => 0x8000_0000,
                        Size::S64 => 1 << 63,
                    };
                    self.asm.mov_imm(size, IP0, min);
                    self.asm.alu_rrr(AluOp::Subs, size, ZR, a, IP0);
                    let ovf = self.stub(TrapKind::IntegerOverflow, trap.offset);
                    self.b_cond(Cond::Eq, ovf);
                    self.asm.bind(ok);
                }
                match kind {
                    DivOp::DivS | DivOp::DivU => self.asm.div(size, signed, dst, a, b),
                    // a - (a / b) * b; MIN rem -1 is MIN - MIN * -1 = 0 (sdiv wraps).
                    DivOp::RemS | DivOp::RemU => {
                        self.asm.div(size, signed, IP0, a, b);
                        self.asm.msub(size, dst, IP0, b, a);
                    }
                }
            }
            Inst::Clz { src, dst, size } => self.asm.clz(*size, g(*dst), g(*src)),
            Inst::Rev { src, dst, size } => self.asm.rev(*size, g(*dst), g(*src)),
            Inst::Ctz { src, dst, size } => {
                self.asm.rbit(*size, IP0, g(*src));
                self.asm.clz(*size, g(*dst), IP0);
            }
            Inst::Popcnt { src, dst, size } => {
                self.asm.fmov_from_gpr(*size, VSCRATCH, g(*src));
                self.asm.cnt8b(VSCRATCH, VSCRATCH);
                self.asm.addv8b(VSCRATCH, VSCRATCH);
                self.asm.fmov_to_gpr(Size::S32, g(*dst), VSCRATCH);
            }
            Inst::Extend {
                src,
                dst,
                from,
                size,
            } => {
                if *from == 0 {
                    self.asm.mov(Size::S32, g(*dst), g(*src));
                } else {
                    self.asm.sxt(*size, g(*dst), g(*src), *from);
                }
            }
            Inst::CmpSet {
                lhs,
                rhs,
                dst,
                size,
                cc,
            } => {
                self.compare(g(*lhs), *rhs, *size);
                self.asm.cset(Size::S32, g(*dst), *cc);
            }
            Inst::FCmpSet {
                a,
                b,
                dst,
                size,
                op,
            } => {
                self.asm.fcmp(*size, vr(*a), vr(*b));
                self.asm.cset(Size::S32, g(*dst), float_cond(*op));
            }
            Inst::FBin {
                a,
                b,
                dst,
                op,
                size,
            } => self.asm.fbin(*op, *size, vr(*dst), vr(*a), vr(*b)),
            Inst::FUnary { src, dst, op, size } => self.asm.fun(*op, *size, vr(*dst), vr(*src)),
            Inst::FCopysign { a, b, dst, size } => {
                let w = width(*size);
                let sign = 1u64 << (w.bits() - 1);
                self.asm.fmov_to_gpr(w, IP0, vr(*a));
                self.asm.fmov_to_gpr(w, IP1, vr(*b));
                self.asm.alu_ri(AluOp::And, w, IP0, IP0, sign - 1);
                self.asm.alu_ri(AluOp::And, w, IP1, IP1, sign);
                self.asm.alu_rrr(AluOp::Orr, w, IP0, IP0, IP1);
                self.asm.fmov_from_gpr(w, vr(*dst), IP0);
            }
            Inst::FConvert { src, dst, from } => self.asm.fcvt(*from, vr(*dst), vr(*src)),
            Inst::IntToFloat {
                src,
                dst,
                src_size,
                dst_size,
                signed,
            } => self
                .asm
                .int_to_float(*signed, *src_size, *dst_size, vr(*dst), g(*src)),
            Inst::FloatToInt {
                src,
                dst,
                src_size,
                dst_size,
                signed,
                sat,
                trap,
            } => {
                let (s, fs) = (vr(*src), *src_size);
                if !*sat {
                    let bad = self.stub(TrapKind::BadConversionToInteger, trap.offset);
                    self.asm.fcmp(fs, s, s);
                    self.b_cond(Cond::Vs, bad);
                    let (lo, hi) = trunc_bounds(fs, *dst_size, *signed);
                    let bits = |x: f64| match fs {
                        FSize::S => (x as f32).to_bits() as u64,
                        FSize::D => x.to_bits(),
                    };
                    let ovf = self.stub(TrapKind::IntegerOverflow, trap.offset);
                    self.float_const(fs, VSCRATCH, bits(lo));
                    self.asm.fcmp(fs, s, VSCRATCH);
                    self.b_cond(Cond::Ls, ovf);
                    self.float_const(fs, VSCRATCH, bits(hi));
                    self.asm.fcmp(fs, s, VSCRATCH);
                    self.b_cond(Cond::Ge, ovf);
                }
                // fcvtz* saturates and gives 0 for NaN: `trunc_sat` exactly.
                self.asm.float_to_int(*signed, fs, *dst_size, g(*dst), s);
            }
            Inst::Bitcast {
                src,
                dst,
                to_float,
                size,
            } => {
                if *to_float {
                    self.asm.fmov_from_gpr(*size, vr(*dst), g(*src));
                } else {
                    self.asm.fmov_to_gpr(*size, g(*dst), vr(*src));
                }
            }
            other => unreachable!("not an integer, float or conversion instruction: {other:?}"),
        }
    }
}

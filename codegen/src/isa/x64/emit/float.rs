//! x86-64 emission: float instructions on SSE registers.

use super::*;

impl Emitter {
    /// Emits one of the float instructions on SSE registers (see `Emitter::inst`).
    pub(super) fn float(&mut self, inst: &Inst) {
        match inst {
            Inst::FCmpSetcc {
                a,
                b,
                dst,
                is64,
                op,
            } => {
                let (a, b, dst) = (x(*a), x(*b), g(*dst));
                match op {
                    FloatCC::Eq | FloatCC::Ne => {
                        self.ucomis(*is64, a, b);
                        let (c1, c2, join) = if *op == FloatCC::Eq {
                            (Cond::E, Cond::NP, AluOp::And)
                        } else {
                            (Cond::NE, Cond::P, AluOp::Or)
                        };
                        self.asm.setcc(c1, dst);
                        self.asm.setcc(c2, R11);
                        self.asm.alu_rr(join, Size::S8, dst, R11);
                    }
                    FloatCC::Lt => {
                        self.ucomis(*is64, b, a);
                        self.asm.setcc(Cond::A, dst);
                    }
                    FloatCC::Gt => {
                        self.ucomis(*is64, a, b);
                        self.asm.setcc(Cond::A, dst);
                    }
                    FloatCC::Le => {
                        self.ucomis(*is64, b, a);
                        self.asm.setcc(Cond::AE, dst);
                    }
                    FloatCC::Ge => {
                        self.ucomis(*is64, a, b);
                        self.asm.setcc(Cond::AE, dst);
                    }
                }
                self.asm.movzx_r8(dst, dst);
            }
            Inst::FBin { b, dst, op, .. } => self.asm.sse(*op, x(*dst), x(*b)),
            Inst::FUnary { src, dst, is64, op } => {
                let (src, dst) = (x(*src), x(*dst));
                let size = if *is64 { Size::S64 } else { Size::S32 };
                match op {
                    FUnaryOp::Abs | FUnaryOp::Neg => {
                        self.asm.movd_from_xmm(size, R11, src);
                        match (op, is64) {
                            (FUnaryOp::Abs, false) => {
                                self.asm.alu_ri(AluOp::And, Size::S32, R11, 0x7fff_ffff)
                            }
                            (FUnaryOp::Abs, true) => {
                                self.asm.shift_ri(ShiftOp::Shl, Size::S64, R11, 1);
                                self.asm.shift_ri(ShiftOp::Shr, Size::S64, R11, 1);
                            }
                            (_, false) => self.asm.alu_ri(AluOp::Xor, Size::S32, R11, i32::MIN),
                            (_, true) => {
                                self.asm.mov_ri(Size::S64, R10, 1u64 << 63);
                                self.asm.alu_rr(AluOp::Xor, Size::S64, R11, R10);
                            }
                        }
                        self.asm.movd_to_xmm(size, dst, R11);
                    }
                    FUnaryOp::Sqrt => {
                        self.asm
                            .sse(if *is64 { SseOp::Sqrtsd } else { SseOp::Sqrtss }, dst, src)
                    }
                    FUnaryOp::Round(mode) => {
                        if *is64 {
                            self.asm.roundsd(dst, src, *mode);
                        } else {
                            self.asm.roundss(dst, src, *mode);
                        }
                    }
                }
            }
            Inst::FMinMax {
                b, dst, is64, max, ..
            } => {
                let (dst, b) = (x(*dst), x(*b));
                let (ne, nan, done) = (
                    self.asm.new_label(),
                    self.asm.new_label(),
                    self.asm.new_label(),
                );
                self.ucomis(*is64, dst, b);
                self.jcc(Cond::NE, ne);
                self.jcc(Cond::P, nan);
                // Equal: only the sign of zero can differ.
                let join = match (max, is64) {
                    (false, false) => SseOp::Orps,
                    (false, true) => SseOp::Orpd,
                    (true, false) => SseOp::Andps,
                    (true, true) => SseOp::Andpd,
                };
                self.asm.sse(join, dst, b);
                self.jmp(done);
                self.asm.bind(nan);
                self.asm
                    .sse(if *is64 { SseOp::Addsd } else { SseOp::Addss }, dst, b);
                self.jmp(done);
                self.asm.bind(ne);
                let op = match (max, is64) {
                    (false, false) => SseOp::Minss,
                    (false, true) => SseOp::Minsd,
                    (true, false) => SseOp::Maxss,
                    (true, true) => SseOp::Maxsd,
                };
                self.asm.sse(op, dst, b);
                self.asm.bind(done);
            }
            Inst::FCopysign { a, b, dst, is64 } => {
                let (a, b, dst) = (x(*a), x(*b), x(*dst));
                if *is64 {
                    self.asm.movd_from_xmm(Size::S64, R10, a);
                    self.asm.movd_from_xmm(Size::S64, R11, b);
                    self.asm.shift_ri(ShiftOp::Shl, Size::S64, R10, 1);
                    self.asm.shift_ri(ShiftOp::Shr, Size::S64, R10, 1);
                    self.asm.shift_ri(ShiftOp::Shr, Size::S64, R11, 63);
                    self.asm.shift_ri(ShiftOp::Shl, Size::S64, R11, 63);
                    self.asm.alu_rr(AluOp::Or, Size::S64, R10, R11);
                    self.asm.movd_to_xmm(Size::S64, dst, R10);
                } else {
                    self.asm.movd_from_xmm(Size::S32, R10, a);
                    self.asm.movd_from_xmm(Size::S32, R11, b);
                    self.asm.alu_ri(AluOp::And, Size::S32, R10, 0x7fff_ffff);
                    self.asm.alu_ri(AluOp::And, Size::S32, R11, i32::MIN);
                    self.asm.alu_rr(AluOp::Or, Size::S32, R10, R11);
                    self.asm.movd_to_xmm(Size::S32, dst, R10);
                }
            }
            other => unreachable!("not one of the float family: {other:?}"),
        }
    }

    pub(super) fn fconst(&mut self, is64: bool, v: f64, dst: Xmm) {
        if is64 {
            self.asm.mov_ri(Size::S64, R11, v.to_bits());
            self.asm.movd_to_xmm(Size::S64, dst, R11);
        } else {
            self.asm.mov_ri(Size::S32, R11, (v as f32).to_bits() as u64);
            self.asm.movd_to_xmm(Size::S32, dst, R11);
        }
    }

    pub(super) fn ucomis(&mut self, is64: bool, a: Xmm, b: Xmm) {
        self.asm
            .sse(if is64 { SseOp::Ucomisd } else { SseOp::Ucomiss }, a, b);
    }
}

//! x86-64 emission: integer instructions.

use super::*;

impl Emitter {
    /// Emits one of the integer instructions (see `Emitter::inst`).
    pub(super) fn int(&mut self, inst: &Inst) {
        match inst {
            Inst::AluRR {
                rhs, dst, op, size, ..
            } => self.asm.alu_rr(*op, *size, g(*dst), g(*rhs)),
            Inst::AluRI {
                dst, op, size, imm, ..
            } => self.asm.alu_ri(*op, *size, g(*dst), *imm),
            Inst::AluRSlot {
                dst,
                op,
                size,
                slot,
                ..
            } => self.alu_slot(*op, *size, g(*dst), *slot),
            Inst::Lea {
                base,
                index,
                disp,
                dst,
                size,
            } => self.lea(
                *size,
                g(*dst),
                g(*base),
                index.map(|(i, s)| (g(i), s)),
                *disp,
            ),
            Inst::Imul { rhs, dst, size, .. } => self.asm.imul_rr(*size, g(*dst), g(*rhs)),
            Inst::ImulImm {
                src,
                dst,
                size,
                imm,
            } => self.asm.imul_rri(*size, g(*dst), g(*src), *imm),
            Inst::ShiftRR { dst, op, size, .. } => self.asm.shift_cl(*op, *size, g(*dst)),
            Inst::ShiftRI {
                dst, op, size, imm, ..
            } => self.asm.shift_ri(*op, *size, g(*dst), *imm),
            Inst::ShiftX {
                src,
                count,
                dst,
                op,
                size,
            } => self.asm.shiftx(*op, *size, g(*dst), g(*src), g(*count)),
            Inst::Rorx {
                src,
                dst,
                size,
                imm,
            } => self.asm.rorx(*size, g(*dst), g(*src), *imm),
            Inst::DivRem {
                rhs,
                kind,
                size,
                trap,
                ..
            } => {
                let rhs = g(*rhs);
                self.asm.test_rr(*size, rhs, rhs);
                let dz = self.stub(TrapKind::IntegerDivideByZero, trap.offset);
                self.jcc(Cond::E, dz);
                match kind {
                    DivOp::DivU | DivOp::RemU => {
                        self.asm.alu_rr(AluOp::Xor, Size::S32, RDX, RDX);
                        self.asm.muldiv(MulDivOp::Div, *size, rhs);
                    }
                    DivOp::DivS => {
                        let doit = self.asm.new_label();
                        self.asm.alu_ri(AluOp::Cmp, *size, rhs, -1);
                        self.jcc(Cond::NE, doit);
                        if *size == Size::S64 {
                            self.asm.mov_ri(Size::S64, R11, i64::MIN as u64);
                            self.asm.alu_rr(AluOp::Cmp, Size::S64, RAX, R11);
                        } else {
                            self.asm.alu_ri(AluOp::Cmp, Size::S32, RAX, i32::MIN);
                        }
                        let ovf = self.stub(TrapKind::IntegerOverflow, trap.offset);
                        self.jcc(Cond::E, ovf);
                        self.asm.bind(doit);
                        self.signed_divide(*size, rhs);
                    }
                    DivOp::RemS => {
                        let (doit, done) = (self.asm.new_label(), self.asm.new_label());
                        self.asm.alu_ri(AluOp::Cmp, *size, rhs, -1);
                        self.jcc(Cond::NE, doit);
                        self.asm.alu_rr(AluOp::Xor, Size::S32, RDX, RDX);
                        self.jmp(done);
                        self.asm.bind(doit);
                        self.signed_divide(*size, rhs);
                        self.asm.bind(done);
                    }
                }
            }
            Inst::Clz { src, dst, size } => {
                let (src, dst) = (g(*src), g(*dst));
                let bits = if *size == Size::S64 { 63 } else { 31 };
                self.asm.bsr(*size, dst, src);
                self.asm.mov_ri(Size::S64, R11, u64::MAX);
                self.asm.cmov(Cond::E, *size, dst, R11);
                self.asm.neg(*size, dst);
                self.asm.alu_ri(AluOp::Add, *size, dst, bits);
            }
            Inst::Ctz { src, dst, size } => {
                let (src, dst) = (g(*src), g(*dst));
                let bits = if *size == Size::S64 { 64 } else { 32 };
                self.asm.bsf(*size, dst, src);
                self.asm.mov_ri(Size::S32, R11, bits);
                self.asm.cmov(Cond::E, *size, dst, R11);
            }
            Inst::Popcnt { src, dst, size } => self.asm.popcnt(*size, g(*dst), g(*src)),
            Inst::Bswap { dst, size, .. } => self.asm.bswap(*size, g(*dst)),
            Inst::Lzcnt { src, dst, size } => self.asm.lzcnt(*size, g(*dst), g(*src)),
            Inst::Tzcnt { src, dst, size } => self.asm.tzcnt(*size, g(*dst), g(*src)),
            Inst::Extend {
                src,
                dst,
                kind,
                size,
            } => self.asm.extend_rr(*kind, *size, g(*dst), g(*src)),
            Inst::CmpSetcc {
                lhs,
                rhs,
                dst,
                size,
                cc,
            } => {
                self.asm.alu_rr(AluOp::Cmp, *size, g(*lhs), g(*rhs));
                self.asm.setcc(*cc, g(*dst));
                self.asm.movzx_r8(g(*dst), g(*dst));
            }
            Inst::CmpImmSetcc {
                lhs,
                dst,
                size,
                cc,
                imm,
            } => {
                if *imm == 0 {
                    self.asm.test_rr(*size, g(*lhs), g(*lhs));
                } else {
                    self.asm.alu_ri(AluOp::Cmp, *size, g(*lhs), *imm);
                }
                self.asm.setcc(*cc, g(*dst));
                self.asm.movzx_r8(g(*dst), g(*dst));
            }
            other => unreachable!("not one of the int family: {other:?}"),
        }
    }

    /// dst = base + index * scale + disp: an `add` when dst is an unscaled addend's
    /// register and nothing else is added, else a `lea` (its base not rbp or r13 when an
    /// unscaled index can take that place, since those bases cost a displacement byte).
    fn lea(&mut self, size: Size, dst: Gpr, base: Gpr, index: Option<(Gpr, u8)>, disp: i32) {
        let amode = match index {
            None if dst == base => return self.asm.alu_ri(AluOp::Add, size, dst, disp),
            Some((i, 1)) if disp == 0 && dst == base => {
                return self.asm.alu_rr(AluOp::Add, size, dst, i);
            }
            Some((i, 1)) if disp == 0 && dst == i => {
                return self.asm.alu_rr(AluOp::Add, size, dst, base);
            }
            None => Amode::base_disp(base, disp),
            Some((i, 1)) if base.0 & 7 == 5 && i.0 & 7 != 5 => Amode::base_index(i, base, 1, disp),
            Some((i, scale)) => Amode::base_index(base, i, scale, disp),
        };
        if size == Size::S64 {
            self.asm.lea(dst, amode);
        } else {
            self.asm.lea32(dst, amode);
        }
    }

    /// rdx:rax / rhs, signed: the dividend sign-extended into rdx first.
    fn signed_divide(&mut self, size: Size, rhs: Gpr) {
        if size == Size::S64 {
            self.asm.cqo();
        } else {
            self.asm.cdq();
        }
        self.asm.muldiv(MulDivOp::Idiv, size, rhs);
    }
}

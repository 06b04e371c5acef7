//! x86-64 emission: 128-bit SIMD. Every form is one instruction (a constant may also
//! take one from the pool); multi-instruction lowerings are composed in
//! `lower/simd.rs` on virtual registers.

use super::*;

impl Emitter {
    /// Emits one of the SIMD instructions (see `Emitter::inst`).
    pub(super) fn simd(&mut self, inst: &Inst) {
        match inst {
            Inst::VConst { dst, bits } => match *bits {
                0 => self.asm.vec(VecOp::Pxor, x(*dst), x(*dst)),
                u128::MAX => self.asm.vec(VecOp::Pcmpeqd, x(*dst), x(*dst)),
                b => {
                    let l = self.constant(b);
                    self.asm.vec_label(VecOp::Movdqu, x(*dst), l);
                }
            },
            Inst::VBin { b, dst, op, .. } => self.asm.vec(*op, x(*dst), x(*b)),
            Inst::VBin3 { a, b, dst, op } => self.asm.vex3(*op, x(*dst), x(*a), x(*b)),
            Inst::VUn { src, dst, op } => self.asm.vec(*op, x(*dst), x(*src)),
            Inst::VBinImm {
                b, dst, op, imm, ..
            } => self.asm.vec_imm(*op, x(*dst), x(*b), *imm),
            Inst::VUnImm { src, dst, op, imm } => self.asm.vec_imm(*op, x(*dst), x(*src), *imm),
            Inst::VShiftImm { dst, op, imm, .. } => self.asm.vec_shift_imm(*op, x(*dst), *imm),
            Inst::VBroadcast { src, dst, op } => self.asm.broadcast(*op, x(*dst), x(*src)),
            Inst::VBinImm3 { a, b, dst, op, imm } => {
                self.asm.vex3_imm(*op, x(*dst), x(*a), x(*b), *imm)
            }
            Inst::VShiftImm3 { src, dst, op, imm } => {
                self.asm.vex_shift_imm(*op, x(*dst), x(*src), *imm)
            }
            Inst::VInsert {
                x: src,
                dst,
                size,
                lane,
                ..
            } => self.asm.pinsr(*size, x(*dst), g(*src), *lane),
            Inst::VExtract { v, dst, size, lane } => self.asm.pextr(*size, g(*dst), x(*v), *lane),
            Inst::VMask { src, dst, kind } => match kind {
                MaskKind::Bytes => self.asm.pmovmskb(g(*dst), x(*src)),
                MaskKind::Singles => self.asm.movmskps(g(*dst), x(*src)),
                MaskKind::Doubles => self.asm.movmskpd(g(*dst), x(*src)),
            },
            Inst::VTest { a, b, dst, nonzero } => {
                let d = g(*dst);
                self.asm.alu_rr(AluOp::Xor, Size::S32, d, d);
                self.asm.vec(VecOp::Ptest, x(*a), x(*b));
                self.asm.setcc(if *nonzero { Cond::NE } else { Cond::E }, d);
            }
            other => unreachable!("not a SIMD instruction: {other:?}"),
        }
    }
}

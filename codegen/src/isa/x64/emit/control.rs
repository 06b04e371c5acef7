//! x86-64 emission: terminators and the epilogue.

use super::*;

impl Emitter {
    /// Emits one of the terminators and the epilogue (see `Emitter::inst`).
    pub(super) fn control(
        &mut self,
        inst: &Inst,
        next: Option<usize>,
        succs: &[usize],
        labels: &[Label],
    ) {
        match inst {
            Inst::Jump => {
                if next != Some(succs[0]) {
                    self.jmp(labels[succs[0]]);
                }
            }
            Inst::Brif { cond, size, flags } => {
                if !flags {
                    let c = g(*cond);
                    self.asm.test_rr(*size, c, c);
                }
                let (t, f) = (succs[0], succs[1]);
                if next == Some(t) {
                    self.jcc(Cond::E, labels[f]);
                } else {
                    self.jcc(Cond::NE, labels[t]);
                    if next != Some(f) {
                        self.jmp(labels[f]);
                    }
                }
            }
            Inst::CmpBrif {
                lhs,
                rhs,
                size,
                cc,
                flags,
            } => {
                if !flags {
                    self.compare(g(*lhs), *rhs, *size);
                }
                let (t, f) = (succs[0], succs[1]);
                if next == Some(t) {
                    self.jcc(cc.invert(), labels[f]);
                } else {
                    self.jcc(*cc, labels[t]);
                    if next != Some(f) {
                        self.jmp(labels[f]);
                    }
                }
            }
            Inst::BrTable {
                index,
                table,
                default,
            } => {
                self.asm.mov_rr(Size::S32, R10, g(*index));
                self.asm.alu_ri(
                    AluOp::Cmp,
                    Size::S64,
                    R10,
                    table.len().min(i32::MAX as usize) as i32,
                );
                self.jcc(Cond::AE, labels[succs[*default as usize]]);
                let tl = self.asm.new_label();
                self.asm.lea_label(R11, tl);
                self.asm.load(
                    LoadKind::S32,
                    Size::S64,
                    R10,
                    Amode::base_index(R11, R10, 4, 0),
                );
                self.asm.alu_rr(AluOp::Add, Size::S64, R11, R10);
                self.asm.jmp_r(R11);
                let targets = table.iter().map(|i| labels[succs[*i as usize]]).collect();
                self.tables.push((tl, targets));
            }
            Inst::Ret { .. } => self.epilogue(),
            Inst::Trap { trap } => self.raise(*trap),
            other => unreachable!("not one of the control family: {other:?}"),
        }
    }

    pub(super) fn epilogue(&mut self) {
        for (j, r) in self.saved.clone().iter().enumerate() {
            self.asm
                .load(LoadKind::I64, Size::S64, *r, m(RBP, -16 - 8 * j as i32));
        }
        self.asm.mov_rr(Size::S64, RSP, RBP);
        self.asm.pop(RBP);
        self.asm.ret();
    }
}

//! x86-64 emission: calls, the outgoing-argument area and runtime calls.

use super::*;

impl Emitter {
    /// Emits one of the calls, the outgoing-argument area and runtime calls (see `Emitter::inst`).
    pub(super) fn call(&mut self, inst: &Inst) {
        match inst {
            Inst::CallIndirectCheck {
                vmctx,
                index,
                dst,
                table,
                ty,
                trap,
            } => {
                // dst is written last: the VM context may share its register.
                let (vm, dst) = (g(*vmctx), g(*dst));
                let a = self.table_addr(vm, g(*index), *table, *trap);
                self.asm.load(LoadKind::I64, Size::S64, R10, a);
                self.asm.test_rr(Size::S64, R10, R10);
                let null = self.stub(TrapKind::IndirectCallToNull, trap.offset);
                self.jcc(Cond::E, null);
                self.asm
                    .load(LoadKind::U32, Size::S32, R11, m(vm, PLACEHOLDER));
                self.reloc_last(RelocKind::VmSigId, *ty, 0);
                self.asm
                    .alu_rm(AluOp::Cmp, Size::S32, R11, m(R10, FUNCREF_SIG as i32));
                let bad = self.stub(TrapKind::BadSignature, trap.offset);
                self.jcc(Cond::NE, bad);
                self.asm.mov_rr(Size::S64, dst, R10);
            }
            Inst::LoadPtr { base, dst, off } => {
                self.asm
                    .load(LoadKind::I64, Size::S64, g(*dst), m(g(*base), *off))
            }
            Inst::StorePtr {
                base,
                value,
                off,
                kind,
            } => self.store_kind(*kind, m(g(*base), *off), *value),
            Inst::ImmReloc {
                dst,
                kind,
                index,
                sign_extend,
            } => {
                if *sign_extend {
                    // A negative placeholder selects the sign-extending `mov r64, simm32`.
                    self.asm
                        .mov_ri(Size::S64, g(*dst), -(PLACEHOLDER as i64) as u64);
                } else {
                    self.asm.mov_ri(Size::S32, g(*dst), PLACEHOLDER as u64);
                }
                self.reloc_last(*kind, *index, 0);
            }
            Inst::VmLoad {
                vmctx,
                dst,
                kind,
                index,
                addend,
            } => {
                self.asm
                    .load(LoadKind::I64, Size::S64, g(*dst), m(g(*vmctx), PLACEHOLDER));
                self.reloc_last(*kind, *index, *addend);
            }
            Inst::StoreOutgoing { src, off, kind } => {
                self.store_kind(*kind, m(RSP, *off as i32), *src)
            }
            Inst::LeaOutgoing { dst, off } => self.asm.lea(g(*dst), m(RSP, *off as i32)),
            Inst::LoadOutgoing { dst, off, kind } => {
                self.load_kind(*kind, m(RSP, *off as i32), *dst);
            }
            Inst::CallDirect { func, .. } => {
                let field = self.asm.call_rel32();
                self.relocs.push(Reloc {
                    offset: field,
                    kind: RelocKind::CallFunc,
                    index: *func,
                    addend: 0,
                });
            }
            Inst::CallReg { code, .. } => self.asm.call_r(g(*code)),
            Inst::CallLibcall { index, .. } => {
                self.asm.load(
                    LoadKind::I64,
                    Size::S64,
                    R11,
                    m(Gpr(protocol::LIBCALL_VMCTX), VMCTX_LIBCALLS as i32),
                );
                self.asm.call_m(m(R11, 8 * *index as i32));
            }
            Inst::TrapIf {
                src,
                size,
                nonzero,
                trap,
            } => {
                let r = g(*src);
                self.asm.test_rr(*size, r, r);
                let l = self.stub(trap.kind, trap.offset);
                self.jcc(if *nonzero { Cond::NE } else { Cond::E }, l);
            }
            other => unreachable!("not one of the call family: {other:?}"),
        }
    }
}

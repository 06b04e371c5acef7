//! x86-64 emission: tables and function references.

use super::*;

impl Emitter {
    /// Emits one of the tables and function references (see `Emitter::inst`).
    pub(super) fn table(&mut self, inst: &Inst) {
        match inst {
            Inst::TableGet {
                vmctx,
                index,
                dst,
                table,
                trap,
            } => {
                let a = self.table_addr(g(*vmctx), g(*index), *table, *trap);
                self.asm.load(LoadKind::I64, Size::S64, g(*dst), a);
            }
            Inst::TableSet {
                vmctx,
                index,
                value,
                table,
                trap,
            } => {
                let a = self.table_addr(g(*vmctx), g(*index), *table, *trap);
                self.asm.store(Size::S64, a, g(*value));
            }
            Inst::TableSize { vmctx, dst, table } => {
                let dst = g(*dst);
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmTable, *table);
                self.vm_field(
                    base,
                    RelocKind::VmTable,
                    *table,
                    VMTABLE_LEN as i32,
                    |a, am| a.load(LoadKind::U32, Size::S32, dst, am),
                );
            }
            Inst::RefFunc { vmctx, dst, func } => {
                self.asm.lea(g(*dst), m(g(*vmctx), PLACEHOLDER));
                self.reloc_last(RelocKind::VmFuncRef, *func, 0);
            }
            other => unreachable!("not one of the table family: {other:?}"),
        }
    }

    /// Bounds-checks a table index; leaves `r11` = element base and `r10` = index.
    pub(super) fn table_addr(&mut self, vmctx: Gpr, idx: Gpr, table: VmRef, t: TrapInfo) -> Amode {
        self.asm.mov_rr(Size::S32, R10, idx);
        let base = self.vm_slot_ptr(vmctx, RelocKind::VmTable, table);
        self.vm_field(
            base,
            RelocKind::VmTable,
            table,
            VMTABLE_LEN as i32,
            |a, am| a.alu_rm(AluOp::Cmp, Size::S64, R10, am),
        );
        let l = self.stub(t.kind, t.offset);
        self.jcc(Cond::AE, l);
        self.vm_field(
            base,
            RelocKind::VmTable,
            table,
            VMTABLE_BASE as i32,
            |a, am| a.load(LoadKind::I64, Size::S64, R11, am),
        );
        Amode::base_index(R11, R10, 8, 0)
    }
}

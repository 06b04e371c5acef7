//! aarch64 emission: linear memory (guard-page or explicit bounds checks), globals,
//! tables and VM-context slots.
//!
//! A VM-context offset is known only at link time: it is materialized into `ip0` by a
//! relocated `movz`/`movk` pair and used as a register offset from the VM context.

use super::*;
use wasmprecomp_artifact::{FUNCREF_SIG, VMMEMORY_BASE, VMMEMORY_LEN, VMTABLE_BASE, VMTABLE_LEN};

impl Emitter {
    /// `op rt, [field]` where `field` is at `field` bytes into the VM-context slot `r`
    /// of `kind` (held inline, or by pointer when imported). Uses `ip0`.
    fn vm_access(&mut self, op: MemOp, rt: u8, vmctx: Gpr, kind: RelocKind, r: VmRef, field: u32) {
        if r.imported {
            self.reloc_mov(IP0, kind, r.index, 0);
            self.asm
                .mem_reg(MemOp::Ldr64, IP0.0, vmctx, IP0, Extend::Lsl, false);
            self.asm.mem(op, rt, IP0, field as i64);
        } else {
            self.reloc_mov(IP0, kind, r.index, field as i32);
            self.asm.mem_reg(op, rt, vmctx, IP0, Extend::Lsl, false);
        }
    }

    /// Records the instruction about to be emitted as the site where a guard-page fault
    /// traps.
    fn fault_site(&mut self, t: TrapInfo) {
        self.traps.push(StencilTrap {
            code_offset: self.asm.offset(),
            kind: t.kind,
            wasm_offset: t.offset,
        });
    }

    /// Emits the access `op rt` of linear memory `mem` (base in `heap`) at
    /// `zext(addr) + offset`. With guard pages and an offset within the guard region the
    /// access is unchecked and is itself the trap site; otherwise `ip1` = address +
    /// offset + size is compared with the memory's length first.
    #[allow(clippy::too_many_arguments)]
    fn heap_access(
        &mut self,
        op: MemOp,
        rt: u8,
        vmctx: Option<Gpr>,
        heap: Gpr,
        addr: Gpr,
        offset: MemOffset,
        mem: VmRef,
        t: TrapInfo,
    ) {
        let size = op.bytes() as u64;
        let offset = match offset {
            MemOffset::Imm(o) => o,
            MemOffset::Slot(slot) => {
                return self.heap_access_slot(op, rt, vmctx, heap, addr, slot, mem, t)
            }
        };
        if !crate::isa::needs_bounds_check(self.guard, MemOffset::Imm(offset), size as u32) {
            if offset == 0 {
                self.fault_site(t);
                self.asm.mem_reg(op, rt, heap, addr, Extend::Uxtw, false);
                return;
            }
            self.asm.alu_ext(AluOp::Add, IP0, heap, addr, Extend::Uxtw);
            if Asm::uoff_fits(op, offset as i64) || Asm::soff_fits(offset as i64) {
                self.fault_site(t);
                self.asm.mem(op, rt, IP0, offset as i64);
            } else {
                self.asm.mov_imm(Size::S64, IP1, offset);
                self.fault_site(t);
                self.asm.mem_reg(op, rt, IP0, IP1, Extend::Lsl, false);
            }
            return;
        }
        let vmctx = vmctx.expect("a checked access has its vmctx operand");
        let end = offset + size;
        self.asm.mov(Size::S32, IP1, addr);
        if add_imm_fits(end) {
            self.asm.alu_ri(AluOp::Add, Size::S64, IP1, IP1, end);
        } else {
            self.asm.mov_imm(Size::S64, IP0, end);
            self.asm.alu_rrr(AluOp::Add, Size::S64, IP1, IP1, IP0);
        }
        self.vm_access(
            MemOp::Ldr64,
            IP0.0,
            vmctx,
            RelocKind::VmMemory,
            mem,
            VMMEMORY_LEN,
        );
        self.asm.alu_rrr(AluOp::Subs, Size::S64, ZR, IP1, IP0);
        let l = self.stub(t.kind, t.offset);
        self.b_cond(Cond::Hi, l);
        self.asm.alu_rrr(AluOp::Add, Size::S64, IP1, heap, IP1);
        self.asm.mem(op, rt, IP1, -(size as i64));
    }

    /// [`Emitter::heap_access`] with an offset from constant slot `slot`, written at link
    /// time: in `CONST_SLOT_THRESHOLD..=OFFSET_SLOT_MAX`, so with guard pages the access is
    /// unchecked for every value (offset plus size stays within the guard region), and
    /// the explicit check adds the access size to the slot's field (it fits 32 bits).
    #[allow(clippy::too_many_arguments)]
    fn heap_access_slot(
        &mut self,
        op: MemOp,
        rt: u8,
        vmctx: Option<Gpr>,
        heap: Gpr,
        addr: Gpr,
        slot: u32,
        mem: VmRef,
        t: TrapInfo,
    ) {
        let size = op.bytes();
        if self.guard {
            self.asm.alu_ext(AluOp::Add, IP0, heap, addr, Extend::Uxtw);
            self.reloc_mov(IP1, RelocKind::Const, slot, 0);
            self.fault_site(t);
            self.asm.mem_reg(op, rt, IP0, IP1, Extend::Lsl, false);
            return;
        }
        let vmctx = vmctx.expect("a checked access has its vmctx operand");
        self.asm.mov(Size::S32, IP1, addr);
        self.reloc_mov(IP0, RelocKind::Const, slot, size as i32);
        self.asm.alu_rrr(AluOp::Add, Size::S64, IP1, IP1, IP0);
        self.vm_access(
            MemOp::Ldr64,
            IP0.0,
            vmctx,
            RelocKind::VmMemory,
            mem,
            VMMEMORY_LEN,
        );
        self.asm.alu_rrr(AluOp::Subs, Size::S64, ZR, IP1, IP0);
        let l = self.stub(t.kind, t.offset);
        self.b_cond(Cond::Hi, l);
        self.asm.alu_rrr(AluOp::Add, Size::S64, IP1, heap, IP1);
        self.asm.mem(op, rt, IP1, -(size as i64));
    }

    /// Bounds-checks a table index: leaves `ip0` = element base and `ip1` = index, the
    /// element at `[ip0, ip1, lsl #3]`.
    fn table_addr(&mut self, vmctx: Gpr, idx: Gpr, table: VmRef, t: TrapInfo) {
        self.asm.mov(Size::S32, IP1, idx);
        self.vm_access(
            MemOp::Ldr64,
            IP0.0,
            vmctx,
            RelocKind::VmTable,
            table,
            VMTABLE_LEN,
        );
        self.asm.alu_rrr(AluOp::Subs, Size::S64, ZR, IP1, IP0);
        let l = self.stub(t.kind, t.offset);
        self.b_cond(Cond::Hs, l);
        self.vm_access(
            MemOp::Ldr64,
            IP0.0,
            vmctx,
            RelocKind::VmTable,
            table,
            VMTABLE_BASE,
        );
    }

    /// Emits one of linear memory, globals, tables and VM-context slots (see
    /// `Emitter::inst`).
    pub(super) fn memory(&mut self, inst: &Inst) {
        let rt = |r: &Reg| r.preg().hw_enc() as u8;
        match inst {
            Inst::HeapBase { vmctx, dst, mem } => self.vm_access(
                MemOp::Ldr64,
                rt(dst),
                g(*vmctx),
                RelocKind::VmMemory,
                *mem,
                VMMEMORY_BASE,
            ),
            Inst::Load {
                vmctx,
                base,
                addr,
                dst,
                op,
                offset,
                mem,
                trap,
            } => self.heap_access(
                *op,
                rt(dst),
                vmctx.map(g),
                g(*base),
                g(*addr),
                *offset,
                *mem,
                *trap,
            ),
            Inst::Store {
                vmctx,
                base,
                addr,
                value,
                op,
                offset,
                mem,
                trap,
            } => self.heap_access(
                *op,
                rt(value),
                vmctx.map(g),
                g(*base),
                g(*addr),
                *offset,
                *mem,
                *trap,
            ),
            Inst::MemorySize { vmctx, dst, mem } => {
                let d = g(*dst);
                self.vm_access(
                    MemOp::Ldr64,
                    d.0,
                    g(*vmctx),
                    RelocKind::VmMemory,
                    *mem,
                    VMMEMORY_LEN,
                );
                self.asm.shift_ri(ShiftOp::Lsr, Size::S64, d, d, 16);
            }
            Inst::GlobalGet {
                vmctx,
                dst,
                global,
                op,
            } => self.vm_access(*op, rt(dst), g(*vmctx), RelocKind::VmGlobal, *global, 0),
            Inst::GlobalSet {
                vmctx,
                value,
                global,
                op,
            } => self.vm_access(*op, rt(value), g(*vmctx), RelocKind::VmGlobal, *global, 0),
            Inst::TableGet {
                vmctx,
                index,
                dst,
                table,
                trap,
            } => {
                self.table_addr(g(*vmctx), g(*index), *table, *trap);
                self.asm
                    .mem_reg(MemOp::Ldr64, rt(dst), IP0, IP1, Extend::Lsl, true);
            }
            Inst::TableSet {
                vmctx,
                index,
                value,
                table,
                trap,
            } => {
                self.table_addr(g(*vmctx), g(*index), *table, *trap);
                self.asm
                    .mem_reg(MemOp::Str64, rt(value), IP0, IP1, Extend::Lsl, true);
            }
            Inst::TableSize { vmctx, dst, table } => self.vm_access(
                MemOp::Ldr32,
                rt(dst),
                g(*vmctx),
                RelocKind::VmTable,
                *table,
                VMTABLE_LEN,
            ),
            Inst::RefFunc { vmctx, dst, func } => {
                self.reloc_mov(IP0, RelocKind::VmFuncRef, *func, 0);
                self.asm
                    .alu_rrr(AluOp::Add, Size::S64, g(*dst), g(*vmctx), IP0);
            }
            Inst::CallIndirectCheck {
                vmctx,
                index,
                dst,
                table,
                ty,
                trap,
            } => {
                // dst is written only after the last read of the VM context and the index,
                // which may share its register.
                let (vm, d) = (g(*vmctx), g(*dst));
                self.table_addr(vm, g(*index), *table, *trap);
                self.asm
                    .mem_reg(MemOp::Ldr64, IP0.0, IP0, IP1, Extend::Lsl, true);
                let null = self.stub(TrapKind::IndirectCallToNull, trap.offset);
                self.cbz(Size::S64, false, IP0, null);
                self.reloc_mov(IP1, RelocKind::VmSigId, *ty, 0);
                self.asm
                    .mem_reg(MemOp::Ldr32, IP1.0, vm, IP1, Extend::Lsl, false);
                self.asm.mem(MemOp::Ldr32, d.0, IP0, FUNCREF_SIG as i64);
                self.asm.alu_rrr(AluOp::Subs, Size::S32, ZR, d, IP1);
                let bad = self.stub(TrapKind::BadSignature, trap.offset);
                self.b_cond(Cond::Ne, bad);
                self.asm.mov(Size::S64, d, IP0);
            }
            Inst::VmLoad {
                vmctx,
                dst,
                kind,
                index,
                addend,
            } => {
                self.reloc_mov(IP0, *kind, *index, *addend);
                self.asm
                    .mem_reg(MemOp::Ldr64, rt(dst), g(*vmctx), IP0, Extend::Lsl, false);
            }
            Inst::ImmReloc {
                dst,
                kind,
                index,
                sign_extend,
            } => {
                self.reloc_mov(g(*dst), *kind, *index, 0);
                if *sign_extend {
                    self.asm.sxt(Size::S64, g(*dst), g(*dst), 32);
                }
            }
            other => unreachable!("not one of the memory family: {other:?}"),
        }
    }
}

//! x86-64 emission: linear memory (guard-page or explicit bounds checks) and globals.

use super::*;
use crate::isa::needs_bounds_check;

/// A memory access's address, and whether it relies on guard pages.
#[derive(Clone, Copy)]
pub(super) enum HeapAddr {
    Checked(Amode),
    Guarded(Amode),
    /// Guarded, with the displacement (the access's last 4 bytes) written at link time
    /// from constant slot `.1`.
    GuardedSlot(Amode, u32),
}

impl HeapAddr {
    pub(super) fn amode(self) -> Amode {
        match self {
            HeapAddr::Checked(a) | HeapAddr::Guarded(a) | HeapAddr::GuardedSlot(a, _) => a,
        }
    }
}

impl Emitter {
    /// Emits one of the linear memory (see `Emitter::inst`).
    pub(super) fn memory(&mut self, inst: &Inst) {
        match inst {
            Inst::HeapBase { vmctx, dst, mem } => {
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmMemory, *mem);
                let dst = g(*dst);
                self.vm_field(
                    base,
                    RelocKind::VmMemory,
                    *mem,
                    VMMEMORY_BASE as i32,
                    |a, am| a.load(LoadKind::I64, Size::S64, dst, am),
                );
            }
            Inst::Load {
                vmctx,
                base,
                addr,
                addr_zero_extended,
                dst,
                kind,
                offset,
                mem,
                trap,
            } => {
                let a = self.heap_addr(
                    vmctx.map(g),
                    g(*base),
                    addr.map(|a| (g(a), *addr_zero_extended)),
                    *offset,
                    kind.bytes(),
                    *mem,
                    *trap,
                );
                self.fault_site(a, *trap);
                self.load_kind(*kind, a.amode(), *dst);
                self.slot_displacement(a);
            }
            Inst::Store {
                vmctx,
                base,
                addr,
                addr_zero_extended,
                value,
                kind,
                offset,
                mem,
                trap,
            } => {
                let a = self.heap_addr(
                    vmctx.map(g),
                    g(*base),
                    addr.map(|a| (g(a), *addr_zero_extended)),
                    *offset,
                    kind.bytes(),
                    *mem,
                    *trap,
                );
                self.fault_site(a, *trap);
                self.store_kind(*kind, a.amode(), *value);
                self.slot_displacement(a);
            }
            Inst::MemorySize { vmctx, dst, mem } => {
                let dst = g(*dst);
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmMemory, *mem);
                self.vm_field(
                    base,
                    RelocKind::VmMemory,
                    *mem,
                    VMMEMORY_LEN as i32,
                    |a, am| a.load(LoadKind::I64, Size::S64, dst, am),
                );
                self.asm.shift_ri(ShiftOp::Shr, Size::S64, dst, 16);
            }
            Inst::GlobalGet {
                vmctx,
                dst,
                global,
                kind,
            } => {
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmGlobal, *global);
                let (kind, dst) = (*kind, *dst);
                let a = self.vm_global_addr(base, *global);
                self.load_kind(kind, a, dst);
                if !global.imported {
                    self.reloc_last(RelocKind::VmGlobal, global.index, 0);
                }
            }
            Inst::GlobalSet {
                vmctx,
                value,
                global,
                kind,
            } => {
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmGlobal, *global);
                let a = self.vm_global_addr(base, *global);
                self.store_kind(*kind, a, *value);
                if !global.imported {
                    self.reloc_last(RelocKind::VmGlobal, global.index, 0);
                }
            }
            other => unreachable!("not one of the memory family: {other:?}"),
        }
    }

    /// Address of a VM-context slot (`[vmctx + reloc + addend]`), or through its pointer
    /// when imported: then `r11` holds the pointer and the result is `[r11 + addend]`.
    /// The relocation is recorded by `finish_vm`.
    pub(super) fn vm_slot_ptr(&mut self, vmctx: Gpr, kind: RelocKind, r: VmRef) -> Gpr {
        if r.imported {
            self.asm
                .load(LoadKind::I64, Size::S64, R11, m(vmctx, PLACEHOLDER));
            self.reloc_last(kind, r.index, 0);
            R11
        } else {
            vmctx
        }
    }

    /// Emits `op` whose last 4 bytes are the displacement of a VM-context slot field.
    pub(super) fn vm_field(
        &mut self,
        base: Gpr,
        kind: RelocKind,
        r: VmRef,
        field: i32,
        op: impl FnOnce(&mut Asm, Amode),
    ) {
        if r.imported {
            op(&mut self.asm, m(base, field));
        } else {
            op(&mut self.asm, m(base, PLACEHOLDER));
            self.reloc_last(kind, r.index, field);
        }
    }

    /// Relocates the displacement of the access just emitted when its offset is a
    /// constant slot (no access form ends in an immediate, so it is the last field).
    fn slot_displacement(&mut self, a: HeapAddr) {
        if let HeapAddr::GuardedSlot(_, slot) = a {
            self.reloc_last(RelocKind::Const, slot, 0);
        }
    }

    /// Records the access about to be emitted as the site where a guard-page fault traps.
    fn fault_site(&mut self, a: HeapAddr, t: TrapInfo) {
        if let HeapAddr::Guarded(_) | HeapAddr::GuardedSlot(..) = a {
            self.traps.push(StencilTrap {
                code_offset: self.asm.offset(),
                kind: t.kind,
                wasm_offset: t.offset,
            });
        }
    }

    /// The address of a memory access whose memory base is in `heap`. With guard pages
    /// and an offset within the guard region: `r10` = the zero-extended address, the
    /// access at `[heap + r10 + offset]`, unchecked. Otherwise bounds-checked, with `r10` =
    /// address + offset + size and the access at `[heap + r10 - size]`.
    ///
    /// A constant-slot offset is at most `OFFSET_SLOT_MAX`: with guard pages it is always
    /// within the guard region, and `offset + size` always fits the signed 32-bit
    /// displacement or immediate that the link writes (one encoding for every value).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn heap_addr(
        &mut self,
        vmctx: Option<Gpr>,
        heap: Gpr,
        addr: Option<(Gpr, bool)>,
        offset: MemOffset,
        size: u32,
        mem: VmRef,
        t: TrapInfo,
    ) -> HeapAddr {
        // The index is the address zero-extended: the address register itself when its
        // upper half is known zero and nothing is added to it, none for the constant
        // address 0 without a check, else a copy in r10.
        let checked = needs_bounds_check(self.guard, offset, size);
        let index = match addr {
            Some((addr, true)) if !checked => Some(addr),
            None if !checked => None,
            Some((addr, _)) => {
                self.asm.mov_rr(Size::S32, R10, addr);
                Some(R10)
            }
            None => {
                self.asm.alu_rr(AluOp::Xor, Size::S32, R10, R10);
                Some(R10)
            }
        };
        let guarded = |disp: i32| match index {
            Some(index) => Amode::base_index(heap, index, 1, disp),
            None => Amode::base_disp(heap, disp),
        };
        match offset {
            MemOffset::Slot(slot) => {
                if !checked {
                    return HeapAddr::GuardedSlot(guarded(PLACEHOLDER), slot);
                }
                self.asm.alu_ri(AluOp::Add, Size::S64, R10, PLACEHOLDER);
                self.reloc_last(RelocKind::Const, slot, size as i32);
            }
            MemOffset::Imm(offset) => {
                if !checked {
                    return HeapAddr::Guarded(guarded(offset as i32));
                }
                let end = offset + size as u64;
                if end <= i32::MAX as u64 {
                    self.asm.alu_ri(AluOp::Add, Size::S64, R10, end as i32);
                } else {
                    self.asm.mov_ri(Size::S64, R11, end);
                    self.asm.alu_rr(AluOp::Add, Size::S64, R10, R11);
                }
            }
        }
        let vmctx = vmctx.expect("a checked access has its vmctx operand");
        let base = self.vm_slot_ptr(vmctx, RelocKind::VmMemory, mem);
        self.vm_field(
            base,
            RelocKind::VmMemory,
            mem,
            VMMEMORY_LEN as i32,
            |a, am| a.alu_rm(AluOp::Cmp, Size::S64, R10, am),
        );
        let l = self.stub(t.kind, t.offset);
        self.jcc(Cond::A, l);
        HeapAddr::Checked(Amode::base_index(heap, R10, 1, -(size as i32)))
    }

    pub(super) fn load_kind(&mut self, kind: MemKind, a: Amode, dst: Reg) {
        match kind {
            MemKind::Int(k, size) => self.asm.load(k, size, g(dst), a),
            MemKind::F32 => self.asm.movss_load(x(dst), a),
            MemKind::F64 => self.asm.movsd_load(x(dst), a),
            MemKind::V128 => self.asm.vec_m(VecOp::Movdqu, x(dst), a),
            MemKind::V64 => self.asm.movq_load(x(dst), a),
            MemKind::V32 => self.asm.movd_load(x(dst), a),
        }
    }

    pub(super) fn store_kind(&mut self, kind: MemKind, a: Amode, v: Reg) {
        match kind {
            MemKind::Int(k, _) => {
                let size = match k {
                    LoadKind::U8 | LoadKind::S8 => Size::S8,
                    LoadKind::U16 | LoadKind::S16 => Size::S16,
                    LoadKind::U32 | LoadKind::S32 => Size::S32,
                    LoadKind::I64 => Size::S64,
                };
                self.asm.store(size, a, g(v))
            }
            MemKind::F32 | MemKind::V32 => self.asm.movss_store(a, x(v)),
            MemKind::F64 | MemKind::V64 => self.asm.movsd_store(a, x(v)),
            MemKind::V128 => self.asm.movdqu_store(a, x(v)),
        }
    }

    pub(super) fn vm_global_addr(&mut self, base: Gpr, global: VmRef) -> Amode {
        if global.imported {
            m(base, 0)
        } else {
            m(base, PLACEHOLDER)
        }
    }
}

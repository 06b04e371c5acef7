//! x86-64 lowering: linear memory and globals.

use super::*;

impl LowerMemory for X64Lower {
    fn heap_base(&mut self, ctx: C, mem: VmRef) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::HeapBase {
            vmctx: r(ctx.vmctx),
            dst: r(dst),
            mem,
        });
        dst
    }

    fn load(
        &mut self,
        ctx: C,
        kind: WasmMem,
        mem: VmRef,
        base: VReg,
        addr: Val,
        offset: MemOffset,
        trap: TrapInfo,
    ) -> VReg {
        let ty = kind.ty();
        let (ra, offset) = self.address_operand(ctx, addr, offset);
        let dst = ctx.new_reg(ty);
        let mk = mem_kind(kind);
        let vmctx = self.bounds_vmctx(ctx.vmctx, offset, mk);
        let addr_zero_extended = ra.is_some_and(|a| zero_extended(ctx, a));
        ctx.builder.push(Inst::Load {
            vmctx,
            base: r(base),
            addr: ra.map(r),
            addr_zero_extended,
            dst: r(dst),
            kind: mk,
            offset,
            mem,
            trap,
        });
        dst
    }

    fn store(
        &mut self,
        ctx: C,
        kind: WasmMem,
        mem: VmRef,
        base: VReg,
        addr: Val,
        value: Val,
        offset: MemOffset,
        trap: TrapInfo,
    ) {
        let (ra, offset) = self.address_operand(ctx, addr, offset);
        let rv = self.reg(ctx, value);
        let sk = store_kind(kind);
        let vmctx = self.bounds_vmctx(ctx.vmctx, offset, sk);
        let addr_zero_extended = ra.is_some_and(|a| zero_extended(ctx, a));
        ctx.builder.push(Inst::Store {
            vmctx,
            base: r(base),
            addr: ra.map(r),
            addr_zero_extended,
            value: r(rv),
            kind: sk,
            offset,
            mem,
            trap,
        });
    }

    fn memory_size(&mut self, ctx: C, mem: VmRef) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::MemorySize {
            vmctx: r(ctx.vmctx),
            dst: r(dst),
            mem,
        });
        dst
    }

    fn global_get(&mut self, ctx: C, global: VmRef, ty: ValType) -> VReg {
        let dst = ctx.new_reg(ty);
        ctx.builder.push(Inst::GlobalGet {
            vmctx: r(ctx.vmctx),
            dst: r(dst),
            global,
            kind: slot_kind(ty),
        });
        dst
    }

    fn global_set(&mut self, ctx: C, global: VmRef, ty: ValType, value: Val) {
        let rv = self.reg(ctx, value);
        ctx.builder.push(Inst::GlobalSet {
            vmctx: r(ctx.vmctx),
            value: r(rv),
            global,
            kind: slot_kind(ty),
        });
    }
}

/// The access of a block with an address not known to be zero-extended from which the
/// accesses share one zero extension (see `X64Lower::address`).
const SHARED_EXTENSION_FROM: u8 = 2;

impl X64Lower {
    /// The address operand of an access and its offset. A constant address is added to
    /// the offset (the effective address, `address + offset` without wrapping, is the
    /// same), and the access indexes with the offset alone; with a slot offset only the
    /// constant 0 is.
    fn address_operand(
        &mut self,
        ctx: C,
        addr: Val,
        offset: MemOffset,
    ) -> (Option<VReg>, MemOffset) {
        match (addr, offset) {
            (Val::Const(_, 0), _) => return (None, offset),
            (Val::Const(_, a), MemOffset::Imm(o)) => {
                return (None, MemOffset::Imm(o + (a as u32) as u64));
            }
            _ => {}
        }
        let ra = self.reg(ctx, addr);
        (Some(self.address(ctx, ra)), offset)
    }

    /// `v` as the address of an access. An address the emitter must zero-extend (it is
    /// not known to be) is extended into the scratch register at each access; when a
    /// block accesses memory with it a second time, it gets one zero extension of its
    /// own, which that access and the block's later ones share. (An extension at the
    /// first access would cost a register for the rest of the block when there is no
    /// second.)
    fn address(&mut self, ctx: C, v: VReg) -> VReg {
        if zero_extended(ctx, v) {
            return v;
        }
        let block = ctx.builder.current();
        if self.addresses_block != block {
            self.addresses.clear();
            self.addresses_block = block;
        }
        let Some(seen) = self.addresses.iter_mut().find(|(a, ..)| *a == v) else {
            self.addresses.push((v, 1, None));
            return v;
        };
        if let Some(extended) = seen.2 {
            return extended;
        }
        seen.1 += 1;
        if seen.1 < SHARED_EXTENSION_FROM {
            return v;
        }
        let extended = zero_extend(ctx, v);
        seen.2 = Some(extended);
        extended
    }

    /// The VM context operand of an access that compares with the memory's length;
    /// `None` for one that relies on guard pages.
    fn bounds_vmctx(&self, vmctx: VReg, offset: MemOffset, kind: MemKind) -> Option<Reg> {
        needs_bounds_check(self.guard, offset, kind.bytes()).then(|| r(vmctx))
    }
}

/// A new register holding the zero extension of the low 32 bits of `v`.
pub(super) fn zero_extend(ctx: C, v: VReg) -> VReg {
    let extended = ctx.builder.new_vreg(RegClass::Int);
    ctx.builder.push(Inst::Extend {
        src: r(v),
        dst: r(extended),
        kind: LoadKind::U32,
        size: Size::S64,
    });
    extended
}

/// Whether `v`'s upper 32 bits are zero: the instruction that defines it is a 32-bit
/// integer operation (x86-64 zeroes the upper half of a register a 32-bit operation
/// writes), a zero extension, a zero-extending load, a constant below 2^32, a `setcc`
/// result, or a copy (64-bit moves, as are the allocator's moves, spills and reloads) or
/// integer `select` of such values; or it is an `i32` block parameter, which every edge
/// into its block zero-extends (the `jump` lowering). Anything else (a parameter of the
/// function, a call's result) is not known to be.
pub(super) fn zero_extended(ctx: C, v: VReg) -> bool {
    zero_extended_within(ctx, v, 4)
}

fn zero_extended_within(ctx: C, v: VReg, depth: u32) -> bool {
    if depth == 0 {
        return false;
    }
    match ctx.builder.def_of(v) {
        None => ctx.builder.is_narrow(v),
        Some(
            Inst::AluRR { size, .. }
            | Inst::AluRI { size, .. }
            | Inst::AluRSlot { size, .. }
            | Inst::Lea { size, .. }
            | Inst::Imul { size, .. }
            | Inst::ImulImm { size, .. }
            | Inst::ShiftRR { size, .. }
            | Inst::ShiftRI { size, .. }
            | Inst::ShiftX { size, .. }
            | Inst::Rorx { size, .. }
            | Inst::Bswap { size, .. }
            | Inst::Popcnt { size, .. }
            | Inst::Lzcnt { size, .. }
            | Inst::Tzcnt { size, .. },
        ) => *size == Size::S32,
        Some(Inst::Extend { size, kind, .. }) => *size == Size::S32 || *kind == LoadKind::U32,
        Some(Inst::Imm { size, bits, .. }) => *size == Size::S32 || *bits >> 32 == 0,
        Some(Inst::CmpSetcc { .. } | Inst::CmpImmSetcc { .. }) => true,
        Some(Inst::Load {
            kind: MemKind::Int(k, size),
            ..
        }) => *size == Size::S32 || matches!(k, LoadKind::U8 | LoadKind::U16 | LoadKind::U32),
        Some(&Inst::Mov {
            src, float: false, ..
        }) => zero_extended_within(ctx, src.vreg(), depth - 1),
        Some(&Inst::Select {
            a, b, float: false, ..
        }) => {
            zero_extended_within(ctx, a.vreg(), depth - 1)
                && zero_extended_within(ctx, b.vreg(), depth - 1)
        }
        _ => false,
    }
}

/// The x64 access for a wasm memory access kind.
fn mem_kind(k: WasmMem) -> MemKind {
    match k {
        WasmMem::F32 => MemKind::F32,
        WasmMem::F64 => MemKind::F64,
        WasmMem::V128 => MemKind::V128,
        WasmMem::V64Zero => MemKind::V64,
        WasmMem::V32Zero => MemKind::V32,
        WasmMem::Int { bytes: 8, .. } => MemKind::Int(LoadKind::I64, Size::S64),
        WasmMem::Int { bytes, signed, ty } => {
            let kind = match (bytes, signed) {
                (1, false) => LoadKind::U8,
                (1, true) => LoadKind::S8,
                (2, false) => LoadKind::U16,
                (2, true) => LoadKind::S16,
                (_, false) => LoadKind::U32,
                (_, true) => LoadKind::S32,
            };
            MemKind::Int(kind, size_of(ty))
        }
    }
}

/// Stores write the low bytes of a 32-bit register unless all eight are stored.
fn store_kind(k: WasmMem) -> MemKind {
    match k {
        WasmMem::Int { bytes, .. } => mem_kind(WasmMem::Int {
            bytes,
            signed: false,
            ty: if bytes == 8 {
                ValType::I64
            } else {
                ValType::I32
            },
        }),
        other => mem_kind(other),
    }
}

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
        let ra = self.reg(ctx, addr);
        let dst = ctx.new_reg(ty);
        ctx.builder.push(Inst::Load {
            vmctx: r(ctx.vmctx),
            base: r(base),
            addr: r(ra),
            dst: r(dst),
            kind: mem_kind(kind),
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
        let ra = self.reg(ctx, addr);
        let rv = self.reg(ctx, value);
        ctx.builder.push(Inst::Store {
            vmctx: r(ctx.vmctx),
            base: r(base),
            addr: r(ra),
            value: r(rv),
            kind: store_kind(kind),
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

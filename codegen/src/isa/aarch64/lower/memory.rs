//! aarch64 lowering: linear memory, globals and tables.

use super::*;
use crate::lower::{LowerMemory, LowerTable, MemKind as WasmMem, MemOffset, TrapInfo, VmRef};

impl A64Lower {
    /// The VM context operand of an access that compares with the memory's length;
    /// `None` for one that relies on guard pages.
    fn bounds_vmctx(&self, vmctx: VReg, offset: MemOffset, op: MemOp) -> Option<Reg> {
        crate::isa::needs_bounds_check(self.guard, offset, op.bytes()).then(|| r(vmctx))
    }
}

impl LowerMemory for A64Lower {
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
        let ra = self.reg(ctx, addr);
        let dst = ctx.new_reg(kind.ty());
        let op = load_op(kind);
        let vmctx = self.bounds_vmctx(ctx.vmctx, offset, op);
        ctx.builder.push(Inst::Load {
            vmctx,
            base: r(base),
            addr: r(ra),
            dst: r(dst),
            op,
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
        let op = store_op(kind);
        let vmctx = self.bounds_vmctx(ctx.vmctx, offset, op);
        ctx.builder.push(Inst::Store {
            vmctx,
            base: r(base),
            addr: r(ra),
            value: r(rv),
            op,
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
            op: slot_op(ty, false),
        });
        dst
    }

    fn global_set(&mut self, ctx: C, global: VmRef, ty: ValType, value: Val) {
        let rv = self.reg(ctx, value);
        ctx.builder.push(Inst::GlobalSet {
            vmctx: r(ctx.vmctx),
            value: r(rv),
            global,
            op: slot_op(ty, true),
        });
    }
}

/// The load for a wasm memory access kind.
fn load_op(k: WasmMem) -> MemOp {
    match k {
        WasmMem::F32 | WasmMem::V32Zero => MemOp::LdrS,
        WasmMem::F64 | WasmMem::V64Zero => MemOp::LdrD,
        WasmMem::V128 => MemOp::LdrQ,
        WasmMem::Int { bytes, signed, ty } => match (bytes, signed, ty) {
            (1, false, _) => MemOp::Ldr8,
            (2, false, _) => MemOp::Ldr16,
            (4, false, _) => MemOp::Ldr32,
            (1, true, ValType::I32) => MemOp::Ldrsb32,
            (2, true, ValType::I32) => MemOp::Ldrsh32,
            (1, true, _) => MemOp::Ldrsb64,
            (2, true, _) => MemOp::Ldrsh64,
            (4, true, ValType::I64) => MemOp::Ldrsw,
            (4, true, _) => MemOp::Ldr32,
            _ => MemOp::Ldr64,
        },
    }
}

/// The store for a wasm memory access kind.
fn store_op(k: WasmMem) -> MemOp {
    match k {
        WasmMem::F32 | WasmMem::V32Zero => MemOp::StrS,
        WasmMem::F64 | WasmMem::V64Zero => MemOp::StrD,
        WasmMem::V128 => MemOp::StrQ,
        WasmMem::Int { bytes, .. } => match bytes {
            1 => MemOp::Str8,
            2 => MemOp::Str16,
            4 => MemOp::Str32,
            _ => MemOp::Str64,
        },
    }
}

impl LowerTable for A64Lower {
    fn table_get(&mut self, ctx: C, table: VmRef, index: Val, trap: TrapInfo) -> VReg {
        let ri = self.reg(ctx, index);
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::TableGet {
            vmctx: r(ctx.vmctx),
            index: r(ri),
            dst: r(dst),
            table,
            trap,
        });
        dst
    }

    fn table_set(&mut self, ctx: C, table: VmRef, index: Val, value: Val, trap: TrapInfo) {
        let ri = self.reg(ctx, index);
        let rv = self.reg(ctx, value);
        ctx.builder.push(Inst::TableSet {
            vmctx: r(ctx.vmctx),
            index: r(ri),
            value: r(rv),
            table,
            trap,
        });
    }

    fn table_size(&mut self, ctx: C, table: VmRef) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::TableSize {
            vmctx: r(ctx.vmctx),
            dst: r(dst),
            table,
        });
        dst
    }

    fn ref_func(&mut self, ctx: C, func: u32) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::RefFunc {
            vmctx: r(ctx.vmctx),
            dst: r(dst),
            func,
        });
        dst
    }
}

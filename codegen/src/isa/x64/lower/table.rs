//! x86-64 lowering: tables and function references.

use super::*;

impl LowerTable for X64Lower {
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

//! aarch64 lowering: integer operations: 12-bit arithmetic and bitmask logical
//! immediates, shifts by immediates as bitfield moves.

use super::*;
use crate::isa::aarch64::asm::ShiftOp;
use crate::lower::{
    Compare, DivOp, IntBinOp, IntUnaryOp, LowerInt, ShiftOp as WasmShift, TrapInfo,
};

impl LowerInt for A64Lower {
    fn int_bin(&mut self, ctx: C, op: IntBinOp, ty: ValType, a: Val, b: Val) -> VReg {
        let size = size_of(ty);
        let alu = match op {
            IntBinOp::Mul => None,
            IntBinOp::Add => Some(AluOp::Add),
            IntBinOp::Sub => Some(AluOp::Sub),
            IntBinOp::And => Some(AluOp::And),
            IntBinOp::Or => Some(AluOp::Orr),
            IntBinOp::Xor => Some(AluOp::Eor),
        };
        let (mut a, mut b) = (a, b);
        let imm_of =
            |v: Val| alu.and_then(|op| const_of(v, size).and_then(|c| alu_imm(op, size, c)));
        if op.commutative() && imm_of(b).is_none() && imm_of(a).is_some() {
            std::mem::swap(&mut a, &mut b);
        }
        let dst = ctx.new_reg(ty);
        let ra = self.reg(ctx, a);
        let Some(alu) = alu else {
            let rb = self.reg(ctx, b);
            ctx.builder.push(Inst::Mul {
                a: r(ra),
                b: r(rb),
                dst: r(dst),
                size,
            });
            return dst;
        };
        if let Some((op, imm)) = imm_of(b) {
            ctx.builder.push(Inst::AluRI {
                a: r(ra),
                dst: r(dst),
                op,
                size,
                imm,
            });
        } else {
            let rb = self.reg(ctx, b);
            ctx.builder.push(Inst::AluRRR {
                a: r(ra),
                b: r(rb),
                dst: r(dst),
                op: alu,
                size,
            });
        }
        dst
    }

    fn shift(&mut self, ctx: C, op: WasmShift, ty: ValType, a: Val, b: Val) -> VReg {
        let size = size_of(ty);
        let width = size.bits() as u64;
        let (op, rotl) = match op {
            WasmShift::Shl => (ShiftOp::Lsl, false),
            WasmShift::ShrS => (ShiftOp::Asr, false),
            WasmShift::ShrU => (ShiftOp::Lsr, false),
            WasmShift::Rotl => (ShiftOp::Ror, true),
            WasmShift::Rotr => (ShiftOp::Ror, false),
        };
        let dst = ctx.new_reg(ty);
        let ra = self.reg(ctx, a);
        if let Val::Const(_, bits) = b {
            let k = bits % width;
            // A left rotation by k is a right rotation by width - k.
            let imm = if rotl { (width - k) % width } else { k } as u8;
            ctx.builder.push(Inst::ShiftRI {
                a: r(ra),
                dst: r(dst),
                op,
                size,
                imm,
            });
        } else {
            let rb = self.reg(ctx, b);
            ctx.builder.push(Inst::ShiftRR {
                a: r(ra),
                b: r(rb),
                dst: r(dst),
                op,
                rotl,
                size,
            });
        }
        dst
    }

    fn div_rem(&mut self, ctx: C, op: DivOp, ty: ValType, a: Val, b: Val, trap: TrapInfo) -> VReg {
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
        ctx.builder.push(Inst::DivRem {
            a: r(ra),
            b: r(rb),
            dst: r(dst),
            kind: op,
            size: size_of(ty),
            trap,
        });
        dst
    }

    fn compare(&mut self, ctx: C, ty: ValType, cc: IntCC, a: Val, b: Val) -> Compare {
        let size = size_of(ty);
        let is64 = size == Size::S64;
        let fits = |v: Val| const_of(v, size).is_some_and(cmp_imm_fits);
        let (a, b, cc) = if !fits(b) && fits(a) {
            (b, a, cc.swap())
        } else {
            (a, b, cc)
        };
        let lhs = self.reg(ctx, a);
        let rhs = self.cmp_rhs(ctx, b, size);
        Compare { is64, cc, lhs, rhs }
    }

    fn int_unary(&mut self, ctx: C, op: IntUnaryOp, ty: ValType, a: Val) -> VReg {
        let ra = self.reg(ctx, a);
        let dst = ctx.new_reg(ty);
        let (src, d, size) = (r(ra), r(dst), size_of(ty));
        ctx.builder.push(match op {
            IntUnaryOp::Clz => Inst::Clz { src, dst: d, size },
            IntUnaryOp::Ctz => Inst::Ctz { src, dst: d, size },
            IntUnaryOp::Popcnt => Inst::Popcnt { src, dst: d, size },
            IntUnaryOp::ByteSwap => Inst::Rev { src, dst: d, size },
            IntUnaryOp::SignExtend(bits) => Inst::Extend {
                src,
                dst: d,
                from: bits,
                size,
            },
        });
        dst
    }
}

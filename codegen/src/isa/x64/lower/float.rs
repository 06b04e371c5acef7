//! x86-64 lowering: float operations on SSE registers.

use super::*;

impl LowerFloat for X64Lower {
    fn float_bin(&mut self, ctx: C, op: FloatBinOp, ty: ValType, a: Val, b: Val) -> VReg {
        let is64 = ty == ValType::F64;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
        let (a, b, d) = (r(ra), r(rb), r(dst));
        let sse = match (op, is64) {
            (FloatBinOp::Add, false) => SseOp::Addss,
            (FloatBinOp::Add, true) => SseOp::Addsd,
            (FloatBinOp::Sub, false) => SseOp::Subss,
            (FloatBinOp::Sub, true) => SseOp::Subsd,
            (FloatBinOp::Mul, false) => SseOp::Mulss,
            (FloatBinOp::Mul, true) => SseOp::Mulsd,
            (FloatBinOp::Div, false) => SseOp::Divss,
            (FloatBinOp::Div, true) => SseOp::Divsd,
            (FloatBinOp::Min | FloatBinOp::Max, _) => {
                let max = op == FloatBinOp::Max;
                ctx.builder.push(Inst::FMinMax {
                    a,
                    b,
                    dst: d,
                    is64,
                    max,
                });
                return dst;
            }
            (FloatBinOp::Copysign, _) => {
                ctx.builder.push(Inst::FCopysign { a, b, dst: d, is64 });
                return dst;
            }
        };
        ctx.builder.push(Inst::FBin {
            a,
            b,
            dst: d,
            op: sse,
        });
        dst
    }

    fn float_compare(&mut self, ctx: C, ty: ValType, cc: FloatCC, a: Val, b: Val) -> VReg {
        let is64 = ty == ValType::F64;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::FCmpSetcc {
            a: r(ra),
            b: r(rb),
            dst: r(dst),
            is64,
            op: cc,
        });
        dst
    }

    fn float_unary(&mut self, ctx: C, op: FloatUnaryOp, ty: ValType, a: Val) -> VReg {
        let ra = self.reg(ctx, a);
        let dst = ctx.new_reg(ty);
        let op = match op {
            FloatUnaryOp::Abs => FUnaryOp::Abs,
            FloatUnaryOp::Neg => FUnaryOp::Neg,
            FloatUnaryOp::Sqrt => FUnaryOp::Sqrt,
            // roundss/roundsd rounding modes.
            FloatUnaryOp::Nearest => FUnaryOp::Round(0),
            FloatUnaryOp::Floor => FUnaryOp::Round(1),
            FloatUnaryOp::Ceil => FUnaryOp::Round(2),
            FloatUnaryOp::Trunc => FUnaryOp::Round(3),
        };
        ctx.builder.push(Inst::FUnary {
            src: r(ra),
            dst: r(dst),
            is64: ty == ValType::F64,
            op,
        });
        dst
    }
}

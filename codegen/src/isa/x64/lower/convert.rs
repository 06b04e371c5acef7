//! x86-64 lowering: conversions between types and register files.

use super::*;

impl LowerConvert for X64Lower {
    fn convert(&mut self, ctx: C, op: ConvertOp, a: Val) -> VReg {
        let ra = self.reg(ctx, a);
        let dst = ctx.new_reg(op.result());
        let (src, d) = (r(ra), r(dst));
        ctx.builder.push(match op {
            ConvertOp::ExtendI32 { signed } => Inst::Extend {
                src,
                dst: d,
                kind: if signed { LoadKind::S32 } else { LoadKind::U32 },
                size: Size::S64,
            },
            ConvertOp::Demote => Inst::FConvert {
                src,
                dst: d,
                op: SseOp::Cvtsd2ss,
            },
            ConvertOp::Promote => Inst::FConvert {
                src,
                dst: d,
                op: SseOp::Cvtss2sd,
            },
            ConvertOp::IntToFloat {
                src: from,
                dst: to,
                signed,
            } => Inst::IntToFloat {
                src,
                dst: d,
                src_size: size_of(from),
                dst64: to == ValType::F64,
                signed,
            },
            ConvertOp::FloatToInt {
                src: from,
                dst: to,
                signed,
                sat,
                trap,
            } => Inst::FloatToInt {
                src,
                dst: d,
                src64: from == ValType::F64,
                dst_size: size_of(to),
                signed,
                sat,
                trap,
            },
            ConvertOp::Reinterpret { from } => Inst::Bitcast {
                src,
                dst: d,
                to_float: !from.is_float(),
                size: size_of(from),
            },
        });
        dst
    }
}

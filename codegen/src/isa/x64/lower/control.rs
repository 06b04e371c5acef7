//! x86-64 lowering: terminators.

use super::memory::{zero_extend, zero_extended};
use super::*;

impl LowerControl for X64Lower {
    fn jump(&mut self, ctx: C, target: BlockId, mut args: Vec<VReg>) {
        // An `i32` block parameter holds its value zero-extended (what `zero_extended`
        // assumes of it): an argument not known to be is extended on the edge.
        let params = ctx.builder.block_params(target).to_vec();
        for (arg, param) in args.iter_mut().zip(params) {
            if ctx.builder.is_narrow(param) && !zero_extended(ctx, *arg) {
                *arg = zero_extend(ctx, *arg);
            }
        }
        ctx.builder.terminate(Inst::Jump, &[(target, args)]);
    }

    fn brif(&mut self, ctx: C, cond: Val, taken: BlockId, not_taken: BlockId) {
        let succs = [(taken, vec![]), (not_taken, vec![])];
        if let Val::Cmp(c) = cond {
            let size = if c.is64 { Size::S64 } else { Size::S32 };
            let cc = self::cond(c.cc);
            let rhs = reg_or_imm(c.rhs);
            let flags = matches!(rhs, RegOrImm::Imm(0))
                && matches!(cc, Cond::E | Cond::NE)
                && zero_flag_of(ctx, r(c.lhs), size);
            ctx.builder.terminate(
                Inst::CmpBrif {
                    lhs: r(c.lhs),
                    rhs,
                    size,
                    cc,
                    flags,
                },
                &succs,
            );
            return;
        }
        let c = self.materialize(ctx, cond);
        let flags = zero_flag_of(ctx, r(c), Size::S32);
        ctx.builder.terminate(
            Inst::Brif {
                cond: r(c),
                size: Size::S32,
                flags,
            },
            &succs,
        );
    }

    fn br_table(&mut self, ctx: C, index: Val, targets: &[BlockId], table: Vec<u32>, default: u32) {
        let i = self.materialize(ctx, index);
        let succs: Vec<(BlockId, Vec<VReg>)> = targets.iter().map(|t| (*t, vec![])).collect();
        ctx.builder.terminate(
            Inst::BrTable {
                index: r(i),
                table: table.into_boxed_slice(),
                default,
            },
            &succs,
        );
    }

    fn ret(&mut self, ctx: C, results: Vec<Val>) {
        let mut uses = Vec::new();
        if results.len() == 1 {
            let v = self.materialize(ctx, results[0]);
            uses.push((v, abi::result_reg(results[0].ty())));
        } else if let Some(area) = ctx.ret_area {
            let (offs, _) = abi::area_offsets(&ctx.sig.results);
            for ((val, t), off) in results.iter().zip(&ctx.sig.results).zip(offs) {
                let v = self.materialize(ctx, *val);
                ctx.builder.push(Inst::StorePtr {
                    base: r(area),
                    value: r(v),
                    off: off as i32,
                    kind: area_kind(*t),
                });
            }
        }
        ctx.builder.terminate(Inst::Ret { uses: fixed(uses) }, &[]);
    }

    fn trap(&mut self, ctx: C, kind: TrapKind, offset: u32) {
        ctx.builder.terminate(
            Inst::Trap {
                trap: TrapInfo { kind, offset },
            },
            &[],
        );
    }
}

/// Whether the zero flag says whether `v` is zero when the block's next instruction runs:
/// its last instruction computed `v` with an ALU operation of `size` whose flags follow
/// its result. The allocator's moves, the only code it puts between two instructions,
/// leave the flags alone. An add done as `lea`, which leaves the flags alone too, is
/// turned back into an `add` here, which sets them.
fn zero_flag_of(ctx: C, v: Reg, size: Size) -> bool {
    if let Some(&Inst::Lea {
        base,
        index,
        disp,
        dst,
        size: s,
    }) = ctx.builder.last_in_block()
    {
        if dst != v || s != size {
            return false;
        }
        let add = match index {
            None => Inst::AluRI {
                src: base,
                dst,
                op: AluOp::Add,
                size,
                imm: disp,
            },
            Some((rhs, 1)) if disp == 0 => Inst::AluRR {
                lhs: base,
                rhs,
                dst,
                op: AluOp::Add,
                size,
            },
            Some(_) => return false,
        };
        ctx.builder.replace_last(add);
        return true;
    }
    match ctx.builder.last_in_block() {
        Some(
            Inst::AluRR {
                dst, op, size: s, ..
            }
            | Inst::AluRI {
                dst, op, size: s, ..
            }
            | Inst::AluRSlot {
                dst, op, size: s, ..
            },
        ) => {
            *dst == v
                && *s == size
                && matches!(
                    op,
                    AluOp::Add | AluOp::Sub | AluOp::And | AluOp::Or | AluOp::Xor
                )
        }
        _ => false,
    }
}

//! aarch64 lowering: calls in the AAPCS64-based internal convention, runtime calls
//! through the VM context, and terminators.

use super::*;
use crate::compiled::RelocKind;
use crate::lower::{Callee, LowerCall, LowerControl, TrapInfo, VmRef};
use crate::vcode::BlockId;
use wasmprecomp_artifact::{FuncType, Libcall, TrapKind};

impl LowerCall for A64Lower {
    fn vm_load(&mut self, ctx: C, kind: RelocKind, index: u32, addend: i32) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::VmLoad {
            vmctx: r(ctx.vmctx),
            dst: r(dst),
            kind,
            index,
            addend,
        });
        dst
    }

    fn load_ptr(&mut self, ctx: C, base: VReg, offset: i32) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::LoadPtr {
            base: r(base),
            dst: r(dst),
            off: offset,
        });
        dst
    }

    fn store_ptr(&mut self, ctx: C, base: VReg, offset: i32, value: VReg) {
        ctx.builder.push(Inst::StorePtr {
            base: r(base),
            value: r(value),
            off: offset,
            op: MemOp::Str64,
        });
    }

    fn reloc_imm(&mut self, ctx: C, kind: RelocKind, index: u32) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::ImmReloc {
            dst: r(dst),
            kind,
            index,
            sign_extend: false,
        });
        dst
    }

    fn call_indirect_check(
        &mut self,
        ctx: C,
        table: VmRef,
        ty: u32,
        index: Val,
        trap: TrapInfo,
    ) -> VReg {
        let ri = self.reg(ctx, index);
        let fr = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::CallIndirectCheck {
            vmctx: r(ctx.vmctx),
            index: r(ri),
            dst: r(fr),
            table,
            ty,
            trap,
        });
        fr
    }

    fn call(&mut self, ctx: C, sig: &FuncType, callee: Callee, args: &[Val]) -> Vec<VReg> {
        let (code, callee_vmctx, direct) = match callee {
            Callee::Direct { func } => (None, ctx.vmctx, Some(func)),
            Callee::Indirect { code, vmctx } => (Some(code), vmctx, None),
        };
        let (locs, nstack) = abi::param_locs(&sig.params);
        let mut regs: Vec<(VReg, PReg)> = vec![(callee_vmctx, abi::gpr(abi::VMCTX))];
        for ((a, loc), t) in args.iter().zip(&locs).zip(&sig.params) {
            let v = self.reg(ctx, *a);
            match loc {
                ArgLoc::Reg(p) => regs.push((v, *p)),
                ArgLoc::Stack(k) => ctx.builder.push(Inst::StoreOutgoing {
                    src: r(v),
                    off: k * 8,
                    op: area_op(*t, true),
                }),
            }
        }
        let area_off = nstack * 8;
        let mut outgoing = area_off;
        let (result_offs, result_bytes) = abi::area_offsets(&sig.results);
        if sig.results.len() > 1 {
            let p = ctx.builder.new_vreg(RegClass::Int);
            ctx.builder.push(Inst::AddrOutgoing {
                dst: r(p),
                off: area_off,
            });
            regs.push((p, abi::gpr(abi::RESULTS_AREA)));
            outgoing += result_bytes;
        }
        ctx.builder.reserve_outgoing(outgoing);
        let mut seen: Vec<VReg> = code.into_iter().collect();
        let uses = self.distinct(ctx, regs, &mut seen);
        let mut clob = abi::call_clobbers();
        let mut results = Vec::with_capacity(sig.results.len());
        let mut defs = Vec::new();
        if sig.results.len() == 1 {
            let t = sig.results[0];
            let v = ctx.new_reg(t);
            let p = abi::result_reg(t);
            defs.push((v, p));
            clob.remove(p);
            results.push(v);
        }
        let (uses, defs) = (fixed(uses), fixed(defs));
        let inst = match (direct, code) {
            (Some(func), _) => Inst::CallDirect { uses, defs, func },
            (None, Some(code)) => Inst::CallReg {
                code: r(code),
                uses,
                defs,
            },
            (None, None) => unreachable!("an indirect callee has its code register"),
        };
        ctx.builder.push_clobbers(inst, clob);
        if sig.results.len() > 1 {
            for (t, off) in sig.results.iter().zip(&result_offs) {
                let v = ctx.new_reg(*t);
                ctx.builder.push(Inst::LoadOutgoing {
                    dst: r(v),
                    off: area_off + off,
                    op: area_op(*t, false),
                });
                results.push(v);
            }
        }
        results
    }

    fn libcall(&mut self, ctx: C, lc: Libcall, args: &[VReg], result: bool) -> Option<VReg> {
        let res = result.then(|| ctx.builder.new_vreg(RegClass::Int));
        let mut regs = vec![(ctx.vmctx, abi::gpr(abi::LIBCALL_VMCTX))];
        for (a, p) in args.iter().zip(abi::LIBCALL_PARAMS) {
            regs.push((*a, abi::gpr(p)));
        }
        let uses = self.distinct(ctx, regs, &mut Vec::new());
        let mut clob = abi::call_clobbers();
        let mut defs = Vec::new();
        if let Some(res) = res {
            defs.push((res, abi::gpr(abi::LIBCALL_RESULT)));
            clob.remove(abi::gpr(abi::LIBCALL_RESULT));
        }
        ctx.builder.push_clobbers(
            Inst::CallLibcall {
                uses: fixed(uses),
                defs: fixed(defs),
                index: lc as u32,
            },
            clob,
        );
        res
    }

    fn trap_if_nonzero(&mut self, ctx: C, v: VReg, trap: TrapInfo) {
        ctx.builder.push(Inst::TrapIf {
            src: r(v),
            size: Size::S32,
            nonzero: true,
            trap,
        });
    }
}

impl A64Lower {
    /// Copies repeated virtual registers (and those already in `seen`) so each
    /// fixed-register use names a distinct one.
    fn distinct(
        &mut self,
        ctx: C,
        regs: Vec<(VReg, PReg)>,
        seen: &mut Vec<VReg>,
    ) -> Vec<(VReg, PReg)> {
        let mut uses = Vec::with_capacity(regs.len());
        for (v, p) in regs {
            let v = if seen.contains(&v) {
                let c = ctx.builder.new_vreg(v.class());
                ctx.builder.push(Inst::Mov {
                    src: r(v),
                    dst: r(c),
                    float: v.class() == RegClass::Float,
                });
                c
            } else {
                v
            };
            seen.push(v);
            uses.push((v, p));
        }
        uses
    }
}

impl LowerControl for A64Lower {
    fn jump(&mut self, ctx: C, target: BlockId, args: Vec<VReg>) {
        ctx.builder.terminate(Inst::Jump, &[(target, args)]);
    }

    fn brif(&mut self, ctx: C, cond: Val, taken: BlockId, not_taken: BlockId) {
        let succs = [(taken, vec![]), (not_taken, vec![])];
        if let Val::Cmp(c) = cond {
            ctx.builder.terminate(
                Inst::CmpBrif {
                    lhs: r(c.lhs),
                    rhs: reg_or_imm(c.rhs),
                    size: if c.is64 { Size::S64 } else { Size::S32 },
                    cc: self::cond(c.cc),
                },
                &succs,
            );
            return;
        }
        let c = self.materialize(ctx, cond);
        ctx.builder.terminate(
            Inst::Brif {
                cond: r(c),
                size: Size::S32,
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
                    op: area_op(*t, true),
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

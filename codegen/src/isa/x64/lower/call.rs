//! x86-64 lowering: calls in the System V-like internal convention, and runtime calls through the VM context.

use super::*;

impl LowerCall for X64Lower {
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
            kind: area_kind(ValType::I64),
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
                    kind: area_kind(*t),
                }),
            }
        }
        let area_off = nstack * 8;
        let mut outgoing = area_off;
        let (result_offs, result_bytes) = abi::area_offsets(&sig.results);
        if sig.results.len() > 1 {
            let p = ctx.builder.new_vreg(RegClass::Int);
            ctx.builder.push(Inst::LeaOutgoing {
                dst: r(p),
                off: area_off,
            });
            regs.push((p, abi::gpr(abi::RESULTS_AREA)));
            outgoing += result_bytes;
        }
        ctx.builder.reserve_outgoing(outgoing);
        // Each fixed use must name a distinct virtual register.
        let mut seen: Vec<VReg> = Vec::new();
        if let Some(c) = code {
            seen.push(c);
        }
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
                    kind: area_kind(*t),
                });
                results.push(v);
            }
        }
        results
    }

    fn libcall(&mut self, ctx: C, lc: Libcall, args: &[VReg], result: bool) -> Option<VReg> {
        let res = result.then(|| ctx.builder.new_vreg(RegClass::Int));
        let mut uses = vec![(ctx.vmctx, abi::gpr(abi::LIBCALL_VMCTX))];
        let regs = abi::LIBCALL_PARAMS;
        let args = self.dedup_args(ctx, args);
        for (a, p) in args.iter().zip(regs) {
            uses.push((*a, abi::gpr(p)));
        }
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

impl X64Lower {
    /// Copies repeated virtual registers so each fixed-register use names a distinct one.
    fn dedup_args(&mut self, ctx: C, args: &[VReg]) -> Vec<VReg> {
        let mut out: Vec<VReg> = Vec::with_capacity(args.len());
        for a in args {
            if out.contains(a) || *a == ctx.vmctx {
                let c = ctx.builder.new_vreg(a.class());
                ctx.builder.push(Inst::Mov {
                    src: r(*a),
                    dst: r(c),
                    float: a.class() == RegClass::Float,
                });
                out.push(c);
            } else {
                out.push(*a);
            }
        }
        out
    }
}

//! Lowering of non-control operators to x86-64 [`Inst`]s.

use super::abi::{self, ArgLoc};
use super::asm::{AluOp, Cond, LoadKind, ShiftOp, Size, SseOp};
use super::inst::*;
use crate::compiled::RelocKind;
use crate::error::CompileError;
use crate::translate::{class_of, internal, Backend, CmpRhs, Compare, Ctx, IntCC, Val};
use crate::vcode::BlockId;
use regalloc2::{Operand, PReg, RegClass, VReg};
use wasmparser::Operator;
use wasmprecomp_artifact::{FuncType, Libcall, TrapKind, ValType};

/// Per-function lowering state.
#[derive(Default)]
pub struct X64Lower {
    /// Bytes of outgoing stack arguments and result areas needed by calls.
    pub outgoing: u32,
}

type C<'a, 's> = &'a mut Ctx<'s, Inst>;

fn u(v: VReg) -> Operand {
    Operand::reg_use(v)
}
fn d(v: VReg) -> Operand {
    Operand::reg_def(v)
}
fn reuse(v: VReg, i: usize) -> Operand {
    Operand::reg_reuse_def(v, i)
}

fn size_of(t: ValType) -> Size {
    match t {
        ValType::I32 | ValType::F32 => Size::S32,
        _ => Size::S64,
    }
}

fn trap(kind: TrapKind, offset: u32) -> TrapInfo {
    TrapInfo { kind, offset }
}

/// The immediate form of a constant operand for an instruction of `size`, if it has one.
fn imm32(v: Val, size: Size) -> Option<i32> {
    match v {
        Val::Const(_, bits) => match size {
            Size::S64 => {
                let x = bits as i64;
                (x >= i32::MIN as i64 && x <= i32::MAX as i64).then_some(x as i32)
            }
            _ => Some(bits as u32 as i32),
        },
        Val::Reg(..) | Val::Cmp(_) => None,
    }
}

impl X64Lower {
    fn new_reg(ctx: C, t: ValType) -> VReg {
        ctx.builder.new_vreg(class_of(t))
    }

    fn reg(&mut self, ctx: C, v: Val) -> VReg {
        self.materialize(ctx, v)
    }

    fn mem_ref(ctx: C) -> Result<VmRef, CompileError> {
        let f = ctx
            .stencil
            .refs
            .memories
            .first()
            .ok_or_else(|| internal("memory access without a memory"))?;
        Ok(VmRef {
            index: 0,
            imported: f.imported,
        })
    }

    fn mem_ref_n(ctx: C, index: u32) -> Result<VmRef, CompileError> {
        let f = ctx
            .stencil
            .refs
            .memories
            .get(index as usize)
            .ok_or_else(|| internal("bad memory reference"))?;
        Ok(VmRef {
            index,
            imported: f.imported,
        })
    }

    fn table_ref(ctx: C, index: u32) -> Result<VmRef, CompileError> {
        let f = ctx
            .stencil
            .refs
            .tables
            .get(index as usize)
            .ok_or_else(|| internal("bad table reference"))?;
        Ok(VmRef {
            index,
            imported: f.imported,
        })
    }

    fn int_bin(
        &mut self,
        ctx: C,
        op: AluOp,
        ty: ValType,
        commutative: bool,
    ) -> Result<(), CompileError> {
        let size = size_of(ty);
        let mut b = ctx.pop()?;
        let mut a = ctx.pop()?;
        if commutative && imm32(b, size).is_none() && imm32(a, size).is_some() {
            std::mem::swap(&mut a, &mut b);
        }
        let dst = Self::new_reg(ctx, ty);
        let ra = self.reg(ctx, a);
        if let Some(imm) = imm32(b, size) {
            ctx.builder
                .push(Inst::AluRI { op, size, imm }, &[u(ra), reuse(dst, 0)]);
        } else {
            let rb = self.reg(ctx, b);
            ctx.builder
                .push(Inst::AluRR { op, size }, &[u(ra), u(rb), reuse(dst, 0)]);
        }
        ctx.push_reg(dst, ty);
        Ok(())
    }

    fn mul(&mut self, ctx: C, ty: ValType) -> Result<(), CompileError> {
        let size = size_of(ty);
        let mut b = ctx.pop()?;
        let mut a = ctx.pop()?;
        if imm32(b, size).is_none() && imm32(a, size).is_some() {
            std::mem::swap(&mut a, &mut b);
        }
        let dst = Self::new_reg(ctx, ty);
        let ra = self.reg(ctx, a);
        if let Some(imm) = imm32(b, size) {
            ctx.builder
                .push(Inst::ImulImm { size, imm }, &[u(ra), d(dst)]);
        } else {
            let rb = self.reg(ctx, b);
            ctx.builder
                .push(Inst::Imul { size }, &[u(ra), u(rb), reuse(dst, 0)]);
        }
        ctx.push_reg(dst, ty);
        Ok(())
    }

    fn shift(&mut self, ctx: C, op: ShiftOp, ty: ValType) -> Result<(), CompileError> {
        let size = size_of(ty);
        let b = ctx.pop()?;
        let a = ctx.pop()?;
        let dst = Self::new_reg(ctx, ty);
        let ra = self.reg(ctx, a);
        let mask = if size == Size::S64 { 63 } else { 31 };
        if let Val::Const(_, bits) = b {
            let imm = (bits as u8) & mask;
            ctx.builder
                .push(Inst::ShiftRI { op, size, imm }, &[u(ra), reuse(dst, 0)]);
        } else {
            let rb = self.reg(ctx, b);
            ctx.builder.push(
                Inst::ShiftRR { op, size },
                &[
                    u(ra),
                    Operand::reg_fixed_use(rb, abi::gpr(abi::RCX)),
                    reuse(dst, 0),
                ],
            );
        }
        ctx.push_reg(dst, ty);
        Ok(())
    }

    fn divrem(&mut self, ctx: C, kind: DivKind, ty: ValType, off: u32) -> Result<(), CompileError> {
        let size = size_of(ty);
        let b = ctx.pop()?;
        let a = ctx.pop()?;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = Self::new_reg(ctx, ty);
        let (out, other) = match kind {
            DivKind::DivS | DivKind::DivU => (abi::RAX, abi::RDX),
            _ => (abi::RDX, abi::RAX),
        };
        let mut clob = regalloc2::PRegSet::empty();
        clob.add(abi::gpr(other));
        ctx.builder.push_clobbers(
            Inst::DivRem {
                kind,
                size,
                trap: trap(TrapKind::IntegerDivideByZero, off),
            },
            &[
                Operand::reg_fixed_use(ra, abi::gpr(abi::RAX)),
                Operand::reg_use_at_end(rb),
                Operand::reg_fixed_def(dst, abi::gpr(out)),
            ],
            clob,
        );
        ctx.push_reg(dst, ty);
        Ok(())
    }

    fn unary(
        &mut self,
        ctx: C,
        inst: Inst,
        ty_in: ValType,
        ty_out: ValType,
    ) -> Result<(), CompileError> {
        let a = ctx.pop()?;
        let _ = ty_in;
        let ra = self.reg(ctx, a);
        let dst = Self::new_reg(ctx, ty_out);
        ctx.builder.push(inst, &[u(ra), d(dst)]);
        ctx.push_reg(dst, ty_out);
        Ok(())
    }

    /// Pushes a lazy comparison: a branch on it compares and jumps directly; any other
    /// use materializes it as 0/1. Constant operands fold.
    fn cmp(&mut self, ctx: C, ty: ValType, cc: IntCC) -> Result<(), CompileError> {
        let size = size_of(ty);
        let is64 = size == Size::S64;
        let b = ctx.pop()?;
        let a = ctx.pop()?;
        if let (Val::Const(_, x), Val::Const(_, y)) = (a, b) {
            ctx.push(Val::Const(ValType::I32, cc.eval(x, y, is64) as u64));
            return Ok(());
        }
        let (a, b, cc) = if imm32(b, size).is_none() && imm32(a, size).is_some() {
            (b, a, cc.swap())
        } else {
            (a, b, cc)
        };
        let lhs = self.reg(ctx, a);
        let rhs = match imm32(b, size) {
            Some(i) => CmpRhs::Imm(i),
            None => CmpRhs::Reg(self.reg(ctx, b)),
        };
        ctx.push(Val::Cmp(Compare { is64, cc, lhs, rhs }));
        Ok(())
    }

    fn eqz(&mut self, ctx: C, ty: ValType) -> Result<(), CompileError> {
        let a = ctx.pop()?;
        let v = match a {
            Val::Cmp(c) => Val::Cmp(Compare {
                cc: c.cc.invert(),
                ..c
            }),
            Val::Const(_, x) => {
                let zero = if size_of(ty) == Size::S64 {
                    x == 0
                } else {
                    x as u32 == 0
                };
                Val::Const(ValType::I32, zero as u64)
            }
            Val::Reg(r, _) => Val::Cmp(Compare {
                is64: size_of(ty) == Size::S64,
                cc: IntCC::Eq,
                lhs: r,
                rhs: CmpRhs::Imm(0),
            }),
        };
        ctx.push(v);
        Ok(())
    }

    fn fcmp(&mut self, ctx: C, is64: bool, op: FCmp) -> Result<(), CompileError> {
        let b = ctx.pop()?;
        let a = ctx.pop()?;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder
            .push(Inst::FCmpSetcc { is64, op }, &[u(ra), u(rb), d(dst)]);
        ctx.push_reg(dst, ValType::I32);
        Ok(())
    }

    fn fbin(&mut self, ctx: C, op: SseOp, ty: ValType) -> Result<(), CompileError> {
        let b = ctx.pop()?;
        let a = ctx.pop()?;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = Self::new_reg(ctx, ty);
        ctx.builder
            .push(Inst::FBin { op }, &[u(ra), u(rb), reuse(dst, 0)]);
        ctx.push_reg(dst, ty);
        Ok(())
    }

    fn fminmax(&mut self, ctx: C, ty: ValType, max: bool) -> Result<(), CompileError> {
        let b = ctx.pop()?;
        let a = ctx.pop()?;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = Self::new_reg(ctx, ty);
        ctx.builder.push(
            Inst::FMinMax {
                is64: ty == ValType::F64,
                max,
            },
            &[u(ra), u(rb), reuse(dst, 0)],
        );
        ctx.push_reg(dst, ty);
        Ok(())
    }

    fn copysign(&mut self, ctx: C, ty: ValType) -> Result<(), CompileError> {
        let b = ctx.pop()?;
        let a = ctx.pop()?;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = Self::new_reg(ctx, ty);
        ctx.builder.push(
            Inst::FCopysign {
                is64: ty == ValType::F64,
            },
            &[u(ra), u(rb), d(dst)],
        );
        ctx.push_reg(dst, ty);
        Ok(())
    }

    fn load(
        &mut self,
        ctx: C,
        kind: MemKind,
        ty: ValType,
        offset: u64,
        off: u32,
    ) -> Result<(), CompileError> {
        let mem = Self::mem_ref(ctx)?;
        let a = ctx.pop()?;
        let ra = self.reg(ctx, a);
        let dst = Self::new_reg(ctx, ty);
        let vm = ctx.vmctx;
        ctx.builder.push(
            Inst::Load {
                kind,
                offset,
                mem,
                trap: trap(TrapKind::MemoryOutOfBounds, off),
            },
            &[u(vm), u(ra), d(dst)],
        );
        ctx.push_reg(dst, ty);
        Ok(())
    }

    fn store(&mut self, ctx: C, kind: MemKind, offset: u64, off: u32) -> Result<(), CompileError> {
        let mem = Self::mem_ref(ctx)?;
        let v = ctx.pop()?;
        let a = ctx.pop()?;
        let ra = self.reg(ctx, a);
        let rv = self.reg(ctx, v);
        let vm = ctx.vmctx;
        ctx.builder.push(
            Inst::Store {
                kind,
                offset,
                mem,
                trap: trap(TrapKind::MemoryOutOfBounds, off),
            },
            &[u(vm), u(ra), u(rv)],
        );
        Ok(())
    }

    fn imm_reloc(ctx: C, kind: RelocKind, index: u32) -> VReg {
        let r = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::ImmReloc { kind, index }, &[d(r)]);
        r
    }

    /// Calls a runtime function with the VM context and `args` (integer registers).
    fn libcall(&mut self, ctx: C, lc: Libcall, args: &[VReg], result: Option<VReg>) {
        let mut ops = vec![Operand::reg_fixed_use(ctx.vmctx, abi::gpr(abi::RDI))];
        let regs = [abi::RSI, abi::RDX, abi::RCX, abi::R8, abi::R9];
        let args = self.dedup_args(ctx, args);
        for (a, r) in args.iter().zip(regs) {
            ops.push(Operand::reg_fixed_use(*a, abi::gpr(r)));
        }
        let mut clob = abi::call_clobbers();
        if let Some(res) = result {
            ops.push(Operand::reg_fixed_def(res, abi::gpr(abi::RAX)));
            clob.remove(abi::gpr(abi::RAX));
        }
        ctx.builder
            .push_clobbers(Inst::CallLibcall { index: lc as u32 }, &ops, clob);
    }

    /// Copies repeated virtual registers so each fixed-register use names a distinct one.
    fn dedup_args(&mut self, ctx: C, args: &[VReg]) -> Vec<VReg> {
        let mut out: Vec<VReg> = Vec::with_capacity(args.len());
        for a in args {
            if out.contains(a) || *a == ctx.vmctx {
                let c = ctx.builder.new_vreg(a.class());
                ctx.builder.push(
                    Inst::Mov {
                        float: a.class() == RegClass::Float,
                    },
                    &[u(*a), d(c)],
                );
                out.push(c);
            } else {
                out.push(*a);
            }
        }
        out
    }

    fn trapping_libcall(&mut self, ctx: C, lc: Libcall, args: &[VReg], off: u32) {
        let res = ctx.builder.new_vreg(RegClass::Int);
        self.libcall(ctx, lc, args, Some(res));
        ctx.builder.push(
            Inst::TrapIf {
                size: Size::S32,
                nonzero: true,
                trap: trap(TrapKind::HostError, off),
            },
            &[u(res)],
        );
    }

    /// A bulk memory or table operation: the relocated entity indices, then the three
    /// operands popped from the stack (in stack order), to a trapping libcall.
    fn bulk(
        &mut self,
        ctx: C,
        lc: Libcall,
        indices: &[(RelocKind, u32)],
        off: u32,
    ) -> Result<(), CompileError> {
        let ops = ctx.pop_n(3)?;
        let mut args: Vec<VReg> = indices
            .iter()
            .map(|(k, i)| Self::imm_reloc(ctx, *k, *i))
            .collect();
        for v in ops {
            args.push(self.reg(ctx, v));
        }
        self.trapping_libcall(ctx, lc, &args, off);
        Ok(())
    }

    /// Emits a call: `callee_vmctx` in rdi, arguments per the ABI, results pushed.
    fn call(
        &mut self,
        ctx: C,
        ty: &FuncType,
        code: Option<VReg>,
        callee_vmctx: VReg,
        direct: Option<u32>,
    ) -> Result<(), CompileError> {
        let args = ctx.pop_n(ty.params.len())?;
        let (locs, nstack) = abi::param_locs(&ty.params);
        let mut ops = Vec::new();
        if let Some(c) = code {
            ops.push(u(c));
        }
        let mut regs: Vec<(VReg, PReg)> = vec![(callee_vmctx, abi::gpr(abi::RDI))];
        for (a, loc) in args.iter().zip(&locs) {
            let r = self.reg(ctx, *a);
            match loc {
                ArgLoc::Reg(p) => regs.push((r, *p)),
                ArgLoc::Stack(k) => ctx.builder.push(
                    Inst::StoreOutgoing {
                        off: k * 8,
                        float: a.ty().is_float(),
                    },
                    &[u(r)],
                ),
            }
        }
        let area_off = nstack * 8;
        let mut outgoing = area_off;
        if ty.results.len() > 1 {
            let p = ctx.builder.new_vreg(RegClass::Int);
            ctx.builder
                .push(Inst::LeaOutgoing { off: area_off }, &[d(p)]);
            regs.push((p, abi::gpr(abi::RAX)));
            outgoing += 8 * ty.results.len() as u32;
        }
        self.outgoing = self.outgoing.max(outgoing);
        // Each fixed use must name a distinct virtual register.
        let mut seen: Vec<VReg> = Vec::new();
        if let Some(c) = code {
            seen.push(c);
        }
        for (v, p) in regs {
            let v = if seen.contains(&v) {
                let c = ctx.builder.new_vreg(v.class());
                ctx.builder.push(
                    Inst::Mov {
                        float: v.class() == RegClass::Float,
                    },
                    &[u(v), d(c)],
                );
                c
            } else {
                v
            };
            seen.push(v);
            ops.push(Operand::reg_fixed_use(v, p));
        }
        let mut clob = abi::call_clobbers();
        let mut single = None;
        if ty.results.len() == 1 {
            let t = ty.results[0];
            let r = Self::new_reg(ctx, t);
            let p = abi::result_reg(t);
            ops.push(Operand::reg_fixed_def(r, p));
            clob.remove(p);
            single = Some((r, t));
        }
        let inst = match direct {
            Some(func) => Inst::CallDirect { func },
            None => Inst::CallReg,
        };
        ctx.builder.push_clobbers(inst, &ops, clob);
        if let Some((r, t)) = single {
            ctx.push_reg(r, t);
        } else if ty.results.len() > 1 {
            for (i, t) in ty.results.iter().enumerate() {
                let r = Self::new_reg(ctx, *t);
                ctx.builder.push(
                    Inst::LoadOutgoing {
                        off: area_off + 8 * i as u32,
                        float: t.is_float(),
                    },
                    &[d(r)],
                );
                ctx.push_reg(r, *t);
            }
        }
        Ok(())
    }

    fn float_to_int(
        &mut self,
        ctx: C,
        src64: bool,
        dst: ValType,
        signed: bool,
        sat: bool,
        off: u32,
    ) -> Result<(), CompileError> {
        self.unary(
            ctx,
            Inst::FloatToInt {
                src64,
                dst_size: size_of(dst),
                signed,
                sat,
                trap: trap(TrapKind::IntegerOverflow, off),
            },
            if src64 { ValType::F64 } else { ValType::F32 },
            dst,
        )
    }

    fn int_to_float(
        &mut self,
        ctx: C,
        src: ValType,
        dst: ValType,
        signed: bool,
    ) -> Result<(), CompileError> {
        self.unary(
            ctx,
            Inst::IntToFloat {
                src_size: size_of(src),
                dst64: dst == ValType::F64,
                signed,
            },
            src,
            dst,
        )
    }
}

impl Backend for X64Lower {
    type Inst = Inst;

    fn lower_args(&mut self, ctx: &mut Ctx<Inst>) -> Vec<VReg> {
        let sig = ctx.stencil.sig.clone();
        let (locs, _) = abi::param_locs(&sig.params);
        let mut ops = vec![Operand::reg_fixed_def(ctx.vmctx, abi::gpr(abi::RDI))];
        let mut params = Vec::with_capacity(sig.params.len());
        let mut stack_loads = Vec::new();
        for (t, loc) in sig.params.iter().zip(&locs) {
            let r = ctx.builder.new_vreg(class_of(*t));
            params.push(r);
            match loc {
                ArgLoc::Reg(p) => ops.push(Operand::reg_fixed_def(r, *p)),
                ArgLoc::Stack(k) => stack_loads.push((r, *k, t.is_float())),
            }
        }
        if sig.results.len() > 1 {
            let ra = ctx.builder.new_vreg(RegClass::Int);
            ops.push(Operand::reg_fixed_def(ra, abi::gpr(abi::RAX)));
            ctx.ret_area = Some(ra);
        }
        ctx.builder.push(Inst::Args, &ops);
        for (r, k, float) in stack_loads {
            ctx.builder
                .push(Inst::LoadStackArg { index: k, float }, &[d(r)]);
        }
        params
    }

    fn materialize(&mut self, ctx: &mut Ctx<Inst>, v: Val) -> VReg {
        match v {
            Val::Reg(r, _) => r,
            Val::Cmp(c) => {
                let dst = ctx.builder.new_vreg(RegClass::Int);
                let size = if c.is64 { Size::S64 } else { Size::S32 };
                let cc = cond(c.cc);
                match c.rhs {
                    CmpRhs::Imm(imm) => ctx
                        .builder
                        .push(Inst::CmpImmSetcc { size, cc, imm }, &[u(c.lhs), d(dst)]),
                    CmpRhs::Reg(r) => ctx
                        .builder
                        .push(Inst::CmpSetcc { size, cc }, &[u(c.lhs), u(r), d(dst)]),
                }
                dst
            }
            Val::Const(t, bits) => {
                let r = ctx.builder.new_vreg(class_of(t));
                let inst = match t {
                    ValType::F32 => Inst::FImm { is64: false, bits },
                    ValType::F64 => Inst::FImm { is64: true, bits },
                    ValType::I32 => Inst::Imm {
                        size: Size::S32,
                        bits: bits as u32 as u64,
                    },
                    _ => Inst::Imm {
                        size: Size::S64,
                        bits,
                    },
                };
                ctx.builder.push(inst, &[d(r)]);
                r
            }
        }
    }

    fn jump(&mut self, ctx: &mut Ctx<Inst>, target: BlockId, args: Vec<VReg>) {
        ctx.builder.terminate(Inst::Jump, &[], &[(target, args)]);
    }

    fn brif(&mut self, ctx: &mut Ctx<Inst>, cond: Val, taken: BlockId, not_taken: BlockId) {
        if let Val::Cmp(c) = cond {
            let size = if c.is64 { Size::S64 } else { Size::S32 };
            let cc = self::cond(c.cc);
            let succs = [(taken, vec![]), (not_taken, vec![])];
            match c.rhs {
                CmpRhs::Imm(imm) => ctx.builder.terminate(
                    Inst::CmpBrif {
                        size,
                        cc,
                        imm: Some(imm),
                    },
                    &[u(c.lhs)],
                    &succs,
                ),
                CmpRhs::Reg(r) => ctx.builder.terminate(
                    Inst::CmpBrif {
                        size,
                        cc,
                        imm: None,
                    },
                    &[u(c.lhs), u(r)],
                    &succs,
                ),
            }
            return;
        }
        let c = self.materialize(ctx, cond);
        ctx.builder.terminate(
            Inst::Brif { size: Size::S32 },
            &[u(c)],
            &[(taken, vec![]), (not_taken, vec![])],
        );
    }

    fn br_table(
        &mut self,
        ctx: &mut Ctx<Inst>,
        index: Val,
        targets: &[BlockId],
        table: Vec<u32>,
        default: u32,
    ) {
        let i = self.materialize(ctx, index);
        let succs: Vec<(BlockId, Vec<VReg>)> = targets.iter().map(|t| (*t, vec![])).collect();
        ctx.builder.terminate(
            Inst::BrTable {
                table: table.into_boxed_slice(),
                default,
            },
            &[u(i)],
            &succs,
        );
    }

    fn ret(&mut self, ctx: &mut Ctx<Inst>, results: Vec<Val>) {
        let mut ops = Vec::new();
        if results.len() == 1 {
            let r = self.materialize(ctx, results[0]);
            ops.push(Operand::reg_fixed_use(r, abi::result_reg(results[0].ty())));
        } else if let Some(area) = ctx.ret_area {
            for (i, v) in results.iter().enumerate() {
                let r = self.materialize(ctx, *v);
                ctx.builder.push(
                    Inst::StorePtr {
                        off: 8 * i as i32,
                        float: v.ty().is_float(),
                    },
                    &[u(area), u(r)],
                );
            }
        }
        ctx.builder.terminate(Inst::Ret, &ops, &[]);
    }

    fn trap(&mut self, ctx: &mut Ctx<Inst>, kind: TrapKind, offset: u32) {
        ctx.builder.terminate(
            Inst::Trap {
                trap: trap(kind, offset),
            },
            &[],
            &[],
        );
    }

    fn lower_op(
        &mut self,
        ctx: &mut Ctx<Inst>,
        op: &Operator,
        off: u32,
    ) -> Result<(), CompileError> {
        use Operator as O;
        use ValType::*;
        match *op {
            O::I32Const { value } => ctx.push(Val::Const(I32, value as u32 as u64)),
            O::I64Const { value } => ctx.push(Val::Const(I64, value as u64)),
            O::F32Const { value } => ctx.push(Val::Const(F32, value.bits() as u64)),
            O::F64Const { value } => ctx.push(Val::Const(F64, value.bits())),
            O::RefNull { hty } => {
                let t = if hty == wasmparser::HeapType::EXTERN {
                    ExternRef
                } else {
                    FuncRef
                };
                ctx.push(Val::Const(t, 0));
            }
            O::RefIsNull => self.eqz(ctx, I64)?,
            O::RefFunc { function_index } => {
                let dst = ctx.builder.new_vreg(RegClass::Int);
                let vm = ctx.vmctx;
                ctx.builder.push(
                    Inst::RefFunc {
                        func: function_index,
                    },
                    &[u(vm), d(dst)],
                );
                ctx.push_reg(dst, FuncRef);
            }
            O::Select | O::TypedSelect { .. } | O::TypedSelectMulti { .. } => {
                let c = ctx.pop()?;
                let b = ctx.pop()?;
                let a = ctx.pop()?;
                let ty = a.ty();
                let float = ty.is_float();
                let ra = self.reg(ctx, a);
                let rb = self.reg(ctx, b);
                let dst = Self::new_reg(ctx, ty);
                match c {
                    // Select straight on the comparison's flags.
                    Val::Cmp(cmp) => {
                        let size = if cmp.is64 { Size::S64 } else { Size::S32 };
                        let cc = cond(cmp.cc);
                        match cmp.rhs {
                            CmpRhs::Imm(imm) => ctx.builder.push(
                                Inst::CmpSelect {
                                    float,
                                    size,
                                    cc,
                                    imm: Some(imm),
                                },
                                &[u(cmp.lhs), u(ra), u(rb), reuse(dst, 1)],
                            ),
                            CmpRhs::Reg(r) => ctx.builder.push(
                                Inst::CmpSelect {
                                    float,
                                    size,
                                    cc,
                                    imm: None,
                                },
                                &[u(cmp.lhs), u(r), u(ra), u(rb), reuse(dst, 2)],
                            ),
                        }
                    }
                    _ => {
                        let rc = self.reg(ctx, c);
                        ctx.builder.push(
                            Inst::Select { float },
                            &[u(rc), u(ra), u(rb), reuse(dst, 1)],
                        );
                    }
                }
                ctx.push_reg(dst, ty);
            }
            O::GlobalGet { global_index } => {
                let g = *ctx
                    .stencil
                    .refs
                    .globals
                    .get(global_index as usize)
                    .ok_or_else(|| internal("bad global reference"))?;
                let ty = g.ty.ty;
                let dst = Self::new_reg(ctx, ty);
                let vm = ctx.vmctx;
                ctx.builder.push(
                    Inst::GlobalGet {
                        global: VmRef {
                            index: global_index,
                            imported: g.imported,
                        },
                        kind: slot_kind(ty),
                    },
                    &[u(vm), d(dst)],
                );
                ctx.push_reg(dst, ty);
            }
            O::GlobalSet { global_index } => {
                let g = *ctx
                    .stencil
                    .refs
                    .globals
                    .get(global_index as usize)
                    .ok_or_else(|| internal("bad global reference"))?;
                let v = ctx.pop()?;
                let rv = self.reg(ctx, v);
                let vm = ctx.vmctx;
                ctx.builder.push(
                    Inst::GlobalSet {
                        global: VmRef {
                            index: global_index,
                            imported: g.imported,
                        },
                        kind: slot_kind(g.ty.ty),
                    },
                    &[u(vm), u(rv)],
                );
            }
            O::Call { function_index } => {
                let f = ctx
                    .stencil
                    .refs
                    .funcs
                    .get(function_index as usize)
                    .cloned()
                    .ok_or_else(|| internal("bad function reference"))?;
                if f.imported {
                    let vm = ctx.vmctx;
                    let code = ctx.builder.new_vreg(RegClass::Int);
                    let cvm = ctx.builder.new_vreg(RegClass::Int);
                    ctx.builder.push(
                        Inst::VmLoad {
                            kind: RelocKind::VmFuncRef,
                            index: function_index,
                            addend: wasmprecomp_artifact::FUNCREF_CODE as i32,
                        },
                        &[u(vm), d(code)],
                    );
                    ctx.builder.push(
                        Inst::VmLoad {
                            kind: RelocKind::VmFuncRef,
                            index: function_index,
                            addend: wasmprecomp_artifact::FUNCREF_VMCTX as i32,
                        },
                        &[u(vm), d(cvm)],
                    );
                    self.call(ctx, &f.ty, Some(code), cvm, None)?;
                } else {
                    let vm = ctx.vmctx;
                    self.call(ctx, &f.ty, None, vm, Some(function_index))?;
                }
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let ty = ctx
                    .stencil
                    .refs
                    .types
                    .get(type_index as usize)
                    .cloned()
                    .ok_or_else(|| internal("bad type reference"))?;
                let table = Self::table_ref(ctx, table_index)?;
                let idx = ctx.pop()?;
                let ri = self.reg(ctx, idx);
                let vm = ctx.vmctx;
                let fr = ctx.builder.new_vreg(RegClass::Int);
                ctx.builder.push(
                    Inst::CallIndirectCheck {
                        table,
                        ty: type_index,
                        trap: trap(TrapKind::UndefinedElement, off),
                    },
                    &[u(vm), u(ri), d(fr)],
                );
                let code = ctx.builder.new_vreg(RegClass::Int);
                let cvm = ctx.builder.new_vreg(RegClass::Int);
                ctx.builder.push(
                    Inst::LoadPtr {
                        off: wasmprecomp_artifact::FUNCREF_CODE as i32,
                    },
                    &[u(fr), d(code)],
                );
                ctx.builder.push(
                    Inst::LoadPtr {
                        off: wasmprecomp_artifact::FUNCREF_VMCTX as i32,
                    },
                    &[u(fr), d(cvm)],
                );
                self.call(ctx, &ty, Some(code), cvm, None)?;
            }

            // Integer arithmetic.
            O::I32Add => self.int_bin(ctx, AluOp::Add, I32, true)?,
            O::I64Add => self.int_bin(ctx, AluOp::Add, I64, true)?,
            O::I32Sub => self.int_bin(ctx, AluOp::Sub, I32, false)?,
            O::I64Sub => self.int_bin(ctx, AluOp::Sub, I64, false)?,
            O::I32And => self.int_bin(ctx, AluOp::And, I32, true)?,
            O::I64And => self.int_bin(ctx, AluOp::And, I64, true)?,
            O::I32Or => self.int_bin(ctx, AluOp::Or, I32, true)?,
            O::I64Or => self.int_bin(ctx, AluOp::Or, I64, true)?,
            O::I32Xor => self.int_bin(ctx, AluOp::Xor, I32, true)?,
            O::I64Xor => self.int_bin(ctx, AluOp::Xor, I64, true)?,
            O::I32Mul => self.mul(ctx, I32)?,
            O::I64Mul => self.mul(ctx, I64)?,
            O::I32DivS => self.divrem(ctx, DivKind::DivS, I32, off)?,
            O::I32DivU => self.divrem(ctx, DivKind::DivU, I32, off)?,
            O::I32RemS => self.divrem(ctx, DivKind::RemS, I32, off)?,
            O::I32RemU => self.divrem(ctx, DivKind::RemU, I32, off)?,
            O::I64DivS => self.divrem(ctx, DivKind::DivS, I64, off)?,
            O::I64DivU => self.divrem(ctx, DivKind::DivU, I64, off)?,
            O::I64RemS => self.divrem(ctx, DivKind::RemS, I64, off)?,
            O::I64RemU => self.divrem(ctx, DivKind::RemU, I64, off)?,
            O::I32Shl => self.shift(ctx, ShiftOp::Shl, I32)?,
            O::I64Shl => self.shift(ctx, ShiftOp::Shl, I64)?,
            O::I32ShrS => self.shift(ctx, ShiftOp::Sar, I32)?,
            O::I64ShrS => self.shift(ctx, ShiftOp::Sar, I64)?,
            O::I32ShrU => self.shift(ctx, ShiftOp::Shr, I32)?,
            O::I64ShrU => self.shift(ctx, ShiftOp::Shr, I64)?,
            O::I32Rotl => self.shift(ctx, ShiftOp::Rol, I32)?,
            O::I64Rotl => self.shift(ctx, ShiftOp::Rol, I64)?,
            O::I32Rotr => self.shift(ctx, ShiftOp::Ror, I32)?,
            O::I64Rotr => self.shift(ctx, ShiftOp::Ror, I64)?,
            O::I32Clz => self.unary(ctx, Inst::Clz { size: Size::S32 }, I32, I32)?,
            O::I64Clz => self.unary(ctx, Inst::Clz { size: Size::S64 }, I64, I64)?,
            O::I32Ctz => self.unary(ctx, Inst::Ctz { size: Size::S32 }, I32, I32)?,
            O::I64Ctz => self.unary(ctx, Inst::Ctz { size: Size::S64 }, I64, I64)?,
            O::I32Popcnt => self.unary(ctx, Inst::Popcnt { size: Size::S32 }, I32, I32)?,
            O::I64Popcnt => self.unary(ctx, Inst::Popcnt { size: Size::S64 }, I64, I64)?,
            O::I32Eqz => self.eqz(ctx, I32)?,
            O::I64Eqz => self.eqz(ctx, I64)?,
            O::I32Eq => self.cmp(ctx, I32, IntCC::Eq)?,
            O::I32Ne => self.cmp(ctx, I32, IntCC::Ne)?,
            O::I32LtS => self.cmp(ctx, I32, IntCC::LtS)?,
            O::I32LtU => self.cmp(ctx, I32, IntCC::LtU)?,
            O::I32GtS => self.cmp(ctx, I32, IntCC::GtS)?,
            O::I32GtU => self.cmp(ctx, I32, IntCC::GtU)?,
            O::I32LeS => self.cmp(ctx, I32, IntCC::LeS)?,
            O::I32LeU => self.cmp(ctx, I32, IntCC::LeU)?,
            O::I32GeS => self.cmp(ctx, I32, IntCC::GeS)?,
            O::I32GeU => self.cmp(ctx, I32, IntCC::GeU)?,
            O::I64Eq => self.cmp(ctx, I64, IntCC::Eq)?,
            O::I64Ne => self.cmp(ctx, I64, IntCC::Ne)?,
            O::I64LtS => self.cmp(ctx, I64, IntCC::LtS)?,
            O::I64LtU => self.cmp(ctx, I64, IntCC::LtU)?,
            O::I64GtS => self.cmp(ctx, I64, IntCC::GtS)?,
            O::I64GtU => self.cmp(ctx, I64, IntCC::GtU)?,
            O::I64LeS => self.cmp(ctx, I64, IntCC::LeS)?,
            O::I64LeU => self.cmp(ctx, I64, IntCC::LeU)?,
            O::I64GeS => self.cmp(ctx, I64, IntCC::GeS)?,
            O::I64GeU => self.cmp(ctx, I64, IntCC::GeU)?,

            // Extensions and wrapping. An i32 in a register has undefined upper bits, so
            // wrapping is free.
            O::I32WrapI64 => {
                let v = ctx.pop()?;
                match v {
                    Val::Reg(r, _) => ctx.push_reg(r, I32),
                    Val::Const(_, bits) => ctx.push(Val::Const(I32, bits as u32 as u64)),
                    // An i32 already (i64 operands never produce one).
                    Val::Cmp(_) => ctx.push(v),
                }
            }
            O::I64ExtendI32S => self.unary(
                ctx,
                Inst::Extend {
                    kind: LoadKind::S32,
                    size: Size::S64,
                },
                I32,
                I64,
            )?,
            O::I64ExtendI32U => self.unary(
                ctx,
                Inst::Extend {
                    kind: LoadKind::U32,
                    size: Size::S64,
                },
                I32,
                I64,
            )?,
            O::I32Extend8S => self.unary(
                ctx,
                Inst::Extend {
                    kind: LoadKind::S8,
                    size: Size::S32,
                },
                I32,
                I32,
            )?,
            O::I32Extend16S => self.unary(
                ctx,
                Inst::Extend {
                    kind: LoadKind::S16,
                    size: Size::S32,
                },
                I32,
                I32,
            )?,
            O::I64Extend8S => self.unary(
                ctx,
                Inst::Extend {
                    kind: LoadKind::S8,
                    size: Size::S64,
                },
                I64,
                I64,
            )?,
            O::I64Extend16S => self.unary(
                ctx,
                Inst::Extend {
                    kind: LoadKind::S16,
                    size: Size::S64,
                },
                I64,
                I64,
            )?,
            O::I64Extend32S => self.unary(
                ctx,
                Inst::Extend {
                    kind: LoadKind::S32,
                    size: Size::S64,
                },
                I64,
                I64,
            )?,

            // Floating point.
            O::F32Add => self.fbin(ctx, SseOp::Addss, F32)?,
            O::F64Add => self.fbin(ctx, SseOp::Addsd, F64)?,
            O::F32Sub => self.fbin(ctx, SseOp::Subss, F32)?,
            O::F64Sub => self.fbin(ctx, SseOp::Subsd, F64)?,
            O::F32Mul => self.fbin(ctx, SseOp::Mulss, F32)?,
            O::F64Mul => self.fbin(ctx, SseOp::Mulsd, F64)?,
            O::F32Div => self.fbin(ctx, SseOp::Divss, F32)?,
            O::F64Div => self.fbin(ctx, SseOp::Divsd, F64)?,
            O::F32Min => self.fminmax(ctx, F32, false)?,
            O::F64Min => self.fminmax(ctx, F64, false)?,
            O::F32Max => self.fminmax(ctx, F32, true)?,
            O::F64Max => self.fminmax(ctx, F64, true)?,
            O::F32Copysign => self.copysign(ctx, F32)?,
            O::F64Copysign => self.copysign(ctx, F64)?,
            O::F32Abs => self.unary(
                ctx,
                Inst::FUnary {
                    is64: false,
                    op: FUnaryOp::Abs,
                },
                F32,
                F32,
            )?,
            O::F64Abs => self.unary(
                ctx,
                Inst::FUnary {
                    is64: true,
                    op: FUnaryOp::Abs,
                },
                F64,
                F64,
            )?,
            O::F32Neg => self.unary(
                ctx,
                Inst::FUnary {
                    is64: false,
                    op: FUnaryOp::Neg,
                },
                F32,
                F32,
            )?,
            O::F64Neg => self.unary(
                ctx,
                Inst::FUnary {
                    is64: true,
                    op: FUnaryOp::Neg,
                },
                F64,
                F64,
            )?,
            O::F32Sqrt => self.unary(
                ctx,
                Inst::FUnary {
                    is64: false,
                    op: FUnaryOp::Sqrt,
                },
                F32,
                F32,
            )?,
            O::F64Sqrt => self.unary(
                ctx,
                Inst::FUnary {
                    is64: true,
                    op: FUnaryOp::Sqrt,
                },
                F64,
                F64,
            )?,
            O::F32Nearest => self.unary(
                ctx,
                Inst::FUnary {
                    is64: false,
                    op: FUnaryOp::Round(0),
                },
                F32,
                F32,
            )?,
            O::F64Nearest => self.unary(
                ctx,
                Inst::FUnary {
                    is64: true,
                    op: FUnaryOp::Round(0),
                },
                F64,
                F64,
            )?,
            O::F32Floor => self.unary(
                ctx,
                Inst::FUnary {
                    is64: false,
                    op: FUnaryOp::Round(1),
                },
                F32,
                F32,
            )?,
            O::F64Floor => self.unary(
                ctx,
                Inst::FUnary {
                    is64: true,
                    op: FUnaryOp::Round(1),
                },
                F64,
                F64,
            )?,
            O::F32Ceil => self.unary(
                ctx,
                Inst::FUnary {
                    is64: false,
                    op: FUnaryOp::Round(2),
                },
                F32,
                F32,
            )?,
            O::F64Ceil => self.unary(
                ctx,
                Inst::FUnary {
                    is64: true,
                    op: FUnaryOp::Round(2),
                },
                F64,
                F64,
            )?,
            O::F32Trunc => self.unary(
                ctx,
                Inst::FUnary {
                    is64: false,
                    op: FUnaryOp::Round(3),
                },
                F32,
                F32,
            )?,
            O::F64Trunc => self.unary(
                ctx,
                Inst::FUnary {
                    is64: true,
                    op: FUnaryOp::Round(3),
                },
                F64,
                F64,
            )?,
            O::F32Eq => self.fcmp(ctx, false, FCmp::Eq)?,
            O::F32Ne => self.fcmp(ctx, false, FCmp::Ne)?,
            O::F32Lt => self.fcmp(ctx, false, FCmp::Lt)?,
            O::F32Gt => self.fcmp(ctx, false, FCmp::Gt)?,
            O::F32Le => self.fcmp(ctx, false, FCmp::Le)?,
            O::F32Ge => self.fcmp(ctx, false, FCmp::Ge)?,
            O::F64Eq => self.fcmp(ctx, true, FCmp::Eq)?,
            O::F64Ne => self.fcmp(ctx, true, FCmp::Ne)?,
            O::F64Lt => self.fcmp(ctx, true, FCmp::Lt)?,
            O::F64Gt => self.fcmp(ctx, true, FCmp::Gt)?,
            O::F64Le => self.fcmp(ctx, true, FCmp::Le)?,
            O::F64Ge => self.fcmp(ctx, true, FCmp::Ge)?,
            O::F32DemoteF64 => self.unary(
                ctx,
                Inst::FConvert {
                    op: SseOp::Cvtsd2ss,
                },
                F64,
                F32,
            )?,
            O::F64PromoteF32 => self.unary(
                ctx,
                Inst::FConvert {
                    op: SseOp::Cvtss2sd,
                },
                F32,
                F64,
            )?,
            O::F32ConvertI32S => self.int_to_float(ctx, I32, F32, true)?,
            O::F32ConvertI32U => self.int_to_float(ctx, I32, F32, false)?,
            O::F32ConvertI64S => self.int_to_float(ctx, I64, F32, true)?,
            O::F32ConvertI64U => self.int_to_float(ctx, I64, F32, false)?,
            O::F64ConvertI32S => self.int_to_float(ctx, I32, F64, true)?,
            O::F64ConvertI32U => self.int_to_float(ctx, I32, F64, false)?,
            O::F64ConvertI64S => self.int_to_float(ctx, I64, F64, true)?,
            O::F64ConvertI64U => self.int_to_float(ctx, I64, F64, false)?,
            O::I32TruncF32S => self.float_to_int(ctx, false, I32, true, false, off)?,
            O::I32TruncF32U => self.float_to_int(ctx, false, I32, false, false, off)?,
            O::I32TruncF64S => self.float_to_int(ctx, true, I32, true, false, off)?,
            O::I32TruncF64U => self.float_to_int(ctx, true, I32, false, false, off)?,
            O::I64TruncF32S => self.float_to_int(ctx, false, I64, true, false, off)?,
            O::I64TruncF32U => self.float_to_int(ctx, false, I64, false, false, off)?,
            O::I64TruncF64S => self.float_to_int(ctx, true, I64, true, false, off)?,
            O::I64TruncF64U => self.float_to_int(ctx, true, I64, false, false, off)?,
            O::I32TruncSatF32S => self.float_to_int(ctx, false, I32, true, true, off)?,
            O::I32TruncSatF32U => self.float_to_int(ctx, false, I32, false, true, off)?,
            O::I32TruncSatF64S => self.float_to_int(ctx, true, I32, true, true, off)?,
            O::I32TruncSatF64U => self.float_to_int(ctx, true, I32, false, true, off)?,
            O::I64TruncSatF32S => self.float_to_int(ctx, false, I64, true, true, off)?,
            O::I64TruncSatF32U => self.float_to_int(ctx, false, I64, false, true, off)?,
            O::I64TruncSatF64S => self.float_to_int(ctx, true, I64, true, true, off)?,
            O::I64TruncSatF64U => self.float_to_int(ctx, true, I64, false, true, off)?,
            O::I32ReinterpretF32 => self.unary(
                ctx,
                Inst::Bitcast {
                    to_float: false,
                    size: Size::S32,
                },
                F32,
                I32,
            )?,
            O::I64ReinterpretF64 => self.unary(
                ctx,
                Inst::Bitcast {
                    to_float: false,
                    size: Size::S64,
                },
                F64,
                I64,
            )?,
            O::F32ReinterpretI32 => self.unary(
                ctx,
                Inst::Bitcast {
                    to_float: true,
                    size: Size::S32,
                },
                I32,
                F32,
            )?,
            O::F64ReinterpretI64 => self.unary(
                ctx,
                Inst::Bitcast {
                    to_float: true,
                    size: Size::S64,
                },
                I64,
                F64,
            )?,

            // Memory.
            O::I32Load { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::U32, Size::S32),
                I32,
                memarg.offset,
                off,
            )?,
            O::I64Load { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::I64, Size::S64),
                I64,
                memarg.offset,
                off,
            )?,
            O::F32Load { memarg } => self.load(ctx, MemKind::F32, F32, memarg.offset, off)?,
            O::F64Load { memarg } => self.load(ctx, MemKind::F64, F64, memarg.offset, off)?,
            O::I32Load8S { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::S8, Size::S32),
                I32,
                memarg.offset,
                off,
            )?,
            O::I32Load8U { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::U8, Size::S32),
                I32,
                memarg.offset,
                off,
            )?,
            O::I32Load16S { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::S16, Size::S32),
                I32,
                memarg.offset,
                off,
            )?,
            O::I32Load16U { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::U16, Size::S32),
                I32,
                memarg.offset,
                off,
            )?,
            O::I64Load8S { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::S8, Size::S64),
                I64,
                memarg.offset,
                off,
            )?,
            O::I64Load8U { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::U8, Size::S64),
                I64,
                memarg.offset,
                off,
            )?,
            O::I64Load16S { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::S16, Size::S64),
                I64,
                memarg.offset,
                off,
            )?,
            O::I64Load16U { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::U16, Size::S64),
                I64,
                memarg.offset,
                off,
            )?,
            O::I64Load32S { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::S32, Size::S64),
                I64,
                memarg.offset,
                off,
            )?,
            O::I64Load32U { memarg } => self.load(
                ctx,
                MemKind::Int(LoadKind::U32, Size::S64),
                I64,
                memarg.offset,
                off,
            )?,
            O::I32Store { memarg } => self.store(
                ctx,
                MemKind::Int(LoadKind::U32, Size::S32),
                memarg.offset,
                off,
            )?,
            O::I64Store { memarg } => self.store(
                ctx,
                MemKind::Int(LoadKind::I64, Size::S64),
                memarg.offset,
                off,
            )?,
            O::F32Store { memarg } => self.store(ctx, MemKind::F32, memarg.offset, off)?,
            O::F64Store { memarg } => self.store(ctx, MemKind::F64, memarg.offset, off)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(
                ctx,
                MemKind::Int(LoadKind::U8, Size::S32),
                memarg.offset,
                off,
            )?,
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(
                ctx,
                MemKind::Int(LoadKind::U16, Size::S32),
                memarg.offset,
                off,
            )?,
            O::I64Store32 { memarg } => self.store(
                ctx,
                MemKind::Int(LoadKind::U32, Size::S32),
                memarg.offset,
                off,
            )?,
            O::MemorySize { mem } => {
                let m = Self::mem_ref_n(ctx, mem)?;
                let dst = ctx.builder.new_vreg(RegClass::Int);
                let vm = ctx.vmctx;
                ctx.builder
                    .push(Inst::MemorySize { mem: m }, &[u(vm), d(dst)]);
                ctx.push_reg(dst, I32);
            }
            O::MemoryGrow { mem } => {
                let delta = ctx.pop()?;
                let rd = self.reg(ctx, delta);
                let mi = Self::imm_reloc(ctx, RelocKind::MemoryIndex, mem);
                let res = ctx.builder.new_vreg(RegClass::Int);
                self.libcall(ctx, Libcall::MemoryGrow, &[mi, rd], Some(res));
                ctx.push_reg(res, I32);
            }
            O::MemoryCopy { dst_mem, src_mem } => self.bulk(
                ctx,
                Libcall::MemoryCopy,
                &[
                    (RelocKind::MemoryIndex, dst_mem),
                    (RelocKind::MemoryIndex, src_mem),
                ],
                off,
            )?,
            O::MemoryFill { mem } => self.bulk(
                ctx,
                Libcall::MemoryFill,
                &[(RelocKind::MemoryIndex, mem)],
                off,
            )?,
            O::MemoryInit { data_index, mem } => self.bulk(
                ctx,
                Libcall::MemoryInit,
                &[
                    (RelocKind::MemoryIndex, mem),
                    (RelocKind::DataIndex, data_index),
                ],
                off,
            )?,
            O::DataDrop { data_index } => {
                let di = Self::imm_reloc(ctx, RelocKind::DataIndex, data_index);
                self.libcall(ctx, Libcall::DataDrop, &[di], None);
            }

            // Tables.
            O::TableGet { table } => {
                let t = Self::table_ref(ctx, table)?;
                let elem = ctx.stencil.refs.tables[table as usize].elem;
                let i = ctx.pop()?;
                let ri = self.reg(ctx, i);
                let dst = ctx.builder.new_vreg(RegClass::Int);
                let vm = ctx.vmctx;
                ctx.builder.push(
                    Inst::TableGet {
                        table: t,
                        trap: trap(TrapKind::TableOutOfBounds, off),
                    },
                    &[u(vm), u(ri), d(dst)],
                );
                ctx.push_reg(dst, elem);
            }
            O::TableSet { table } => {
                let t = Self::table_ref(ctx, table)?;
                let v = ctx.pop()?;
                let i = ctx.pop()?;
                let ri = self.reg(ctx, i);
                let rv = self.reg(ctx, v);
                let vm = ctx.vmctx;
                ctx.builder.push(
                    Inst::TableSet {
                        table: t,
                        trap: trap(TrapKind::TableOutOfBounds, off),
                    },
                    &[u(vm), u(ri), u(rv)],
                );
            }
            O::TableSize { table } => {
                let t = Self::table_ref(ctx, table)?;
                let dst = ctx.builder.new_vreg(RegClass::Int);
                let vm = ctx.vmctx;
                ctx.builder
                    .push(Inst::TableSize { table: t }, &[u(vm), d(dst)]);
                ctx.push_reg(dst, I32);
            }
            O::TableGrow { table } => {
                let n = ctx.pop()?;
                let init = ctx.pop()?;
                let ti = Self::imm_reloc(ctx, RelocKind::TableIndex, table);
                let (ri, rn) = (self.reg(ctx, init), self.reg(ctx, n));
                let res = ctx.builder.new_vreg(RegClass::Int);
                self.libcall(ctx, Libcall::TableGrow, &[ti, ri, rn], Some(res));
                ctx.push_reg(res, I32);
            }
            O::TableFill { table } => self.bulk(
                ctx,
                Libcall::TableFill,
                &[(RelocKind::TableIndex, table)],
                off,
            )?,
            O::TableCopy {
                dst_table,
                src_table,
            } => self.bulk(
                ctx,
                Libcall::TableCopy,
                &[
                    (RelocKind::TableIndex, dst_table),
                    (RelocKind::TableIndex, src_table),
                ],
                off,
            )?,
            O::TableInit { elem_index, table } => self.bulk(
                ctx,
                Libcall::TableInit,
                &[
                    (RelocKind::TableIndex, table),
                    (RelocKind::ElemIndex, elem_index),
                ],
                off,
            )?,
            O::ElemDrop { elem_index } => {
                let ei = Self::imm_reloc(ctx, RelocKind::ElemIndex, elem_index);
                self.libcall(ctx, Libcall::ElemDrop, &[ei], None);
            }
            ref other => {
                return Err(CompileError::Unsupported {
                    proposal: "unknown".into(),
                    message: format!("operator {other:?} is not supported"),
                    offset: off as u64,
                    function: None,
                })
            }
        }
        Ok(())
    }
}

/// The x86 condition for an integer comparison.
fn cond(cc: IntCC) -> Cond {
    match cc {
        IntCC::Eq => Cond::E,
        IntCC::Ne => Cond::NE,
        IntCC::LtS => Cond::L,
        IntCC::LtU => Cond::B,
        IntCC::GtS => Cond::G,
        IntCC::GtU => Cond::A,
        IntCC::LeS => Cond::LE,
        IntCC::LeU => Cond::BE,
        IntCC::GeS => Cond::GE,
        IntCC::GeU => Cond::AE,
    }
}

/// How a value of type `t` sits in an 8-byte slot.
pub fn slot_kind(t: ValType) -> MemKind {
    match t {
        ValType::I32 => MemKind::Int(LoadKind::U32, Size::S32),
        ValType::F32 => MemKind::F32,
        ValType::F64 => MemKind::F64,
        _ => MemKind::Int(LoadKind::I64, Size::S64),
    }
}

//! x86-64 instruction selection: the [`Lower`] hooks, to [`Inst`]s on virtual registers.
//!
//! Machine decisions only: which operand becomes an immediate, register constraints
//! (shift counts in `cl`, division in `rax`/`rdx`), the calling convention. The wasm
//! semantics behind each hook are the translator's (`translate/ops.rs`).

use super::abi::{self, ArgLoc};
use super::asm::{AluOp, Cond, LoadKind, ShiftOp, Size, SseOp};
use super::inst::*;
use crate::compiled::RelocKind;
use crate::lower::{
    class_of, Callee, CmpRhs, Compare, DivOp, FloatBinOp, FloatCC, IntBinOp, IntCC, Lower,
    LowerCtx, MemKind as WasmMem, ShiftOp as WasmShift, TrapInfo, UnaryOp, Val, VmRef,
};
use crate::vcode::BlockId;
use regalloc2::{Operand, PReg, RegClass, VReg};
use wasmprecomp_artifact::{FuncType, Libcall, TrapKind, ValType};

/// Per-function lowering state.
#[derive(Default)]
pub struct X64Lower;

type C<'a, 's> = &'a mut LowerCtx<'s, Inst>;

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

/// The x64 access for a wasm memory access kind.
fn mem_kind(k: WasmMem) -> MemKind {
    match k {
        WasmMem::F32 => MemKind::F32,
        WasmMem::F64 => MemKind::F64,
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

impl X64Lower {
    fn reg(&mut self, ctx: C, v: Val) -> VReg {
        self.materialize(ctx, v)
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

    fn simple_unary(&mut self, ctx: C, inst: Inst, a: Val, ty_out: ValType) -> VReg {
        let ra = self.reg(ctx, a);
        let dst = ctx.new_reg(ty_out);
        ctx.builder.push(inst, &[u(ra), d(dst)]);
        dst
    }
}

impl Lower for X64Lower {
    type Inst = Inst;

    fn args(&mut self, ctx: C) -> Vec<VReg> {
        let sig = ctx.sig;
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

    fn materialize(&mut self, ctx: C, v: Val) -> VReg {
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

    fn int_bin(&mut self, ctx: C, op: IntBinOp, ty: ValType, a: Val, b: Val) -> VReg {
        let size = size_of(ty);
        let (mut a, mut b) = (a, b);
        if op.commutative() && imm32(b, size).is_none() && imm32(a, size).is_some() {
            std::mem::swap(&mut a, &mut b);
        }
        let dst = ctx.new_reg(ty);
        let ra = self.reg(ctx, a);
        let alu = match op {
            IntBinOp::Mul => {
                if let Some(imm) = imm32(b, size) {
                    ctx.builder
                        .push(Inst::ImulImm { size, imm }, &[u(ra), d(dst)]);
                } else {
                    let rb = self.reg(ctx, b);
                    ctx.builder
                        .push(Inst::Imul { size }, &[u(ra), u(rb), reuse(dst, 0)]);
                }
                return dst;
            }
            IntBinOp::Add => AluOp::Add,
            IntBinOp::Sub => AluOp::Sub,
            IntBinOp::And => AluOp::And,
            IntBinOp::Or => AluOp::Or,
            IntBinOp::Xor => AluOp::Xor,
        };
        if let Some(imm) = imm32(b, size) {
            ctx.builder
                .push(Inst::AluRI { op: alu, size, imm }, &[u(ra), reuse(dst, 0)]);
        } else {
            let rb = self.reg(ctx, b);
            ctx.builder.push(
                Inst::AluRR { op: alu, size },
                &[u(ra), u(rb), reuse(dst, 0)],
            );
        }
        dst
    }

    fn shift(&mut self, ctx: C, op: WasmShift, ty: ValType, a: Val, b: Val) -> VReg {
        let size = size_of(ty);
        let op = match op {
            WasmShift::Shl => ShiftOp::Shl,
            WasmShift::ShrS => ShiftOp::Sar,
            WasmShift::ShrU => ShiftOp::Shr,
            WasmShift::Rotl => ShiftOp::Rol,
            WasmShift::Rotr => ShiftOp::Ror,
        };
        let dst = ctx.new_reg(ty);
        let ra = self.reg(ctx, a);
        if let Val::Const(_, bits) = b {
            let imm = bits as u8;
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
        dst
    }

    fn div_rem(&mut self, ctx: C, op: DivOp, ty: ValType, a: Val, b: Val, trap: TrapInfo) -> VReg {
        let size = size_of(ty);
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
        let (out, other) = match op {
            DivOp::DivS | DivOp::DivU => (abi::RAX, abi::RDX),
            _ => (abi::RDX, abi::RAX),
        };
        let mut clob = regalloc2::PRegSet::empty();
        clob.add(abi::gpr(other));
        ctx.builder.push_clobbers(
            Inst::DivRem {
                kind: op,
                size,
                trap,
            },
            &[
                Operand::reg_fixed_use(ra, abi::gpr(abi::RAX)),
                Operand::reg_use_at_end(rb),
                Operand::reg_fixed_def(dst, abi::gpr(out)),
            ],
            clob,
        );
        dst
    }

    fn compare(&mut self, ctx: C, ty: ValType, cc: IntCC, a: Val, b: Val) -> Compare {
        let size = size_of(ty);
        let is64 = size == Size::S64;
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
        Compare { is64, cc, lhs, rhs }
    }

    fn float_compare(&mut self, ctx: C, ty: ValType, cc: FloatCC, a: Val, b: Val) -> VReg {
        let is64 = ty == ValType::F64;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder
            .push(Inst::FCmpSetcc { is64, op: cc }, &[u(ra), u(rb), d(dst)]);
        dst
    }

    fn float_bin(&mut self, ctx: C, op: FloatBinOp, ty: ValType, a: Val, b: Val) -> VReg {
        let is64 = ty == ValType::F64;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
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
                ctx.builder
                    .push(Inst::FMinMax { is64, max }, &[u(ra), u(rb), reuse(dst, 0)]);
                return dst;
            }
            (FloatBinOp::Copysign, _) => {
                ctx.builder
                    .push(Inst::FCopysign { is64 }, &[u(ra), u(rb), d(dst)]);
                return dst;
            }
        };
        ctx.builder
            .push(Inst::FBin { op: sse }, &[u(ra), u(rb), reuse(dst, 0)]);
        dst
    }

    fn unary(&mut self, ctx: C, op: UnaryOp, a: Val) -> VReg {
        let is64 = |t: ValType| t == ValType::F64 || t == ValType::I64;
        let inst = match op {
            UnaryOp::Clz(t) => Inst::Clz { size: size_of(t) },
            UnaryOp::Ctz(t) => Inst::Ctz { size: size_of(t) },
            UnaryOp::Popcnt(t) => Inst::Popcnt { size: size_of(t) },
            UnaryOp::ExtendI32 { signed } => Inst::Extend {
                kind: if signed { LoadKind::S32 } else { LoadKind::U32 },
                size: Size::S64,
            },
            UnaryOp::SignExtend { ty, bits } => Inst::Extend {
                kind: match bits {
                    8 => LoadKind::S8,
                    16 => LoadKind::S16,
                    _ => LoadKind::S32,
                },
                size: size_of(ty),
            },
            UnaryOp::FAbs(t) => Inst::FUnary {
                is64: is64(t),
                op: FUnaryOp::Abs,
            },
            UnaryOp::FNeg(t) => Inst::FUnary {
                is64: is64(t),
                op: FUnaryOp::Neg,
            },
            UnaryOp::FSqrt(t) => Inst::FUnary {
                is64: is64(t),
                op: FUnaryOp::Sqrt,
            },
            UnaryOp::FNearest(t) => Inst::FUnary {
                is64: is64(t),
                op: FUnaryOp::Round(0),
            },
            UnaryOp::FFloor(t) => Inst::FUnary {
                is64: is64(t),
                op: FUnaryOp::Round(1),
            },
            UnaryOp::FCeil(t) => Inst::FUnary {
                is64: is64(t),
                op: FUnaryOp::Round(2),
            },
            UnaryOp::FTrunc(t) => Inst::FUnary {
                is64: is64(t),
                op: FUnaryOp::Round(3),
            },
            UnaryOp::Demote => Inst::FConvert {
                op: SseOp::Cvtsd2ss,
            },
            UnaryOp::Promote => Inst::FConvert {
                op: SseOp::Cvtss2sd,
            },
            UnaryOp::IntToFloat { src, dst, signed } => Inst::IntToFloat {
                src_size: size_of(src),
                dst64: dst == ValType::F64,
                signed,
            },
            UnaryOp::FloatToInt {
                src,
                dst,
                signed,
                sat,
                trap,
            } => Inst::FloatToInt {
                src64: src == ValType::F64,
                dst_size: size_of(dst),
                signed,
                sat,
                trap,
            },
            UnaryOp::Reinterpret { from } => Inst::Bitcast {
                to_float: !from.is_float(),
                size: size_of(from),
            },
        };
        self.simple_unary(ctx, inst, a, op.result())
    }

    fn select(&mut self, ctx: C, ty: ValType, c: Val, a: Val, b: Val) -> VReg {
        let float = ty.is_float();
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
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
        dst
    }

    fn load(
        &mut self,
        ctx: C,
        kind: WasmMem,
        mem: VmRef,
        addr: Val,
        offset: u64,
        trap: TrapInfo,
    ) -> VReg {
        let ty = match kind {
            WasmMem::Int { ty, .. } => ty,
            WasmMem::F32 => ValType::F32,
            WasmMem::F64 => ValType::F64,
        };
        let ra = self.reg(ctx, addr);
        let dst = ctx.new_reg(ty);
        let vm = ctx.vmctx;
        ctx.builder.push(
            Inst::Load {
                kind: mem_kind(kind),
                offset,
                mem,
                trap,
            },
            &[u(vm), u(ra), d(dst)],
        );
        dst
    }

    fn store(
        &mut self,
        ctx: C,
        kind: WasmMem,
        mem: VmRef,
        addr: Val,
        value: Val,
        offset: u64,
        trap: TrapInfo,
    ) {
        let ra = self.reg(ctx, addr);
        let rv = self.reg(ctx, value);
        let vm = ctx.vmctx;
        ctx.builder.push(
            Inst::Store {
                kind: store_kind(kind),
                offset,
                mem,
                trap,
            },
            &[u(vm), u(ra), u(rv)],
        );
    }

    fn memory_size(&mut self, ctx: C, mem: VmRef) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        let vm = ctx.vmctx;
        ctx.builder.push(Inst::MemorySize { mem }, &[u(vm), d(dst)]);
        dst
    }

    fn global_get(&mut self, ctx: C, global: VmRef, ty: ValType) -> VReg {
        let dst = ctx.new_reg(ty);
        let vm = ctx.vmctx;
        ctx.builder.push(
            Inst::GlobalGet {
                global,
                kind: slot_kind(ty),
            },
            &[u(vm), d(dst)],
        );
        dst
    }

    fn global_set(&mut self, ctx: C, global: VmRef, ty: ValType, value: Val) {
        let rv = self.reg(ctx, value);
        let vm = ctx.vmctx;
        ctx.builder.push(
            Inst::GlobalSet {
                global,
                kind: slot_kind(ty),
            },
            &[u(vm), u(rv)],
        );
    }

    fn table_get(&mut self, ctx: C, table: VmRef, index: Val, trap: TrapInfo) -> VReg {
        let ri = self.reg(ctx, index);
        let dst = ctx.builder.new_vreg(RegClass::Int);
        let vm = ctx.vmctx;
        ctx.builder
            .push(Inst::TableGet { table, trap }, &[u(vm), u(ri), d(dst)]);
        dst
    }

    fn table_set(&mut self, ctx: C, table: VmRef, index: Val, value: Val, trap: TrapInfo) {
        let ri = self.reg(ctx, index);
        let rv = self.reg(ctx, value);
        let vm = ctx.vmctx;
        ctx.builder
            .push(Inst::TableSet { table, trap }, &[u(vm), u(ri), u(rv)]);
    }

    fn table_size(&mut self, ctx: C, table: VmRef) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        let vm = ctx.vmctx;
        ctx.builder
            .push(Inst::TableSize { table }, &[u(vm), d(dst)]);
        dst
    }

    fn ref_func(&mut self, ctx: C, func: u32) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        let vm = ctx.vmctx;
        ctx.builder.push(Inst::RefFunc { func }, &[u(vm), d(dst)]);
        dst
    }

    fn vm_load(&mut self, ctx: C, kind: RelocKind, index: u32, addend: i32) -> VReg {
        let vm = ctx.vmctx;
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(
            Inst::VmLoad {
                kind,
                index,
                addend,
            },
            &[u(vm), d(dst)],
        );
        dst
    }

    fn load_ptr(&mut self, ctx: C, base: VReg, offset: i32) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder
            .push(Inst::LoadPtr { off: offset }, &[u(base), d(dst)]);
        dst
    }

    fn reloc_imm(&mut self, ctx: C, kind: RelocKind, index: u32) -> VReg {
        let r = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::ImmReloc { kind, index }, &[d(r)]);
        r
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
        let vm = ctx.vmctx;
        let fr = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(
            Inst::CallIndirectCheck { table, ty, trap },
            &[u(vm), u(ri), d(fr)],
        );
        fr
    }

    fn call(&mut self, ctx: C, sig: &FuncType, callee: Callee, args: &[Val]) -> Vec<VReg> {
        let (code, callee_vmctx, direct) = match callee {
            Callee::Direct { func } => (None, ctx.vmctx, Some(func)),
            Callee::Indirect { code, vmctx } => (Some(code), vmctx, None),
        };
        let (locs, nstack) = abi::param_locs(&sig.params);
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
        if sig.results.len() > 1 {
            let p = ctx.builder.new_vreg(RegClass::Int);
            ctx.builder
                .push(Inst::LeaOutgoing { off: area_off }, &[d(p)]);
            regs.push((p, abi::gpr(abi::RAX)));
            outgoing += 8 * sig.results.len() as u32;
        }
        ctx.builder.reserve_outgoing(outgoing);
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
        let mut results = Vec::with_capacity(sig.results.len());
        if sig.results.len() == 1 {
            let t = sig.results[0];
            let r = ctx.new_reg(t);
            let p = abi::result_reg(t);
            ops.push(Operand::reg_fixed_def(r, p));
            clob.remove(p);
            results.push(r);
        }
        let inst = match direct {
            Some(func) => Inst::CallDirect { func },
            None => Inst::CallReg,
        };
        ctx.builder.push_clobbers(inst, &ops, clob);
        if sig.results.len() > 1 {
            for (i, t) in sig.results.iter().enumerate() {
                let r = ctx.new_reg(*t);
                ctx.builder.push(
                    Inst::LoadOutgoing {
                        off: area_off + 8 * i as u32,
                        float: t.is_float(),
                    },
                    &[d(r)],
                );
                results.push(r);
            }
        }
        results
    }

    fn libcall(&mut self, ctx: C, lc: Libcall, args: &[VReg], result: bool) -> Option<VReg> {
        let res = result.then(|| ctx.builder.new_vreg(RegClass::Int));
        let mut ops = vec![Operand::reg_fixed_use(ctx.vmctx, abi::gpr(abi::RDI))];
        let regs = [abi::RSI, abi::RDX, abi::RCX, abi::R8, abi::R9];
        let args = self.dedup_args(ctx, args);
        for (a, r) in args.iter().zip(regs) {
            ops.push(Operand::reg_fixed_use(*a, abi::gpr(r)));
        }
        let mut clob = abi::call_clobbers();
        if let Some(res) = res {
            ops.push(Operand::reg_fixed_def(res, abi::gpr(abi::RAX)));
            clob.remove(abi::gpr(abi::RAX));
        }
        ctx.builder
            .push_clobbers(Inst::CallLibcall { index: lc as u32 }, &ops, clob);
        res
    }

    fn trap_if_nonzero(&mut self, ctx: C, v: VReg, trap: TrapInfo) {
        ctx.builder.push(
            Inst::TrapIf {
                size: Size::S32,
                nonzero: true,
                trap,
            },
            &[u(v)],
        );
    }

    fn jump(&mut self, ctx: C, target: BlockId, args: Vec<VReg>) {
        ctx.builder.terminate(Inst::Jump, &[], &[(target, args)]);
    }

    fn brif(&mut self, ctx: C, cond: Val, taken: BlockId, not_taken: BlockId) {
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

    fn br_table(&mut self, ctx: C, index: Val, targets: &[BlockId], table: Vec<u32>, default: u32) {
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

    fn ret(&mut self, ctx: C, results: Vec<Val>) {
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

    fn trap(&mut self, ctx: C, kind: TrapKind, offset: u32) {
        ctx.builder.terminate(
            Inst::Trap {
                trap: TrapInfo { kind, offset },
            },
            &[],
            &[],
        );
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

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
use crate::vcode::Reg;
use regalloc2::{PReg, RegClass, VReg};
use wasmprecomp_artifact::{FuncType, Libcall, TrapKind, ValType};

/// Per-function lowering state.
#[derive(Default)]
pub struct X64Lower;

type C<'a, 's> = &'a mut LowerCtx<'s, Inst>;

fn r(v: VReg) -> Reg {
    Reg::new(v)
}

fn fixed(regs: Vec<(VReg, PReg)>) -> FixedRegs {
    regs.into_iter().map(|(v, p)| (Reg::new(v), p)).collect()
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

impl Lower for X64Lower {
    type Inst = Inst;

    fn args(&mut self, ctx: C) -> Vec<VReg> {
        let sig = ctx.sig;
        let (locs, _) = abi::param_locs(&sig.params);
        let mut defs = vec![(ctx.vmctx, abi::gpr(abi::RDI))];
        let mut params = Vec::with_capacity(sig.params.len());
        let mut stack_loads = Vec::new();
        for (t, loc) in sig.params.iter().zip(&locs) {
            let v = ctx.builder.new_vreg(class_of(*t));
            params.push(v);
            match loc {
                ArgLoc::Reg(p) => defs.push((v, *p)),
                ArgLoc::Stack(k) => stack_loads.push((v, *k, t.is_float())),
            }
        }
        if sig.results.len() > 1 {
            let ra = ctx.builder.new_vreg(RegClass::Int);
            defs.push((ra, abi::gpr(abi::RAX)));
            ctx.ret_area = Some(ra);
        }
        ctx.builder.push(Inst::Args { defs: fixed(defs) });
        for (v, index, float) in stack_loads {
            ctx.builder.push(Inst::LoadStackArg {
                dst: r(v),
                index,
                float,
            });
        }
        params
    }

    fn materialize(&mut self, ctx: C, v: Val) -> VReg {
        match v {
            Val::Reg(v, _) => v,
            Val::Cmp(c) => {
                let dst = ctx.builder.new_vreg(RegClass::Int);
                let size = if c.is64 { Size::S64 } else { Size::S32 };
                let cc = cond(c.cc);
                ctx.builder.push(match c.rhs {
                    CmpRhs::Imm(imm) => Inst::CmpImmSetcc {
                        lhs: r(c.lhs),
                        dst: r(dst),
                        size,
                        cc,
                        imm,
                    },
                    CmpRhs::Reg(rhs) => Inst::CmpSetcc {
                        lhs: r(c.lhs),
                        rhs: r(rhs),
                        dst: r(dst),
                        size,
                        cc,
                    },
                });
                dst
            }
            Val::Const(t, bits) => {
                let v = ctx.builder.new_vreg(class_of(t));
                let dst = r(v);
                ctx.builder.push(match t {
                    ValType::F32 => Inst::FImm {
                        dst,
                        is64: false,
                        bits,
                    },
                    ValType::F64 => Inst::FImm {
                        dst,
                        is64: true,
                        bits,
                    },
                    ValType::I32 => Inst::Imm {
                        dst,
                        size: Size::S32,
                        bits: bits as u32 as u64,
                    },
                    _ => Inst::Imm {
                        dst,
                        size: Size::S64,
                        bits,
                    },
                });
                v
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
                    ctx.builder.push(Inst::ImulImm {
                        src: r(ra),
                        dst: r(dst),
                        size,
                        imm,
                    });
                } else {
                    let rb = self.reg(ctx, b);
                    ctx.builder.push(Inst::Imul {
                        lhs: r(ra),
                        rhs: r(rb),
                        dst: r(dst),
                        size,
                    });
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
            ctx.builder.push(Inst::AluRI {
                src: r(ra),
                dst: r(dst),
                op: alu,
                size,
                imm,
            });
        } else {
            let rb = self.reg(ctx, b);
            ctx.builder.push(Inst::AluRR {
                lhs: r(ra),
                rhs: r(rb),
                dst: r(dst),
                op: alu,
                size,
            });
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
            ctx.builder.push(Inst::ShiftRI {
                src: r(ra),
                dst: r(dst),
                op,
                size,
                imm: bits as u8,
            });
        } else {
            let rb = self.reg(ctx, b);
            ctx.builder.push(Inst::ShiftRR {
                src: r(ra),
                count: r(rb),
                dst: r(dst),
                op,
                size,
            });
        }
        dst
    }

    fn div_rem(&mut self, ctx: C, op: DivOp, ty: ValType, a: Val, b: Val, trap: TrapInfo) -> VReg {
        let size = size_of(ty);
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
        // The quotient is in rax and the remainder in rdx: the other one is clobbered.
        let other = match op {
            DivOp::DivS | DivOp::DivU => abi::RDX,
            DivOp::RemS | DivOp::RemU => abi::RAX,
        };
        let mut clob = regalloc2::PRegSet::empty();
        clob.add(abi::gpr(other));
        ctx.builder.push_clobbers(
            Inst::DivRem {
                lhs: r(ra),
                rhs: r(rb),
                dst: r(dst),
                kind: op,
                size,
                trap,
            },
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
        ctx.builder.push(Inst::FCmpSetcc {
            a: r(ra),
            b: r(rb),
            dst: r(dst),
            is64,
            op: cc,
        });
        dst
    }

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

    fn unary(&mut self, ctx: C, op: UnaryOp, a: Val) -> VReg {
        let ra = self.reg(ctx, a);
        let dst = ctx.new_reg(op.result());
        let (src, d) = (r(ra), r(dst));
        let float_unary = |t: ValType, op: FUnaryOp| Inst::FUnary {
            src,
            dst: d,
            is64: t == ValType::F64,
            op,
        };
        let inst = match op {
            UnaryOp::Clz(t) => Inst::Clz {
                src,
                dst: d,
                size: size_of(t),
            },
            UnaryOp::Ctz(t) => Inst::Ctz {
                src,
                dst: d,
                size: size_of(t),
            },
            UnaryOp::Popcnt(t) => Inst::Popcnt {
                src,
                dst: d,
                size: size_of(t),
            },
            UnaryOp::ExtendI32 { signed } => Inst::Extend {
                src,
                dst: d,
                kind: if signed { LoadKind::S32 } else { LoadKind::U32 },
                size: Size::S64,
            },
            UnaryOp::SignExtend { ty, bits } => Inst::Extend {
                src,
                dst: d,
                kind: match bits {
                    8 => LoadKind::S8,
                    16 => LoadKind::S16,
                    _ => LoadKind::S32,
                },
                size: size_of(ty),
            },
            UnaryOp::FAbs(t) => float_unary(t, FUnaryOp::Abs),
            UnaryOp::FNeg(t) => float_unary(t, FUnaryOp::Neg),
            UnaryOp::FSqrt(t) => float_unary(t, FUnaryOp::Sqrt),
            UnaryOp::FNearest(t) => float_unary(t, FUnaryOp::Round(0)),
            UnaryOp::FFloor(t) => float_unary(t, FUnaryOp::Round(1)),
            UnaryOp::FCeil(t) => float_unary(t, FUnaryOp::Round(2)),
            UnaryOp::FTrunc(t) => float_unary(t, FUnaryOp::Round(3)),
            UnaryOp::Demote => Inst::FConvert {
                src,
                dst: d,
                op: SseOp::Cvtsd2ss,
            },
            UnaryOp::Promote => Inst::FConvert {
                src,
                dst: d,
                op: SseOp::Cvtss2sd,
            },
            UnaryOp::IntToFloat {
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
            UnaryOp::FloatToInt {
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
            UnaryOp::Reinterpret { from } => Inst::Bitcast {
                src,
                dst: d,
                to_float: !from.is_float(),
                size: size_of(from),
            },
        };
        ctx.builder.push(inst);
        dst
    }

    fn select(&mut self, ctx: C, ty: ValType, c: Val, a: Val, b: Val) -> VReg {
        let float = ty.is_float();
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
        match c {
            // Select straight on the comparison's flags.
            Val::Cmp(cmp) => {
                let rhs = match cmp.rhs {
                    CmpRhs::Imm(imm) => RegOrImm::Imm(imm),
                    CmpRhs::Reg(v) => RegOrImm::Reg(r(v)),
                };
                ctx.builder.push(Inst::CmpSelect {
                    lhs: r(cmp.lhs),
                    rhs,
                    a: r(ra),
                    b: r(rb),
                    dst: r(dst),
                    float,
                    size: if cmp.is64 { Size::S64 } else { Size::S32 },
                    cc: cond(cmp.cc),
                });
            }
            _ => {
                let rc = self.reg(ctx, c);
                ctx.builder.push(Inst::Select {
                    cond: r(rc),
                    a: r(ra),
                    b: r(rb),
                    dst: r(dst),
                    float,
                });
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
        ctx.builder.push(Inst::Load {
            vmctx: r(ctx.vmctx),
            addr: r(ra),
            dst: r(dst),
            kind: mem_kind(kind),
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
        addr: Val,
        value: Val,
        offset: u64,
        trap: TrapInfo,
    ) {
        let ra = self.reg(ctx, addr);
        let rv = self.reg(ctx, value);
        ctx.builder.push(Inst::Store {
            vmctx: r(ctx.vmctx),
            addr: r(ra),
            value: r(rv),
            kind: store_kind(kind),
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
            kind: slot_kind(ty),
        });
        dst
    }

    fn global_set(&mut self, ctx: C, global: VmRef, ty: ValType, value: Val) {
        let rv = self.reg(ctx, value);
        ctx.builder.push(Inst::GlobalSet {
            vmctx: r(ctx.vmctx),
            value: r(rv),
            global,
            kind: slot_kind(ty),
        });
    }

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

    fn reloc_imm(&mut self, ctx: C, kind: RelocKind, index: u32) -> VReg {
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::ImmReloc {
            dst: r(dst),
            kind,
            index,
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
        let mut regs: Vec<(VReg, PReg)> = vec![(callee_vmctx, abi::gpr(abi::RDI))];
        for (a, loc) in args.iter().zip(&locs) {
            let v = self.reg(ctx, *a);
            match loc {
                ArgLoc::Reg(p) => regs.push((v, *p)),
                ArgLoc::Stack(k) => ctx.builder.push(Inst::StoreOutgoing {
                    src: r(v),
                    off: k * 8,
                    float: a.ty().is_float(),
                }),
            }
        }
        let area_off = nstack * 8;
        let mut outgoing = area_off;
        if sig.results.len() > 1 {
            let p = ctx.builder.new_vreg(RegClass::Int);
            ctx.builder.push(Inst::LeaOutgoing {
                dst: r(p),
                off: area_off,
            });
            regs.push((p, abi::gpr(abi::RAX)));
            outgoing += 8 * sig.results.len() as u32;
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
            for (i, t) in sig.results.iter().enumerate() {
                let v = ctx.new_reg(*t);
                ctx.builder.push(Inst::LoadOutgoing {
                    dst: r(v),
                    off: area_off + 8 * i as u32,
                    float: t.is_float(),
                });
                results.push(v);
            }
        }
        results
    }

    fn libcall(&mut self, ctx: C, lc: Libcall, args: &[VReg], result: bool) -> Option<VReg> {
        let res = result.then(|| ctx.builder.new_vreg(RegClass::Int));
        let mut uses = vec![(ctx.vmctx, abi::gpr(abi::RDI))];
        let regs = [abi::RSI, abi::RDX, abi::RCX, abi::R8, abi::R9];
        let args = self.dedup_args(ctx, args);
        for (a, p) in args.iter().zip(regs) {
            uses.push((*a, abi::gpr(p)));
        }
        let mut clob = abi::call_clobbers();
        let mut defs = Vec::new();
        if let Some(res) = res {
            defs.push((res, abi::gpr(abi::RAX)));
            clob.remove(abi::gpr(abi::RAX));
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

    fn jump(&mut self, ctx: C, target: BlockId, args: Vec<VReg>) {
        ctx.builder.terminate(Inst::Jump, &[(target, args)]);
    }

    fn brif(&mut self, ctx: C, cond: Val, taken: BlockId, not_taken: BlockId) {
        let succs = [(taken, vec![]), (not_taken, vec![])];
        if let Val::Cmp(c) = cond {
            let rhs = match c.rhs {
                CmpRhs::Imm(imm) => RegOrImm::Imm(imm),
                CmpRhs::Reg(v) => RegOrImm::Reg(r(v)),
            };
            ctx.builder.terminate(
                Inst::CmpBrif {
                    lhs: r(c.lhs),
                    rhs,
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
            for (i, val) in results.iter().enumerate() {
                let v = self.materialize(ctx, *val);
                ctx.builder.push(Inst::StorePtr {
                    base: r(area),
                    value: r(v),
                    off: 8 * i as i32,
                    float: val.ty().is_float(),
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

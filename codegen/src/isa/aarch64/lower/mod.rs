//! aarch64 instruction selection: the [`crate::lower::Lower`] hooks, to [`Inst`]s on
//! virtual registers.
//!
//! Machine decisions only: which constants become immediates (A64's 12-bit arithmetic
//! and bitmask logical immediates), the calling convention. The wasm semantics behind each
//! hook are the translator's (`translate/ops.rs`).

mod call;
mod int;
mod memory;
mod simd;

use super::abi::{self, ArgLoc};
use super::asm::{add_imm_fits, logical_imm, AluOp, Cond, FBinOp, FSize, FUnOp, MemOp, Size};
use super::inst::*;
use crate::lower::{
    class_of, CmpRhs, ConvertOp, FloatBinOp, FloatCC, FloatUnaryOp, IntCC, LowerBase, LowerConvert,
    LowerCtx, LowerFloat, Val,
};
use crate::stencil::ConstClass;
use crate::vcode::Reg;
use regalloc2::{PReg, RegClass, VReg};
use wasmprecomp_artifact::ValType;

/// The aarch64 instruction selector; it keeps no state between hooks (the VCode does),
/// only the flags that decide instructions.
#[derive(Default)]
pub struct A64Lower {
    /// Guard-page bounds checks: accesses within the guard take no VM context operand.
    pub guard: bool,
}

type C<'a, 's> = &'a mut LowerCtx<'s, Inst>;

fn r(v: VReg) -> Reg {
    Reg::new(v)
}

/// A lazy comparison's right-hand side as an instruction operand.
fn reg_or_imm(rhs: CmpRhs) -> RegOrImm {
    match rhs {
        CmpRhs::Imm(imm) => RegOrImm::Imm(imm),
        CmpRhs::Reg(v) => RegOrImm::Reg(r(v)),
        CmpRhs::Slot(..) => unreachable!("aarch64 comparisons take no constant slot operand"),
    }
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

fn fsize_of(t: ValType) -> FSize {
    match t {
        ValType::F32 => FSize::S,
        _ => FSize::D,
    }
}

/// A constant operand's value at `size`, sign-extended from 32 bits for `S32`.
fn const_of(v: Val, size: Size) -> Option<i64> {
    match v {
        Val::Const(_, bits) => Some(match size {
            Size::S64 => bits as i64,
            Size::S32 => bits as u32 as i32 as i64,
        }),
        Val::Reg(..) | Val::Slot(..) | Val::Cmp(_) => None,
    }
}

/// Whether `cmp` (or `cmn` for a negative value) holds `imm` as an immediate.
fn cmp_imm_fits(imm: i64) -> bool {
    add_imm_fits(imm.unsigned_abs()) && imm != i64::MIN
}

/// The integer condition for a comparison.
fn cond(cc: IntCC) -> Cond {
    match cc {
        IntCC::Eq => Cond::Eq,
        IntCC::Ne => Cond::Ne,
        IntCC::LtS => Cond::Lt,
        IntCC::LtU => Cond::Lo,
        IntCC::GtS => Cond::Gt,
        IntCC::GtU => Cond::Hi,
        IntCC::LeS => Cond::Le,
        IntCC::LeU => Cond::Ls,
        IntCC::GeS => Cond::Ge,
        IntCC::GeU => Cond::Hs,
    }
}

/// How a value of type `t` sits in a global's slot.
pub fn slot_op(t: ValType, store: bool) -> MemOp {
    match (t, store) {
        (ValType::I32, false) => MemOp::Ldr32,
        (ValType::I32, true) => MemOp::Str32,
        (ValType::F32, false) => MemOp::LdrS,
        (ValType::F32, true) => MemOp::StrS,
        (ValType::F64, false) => MemOp::LdrD,
        (ValType::F64, true) => MemOp::StrD,
        (ValType::V128, false) => MemOp::LdrQ,
        (ValType::V128, true) => MemOp::StrQ,
        (_, false) => MemOp::Ldr64,
        (_, true) => MemOp::Str64,
    }
}

/// How a value of type `t` moves to and from a stack-argument or results-area slot: 8
/// bytes whatever the type, 16 for a `v128`.
pub fn area_op(t: ValType, store: bool) -> MemOp {
    match (t, store) {
        (ValType::V128, false) => MemOp::LdrQ,
        (ValType::V128, true) => MemOp::StrQ,
        (t, false) if t.is_float() => MemOp::LdrD,
        (t, true) if t.is_float() => MemOp::StrD,
        (_, false) => MemOp::Ldr64,
        (_, true) => MemOp::Str64,
    }
}

impl A64Lower {
    fn reg(&mut self, ctx: C, v: Val) -> VReg {
        self.materialize(ctx, v)
    }

    /// The right-hand side of a comparison of `size`: an immediate when `cmp`/`cmn`
    /// holds it.
    fn cmp_rhs(&mut self, ctx: C, v: Val, size: Size) -> CmpRhs {
        match const_of(v, size) {
            Some(c) if cmp_imm_fits(c) => CmpRhs::Imm(c as i32),
            _ => CmpRhs::Reg(self.reg(ctx, v)),
        }
    }
}

impl LowerBase for A64Lower {
    type Inst = Inst;

    fn args(&mut self, ctx: C) -> Vec<VReg> {
        let sig = ctx.sig;
        let (locs, _) = abi::param_locs(&sig.params);
        let mut defs = vec![(ctx.vmctx, abi::gpr(abi::VMCTX))];
        let mut params = Vec::with_capacity(sig.params.len());
        let mut stack_loads = Vec::new();
        for (t, loc) in sig.params.iter().zip(&locs) {
            let v = ctx.builder.new_vreg(class_of(*t));
            params.push(v);
            match loc {
                ArgLoc::Reg(p) => defs.push((v, *p)),
                ArgLoc::Stack(k) => stack_loads.push((v, *k, area_op(*t, false))),
            }
        }
        if sig.results.len() > 1 {
            let ra = ctx.builder.new_vreg(RegClass::Int);
            defs.push((ra, abi::gpr(abi::RESULTS_AREA)));
            ctx.ret_area = Some(ra);
        }
        ctx.builder.push(Inst::Args { defs: fixed(defs) });
        for (v, index, op) in stack_loads {
            ctx.builder.push(Inst::LoadStackArg {
                dst: r(v),
                index,
                op,
            });
        }
        params
    }

    fn const_slot(&mut self, ctx: C, ty: ValType, slot: u32, class: ConstClass) -> VReg {
        let dst = ctx.new_reg(ty);
        ctx.builder.push(Inst::ImmReloc {
            dst: r(dst),
            kind: crate::compiled::RelocKind::Const,
            index: slot,
            sign_extend: class == ConstClass::I64Signed32,
        });
        dst
    }

    fn materialize(&mut self, ctx: C, v: Val) -> VReg {
        match v {
            Val::Reg(v, _) => v,
            Val::Slot(t, slot, class) => self.const_slot(ctx, t, slot, class),
            Val::Cmp(c) => {
                let dst = ctx.builder.new_vreg(RegClass::Int);
                ctx.builder.push(Inst::CmpSet {
                    lhs: r(c.lhs),
                    rhs: reg_or_imm(c.rhs),
                    dst: r(dst),
                    size: if c.is64 { Size::S64 } else { Size::S32 },
                    cc: cond(c.cc),
                });
                dst
            }
            Val::Const(t, bits) => {
                let v = ctx.builder.new_vreg(class_of(t));
                let dst = r(v);
                ctx.builder.push(match t {
                    // The translator's only `v128` constant is a zeroed local.
                    ValType::V128 => {
                        assert!(bits == 0, "v128 constants are compiled by LowerSimd");
                        Inst::FImm {
                            dst,
                            size: FSize::D,
                            bits: 0,
                        }
                    }
                    ValType::F32 => Inst::FImm {
                        dst,
                        size: FSize::S,
                        bits,
                    },
                    ValType::F64 => Inst::FImm {
                        dst,
                        size: FSize::D,
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

    fn select(&mut self, ctx: C, ty: ValType, c: Val, a: Val, b: Val) -> VReg {
        let float = ty.in_vector_regs();
        let vector = ty == ValType::V128;
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
        match c {
            Val::Cmp(cmp) => ctx.builder.push(Inst::CmpSelect {
                lhs: r(cmp.lhs),
                rhs: reg_or_imm(cmp.rhs),
                a: r(ra),
                b: r(rb),
                dst: r(dst),
                float,
                vector,
                size: if cmp.is64 { Size::S64 } else { Size::S32 },
                cc: cond(cmp.cc),
            }),
            _ => {
                let rc = self.reg(ctx, c);
                ctx.builder.push(Inst::Select {
                    cond: r(rc),
                    a: r(ra),
                    b: r(rb),
                    dst: r(dst),
                    float,
                    vector,
                });
            }
        }
        dst
    }
}

impl LowerFloat for A64Lower {
    fn float_bin(&mut self, ctx: C, op: FloatBinOp, ty: ValType, a: Val, b: Val) -> VReg {
        let size = fsize_of(ty);
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
        let (a, b, d) = (r(ra), r(rb), r(dst));
        // A64's fmin/fmax have WebAssembly's semantics: NaN propagates, -0 < +0.
        let op = match op {
            FloatBinOp::Add => FBinOp::Add,
            FloatBinOp::Sub => FBinOp::Sub,
            FloatBinOp::Mul => FBinOp::Mul,
            FloatBinOp::Div => FBinOp::Div,
            FloatBinOp::Min => FBinOp::Min,
            FloatBinOp::Max => FBinOp::Max,
            FloatBinOp::Copysign => {
                ctx.builder.push(Inst::FCopysign { a, b, dst: d, size });
                return dst;
            }
        };
        ctx.builder.push(Inst::FBin {
            a,
            b,
            dst: d,
            op,
            size,
        });
        dst
    }

    fn float_compare(&mut self, ctx: C, ty: ValType, cc: FloatCC, a: Val, b: Val) -> VReg {
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.builder.new_vreg(RegClass::Int);
        ctx.builder.push(Inst::FCmpSet {
            a: r(ra),
            b: r(rb),
            dst: r(dst),
            size: fsize_of(ty),
            op: cc,
        });
        dst
    }

    fn float_unary(&mut self, ctx: C, op: FloatUnaryOp, ty: ValType, a: Val) -> VReg {
        let ra = self.reg(ctx, a);
        let dst = ctx.new_reg(ty);
        let op = match op {
            FloatUnaryOp::Abs => FUnOp::Abs,
            FloatUnaryOp::Neg => FUnOp::Neg,
            FloatUnaryOp::Sqrt => FUnOp::Sqrt,
            FloatUnaryOp::Nearest => FUnOp::RintN,
            FloatUnaryOp::Floor => FUnOp::RintM,
            FloatUnaryOp::Ceil => FUnOp::RintP,
            FloatUnaryOp::Trunc => FUnOp::RintZ,
        };
        ctx.builder.push(Inst::FUnary {
            src: r(ra),
            dst: r(dst),
            op,
            size: fsize_of(ty),
        });
        dst
    }
}

impl LowerConvert for A64Lower {
    fn convert(&mut self, ctx: C, op: ConvertOp, a: Val) -> VReg {
        let ra = self.reg(ctx, a);
        let dst = ctx.new_reg(op.result());
        let (src, d) = (r(ra), r(dst));
        ctx.builder.push(match op {
            ConvertOp::ExtendI32 { signed } => Inst::Extend {
                src,
                dst: d,
                from: if signed { 32 } else { 0 },
                size: Size::S64,
            },
            ConvertOp::Demote => Inst::FConvert {
                src,
                dst: d,
                from: FSize::D,
            },
            ConvertOp::Promote => Inst::FConvert {
                src,
                dst: d,
                from: FSize::S,
            },
            ConvertOp::IntToFloat {
                src: from,
                dst: to,
                signed,
            } => Inst::IntToFloat {
                src,
                dst: d,
                src_size: size_of(from),
                dst_size: fsize_of(to),
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
                src_size: fsize_of(from),
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

/// The immediate operand of `op` at `size` for constant `c`, if the instruction holds
/// it; `Add`/`Sub` with a negative constant become the other operation.
fn alu_imm(op: AluOp, size: Size, c: i64) -> Option<(AluOp, u64)> {
    let bits = match size {
        Size::S32 => c as u32 as u64,
        Size::S64 => c as u64,
    };
    match op {
        AluOp::Add | AluOp::Sub => {
            if add_imm_fits(bits) {
                Some((op, bits))
            } else if c < 0 && c != i64::MIN && add_imm_fits(c.unsigned_abs()) {
                let other = if op == AluOp::Add {
                    AluOp::Sub
                } else {
                    AluOp::Add
                };
                Some((other, c.unsigned_abs()))
            } else {
                None
            }
        }
        _ => logical_imm(bits, size).map(|_| (op, bits)),
    }
}

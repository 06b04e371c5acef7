//! x86-64 instruction selection: the [`crate::lower::Lower`] hooks, to [`Inst`]s on virtual registers.
//!
//! Machine decisions only: which operand becomes an immediate, register constraints
//! (shift counts in `cl`, division in `rax`/`rdx`), the calling convention. The wasm
//! semantics behind each hook are the translator's (`translate/ops.rs`).

mod call;
mod control;
mod convert;
mod float;
mod int;
mod memory;
mod simd;
mod table;

use super::abi::{self, ArgLoc};
use super::asm::{AluOp, Cond, LoadKind, ShiftOp, Size, SseOp};
use super::inst::*;
use crate::compiled::RelocKind;
use crate::isa::needs_bounds_check;
use crate::lower::{
    class_of, Callee, CmpRhs, Compare, ConvertOp, DivOp, FloatBinOp, FloatCC, FloatUnaryOp,
    IntBinOp, IntCC, IntUnaryOp, LowerBase, LowerCall, LowerControl, LowerConvert, LowerCtx,
    LowerFloat, LowerInt, LowerMemory, LowerTable, MemKind as WasmMem, ShiftOp as WasmShift,
    TrapInfo, Val, VmRef,
};
use crate::stencil::ConstClass;
use crate::vcode::BlockId;
use crate::vcode::Reg;
use regalloc2::{PReg, RegClass, VReg};
use wasmprecomp_artifact::{FuncType, Libcall, TrapKind, ValType};

/// The x86-64 instruction selector; it keeps no state between hooks (the VCode does),
/// only the flags that decide instructions.
#[derive(Default)]
pub struct X64Lower {
    /// Guard-page bounds checks: accesses within the guard take no VM context operand.
    pub guard: bool,
    /// The instructions it may use beyond the baseline.
    pub features: super::Features,
    /// Addresses not known to be zero-extended that the current block accessed memory
    /// with: once (`None`), or again, with their zero extension (see `address`).
    pub addresses: Vec<(VReg, u8, Option<VReg>)>,
    /// The block `addresses` belongs to.
    pub addresses_block: Option<BlockId>,
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
        CmpRhs::Slot(slot, _) => RegOrImm::Slot(slot),
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
        Val::Reg(..) | Val::Slot(..) | Val::Cmp(_) => None,
    }
}

/// The slot and class of a constant slot operand that can be the relocated immediate
/// field of an instruction of `size` whose 32-bit immediate is sign-extended to 64 bits:
/// every value of its class fits (an `i32` any pattern; an `i64` only when it is the sign
/// extension of its lower half).
fn slot_imm32(v: Val, size: Size) -> Option<(u32, ConstClass)> {
    match v {
        Val::Slot(_, slot, class) => {
            (size == Size::S32 || class == ConstClass::I64Signed32).then_some((slot, class))
        }
        _ => None,
    }
}

impl X64Lower {
    fn reg(&mut self, ctx: C, v: Val) -> VReg {
        self.materialize(ctx, v)
    }
}

impl LowerBase for X64Lower {
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
                ArgLoc::Stack(k) => stack_loads.push((v, *k, area_kind(*t))),
            }
        }
        if sig.results.len() > 1 {
            let ra = ctx.builder.new_vreg(RegClass::Int);
            defs.push((ra, abi::gpr(abi::RESULTS_AREA)));
            ctx.ret_area = Some(ra);
        }
        ctx.builder.push(Inst::Args { defs: fixed(defs) });
        for (v, index, kind) in stack_loads {
            ctx.builder.push(Inst::LoadStackArg {
                dst: r(v),
                index,
                kind,
            });
        }
        params
    }

    /// `mov r32, imm32` (zero-extending) for `I32` and `I64Unsigned32`, `mov r64, simm32`
    /// for `I64Signed32`: one encoding per class, whatever the value.
    fn const_slot(&mut self, ctx: C, ty: ValType, slot: u32, class: ConstClass) -> VReg {
        let dst = ctx.new_reg(ty);
        ctx.builder.push(Inst::ImmReloc {
            dst: r(dst),
            kind: RelocKind::Const,
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
                let size = if c.is64 { Size::S64 } else { Size::S32 };
                let cc = cond(c.cc);
                let setcc = |rhs: VReg| Inst::CmpSetcc {
                    lhs: r(c.lhs),
                    rhs: r(rhs),
                    dst: r(dst),
                    size,
                    cc,
                };
                let inst = match c.rhs {
                    CmpRhs::Imm(imm) => Inst::CmpImmSetcc {
                        lhs: r(c.lhs),
                        dst: r(dst),
                        size,
                        cc,
                        imm,
                    },
                    CmpRhs::Reg(rhs) => setcc(rhs),
                    CmpRhs::Slot(slot, class) => {
                        let ty = if c.is64 { ValType::I64 } else { ValType::I32 };
                        setcc(self.const_slot(ctx, ty, slot, class))
                    }
                };
                ctx.builder.push(inst);
                dst
            }
            Val::Const(t, bits) => {
                let v = ctx.builder.new_vreg(class_of(t));
                let dst = r(v);
                ctx.builder.push(match t {
                    // The translator's only `v128` constant is a zeroed local.
                    ValType::V128 => Inst::VConst {
                        dst,
                        bits: bits as u128,
                    },
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

    fn select(&mut self, ctx: C, ty: ValType, c: Val, a: Val, b: Val) -> VReg {
        let float = ty.in_vector_regs();
        let ra = self.reg(ctx, a);
        let rb = self.reg(ctx, b);
        let dst = ctx.new_reg(ty);
        match c {
            // Select straight on the comparison's flags.
            Val::Cmp(cmp) => {
                ctx.builder.push(Inst::CmpSelect {
                    lhs: r(cmp.lhs),
                    rhs: reg_or_imm(cmp.rhs),
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

/// How a value of type `t` sits in a global's slot.
pub fn slot_kind(t: ValType) -> MemKind {
    match t {
        ValType::I32 => MemKind::Int(LoadKind::U32, Size::S32),
        ValType::F32 => MemKind::F32,
        ValType::F64 => MemKind::F64,
        ValType::V128 => MemKind::V128,
        _ => MemKind::Int(LoadKind::I64, Size::S64),
    }
}

/// How a value of type `t` moves to and from a stack-argument or results-area slot: 8
/// bytes whatever the type, 16 for a `v128`.
pub fn area_kind(t: ValType) -> MemKind {
    match t {
        ValType::V128 => MemKind::V128,
        t if t.is_float() => MemKind::F64,
        _ => MemKind::Int(LoadKind::I64, Size::S64),
    }
}

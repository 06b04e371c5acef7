//! aarch64 machine instructions on virtual registers.
//!
//! Instructions own their register operands as named fields; `visit_operands` (below) is
//! the only place their order and constraints are written. A64 is a three-address
//! machine, so no instruction ties its destination to a source. Instructions that expand
//! to several machine instructions may use the scratch registers `x16`, `x17`, `v30` and
//! `v31`, which are never allocated.

use super::asm::{
    AluOp, Arr, Cond, Elem, FBinOp, FSize, FUnOp, MemOp, ShiftOp, Size, VShift, V2, V3,
};
use crate::compiled::RelocKind;
pub use crate::lower::{DivOp, FloatCC, MemOffset, TrapInfo, VmRef};
use crate::vcode::{MachInst, OperandKind, Reg};
use regalloc2::PReg;

/// The second operand of a comparison: a register or an immediate that `cmp` (or `cmn`,
/// when negative) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegOrImm {
    Reg(Reg),
    Imm(i32),
}

/// Operands in fixed registers (calls, returns, the entry).
pub type FixedRegs = Box<[(Reg, PReg)]>;

#[derive(Debug, Clone)]
pub enum Inst {
    /// Defines the VM context, the incoming register arguments and the result area.
    Args {
        defs: FixedRegs,
    },
    /// dst = incoming stack argument `index`.
    LoadStackArg {
        dst: Reg,
        index: u32,
        op: MemOp,
    },
    Imm {
        dst: Reg,
        size: Size,
        bits: u64,
    },
    /// Nothing: what replaces an instruction whose results nothing uses.
    Nop,
    FImm {
        dst: Reg,
        size: FSize,
        bits: u64,
    },
    Mov {
        src: Reg,
        dst: Reg,
        float: bool,
    },
    AluRRR {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: AluOp,
        size: Size,
    },
    /// An immediate the form holds (an `add`/`sub` or a logical immediate).
    AluRI {
        a: Reg,
        dst: Reg,
        op: AluOp,
        size: Size,
        imm: u64,
    },
    Mul {
        a: Reg,
        b: Reg,
        dst: Reg,
        size: Size,
    },
    /// Shift or rotate right by a register (taken modulo the width); `rotl` rotates
    /// left.
    ShiftRR {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: ShiftOp,
        rotl: bool,
        size: Size,
    },
    /// Shift or rotate right by an immediate below the width.
    ShiftRI {
        a: Reg,
        dst: Reg,
        op: ShiftOp,
        size: Size,
        imm: u8,
    },
    /// Division and remainder with the wasm traps (zero divisor, signed overflow).
    DivRem {
        a: Reg,
        b: Reg,
        dst: Reg,
        kind: DivOp,
        size: Size,
        trap: TrapInfo,
    },
    Clz {
        src: Reg,
        dst: Reg,
        size: Size,
    },
    Ctz {
        src: Reg,
        dst: Reg,
        size: Size,
    },
    Popcnt {
        src: Reg,
        dst: Reg,
        size: Size,
    },
    /// `rev`: the bytes of `src` in reverse order.
    Rev {
        src: Reg,
        dst: Reg,
        size: Size,
    },
    /// Sign extension of the low `from` bits (8, 16, 32) to `size`, or (`from` = 0)
    /// zero extension of the low 32 bits (`i64.extend_i32_u`, `i32.wrap_i64`).
    Extend {
        src: Reg,
        dst: Reg,
        from: u8,
        size: Size,
    },
    /// dst = (lhs cc rhs) as i32.
    CmpSet {
        lhs: Reg,
        rhs: RegOrImm,
        dst: Reg,
        size: Size,
        cc: Cond,
    },
    FCmpSet {
        a: Reg,
        b: Reg,
        dst: Reg,
        size: FSize,
        op: FloatCC,
    },
    /// dst = cond != 0 ? a : b; `vector` moves whole 128-bit registers (`float` as
    /// well).
    Select {
        cond: Reg,
        a: Reg,
        b: Reg,
        dst: Reg,
        float: bool,
        vector: bool,
    },
    /// dst = (lhs cc rhs) ? a : b.
    CmpSelect {
        lhs: Reg,
        rhs: RegOrImm,
        a: Reg,
        b: Reg,
        dst: Reg,
        float: bool,
        vector: bool,
        size: Size,
        cc: Cond,
    },
    FBin {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: FBinOp,
        size: FSize,
    },
    FUnary {
        src: Reg,
        dst: Reg,
        op: FUnOp,
        size: FSize,
    },
    FCopysign {
        a: Reg,
        b: Reg,
        dst: Reg,
        size: FSize,
    },
    /// fcvt from `from` to the other precision.
    FConvert {
        src: Reg,
        dst: Reg,
        from: FSize,
    },
    IntToFloat {
        src: Reg,
        dst: Reg,
        src_size: Size,
        dst_size: FSize,
        signed: bool,
    },
    /// Truncation toward zero; `sat` saturates (NaN gives 0), otherwise NaN and values
    /// out of range trap.
    FloatToInt {
        src: Reg,
        dst: Reg,
        src_size: FSize,
        dst_size: Size,
        signed: bool,
        sat: bool,
        trap: TrapInfo,
    },
    /// fmov between register files.
    Bitcast {
        src: Reg,
        dst: Reg,
        to_float: bool,
        size: Size,
    },
    /// dst = [base + zext(addr) + offset] (bounds per the emitter's strategy; the length
    /// is read through `vmctx`, which an access that needs no check does not have: see
    /// `isa::needs_bounds_check`).
    Load {
        vmctx: Option<Reg>,
        base: Reg,
        addr: Reg,
        dst: Reg,
        op: MemOp,
        offset: MemOffset,
        mem: VmRef,
        trap: TrapInfo,
    },
    Store {
        vmctx: Option<Reg>,
        base: Reg,
        addr: Reg,
        value: Reg,
        op: MemOp,
        offset: MemOffset,
        mem: VmRef,
        trap: TrapInfo,
    },
    /// dst = the base address of memory `mem`.
    HeapBase {
        vmctx: Reg,
        dst: Reg,
        mem: VmRef,
    },
    /// dst = current size in pages.
    MemorySize {
        vmctx: Reg,
        dst: Reg,
        mem: VmRef,
    },
    GlobalGet {
        vmctx: Reg,
        dst: Reg,
        global: VmRef,
        op: MemOp,
    },
    GlobalSet {
        vmctx: Reg,
        value: Reg,
        global: VmRef,
        op: MemOp,
    },
    TableGet {
        vmctx: Reg,
        index: Reg,
        dst: Reg,
        table: VmRef,
        trap: TrapInfo,
    },
    TableSet {
        vmctx: Reg,
        index: Reg,
        value: Reg,
        table: VmRef,
        trap: TrapInfo,
    },
    TableSize {
        vmctx: Reg,
        dst: Reg,
        table: VmRef,
    },
    /// dst = address of the function reference.
    RefFunc {
        vmctx: Reg,
        dst: Reg,
        func: u32,
    },
    /// dst = funcref: bounds check, load, null check, signature check against type
    /// reference `ty`.
    CallIndirectCheck {
        vmctx: Reg,
        index: Reg,
        dst: Reg,
        table: VmRef,
        ty: u32,
        trap: TrapInfo,
    },
    /// dst = [base + off] (64-bit).
    LoadPtr {
        base: Reg,
        dst: Reg,
        off: i32,
    },
    /// [base + off] = value (a results-area slot).
    StorePtr {
        base: Reg,
        value: Reg,
        off: i32,
        op: MemOp,
    },
    /// dst = a relocated 32-bit immediate, zero-extended or (`sign_extend`) sign-extended
    /// to 64 bits.
    ImmReloc {
        dst: Reg,
        kind: RelocKind,
        index: u32,
        sign_extend: bool,
    },
    /// dst = [vmctx + relocated offset + addend] (64-bit).
    VmLoad {
        vmctx: Reg,
        dst: Reg,
        kind: RelocKind,
        index: u32,
        addend: i32,
    },
    /// [sp + off] = src.
    StoreOutgoing {
        src: Reg,
        off: u32,
        op: MemOp,
    },
    /// dst = sp + off.
    AddrOutgoing {
        dst: Reg,
        off: u32,
    },
    /// dst = [sp + off].
    LoadOutgoing {
        dst: Reg,
        off: u32,
        op: MemOp,
    },
    /// Direct call to function reference `func`.
    CallDirect {
        uses: FixedRegs,
        defs: FixedRegs,
        func: u32,
    },
    CallReg {
        code: Reg,
        uses: FixedRegs,
        defs: FixedRegs,
    },
    /// Call through the VM context's libcall table.
    CallLibcall {
        uses: FixedRegs,
        defs: FixedRegs,
        index: u32,
    },
    /// Trap unless src == 0 (`nonzero` = trap when non-zero).
    TrapIf {
        src: Reg,
        size: Size,
        nonzero: bool,
        trap: TrapInfo,
    },
    /// dst = op(a, b): one vector instruction (not `Bsl`, which [`Inst::VecBsl`] is).
    VecRRR {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: V3,
        arr: Arr,
    },
    /// dst = op(src): one vector instruction.
    VecRR {
        src: Reg,
        dst: Reg,
        op: V2,
        arr: Arr,
    },
    /// dst = op(src, #amount).
    VecShift {
        src: Reg,
        dst: Reg,
        op: VShift,
        arr: Arr,
        amount: u32,
    },
    /// dst = (mask & a) | (!mask & b), in the mask's register (`bsl`).
    VecBsl {
        mask: Reg,
        a: Reg,
        b: Reg,
        dst: Reg,
    },
    /// Every lane of `arr` = `src`: a general register, or (`from_vec`) lane 0 of a
    /// vector register.
    VecDup {
        src: Reg,
        dst: Reg,
        arr: Arr,
        from_vec: bool,
    },
    /// dst = lane `lane` of `src`: into a general register (zero- or, `signed`,
    /// sign-extended to 32 bits), or (`to_vec`) into lane 0 of a vector register whose
    /// other lanes are cleared.
    VecExtract {
        src: Reg,
        dst: Reg,
        elem: Elem,
        lane: u8,
        signed: bool,
        to_vec: bool,
    },
    /// dst = `vec` with lane `lane` set to `src` (a general register, or lane 0 of a
    /// vector register when `from_vec`), in `vec`'s register.
    VecInsert {
        vec: Reg,
        src: Reg,
        dst: Reg,
        elem: Elem,
        lane: u8,
        from_vec: bool,
    },
    /// dst = a 128-bit constant.
    VecConst {
        dst: Reg,
        bits: u128,
    },
    /// dst = bytes of `a ++ b` selected by `idx` (0 for indices past 31): a two-register
    /// `tbl` on copies of `a` and `b` in the consecutive scratch registers.
    VecTbl2 {
        a: Reg,
        b: Reg,
        idx: Reg,
        dst: Reg,
    },
    /// Terminator, one successor.
    Jump,
    /// Terminator: successors (taken if `cond` non-zero, not taken).
    Brif {
        cond: Reg,
        size: Size,
    },
    /// Terminator: successors (taken if `lhs cc rhs`, not taken).
    CmpBrif {
        lhs: Reg,
        rhs: RegOrImm,
        size: Size,
        cc: Cond,
    },
    /// Terminator: successors are the distinct targets; `table[i]` and `default` index
    /// into them.
    BrTable {
        index: Reg,
        table: Box<[u32]>,
        default: u32,
    },
    /// Terminator: results in their fixed registers.
    Ret {
        uses: FixedRegs,
    },
    /// Terminator: raise a trap.
    Trap {
        trap: TrapInfo,
    },
}

impl MachInst for Inst {
    fn is_branch(&self) -> bool {
        matches!(
            self,
            Inst::Jump | Inst::Brif { .. } | Inst::CmpBrif { .. } | Inst::BrTable { .. }
        )
    }
    fn is_ret(&self) -> bool {
        matches!(self, Inst::Ret { .. } | Inst::Trap { .. })
    }
    fn is_pure(&self) -> bool {
        // Lowering sets no flags outside an instruction: a comparison is one instruction
        // with its branch, `cset` or `csel`.
        matches!(
            self,
            Inst::Imm { .. }
                | Inst::Mov { .. }
                | Inst::AluRRR { .. }
                | Inst::AluRI { .. }
                | Inst::Mul { .. }
                | Inst::ShiftRR { .. }
                | Inst::ShiftRI { .. }
                | Inst::Rev { .. }
                | Inst::Extend { .. }
        )
    }
    fn nop() -> Self {
        Inst::Nop
    }

    fn visit_operands(&mut self, v: &mut dyn FnMut(&mut Reg, OperandKind)) {
        use OperandKind::*;
        fn fixed(v: &mut dyn FnMut(&mut Reg, OperandKind), regs: &mut FixedRegs, def: bool) {
            for (r, p) in regs.iter_mut() {
                v(r, if def { FixedDef(*p) } else { FixedUse(*p) });
            }
        }
        fn rhs(v: &mut dyn FnMut(&mut Reg, OperandKind), rhs: &mut RegOrImm) {
            if let RegOrImm::Reg(r) = rhs {
                v(r, Use);
            }
        }
        match self {
            Inst::Args { defs } => fixed(v, defs, true),
            Inst::Nop => {}
            Inst::CallDirect { uses, defs, .. } | Inst::CallLibcall { uses, defs, .. } => {
                fixed(v, uses, false);
                fixed(v, defs, true);
            }
            Inst::CallReg { code, uses, defs } => {
                v(code, Use);
                fixed(v, uses, false);
                fixed(v, defs, true);
            }
            Inst::Ret { uses } => fixed(v, uses, false),
            Inst::LoadStackArg { dst, .. }
            | Inst::Imm { dst, .. }
            | Inst::FImm { dst, .. }
            | Inst::ImmReloc { dst, .. }
            | Inst::AddrOutgoing { dst, .. }
            | Inst::LoadOutgoing { dst, .. }
            | Inst::VecConst { dst, .. } => v(dst, Def),
            Inst::Mov { src, dst, .. }
            | Inst::AluRI { a: src, dst, .. }
            | Inst::ShiftRI { a: src, dst, .. }
            | Inst::Clz { src, dst, .. }
            | Inst::Ctz { src, dst, .. }
            | Inst::Popcnt { src, dst, .. }
            | Inst::Rev { src, dst, .. }
            | Inst::Extend { src, dst, .. }
            | Inst::FUnary { src, dst, .. }
            | Inst::FConvert { src, dst, .. }
            | Inst::IntToFloat { src, dst, .. }
            | Inst::FloatToInt { src, dst, .. }
            | Inst::Bitcast { src, dst, .. }
            | Inst::LoadPtr { base: src, dst, .. }
            | Inst::VecRR { src, dst, .. }
            | Inst::VecShift { src, dst, .. }
            | Inst::VecDup { src, dst, .. }
            | Inst::VecExtract { src, dst, .. }
            | Inst::MemorySize {
                vmctx: src, dst, ..
            }
            | Inst::HeapBase {
                vmctx: src, dst, ..
            }
            | Inst::GlobalGet {
                vmctx: src, dst, ..
            }
            | Inst::TableSize {
                vmctx: src, dst, ..
            }
            | Inst::RefFunc {
                vmctx: src, dst, ..
            }
            | Inst::VmLoad {
                vmctx: src, dst, ..
            } => {
                v(src, Use);
                v(dst, Def);
            }
            Inst::AluRRR { a, b, dst, .. }
            | Inst::Mul { a, b, dst, .. }
            | Inst::ShiftRR { a, b, dst, .. }
            | Inst::FCmpSet { a, b, dst, .. }
            | Inst::FBin { a, b, dst, .. }
            | Inst::FCopysign { a, b, dst, .. }
            | Inst::DivRem { a, b, dst, .. }
            | Inst::VecRRR { a, b, dst, .. }
            | Inst::TableGet {
                vmctx: a,
                index: b,
                dst,
                ..
            }
            | Inst::CallIndirectCheck {
                vmctx: a,
                index: b,
                dst,
                ..
            } => {
                v(a, Use);
                v(b, Use);
                v(dst, Def);
            }
            Inst::CmpSet {
                lhs, rhs: r, dst, ..
            } => {
                v(lhs, Use);
                rhs(v, r);
                v(dst, Def);
            }
            Inst::VecBsl { mask, a, b, dst } => {
                v(mask, Use);
                v(a, Use);
                v(b, Use);
                v(dst, ReuseDef(0));
            }
            Inst::VecInsert { vec, src, dst, .. } => {
                v(vec, Use);
                v(src, Use);
                v(dst, ReuseDef(0));
            }
            Inst::VecTbl2 { a, b, idx, dst } => {
                v(a, Use);
                v(b, Use);
                v(idx, Use);
                v(dst, Def);
            }
            Inst::Select {
                cond, a, b, dst, ..
            } => {
                v(cond, Use);
                v(a, Use);
                v(b, Use);
                v(dst, Def);
            }
            Inst::CmpSelect {
                lhs,
                rhs: r,
                a,
                b,
                dst,
                ..
            } => {
                v(lhs, Use);
                rhs(v, r);
                v(a, Use);
                v(b, Use);
                v(dst, Def);
            }
            Inst::Load {
                vmctx,
                base,
                addr,
                dst,
                ..
            } => {
                if let Some(vmctx) = vmctx {
                    v(vmctx, Use);
                }
                v(base, Use);
                v(addr, Use);
                v(dst, Def);
            }
            Inst::Store {
                vmctx,
                base,
                addr,
                value,
                ..
            } => {
                if let Some(vmctx) = vmctx {
                    v(vmctx, Use);
                }
                v(base, Use);
                v(addr, Use);
                v(value, Use);
            }
            Inst::TableSet {
                vmctx: a,
                index: b,
                value: c,
                ..
            } => {
                v(a, Use);
                v(b, Use);
                v(c, Use);
            }
            Inst::GlobalSet {
                vmctx: a, value: b, ..
            }
            | Inst::StorePtr {
                base: a, value: b, ..
            } => {
                v(a, Use);
                v(b, Use);
            }
            Inst::StoreOutgoing { src, .. }
            | Inst::TrapIf { src, .. }
            | Inst::Brif { cond: src, .. }
            | Inst::BrTable { index: src, .. } => v(src, Use),
            Inst::CmpBrif { lhs, rhs: r, .. } => {
                v(lhs, Use);
                rhs(v, r);
            }
            Inst::Jump | Inst::Trap { .. } => {}
        }
    }
}

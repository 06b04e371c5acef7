//! x86-64 machine instructions on virtual registers.
//!
//! Each variant documents its operand list (the order in which its regalloc2 operands are
//! pushed); emission reads allocations in that order. Instructions that expand to several
//! machine instructions may use the scratch registers r10, r11, xmm14 and xmm15, which are
//! never allocated.

use super::asm::{AluOp, Cond, LoadKind, ShiftOp, Size, SseOp};
use crate::compiled::RelocKind;
pub use crate::lower::{DivOp, FloatCC, TrapInfo, VmRef};
use crate::vcode::MachInst;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FUnaryOp {
    Abs,
    Neg,
    Sqrt,
    /// roundss/roundsd immediate: 0 nearest, 1 floor, 2 ceil, 3 trunc.
    Round(u8),
}

/// Value kinds for loads and stores of memory and of VM-context slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemKind {
    /// Integer load with extension into a register of `size`.
    Int(LoadKind, Size),
    F32,
    F64,
}

impl MemKind {
    /// Bytes accessed.
    pub fn bytes(self) -> u32 {
        match self {
            MemKind::Int(k, _) => match k {
                LoadKind::U8 | LoadKind::S8 => 1,
                LoadKind::U16 | LoadKind::S16 => 2,
                LoadKind::U32 | LoadKind::S32 => 4,
                LoadKind::I64 => 8,
            },
            MemKind::F32 => 4,
            MemKind::F64 => 8,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Inst {
    /// Defines incoming register arguments. Operands: fixed defs.
    Args,
    /// `[def dst]`: dst = incoming stack argument `index`.
    LoadStackArg {
        index: u32,
        float: bool,
    },
    /// `[def dst]`.
    Imm {
        size: Size,
        bits: u64,
    },
    /// `[def dst]` (xmm).
    FImm {
        is64: bool,
        bits: u64,
    },
    /// `[use src, def dst]`.
    Mov {
        float: bool,
    },
    /// `[use lhs, use rhs, def dst(reuse 0)]`.
    AluRR {
        op: AluOp,
        size: Size,
    },
    /// `[use src, def dst(reuse 0)]`.
    AluRI {
        op: AluOp,
        size: Size,
        imm: i32,
    },
    /// `[use lhs, use rhs, def dst(reuse 0)]`.
    Imul {
        size: Size,
    },
    /// `[use src, def dst]`.
    ImulImm {
        size: Size,
        imm: i32,
    },
    /// `[use src, fixed use count(rcx), def dst(reuse 0)]`.
    ShiftRR {
        op: ShiftOp,
        size: Size,
    },
    /// `[use src, def dst(reuse 0)]`.
    ShiftRI {
        op: ShiftOp,
        size: Size,
        imm: u8,
    },
    /// `[fixed use lhs(rax), use-at-end rhs, fixed def dst(rax or rdx)]`, clobbers the other.
    DivRem {
        kind: DivOp,
        size: Size,
        trap: TrapInfo,
    },
    /// `[use src, def dst]`.
    Clz {
        size: Size,
    },
    Ctz {
        size: Size,
    },
    Popcnt {
        size: Size,
    },
    /// `[use src, def dst]`: sign/zero extension; `U32` with S32 is `i32.wrap_i64`.
    Extend {
        kind: LoadKind,
        size: Size,
    },
    /// `[use lhs, use rhs, def dst]`: dst = (lhs cc rhs) as i32.
    CmpSetcc {
        size: Size,
        cc: Cond,
    },
    /// `[use lhs, def dst]`.
    CmpImmSetcc {
        size: Size,
        cc: Cond,
        imm: i32,
    },
    /// `[use a, use b, def dst]`.
    FCmpSetcc {
        is64: bool,
        op: FloatCC,
    },
    /// `[use cond, use a, use b, def dst(reuse 1)]`: dst = cond ? a : b.
    Select {
        float: bool,
    },
    /// `[use lhs, use rhs, use a, use b, def dst(reuse 2)]`, or without `rhs` when `imm`:
    /// dst = (lhs cc rhs) ? a : b.
    CmpSelect {
        float: bool,
        size: Size,
        cc: Cond,
        imm: Option<i32>,
    },
    /// `[use a, use b, def dst(reuse 0)]`.
    FBin {
        op: SseOp,
    },
    /// `[use src, def dst]`.
    FUnary {
        is64: bool,
        op: FUnaryOp,
    },
    /// `[use a, use b, def dst(reuse 0)]`.
    FMinMax {
        is64: bool,
        max: bool,
    },
    /// `[use a, use b, def dst]`.
    FCopysign {
        is64: bool,
    },
    /// `[use src, def dst]`: cvtss2sd / cvtsd2ss.
    FConvert {
        op: SseOp,
    },
    /// `[use src, def dst]`.
    IntToFloat {
        src_size: Size,
        dst64: bool,
        signed: bool,
    },
    /// `[use src, def dst]`.
    FloatToInt {
        src64: bool,
        dst_size: Size,
        signed: bool,
        sat: bool,
        trap: TrapInfo,
    },
    /// `[use src, def dst]`: movd/movq between register files.
    Bitcast {
        to_float: bool,
        size: Size,
    },
    /// `[use vmctx, use addr, def dst]`.
    Load {
        kind: MemKind,
        offset: u64,
        mem: VmRef,
        trap: TrapInfo,
    },
    /// `[use vmctx, use addr, use value]`.
    Store {
        kind: MemKind,
        offset: u64,
        mem: VmRef,
        trap: TrapInfo,
    },
    /// `[use vmctx, def dst]`: current size in pages.
    MemorySize {
        mem: VmRef,
    },
    /// `[use vmctx, def dst]`.
    GlobalGet {
        global: VmRef,
        kind: MemKind,
    },
    /// `[use vmctx, use value]`.
    GlobalSet {
        global: VmRef,
        kind: MemKind,
    },
    /// `[use vmctx, use index, def dst]`.
    TableGet {
        table: VmRef,
        trap: TrapInfo,
    },
    /// `[use vmctx, use index, use value]`.
    TableSet {
        table: VmRef,
        trap: TrapInfo,
    },
    /// `[use vmctx, def dst]`.
    TableSize {
        table: VmRef,
    },
    /// `[use vmctx, def dst]`: dst = address of the function reference.
    RefFunc {
        func: u32,
    },
    /// `[use vmctx, use index, def funcref]`: bounds check, load, null check, signature
    /// check against type reference `ty`.
    CallIndirectCheck {
        table: VmRef,
        ty: u32,
        trap: TrapInfo,
    },
    /// `[use base, def dst]`: dst = [base + off] (64-bit).
    LoadPtr {
        off: i32,
    },
    /// `[use base, use value]`: [base + off] = value (64-bit or f64 slot).
    StorePtr {
        off: i32,
        float: bool,
    },
    /// `[def dst]`: dst = a relocated 32-bit immediate.
    ImmReloc {
        kind: RelocKind,
        index: u32,
    },
    /// `[use vmctx, def dst]`: dst = [vmctx + relocated offset + addend] (64-bit).
    VmLoad {
        kind: RelocKind,
        index: u32,
        addend: i32,
    },
    /// `[use value]`: [rsp + off] = value.
    StoreOutgoing {
        off: u32,
        float: bool,
    },
    /// `[def dst]`: dst = rsp + off.
    LeaOutgoing {
        off: u32,
    },
    /// `[def dst]`: dst = [rsp + off].
    LoadOutgoing {
        off: u32,
        float: bool,
    },
    /// `[fixed uses.., fixed defs..]` direct call to function reference `func`.
    CallDirect {
        func: u32,
    },
    /// `[use code, fixed uses.., fixed defs..]`.
    CallReg,
    /// `[fixed uses.., fixed defs..]` call through the VM context's libcall table.
    CallLibcall {
        index: u32,
    },
    /// `[use src]`: trap unless src == 0 (`nonzero` = trap when non-zero).
    TrapIf {
        size: Size,
        nonzero: bool,
        trap: TrapInfo,
    },
    /// Terminator, one successor.
    Jump,
    /// Terminator `[use cond]`: successors (taken if non-zero, not taken).
    Brif {
        size: Size,
    },
    /// Terminator `[use lhs, use rhs]` (or `[use lhs]` with `imm`): successors (taken if
    /// `lhs cc rhs`, not taken).
    CmpBrif {
        size: Size,
        cc: Cond,
        imm: Option<i32>,
    },
    /// Terminator `[use index]`: successors are the distinct targets; `table[i]` and
    /// `default` index into them.
    BrTable {
        table: Box<[u32]>,
        default: u32,
    },
    /// Terminator `[fixed uses of results]`.
    Ret,
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
        matches!(self, Inst::Ret | Inst::Trap { .. })
    }
}

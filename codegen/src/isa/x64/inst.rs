//! x86-64 machine instructions on virtual registers.
//!
//! Instructions own their register operands as named fields. `visit_operands` (below) is
//! the only place their order and constraints are written: the allocator's operand list is
//! collected from it when an instruction is pushed, and the allocations are written back
//! through it before emission, which then reads the fields by name. Instructions that
//! expand to several machine instructions may use the scratch registers r10, r11, xmm14
//! and xmm15, which are never allocated.

use super::asm::{
    AluOp, Broadcast, Cond, LaneSize, LoadKind, ShiftOp, Size, SseOp, VecImmOp, VecOp, VecShiftImm,
};
use crate::compiled::RelocKind;
pub use crate::lower::{DivOp, FloatCC, MemOffset, TrapInfo, VmRef};
use crate::vcode::{MachInst, OperandKind, Reg};
use regalloc2::PReg;

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
    /// 16 bytes (`movdqu`).
    V128,
    /// 8 bytes into the low half of an SSE register, zeroing the rest (`movq`).
    V64,
    /// 4 bytes into the low lane of an SSE register, zeroing the rest (`movd`).
    V32,
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
            MemKind::F32 | MemKind::V32 => 4,
            MemKind::F64 | MemKind::V64 => 8,
            MemKind::V128 => 16,
        }
    }
}

/// How a `v128` reduces to a general-purpose register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskKind {
    /// `pmovmskb`: the sign bit of each byte.
    Bytes,
    /// `movmskps`: the sign bit of each 32-bit lane.
    Singles,
    /// `movmskpd`: the sign bit of each 64-bit lane.
    Doubles,
}

/// The second operand of a comparison: a register or an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegOrImm {
    Reg(Reg),
    Imm(i32),
    /// The value of a constant slot: an imm32 field, relocated ([`RelocKind::Const`]).
    Slot(u32),
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
        kind: MemKind,
    },
    Imm {
        dst: Reg,
        size: Size,
        bits: u64,
    },
    FImm {
        dst: Reg,
        is64: bool,
        bits: u64,
    },
    Mov {
        src: Reg,
        dst: Reg,
        float: bool,
    },
    /// dst (= lhs's register) op= rhs.
    AluRR {
        lhs: Reg,
        rhs: Reg,
        dst: Reg,
        op: AluOp,
        size: Size,
    },
    /// dst (= src's register) op= imm.
    AluRI {
        src: Reg,
        dst: Reg,
        op: AluOp,
        size: Size,
        imm: i32,
    },
    /// dst (= src's register) op= the value of constant slot `slot`: the imm32 form,
    /// its field relocated ([`RelocKind::Const`]), sign-extended in a 64-bit operation.
    AluRSlot {
        src: Reg,
        dst: Reg,
        op: AluOp,
        size: Size,
        slot: u32,
    },
    /// Nothing: what a removed instruction becomes (no operands, no code).
    Nop,
    /// dst = base + index * scale + disp, the flags untouched: an add that leaves the
    /// allocator free to put its result in a register of its own (`lea`; emitted as `add`
    /// when the allocator gave dst the register of an unscaled addend). Scale 1, 2, 4 or 8.
    Lea {
        base: Reg,
        index: Option<(Reg, u8)>,
        disp: i32,
        dst: Reg,
        size: Size,
    },
    /// dst (= lhs's register) *= rhs.
    Imul {
        lhs: Reg,
        rhs: Reg,
        dst: Reg,
        size: Size,
    },
    ImulImm {
        src: Reg,
        dst: Reg,
        size: Size,
        imm: i32,
    },
    /// dst (= src's register) shifted by `count` (in rcx).
    ShiftRR {
        src: Reg,
        count: Reg,
        dst: Reg,
        op: ShiftOp,
        size: Size,
    },
    ShiftRI {
        src: Reg,
        dst: Reg,
        op: ShiftOp,
        size: Size,
        imm: u8,
    },
    /// BMI2 `shlx`/`shrx`/`sarx`: dst = src shifted by `count`, in any register. Not a
    /// rotate.
    ShiftX {
        src: Reg,
        count: Reg,
        dst: Reg,
        op: ShiftOp,
        size: Size,
    },
    /// BMI2 `rorx`: dst = src rotated right by `imm`.
    Rorx {
        src: Reg,
        dst: Reg,
        size: Size,
        imm: u8,
    },
    /// lhs in rax; dst in rax (quotient) or rdx (remainder); clobbers the other.
    DivRem {
        lhs: Reg,
        rhs: Reg,
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
    /// `bswap`: the bytes of `src` in reverse order, in place (`dst` reuses `src`).
    Bswap {
        src: Reg,
        dst: Reg,
        size: Size,
    },
    /// `lzcnt` (LZCNT): `Clz` in one instruction.
    Lzcnt {
        src: Reg,
        dst: Reg,
        size: Size,
    },
    /// `tzcnt` (BMI1): `Ctz` in one instruction.
    Tzcnt {
        src: Reg,
        dst: Reg,
        size: Size,
    },
    /// Sign/zero extension; `U32` with S32 is `i32.wrap_i64`.
    Extend {
        src: Reg,
        dst: Reg,
        kind: LoadKind,
        size: Size,
    },
    /// dst = (lhs cc rhs) as i32.
    CmpSetcc {
        lhs: Reg,
        rhs: Reg,
        dst: Reg,
        size: Size,
        cc: Cond,
    },
    CmpImmSetcc {
        lhs: Reg,
        dst: Reg,
        size: Size,
        cc: Cond,
        imm: i32,
    },
    FCmpSetcc {
        a: Reg,
        b: Reg,
        dst: Reg,
        is64: bool,
        op: FloatCC,
    },
    /// dst (= a's register) = cond ? a : b.
    Select {
        cond: Reg,
        a: Reg,
        b: Reg,
        dst: Reg,
        float: bool,
    },
    /// dst (= a's register) = (lhs cc rhs) ? a : b.
    CmpSelect {
        lhs: Reg,
        rhs: RegOrImm,
        a: Reg,
        b: Reg,
        dst: Reg,
        float: bool,
        size: Size,
        cc: Cond,
    },
    /// dst (= a's register) = a op b.
    FBin {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: SseOp,
    },
    FUnary {
        src: Reg,
        dst: Reg,
        is64: bool,
        op: FUnaryOp,
    },
    /// dst (= a's register) = min/max(a, b).
    FMinMax {
        a: Reg,
        b: Reg,
        dst: Reg,
        is64: bool,
        max: bool,
    },
    FCopysign {
        a: Reg,
        b: Reg,
        dst: Reg,
        is64: bool,
    },
    /// cvtss2sd / cvtsd2ss.
    FConvert {
        src: Reg,
        dst: Reg,
        op: SseOp,
    },
    IntToFloat {
        src: Reg,
        dst: Reg,
        src_size: Size,
        dst64: bool,
        signed: bool,
    },
    FloatToInt {
        src: Reg,
        dst: Reg,
        src64: bool,
        dst_size: Size,
        signed: bool,
        sat: bool,
        trap: TrapInfo,
    },
    /// movd/movq between register files.
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
        /// `None` for the constant address 0 (`i32.const 0; i32.load offset=...`, how
        /// toolchains reach statics): the offset alone is the index.
        addr: Option<Reg>,
        /// The instruction that defines `addr` zeroed its upper 32 bits (a 32-bit
        /// operation), so an access without a check indexes with it as it is.
        addr_zero_extended: bool,
        dst: Reg,
        kind: MemKind,
        offset: MemOffset,
        mem: VmRef,
        trap: TrapInfo,
    },
    /// [base + zext(addr) + offset] = value (`vmctx` as for [`Inst::Load`]).
    Store {
        vmctx: Option<Reg>,
        base: Reg,
        /// As for [`Inst::Load`].
        addr: Option<Reg>,
        /// As for [`Inst::Load`].
        addr_zero_extended: bool,
        value: Reg,
        kind: MemKind,
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
        kind: MemKind,
    },
    GlobalSet {
        vmctx: Reg,
        value: Reg,
        global: VmRef,
        kind: MemKind,
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
        kind: MemKind,
    },
    /// dst = a relocated 32-bit immediate, zero-extended to 64 bits, or sign-extended
    /// when `sign_extend`.
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
    /// [rsp + off] = src.
    StoreOutgoing {
        src: Reg,
        off: u32,
        kind: MemKind,
    },
    /// dst = rsp + off.
    LeaOutgoing {
        dst: Reg,
        off: u32,
    },
    /// dst = [rsp + off].
    LoadOutgoing {
        dst: Reg,
        off: u32,
        kind: MemKind,
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
    /// dst = a 128-bit constant.
    VConst {
        dst: Reg,
        bits: u128,
    },
    /// dst (= a's register) = a op b.
    VBin {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: VecOp,
    },
    /// dst = a op b in the VEX three-operand form (AVX): dst need not be a's register.
    VBin3 {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: VecOp,
    },
    /// dst = op src, for operations that do not read their destination.
    VUn {
        src: Reg,
        dst: Reg,
        op: VecOp,
    },
    /// dst (= a's register) = op(a, b, imm).
    VBinImm {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: VecImmOp,
        imm: u8,
    },
    /// dst = op(a, b, imm) in the VEX three-operand form (AVX).
    VBinImm3 {
        a: Reg,
        b: Reg,
        dst: Reg,
        op: VecImmOp,
        imm: u8,
    },
    /// dst = src's low lane in every lane (AVX2).
    VBroadcast {
        src: Reg,
        dst: Reg,
        op: Broadcast,
    },
    /// dst = op(src, imm), for operations that do not read their destination.
    VUnImm {
        src: Reg,
        dst: Reg,
        op: VecImmOp,
        imm: u8,
    },
    /// dst (= src's register) shifted by an immediate.
    VShiftImm {
        src: Reg,
        dst: Reg,
        op: VecShiftImm,
        imm: u8,
    },
    /// dst = src shifted by an immediate, VEX-encoded (AVX): any register.
    VShiftImm3 {
        src: Reg,
        dst: Reg,
        op: VecShiftImm,
        imm: u8,
    },
    /// dst (= v's register) = v with lane `lane` replaced by the general register `x`.
    VInsert {
        v: Reg,
        x: Reg,
        dst: Reg,
        size: LaneSize,
        lane: u8,
    },
    /// dst (general register) = lane `lane` of `v`, zero-extended.
    VExtract {
        v: Reg,
        dst: Reg,
        size: LaneSize,
        lane: u8,
    },
    /// dst (general register) = the sign bits of `src`'s lanes.
    VMask {
        src: Reg,
        dst: Reg,
        kind: MaskKind,
    },
    /// dst (general register) = whether `a & b` has any bit set (`nonzero`) or none.
    VTest {
        a: Reg,
        b: Reg,
        dst: Reg,
        nonzero: bool,
    },
    /// Terminator, one successor.
    Jump,
    /// Terminator: successors (taken if `cond` non-zero, not taken). `flags`: the
    /// zero flag already says whether `cond` is zero (the instruction before this one
    /// in its block computed `cond` with an ALU operation of this size, and the
    /// allocator's moves leave the flags alone), so no `test` is needed.
    Brif {
        cond: Reg,
        size: Size,
        flags: bool,
    },
    /// Terminator: successors (taken if `lhs cc rhs`, not taken). `flags`: as for
    /// [`Inst::Brif`], for a comparison of `lhs` with zero for (in)equality.
    CmpBrif {
        lhs: Reg,
        rhs: RegOrImm,
        size: Size,
        cc: Cond,
        flags: bool,
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
        // The flags these set are read only by a `Brif`/`CmpBrif` with `flags`, which
        // names the result as its operand.
        matches!(
            self,
            Inst::Imm { .. }
                | Inst::Mov { .. }
                | Inst::AluRR { .. }
                | Inst::AluRI { .. }
                | Inst::Lea { .. }
                | Inst::Imul { .. }
                | Inst::ImulImm { .. }
                | Inst::ShiftRR { .. }
                | Inst::ShiftRI { .. }
                | Inst::ShiftX { .. }
                | Inst::Rorx { .. }
                | Inst::Bswap { .. }
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
        match self {
            Inst::Nop => {}
            Inst::Args { defs } => fixed(v, defs, true),
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
            | Inst::LeaOutgoing { dst, .. }
            | Inst::LoadOutgoing { dst, .. }
            | Inst::VConst { dst, .. } => v(dst, Def),
            Inst::Mov { src, dst, .. }
            | Inst::ImulImm { src, dst, .. }
            | Inst::Clz { src, dst, .. }
            | Inst::Ctz { src, dst, .. }
            | Inst::Popcnt { src, dst, .. }
            | Inst::Lzcnt { src, dst, .. }
            | Inst::Tzcnt { src, dst, .. }
            | Inst::Extend { src, dst, .. }
            | Inst::CmpImmSetcc { lhs: src, dst, .. }
            | Inst::FUnary { src, dst, .. }
            | Inst::FConvert { src, dst, .. }
            | Inst::IntToFloat { src, dst, .. }
            | Inst::FloatToInt { src, dst, .. }
            | Inst::Bitcast { src, dst, .. }
            | Inst::LoadPtr { base: src, dst, .. }
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
            }
            | Inst::VUn { src, dst, .. }
            | Inst::VUnImm { src, dst, .. }
            | Inst::VShiftImm3 { src, dst, .. }
            | Inst::VBroadcast { src, dst, .. }
            | Inst::VExtract { v: src, dst, .. }
            | Inst::VMask { src, dst, .. } => {
                v(src, Use);
                v(dst, Def);
            }
            Inst::Lea {
                base, index, dst, ..
            } => {
                v(base, Use);
                if let Some((index, _)) = index {
                    v(index, Use);
                }
                v(dst, Def);
            }
            Inst::AluRI { src, dst, .. }
            | Inst::AluRSlot { src, dst, .. }
            | Inst::ShiftRI { src, dst, .. }
            | Inst::Bswap { src, dst, .. }
            | Inst::VShiftImm { src, dst, .. } => {
                v(src, Use);
                v(dst, ReuseDef(0));
            }
            Inst::AluRR { lhs, rhs, dst, .. }
            | Inst::Imul { lhs, rhs, dst, .. }
            | Inst::FBin {
                a: lhs,
                b: rhs,
                dst,
                ..
            }
            | Inst::FMinMax {
                a: lhs,
                b: rhs,
                dst,
                ..
            }
            | Inst::VBin {
                a: lhs,
                b: rhs,
                dst,
                ..
            }
            | Inst::VBinImm {
                a: lhs,
                b: rhs,
                dst,
                ..
            }
            | Inst::VInsert {
                v: lhs,
                x: rhs,
                dst,
                ..
            } => {
                v(lhs, Use);
                v(rhs, Use);
                v(dst, ReuseDef(0));
            }
            Inst::CmpSetcc {
                lhs: a,
                rhs: b,
                dst,
                ..
            }
            | Inst::FCmpSetcc { a, b, dst, .. }
            | Inst::FCopysign { a, b, dst, .. }
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
            }
            | Inst::VTest { a, b, dst, .. }
            | Inst::VBin3 { a, b, dst, .. }
            | Inst::VBinImm3 { a, b, dst, .. } => {
                v(a, Use);
                v(b, Use);
                v(dst, Def);
            }
            Inst::ShiftRR {
                src, count, dst, ..
            } => {
                v(src, Use);
                v(count, FixedUse(super::abi::gpr(super::abi::RCX)));
                v(dst, ReuseDef(0));
            }
            Inst::ShiftX {
                src, count, dst, ..
            } => {
                v(src, Use);
                v(count, Use);
                v(dst, Def);
            }
            Inst::Rorx { src, dst, .. } => {
                v(src, Use);
                v(dst, Def);
            }
            Inst::DivRem {
                lhs,
                rhs,
                dst,
                kind,
                ..
            } => {
                let out = match kind {
                    DivOp::DivS | DivOp::DivU => super::abi::RAX,
                    DivOp::RemS | DivOp::RemU => super::abi::RDX,
                };
                v(lhs, FixedUse(super::abi::gpr(super::abi::RAX)));
                v(rhs, UseAtEnd);
                v(dst, FixedDef(super::abi::gpr(out)));
            }
            Inst::Select {
                cond, a, b, dst, ..
            } => {
                v(cond, Use);
                v(a, Use);
                v(b, Use);
                v(dst, ReuseDef(1));
            }
            Inst::CmpSelect {
                lhs,
                rhs,
                a,
                b,
                dst,
                ..
            } => {
                v(lhs, Use);
                let reuse = match rhs {
                    RegOrImm::Reg(r) => {
                        v(r, Use);
                        2
                    }
                    RegOrImm::Imm(_) | RegOrImm::Slot(_) => 1,
                };
                v(a, Use);
                v(b, Use);
                v(dst, ReuseDef(reuse));
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
                if let Some(addr) = addr {
                    v(addr, Use);
                }
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
                if let Some(addr) = addr {
                    v(addr, Use);
                }
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
            Inst::CmpBrif { lhs, rhs, .. } => {
                v(lhs, Use);
                if let RegOrImm::Reg(r) = rhs {
                    v(r, Use);
                }
            }
            Inst::Jump | Inst::Trap { .. } => {}
        }
    }
}

//! The seam between the ISA-neutral translator (`translate/`) and an ISA's instruction
//! selection (`isa/<arch>/lower.rs`): the [`Lower`] trait, and the values and operation
//! kinds that cross it.
//!
//! The translator owns every WebAssembly decision: the operand stack, control flow,
//! constant folding, which operators become libcalls and with which arguments in which
//! order, what a stencil reference means in the VM context, imported versus defined
//! calls, how traps are reported. An ISA owns every machine decision: which immediates an
//! instruction can hold, register constraints, the calling convention, how a value is
//! loaded, compared or converted. An ISA never sees a wasm operator or the operand stack.
//!
//! Each hook appends instructions to the current block of `ctx.builder` and returns the
//! virtual registers that hold its results. Hooks may assume the translator has checked
//! types: operands have the types the operation names (validation guarantees it).

use crate::compiled::RelocKind;
use crate::stencil::ConstClass;
use crate::vcode::{BlockId, MachInst, VCodeBuilder};
use regalloc2::{RegClass, VReg};
use wasmprecomp_artifact::{FuncType, Libcall, TrapKind, ValType};

/// A value on the operand stack or in a local: a virtual register, a constant not yet
/// materialized (so an ISA can fold it into an immediate), a constant slot not yet
/// materialized (so an ISA can make it a relocated immediate field, right for every value
/// of its class; see [`LowerBase::const_slot`]), or an integer comparison not yet turned
/// into 0/1 (so a branch or select can use the comparison directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    Reg(VReg, ValType),
    Const(ValType, u64),
    Slot(ValType, u32, ConstClass),
    Cmp(Compare),
}

impl Val {
    pub fn ty(self) -> ValType {
        match self {
            Val::Reg(_, t) | Val::Const(t, _) | Val::Slot(t, ..) => t,
            Val::Cmp(_) => ValType::I32,
        }
    }
}

/// Integer comparison conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntCC {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

impl IntCC {
    /// The condition that holds exactly when `self` does not.
    pub fn invert(self) -> IntCC {
        use IntCC::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            LtS => GeS,
            GeS => LtS,
            LtU => GeU,
            GeU => LtU,
            GtS => LeS,
            LeS => GtS,
            GtU => LeU,
            LeU => GtU,
        }
    }
    /// The condition with operands swapped (`a < b` == `b > a`).
    pub fn swap(self) -> IntCC {
        use IntCC::*;
        match self {
            Eq => Eq,
            Ne => Ne,
            LtS => GtS,
            GtS => LtS,
            LtU => GtU,
            GtU => LtU,
            LeS => GeS,
            GeS => LeS,
            LeU => GeU,
            GeU => LeU,
        }
    }
    /// Evaluates the condition on constants of the given width.
    pub fn eval(self, a: u64, b: u64, is64: bool) -> bool {
        use IntCC::*;
        let (ua, ub) = if is64 {
            (a, b)
        } else {
            (a as u32 as u64, b as u32 as u64)
        };
        let (sa, sb) = if is64 {
            (a as i64, b as i64)
        } else {
            (a as u32 as i32 as i64, b as u32 as i32 as i64)
        };
        match self {
            Eq => ua == ub,
            Ne => ua != ub,
            LtS => sa < sb,
            LtU => ua < ub,
            GtS => sa > sb,
            GtU => ua > ub,
            LeS => sa <= sb,
            LeU => ua <= ub,
            GeS => sa >= sb,
            GeU => ua >= ub,
        }
    }
}

/// `lhs cc rhs` on 32- or 64-bit integers, where `rhs` is a register or an immediate the
/// ISA chose (see [`LowerInt::compare`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compare {
    pub is64: bool,
    pub cc: IntCC,
    pub lhs: VReg,
    pub rhs: CmpRhs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpRhs {
    Reg(VReg),
    Imm(i32),
    /// A constant slot (and its class) as a relocated immediate field, right for every
    /// value of its class: produced only by an ISA whose comparisons have one.
    Slot(u32, ConstClass),
}

/// The register class that holds values of `t` (floats and vectors share one).
pub fn class_of(t: ValType) -> RegClass {
    if t.in_vector_regs() {
        RegClass::Float
    } else {
        RegClass::Int
    }
}

/// Where a trapping instruction reports: the kind and the stencil-relative wasm offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrapInfo {
    pub kind: TrapKind,
    pub offset: u32,
}

/// A memory, table or global reached through the VM context: the stencil reference number
/// (relocated at link time) and whether the VM context holds it inline or by pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmRef {
    pub index: u32,
    pub imported: bool,
}

/// The static offset of a load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemOffset {
    /// An offset known when compiling.
    Imm(u64),
    /// Constant slot `slot` ([`crate::stencil::ConstClass::Offset`]), written at link time
    /// through [`RelocKind::Const`]. Its value lies in
    /// `CONST_SLOT_THRESHOLD..=OFFSET_SLOT_MAX` (see `stencil.rs`): the offset plus the
    /// access size fits a signed 32-bit field and stays within the guard region, so the
    /// ISA must choose the same bounds check and encoding for every such value.
    Slot(u32),
}

/// Two-operand integer operations without traps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntBinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
}

impl IntBinOp {
    pub fn commutative(self) -> bool {
        !matches!(self, IntBinOp::Sub)
    }
}

/// Shifts and rotates; the count is taken modulo the width (the translator has already
/// reduced a constant count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftOp {
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

/// Division and remainder: trap on a zero divisor (and `DivS` on overflow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DivOp {
    DivS,
    DivU,
    RemS,
    RemU,
}

/// Float comparisons (IEEE: false on NaN, except `Ne`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatCC {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// Two-operand float operations with WebAssembly semantics (min/max propagate NaN and
/// order -0 below +0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatBinOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

/// One-operand integer operations (the result has the operand's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntUnaryOp {
    Clz,
    Ctz,
    Popcnt,
    /// Sign extension in place of the low `bits` (`i32.extend8_s` is `SignExtend(8)`).
    SignExtend(u8),
    /// The bytes in reverse order; no wasm operator, but what the translator finds in
    /// shifts, masks and `or`s that reverse a value's bytes.
    ByteSwap,
}

/// One-operand float operations (the result has the operand's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatUnaryOp {
    Abs,
    Neg,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

/// Conversions: the result type follows from the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertOp {
    /// `i64.extend_i32_s` / `_u`.
    ExtendI32 { signed: bool },
    /// `f32.demote_f64`.
    Demote,
    /// `f64.promote_f32`.
    Promote,
    /// `fN.convert_iM_s/u`.
    IntToFloat {
        src: ValType,
        dst: ValType,
        signed: bool,
    },
    /// `iM.trunc_fN_s/u` (trapping, reported at the given site) and `trunc_sat`.
    FloatToInt {
        src: ValType,
        dst: ValType,
        signed: bool,
        sat: bool,
        trap: TrapInfo,
    },
    /// Reinterpretation of the bits of a value of type `from` as the other register file.
    Reinterpret { from: ValType },
}

impl ConvertOp {
    /// The type of the result.
    pub fn result(self) -> ValType {
        use ValType::*;
        match self {
            ConvertOp::ExtendI32 { .. } => I64,
            ConvertOp::Demote => F32,
            ConvertOp::Promote => F64,
            ConvertOp::IntToFloat { dst, .. } | ConvertOp::FloatToInt { dst, .. } => dst,
            ConvertOp::Reinterpret { from } => match from {
                I32 => F32,
                I64 => F64,
                F32 => I32,
                _ => I64,
            },
        }
    }
}

/// What a load or store moves between memory and a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemKind {
    /// An integer access of `bytes` (1, 2, 4 or 8) into or from a register of type `ty`
    /// (I32 or I64); loads narrower than `ty` extend per `signed`.
    Int {
        bytes: u8,
        signed: bool,
        ty: ValType,
    },
    F32,
    F64,
    /// A whole `v128`.
    V128,
    /// 8 bytes into the low half of a `v128` whose upper half is zeroed (loads only).
    V64Zero,
    /// 4 bytes into the low lane of a `v128` whose other lanes are zeroed (loads only).
    V32Zero,
}

impl MemKind {
    /// Bytes accessed.
    pub fn bytes(self) -> u32 {
        match self {
            MemKind::Int { bytes, .. } => bytes as u32,
            MemKind::F32 | MemKind::V32Zero => 4,
            MemKind::F64 | MemKind::V64Zero => 8,
            MemKind::V128 => 16,
        }
    }
    /// The type of the register loaded or stored.
    pub fn ty(self) -> ValType {
        match self {
            MemKind::Int { ty, .. } => ty,
            MemKind::F32 => ValType::F32,
            MemKind::F64 => ValType::F64,
            MemKind::V128 | MemKind::V64Zero | MemKind::V32Zero => ValType::V128,
        }
    }
}

/// The lane shape of a `v128` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lanes {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
    F32x4,
    F64x2,
}

impl Lanes {
    /// Number of lanes.
    pub fn count(self) -> u8 {
        16 / self.bytes()
    }
    /// Bytes per lane.
    pub fn bytes(self) -> u8 {
        match self {
            Lanes::I8x16 => 1,
            Lanes::I16x8 => 2,
            Lanes::I32x4 | Lanes::F32x4 => 4,
            Lanes::I64x2 | Lanes::F64x2 => 8,
        }
    }
    /// The scalar type a lane is read as or written from (`i32` for 8- and 16-bit lanes).
    pub fn scalar(self) -> ValType {
        match self {
            Lanes::I8x16 | Lanes::I16x8 | Lanes::I32x4 => ValType::I32,
            Lanes::I64x2 => ValType::I64,
            Lanes::F32x4 => ValType::F32,
            Lanes::F64x2 => ValType::F64,
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, Lanes::F32x4 | Lanes::F64x2)
    }
}

/// Two-operand `v128` operations, lane-wise in the shape given with them unless noted.
/// Comparisons give all-ones lanes for true and zero lanes for false.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VBinOp {
    /// Bitwise (the shape does not matter).
    And,
    /// `a & !b`.
    AndNot,
    Or,
    Xor,
    /// Integer or float lanes; integer lanes wrap.
    Add,
    Sub,
    Mul,
    AddSatS,
    AddSatU,
    SubSatS,
    SubSatU,
    MinS,
    MinU,
    MaxS,
    MaxU,
    /// Rounding average of unsigned lanes.
    AvgrU,
    /// `i16x8.q15mulr_sat_s`.
    Q15MulrSatS,
    /// Integer comparisons.
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
    /// Float lanes.
    Div,
    /// WebAssembly `min`/`max`: NaN propagates, -0 is below +0.
    Min,
    Max,
    /// `b < a ? b : a` and `a < b ? b : a`.
    PMin,
    PMax,
    /// Float comparisons (false on NaN but for `FNe`).
    FEq,
    FNe,
    FLt,
    FGt,
    FLe,
    FGe,
    /// Narrowing with saturation: the shape is the result's (`I8x16` from two `i16x8`,
    /// `I16x8` from two `i32x4`).
    NarrowS,
    NarrowU,
    /// Widening multiplication of the low or high halves; the shape is the result's.
    ExtMulLowS,
    ExtMulLowU,
    ExtMulHighS,
    ExtMulHighU,
    /// `i32x4.dot_i16x8_s`.
    DotS,
    /// `i8x16.swizzle`: lanes of `a` selected by `b`, 0 for indices past 15.
    Swizzle,
    /// Relaxed SIMD, with this compiler's deterministic choice (see `docs/`).
    RelaxedSwizzle,
    RelaxedMin,
    RelaxedMax,
    RelaxedQ15MulrS,
    /// `i16x8.relaxed_dot_i8x16_i7x16_s`.
    RelaxedDot,
}

/// One-operand `v128` operations. For conversions the shape is the result's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VUnOp {
    Not,
    Abs,
    Neg,
    /// `i8x16.popcnt`.
    Popcnt,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    Nearest,
    /// Integer widening of the low or high half.
    ExtendLowS,
    ExtendLowU,
    ExtendHighS,
    ExtendHighU,
    /// Sums of adjacent lane pairs, widened.
    ExtAddPairwiseS,
    ExtAddPairwiseU,
    /// `f32x4.convert_i32x4_s/u`.
    ConvertS,
    ConvertU,
    /// `f64x2.convert_low_i32x4_s/u`.
    ConvertLowS,
    ConvertLowU,
    /// `i32x4.trunc_sat_f32x4_s/u`.
    TruncSatS,
    TruncSatU,
    /// `i32x4.trunc_sat_f64x2_s/u_zero`.
    TruncSatZeroS,
    TruncSatZeroU,
    /// `f32x4.demote_f64x2_zero`.
    DemoteZero,
    /// `f64x2.promote_low_f32x4`.
    PromoteLow,
    /// Relaxed truncations (`i32x4.relaxed_trunc_*`).
    RelaxedTruncS,
    RelaxedTruncU,
    RelaxedTruncZeroS,
    RelaxedTruncZeroU,
}

/// Three-operand `v128` operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VTernOp {
    /// `(a & c) | (b & !c)`.
    Bitselect,
    /// Relaxed lane select, float multiply-add (`a * b + c`, `-(a * b) + c`) and
    /// `i32x4.relaxed_dot_i8x16_i7x16_add_s`.
    RelaxedLaneselect,
    RelaxedMadd,
    RelaxedNmadd,
    RelaxedDotAdd,
}

/// `v128` reductions to an `i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VTestOp {
    /// Whether any bit is set (the shape does not matter).
    AnyTrue,
    /// Whether every lane is non-zero.
    AllTrue,
    /// The lanes' sign bits, lane 0 in bit 0.
    Bitmask,
}

/// Lane-wise shifts by a scalar count taken modulo the lane width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VShiftOp {
    Shl,
    ShrS,
    ShrU,
}

/// Who a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    /// A function defined in this module: function reference `func`, called directly
    /// with the caller's VM context.
    Direct { func: u32 },
    /// Code at an address, with the callee's VM context (imported functions and
    /// `call_indirect`).
    Indirect { code: VReg, vmctx: VReg },
}

/// The state an ISA's hooks work on.
pub struct LowerCtx<'s, I> {
    pub builder: VCodeBuilder<I>,
    /// The function's own signature.
    pub sig: &'s FuncType,
    /// The function's VM context.
    pub vmctx: VReg,
    /// Where multiple results are written (hidden argument), when the function has them.
    /// Set by [`LowerBase::args`].
    pub ret_area: Option<VReg>,
}

impl<I: MachInst> LowerCtx<'_, I> {
    /// A fresh virtual register for a value of type `t`.
    pub fn new_reg(&mut self, t: ValType) -> VReg {
        self.builder.new_vreg(class_of(t))
    }
}

/// An ISA's instruction selection, called by the translator once per operation in
/// program order. Every hook appends to the current block; terminator hooks end it.
///
/// Contract for every hook taking [`Val`]s: an operand may be a register, a constant or a
/// lazy comparison; the hook materializes what it cannot use directly (through
/// [`LowerBase::materialize`]) and must not assume constants were folded by the translator
/// beyond what the hook's doc says.
///
/// The hooks are grouped by operator family, one trait each, so a family (SIMD, say) is
/// added as a trait of its own beside the others; [`Lower`] is all of them.
pub trait Lower:
    LowerBase
    + LowerInt
    + LowerFloat
    + LowerConvert
    + LowerMemory
    + LowerTable
    + LowerCall
    + LowerControl
    + LowerSimd
{
}

impl<T> Lower for T where
    T: LowerBase
        + LowerInt
        + LowerFloat
        + LowerConvert
        + LowerMemory
        + LowerTable
        + LowerCall
        + LowerControl
        + LowerSimd
{
}

/// The entry, values in registers, and `select`.
pub trait LowerBase {
    type Inst: MachInst;

    /// Emits the entry: defines `ctx.vmctx`, one register per parameter of `ctx.sig`
    /// (returned in order) and, for multiple results, `ctx.ret_area`.
    fn args(&mut self, ctx: &mut LowerCtx<Self::Inst>) -> Vec<VReg>;

    /// Puts a value in a register (a comparison becomes 0 or 1, an i32 constant has
    /// undefined upper bits, a constant slot is [`LowerBase::const_slot`]).
    fn materialize(&mut self, ctx: &mut LowerCtx<Self::Inst>, v: Val) -> VReg;
    /// Puts constant slot `slot`, of type `ty` (I32 or I64) and class `class`, in a
    /// register: an instruction whose immediate is written at link time through
    /// [`RelocKind::Const`] (the field receives the low 32 bits of the value). The code
    /// must be right for every value `class` admits, and the same bytes for all of them:
    /// [`ConstClass::I32`] is any 32-bit pattern (upper bits undefined, as for
    /// `materialize`); [`ConstClass::I64Unsigned32`] is zero in its upper half and
    /// [`ConstClass::I64Signed32`] the sign extension of its lower half, so a 32-bit
    /// field suffices for both.
    fn const_slot(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        ty: ValType,
        slot: u32,
        class: ConstClass,
    ) -> VReg;

    /// `cond ? a : b` for values of type `ty`; `cond` is an i32 (possibly a comparison).
    fn select(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        ty: ValType,
        cond: Val,
        a: Val,
        b: Val,
    ) -> VReg;
}

/// Integer operations.
pub trait LowerInt: LowerBase {
    /// `a op b` on `ty` (I32 or I64), wrapping; either operand, or both, may be a
    /// constant.
    fn int_bin(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: IntBinOp,
        ty: ValType,
        a: Val,
        b: Val,
    ) -> VReg;

    /// `a op (b mod width)`; a constant `b` is already reduced modulo the width.
    fn shift(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: ShiftOp,
        ty: ValType,
        a: Val,
        b: Val,
    ) -> VReg;

    /// Division or remainder; traps at `trap` (kind `IntegerDivideByZero`) on a zero
    /// divisor and with `IntegerOverflow` for `DivS` of MIN by -1 (`RemS` of it is 0).
    fn div_rem(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: DivOp,
        ty: ValType,
        a: Val,
        b: Val,
        trap: TrapInfo,
    ) -> VReg;

    /// The lazy comparison `a cc b` on `ty` (I32 or I64), neither operand both constant
    /// (the translator folds that). The ISA picks which operand may be an immediate and
    /// may swap them (with `cc.swap()`).
    fn compare(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        ty: ValType,
        cc: IntCC,
        a: Val,
        b: Val,
    ) -> Compare;

    /// A one-operand integer operation on `ty` (I32 or I64); the result has type `ty`.
    fn int_unary(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: IntUnaryOp,
        ty: ValType,
        a: Val,
    ) -> VReg;
}

/// Float operations.
pub trait LowerFloat: LowerBase {
    /// `a op b` on F32 or F64.
    fn float_bin(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: FloatBinOp,
        ty: ValType,
        a: Val,
        b: Val,
    ) -> VReg;

    /// `a cc b` on F32 or F64 as an i32 0/1.
    fn float_compare(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        ty: ValType,
        cc: FloatCC,
        a: Val,
        b: Val,
    ) -> VReg;

    /// A one-operand float operation on `ty` (F32 or F64); the result has type `ty`.
    fn float_unary(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: FloatUnaryOp,
        ty: ValType,
        a: Val,
    ) -> VReg;
}

/// Conversions between types and register files.
pub trait LowerConvert: LowerBase {
    /// A conversion; the result has type `op.result()`.
    fn convert(&mut self, ctx: &mut LowerCtx<Self::Inst>, op: ConvertOp, a: Val) -> VReg;
}

/// Linear memory and globals.
pub trait LowerMemory: LowerBase {
    /// The base address of `mem`'s data, read once at the function's entry (a memory's
    /// base never moves: the runtime reserves its whole address space up front).
    fn heap_base(&mut self, ctx: &mut LowerCtx<Self::Inst>, mem: VmRef) -> VReg;

    /// Loads `kind` from `mem`, whose base is in `base` (from [`LowerMemory::heap_base`]),
    /// at `addr + offset` (`addr` an i32 address), trapping at `trap` when the access is
    /// out of bounds. A [`MemOffset::Slot`] offset is known only at link time.
    #[allow(clippy::too_many_arguments)]
    fn load(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        kind: MemKind,
        mem: VmRef,
        base: VReg,
        addr: Val,
        offset: MemOffset,
        trap: TrapInfo,
    ) -> VReg;

    /// Stores `value` as `kind` to `mem` at `addr + offset`, trapping like [`LowerMemory::load`].
    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        kind: MemKind,
        mem: VmRef,
        base: VReg,
        addr: Val,
        value: Val,
        offset: MemOffset,
        trap: TrapInfo,
    );

    /// The current size of `mem` in pages (i32).
    fn memory_size(&mut self, ctx: &mut LowerCtx<Self::Inst>, mem: VmRef) -> VReg;

    /// Reads `global`, a value of type `ty`.
    fn global_get(&mut self, ctx: &mut LowerCtx<Self::Inst>, global: VmRef, ty: ValType) -> VReg;

    /// Writes `value` (of type `ty`) to `global`.
    fn global_set(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        global: VmRef,
        ty: ValType,
        value: Val,
    );
}

/// Tables and function references.
pub trait LowerTable: LowerBase {
    /// `table[index]`, trapping at `trap` when out of bounds.
    fn table_get(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        table: VmRef,
        index: Val,
        trap: TrapInfo,
    ) -> VReg;

    /// `table[index] = value`, trapping at `trap` when out of bounds.
    fn table_set(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        table: VmRef,
        index: Val,
        value: Val,
        trap: TrapInfo,
    );

    /// The current size of `table` (i32).
    fn table_size(&mut self, ctx: &mut LowerCtx<Self::Inst>, table: VmRef) -> VReg;

    /// The address of function reference `func`'s funcref in the VM context.
    fn ref_func(&mut self, ctx: &mut LowerCtx<Self::Inst>, func: u32) -> VReg;
}

/// Calls: direct, indirect, through the VM context, to the runtime.
pub trait LowerCall: LowerBase {
    /// A 64-bit load from the VM context at the offset that relocation `kind` of
    /// reference `index` resolves to, plus `addend`.
    fn vm_load(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        kind: RelocKind,
        index: u32,
        addend: i32,
    ) -> VReg;

    /// A 64-bit load from `base + offset`.
    fn load_ptr(&mut self, ctx: &mut LowerCtx<Self::Inst>, base: VReg, offset: i32) -> VReg;

    /// A 64-bit store of `value` to `base + offset` (the store state's fuel counter, for
    /// code compiled with fuel interruption).
    fn store_ptr(&mut self, ctx: &mut LowerCtx<Self::Inst>, base: VReg, offset: i32, value: VReg);

    /// A 32-bit constant that relocation `kind` of reference `index` resolves to (a real
    /// module index, for libcall arguments).
    fn reloc_imm(&mut self, ctx: &mut LowerCtx<Self::Inst>, kind: RelocKind, index: u32) -> VReg;

    /// The funcref for `call_indirect`: bounds-checks `index` against `table`, loads the
    /// element, traps at `trap` on null (`IndirectCallToNull`), out of bounds
    /// (`UndefinedElement`) or a signature other than type reference `ty`
    /// (`BadSignature`).
    fn call_indirect_check(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        table: VmRef,
        ty: u32,
        index: Val,
        trap: TrapInfo,
    ) -> VReg;

    /// Calls `callee` with signature `sig` and `args`; returns the results in order.
    fn call(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        sig: &FuncType,
        callee: Callee,
        args: &[Val],
    ) -> Vec<VReg>;

    /// Calls runtime function `lc` with the VM context and the integer `args`; returns
    /// its 32-bit result when `result`.
    fn libcall(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        lc: Libcall,
        args: &[VReg],
        result: bool,
    ) -> Option<VReg>;

    /// Traps at `trap` when the i32 `v` is non-zero.
    fn trap_if_nonzero(&mut self, ctx: &mut LowerCtx<Self::Inst>, v: VReg, trap: TrapInfo);
}

/// 128-bit SIMD. Vector operands are registers of class [`RegClass::Float`]; every result
/// is a fresh register. Loads and stores of vectors go through [`LowerMemory`] with the
/// vector [`MemKind`]s.
pub trait LowerSimd: LowerBase {
    /// A `v128` constant.
    fn v128_const(&mut self, ctx: &mut LowerCtx<Self::Inst>, bits: u128) -> VReg;

    /// Every lane set to `x` (of type `lanes.scalar()`).
    fn splat(&mut self, ctx: &mut LowerCtx<Self::Inst>, lanes: Lanes, x: Val) -> VReg;

    /// Lane `lane` of `v` as a `lanes.scalar()`; 8- and 16-bit lanes extend per `signed`.
    fn extract_lane(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        lanes: Lanes,
        lane: u8,
        signed: bool,
        v: VReg,
    ) -> VReg;

    /// `v` with lane `lane` replaced by `x` (a `lanes.scalar()`, truncated to the lane).
    fn replace_lane(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        lanes: Lanes,
        lane: u8,
        v: VReg,
        x: Val,
    ) -> VReg;

    /// `i8x16.shuffle`: byte `i` of the result is byte `lanes[i]` of `a ++ b` (each index
    /// below 32, as validation guarantees).
    fn shuffle(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        a: VReg,
        b: VReg,
        lanes: [u8; 16],
    ) -> VReg;

    fn simd_bin(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: VBinOp,
        lanes: Lanes,
        a: VReg,
        b: VReg,
    ) -> VReg;

    fn simd_unary(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: VUnOp,
        lanes: Lanes,
        a: VReg,
    ) -> VReg;

    #[allow(clippy::too_many_arguments)]
    fn simd_ternary(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: VTernOp,
        lanes: Lanes,
        a: VReg,
        b: VReg,
        c: VReg,
    ) -> VReg;

    /// `a op (count mod lane bits)`, `count` an i32; a constant count is already reduced.
    fn simd_shift(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: VShiftOp,
        lanes: Lanes,
        a: VReg,
        count: Val,
    ) -> VReg;

    /// A reduction to an i32 0/1 (or a bit mask for [`VTestOp::Bitmask`]).
    fn simd_test(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        op: VTestOp,
        lanes: Lanes,
        a: VReg,
    ) -> VReg;
}

/// Terminators.
pub trait LowerControl: LowerBase {
    /// Terminator: jumps to `target` passing `args` as its block parameters.
    fn jump(&mut self, ctx: &mut LowerCtx<Self::Inst>, target: BlockId, args: Vec<VReg>);

    /// Terminator: to `taken` when the i32 `cond` is non-zero, else `not_taken`; neither
    /// takes block parameters.
    fn brif(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        cond: Val,
        taken: BlockId,
        not_taken: BlockId,
    );

    /// Terminator: `targets` are distinct and take no parameters; `table[i]` and
    /// `default` index into them.
    fn br_table(
        &mut self,
        ctx: &mut LowerCtx<Self::Inst>,
        index: Val,
        targets: &[BlockId],
        table: Vec<u32>,
        default: u32,
    );

    /// Terminator: returns `results` (the function's result types, in order).
    fn ret(&mut self, ctx: &mut LowerCtx<Self::Inst>, results: Vec<Val>);

    /// Terminator: raises trap `kind` reported at stencil offset `offset`.
    fn trap(&mut self, ctx: &mut LowerCtx<Self::Inst>, kind: TrapKind, offset: u32);
}

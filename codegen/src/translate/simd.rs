//! The semantics of every 128-bit SIMD operator (and of relaxed SIMD), ISA-neutral: what
//! is popped and pushed and which [`LowerSimd`](crate::lower::LowerSimd) hook runs.
//!
//! Loads with a twist are composed here from plain ones: a splat load is a scalar load
//! and a splat, an extending load a 64-bit load and a widening, a lane load a scalar load
//! and a lane replacement, a lane store a lane extraction and a scalar store.

use super::Translator;
use crate::error::CompileError;
use crate::lower::{Lanes, Lower, MemKind, VBinOp, VShiftOp, VTernOp, VTestOp, VUnOp, Val};
use wasmparser::VisitSimdOperator;
use wasmprecomp_artifact::ValType::{I32, V128};

type R = Result<(), CompileError>;

impl<B: Lower> Translator<'_, '_, B> {
    fn vreg(&mut self) -> Result<regalloc2::VReg, CompileError> {
        let v = self.pop()?;
        Ok(self.reg(v))
    }

    fn v_const(&mut self, bits: u128) -> R {
        let r = self.isa.v128_const(&mut self.ctx, bits);
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_bin(&mut self, op: VBinOp, lanes: Lanes) -> R {
        let b = self.vreg()?;
        let a = self.vreg()?;
        let r = self.isa.simd_bin(&mut self.ctx, op, lanes, a, b);
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_un(&mut self, op: VUnOp, lanes: Lanes) -> R {
        let a = self.vreg()?;
        let r = self.isa.simd_unary(&mut self.ctx, op, lanes, a);
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_tern(&mut self, op: VTernOp, lanes: Lanes) -> R {
        let c = self.vreg()?;
        let b = self.vreg()?;
        let a = self.vreg()?;
        let r = self.isa.simd_ternary(&mut self.ctx, op, lanes, a, b, c);
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_shift(&mut self, op: VShiftOp, lanes: Lanes) -> R {
        let count = self.pop()?;
        let a = self.vreg()?;
        let mask = lanes.bytes() as u64 * 8 - 1;
        let count = match count {
            Val::Const(t, bits) => Val::Const(t, bits & mask),
            other => other,
        };
        let r = self.isa.simd_shift(&mut self.ctx, op, lanes, a, count);
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_test(&mut self, op: VTestOp, lanes: Lanes) -> R {
        let a = self.vreg()?;
        let r = self.isa.simd_test(&mut self.ctx, op, lanes, a);
        self.push_reg(r, I32);
        Ok(())
    }

    fn v_splat(&mut self, lanes: Lanes) -> R {
        let x = self.pop()?;
        let r = self.isa.splat(&mut self.ctx, lanes, x);
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_extract(&mut self, lanes: Lanes, lane: u8, signed: bool) -> R {
        let v = self.vreg()?;
        let r = self.isa.extract_lane(&mut self.ctx, lanes, lane, signed, v);
        self.push_reg(r, lanes.scalar());
        Ok(())
    }

    fn v_replace(&mut self, lanes: Lanes, lane: u8) -> R {
        let x = self.pop()?;
        let v = self.vreg()?;
        let r = self.isa.replace_lane(&mut self.ctx, lanes, lane, v, x);
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_shuffle(&mut self, lanes: [u8; 16]) -> R {
        let b = self.vreg()?;
        let a = self.vreg()?;
        let r = self.isa.shuffle(&mut self.ctx, a, b, lanes);
        self.push_reg(r, V128);
        Ok(())
    }

    /// Pops an address and loads `kind` from it.
    fn load_reg(
        &mut self,
        kind: MemKind,
        memarg: wasmparser::MemArg,
    ) -> Result<regalloc2::VReg, CompileError> {
        let (mem, base) = self.heap()?;
        let offset = self.mem_offset(&memarg)?;
        let addr = self.pop()?;
        let trap = self.trap_here(wasmprecomp_artifact::TrapKind::MemoryOutOfBounds);
        Ok(self
            .isa
            .load(&mut self.ctx, kind, mem, base, addr, offset, trap))
    }

    fn v_load(&mut self, kind: MemKind, memarg: wasmparser::MemArg) -> R {
        let r = self.load_reg(kind, memarg)?;
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_load_extend(&mut self, op: VUnOp, lanes: Lanes, memarg: wasmparser::MemArg) -> R {
        let v = self.load_reg(MemKind::V64Zero, memarg)?;
        let r = self.isa.simd_unary(&mut self.ctx, op, lanes, v);
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_load_splat(&mut self, lanes: Lanes, memarg: wasmparser::MemArg) -> R {
        let x = self.load_reg(lane_mem(lanes), memarg)?;
        let r = self
            .isa
            .splat(&mut self.ctx, lanes, Val::Reg(x, lanes.scalar()));
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_load_lane(&mut self, lanes: Lanes, memarg: wasmparser::MemArg, lane: u8) -> R {
        let v = self.vreg()?;
        let x = self.load_reg(lane_mem(lanes), memarg)?;
        let r = self
            .isa
            .replace_lane(&mut self.ctx, lanes, lane, v, Val::Reg(x, lanes.scalar()));
        self.push_reg(r, V128);
        Ok(())
    }

    fn v_store_lane(&mut self, lanes: Lanes, memarg: wasmparser::MemArg, lane: u8) -> R {
        let v = self.vreg()?;
        let x = self.isa.extract_lane(&mut self.ctx, lanes, lane, false, v);
        self.push_reg(x, lanes.scalar());
        self.store(lane_mem(lanes), memarg)
    }
}

/// The integer load or store of one lane (lane accesses name integer shapes only).
fn lane_mem(lanes: Lanes) -> MemKind {
    MemKind::Int {
        bytes: lanes.bytes(),
        signed: false,
        ty: lanes.scalar(),
    }
}

#[rustfmt::skip]
impl<B: Lower> VisitSimdOperator<'_> for Translator<'_, '_, B> {
    fn visit_v128_load(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load(MemKind::V128, memarg) }
    fn visit_v128_store(&mut self, memarg: wasmparser::MemArg) -> R { self.store(MemKind::V128, memarg) }
    fn visit_v128_load8x8_s(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_extend(VUnOp::ExtendLowS, Lanes::I16x8, memarg) }
    fn visit_v128_load8x8_u(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_extend(VUnOp::ExtendLowU, Lanes::I16x8, memarg) }
    fn visit_v128_load16x4_s(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_extend(VUnOp::ExtendLowS, Lanes::I32x4, memarg) }
    fn visit_v128_load16x4_u(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_extend(VUnOp::ExtendLowU, Lanes::I32x4, memarg) }
    fn visit_v128_load32x2_s(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_extend(VUnOp::ExtendLowS, Lanes::I64x2, memarg) }
    fn visit_v128_load32x2_u(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_extend(VUnOp::ExtendLowU, Lanes::I64x2, memarg) }
    fn visit_v128_load8_splat(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_splat(Lanes::I8x16, memarg) }
    fn visit_v128_load16_splat(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_splat(Lanes::I16x8, memarg) }
    fn visit_v128_load32_splat(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_splat(Lanes::I32x4, memarg) }
    fn visit_v128_load64_splat(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load_splat(Lanes::I64x2, memarg) }
    fn visit_v128_load32_zero(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load(MemKind::V32Zero, memarg) }
    fn visit_v128_load64_zero(&mut self, memarg: wasmparser::MemArg) -> R { self.v_load(MemKind::V64Zero, memarg) }
    fn visit_v128_load8_lane(&mut self, memarg: wasmparser::MemArg, lane: u8) -> R { self.v_load_lane(Lanes::I8x16, memarg, lane) }
    fn visit_v128_store8_lane(&mut self, memarg: wasmparser::MemArg, lane: u8) -> R { self.v_store_lane(Lanes::I8x16, memarg, lane) }
    fn visit_v128_load16_lane(&mut self, memarg: wasmparser::MemArg, lane: u8) -> R { self.v_load_lane(Lanes::I16x8, memarg, lane) }
    fn visit_v128_store16_lane(&mut self, memarg: wasmparser::MemArg, lane: u8) -> R { self.v_store_lane(Lanes::I16x8, memarg, lane) }
    fn visit_v128_load32_lane(&mut self, memarg: wasmparser::MemArg, lane: u8) -> R { self.v_load_lane(Lanes::I32x4, memarg, lane) }
    fn visit_v128_store32_lane(&mut self, memarg: wasmparser::MemArg, lane: u8) -> R { self.v_store_lane(Lanes::I32x4, memarg, lane) }
    fn visit_v128_load64_lane(&mut self, memarg: wasmparser::MemArg, lane: u8) -> R { self.v_load_lane(Lanes::I64x2, memarg, lane) }
    fn visit_v128_store64_lane(&mut self, memarg: wasmparser::MemArg, lane: u8) -> R { self.v_store_lane(Lanes::I64x2, memarg, lane) }
    fn visit_v128_const(&mut self, value: wasmparser::V128) -> R { self.v_const(value.i128() as u128) }
    fn visit_i8x16_shuffle(&mut self, lanes: [u8; 16]) -> R { self.v_shuffle(lanes) }
    fn visit_i8x16_extract_lane_s(&mut self, lane: u8) -> R { self.v_extract(Lanes::I8x16, lane, true) }
    fn visit_i8x16_extract_lane_u(&mut self, lane: u8) -> R { self.v_extract(Lanes::I8x16, lane, false) }
    fn visit_i16x8_extract_lane_s(&mut self, lane: u8) -> R { self.v_extract(Lanes::I16x8, lane, true) }
    fn visit_i16x8_extract_lane_u(&mut self, lane: u8) -> R { self.v_extract(Lanes::I16x8, lane, false) }
    fn visit_i32x4_extract_lane(&mut self, lane: u8) -> R { self.v_extract(Lanes::I32x4, lane, false) }
    fn visit_i64x2_extract_lane(&mut self, lane: u8) -> R { self.v_extract(Lanes::I64x2, lane, false) }
    fn visit_f32x4_extract_lane(&mut self, lane: u8) -> R { self.v_extract(Lanes::F32x4, lane, false) }
    fn visit_f64x2_extract_lane(&mut self, lane: u8) -> R { self.v_extract(Lanes::F64x2, lane, false) }
    fn visit_i8x16_replace_lane(&mut self, lane: u8) -> R { self.v_replace(Lanes::I8x16, lane) }
    fn visit_i8x16_splat(&mut self) -> R { self.v_splat(Lanes::I8x16) }
    fn visit_i16x8_replace_lane(&mut self, lane: u8) -> R { self.v_replace(Lanes::I16x8, lane) }
    fn visit_i16x8_splat(&mut self) -> R { self.v_splat(Lanes::I16x8) }
    fn visit_i32x4_replace_lane(&mut self, lane: u8) -> R { self.v_replace(Lanes::I32x4, lane) }
    fn visit_i32x4_splat(&mut self) -> R { self.v_splat(Lanes::I32x4) }
    fn visit_i64x2_replace_lane(&mut self, lane: u8) -> R { self.v_replace(Lanes::I64x2, lane) }
    fn visit_i64x2_splat(&mut self) -> R { self.v_splat(Lanes::I64x2) }
    fn visit_f32x4_replace_lane(&mut self, lane: u8) -> R { self.v_replace(Lanes::F32x4, lane) }
    fn visit_f32x4_splat(&mut self) -> R { self.v_splat(Lanes::F32x4) }
    fn visit_f64x2_replace_lane(&mut self, lane: u8) -> R { self.v_replace(Lanes::F64x2, lane) }
    fn visit_f64x2_splat(&mut self) -> R { self.v_splat(Lanes::F64x2) }
    fn visit_i8x16_swizzle(&mut self) -> R { self.v_bin(VBinOp::Swizzle, Lanes::I8x16) }
    fn visit_i8x16_eq(&mut self) -> R { self.v_bin(VBinOp::Eq, Lanes::I8x16) }
    fn visit_i8x16_ne(&mut self) -> R { self.v_bin(VBinOp::Ne, Lanes::I8x16) }
    fn visit_i8x16_lt_s(&mut self) -> R { self.v_bin(VBinOp::LtS, Lanes::I8x16) }
    fn visit_i8x16_lt_u(&mut self) -> R { self.v_bin(VBinOp::LtU, Lanes::I8x16) }
    fn visit_i8x16_gt_s(&mut self) -> R { self.v_bin(VBinOp::GtS, Lanes::I8x16) }
    fn visit_i8x16_gt_u(&mut self) -> R { self.v_bin(VBinOp::GtU, Lanes::I8x16) }
    fn visit_i8x16_le_s(&mut self) -> R { self.v_bin(VBinOp::LeS, Lanes::I8x16) }
    fn visit_i8x16_le_u(&mut self) -> R { self.v_bin(VBinOp::LeU, Lanes::I8x16) }
    fn visit_i8x16_ge_s(&mut self) -> R { self.v_bin(VBinOp::GeS, Lanes::I8x16) }
    fn visit_i8x16_ge_u(&mut self) -> R { self.v_bin(VBinOp::GeU, Lanes::I8x16) }
    fn visit_i16x8_eq(&mut self) -> R { self.v_bin(VBinOp::Eq, Lanes::I16x8) }
    fn visit_i16x8_ne(&mut self) -> R { self.v_bin(VBinOp::Ne, Lanes::I16x8) }
    fn visit_i16x8_lt_s(&mut self) -> R { self.v_bin(VBinOp::LtS, Lanes::I16x8) }
    fn visit_i16x8_lt_u(&mut self) -> R { self.v_bin(VBinOp::LtU, Lanes::I16x8) }
    fn visit_i16x8_gt_s(&mut self) -> R { self.v_bin(VBinOp::GtS, Lanes::I16x8) }
    fn visit_i16x8_gt_u(&mut self) -> R { self.v_bin(VBinOp::GtU, Lanes::I16x8) }
    fn visit_i16x8_le_s(&mut self) -> R { self.v_bin(VBinOp::LeS, Lanes::I16x8) }
    fn visit_i16x8_le_u(&mut self) -> R { self.v_bin(VBinOp::LeU, Lanes::I16x8) }
    fn visit_i16x8_ge_s(&mut self) -> R { self.v_bin(VBinOp::GeS, Lanes::I16x8) }
    fn visit_i16x8_ge_u(&mut self) -> R { self.v_bin(VBinOp::GeU, Lanes::I16x8) }
    fn visit_i32x4_eq(&mut self) -> R { self.v_bin(VBinOp::Eq, Lanes::I32x4) }
    fn visit_i32x4_ne(&mut self) -> R { self.v_bin(VBinOp::Ne, Lanes::I32x4) }
    fn visit_i32x4_lt_s(&mut self) -> R { self.v_bin(VBinOp::LtS, Lanes::I32x4) }
    fn visit_i32x4_lt_u(&mut self) -> R { self.v_bin(VBinOp::LtU, Lanes::I32x4) }
    fn visit_i32x4_gt_s(&mut self) -> R { self.v_bin(VBinOp::GtS, Lanes::I32x4) }
    fn visit_i32x4_gt_u(&mut self) -> R { self.v_bin(VBinOp::GtU, Lanes::I32x4) }
    fn visit_i32x4_le_s(&mut self) -> R { self.v_bin(VBinOp::LeS, Lanes::I32x4) }
    fn visit_i32x4_le_u(&mut self) -> R { self.v_bin(VBinOp::LeU, Lanes::I32x4) }
    fn visit_i32x4_ge_s(&mut self) -> R { self.v_bin(VBinOp::GeS, Lanes::I32x4) }
    fn visit_i32x4_ge_u(&mut self) -> R { self.v_bin(VBinOp::GeU, Lanes::I32x4) }
    fn visit_i64x2_eq(&mut self) -> R { self.v_bin(VBinOp::Eq, Lanes::I64x2) }
    fn visit_i64x2_ne(&mut self) -> R { self.v_bin(VBinOp::Ne, Lanes::I64x2) }
    fn visit_i64x2_lt_s(&mut self) -> R { self.v_bin(VBinOp::LtS, Lanes::I64x2) }
    fn visit_i64x2_gt_s(&mut self) -> R { self.v_bin(VBinOp::GtS, Lanes::I64x2) }
    fn visit_i64x2_le_s(&mut self) -> R { self.v_bin(VBinOp::LeS, Lanes::I64x2) }
    fn visit_i64x2_ge_s(&mut self) -> R { self.v_bin(VBinOp::GeS, Lanes::I64x2) }
    fn visit_f32x4_eq(&mut self) -> R { self.v_bin(VBinOp::FEq, Lanes::F32x4) }
    fn visit_f32x4_ne(&mut self) -> R { self.v_bin(VBinOp::FNe, Lanes::F32x4) }
    fn visit_f32x4_lt(&mut self) -> R { self.v_bin(VBinOp::FLt, Lanes::F32x4) }
    fn visit_f32x4_gt(&mut self) -> R { self.v_bin(VBinOp::FGt, Lanes::F32x4) }
    fn visit_f32x4_le(&mut self) -> R { self.v_bin(VBinOp::FLe, Lanes::F32x4) }
    fn visit_f32x4_ge(&mut self) -> R { self.v_bin(VBinOp::FGe, Lanes::F32x4) }
    fn visit_f64x2_eq(&mut self) -> R { self.v_bin(VBinOp::FEq, Lanes::F64x2) }
    fn visit_f64x2_ne(&mut self) -> R { self.v_bin(VBinOp::FNe, Lanes::F64x2) }
    fn visit_f64x2_lt(&mut self) -> R { self.v_bin(VBinOp::FLt, Lanes::F64x2) }
    fn visit_f64x2_gt(&mut self) -> R { self.v_bin(VBinOp::FGt, Lanes::F64x2) }
    fn visit_f64x2_le(&mut self) -> R { self.v_bin(VBinOp::FLe, Lanes::F64x2) }
    fn visit_f64x2_ge(&mut self) -> R { self.v_bin(VBinOp::FGe, Lanes::F64x2) }
    fn visit_v128_not(&mut self) -> R { self.v_un(VUnOp::Not, Lanes::I8x16) }
    fn visit_v128_and(&mut self) -> R { self.v_bin(VBinOp::And, Lanes::I8x16) }
    fn visit_v128_andnot(&mut self) -> R { self.v_bin(VBinOp::AndNot, Lanes::I8x16) }
    fn visit_v128_or(&mut self) -> R { self.v_bin(VBinOp::Or, Lanes::I8x16) }
    fn visit_v128_xor(&mut self) -> R { self.v_bin(VBinOp::Xor, Lanes::I8x16) }
    fn visit_v128_bitselect(&mut self) -> R { self.v_tern(VTernOp::Bitselect, Lanes::I8x16) }
    fn visit_v128_any_true(&mut self) -> R { self.v_test(VTestOp::AnyTrue, Lanes::I8x16) }
    fn visit_i8x16_abs(&mut self) -> R { self.v_un(VUnOp::Abs, Lanes::I8x16) }
    fn visit_i8x16_neg(&mut self) -> R { self.v_un(VUnOp::Neg, Lanes::I8x16) }
    fn visit_i8x16_all_true(&mut self) -> R { self.v_test(VTestOp::AllTrue, Lanes::I8x16) }
    fn visit_i8x16_bitmask(&mut self) -> R { self.v_test(VTestOp::Bitmask, Lanes::I8x16) }
    fn visit_i8x16_shl(&mut self) -> R { self.v_shift(VShiftOp::Shl, Lanes::I8x16) }
    fn visit_i8x16_shr_s(&mut self) -> R { self.v_shift(VShiftOp::ShrS, Lanes::I8x16) }
    fn visit_i8x16_shr_u(&mut self) -> R { self.v_shift(VShiftOp::ShrU, Lanes::I8x16) }
    fn visit_i8x16_add(&mut self) -> R { self.v_bin(VBinOp::Add, Lanes::I8x16) }
    fn visit_i8x16_sub(&mut self) -> R { self.v_bin(VBinOp::Sub, Lanes::I8x16) }
    fn visit_i16x8_abs(&mut self) -> R { self.v_un(VUnOp::Abs, Lanes::I16x8) }
    fn visit_i16x8_neg(&mut self) -> R { self.v_un(VUnOp::Neg, Lanes::I16x8) }
    fn visit_i16x8_all_true(&mut self) -> R { self.v_test(VTestOp::AllTrue, Lanes::I16x8) }
    fn visit_i16x8_bitmask(&mut self) -> R { self.v_test(VTestOp::Bitmask, Lanes::I16x8) }
    fn visit_i16x8_shl(&mut self) -> R { self.v_shift(VShiftOp::Shl, Lanes::I16x8) }
    fn visit_i16x8_shr_s(&mut self) -> R { self.v_shift(VShiftOp::ShrS, Lanes::I16x8) }
    fn visit_i16x8_shr_u(&mut self) -> R { self.v_shift(VShiftOp::ShrU, Lanes::I16x8) }
    fn visit_i16x8_add(&mut self) -> R { self.v_bin(VBinOp::Add, Lanes::I16x8) }
    fn visit_i16x8_sub(&mut self) -> R { self.v_bin(VBinOp::Sub, Lanes::I16x8) }
    fn visit_i32x4_abs(&mut self) -> R { self.v_un(VUnOp::Abs, Lanes::I32x4) }
    fn visit_i32x4_neg(&mut self) -> R { self.v_un(VUnOp::Neg, Lanes::I32x4) }
    fn visit_i32x4_all_true(&mut self) -> R { self.v_test(VTestOp::AllTrue, Lanes::I32x4) }
    fn visit_i32x4_bitmask(&mut self) -> R { self.v_test(VTestOp::Bitmask, Lanes::I32x4) }
    fn visit_i32x4_shl(&mut self) -> R { self.v_shift(VShiftOp::Shl, Lanes::I32x4) }
    fn visit_i32x4_shr_s(&mut self) -> R { self.v_shift(VShiftOp::ShrS, Lanes::I32x4) }
    fn visit_i32x4_shr_u(&mut self) -> R { self.v_shift(VShiftOp::ShrU, Lanes::I32x4) }
    fn visit_i32x4_add(&mut self) -> R { self.v_bin(VBinOp::Add, Lanes::I32x4) }
    fn visit_i32x4_sub(&mut self) -> R { self.v_bin(VBinOp::Sub, Lanes::I32x4) }
    fn visit_i64x2_abs(&mut self) -> R { self.v_un(VUnOp::Abs, Lanes::I64x2) }
    fn visit_i64x2_neg(&mut self) -> R { self.v_un(VUnOp::Neg, Lanes::I64x2) }
    fn visit_i64x2_all_true(&mut self) -> R { self.v_test(VTestOp::AllTrue, Lanes::I64x2) }
    fn visit_i64x2_bitmask(&mut self) -> R { self.v_test(VTestOp::Bitmask, Lanes::I64x2) }
    fn visit_i64x2_shl(&mut self) -> R { self.v_shift(VShiftOp::Shl, Lanes::I64x2) }
    fn visit_i64x2_shr_s(&mut self) -> R { self.v_shift(VShiftOp::ShrS, Lanes::I64x2) }
    fn visit_i64x2_shr_u(&mut self) -> R { self.v_shift(VShiftOp::ShrU, Lanes::I64x2) }
    fn visit_i64x2_add(&mut self) -> R { self.v_bin(VBinOp::Add, Lanes::I64x2) }
    fn visit_i64x2_sub(&mut self) -> R { self.v_bin(VBinOp::Sub, Lanes::I64x2) }
    fn visit_i8x16_popcnt(&mut self) -> R { self.v_un(VUnOp::Popcnt, Lanes::I8x16) }
    fn visit_i8x16_narrow_i16x8_s(&mut self) -> R { self.v_bin(VBinOp::NarrowS, Lanes::I8x16) }
    fn visit_i8x16_narrow_i16x8_u(&mut self) -> R { self.v_bin(VBinOp::NarrowU, Lanes::I8x16) }
    fn visit_i16x8_narrow_i32x4_s(&mut self) -> R { self.v_bin(VBinOp::NarrowS, Lanes::I16x8) }
    fn visit_i16x8_narrow_i32x4_u(&mut self) -> R { self.v_bin(VBinOp::NarrowU, Lanes::I16x8) }
    fn visit_i8x16_add_sat_s(&mut self) -> R { self.v_bin(VBinOp::AddSatS, Lanes::I8x16) }
    fn visit_i8x16_add_sat_u(&mut self) -> R { self.v_bin(VBinOp::AddSatU, Lanes::I8x16) }
    fn visit_i8x16_sub_sat_s(&mut self) -> R { self.v_bin(VBinOp::SubSatS, Lanes::I8x16) }
    fn visit_i8x16_sub_sat_u(&mut self) -> R { self.v_bin(VBinOp::SubSatU, Lanes::I8x16) }
    fn visit_i8x16_avgr_u(&mut self) -> R { self.v_bin(VBinOp::AvgrU, Lanes::I8x16) }
    fn visit_i16x8_add_sat_s(&mut self) -> R { self.v_bin(VBinOp::AddSatS, Lanes::I16x8) }
    fn visit_i16x8_add_sat_u(&mut self) -> R { self.v_bin(VBinOp::AddSatU, Lanes::I16x8) }
    fn visit_i16x8_sub_sat_s(&mut self) -> R { self.v_bin(VBinOp::SubSatS, Lanes::I16x8) }
    fn visit_i16x8_sub_sat_u(&mut self) -> R { self.v_bin(VBinOp::SubSatU, Lanes::I16x8) }
    fn visit_i16x8_avgr_u(&mut self) -> R { self.v_bin(VBinOp::AvgrU, Lanes::I16x8) }
    fn visit_i8x16_min_s(&mut self) -> R { self.v_bin(VBinOp::MinS, Lanes::I8x16) }
    fn visit_i8x16_min_u(&mut self) -> R { self.v_bin(VBinOp::MinU, Lanes::I8x16) }
    fn visit_i8x16_max_s(&mut self) -> R { self.v_bin(VBinOp::MaxS, Lanes::I8x16) }
    fn visit_i8x16_max_u(&mut self) -> R { self.v_bin(VBinOp::MaxU, Lanes::I8x16) }
    fn visit_i16x8_min_s(&mut self) -> R { self.v_bin(VBinOp::MinS, Lanes::I16x8) }
    fn visit_i16x8_min_u(&mut self) -> R { self.v_bin(VBinOp::MinU, Lanes::I16x8) }
    fn visit_i16x8_max_s(&mut self) -> R { self.v_bin(VBinOp::MaxS, Lanes::I16x8) }
    fn visit_i16x8_max_u(&mut self) -> R { self.v_bin(VBinOp::MaxU, Lanes::I16x8) }
    fn visit_i32x4_min_s(&mut self) -> R { self.v_bin(VBinOp::MinS, Lanes::I32x4) }
    fn visit_i32x4_min_u(&mut self) -> R { self.v_bin(VBinOp::MinU, Lanes::I32x4) }
    fn visit_i32x4_max_s(&mut self) -> R { self.v_bin(VBinOp::MaxS, Lanes::I32x4) }
    fn visit_i32x4_max_u(&mut self) -> R { self.v_bin(VBinOp::MaxU, Lanes::I32x4) }
    fn visit_i16x8_mul(&mut self) -> R { self.v_bin(VBinOp::Mul, Lanes::I16x8) }
    fn visit_i32x4_mul(&mut self) -> R { self.v_bin(VBinOp::Mul, Lanes::I32x4) }
    fn visit_i64x2_mul(&mut self) -> R { self.v_bin(VBinOp::Mul, Lanes::I64x2) }
    fn visit_i16x8_q15mulr_sat_s(&mut self) -> R { self.v_bin(VBinOp::Q15MulrSatS, Lanes::I16x8) }
    fn visit_i32x4_dot_i16x8_s(&mut self) -> R { self.v_bin(VBinOp::DotS, Lanes::I32x4) }
    fn visit_i16x8_extend_low_i8x16_s(&mut self) -> R { self.v_un(VUnOp::ExtendLowS, Lanes::I16x8) }
    fn visit_i16x8_extmul_low_i8x16_s(&mut self) -> R { self.v_bin(VBinOp::ExtMulLowS, Lanes::I16x8) }
    fn visit_i16x8_extend_low_i8x16_u(&mut self) -> R { self.v_un(VUnOp::ExtendLowU, Lanes::I16x8) }
    fn visit_i16x8_extmul_low_i8x16_u(&mut self) -> R { self.v_bin(VBinOp::ExtMulLowU, Lanes::I16x8) }
    fn visit_i16x8_extend_high_i8x16_s(&mut self) -> R { self.v_un(VUnOp::ExtendHighS, Lanes::I16x8) }
    fn visit_i16x8_extmul_high_i8x16_s(&mut self) -> R { self.v_bin(VBinOp::ExtMulHighS, Lanes::I16x8) }
    fn visit_i16x8_extend_high_i8x16_u(&mut self) -> R { self.v_un(VUnOp::ExtendHighU, Lanes::I16x8) }
    fn visit_i16x8_extmul_high_i8x16_u(&mut self) -> R { self.v_bin(VBinOp::ExtMulHighU, Lanes::I16x8) }
    fn visit_i32x4_extend_low_i16x8_s(&mut self) -> R { self.v_un(VUnOp::ExtendLowS, Lanes::I32x4) }
    fn visit_i32x4_extmul_low_i16x8_s(&mut self) -> R { self.v_bin(VBinOp::ExtMulLowS, Lanes::I32x4) }
    fn visit_i32x4_extend_low_i16x8_u(&mut self) -> R { self.v_un(VUnOp::ExtendLowU, Lanes::I32x4) }
    fn visit_i32x4_extmul_low_i16x8_u(&mut self) -> R { self.v_bin(VBinOp::ExtMulLowU, Lanes::I32x4) }
    fn visit_i32x4_extend_high_i16x8_s(&mut self) -> R { self.v_un(VUnOp::ExtendHighS, Lanes::I32x4) }
    fn visit_i32x4_extmul_high_i16x8_s(&mut self) -> R { self.v_bin(VBinOp::ExtMulHighS, Lanes::I32x4) }
    fn visit_i32x4_extend_high_i16x8_u(&mut self) -> R { self.v_un(VUnOp::ExtendHighU, Lanes::I32x4) }
    fn visit_i32x4_extmul_high_i16x8_u(&mut self) -> R { self.v_bin(VBinOp::ExtMulHighU, Lanes::I32x4) }
    fn visit_i64x2_extend_low_i32x4_s(&mut self) -> R { self.v_un(VUnOp::ExtendLowS, Lanes::I64x2) }
    fn visit_i64x2_extmul_low_i32x4_s(&mut self) -> R { self.v_bin(VBinOp::ExtMulLowS, Lanes::I64x2) }
    fn visit_i64x2_extend_low_i32x4_u(&mut self) -> R { self.v_un(VUnOp::ExtendLowU, Lanes::I64x2) }
    fn visit_i64x2_extmul_low_i32x4_u(&mut self) -> R { self.v_bin(VBinOp::ExtMulLowU, Lanes::I64x2) }
    fn visit_i64x2_extend_high_i32x4_s(&mut self) -> R { self.v_un(VUnOp::ExtendHighS, Lanes::I64x2) }
    fn visit_i64x2_extmul_high_i32x4_s(&mut self) -> R { self.v_bin(VBinOp::ExtMulHighS, Lanes::I64x2) }
    fn visit_i64x2_extend_high_i32x4_u(&mut self) -> R { self.v_un(VUnOp::ExtendHighU, Lanes::I64x2) }
    fn visit_i64x2_extmul_high_i32x4_u(&mut self) -> R { self.v_bin(VBinOp::ExtMulHighU, Lanes::I64x2) }
    fn visit_i16x8_extadd_pairwise_i8x16_s(&mut self) -> R { self.v_un(VUnOp::ExtAddPairwiseS, Lanes::I16x8) }
    fn visit_i16x8_extadd_pairwise_i8x16_u(&mut self) -> R { self.v_un(VUnOp::ExtAddPairwiseU, Lanes::I16x8) }
    fn visit_i32x4_extadd_pairwise_i16x8_s(&mut self) -> R { self.v_un(VUnOp::ExtAddPairwiseS, Lanes::I32x4) }
    fn visit_i32x4_extadd_pairwise_i16x8_u(&mut self) -> R { self.v_un(VUnOp::ExtAddPairwiseU, Lanes::I32x4) }
    fn visit_f32x4_ceil(&mut self) -> R { self.v_un(VUnOp::Ceil, Lanes::F32x4) }
    fn visit_f32x4_floor(&mut self) -> R { self.v_un(VUnOp::Floor, Lanes::F32x4) }
    fn visit_f32x4_trunc(&mut self) -> R { self.v_un(VUnOp::Trunc, Lanes::F32x4) }
    fn visit_f32x4_nearest(&mut self) -> R { self.v_un(VUnOp::Nearest, Lanes::F32x4) }
    fn visit_f32x4_abs(&mut self) -> R { self.v_un(VUnOp::Abs, Lanes::F32x4) }
    fn visit_f32x4_neg(&mut self) -> R { self.v_un(VUnOp::Neg, Lanes::F32x4) }
    fn visit_f32x4_sqrt(&mut self) -> R { self.v_un(VUnOp::Sqrt, Lanes::F32x4) }
    fn visit_f32x4_add(&mut self) -> R { self.v_bin(VBinOp::Add, Lanes::F32x4) }
    fn visit_f32x4_sub(&mut self) -> R { self.v_bin(VBinOp::Sub, Lanes::F32x4) }
    fn visit_f32x4_mul(&mut self) -> R { self.v_bin(VBinOp::Mul, Lanes::F32x4) }
    fn visit_f32x4_div(&mut self) -> R { self.v_bin(VBinOp::Div, Lanes::F32x4) }
    fn visit_f32x4_min(&mut self) -> R { self.v_bin(VBinOp::Min, Lanes::F32x4) }
    fn visit_f32x4_max(&mut self) -> R { self.v_bin(VBinOp::Max, Lanes::F32x4) }
    fn visit_f32x4_pmin(&mut self) -> R { self.v_bin(VBinOp::PMin, Lanes::F32x4) }
    fn visit_f32x4_pmax(&mut self) -> R { self.v_bin(VBinOp::PMax, Lanes::F32x4) }
    fn visit_f64x2_ceil(&mut self) -> R { self.v_un(VUnOp::Ceil, Lanes::F64x2) }
    fn visit_f64x2_floor(&mut self) -> R { self.v_un(VUnOp::Floor, Lanes::F64x2) }
    fn visit_f64x2_trunc(&mut self) -> R { self.v_un(VUnOp::Trunc, Lanes::F64x2) }
    fn visit_f64x2_nearest(&mut self) -> R { self.v_un(VUnOp::Nearest, Lanes::F64x2) }
    fn visit_f64x2_abs(&mut self) -> R { self.v_un(VUnOp::Abs, Lanes::F64x2) }
    fn visit_f64x2_neg(&mut self) -> R { self.v_un(VUnOp::Neg, Lanes::F64x2) }
    fn visit_f64x2_sqrt(&mut self) -> R { self.v_un(VUnOp::Sqrt, Lanes::F64x2) }
    fn visit_f64x2_add(&mut self) -> R { self.v_bin(VBinOp::Add, Lanes::F64x2) }
    fn visit_f64x2_sub(&mut self) -> R { self.v_bin(VBinOp::Sub, Lanes::F64x2) }
    fn visit_f64x2_mul(&mut self) -> R { self.v_bin(VBinOp::Mul, Lanes::F64x2) }
    fn visit_f64x2_div(&mut self) -> R { self.v_bin(VBinOp::Div, Lanes::F64x2) }
    fn visit_f64x2_min(&mut self) -> R { self.v_bin(VBinOp::Min, Lanes::F64x2) }
    fn visit_f64x2_max(&mut self) -> R { self.v_bin(VBinOp::Max, Lanes::F64x2) }
    fn visit_f64x2_pmin(&mut self) -> R { self.v_bin(VBinOp::PMin, Lanes::F64x2) }
    fn visit_f64x2_pmax(&mut self) -> R { self.v_bin(VBinOp::PMax, Lanes::F64x2) }
    fn visit_i32x4_trunc_sat_f32x4_s(&mut self) -> R { self.v_un(VUnOp::TruncSatS, Lanes::I32x4) }
    fn visit_i32x4_trunc_sat_f32x4_u(&mut self) -> R { self.v_un(VUnOp::TruncSatU, Lanes::I32x4) }
    fn visit_f32x4_convert_i32x4_s(&mut self) -> R { self.v_un(VUnOp::ConvertS, Lanes::F32x4) }
    fn visit_f32x4_convert_i32x4_u(&mut self) -> R { self.v_un(VUnOp::ConvertU, Lanes::F32x4) }
    fn visit_i32x4_trunc_sat_f64x2_s_zero(&mut self) -> R { self.v_un(VUnOp::TruncSatZeroS, Lanes::I32x4) }
    fn visit_i32x4_trunc_sat_f64x2_u_zero(&mut self) -> R { self.v_un(VUnOp::TruncSatZeroU, Lanes::I32x4) }
    fn visit_f64x2_convert_low_i32x4_s(&mut self) -> R { self.v_un(VUnOp::ConvertLowS, Lanes::F64x2) }
    fn visit_f64x2_convert_low_i32x4_u(&mut self) -> R { self.v_un(VUnOp::ConvertLowU, Lanes::F64x2) }
    fn visit_f32x4_demote_f64x2_zero(&mut self) -> R { self.v_un(VUnOp::DemoteZero, Lanes::F32x4) }
    fn visit_f64x2_promote_low_f32x4(&mut self) -> R { self.v_un(VUnOp::PromoteLow, Lanes::F64x2) }

    // Relaxed SIMD.
    fn visit_i8x16_relaxed_swizzle(&mut self) -> R { self.v_bin(VBinOp::RelaxedSwizzle, Lanes::I8x16) }
    fn visit_i32x4_relaxed_trunc_f32x4_s(&mut self) -> R { self.v_un(VUnOp::RelaxedTruncS, Lanes::I32x4) }
    fn visit_i32x4_relaxed_trunc_f32x4_u(&mut self) -> R { self.v_un(VUnOp::RelaxedTruncU, Lanes::I32x4) }
    fn visit_i32x4_relaxed_trunc_f64x2_s_zero(&mut self) -> R { self.v_un(VUnOp::RelaxedTruncZeroS, Lanes::I32x4) }
    fn visit_i32x4_relaxed_trunc_f64x2_u_zero(&mut self) -> R { self.v_un(VUnOp::RelaxedTruncZeroU, Lanes::I32x4) }
    fn visit_f32x4_relaxed_madd(&mut self) -> R { self.v_tern(VTernOp::RelaxedMadd, Lanes::F32x4) }
    fn visit_f32x4_relaxed_nmadd(&mut self) -> R { self.v_tern(VTernOp::RelaxedNmadd, Lanes::F32x4) }
    fn visit_f32x4_relaxed_min(&mut self) -> R { self.v_bin(VBinOp::RelaxedMin, Lanes::F32x4) }
    fn visit_f32x4_relaxed_max(&mut self) -> R { self.v_bin(VBinOp::RelaxedMax, Lanes::F32x4) }
    fn visit_f64x2_relaxed_madd(&mut self) -> R { self.v_tern(VTernOp::RelaxedMadd, Lanes::F64x2) }
    fn visit_f64x2_relaxed_nmadd(&mut self) -> R { self.v_tern(VTernOp::RelaxedNmadd, Lanes::F64x2) }
    fn visit_f64x2_relaxed_min(&mut self) -> R { self.v_bin(VBinOp::RelaxedMin, Lanes::F64x2) }
    fn visit_f64x2_relaxed_max(&mut self) -> R { self.v_bin(VBinOp::RelaxedMax, Lanes::F64x2) }
    fn visit_i8x16_relaxed_laneselect(&mut self) -> R { self.v_tern(VTernOp::RelaxedLaneselect, Lanes::I8x16) }
    fn visit_i16x8_relaxed_laneselect(&mut self) -> R { self.v_tern(VTernOp::RelaxedLaneselect, Lanes::I16x8) }
    fn visit_i32x4_relaxed_laneselect(&mut self) -> R { self.v_tern(VTernOp::RelaxedLaneselect, Lanes::I32x4) }
    fn visit_i64x2_relaxed_laneselect(&mut self) -> R { self.v_tern(VTernOp::RelaxedLaneselect, Lanes::I64x2) }
    fn visit_i16x8_relaxed_q15mulr_s(&mut self) -> R { self.v_bin(VBinOp::RelaxedQ15MulrS, Lanes::I16x8) }
    fn visit_i16x8_relaxed_dot_i8x16_i7x16_s(&mut self) -> R { self.v_bin(VBinOp::RelaxedDot, Lanes::I16x8) }
    fn visit_i32x4_relaxed_dot_i8x16_i7x16_add_s(&mut self) -> R { self.v_tern(VTernOp::RelaxedDotAdd, Lanes::I32x4) }
}

//! x86-64 lowering: integer operations: immediates where x86 has them, shift counts in `cl`, division in `rax`/`rdx`.

use super::*;

/// The slot and operation size when constant slot `v` can be the relocated imm32 of `op`
/// at `size`: as [`slot_imm32`] says, and also an `I64Unsigned32` slot in a 64-bit
/// `and`, done as a 32-bit `and`: with the constant's upper half zero, the result is the
/// zero extension of the lower halves' `and`, which a 32-bit operation writes.
fn slot_operand(op: IntBinOp, v: Val, size: Size) -> Option<(u32, Size)> {
    match v {
        Val::Slot(_, slot, ConstClass::I64Unsigned32)
            if op == IntBinOp::And && size == Size::S64 =>
        {
            Some((slot, Size::S32))
        }
        _ => slot_imm32(v, size).map(|(slot, _)| (slot, size)),
    }
}

/// The base and the scaled index of `a + b` at `size`: when one addend is a shift left by
/// 1 to 3 of that size, its source scaled by 2, 4 or 8 (the shift is removed when lowering
/// ends if nothing else uses its result), else `b` unscaled.
fn scaled_index(ctx: C, a: VReg, b: VReg, size: Size) -> (Reg, (Reg, u8)) {
    let shifted = |v: VReg| match ctx.builder.def_of(v) {
        Some(&Inst::ShiftRI {
            src,
            op: ShiftOp::Shl,
            size: s,
            imm: imm @ 1..=3,
            ..
        }) if s == size => Some((src, 1u8 << imm)),
        _ => None,
    };
    match (shifted(b), shifted(a)) {
        (Some(index), _) => (r(a), index),
        (None, Some(index)) => (r(b), index),
        (None, None) => (r(a), (r(b), 1)),
    }
}

impl LowerInt for X64Lower {
    fn int_bin(&mut self, ctx: C, op: IntBinOp, ty: ValType, a: Val, b: Val) -> VReg {
        let size = size_of(ty);
        let (mut a, mut b) = (a, b);
        let folds = |v: Val| imm32(v, size).is_some() || slot_operand(op, v, size).is_some();
        if op.commutative() && !folds(b) && folds(a) {
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
        if alu == AluOp::Add && slot_operand(op, b, size).is_none() {
            // An add of a constant or a register as `lea`: without an operand to reuse, the
            // allocator need not copy an addend that lives on.
            let (base, index, disp) = match imm32(b, size) {
                Some(imm) => (r(ra), None, imm),
                None => {
                    let rb = self.reg(ctx, b);
                    let (base, index) = scaled_index(ctx, ra, rb, size);
                    (base, Some(index), 0)
                }
            };
            ctx.builder.push(Inst::Lea {
                base,
                index,
                disp,
                dst: r(dst),
                size,
            });
        } else if let Some(imm) = imm32(b, size) {
            ctx.builder.push(Inst::AluRI {
                src: r(ra),
                dst: r(dst),
                op: alu,
                size,
                imm,
            });
        } else if let Some((slot, size)) = slot_operand(op, b, size) {
            ctx.builder.push(Inst::AluRSlot {
                src: r(ra),
                dst: r(dst),
                op: alu,
                size,
                slot,
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
        let width: u64 = if size == Size::S64 { 64 } else { 32 };
        match (b, op) {
            // BMI2: no operand to reuse and no count in rcx. A left rotate by k is a
            // right rotate by the width minus k.
            (Val::Const(_, k), ShiftOp::Rol | ShiftOp::Ror) if self.features.bmi2 => {
                let k = k % width;
                let imm = if op == ShiftOp::Rol {
                    (width - k) % width
                } else {
                    k
                } as u8;
                ctx.builder.push(Inst::Rorx {
                    src: r(ra),
                    dst: r(dst),
                    size,
                    imm,
                });
                return dst;
            }
            (b, ShiftOp::Shl | ShiftOp::Shr | ShiftOp::Sar)
                if self.features.bmi2 && !matches!(b, Val::Const(..)) =>
            {
                let rb = self.reg(ctx, b);
                ctx.builder.push(Inst::ShiftX {
                    src: r(ra),
                    count: r(rb),
                    dst: r(dst),
                    op,
                    size,
                });
                return dst;
            }
            _ => {}
        }
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
        let folds = |v: Val| imm32(v, size).is_some() || slot_imm32(v, size).is_some();
        let (a, b, cc) = if !folds(b) && folds(a) {
            (b, a, cc.swap())
        } else {
            (a, b, cc)
        };
        let lhs = self.reg(ctx, a);
        let rhs = match (imm32(b, size), slot_imm32(b, size)) {
            (Some(i), _) => CmpRhs::Imm(i),
            (None, Some((slot, class))) => CmpRhs::Slot(slot, class),
            (None, None) => CmpRhs::Reg(self.reg(ctx, b)),
        };
        Compare { is64, cc, lhs, rhs }
    }

    fn int_unary(&mut self, ctx: C, op: IntUnaryOp, ty: ValType, a: Val) -> VReg {
        let ra = self.reg(ctx, a);
        let dst = ctx.new_reg(ty);
        let (src, dst_r, size) = (r(ra), r(dst), size_of(ty));
        ctx.builder.push(match op {
            IntUnaryOp::Clz if self.features.bit_counts => Inst::Lzcnt {
                src,
                dst: dst_r,
                size,
            },
            IntUnaryOp::Ctz if self.features.bit_counts => Inst::Tzcnt {
                src,
                dst: dst_r,
                size,
            },
            IntUnaryOp::Clz => Inst::Clz {
                src,
                dst: dst_r,
                size,
            },
            IntUnaryOp::Ctz => Inst::Ctz {
                src,
                dst: dst_r,
                size,
            },
            IntUnaryOp::Popcnt => Inst::Popcnt {
                src,
                dst: dst_r,
                size,
            },
            IntUnaryOp::ByteSwap => Inst::Bswap {
                src,
                dst: dst_r,
                size,
            },
            IntUnaryOp::SignExtend(bits) => Inst::Extend {
                src,
                dst: dst_r,
                kind: match bits {
                    8 => LoadKind::S8,
                    16 => LoadKind::S16,
                    _ => LoadKind::S32,
                },
                size,
            },
        });
        dst
    }
}

//! x86-64 emission: conversions between types and register files.

use super::*;

impl Emitter {
    /// Emits one of the conversions between types and register files (see `Emitter::inst`).
    pub(super) fn convert(&mut self, inst: &Inst) {
        match inst {
            Inst::FConvert { src, dst, op } => self.asm.sse(*op, x(*dst), x(*src)),
            Inst::IntToFloat {
                src,
                dst,
                src_size,
                dst64,
                signed,
            } => self.int_to_float(*src_size, *dst64, *signed, x(*dst), g(*src)),
            Inst::FloatToInt {
                src,
                dst,
                src64,
                dst_size,
                signed,
                sat,
                trap,
            } => self.float_to_int(*src64, *dst_size, *signed, *sat, *trap, g(*dst), x(*src)),
            Inst::Bitcast {
                src,
                dst,
                to_float,
                size,
            } => {
                if *to_float {
                    self.asm.movd_to_xmm(*size, x(*dst), g(*src));
                } else {
                    self.asm.movd_from_xmm(*size, g(*dst), x(*src));
                }
            }
            other => unreachable!("not one of the convert family: {other:?}"),
        }
    }

    pub(super) fn cvtt(&mut self, is64: bool, size: Size, dst: Gpr, src: Xmm) {
        if is64 {
            self.asm.cvttsd2si(size, dst, src);
        } else {
            self.asm.cvttss2si(size, dst, src);
        }
    }

    // The flags mirror `Inst::FloatToInt`'s fields; bundling them would only add a type.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn float_to_int(
        &mut self,
        src64: bool,
        size: Size,
        signed: bool,
        sat: bool,
        t: TrapInfo,
        dst: Gpr,
        src: Xmm,
    ) {
        let done = self.asm.new_label();
        let bits64 = size == Size::S64;
        if signed {
            self.cvtt(src64, size, dst, src);
            // The result is the "integer indefinite" value iff dst - 1 overflows.
            self.asm.alu_ri(AluOp::Cmp, size, dst, 1);
            self.jcc(Cond::NO, done);
            if sat {
                let nan = self.asm.new_label();
                self.ucomis(src64, src, src);
                self.jcc(Cond::P, nan);
                self.asm.sse(SseOp::Xorps, SCRATCH_X, SCRATCH_X);
                self.ucomis(src64, src, SCRATCH_X);
                self.jcc(Cond::B, done);
                if bits64 {
                    self.asm.mov_ri(Size::S64, dst, i64::MAX as u64);
                } else {
                    self.asm.mov_ri(Size::S32, dst, i32::MAX as u64);
                }
                self.jmp(done);
                self.asm.bind(nan);
                self.asm.alu_rr(AluOp::Xor, Size::S32, dst, dst);
            } else {
                let bad = self.stub(TrapKind::BadConversionToInteger, t.offset);
                let ovf = self.stub(TrapKind::IntegerOverflow, t.offset);
                self.ucomis(src64, src, src);
                self.jcc(Cond::P, bad);
                if bits64 {
                    self.fconst(src64, -9223372036854775808.0, SCRATCH_X);
                    self.ucomis(src64, src, SCRATCH_X);
                    self.jcc(Cond::B, ovf);
                    self.fconst(src64, 9223372036854775808.0, SCRATCH_X);
                } else if src64 {
                    self.fconst(true, -2147483649.0, SCRATCH_X);
                    self.ucomis(true, src, SCRATCH_X);
                    self.jcc(Cond::BE, ovf);
                    self.fconst(true, 2147483648.0, SCRATCH_X);
                } else {
                    self.fconst(false, -2147483648.0, SCRATCH_X);
                    self.ucomis(false, src, SCRATCH_X);
                    self.jcc(Cond::B, ovf);
                    self.fconst(false, 2147483648.0, SCRATCH_X);
                }
                self.ucomis(src64, src, SCRATCH_X);
                self.jcc(Cond::AE, ovf);
            }
            self.asm.bind(done);
            return;
        }
        // Unsigned.
        let (zero, max) = (self.asm.new_label(), self.asm.new_label());
        let (nan_l, low_l, high_l) = if sat {
            (zero, zero, max)
        } else {
            (
                self.stub(TrapKind::BadConversionToInteger, t.offset),
                self.stub(TrapKind::IntegerOverflow, t.offset),
                self.stub(TrapKind::IntegerOverflow, t.offset),
            )
        };
        self.ucomis(src64, src, src);
        self.jcc(Cond::P, nan_l);
        if sat {
            self.asm.sse(SseOp::Xorps, SCRATCH_X, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.jcc(Cond::BE, low_l);
        } else {
            self.fconst(src64, -1.0, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.jcc(Cond::BE, low_l);
        }
        if bits64 {
            self.fconst(src64, 18446744073709551616.0, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.jcc(Cond::AE, high_l);
            let big = self.asm.new_label();
            self.fconst(src64, 9223372036854775808.0, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.jcc(Cond::AE, big);
            self.cvtt(src64, Size::S64, dst, src);
            self.jmp(done);
            self.asm.bind(big);
            self.asm.movaps(SCRATCH_X2, src);
            self.asm.sse(
                if src64 { SseOp::Subsd } else { SseOp::Subss },
                SCRATCH_X2,
                SCRATCH_X,
            );
            self.cvtt(src64, Size::S64, dst, SCRATCH_X2);
            self.asm.mov_ri(Size::S64, R11, 1u64 << 63);
            self.asm.alu_rr(AluOp::Xor, Size::S64, dst, R11);
            self.jmp(done);
        } else {
            self.fconst(src64, 4294967296.0, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.jcc(Cond::AE, high_l);
            self.cvtt(src64, Size::S64, dst, src);
            self.jmp(done);
        }
        self.asm.bind(zero);
        if sat {
            self.asm.alu_rr(AluOp::Xor, Size::S32, dst, dst);
            self.jmp(done);
        }
        self.asm.bind(max);
        if sat {
            if bits64 {
                self.asm.mov_ri(Size::S64, dst, u64::MAX);
            } else {
                self.asm.mov_ri(Size::S32, dst, u32::MAX as u64);
            }
        }
        self.asm.bind(done);
    }

    pub(super) fn int_to_float(
        &mut self,
        src_size: Size,
        dst64: bool,
        signed: bool,
        dst: Xmm,
        src: Gpr,
    ) {
        let cvt = |a: &mut Asm, size: Size, d: Xmm, s: Gpr| {
            if dst64 {
                a.cvtsi2sd(size, d, s)
            } else {
                a.cvtsi2ss(size, d, s)
            }
        };
        // Break the dependency on dst's old value.
        self.asm.sse(SseOp::Xorps, dst, dst);
        if signed {
            cvt(&mut self.asm, src_size, dst, src);
        } else if src_size == Size::S32 {
            self.asm.mov_rr(Size::S32, R11, src);
            cvt(&mut self.asm, Size::S64, dst, R11);
        } else {
            let (big, done) = (self.asm.new_label(), self.asm.new_label());
            self.asm.test_rr(Size::S64, src, src);
            self.jcc(Cond::S, big);
            cvt(&mut self.asm, Size::S64, dst, src);
            self.jmp(done);
            self.asm.bind(big);
            // Halve with the low bit kept sticky, convert, double: correctly rounded.
            self.asm.mov_rr(Size::S64, R10, src);
            self.asm.shift_ri(ShiftOp::Shr, Size::S64, R10, 1);
            self.asm.mov_rr(Size::S64, R11, src);
            self.asm.alu_ri(AluOp::And, Size::S32, R11, 1);
            self.asm.alu_rr(AluOp::Or, Size::S64, R10, R11);
            cvt(&mut self.asm, Size::S64, dst, R10);
            self.asm
                .sse(if dst64 { SseOp::Addsd } else { SseOp::Addss }, dst, dst);
            self.asm.bind(done);
        }
    }
}

//! Emission: allocated VCode -> machine code, relocations and trap sites.
//!
//! Frame layout (rbp-based; rsp is fixed after the prologue):
//!
//! ```text
//! [rbp + 16 + 8k]  incoming stack argument k
//! [rbp + 8]        return address
//! [rbp]            caller's rbp
//! [rbp - 8]        VM context (trap stubs read it here)
//! [rbp - 16 - 8j]  saved callee-saved register j
//! [rsp + out + 8i] spill slot i
//! [rsp + 0 ..]     outgoing stack arguments and result areas
//! ```

use super::abi;
use super::asm::{regs::*, *};
use super::inst::*;
use crate::compiled::{CompiledStencil, Reloc, RelocKind, StencilTrap};
use crate::vcode::{Reg, VCode};
use regalloc2::{Allocation, Edit, InstOrEdit, Output, RegClass};
use wasmprecomp_artifact::{
    TrapKind, FUNCREF_SIG, STORE_STACK_LIMIT, VMCTX_LIBCALLS, VMCTX_RAISE, VMCTX_STORE,
    VMMEMORY_BASE, VMMEMORY_LEN, VMTABLE_BASE, VMTABLE_LEN,
};

/// A displacement that forces a 32-bit field, patched by a relocation.
const PLACEHOLDER: i32 = 0x7fff_0000;

struct Emitter {
    asm: Asm,
    relocs: Vec<Reloc>,
    traps: Vec<StencilTrap>,
    stubs: Vec<(Label, TrapInfo)>,
    tables: Vec<(Label, Vec<Label>)>,
    /// Offset of spill slot 0 from rsp.
    spill_base: i32,
    saved: Vec<Gpr>,
}

/// The general-purpose register allocated to an operand.
fn g(r: Reg) -> Gpr {
    Gpr(r.preg().hw_enc() as u8)
}
/// The SSE register allocated to an operand.
fn x(r: Reg) -> Xmm {
    Xmm(r.preg().hw_enc() as u8)
}
fn ga(a: Allocation) -> Gpr {
    Gpr(a.as_reg().expect("register allocation").hw_enc() as u8)
}
fn xa(a: Allocation) -> Xmm {
    Xmm(a.as_reg().expect("register allocation").hw_enc() as u8)
}
fn m(base: Gpr, disp: i32) -> Amode {
    Amode::base_disp(base, disp)
}

const SCRATCH_X: Xmm = Xmm(15);
const SCRATCH_X2: Xmm = Xmm(14);

impl Emitter {
    /// Records a relocation on the 4-byte field just emitted and zeroes it.
    fn reloc_last(&mut self, kind: RelocKind, index: u32, addend: i32) {
        let off = self.asm.offset() - 4;
        self.asm.patch_u32(off, 0);
        self.relocs.push(Reloc {
            offset: off,
            kind,
            index,
            addend,
        });
    }

    fn stub(&mut self, kind: TrapKind, offset: u32) -> Label {
        let l = self.asm.new_label();
        self.stubs.push((l, TrapInfo { kind, offset }));
        l
    }

    /// Calls the raise-trap routine; never returns. The return address identifies the site.
    fn raise(&mut self, t: TrapInfo) {
        self.asm.load(LoadKind::I64, Size::S64, RDI, m(RBP, -8));
        self.asm.call_m(m(RDI, VMCTX_RAISE as i32));
        self.traps.push(StencilTrap {
            code_offset: self.asm.offset(),
            kind: t.kind,
            wasm_offset: t.offset,
        });
    }

    fn spill(&self, a: Allocation) -> Amode {
        let s = a.as_stack().expect("stack allocation");
        m(RSP, self.spill_base + 8 * s.index() as i32)
    }

    fn edit_move(&mut self, from: Allocation, to: Allocation) {
        let class = from
            .as_reg()
            .map(|r| r.class())
            .or_else(|| to.as_reg().map(|r| r.class()))
            .unwrap_or(RegClass::Int);
        let float = class == RegClass::Float;
        match (from.is_reg(), to.is_reg()) {
            (true, true) => {
                if from == to {
                    return;
                }
                if float {
                    self.asm.movaps(xa(to), xa(from));
                } else {
                    self.asm.mov_rr(Size::S64, ga(to), ga(from));
                }
            }
            (true, false) => {
                let a = self.spill(to);
                if float {
                    self.asm.movsd_store(a, xa(from));
                } else {
                    self.asm.store(Size::S64, a, ga(from));
                }
            }
            (false, true) => {
                let a = self.spill(from);
                if float {
                    self.asm.movsd_load(xa(to), a);
                } else {
                    self.asm.load(LoadKind::I64, Size::S64, ga(to), a);
                }
            }
            (false, false) => unreachable!("regalloc2 never emits stack-to-stack moves"),
        }
    }

    fn epilogue(&mut self) {
        for (j, r) in self.saved.clone().iter().enumerate() {
            self.asm
                .load(LoadKind::I64, Size::S64, *r, m(RBP, -16 - 8 * j as i32));
        }
        self.asm.mov_rr(Size::S64, RSP, RBP);
        self.asm.pop(RBP);
        self.asm.ret();
    }

    /// Address of a VM-context slot (`[vmctx + reloc + addend]`), or through its pointer
    /// when imported: then `r11` holds the pointer and the result is `[r11 + addend]`.
    /// The relocation is recorded by `finish_vm`.
    fn vm_slot_ptr(&mut self, vmctx: Gpr, kind: RelocKind, r: VmRef) -> Gpr {
        if r.imported {
            self.asm
                .load(LoadKind::I64, Size::S64, R11, m(vmctx, PLACEHOLDER));
            self.reloc_last(kind, r.index, 0);
            R11
        } else {
            vmctx
        }
    }

    /// Emits `op` whose last 4 bytes are the displacement of a VM-context slot field.
    fn vm_field(
        &mut self,
        base: Gpr,
        kind: RelocKind,
        r: VmRef,
        field: i32,
        op: impl FnOnce(&mut Asm, Amode),
    ) {
        if r.imported {
            op(&mut self.asm, m(base, field));
        } else {
            op(&mut self.asm, m(base, PLACEHOLDER));
            self.reloc_last(kind, r.index, field);
        }
    }

    /// Bounds-checks a memory access; leaves `r11` = memory base and `r10` = address +
    /// offset + size, so the access is at `[r11 + r10 - size]`.
    fn heap_addr(
        &mut self,
        vmctx: Gpr,
        addr: Gpr,
        offset: u64,
        size: u32,
        mem: VmRef,
        t: TrapInfo,
    ) -> Amode {
        self.asm.mov_rr(Size::S32, R10, addr);
        let end = offset + size as u64;
        if end <= i32::MAX as u64 {
            self.asm.alu_ri(AluOp::Add, Size::S64, R10, end as i32);
        } else {
            self.asm.mov_ri(Size::S64, R11, end);
            self.asm.alu_rr(AluOp::Add, Size::S64, R10, R11);
        }
        let base = self.vm_slot_ptr(vmctx, RelocKind::VmMemory, mem);
        self.vm_field(
            base,
            RelocKind::VmMemory,
            mem,
            VMMEMORY_LEN as i32,
            |a, am| a.alu_rm(AluOp::Cmp, Size::S64, R10, am),
        );
        let l = self.stub(t.kind, t.offset);
        self.asm.jcc(Cond::A, l);
        self.vm_field(
            base,
            RelocKind::VmMemory,
            mem,
            VMMEMORY_BASE as i32,
            |a, am| a.load(LoadKind::I64, Size::S64, R11, am),
        );
        Amode::base_index(R11, R10, 1, -(size as i32))
    }

    /// Bounds-checks a table index; leaves `r11` = element base and `r10` = index.
    fn table_addr(&mut self, vmctx: Gpr, idx: Gpr, table: VmRef, t: TrapInfo) -> Amode {
        self.asm.mov_rr(Size::S32, R10, idx);
        let base = self.vm_slot_ptr(vmctx, RelocKind::VmTable, table);
        self.vm_field(
            base,
            RelocKind::VmTable,
            table,
            VMTABLE_LEN as i32,
            |a, am| a.alu_rm(AluOp::Cmp, Size::S64, R10, am),
        );
        let l = self.stub(t.kind, t.offset);
        self.asm.jcc(Cond::AE, l);
        self.vm_field(
            base,
            RelocKind::VmTable,
            table,
            VMTABLE_BASE as i32,
            |a, am| a.load(LoadKind::I64, Size::S64, R11, am),
        );
        Amode::base_index(R11, R10, 8, 0)
    }

    fn fconst(&mut self, is64: bool, v: f64, dst: Xmm) {
        if is64 {
            self.asm.mov_ri(Size::S64, R11, v.to_bits());
            self.asm.movd_to_xmm(Size::S64, dst, R11);
        } else {
            self.asm.mov_ri(Size::S32, R11, (v as f32).to_bits() as u64);
            self.asm.movd_to_xmm(Size::S32, dst, R11);
        }
    }

    fn ucomis(&mut self, is64: bool, a: Xmm, b: Xmm) {
        self.asm
            .sse(if is64 { SseOp::Ucomisd } else { SseOp::Ucomiss }, a, b);
    }

    fn cvtt(&mut self, is64: bool, size: Size, dst: Gpr, src: Xmm) {
        if is64 {
            self.asm.cvttsd2si(size, dst, src);
        } else {
            self.asm.cvttss2si(size, dst, src);
        }
    }

    // The flags mirror `Inst::FloatToInt`'s fields; bundling them would only add a type.
    #[allow(clippy::too_many_arguments)]
    fn float_to_int(
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
            self.asm.jcc(Cond::NO, done);
            if sat {
                let nan = self.asm.new_label();
                self.ucomis(src64, src, src);
                self.asm.jcc(Cond::P, nan);
                self.asm.sse(SseOp::Xorps, SCRATCH_X, SCRATCH_X);
                self.ucomis(src64, src, SCRATCH_X);
                self.asm.jcc(Cond::B, done);
                if bits64 {
                    self.asm.mov_ri(Size::S64, dst, i64::MAX as u64);
                } else {
                    self.asm.mov_ri(Size::S32, dst, i32::MAX as u64);
                }
                self.asm.jmp(done);
                self.asm.bind(nan);
                self.asm.alu_rr(AluOp::Xor, Size::S32, dst, dst);
            } else {
                let bad = self.stub(TrapKind::BadConversionToInteger, t.offset);
                let ovf = self.stub(TrapKind::IntegerOverflow, t.offset);
                self.ucomis(src64, src, src);
                self.asm.jcc(Cond::P, bad);
                if bits64 {
                    self.fconst(src64, -9223372036854775808.0, SCRATCH_X);
                    self.ucomis(src64, src, SCRATCH_X);
                    self.asm.jcc(Cond::B, ovf);
                    self.fconst(src64, 9223372036854775808.0, SCRATCH_X);
                } else if src64 {
                    self.fconst(true, -2147483649.0, SCRATCH_X);
                    self.ucomis(true, src, SCRATCH_X);
                    self.asm.jcc(Cond::BE, ovf);
                    self.fconst(true, 2147483648.0, SCRATCH_X);
                } else {
                    self.fconst(false, -2147483648.0, SCRATCH_X);
                    self.ucomis(false, src, SCRATCH_X);
                    self.asm.jcc(Cond::B, ovf);
                    self.fconst(false, 2147483648.0, SCRATCH_X);
                }
                self.ucomis(src64, src, SCRATCH_X);
                self.asm.jcc(Cond::AE, ovf);
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
        self.asm.jcc(Cond::P, nan_l);
        if sat {
            self.asm.sse(SseOp::Xorps, SCRATCH_X, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.asm.jcc(Cond::BE, low_l);
        } else {
            self.fconst(src64, -1.0, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.asm.jcc(Cond::BE, low_l);
        }
        if bits64 {
            self.fconst(src64, 18446744073709551616.0, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.asm.jcc(Cond::AE, high_l);
            let big = self.asm.new_label();
            self.fconst(src64, 9223372036854775808.0, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.asm.jcc(Cond::AE, big);
            self.cvtt(src64, Size::S64, dst, src);
            self.asm.jmp(done);
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
            self.asm.jmp(done);
        } else {
            self.fconst(src64, 4294967296.0, SCRATCH_X);
            self.ucomis(src64, src, SCRATCH_X);
            self.asm.jcc(Cond::AE, high_l);
            self.cvtt(src64, Size::S64, dst, src);
            self.asm.jmp(done);
        }
        self.asm.bind(zero);
        if sat {
            self.asm.alu_rr(AluOp::Xor, Size::S32, dst, dst);
            self.asm.jmp(done);
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

    fn int_to_float(&mut self, src_size: Size, dst64: bool, signed: bool, dst: Xmm, src: Gpr) {
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
            self.asm.jcc(Cond::S, big);
            cvt(&mut self.asm, Size::S64, dst, src);
            self.asm.jmp(done);
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

    fn load_kind(&mut self, kind: MemKind, a: Amode, dst: Reg) {
        match kind {
            MemKind::Int(k, size) => self.asm.load(k, size, g(dst), a),
            MemKind::F32 => self.asm.movss_load(x(dst), a),
            MemKind::F64 => self.asm.movsd_load(x(dst), a),
        }
    }

    fn store_kind(&mut self, kind: MemKind, a: Amode, v: Reg) {
        match kind {
            MemKind::Int(k, _) => {
                let size = match k {
                    LoadKind::U8 | LoadKind::S8 => Size::S8,
                    LoadKind::U16 | LoadKind::S16 => Size::S16,
                    LoadKind::U32 | LoadKind::S32 => Size::S32,
                    LoadKind::I64 => Size::S64,
                };
                self.asm.store(size, a, g(v))
            }
            MemKind::F32 => self.asm.movss_store(a, x(v)),
            MemKind::F64 => self.asm.movsd_store(a, x(v)),
        }
    }

    fn inst(&mut self, inst: &Inst, next: Option<usize>, succs: &[usize], labels: &[Label]) {
        match inst {
            Inst::Args { .. } => {}
            Inst::LoadStackArg { dst, index, float } => {
                let a = m(RBP, 16 + 8 * *index as i32);
                if *float {
                    self.asm.movsd_load(x(*dst), a);
                } else {
                    self.asm.load(LoadKind::I64, Size::S64, g(*dst), a);
                }
            }
            Inst::Imm { dst, size, bits } => {
                if *bits == 0 {
                    self.asm.alu_rr(AluOp::Xor, Size::S32, g(*dst), g(*dst));
                } else {
                    self.asm.mov_ri(*size, g(*dst), *bits);
                }
            }
            Inst::FImm { dst, is64, bits } => {
                if *bits == 0 {
                    self.asm.sse(SseOp::Xorps, x(*dst), x(*dst));
                } else {
                    let size = if *is64 { Size::S64 } else { Size::S32 };
                    self.asm.mov_ri(size, R11, *bits);
                    self.asm.movd_to_xmm(size, x(*dst), R11);
                }
            }
            Inst::Mov { src, dst, float } => {
                if src.preg() != dst.preg() {
                    if *float {
                        self.asm.movaps(x(*dst), x(*src));
                    } else {
                        self.asm.mov_rr(Size::S64, g(*dst), g(*src));
                    }
                }
            }
            Inst::AluRR {
                rhs, dst, op, size, ..
            } => self.asm.alu_rr(*op, *size, g(*dst), g(*rhs)),
            Inst::AluRI {
                dst, op, size, imm, ..
            } => self.asm.alu_ri(*op, *size, g(*dst), *imm),
            Inst::Imul { rhs, dst, size, .. } => self.asm.imul_rr(*size, g(*dst), g(*rhs)),
            Inst::ImulImm {
                src,
                dst,
                size,
                imm,
            } => self.asm.imul_rri(*size, g(*dst), g(*src), *imm),
            Inst::ShiftRR { dst, op, size, .. } => self.asm.shift_cl(*op, *size, g(*dst)),
            Inst::ShiftRI {
                dst, op, size, imm, ..
            } => self.asm.shift_ri(*op, *size, g(*dst), *imm),
            Inst::DivRem {
                rhs,
                kind,
                size,
                trap,
                ..
            } => {
                let rhs = g(*rhs);
                self.asm.test_rr(*size, rhs, rhs);
                let dz = self.stub(TrapKind::IntegerDivideByZero, trap.offset);
                self.asm.jcc(Cond::E, dz);
                match kind {
                    DivOp::DivU | DivOp::RemU => {
                        self.asm.alu_rr(AluOp::Xor, Size::S32, RDX, RDX);
                        self.asm.muldiv(MulDivOp::Div, *size, rhs);
                    }
                    DivOp::DivS => {
                        let doit = self.asm.new_label();
                        self.asm.alu_ri(AluOp::Cmp, *size, rhs, -1);
                        self.asm.jcc(Cond::NE, doit);
                        if *size == Size::S64 {
                            self.asm.mov_ri(Size::S64, R11, i64::MIN as u64);
                            self.asm.alu_rr(AluOp::Cmp, Size::S64, RAX, R11);
                        } else {
                            self.asm.alu_ri(AluOp::Cmp, Size::S32, RAX, i32::MIN);
                        }
                        let ovf = self.stub(TrapKind::IntegerOverflow, trap.offset);
                        self.asm.jcc(Cond::E, ovf);
                        self.asm.bind(doit);
                        if *size == Size::S64 {
                            self.asm.cqo();
                        } else {
                            self.asm.cdq();
                        }
                        self.asm.muldiv(MulDivOp::Idiv, *size, rhs);
                    }
                    DivOp::RemS => {
                        let (doit, done) = (self.asm.new_label(), self.asm.new_label());
                        self.asm.alu_ri(AluOp::Cmp, *size, rhs, -1);
                        self.asm.jcc(Cond::NE, doit);
                        self.asm.alu_rr(AluOp::Xor, Size::S32, RDX, RDX);
                        self.asm.jmp(done);
                        self.asm.bind(doit);
                        if *size == Size::S64 {
                            self.asm.cqo();
                        } else {
                            self.asm.cdq();
                        }
                        self.asm.muldiv(MulDivOp::Idiv, *size, rhs);
                        self.asm.bind(done);
                    }
                }
            }
            Inst::Clz { src, dst, size } => {
                let (src, dst) = (g(*src), g(*dst));
                let bits = if *size == Size::S64 { 63 } else { 31 };
                self.asm.bsr(*size, dst, src);
                self.asm.mov_ri(Size::S64, R11, u64::MAX);
                self.asm.cmov(Cond::E, *size, dst, R11);
                self.asm.neg(*size, dst);
                self.asm.alu_ri(AluOp::Add, *size, dst, bits);
            }
            Inst::Ctz { src, dst, size } => {
                let (src, dst) = (g(*src), g(*dst));
                let bits = if *size == Size::S64 { 64 } else { 32 };
                self.asm.bsf(*size, dst, src);
                self.asm.mov_ri(Size::S32, R11, bits);
                self.asm.cmov(Cond::E, *size, dst, R11);
            }
            Inst::Popcnt { src, dst, size } => self.asm.popcnt(*size, g(*dst), g(*src)),
            Inst::Extend {
                src,
                dst,
                kind,
                size,
            } => self.asm.extend_rr(*kind, *size, g(*dst), g(*src)),
            Inst::CmpSetcc {
                lhs,
                rhs,
                dst,
                size,
                cc,
            } => {
                self.asm.alu_rr(AluOp::Cmp, *size, g(*lhs), g(*rhs));
                self.asm.setcc(*cc, g(*dst));
                self.asm.movzx_r8(g(*dst), g(*dst));
            }
            Inst::CmpImmSetcc {
                lhs,
                dst,
                size,
                cc,
                imm,
            } => {
                if *imm == 0 {
                    self.asm.test_rr(*size, g(*lhs), g(*lhs));
                } else {
                    self.asm.alu_ri(AluOp::Cmp, *size, g(*lhs), *imm);
                }
                self.asm.setcc(*cc, g(*dst));
                self.asm.movzx_r8(g(*dst), g(*dst));
            }
            Inst::FCmpSetcc {
                a,
                b,
                dst,
                is64,
                op,
            } => {
                let (a, b, dst) = (x(*a), x(*b), g(*dst));
                match op {
                    FloatCC::Eq | FloatCC::Ne => {
                        self.ucomis(*is64, a, b);
                        let (c1, c2, join) = if *op == FloatCC::Eq {
                            (Cond::E, Cond::NP, AluOp::And)
                        } else {
                            (Cond::NE, Cond::P, AluOp::Or)
                        };
                        self.asm.setcc(c1, dst);
                        self.asm.setcc(c2, R11);
                        self.asm.alu_rr(join, Size::S8, dst, R11);
                    }
                    FloatCC::Lt => {
                        self.ucomis(*is64, b, a);
                        self.asm.setcc(Cond::A, dst);
                    }
                    FloatCC::Gt => {
                        self.ucomis(*is64, a, b);
                        self.asm.setcc(Cond::A, dst);
                    }
                    FloatCC::Le => {
                        self.ucomis(*is64, b, a);
                        self.asm.setcc(Cond::AE, dst);
                    }
                    FloatCC::Ge => {
                        self.ucomis(*is64, a, b);
                        self.asm.setcc(Cond::AE, dst);
                    }
                }
                self.asm.movzx_r8(dst, dst);
            }
            Inst::Select {
                cond,
                b,
                dst,
                float,
                ..
            } => {
                let c = g(*cond);
                self.asm.test_rr(Size::S32, c, c);
                if *float {
                    let skip = self.asm.new_label();
                    self.asm.jcc(Cond::NE, skip);
                    self.asm.movaps(x(*dst), x(*b));
                    self.asm.bind(skip);
                } else {
                    self.asm.cmov(Cond::E, Size::S64, g(*dst), g(*b));
                }
            }
            Inst::CmpSelect {
                lhs,
                rhs,
                b,
                dst,
                float,
                size,
                cc,
                ..
            } => {
                let lhs = g(*lhs);
                match rhs {
                    RegOrImm::Imm(0) if matches!(cc, Cond::E | Cond::NE) => {
                        self.asm.test_rr(*size, lhs, lhs)
                    }
                    RegOrImm::Imm(i) => self.asm.alu_ri(AluOp::Cmp, *size, lhs, *i),
                    RegOrImm::Reg(r) => self.asm.alu_rr(AluOp::Cmp, *size, lhs, g(*r)),
                }
                // dst already holds `a`; take `b` when the condition fails.
                if *float {
                    let skip = self.asm.new_label();
                    self.asm.jcc(*cc, skip);
                    self.asm.movaps(x(*dst), x(*b));
                    self.asm.bind(skip);
                } else {
                    self.asm.cmov(cc.invert(), Size::S64, g(*dst), g(*b));
                }
            }
            Inst::FBin { b, dst, op, .. } => self.asm.sse(*op, x(*dst), x(*b)),
            Inst::FUnary { src, dst, is64, op } => {
                let (src, dst) = (x(*src), x(*dst));
                let size = if *is64 { Size::S64 } else { Size::S32 };
                match op {
                    FUnaryOp::Abs | FUnaryOp::Neg => {
                        self.asm.movd_from_xmm(size, R11, src);
                        match (op, is64) {
                            (FUnaryOp::Abs, false) => {
                                self.asm.alu_ri(AluOp::And, Size::S32, R11, 0x7fff_ffff)
                            }
                            (FUnaryOp::Abs, true) => {
                                self.asm.shift_ri(ShiftOp::Shl, Size::S64, R11, 1);
                                self.asm.shift_ri(ShiftOp::Shr, Size::S64, R11, 1);
                            }
                            (_, false) => self.asm.alu_ri(AluOp::Xor, Size::S32, R11, i32::MIN),
                            (_, true) => {
                                self.asm.mov_ri(Size::S64, R10, 1u64 << 63);
                                self.asm.alu_rr(AluOp::Xor, Size::S64, R11, R10);
                            }
                        }
                        self.asm.movd_to_xmm(size, dst, R11);
                    }
                    FUnaryOp::Sqrt => {
                        self.asm
                            .sse(if *is64 { SseOp::Sqrtsd } else { SseOp::Sqrtss }, dst, src)
                    }
                    FUnaryOp::Round(mode) => {
                        if *is64 {
                            self.asm.roundsd(dst, src, *mode);
                        } else {
                            self.asm.roundss(dst, src, *mode);
                        }
                    }
                }
            }
            Inst::FMinMax {
                b, dst, is64, max, ..
            } => {
                let (dst, b) = (x(*dst), x(*b));
                let (ne, nan, done) = (
                    self.asm.new_label(),
                    self.asm.new_label(),
                    self.asm.new_label(),
                );
                self.ucomis(*is64, dst, b);
                self.asm.jcc(Cond::NE, ne);
                self.asm.jcc(Cond::P, nan);
                // Equal: only the sign of zero can differ.
                let join = match (max, is64) {
                    (false, false) => SseOp::Orps,
                    (false, true) => SseOp::Orpd,
                    (true, false) => SseOp::Andps,
                    (true, true) => SseOp::Andpd,
                };
                self.asm.sse(join, dst, b);
                self.asm.jmp(done);
                self.asm.bind(nan);
                self.asm
                    .sse(if *is64 { SseOp::Addsd } else { SseOp::Addss }, dst, b);
                self.asm.jmp(done);
                self.asm.bind(ne);
                let op = match (max, is64) {
                    (false, false) => SseOp::Minss,
                    (false, true) => SseOp::Minsd,
                    (true, false) => SseOp::Maxss,
                    (true, true) => SseOp::Maxsd,
                };
                self.asm.sse(op, dst, b);
                self.asm.bind(done);
            }
            Inst::FCopysign { a, b, dst, is64 } => {
                let (a, b, dst) = (x(*a), x(*b), x(*dst));
                if *is64 {
                    self.asm.movd_from_xmm(Size::S64, R10, a);
                    self.asm.movd_from_xmm(Size::S64, R11, b);
                    self.asm.shift_ri(ShiftOp::Shl, Size::S64, R10, 1);
                    self.asm.shift_ri(ShiftOp::Shr, Size::S64, R10, 1);
                    self.asm.shift_ri(ShiftOp::Shr, Size::S64, R11, 63);
                    self.asm.shift_ri(ShiftOp::Shl, Size::S64, R11, 63);
                    self.asm.alu_rr(AluOp::Or, Size::S64, R10, R11);
                    self.asm.movd_to_xmm(Size::S64, dst, R10);
                } else {
                    self.asm.movd_from_xmm(Size::S32, R10, a);
                    self.asm.movd_from_xmm(Size::S32, R11, b);
                    self.asm.alu_ri(AluOp::And, Size::S32, R10, 0x7fff_ffff);
                    self.asm.alu_ri(AluOp::And, Size::S32, R11, i32::MIN);
                    self.asm.alu_rr(AluOp::Or, Size::S32, R10, R11);
                    self.asm.movd_to_xmm(Size::S32, dst, R10);
                }
            }
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
            Inst::Load {
                vmctx,
                addr,
                dst,
                kind,
                offset,
                mem,
                trap,
            } => {
                let a = self.heap_addr(g(*vmctx), g(*addr), *offset, kind.bytes(), *mem, *trap);
                self.load_kind(*kind, a, *dst);
            }
            Inst::Store {
                vmctx,
                addr,
                value,
                kind,
                offset,
                mem,
                trap,
            } => {
                let a = self.heap_addr(g(*vmctx), g(*addr), *offset, kind.bytes(), *mem, *trap);
                self.store_kind(*kind, a, *value);
            }
            Inst::MemorySize { vmctx, dst, mem } => {
                let dst = g(*dst);
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmMemory, *mem);
                self.vm_field(
                    base,
                    RelocKind::VmMemory,
                    *mem,
                    VMMEMORY_LEN as i32,
                    |a, am| a.load(LoadKind::I64, Size::S64, dst, am),
                );
                self.asm.shift_ri(ShiftOp::Shr, Size::S64, dst, 16);
            }
            Inst::GlobalGet {
                vmctx,
                dst,
                global,
                kind,
            } => {
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmGlobal, *global);
                let (kind, dst) = (*kind, *dst);
                let a = self.vm_global_addr(base, *global);
                self.load_kind(kind, a, dst);
                if !global.imported {
                    self.reloc_last(RelocKind::VmGlobal, global.index, 0);
                }
            }
            Inst::GlobalSet {
                vmctx,
                value,
                global,
                kind,
            } => {
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmGlobal, *global);
                let a = self.vm_global_addr(base, *global);
                self.store_kind(*kind, a, *value);
                if !global.imported {
                    self.reloc_last(RelocKind::VmGlobal, global.index, 0);
                }
            }
            Inst::TableGet {
                vmctx,
                index,
                dst,
                table,
                trap,
            } => {
                let a = self.table_addr(g(*vmctx), g(*index), *table, *trap);
                self.asm.load(LoadKind::I64, Size::S64, g(*dst), a);
            }
            Inst::TableSet {
                vmctx,
                index,
                value,
                table,
                trap,
            } => {
                let a = self.table_addr(g(*vmctx), g(*index), *table, *trap);
                self.asm.store(Size::S64, a, g(*value));
            }
            Inst::TableSize { vmctx, dst, table } => {
                let dst = g(*dst);
                let base = self.vm_slot_ptr(g(*vmctx), RelocKind::VmTable, *table);
                self.vm_field(
                    base,
                    RelocKind::VmTable,
                    *table,
                    VMTABLE_LEN as i32,
                    |a, am| a.load(LoadKind::U32, Size::S32, dst, am),
                );
            }
            Inst::RefFunc { vmctx, dst, func } => {
                self.asm.lea(g(*dst), m(g(*vmctx), PLACEHOLDER));
                self.reloc_last(RelocKind::VmFuncRef, *func, 0);
            }
            Inst::CallIndirectCheck {
                vmctx,
                index,
                dst,
                table,
                ty,
                trap,
            } => {
                // dst is written last: the VM context may share its register.
                let (vm, dst) = (g(*vmctx), g(*dst));
                let a = self.table_addr(vm, g(*index), *table, *trap);
                self.asm.load(LoadKind::I64, Size::S64, R10, a);
                self.asm.test_rr(Size::S64, R10, R10);
                let null = self.stub(TrapKind::IndirectCallToNull, trap.offset);
                self.asm.jcc(Cond::E, null);
                self.asm
                    .load(LoadKind::U32, Size::S32, R11, m(vm, PLACEHOLDER));
                self.reloc_last(RelocKind::VmSigId, *ty, 0);
                self.asm
                    .alu_rm(AluOp::Cmp, Size::S32, R11, m(R10, FUNCREF_SIG as i32));
                let bad = self.stub(TrapKind::BadSignature, trap.offset);
                self.asm.jcc(Cond::NE, bad);
                self.asm.mov_rr(Size::S64, dst, R10);
            }
            Inst::LoadPtr { base, dst, off } => {
                self.asm
                    .load(LoadKind::I64, Size::S64, g(*dst), m(g(*base), *off))
            }
            Inst::StorePtr {
                base,
                value,
                off,
                float,
            } => {
                let a = m(g(*base), *off);
                if *float {
                    self.asm.movsd_store(a, x(*value));
                } else {
                    self.asm.store(Size::S64, a, g(*value));
                }
            }
            Inst::ImmReloc { dst, kind, index } => {
                self.asm.mov_ri(Size::S32, g(*dst), PLACEHOLDER as u64);
                self.reloc_last(*kind, *index, 0);
            }
            Inst::VmLoad {
                vmctx,
                dst,
                kind,
                index,
                addend,
            } => {
                self.asm
                    .load(LoadKind::I64, Size::S64, g(*dst), m(g(*vmctx), PLACEHOLDER));
                self.reloc_last(*kind, *index, *addend);
            }
            Inst::StoreOutgoing { src, off, float } => {
                let a = m(RSP, *off as i32);
                if *float {
                    self.asm.movsd_store(a, x(*src));
                } else {
                    self.asm.store(Size::S64, a, g(*src));
                }
            }
            Inst::LeaOutgoing { dst, off } => self.asm.lea(g(*dst), m(RSP, *off as i32)),
            Inst::LoadOutgoing { dst, off, float } => {
                let a = m(RSP, *off as i32);
                if *float {
                    self.asm.movsd_load(x(*dst), a);
                } else {
                    self.asm.load(LoadKind::I64, Size::S64, g(*dst), a);
                }
            }
            Inst::CallDirect { func, .. } => {
                let field = self.asm.call_rel32();
                self.relocs.push(Reloc {
                    offset: field,
                    kind: RelocKind::CallFunc,
                    index: *func,
                    addend: 0,
                });
            }
            Inst::CallReg { code, .. } => self.asm.call_r(g(*code)),
            Inst::CallLibcall { index, .. } => {
                self.asm
                    .load(LoadKind::I64, Size::S64, R11, m(RDI, VMCTX_LIBCALLS as i32));
                self.asm.call_m(m(R11, 8 * *index as i32));
            }
            Inst::TrapIf {
                src,
                size,
                nonzero,
                trap,
            } => {
                let r = g(*src);
                self.asm.test_rr(*size, r, r);
                let l = self.stub(trap.kind, trap.offset);
                self.asm.jcc(if *nonzero { Cond::NE } else { Cond::E }, l);
            }
            Inst::Jump => {
                if next != Some(succs[0]) {
                    self.asm.jmp(labels[succs[0]]);
                }
            }
            Inst::Brif { cond, size } => {
                let c = g(*cond);
                self.asm.test_rr(*size, c, c);
                let (t, f) = (succs[0], succs[1]);
                if next == Some(t) {
                    self.asm.jcc(Cond::E, labels[f]);
                } else {
                    self.asm.jcc(Cond::NE, labels[t]);
                    if next != Some(f) {
                        self.asm.jmp(labels[f]);
                    }
                }
            }
            Inst::CmpBrif { lhs, rhs, size, cc } => {
                let lhs = g(*lhs);
                match rhs {
                    RegOrImm::Imm(0) if matches!(cc, Cond::E | Cond::NE) => {
                        self.asm.test_rr(*size, lhs, lhs)
                    }
                    RegOrImm::Imm(i) => self.asm.alu_ri(AluOp::Cmp, *size, lhs, *i),
                    RegOrImm::Reg(r) => self.asm.alu_rr(AluOp::Cmp, *size, lhs, g(*r)),
                }
                let (t, f) = (succs[0], succs[1]);
                if next == Some(t) {
                    self.asm.jcc(cc.invert(), labels[f]);
                } else {
                    self.asm.jcc(*cc, labels[t]);
                    if next != Some(f) {
                        self.asm.jmp(labels[f]);
                    }
                }
            }
            Inst::BrTable {
                index,
                table,
                default,
            } => {
                self.asm.mov_rr(Size::S32, R10, g(*index));
                self.asm.alu_ri(
                    AluOp::Cmp,
                    Size::S64,
                    R10,
                    table.len().min(i32::MAX as usize) as i32,
                );
                self.asm.jcc(Cond::AE, labels[succs[*default as usize]]);
                let tl = self.asm.new_label();
                self.asm.lea_label(R11, tl);
                self.asm.load(
                    LoadKind::S32,
                    Size::S64,
                    R10,
                    Amode::base_index(R11, R10, 4, 0),
                );
                self.asm.alu_rr(AluOp::Add, Size::S64, R11, R10);
                self.asm.jmp_r(R11);
                let targets = table.iter().map(|i| labels[succs[*i as usize]]).collect();
                self.tables.push((tl, targets));
            }
            Inst::Ret { .. } => self.epilogue(),
            Inst::Trap { trap } => self.raise(*trap),
        }
    }

    fn vm_global_addr(&mut self, base: Gpr, global: VmRef) -> Amode {
        if global.imported {
            m(base, 0)
        } else {
            m(base, PLACEHOLDER)
        }
    }
}

/// Emits machine code for allocated VCode.
pub fn emit(vcode: &VCode<Inst>, ra: &Output) -> CompiledStencil {
    // Callee-saved registers the allocator used.
    let mut used = [false; 16];
    let mut note = |a: &Allocation| {
        if let Some(r) = a.as_reg() {
            if r.class() == RegClass::Int {
                used[r.hw_enc()] = true;
            }
        }
    };
    ra.allocs.iter().for_each(&mut note);
    for (_, Edit::Move { from, to }) in &ra.edits {
        note(from);
        note(to);
    }
    let saved: Vec<Gpr> = abi::CALLEE_SAVED
        .iter()
        .filter(|r| used[**r as usize])
        .map(|r| Gpr(*r))
        .collect();
    let outgoing = (vcode.outgoing_bytes() + 7) & !7;
    let below = 8 + 8 * saved.len() as u32 + 8 * ra.num_spillslots as u32 + outgoing;
    let frame = (below + 15) & !15;

    let mut e = Emitter {
        asm: Asm::new(),
        relocs: Vec::new(),
        traps: Vec::new(),
        stubs: Vec::new(),
        tables: Vec::new(),
        spill_base: outgoing as i32,
        saved: saved.clone(),
    };

    // Prologue: frame, VM context slot, stack check, callee-saved registers.
    e.asm.push(RBP);
    e.asm.mov_rr(Size::S64, RBP, RSP);
    e.asm.push(RDI);
    e.asm
        .load(LoadKind::I64, Size::S64, R11, m(RDI, VMCTX_STORE as i32));
    e.asm.lea(R10, m(RSP, -((frame - 8) as i32)));
    e.asm
        .alu_rm(AluOp::Cmp, Size::S64, R10, m(R11, STORE_STACK_LIMIT as i32));
    let so = e.stub(TrapKind::StackOverflow, 0);
    e.asm.jcc(Cond::B, so);
    if frame > 8 {
        e.asm.alu_ri(AluOp::Sub, Size::S64, RSP, (frame - 8) as i32);
    }
    for (j, r) in saved.iter().enumerate() {
        e.asm.store(Size::S64, m(RBP, -16 - 8 * j as i32), *r);
    }

    let nblocks = vcode.num_blocks();
    let labels: Vec<Label> = (0..nblocks).map(|_| e.asm.new_label()).collect();
    for b in 0..nblocks {
        e.asm.bind(labels[b]);
        let succs: Vec<usize> = vcode.succs(b).iter().map(|s| s.index()).collect();
        let next = (b + 1 < nblocks).then_some(b + 1);
        for ie in ra.block_insts_and_edits(vcode, regalloc2::Block::new(b)) {
            match ie {
                InstOrEdit::Edit(Edit::Move { from, to }) => e.edit_move(*from, *to),
                InstOrEdit::Inst(i) => e.inst(&vcode.insts[i.index()], next, &succs, &labels),
            }
        }
    }
    // Out-of-line trap stubs, then jump tables.
    for (l, t) in std::mem::take(&mut e.stubs) {
        e.asm.bind(l);
        e.raise(t);
    }
    if !e.tables.is_empty() {
        while !e.asm.offset().is_multiple_of(4) {
            e.asm.int3();
        }
        for (tl, targets) in std::mem::take(&mut e.tables) {
            e.asm.bind(tl);
            for t in targets {
                e.asm.jump_table_entry(tl, t);
            }
        }
    }
    let code = e.asm.finish();
    let mut traps = e.traps;
    traps.sort_by_key(|t| t.code_offset);
    CompiledStencil {
        code,
        relocs: e.relocs,
        traps,
    }
}

//! Emission: allocated VCode -> A64 machine code, relocations and trap sites.
//!
//! This file holds the frame, the prologue and epilogue, register moves, trap stubs,
//! branches and calls, and dispatches the other instructions to their family's file
//! (`ops` for integer, float and conversion instructions, `memory` for linear memory,
//! globals, tables and the VM context).
//!
//! Frame layout (`fp`-based; `sp` is fixed after the prologue):
//!
//! ```text
//! [fp + 16 + 8k]   incoming stack argument k
//! [fp + 8]         return address (lr)
//! [fp]             caller's fp
//! [fp - 8]         VM context (trap stubs and the fault handler read it here)
//! [fp - 16 - 8j]   saved callee-saved register j
//! [sp + out + 8i]  spill slot i
//! [sp + 0 ..]      outgoing stack arguments and result areas
//! ```
//!
//! Conditional branches reach 1 MiB. A function whose branches reach further (to its trap
//! stubs, say) is emitted again with every conditional branch as an inverted branch over
//! an unconditional one (128 MiB).

mod memory;
mod ops;
mod simd;

use super::abi;
use super::asm::{regs::*, *};
use super::inst::*;
use crate::compiled::{CompiledStencil, Reloc, RelocKind, StencilTrap};
use crate::vcode::{Reg, VCode};
use regalloc2::{Allocation, Edit, InstOrEdit, Output, RegClass};
use wasmprecomp_artifact::abi::aarch64 as protocol;
use wasmprecomp_artifact::{TrapKind, STORE_STACK_LIMIT, VMCTX_LIBCALLS, VMCTX_RAISE, VMCTX_STORE};

// What the code below assumes of the protocol: the prologue's stack check and the
// stack-overflow stub use the incoming VM context, and libcalls find their table through
// the register that carries their VM context.
const _: () = {
    assert!(protocol::VMCTX == protocol::RAISE_VMCTX);
    assert!(protocol::LIBCALL_VMCTX == protocol::VMCTX);
};

struct Emitter {
    asm: Asm,
    relocs: Vec<Reloc>,
    traps: Vec<StencilTrap>,
    /// Trap stubs: label, trap, and whether the VM context is still in its incoming
    /// register (the prologue's stack check) rather than in the frame.
    stubs: Vec<(Label, TrapInfo, bool)>,
    /// Offset of spill slot 0 from sp.
    spill_base: i64,
    saved: Vec<Gpr>,
    /// Whether float-class values may be vectors: they then move to and from their
    /// (16-byte) spill slots whole.
    vectors: bool,
    /// Whether memory accesses may rely on guard pages.
    guard: bool,
    /// Whether conditional branches are emitted in their far form.
    far: bool,
}

/// The general-purpose register allocated to an operand.
fn g(r: Reg) -> Gpr {
    Gpr(r.preg().hw_enc() as u8)
}
/// The vector register allocated to an operand.
fn vr(r: Reg) -> Vreg {
    Vreg(r.preg().hw_enc() as u8)
}
fn enc(a: Allocation) -> u8 {
    a.as_reg().expect("register allocation").hw_enc() as u8
}

impl Emitter {
    /// `movz`/`movk` of a 32-bit value into `rd`, patched at link time (the relocation
    /// names the pair's first instruction).
    fn reloc_mov(&mut self, rd: Gpr, kind: RelocKind, index: u32, addend: i32) {
        self.relocs.push(Reloc {
            offset: self.asm.offset(),
            kind,
            index,
            addend,
        });
        self.asm.movz(Size::S32, rd, 0, 0);
        self.asm.movk(Size::S32, rd, 0, 1);
    }

    fn stub(&mut self, kind: TrapKind, offset: u32) -> Label {
        let l = self.asm.new_label();
        self.stubs.push((l, TrapInfo { kind, offset }, false));
        l
    }

    /// Calls the raise-trap routine; never returns. The return address identifies the
    /// site.
    fn raise(&mut self, t: TrapInfo, vmctx_in_reg: bool) {
        let vm = Gpr(protocol::RAISE_VMCTX);
        if !vmctx_in_reg {
            self.asm.mem(MemOp::Ldr64, vm.0, FP, -8);
        }
        self.asm.mem(MemOp::Ldr64, IP0.0, vm, VMCTX_RAISE as i64);
        self.asm.blr(IP0);
        self.traps.push(StencilTrap {
            code_offset: self.asm.offset(),
            kind: t.kind,
            wasm_offset: t.offset,
        });
    }

    /// `b.cond`, in its far form when the function needs it.
    fn b_cond(&mut self, cond: Cond, l: Label) {
        if self.far {
            let skip = self.asm.new_label();
            self.asm.b_cond(cond.invert(), skip);
            self.asm.b(l);
            self.asm.bind(skip);
        } else {
            self.asm.b_cond(cond, l);
        }
    }

    /// `cbz`/`cbnz`, in its far form when the function needs it.
    fn cbz(&mut self, size: Size, nonzero: bool, rt: Gpr, l: Label) {
        if self.far {
            let skip = self.asm.new_label();
            self.asm.cbz(size, !nonzero, rt, skip);
            self.asm.b(l);
            self.asm.bind(skip);
        } else {
            self.asm.cbz(size, nonzero, rt, l);
        }
    }

    /// Sets the flags for `lhs - rhs` (`cmp`, or `cmn` for a negative immediate).
    fn compare(&mut self, lhs: Gpr, rhs: RegOrImm, size: Size) {
        match rhs {
            RegOrImm::Imm(i) if i >= 0 => self.asm.alu_ri(AluOp::Subs, size, ZR, lhs, i as u64),
            RegOrImm::Imm(i) => {
                self.asm
                    .alu_ri(AluOp::Adds, size, ZR, lhs, (i as i64).unsigned_abs())
            }
            RegOrImm::Reg(r) => self.asm.alu_rrr(AluOp::Subs, size, ZR, lhs, g(r)),
        }
    }

    /// `op rt, [base, #off]` for any offset: an immediate form when one holds it,
    /// otherwise the offset in `ip0` (`base` must not be `ip0` then).
    fn mem_any(&mut self, op: MemOp, rt: u8, base: Gpr, off: i64) {
        if Asm::uoff_fits(op, off) || Asm::soff_fits(off) {
            self.asm.mem(op, rt, base, off);
        } else {
            assert!(base != IP0, "large offset from ip0");
            self.asm.mov_imm(Size::S64, IP0, off as u64);
            self.asm.mem_reg(op, rt, base, IP0, Extend::Lsl, false);
        }
    }

    /// `rd = rn + imm` (64-bit; `rn` may be `sp`), through `ip0` when the immediate
    /// does not fit.
    fn add_imm(&mut self, rd: Gpr, rn: Gpr, imm: u64) {
        if add_imm_fits(imm) {
            self.asm.alu_ri(AluOp::Add, Size::S64, rd, rn, imm);
        } else {
            self.asm.mov_imm(Size::S64, IP0, imm);
            self.asm.alu_ext(AluOp::Add, rd, rn, IP0, Extend::Lsl);
        }
    }

    fn spill(&self, a: Allocation) -> i64 {
        let s = a.as_stack().expect("stack allocation");
        self.spill_base + 8 * s.index() as i64
    }

    /// The load or store of a spill slot for a register of `class`.
    fn spill_op(&self, class: RegClass, store: bool) -> MemOp {
        match (class == RegClass::Float, self.vectors, store) {
            (true, true, true) => MemOp::StrQ,
            (true, true, false) => MemOp::LdrQ,
            (true, false, true) => MemOp::StrD,
            (true, false, false) => MemOp::LdrD,
            (false, _, true) => MemOp::Str64,
            (false, _, false) => MemOp::Ldr64,
        }
    }

    fn edit_move(&mut self, from: Allocation, to: Allocation) {
        let class = from
            .as_reg()
            .map(|r| r.class())
            .or_else(|| to.as_reg().map(|r| r.class()))
            .unwrap_or(RegClass::Int);
        match (from.is_reg(), to.is_reg()) {
            (true, true) => {
                if from == to {
                    return;
                }
                if class == RegClass::Float {
                    self.asm.vmov(Vreg(enc(to)), Vreg(enc(from)));
                } else {
                    self.asm.mov(Size::S64, Gpr(enc(to)), Gpr(enc(from)));
                }
            }
            (true, false) => {
                let op = self.spill_op(class, true);
                let off = self.spill(to);
                self.mem_any(op, enc(from), SP, off);
            }
            (false, true) => {
                let op = self.spill_op(class, false);
                let off = self.spill(from);
                self.mem_any(op, enc(to), SP, off);
            }
            (false, false) => unreachable!("regalloc2 never emits stack-to-stack moves"),
        }
    }

    fn inst(&mut self, inst: &Inst, next: Option<usize>, succs: &[usize], labels: &[Label]) {
        match inst {
            Inst::Args { .. } | Inst::Nop => {}
            Inst::LoadStackArg { dst, index, op } => {
                let rt = dst.preg().hw_enc() as u8;
                self.mem_any(*op, rt, FP, 16 + 8 * *index as i64)
            }
            Inst::Mov { src, dst, float } => {
                if src.preg() != dst.preg() {
                    if *float {
                        self.asm.vmov(vr(*dst), vr(*src));
                    } else {
                        self.asm.mov(Size::S64, g(*dst), g(*src));
                    }
                }
            }
            Inst::Select {
                cond,
                a,
                b,
                dst,
                float,
                vector,
            } => {
                self.asm.alu_ri(AluOp::Subs, Size::S32, ZR, g(*cond), 0);
                self.select(*a, *b, *dst, (*float, *vector), Cond::Ne);
            }
            Inst::CmpSelect {
                lhs,
                rhs,
                a,
                b,
                dst,
                float,
                vector,
                size,
                cc,
            } => {
                self.compare(g(*lhs), *rhs, *size);
                self.select(*a, *b, *dst, (*float, *vector), *cc);
            }
            Inst::Load { .. }
            | Inst::Store { .. }
            | Inst::HeapBase { .. }
            | Inst::MemorySize { .. }
            | Inst::GlobalGet { .. }
            | Inst::GlobalSet { .. }
            | Inst::TableGet { .. }
            | Inst::TableSet { .. }
            | Inst::TableSize { .. }
            | Inst::RefFunc { .. }
            | Inst::CallIndirectCheck { .. }
            | Inst::VmLoad { .. }
            | Inst::ImmReloc { .. } => self.memory(inst),
            Inst::LoadPtr { base, dst, off } => {
                let rt = dst.preg().hw_enc() as u8;
                self.mem_any(MemOp::Ldr64, rt, g(*base), *off as i64)
            }
            Inst::StorePtr {
                base,
                value,
                off,
                op,
            } => {
                let rt = value.preg().hw_enc() as u8;
                self.mem_any(*op, rt, g(*base), *off as i64)
            }
            Inst::StoreOutgoing { src, off, op } => {
                let rt = src.preg().hw_enc() as u8;
                self.mem_any(*op, rt, SP, *off as i64)
            }
            Inst::AddrOutgoing { dst, off } => self.add_imm(g(*dst), SP, *off as u64),
            Inst::LoadOutgoing { dst, off, op } => {
                let rt = dst.preg().hw_enc() as u8;
                self.mem_any(*op, rt, SP, *off as i64)
            }
            Inst::CallDirect { func, .. } => {
                let at = self.asm.bl_reloc();
                self.relocs.push(Reloc {
                    offset: at,
                    kind: RelocKind::CallFunc,
                    index: *func,
                    addend: 0,
                });
            }
            Inst::CallReg { code, .. } => self.asm.blr(g(*code)),
            Inst::CallLibcall { index, .. } => {
                let vm = Gpr(protocol::LIBCALL_VMCTX);
                self.asm.mem(MemOp::Ldr64, IP0.0, vm, VMCTX_LIBCALLS as i64);
                self.mem_any(MemOp::Ldr64, IP0.0, IP0, 8 * *index as i64);
                self.asm.blr(IP0);
            }
            Inst::TrapIf {
                src,
                size,
                nonzero,
                trap,
            } => {
                let l = self.stub(trap.kind, trap.offset);
                self.cbz(*size, *nonzero, g(*src), l);
            }
            Inst::Jump => {
                if next != Some(succs[0]) {
                    self.asm.b(labels[succs[0]]);
                }
            }
            Inst::Brif { cond, size } => {
                let (t, f) = (succs[0], succs[1]);
                let c = g(*cond);
                if next == Some(t) {
                    self.cbz(*size, false, c, labels[f]);
                } else {
                    self.cbz(*size, true, c, labels[t]);
                    if next != Some(f) {
                        self.asm.b(labels[f]);
                    }
                }
            }
            Inst::CmpBrif { lhs, rhs, size, cc } => {
                self.compare(g(*lhs), *rhs, *size);
                let (t, f) = (succs[0], succs[1]);
                if next == Some(t) {
                    self.b_cond(cc.invert(), labels[f]);
                } else {
                    self.b_cond(*cc, labels[t]);
                    if next != Some(f) {
                        self.asm.b(labels[f]);
                    }
                }
            }
            Inst::BrTable {
                index,
                table,
                default,
            } => {
                // The table follows the branch inline, so `adr` always reaches it.
                let i = g(*index);
                let n = table.len().min(u32::MAX as usize) as u64;
                if add_imm_fits(n) {
                    self.asm.alu_ri(AluOp::Subs, Size::S32, ZR, i, n);
                } else {
                    self.asm.mov_imm(Size::S32, IP1, n);
                    self.asm.alu_rrr(AluOp::Subs, Size::S32, ZR, i, IP1);
                }
                self.b_cond(Cond::Hs, labels[succs[*default as usize]]);
                let tl = self.asm.new_label();
                self.asm.adr(IP1, tl);
                self.asm
                    .mem_reg(MemOp::Ldrsw, IP0.0, IP1, i, Extend::Uxtw, true);
                self.asm.alu_rrr(AluOp::Add, Size::S64, IP1, IP1, IP0);
                self.asm.br(IP1);
                self.asm.bind(tl);
                for t in table.iter() {
                    self.asm.rel32(labels[succs[*t as usize]], tl);
                }
            }
            Inst::VecRRR { .. }
            | Inst::VecRR { .. }
            | Inst::VecShift { .. }
            | Inst::VecBsl { .. }
            | Inst::VecDup { .. }
            | Inst::VecExtract { .. }
            | Inst::VecInsert { .. }
            | Inst::VecConst { .. }
            | Inst::VecTbl2 { .. } => self.simd(inst),
            Inst::Ret { .. } => self.epilogue(),
            Inst::Trap { trap } => self.raise(*trap, false),
            _ => self.ops(inst),
        }
    }

    /// `dst = cond ? a : b` on the flags just set, for a general register, a scalar
    /// float or (`vector`) a whole vector register.
    fn select(&mut self, a: Reg, b: Reg, dst: Reg, (float, vector): (bool, bool), cond: Cond) {
        if vector {
            self.asm.csetm(Size::S64, IP0, cond);
            self.asm.dup_gpr(Arr::full(Elem::D), VSCRATCH, IP0);
            self.asm
                .v3(V3::Bsl, Arr::full(Elem::B), VSCRATCH, vr(a), vr(b));
            self.asm.vmov(vr(dst), VSCRATCH);
        } else if float {
            self.asm.fcsel(FSize::D, vr(dst), vr(a), vr(b), cond);
        } else {
            self.asm.csel(Size::S64, g(dst), g(a), g(b), cond);
        }
    }

    fn epilogue(&mut self) {
        for (j, r) in self.saved.clone().iter().enumerate() {
            self.asm.mem(MemOp::Ldr64, r.0, FP, -16 - 8 * j as i64);
        }
        self.asm.mov_sp(SP, FP);
        self.asm.ldp_post(FP, LR, SP, 16);
        self.asm.ret();
    }
}

/// Emits machine code for allocated VCode.
pub fn emit(vcode: &VCode<Inst>, ra: &Output, bounds: crate::isa::BoundsChecks) -> CompiledStencil {
    match emit_with(vcode, ra, bounds, false) {
        Some(c) => c,
        None => emit_with(vcode, ra, bounds, true)
            .expect("far branches reach every label of a function below 128 MiB"),
    }
}

fn emit_with(
    vcode: &VCode<Inst>,
    ra: &Output,
    bounds: crate::isa::BoundsChecks,
    far: bool,
) -> Option<CompiledStencil> {
    let saved: Vec<Gpr> = crate::vcode::used_int_regs(ra, &abi::CALLEE_SAVED)
        .into_iter()
        .map(Gpr)
        .collect();
    let outgoing = (vcode.outgoing_bytes() as u64 + 7) & !7;
    let below = 8 + 8 * saved.len() as u64 + 8 * ra.num_spillslots as u64 + outgoing;
    let frame = (below + 15) & !15;

    let mut e = Emitter {
        asm: Asm::new(),
        relocs: Vec::new(),
        traps: Vec::new(),
        stubs: Vec::new(),
        spill_base: outgoing as i64,
        saved: saved.clone(),
        vectors: vcode.has_vectors(),
        guard: bounds == crate::isa::BoundsChecks::Guard,
        far,
    };

    // Prologue: frame record, stack check (ip1 = the new sp), frame, VM context slot,
    // callee-saved registers.
    let vm = Gpr(protocol::VMCTX);
    e.asm.stp_pre(FP, LR, SP, -16);
    e.asm.mov_sp(FP, SP);
    e.asm.mem(MemOp::Ldr64, IP0.0, vm, VMCTX_STORE as i64);
    e.asm
        .mem(MemOp::Ldr64, IP0.0, IP0, STORE_STACK_LIMIT as i64);
    if add_imm_fits(frame) {
        e.asm.alu_ri(AluOp::Sub, Size::S64, IP1, SP, frame);
    } else {
        e.asm.mov_imm(Size::S64, IP1, frame);
        e.asm.alu_ext(AluOp::Sub, IP1, SP, IP1, Extend::Lsl);
    }
    e.asm.alu_rrr(AluOp::Subs, Size::S64, ZR, IP1, IP0);
    let so = e.asm.new_label();
    e.stubs.push((
        so,
        TrapInfo {
            kind: TrapKind::StackOverflow,
            offset: 0,
        },
        true,
    ));
    e.b_cond(Cond::Lo, so);
    e.asm.mov_sp(SP, IP1);
    e.asm.mem(MemOp::Str64, vm.0, FP, -8);
    for (j, r) in saved.iter().enumerate() {
        e.asm.mem(MemOp::Str64, r.0, FP, -16 - 8 * j as i64);
    }

    let nblocks = vcode.num_blocks();
    // A block that only jumps on (an edge block without moves) is not emitted: every
    // branch to it goes straight to where it leads, and its label is that block's.
    let dest = crate::vcode::forwarding(vcode, ra, |i| matches!(i, Inst::Jump));
    let own: Vec<Label> = (0..nblocks).map(|_| e.asm.new_label()).collect();
    let labels: Vec<Label> = dest.iter().map(|d| own[*d]).collect();
    let emitted: Vec<usize> = (0..nblocks).filter(|b| dest[*b] == *b).collect();
    for (k, &b) in emitted.iter().enumerate() {
        e.asm.bind(labels[b]);
        let succs: Vec<usize> = vcode.succs(b).iter().map(|s| dest[s.index()]).collect();
        let next = emitted.get(k + 1).copied();
        for ie in ra.block_insts_and_edits(vcode, regalloc2::Block::new(b)) {
            match ie {
                InstOrEdit::Edit(Edit::Move { from, to }) => e.edit_move(*from, *to),
                InstOrEdit::Inst(i) => e.inst(&vcode.insts[i.index()], next, &succs, &labels),
            }
        }
    }
    // Out-of-line trap stubs.
    for (l, t, in_reg) in std::mem::take(&mut e.stubs) {
        e.asm.bind(l);
        e.raise(t, in_reg);
    }
    let code = e.asm.finish().ok()?;
    let mut traps = e.traps;
    traps.sort_by_key(|t| t.code_offset);
    Some(CompiledStencil {
        code,
        relocs: e.relocs,
        traps,
    })
}

/// Patches the field of a relocation at `at` in `text` (see [`crate::isa::Isa::patch`]):
/// a `bl` with the word offset to `value` (a byte offset in `text`) for direct calls,
/// otherwise the `movz`/`movk` pair with the 32-bit `value`.
pub fn patch(text: &mut [u8], at: usize, kind: RelocKind, value: i64) -> bool {
    let word = |t: &[u8], i: usize| u32::from_le_bytes(t[i..i + 4].try_into().unwrap());
    match kind {
        RelocKind::CallFunc => {
            let rel = (value - at as i64) >> 2;
            if !(-(1 << 25)..(1 << 25)).contains(&rel) {
                return false;
            }
            let w = word(text, at) | (rel as u32 & 0x03ff_ffff);
            text[at..at + 4].copy_from_slice(&w.to_le_bytes());
        }
        _ => {
            if !(0..=u32::MAX as i64).contains(&value) && !(i32::MIN as i64..0).contains(&value) {
                return false;
            }
            let v = value as u32;
            for (k, half) in [(0, v & 0xffff), (4, v >> 16)] {
                let w = word(text, at + k) | (half << 5);
                text[at + k..at + k + 4].copy_from_slice(&w.to_le_bytes());
            }
        }
    }
    true
}

//! Emission: allocated VCode -> machine code, relocations and trap sites.
//!
//! This file holds the frame, the prologue, register moves and trap stubs, and
//! dispatches each instruction to its family's file (`int`, `float`, `convert`, `memory`,
//! `table`, `call`, `control`); an instruction's registers are read from its fields.
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

mod call;
mod control;
mod convert;
mod float;
mod int;
mod memory;
mod simd;
mod table;

use super::abi;
use super::asm::{regs::*, *};
use super::inst::*;
use crate::compiled::{CompiledStencil, Reloc, RelocKind, StencilTrap};
use crate::vcode::{Reg, VCode};
use regalloc2::{Allocation, Edit, InstOrEdit, Output, RegClass};
use wasmprecomp_artifact::abi::x86_64 as protocol;
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
    /// Whether float-class values may be vectors: they then move to and from their
    /// (16-byte) spill slots whole.
    vectors: bool,
    /// 16-byte constants, emitted after the code (see [`Emitter::constant`]).
    consts: Vec<(u128, Label)>,
    /// Whether memory accesses may rely on guard pages.
    guard: bool,
    /// Which label branches, in emission order, take their rel8 form: chosen from a
    /// first emission of the function (empty then: all rel32).
    short: Vec<bool>,
    /// Each label branch emitted so far: the end of the instruction and its target.
    branches: Vec<(u32, Label)>,
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
    /// Whether the next label branch takes its rel8 form.
    fn next_short(&self) -> bool {
        self.short
            .get(self.branches.len())
            .copied()
            .unwrap_or(false)
    }

    /// `jmp` to `l`, rel8 when the plan says so.
    fn jmp(&mut self, l: Label) {
        if self.next_short() {
            self.asm.jmp8(l);
        } else {
            self.asm.jmp(l);
        }
        self.branches.push((self.asm.offset(), l));
    }

    /// `jcc` to `l`, rel8 when the plan says so.
    fn jcc(&mut self, cc: Cond, l: Label) {
        if self.next_short() {
            self.asm.jcc8(cc, l);
        } else {
            self.asm.jcc(cc, l);
        }
        self.branches.push((self.asm.offset(), l));
    }

    /// Records a relocation on the 4-byte field just emitted and zeroes it.
    /// `op dst, imm32` with constant slot `slot`'s value as the immediate: the placeholder
    /// selects the imm32 form, whatever the value.
    fn alu_slot(&mut self, op: AluOp, size: Size, dst: Gpr, slot: u32) {
        self.asm.alu_ri(op, size, dst, PLACEHOLDER);
        self.reloc_last(RelocKind::Const, slot, 0);
    }

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
        let vm = Gpr(protocol::RAISE_VMCTX);
        self.asm.load(LoadKind::I64, Size::S64, vm, m(RBP, -8));
        self.asm.call_m(m(vm, VMCTX_RAISE as i32));
        self.traps.push(StencilTrap {
            code_offset: self.asm.offset(),
            kind: t.kind,
            wasm_offset: t.offset,
        });
    }

    /// Sets the flags for `lhs cc rhs`: a comparison with zero is a `test`, which sets
    /// every flag a condition reads as `cmp lhs, 0` does (CF and OF cleared, ZF, SF and
    /// PF from `lhs`), in fewer bytes.
    fn compare(&mut self, lhs: Gpr, rhs: RegOrImm, size: Size) {
        match rhs {
            RegOrImm::Imm(0) => self.asm.test_rr(size, lhs, lhs),
            RegOrImm::Imm(i) => self.asm.alu_ri(AluOp::Cmp, size, lhs, i),
            RegOrImm::Slot(slot) => self.alu_slot(AluOp::Cmp, size, lhs, slot),
            RegOrImm::Reg(r) => self.asm.alu_rr(AluOp::Cmp, size, lhs, g(r)),
        }
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
                if float && self.vectors {
                    self.asm.movdqu_store(a, xa(from));
                } else if float {
                    self.asm.movsd_store(a, xa(from));
                } else {
                    self.asm.store(Size::S64, a, ga(from));
                }
            }
            (false, true) => {
                let a = self.spill(from);
                if float && self.vectors {
                    self.asm.vec_m(VecOp::Movdqu, xa(to), a);
                } else if float {
                    self.asm.movsd_load(xa(to), a);
                } else {
                    self.asm.load(LoadKind::I64, Size::S64, ga(to), a);
                }
            }
            (false, false) => unreachable!("regalloc2 never emits stack-to-stack moves"),
        }
    }

    fn inst(&mut self, inst: &Inst, next: Option<usize>, succs: &[usize], labels: &[Label]) {
        match inst {
            Inst::Args { .. } | Inst::Nop => {}
            Inst::LoadStackArg { dst, index, kind } => {
                self.load_kind(*kind, m(RBP, 16 + 8 * *index as i32), *dst)
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
                    self.jcc(Cond::NE, skip);
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
                self.compare(g(*lhs), *rhs, *size);
                // dst already holds `a`; take `b` when the condition fails.
                if *float {
                    let skip = self.asm.new_label();
                    self.jcc(*cc, skip);
                    self.asm.movaps(x(*dst), x(*b));
                    self.asm.bind(skip);
                } else {
                    self.asm.cmov(cc.invert(), Size::S64, g(*dst), g(*b));
                }
            }
            Inst::AluRR { .. }
            | Inst::AluRI { .. }
            | Inst::AluRSlot { .. }
            | Inst::Lea { .. }
            | Inst::Imul { .. }
            | Inst::ImulImm { .. }
            | Inst::ShiftRR { .. }
            | Inst::ShiftRI { .. }
            | Inst::ShiftX { .. }
            | Inst::Rorx { .. }
            | Inst::DivRem { .. }
            | Inst::Clz { .. }
            | Inst::Ctz { .. }
            | Inst::Popcnt { .. }
            | Inst::Bswap { .. }
            | Inst::Lzcnt { .. }
            | Inst::Tzcnt { .. }
            | Inst::Extend { .. }
            | Inst::CmpSetcc { .. }
            | Inst::CmpImmSetcc { .. } => self.int(inst),
            Inst::FCmpSetcc { .. }
            | Inst::FBin { .. }
            | Inst::FUnary { .. }
            | Inst::FMinMax { .. }
            | Inst::FCopysign { .. } => self.float(inst),
            Inst::FConvert { .. }
            | Inst::IntToFloat { .. }
            | Inst::FloatToInt { .. }
            | Inst::Bitcast { .. } => self.convert(inst),
            Inst::Load { .. }
            | Inst::Store { .. }
            | Inst::HeapBase { .. }
            | Inst::MemorySize { .. }
            | Inst::GlobalGet { .. }
            | Inst::GlobalSet { .. } => self.memory(inst),
            Inst::TableGet { .. }
            | Inst::TableSet { .. }
            | Inst::TableSize { .. }
            | Inst::RefFunc { .. } => self.table(inst),
            Inst::CallIndirectCheck { .. }
            | Inst::LoadPtr { .. }
            | Inst::StorePtr { .. }
            | Inst::ImmReloc { .. }
            | Inst::VmLoad { .. }
            | Inst::StoreOutgoing { .. }
            | Inst::LeaOutgoing { .. }
            | Inst::LoadOutgoing { .. }
            | Inst::CallDirect { .. }
            | Inst::CallReg { .. }
            | Inst::CallLibcall { .. }
            | Inst::TrapIf { .. } => self.call(inst),
            Inst::Jump
            | Inst::Brif { .. }
            | Inst::CmpBrif { .. }
            | Inst::BrTable { .. }
            | Inst::Ret { .. }
            | Inst::Trap { .. } => self.control(inst, next, succs, labels),
            Inst::VConst { .. }
            | Inst::VBin { .. }
            | Inst::VBin3 { .. }
            | Inst::VBinImm3 { .. }
            | Inst::VShiftImm3 { .. }
            | Inst::VBroadcast { .. }
            | Inst::VUn { .. }
            | Inst::VBinImm { .. }
            | Inst::VUnImm { .. }
            | Inst::VShiftImm { .. }
            | Inst::VInsert { .. }
            | Inst::VExtract { .. }
            | Inst::VMask { .. }
            | Inst::VTest { .. } => self.simd(inst),
        }
    }

    /// The label of a 16-byte constant in the function's constant pool (one per value).
    fn constant(&mut self, bits: u128) -> Label {
        if let Some((_, l)) = self.consts.iter().find(|(b, _)| *b == bits) {
            return *l;
        }
        let l = self.asm.new_label();
        self.consts.push((bits, l));
        l
    }
}

/// Emits machine code for allocated VCode: once with every label branch in its rel32
/// form, then, when some of them reach their targets within an `i8`, again with those
/// in their rel8 form. Shortening a branch only brings other branches' targets closer
/// (no alignment padding lies between the code and the trap stubs they reach), so each
/// branch chosen still reaches.
pub fn emit(vcode: &VCode<Inst>, ra: &Output, bounds: crate::isa::BoundsChecks) -> CompiledStencil {
    let (first, short) = emit_with(vcode, ra, bounds, Vec::new());
    if !short.contains(&true) {
        return first;
    }
    emit_with(vcode, ra, bounds, short).0
}

/// One emission, with `short` choosing the rel8 branches; returns the code and, for
/// each label branch in emission order, whether its rel32 form reached within an `i8`.
fn emit_with(
    vcode: &VCode<Inst>,
    ra: &Output,
    bounds: crate::isa::BoundsChecks,
    short: Vec<bool>,
) -> (CompiledStencil, Vec<bool>) {
    let saved: Vec<Gpr> = crate::vcode::used_int_regs(ra, &abi::CALLEE_SAVED)
        .into_iter()
        .map(Gpr)
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
        vectors: vcode.has_vectors(),
        consts: Vec::new(),
        guard: bounds == crate::isa::BoundsChecks::Guard,
        short,
        branches: Vec::new(),
    };

    // Prologue: frame, VM context slot, stack check, callee-saved registers.
    e.asm.push(RBP);
    e.asm.mov_rr(Size::S64, RBP, RSP);
    let vm = Gpr(protocol::VMCTX);
    e.asm.push(vm);
    e.asm
        .load(LoadKind::I64, Size::S64, R11, m(vm, VMCTX_STORE as i32));
    e.asm.lea(R10, m(RSP, -((frame - 8) as i32)));
    e.asm
        .alu_rm(AluOp::Cmp, Size::S64, R10, m(R11, STORE_STACK_LIMIT as i32));
    let so = e.stub(TrapKind::StackOverflow, 0);
    e.jcc(Cond::B, so);
    if frame > 8 {
        e.asm.alu_ri(AluOp::Sub, Size::S64, RSP, (frame - 8) as i32);
    }
    for (j, r) in saved.iter().enumerate() {
        e.asm.store(Size::S64, m(RBP, -16 - 8 * j as i32), *r);
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
    // The constant pool, 16-byte aligned (functions start 16-byte aligned in `.text`), so
    // packed operations may read it directly.
    if !e.consts.is_empty() {
        e.asm.align_code(16);
        for (bits, l) in std::mem::take(&mut e.consts) {
            e.asm.bind(l);
            e.asm.bytes(&bits.to_le_bytes());
        }
    }
    let reach: Vec<bool> = e
        .branches
        .iter()
        .map(|&(end, l)| {
            let target = e.asm.label_offset(l).expect("every branch target is bound");
            i8::try_from(i64::from(target) - i64::from(end)).is_ok()
        })
        .collect();
    debug_assert!(e.short.is_empty() || e.short.len() == reach.len());
    let code = e.asm.finish();
    let mut traps = e.traps;
    traps.sort_by_key(|t| t.code_offset);
    let compiled = CompiledStencil {
        code,
        relocs: e.relocs,
        traps,
    };
    (compiled, reach)
}

//! Hand-written x86-64 machine-code encoder.
//!
//! [`Asm`] appends encoded instructions to a byte buffer and keeps a list of
//! label fixups that are resolved by [`Asm::finish`] or
//! [`Asm::resolve_labels`]. Every method emits exactly one instruction (or, for
//! [`Asm::jump_table_entry`] and [`Asm::bytes`], raw data) in the shortest
//! standard encoding:
//!
//! * a REX prefix only when needed (REX.W for 64-bit operand size, REX.R/X/B
//!   for r8–r15 and xmm8–xmm15, a bare `0x40` for the byte registers
//!   spl/bpl/sil/dil, which would otherwise mean ah/ch/dh/bh);
//! * no displacement when it is zero, a disp8 when it fits in `i8`, else a
//!   disp32;
//! * sign-extended imm8 forms and the short accumulator (`rax`) forms where
//!   they are shorter;
//! * mandatory SSE prefixes (`66`/`F2`/`F3`) before REX, as the hardware
//!   requires.
//!
//! Branches to labels take the form the caller names: rel32 ([`Asm::jmp`],
//! [`Asm::jcc`]) or rel8 ([`Asm::jmp8`], [`Asm::jcc8`], whose target must end up
//! within an `i8` of the instruction's end). The assembler relaxes nothing, so
//! code size is known as soon as an instruction is emitted; the emitter chooses
//! the rel8 forms from a first emission of the function.
//!
//! Misuse (an unbound label at resolution time, binding a label twice, `rsp`
//! as an index register, an unsupported operand size for an instruction) is a
//! bug in the caller and panics with a message saying what was wrong.

/// General-purpose register, hardware numbering: 0=rax 1=rcx 2=rdx 3=rbx
/// 4=rsp 5=rbp 6=rsi 7=rdi 8..15=r8..r15.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gpr(pub u8);

/// SSE register xmm0..xmm15.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Xmm(pub u8);

/// Named constants for all 16 general-purpose registers.
pub mod regs {
    use super::Gpr;

    /// rax (0)
    pub const RAX: Gpr = Gpr(0);
    /// rcx (1)
    pub const RCX: Gpr = Gpr(1);
    /// rdx (2)
    pub const RDX: Gpr = Gpr(2);
    /// rbx (3)
    pub const RBX: Gpr = Gpr(3);
    /// rsp (4)
    pub const RSP: Gpr = Gpr(4);
    /// rbp (5)
    pub const RBP: Gpr = Gpr(5);
    /// rsi (6)
    pub const RSI: Gpr = Gpr(6);
    /// rdi (7)
    pub const RDI: Gpr = Gpr(7);
    /// r8
    pub const R8: Gpr = Gpr(8);
    /// r9
    pub const R9: Gpr = Gpr(9);
    /// r10
    pub const R10: Gpr = Gpr(10);
    /// r11
    pub const R11: Gpr = Gpr(11);
    /// r12
    pub const R12: Gpr = Gpr(12);
    /// r13
    pub const R13: Gpr = Gpr(13);
    /// r14
    pub const R14: Gpr = Gpr(14);
    /// r15
    pub const R15: Gpr = Gpr(15);
}

/// Operand size for integer ops. `S8`/`S16` are accepted only where a method's
/// documentation says so; elsewhere they panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// 8-bit (byte registers al..r15b)
    S8,
    /// 16-bit (`66` operand-size prefix)
    S16,
    /// 32-bit; writing a 32-bit register zero-extends into the full 64 bits
    S32,
    /// 64-bit (REX.W)
    S64,
}

/// Memory operand `[base + index*scale + disp]`.
///
/// `scale` must be 1, 2, 4 or 8. `base` may be any register, including rsp,
/// rbp, r12 and r13 (whose encoding quirks the encoder handles). `index` must
/// not be rsp: that encoding means "no index".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amode {
    /// Base register.
    pub base: Gpr,
    /// Optional index register and its scale (1, 2, 4 or 8).
    pub index: Option<(Gpr, u8)>,
    /// Signed 32-bit displacement.
    pub disp: i32,
}

impl Amode {
    /// `[base + disp]`.
    pub fn base_disp(base: Gpr, disp: i32) -> Amode {
        Amode {
            base,
            index: None,
            disp,
        }
    }

    /// `[base + index*scale + disp]`.
    ///
    /// Panics if `index` is rsp or `scale` is not 1, 2, 4 or 8.
    pub fn base_index(base: Gpr, index: Gpr, scale: u8, disp: i32) -> Amode {
        assert!(index != regs::RSP, "rsp cannot be an index register");
        assert!(
            matches!(scale, 1 | 2 | 4 | 8),
            "scale must be 1, 2, 4 or 8, got {scale}"
        );
        Amode {
            base,
            index: Some((index, scale)),
            disp,
        }
    }
}

/// Condition codes, numbered as in the `Jcc`/`SETcc`/`CMOVcc` opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// overflow
    O = 0,
    /// no overflow
    NO = 1,
    /// below (unsigned <), carry
    B = 2,
    /// above or equal (unsigned >=), no carry
    AE = 3,
    /// equal, zero
    E = 4,
    /// not equal, not zero
    NE = 5,
    /// below or equal (unsigned <=)
    BE = 6,
    /// above (unsigned >)
    A = 7,
    /// sign
    S = 8,
    /// no sign
    NS = 9,
    /// parity (unordered after ucomis*)
    P = 10,
    /// no parity
    NP = 11,
    /// less (signed <)
    L = 12,
    /// greater or equal (signed >=)
    GE = 13,
    /// less or equal (signed <=)
    LE = 14,
    /// greater (signed >)
    G = 15,
}

impl Cond {
    /// All conditions indexed by their encoding.
    const ALL: [Cond; 16] = [
        Cond::O,
        Cond::NO,
        Cond::B,
        Cond::AE,
        Cond::E,
        Cond::NE,
        Cond::BE,
        Cond::A,
        Cond::S,
        Cond::NS,
        Cond::P,
        Cond::NP,
        Cond::L,
        Cond::GE,
        Cond::LE,
        Cond::G,
    ];

    /// The negated condition (`E` <-> `NE`, `L` <-> `GE`, ...).
    pub fn invert(self) -> Cond {
        // Conditions come in pairs that differ only in the lowest bit.
        Cond::ALL[(self as usize) ^ 1]
    }
}

/// The classic eight ALU operations, in their `/0`..`/7` opcode-extension order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    /// add (/0)
    Add,
    /// or (/1)
    Or,
    /// add with carry (/2)
    Adc,
    /// subtract with borrow (/3)
    Sbb,
    /// and (/4)
    And,
    /// subtract (/5)
    Sub,
    /// xor (/6)
    Xor,
    /// compare (/7): subtract, set flags, discard the result
    Cmp,
}

impl AluOp {
    /// Opcode extension; the `op r/m, r` opcode of the family is `digit*8 + 1`.
    fn digit(self) -> u8 {
        match self {
            AluOp::Add => 0,
            AluOp::Or => 1,
            AluOp::Adc => 2,
            AluOp::Sbb => 3,
            AluOp::And => 4,
            AluOp::Sub => 5,
            AluOp::Xor => 6,
            AluOp::Cmp => 7,
        }
    }
}

/// Shift and rotate operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftOp {
    /// rotate left (/0)
    Rol,
    /// rotate right (/1)
    Ror,
    /// shift left (/4)
    Shl,
    /// logical shift right (/5)
    Shr,
    /// arithmetic shift right (/7)
    Sar,
}

impl ShiftOp {
    /// Opcode extension in the `C1`/`D1`/`D3` group.
    fn digit(self) -> u8 {
        match self {
            ShiftOp::Rol => 0,
            ShiftOp::Ror => 1,
            ShiftOp::Shl => 4,
            ShiftOp::Shr => 5,
            ShiftOp::Sar => 7,
        }
    }
}

/// One-operand multiply/divide (`F7 /4../7`), implicitly using rdx:rax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MulDivOp {
    /// unsigned multiply (/4)
    Mul,
    /// signed multiply (/5)
    Imul,
    /// unsigned divide (/6)
    Div,
    /// signed divide (/7)
    Idiv,
}

/// Width and extension of a load from memory (or of a register extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    /// byte, zero-extended
    U8,
    /// byte, sign-extended
    S8,
    /// word, zero-extended
    U16,
    /// word, sign-extended
    S16,
    /// dword, zero-extended
    U32,
    /// dword, sign-extended
    S32,
    /// qword
    I64,
}

/// Scalar SSE ops `op xmm_dst, xmm_src` (two-operand; dst is also the first
/// input where applicable).
///
/// The packed bitwise ops (`Andps`..`Xorpd`) read 16 bytes; their memory forms
/// in [`Asm::sse_m`] need a 16-byte aligned address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SseOp {
    /// add scalar single
    Addss,
    /// add scalar double
    Addsd,
    /// subtract scalar single
    Subss,
    /// subtract scalar double
    Subsd,
    /// multiply scalar single
    Mulss,
    /// multiply scalar double
    Mulsd,
    /// divide scalar single
    Divss,
    /// divide scalar double
    Divsd,
    /// minimum scalar single (returns the second operand on NaN or equal)
    Minss,
    /// minimum scalar double (returns the second operand on NaN or equal)
    Minsd,
    /// maximum scalar single (returns the second operand on NaN or equal)
    Maxss,
    /// maximum scalar double (returns the second operand on NaN or equal)
    Maxsd,
    /// square root scalar single
    Sqrtss,
    /// square root scalar double
    Sqrtsd,
    /// bitwise and (packed single)
    Andps,
    /// bitwise and (packed double)
    Andpd,
    /// bitwise and-not: `dst = !dst & src` (packed single)
    Andnps,
    /// bitwise and-not: `dst = !dst & src` (packed double)
    Andnpd,
    /// bitwise or (packed single)
    Orps,
    /// bitwise or (packed double)
    Orpd,
    /// bitwise xor (packed single)
    Xorps,
    /// bitwise xor (packed double)
    Xorpd,
    /// unordered compare scalar single, sets ZF/PF/CF
    Ucomiss,
    /// unordered compare scalar double, sets ZF/PF/CF
    Ucomisd,
    /// convert scalar single to scalar double
    Cvtss2sd,
    /// convert scalar double to scalar single
    Cvtsd2ss,
}

impl SseOp {
    /// Mandatory prefix (0 for none) and the opcode byte following `0F`.
    fn encoding(self) -> (u8, u8) {
        match self {
            SseOp::Addss => (0xF3, 0x58),
            SseOp::Addsd => (0xF2, 0x58),
            SseOp::Subss => (0xF3, 0x5C),
            SseOp::Subsd => (0xF2, 0x5C),
            SseOp::Mulss => (0xF3, 0x59),
            SseOp::Mulsd => (0xF2, 0x59),
            SseOp::Divss => (0xF3, 0x5E),
            SseOp::Divsd => (0xF2, 0x5E),
            SseOp::Minss => (0xF3, 0x5D),
            SseOp::Minsd => (0xF2, 0x5D),
            SseOp::Maxss => (0xF3, 0x5F),
            SseOp::Maxsd => (0xF2, 0x5F),
            SseOp::Sqrtss => (0xF3, 0x51),
            SseOp::Sqrtsd => (0xF2, 0x51),
            SseOp::Andps => (0, 0x54),
            SseOp::Andpd => (0x66, 0x54),
            SseOp::Andnps => (0, 0x55),
            SseOp::Andnpd => (0x66, 0x55),
            SseOp::Orps => (0, 0x56),
            SseOp::Orpd => (0x66, 0x56),
            SseOp::Xorps => (0, 0x57),
            SseOp::Xorpd => (0x66, 0x57),
            SseOp::Ucomiss => (0, 0x2E),
            SseOp::Ucomisd => (0x66, 0x2E),
            SseOp::Cvtss2sd => (0xF3, 0x5A),
            SseOp::Cvtsd2ss => (0xF2, 0x5A),
        }
    }
}

/// A position in the code, created by [`Asm::new_label`] and bound once by
/// [`Asm::bind`]. Only meaningful for the `Asm` that created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(pub u32);

/// A 4-byte field to fill in once labels are bound.
#[derive(Clone, Copy, Debug)]
enum Fixup {
    /// `label - (at + 4)`: a rel32 that is the last field of its instruction,
    /// so the end of the field is the address the CPU is relative to.
    Rel32 { at: u32, label: Label },
    /// `label - (at + 1)`: the rel8 field of a short branch, which must fit.
    Rel8 { at: u32, label: Label },
    /// `target - base`: a jump-table entry.
    Diff { at: u32, base: Label, target: Label },
}

/// What goes in the ModRM `rm` slot.
#[derive(Clone, Copy)]
enum Rm {
    /// A register (mod = 11), hardware number 0..15.
    Reg(u8),
    /// A memory operand.
    Mem(Amode),
}

/// High bit of a register number, for REX.R/X/B. Also rejects numbers that do
/// not name a register: they would otherwise spill into the wrong REX bit.
fn hi(r: u8) -> u8 {
    assert!(r < 16, "register number {r} out of range 0..16");
    r >> 3
}

/// Byte registers 4..7 are spl/bpl/sil/dil only with a REX prefix; without one
/// the same numbers mean ah/ch/dh/bh.
fn byte_needs_rex(r: Gpr) -> bool {
    (4..8).contains(&r.0)
}

/// Whether `v` survives a round trip through a sign-extended imm8/disp8.
fn fits_i8(v: i32) -> bool {
    i8::try_from(v).is_ok()
}

/// Operand-size prefix and REX.W for an integer op without a byte form.
fn wide(size: Size, what: &str) -> (&'static [u8], bool) {
    match size {
        Size::S8 => panic!("{what}: 8-bit operand size is not supported"),
        Size::S16 => (&[0x66], false),
        Size::S32 => (&[], false),
        Size::S64 => (&[], true),
    }
}

/// REX.W for ops that exist only in 32- and 64-bit forms.
fn w32_64(size: Size, what: &str) -> bool {
    match size {
        Size::S32 => false,
        Size::S64 => true,
        _ => panic!("{what}: size must be S32 or S64, got {size:?}"),
    }
}

/// The rel8 byte of a field at `at` reaching `target`; panics when out of reach.
fn rel8(target: u32, at: u32) -> u8 {
    let d = i64::from(target) - i64::from(at) - 1;
    i8::try_from(d).unwrap_or_else(|_| panic!("rel8 branch at {at:#x} cannot reach {target:#x}"))
        as u8
}

/// Assembler: encoded bytes plus the label state needed to fill in branches.
#[derive(Clone, Debug, Default)]
pub struct Asm {
    /// The code emitted so far. Label fields hold placeholders until
    /// [`Asm::resolve_labels`] or [`Asm::finish`] runs.
    pub buf: Vec<u8>,
    /// Bound offset of each label, indexed by `Label.0`.
    labels: Vec<Option<u32>>,
    /// Fields waiting for labels that were unbound when the field was emitted.
    fixups: Vec<Fixup>,
}

impl Asm {
    /// An empty assembler.
    pub fn new() -> Asm {
        Asm::default()
    }

    /// Current length of the code, i.e. the offset of the next instruction.
    ///
    /// Panics if the code grew past 4 GiB, which the rel32 branches could not
    /// span anyway.
    pub fn offset(&self) -> u32 {
        u32::try_from(self.buf.len()).expect("code buffer exceeds 4 GiB")
    }

    /// A fresh, unbound label.
    pub fn new_label(&mut self) -> Label {
        let l = Label(u32::try_from(self.labels.len()).expect("too many labels"));
        self.labels.push(None);
        l
    }

    /// Binds `l` to the current offset. Panics if it is already bound.
    pub fn bind(&mut self, l: Label) {
        let off = self.offset();
        let slot = self.label_slot(l);
        assert!(slot.is_none(), "{l:?} bound twice");
        *slot = Some(off);
    }

    /// Offset `l` is bound to, or `None` while unbound.
    pub fn label_offset(&self, l: Label) -> Option<u32> {
        self.labels.get(l.0 as usize).copied().flatten()
    }

    /// Panics on a label that this assembler did not create.
    fn label_slot(&mut self, l: Label) -> &mut Option<u32> {
        self.labels
            .get_mut(l.0 as usize)
            .unwrap_or_else(|| panic!("{l:?} was not created by this assembler"))
    }

    /// Emits a rel32 field pointing at `l`. The field must be the last part of
    /// the instruction, because rel32 is relative to the end of the instruction.
    fn rel32_to(&mut self, l: Label) {
        let at = self.offset();
        // Bound (backward) targets are written right away; others wait.
        let value = match self.label_offset(l) {
            Some(target) => target.wrapping_sub(at + 4),
            None => {
                self.fixups.push(Fixup::Rel32 { at, label: l });
                0
            }
        };
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// Emits a rel8 field pointing at `l`, the last byte of its instruction.
    /// Panics (here for a bound label, at resolution otherwise) when `l` is out of
    /// the field's reach.
    fn rel8_to(&mut self, l: Label) {
        let at = self.offset();
        let value = match self.label_offset(l) {
            Some(target) => rel8(target, at),
            None => {
                self.fixups.push(Fixup::Rel8 { at, label: l });
                0
            }
        };
        self.buf.push(value);
    }

    /// `jmp rel8` to `l` (`EB`); `l` must lie within an `i8` of the instruction's end.
    pub fn jmp8(&mut self, l: Label) {
        self.buf.push(0xEB);
        self.rel8_to(l);
    }

    /// `jcc rel8` to `l` (`70+cc`); `l` must lie within an `i8` of the instruction's
    /// end.
    pub fn jcc8(&mut self, cc: Cond, l: Label) {
        self.buf.push(0x70 + cc as u8);
        self.rel8_to(l);
    }

    /// `jmp rel32` to `l` (`E9`).
    pub fn jmp(&mut self, l: Label) {
        self.buf.push(0xE9);
        self.rel32_to(l);
    }

    /// `jcc rel32` to `l` (`0F 80+cc`).
    pub fn jcc(&mut self, cc: Cond, l: Label) {
        self.buf.extend_from_slice(&[0x0F, 0x80 + cc as u8]);
        self.rel32_to(l);
    }

    /// Emits `call rel32` with a zero placeholder and returns the offset of the
    /// 4-byte rel32 field. The caller patches it later (see
    /// [`Asm::patch_u32`]) with `target - (field_offset + 4)`.
    pub fn call_rel32(&mut self) -> u32 {
        self.buf.push(0xE8);
        let at = self.offset();
        self.buf.extend_from_slice(&[0; 4]);
        at
    }

    /// `call r64` (`FF /2`). Near calls default to 64-bit, so no REX.W.
    pub fn call_r(&mut self, r: Gpr) {
        self.insn(&[], false, false, &[0xFF], 2, Rm::Reg(r.0));
    }

    /// `call qword [m]` (`FF /2`).
    pub fn call_m(&mut self, m: Amode) {
        self.insn(&[], false, false, &[0xFF], 2, Rm::Mem(m));
    }

    /// `jmp r64` (`FF /4`).
    pub fn jmp_r(&mut self, r: Gpr) {
        self.insn(&[], false, false, &[0xFF], 4, Rm::Reg(r.0));
    }

    /// Resolves all label fixups and returns the code.
    ///
    /// Panics if a label that was used is still unbound.
    pub fn finish(mut self) -> Vec<u8> {
        self.resolve_labels();
        self.buf
    }

    /// Like [`Asm::finish`] but keeps the assembler usable: fills in every
    /// pending label field in place.
    ///
    /// Panics if a label that was used is still unbound.
    pub fn resolve_labels(&mut self) {
        let fixups = std::mem::take(&mut self.fixups);
        for f in fixups {
            let (at, value) = match f {
                Fixup::Rel8 { at, label } => {
                    self.buf[at as usize] = rel8(self.bound(label), at);
                    continue;
                }
                Fixup::Rel32 { at, label } => (at, self.bound(label).wrapping_sub(at + 4)),
                Fixup::Diff { at, base, target } => {
                    (at, self.bound(target).wrapping_sub(self.bound(base)))
                }
            };
            self.patch_u32(at, value);
        }
    }

    /// Offset of a label that must be bound by now.
    fn bound(&self, l: Label) -> u32 {
        self.label_offset(l)
            .unwrap_or_else(|| panic!("{l:?} is used but was never bound"))
    }

    /// Jump-table support: emits a 4-byte little-endian value
    /// `label_offset(target) - label_offset(base)` at the current position
    /// (filled in once both labels are bound). Binds nothing.
    pub fn jump_table_entry(&mut self, base: Label, target: Label) {
        let at = self.offset();
        let value = match (self.label_offset(base), self.label_offset(target)) {
            (Some(b), Some(t)) => t.wrapping_sub(b),
            _ => {
                self.fixups.push(Fixup::Diff { at, base, target });
                0
            }
        };
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// `lea r64, [rip + rel32]` with the address of `l`.
    pub fn lea_label(&mut self, dst: Gpr, l: Label) {
        self.buf.push(0x48 | (hi(dst.0) << 2));
        // mod=00 rm=101 means RIP-relative in 64-bit mode.
        self.buf.extend_from_slice(&[0x8D, modrm(0, dst.0, 5)]);
        self.rel32_to(l);
    }

    /// `ret` (`C3`).
    pub fn ret(&mut self) {
        self.buf.push(0xC3);
    }

    /// `ud2` (`0F 0B`): guaranteed invalid opcode, used for traps.
    pub fn ud2(&mut self) {
        self.buf.extend_from_slice(&[0x0F, 0x0B]);
    }

    /// `int3` (`CC`).
    pub fn int3(&mut self) {
        self.buf.push(0xCC);
    }

    /// One-byte `nop` (`90`).
    pub fn nop(&mut self) {
        self.buf.push(0x90);
    }

    /// `push r64` (`50+r`); push is 64-bit by default, so no REX.W.
    pub fn push(&mut self, r: Gpr) {
        self.insn_oreg(&[], false, false, 0x50, r.0);
    }

    /// `pop r64` (`58+r`).
    pub fn pop(&mut self, r: Gpr) {
        self.insn_oreg(&[], false, false, 0x58, r.0);
    }

    /// `op dst, src` (`op r/m, r` form). All sizes.
    pub fn alu_rr(&mut self, op: AluOp, size: Size, dst: Gpr, src: Gpr) {
        let base = op.digit() * 8;
        if size == Size::S8 {
            let rex = byte_needs_rex(dst) || byte_needs_rex(src);
            self.insn(&[], false, rex, &[base], src.0, Rm::Reg(dst.0));
        } else {
            let (p, w) = wide(size, "alu_rr");
            self.insn(p, w, false, &[base + 1], src.0, Rm::Reg(dst.0));
        }
    }

    /// `op dst, imm`. All sizes; the immediate is truncated to the operand
    /// size (S64 sign-extends the 32-bit immediate). Uses the sign-extended
    /// imm8 form `83` when the value fits, else the short `rax` form or `81`.
    pub fn alu_ri(&mut self, op: AluOp, size: Size, dst: Gpr, imm: i32) {
        let digit = op.digit();
        if size == Size::S8 {
            if dst.0 == 0 {
                // `op al, imm8` has its own opcode without a ModRM byte.
                self.buf.extend_from_slice(&[digit * 8 + 4, imm as u8]);
            } else {
                let rex = byte_needs_rex(dst);
                self.insn(&[], false, rex, &[0x80], digit, Rm::Reg(dst.0));
                self.buf.push(imm as u8);
            }
            return;
        }
        let (p, w) = wide(size, "alu_ri");
        // A 16-bit op only sees the low 16 bits; judge imm8 fitness on those.
        let imm = if size == Size::S16 {
            i32::from(imm as i16)
        } else {
            imm
        };
        if fits_i8(imm) {
            self.insn(p, w, false, &[0x83], digit, Rm::Reg(dst.0));
            self.buf.push(imm as u8);
        } else if dst.0 == 0 {
            // `op eax/rax, imm32` saves the ModRM byte.
            self.insn_plain(p, w, &[digit * 8 + 5]);
            self.imm_sized(size, imm);
        } else {
            self.insn(p, w, false, &[0x81], digit, Rm::Reg(dst.0));
            self.imm_sized(size, imm);
        }
    }

    /// `op reg, [mem]`. All sizes.
    pub fn alu_rm(&mut self, op: AluOp, size: Size, dst: Gpr, src: Amode) {
        let base = op.digit() * 8;
        if size == Size::S8 {
            self.insn(
                &[],
                false,
                byte_needs_rex(dst),
                &[base + 2],
                dst.0,
                Rm::Mem(src),
            );
        } else {
            let (p, w) = wide(size, "alu_rm");
            self.insn(p, w, false, &[base + 3], dst.0, Rm::Mem(src));
        }
    }

    /// `op [mem], reg`. All sizes.
    pub fn alu_mr(&mut self, op: AluOp, size: Size, dst: Amode, src: Gpr) {
        let base = op.digit() * 8;
        if size == Size::S8 {
            self.insn(
                &[],
                false,
                byte_needs_rex(src),
                &[base],
                src.0,
                Rm::Mem(dst),
            );
        } else {
            let (p, w) = wide(size, "alu_mr");
            self.insn(p, w, false, &[base + 1], src.0, Rm::Mem(dst));
        }
    }

    /// `op [mem], imm`. All sizes; immediates as in [`Asm::alu_ri`].
    pub fn alu_mi(&mut self, op: AluOp, size: Size, dst: Amode, imm: i32) {
        let digit = op.digit();
        if size == Size::S8 {
            self.insn(&[], false, false, &[0x80], digit, Rm::Mem(dst));
            self.buf.push(imm as u8);
            return;
        }
        let (p, w) = wide(size, "alu_mi");
        let imm = if size == Size::S16 {
            i32::from(imm as i16)
        } else {
            imm
        };
        if fits_i8(imm) {
            self.insn(p, w, false, &[0x83], digit, Rm::Mem(dst));
            self.buf.push(imm as u8);
        } else {
            self.insn(p, w, false, &[0x81], digit, Rm::Mem(dst));
            self.imm_sized(size, imm);
        }
    }

    /// `test a, b` (`85 /r`). All sizes.
    pub fn test_rr(&mut self, size: Size, a: Gpr, b: Gpr) {
        if size == Size::S8 {
            let rex = byte_needs_rex(a) || byte_needs_rex(b);
            self.insn(&[], false, rex, &[0x84], b.0, Rm::Reg(a.0));
        } else {
            let (p, w) = wide(size, "test_rr");
            self.insn(p, w, false, &[0x85], b.0, Rm::Reg(a.0));
        }
    }

    /// `test a, imm` (`F7 /0`, or the short `rax` form `A9`). All sizes; the
    /// immediate is truncated to the operand size. There is no imm8 form.
    pub fn test_ri(&mut self, size: Size, a: Gpr, imm: i32) {
        if size == Size::S8 {
            if a.0 == 0 {
                self.buf.extend_from_slice(&[0xA8, imm as u8]);
            } else {
                self.insn(&[], false, byte_needs_rex(a), &[0xF6], 0, Rm::Reg(a.0));
                self.buf.push(imm as u8);
            }
            return;
        }
        let (p, w) = wide(size, "test_ri");
        if a.0 == 0 {
            self.insn_plain(p, w, &[0xA9]);
        } else {
            self.insn(p, w, false, &[0xF7], 0, Rm::Reg(a.0));
        }
        self.imm_sized(size, imm);
    }

    /// `imul dst, src` (`0F AF`). S16/S32/S64.
    pub fn imul_rr(&mut self, size: Size, dst: Gpr, src: Gpr) {
        let (p, w) = wide(size, "imul_rr");
        self.insn(p, w, false, &[0x0F, 0xAF], dst.0, Rm::Reg(src.0));
    }

    /// `imul dst, src, imm` (`6B` imm8 when it fits, else `69`). S16/S32/S64;
    /// a 16-bit op uses the low 16 bits of `imm`.
    pub fn imul_rri(&mut self, size: Size, dst: Gpr, src: Gpr, imm: i32) {
        let (p, w) = wide(size, "imul_rri");
        let imm = if size == Size::S16 {
            i32::from(imm as i16)
        } else {
            imm
        };
        if fits_i8(imm) {
            self.insn(p, w, false, &[0x6B], dst.0, Rm::Reg(src.0));
            self.buf.push(imm as u8);
        } else {
            self.insn(p, w, false, &[0x69], dst.0, Rm::Reg(src.0));
            self.imm_sized(size, imm);
        }
    }

    /// One-operand `mul`/`imul`/`div`/`idiv src` (`F7 /4../7`) on rdx:rax.
    /// All sizes.
    pub fn muldiv(&mut self, op: MulDivOp, size: Size, src: Gpr) {
        let digit = match op {
            MulDivOp::Mul => 4,
            MulDivOp::Imul => 5,
            MulDivOp::Div => 6,
            MulDivOp::Idiv => 7,
        };
        self.unary(size, digit, src, "muldiv");
    }

    /// `cdq` (`99`): sign-extend eax into edx.
    pub fn cdq(&mut self) {
        self.buf.push(0x99);
    }

    /// `cqo` (`48 99`): sign-extend rax into rdx.
    pub fn cqo(&mut self) {
        self.buf.extend_from_slice(&[0x48, 0x99]);
    }

    /// `neg r` (`F7 /3`). All sizes.
    pub fn neg(&mut self, size: Size, r: Gpr) {
        self.unary(size, 3, r, "neg");
    }

    /// `not r` (`F7 /2`). All sizes.
    pub fn not(&mut self, size: Size, r: Gpr) {
        self.unary(size, 2, r, "not");
    }

    /// The `F6`/`F7 /digit` group on a register.
    fn unary(&mut self, size: Size, digit: u8, r: Gpr, what: &str) {
        if size == Size::S8 {
            self.insn(&[], false, byte_needs_rex(r), &[0xF6], digit, Rm::Reg(r.0));
        } else {
            let (p, w) = wide(size, what);
            self.insn(p, w, false, &[0xF7], digit, Rm::Reg(r.0));
        }
    }

    /// `op r, cl` (`D3 /n`). All sizes.
    pub fn shift_cl(&mut self, op: ShiftOp, size: Size, r: Gpr) {
        self.shift(op, size, r, 0xD2);
    }

    /// `op r, imm` (`C1 /n ib`, or the shorter `D1 /n` when `imm == 1`). All
    /// sizes. The count is emitted as given; the CPU masks it to 5 (6 for
    /// 64-bit) bits.
    pub fn shift_ri(&mut self, op: ShiftOp, size: Size, r: Gpr, imm: u8) {
        if imm == 1 {
            self.shift(op, size, r, 0xD0);
        } else {
            self.shift(op, size, r, 0xC0);
            self.buf.push(imm);
        }
    }

    /// The shift group with byte opcode `op8`; the other sizes use `op8 + 1`.
    fn shift(&mut self, op: ShiftOp, size: Size, r: Gpr, op8: u8) {
        if size == Size::S8 {
            self.insn(
                &[],
                false,
                byte_needs_rex(r),
                &[op8],
                op.digit(),
                Rm::Reg(r.0),
            );
        } else {
            let (p, w) = wide(size, "shift");
            self.insn(p, w, false, &[op8 + 1], op.digit(), Rm::Reg(r.0));
        }
    }

    /// `mov dst, src` (`89 /r`). All sizes; S32 zero-extends into 64 bits.
    pub fn mov_rr(&mut self, size: Size, dst: Gpr, src: Gpr) {
        if size == Size::S8 {
            let rex = byte_needs_rex(dst) || byte_needs_rex(src);
            self.insn(&[], false, rex, &[0x88], src.0, Rm::Reg(dst.0));
        } else {
            let (p, w) = wide(size, "mov_rr");
            self.insn(p, w, false, &[0x89], src.0, Rm::Reg(dst.0));
        }
    }

    /// Materializes a constant without touching flags (so never `xor r, r`).
    ///
    /// S64 picks the shortest of: `mov r32, imm32` (zero-extends) when the value
    /// fits in u32; `mov r64, simm32` (`REX.W C7 /0`) when it fits in i32;
    /// else `movabs r64, imm64`. S32/S16/S8 use `B8+r`/`B0+r` with the value
    /// truncated to the operand size.
    pub fn mov_ri(&mut self, size: Size, dst: Gpr, imm: u64) {
        match size {
            Size::S8 => {
                self.insn_oreg(&[], false, byte_needs_rex(dst), 0xB0, dst.0);
                self.buf.push(imm as u8);
            }
            Size::S16 => {
                self.insn_oreg(&[0x66], false, false, 0xB8, dst.0);
                self.buf.extend_from_slice(&(imm as u16).to_le_bytes());
            }
            Size::S32 => {
                self.insn_oreg(&[], false, false, 0xB8, dst.0);
                self.buf.extend_from_slice(&(imm as u32).to_le_bytes());
            }
            Size::S64 => {
                if let Ok(v) = u32::try_from(imm) {
                    self.insn_oreg(&[], false, false, 0xB8, dst.0);
                    self.buf.extend_from_slice(&v.to_le_bytes());
                } else if let Ok(v) = i32::try_from(imm as i64) {
                    self.insn(&[], true, false, &[0xC7], 0, Rm::Reg(dst.0));
                    self.buf.extend_from_slice(&v.to_le_bytes());
                } else {
                    self.insn_oreg(&[], true, false, 0xB8, dst.0);
                    self.buf.extend_from_slice(&imm.to_le_bytes());
                }
            }
        }
    }

    /// Loads with extension into a 64-bit or 32-bit register:
    /// U8 -> `movzx r32, byte`; S8 -> `movsx r64, byte`; U16 -> `movzx r32,
    /// word`; S16 -> `movsx r64, word`; U32 -> `mov r32`; S32 -> `movsxd r64`;
    /// I64 -> `mov r64`.
    ///
    /// `size` (S32 or S64) only matters for S8/S16/S32: with S32 they produce
    /// `movsx r32` (no REX.W) and, for S32, a plain `mov r32`. Zero-extending
    /// kinds always write a 32-bit register, which clears the upper half.
    pub fn load(&mut self, kind: LoadKind, size: Size, dst: Gpr, src: Amode) {
        let w = w32_64(size, "load");
        let m = Rm::Mem(src);
        match kind {
            LoadKind::U8 => self.insn(&[], false, false, &[0x0F, 0xB6], dst.0, m),
            LoadKind::S8 => self.insn(&[], w, false, &[0x0F, 0xBE], dst.0, m),
            LoadKind::U16 => self.insn(&[], false, false, &[0x0F, 0xB7], dst.0, m),
            LoadKind::S16 => self.insn(&[], w, false, &[0x0F, 0xBF], dst.0, m),
            LoadKind::U32 => self.insn(&[], false, false, &[0x8B], dst.0, m),
            LoadKind::S32 if w => self.insn(&[], true, false, &[0x63], dst.0, m),
            LoadKind::S32 => self.insn(&[], false, false, &[0x8B], dst.0, m),
            LoadKind::I64 => self.insn(&[], true, false, &[0x8B], dst.0, m),
        }
    }

    /// Stores the low `size` bytes of `src` (`88`/`89`). All sizes.
    pub fn store(&mut self, size: Size, dst: Amode, src: Gpr) {
        if size == Size::S8 {
            self.insn(
                &[],
                false,
                byte_needs_rex(src),
                &[0x88],
                src.0,
                Rm::Mem(dst),
            );
        } else {
            let (p, w) = wide(size, "store");
            self.insn(p, w, false, &[0x89], src.0, Rm::Mem(dst));
        }
    }

    /// Stores an immediate (`C6 /0 ib`, `66 C7 /0 iw`, `C7 /0 id`,
    /// `REX.W C7 /0 id` sign-extended). The immediate is truncated to the
    /// store size.
    pub fn store_imm(&mut self, size: Size, dst: Amode, imm: i32) {
        if size == Size::S8 {
            self.insn(&[], false, false, &[0xC6], 0, Rm::Mem(dst));
            self.buf.push(imm as u8);
        } else {
            let (p, w) = wide(size, "store_imm");
            self.insn(p, w, false, &[0xC7], 0, Rm::Mem(dst));
            self.imm_sized(size, imm);
        }
    }

    /// 64-bit `lea dst, [src]` (`REX.W 8D`).
    pub fn lea(&mut self, dst: Gpr, src: Amode) {
        self.insn(&[], true, false, &[0x8D], dst.0, Rm::Mem(src));
    }

    /// 32-bit `lea dst, [src]` (`8D`, 64-bit address): the low half of the address, with
    /// the upper half of `dst` cleared.
    pub fn lea32(&mut self, dst: Gpr, src: Amode) {
        self.insn(&[], false, false, &[0x8D], dst.0, Rm::Mem(src));
    }

    /// 8-bit `setcc dst` (`0F 90+cc`). Writes only the low byte.
    pub fn setcc(&mut self, cc: Cond, dst: Gpr) {
        let op = [0x0F, 0x90 + cc as u8];
        self.insn(&[], false, byte_needs_rex(dst), &op, 0, Rm::Reg(dst.0));
    }

    /// `movzx dst32, src8` (`0F B6`): zero-extends the low byte of `src`.
    pub fn movzx_r8(&mut self, dst: Gpr, src: Gpr) {
        self.insn(
            &[],
            false,
            byte_needs_rex(src),
            &[0x0F, 0xB6],
            dst.0,
            Rm::Reg(src.0),
        );
    }

    /// Register-to-register extension; `size` (S32 or S64) is the destination
    /// size. S8/S16 -> `movsx`; S32 -> `movsxd r64, r32` (plain `mov r32, r32`
    /// when `size` is S32); U8/U16 -> `movzx r32` (implicitly zero-extends to
    /// 64 bits); U32 -> `mov r32, r32`; I64 -> `mov r64, r64`.
    pub fn extend_rr(&mut self, kind: LoadKind, size: Size, dst: Gpr, src: Gpr) {
        let w = w32_64(size, "extend_rr");
        match kind {
            LoadKind::U8 => self.movzx_r8(dst, src),
            LoadKind::S8 => {
                let rex = byte_needs_rex(src);
                self.insn(&[], w, rex, &[0x0F, 0xBE], dst.0, Rm::Reg(src.0));
            }
            LoadKind::U16 => self.insn(&[], false, false, &[0x0F, 0xB7], dst.0, Rm::Reg(src.0)),
            LoadKind::S16 => self.insn(&[], w, false, &[0x0F, 0xBF], dst.0, Rm::Reg(src.0)),
            LoadKind::S32 if w => self.insn(&[], true, false, &[0x63], dst.0, Rm::Reg(src.0)),
            LoadKind::S32 | LoadKind::U32 => self.mov_rr(Size::S32, dst, src),
            LoadKind::I64 => self.mov_rr(Size::S64, dst, src),
        }
    }

    /// `cmovcc dst, src` (`0F 40+cc`). S16/S32/S64; the S32 form zero-extends
    /// `dst` even when the condition is false.
    pub fn cmov(&mut self, cc: Cond, size: Size, dst: Gpr, src: Gpr) {
        let (p, w) = wide(size, "cmov");
        self.insn(p, w, false, &[0x0F, 0x40 + cc as u8], dst.0, Rm::Reg(src.0));
    }

    /// `bsf dst, src` (`0F BC`). S16/S32/S64.
    pub fn bsf(&mut self, size: Size, dst: Gpr, src: Gpr) {
        let (p, w) = wide(size, "bsf");
        self.insn(p, w, false, &[0x0F, 0xBC], dst.0, Rm::Reg(src.0));
    }

    /// `bsr dst, src` (`0F BD`). S16/S32/S64.
    pub fn bsr(&mut self, size: Size, dst: Gpr, src: Gpr) {
        let (p, w) = wide(size, "bsr");
        self.insn(p, w, false, &[0x0F, 0xBD], dst.0, Rm::Reg(src.0));
    }

    /// `bswap r` (`[REX] 0F C8+r`): the bytes of `r` in reverse order. S32/S64.
    pub fn bswap(&mut self, size: Size, r: Gpr) {
        let rex = 0x40 | (u8::from(w32_64(size, "bswap")) << 3) | hi(r.0);
        if rex != 0x40 {
            self.buf.push(rex);
        }
        self.buf.extend_from_slice(&[0x0F, 0xC8 + (r.0 & 7)]);
    }

    /// `popcnt dst, src` (`F3 0F B8`). S16/S32/S64.
    pub fn popcnt(&mut self, size: Size, dst: Gpr, src: Gpr) {
        self.f3_op(size, 0xB8, dst, src, "popcnt");
    }

    /// `lzcnt dst, src` (`F3 0F BD`; without LZCNT support the CPU runs it as
    /// `bsr`). S16/S32/S64.
    pub fn lzcnt(&mut self, size: Size, dst: Gpr, src: Gpr) {
        self.f3_op(size, 0xBD, dst, src, "lzcnt");
    }

    /// `tzcnt dst, src` (`F3 0F BC`; without BMI1 the CPU runs it as `bsf`).
    /// S16/S32/S64.
    pub fn tzcnt(&mut self, size: Size, dst: Gpr, src: Gpr) {
        self.f3_op(size, 0xBC, dst, src, "tzcnt");
    }

    /// `rorx dst, src, imm` (BMI2, `VEX.LZ.F2.0F3A.W0/W1 F0 /r ib`): `src` rotated right
    /// by `imm` into `dst`, flags untouched. S32/S64; the CPU masks the count as `ror`.
    pub fn rorx(&mut self, size: Size, dst: Gpr, src: Gpr, imm: u8) {
        self.vex_gpr(0xF2, 3, 0xF0, size, dst, 0, src, "rorx");
        self.buf.push(imm);
    }

    /// `shlx`/`shrx`/`sarx dst, src, count` (BMI2, `VEX.LZ.{66,F2,F3}.0F38.W0/W1 F7 /r`,
    /// `count` in VEX.vvvv): three operands, any count register, flags untouched. S32/S64;
    /// the CPU masks the count to 5 (6) bits. Panics for a rotate, which has no such form.
    pub fn shiftx(&mut self, op: ShiftOp, size: Size, dst: Gpr, src: Gpr, count: Gpr) {
        let p = match op {
            ShiftOp::Shl => 0x66,
            ShiftOp::Shr => 0xF2,
            ShiftOp::Sar => 0xF3,
            ShiftOp::Rol | ShiftOp::Ror => panic!("no three-operand form of {op:?}"),
        };
        self.vex_gpr(p, 2, 0xF7, size, dst, count.0, src, "shiftx");
    }

    /// A VEX.LZ instruction on general registers (three-byte VEX): `p` the implied prefix,
    /// `map` 2 for `0F 38` and 3 for `0F 3A`, W from `size`, `reg` ModRM.reg, `vvvv` the
    /// extra source, `rm` ModRM.rm.
    #[allow(clippy::too_many_arguments)]
    fn vex_gpr(
        &mut self,
        p: u8,
        map: u8,
        op: u8,
        size: Size,
        reg: Gpr,
        vvvv: u8,
        rm: Gpr,
        what: &str,
    ) {
        let w = match size {
            Size::S32 => 0,
            Size::S64 => 1,
            _ => panic!("{what}: only 32- and 64-bit forms"),
        };
        let pp = match p {
            0x66 => 1,
            0xF3 => 2,
            0xF2 => 3,
            _ => 0,
        };
        assert!(vvvv < 16, "register number {vvvv} out of range 0..16");
        self.buf.extend_from_slice(&[
            0xC4,
            ((hi(reg.0) ^ 1) << 7) | (1 << 6) | ((hi(rm.0) ^ 1) << 5) | map,
            (w << 7) | ((!vvvv & 0xF) << 3) | pp,
            op,
            modrm(3, reg.0, rm.0),
        ]);
    }

    /// `F3 0F op /r` bit-count instructions.
    fn f3_op(&mut self, size: Size, op: u8, dst: Gpr, src: Gpr, what: &str) {
        let (p, w) = wide(size, what);
        // The operand-size prefix goes before the mandatory F3, and REX after both.
        let prefixes: &[u8] = if p.is_empty() { &[0xF3] } else { &[0x66, 0xF3] };
        self.insn(prefixes, w, false, &[0x0F, op], dst.0, Rm::Reg(src.0));
    }

    /// `movss xmm, dword [m]` (`F3 0F 10`); zeroes the upper lanes.
    pub fn movss_load(&mut self, dst: Xmm, src: Amode) {
        self.insn(&[0xF3], false, false, &[0x0F, 0x10], dst.0, Rm::Mem(src));
    }

    /// `movsd xmm, qword [m]` (`F2 0F 10`); zeroes the upper lane.
    pub fn movsd_load(&mut self, dst: Xmm, src: Amode) {
        self.insn(&[0xF2], false, false, &[0x0F, 0x10], dst.0, Rm::Mem(src));
    }

    /// `movss dword [m], xmm` (`F3 0F 11`).
    pub fn movss_store(&mut self, dst: Amode, src: Xmm) {
        self.insn(&[0xF3], false, false, &[0x0F, 0x11], src.0, Rm::Mem(dst));
    }

    /// `movsd qword [m], xmm` (`F2 0F 11`).
    pub fn movsd_store(&mut self, dst: Amode, src: Xmm) {
        self.insn(&[0xF2], false, false, &[0x0F, 0x11], src.0, Rm::Mem(dst));
    }

    /// `movaps dst, src` (`0F 28`): full register copy, the shortest one.
    pub fn movaps(&mut self, dst: Xmm, src: Xmm) {
        self.insn(&[], false, false, &[0x0F, 0x28], dst.0, Rm::Reg(src.0));
    }

    /// `movd xmm, r32` (S32) / `movq xmm, r64` (S64): `66 (REX.W) 0F 6E`.
    pub fn movd_to_xmm(&mut self, size: Size, dst: Xmm, src: Gpr) {
        let w = w32_64(size, "movd_to_xmm");
        self.insn(&[0x66], w, false, &[0x0F, 0x6E], dst.0, Rm::Reg(src.0));
    }

    /// `movd r32, xmm` (S32) / `movq r64, xmm` (S64): `66 (REX.W) 0F 7E`.
    /// The xmm register sits in ModRM.reg, the GPR in ModRM.rm.
    pub fn movd_from_xmm(&mut self, size: Size, dst: Gpr, src: Xmm) {
        let w = w32_64(size, "movd_from_xmm");
        self.insn(&[0x66], w, false, &[0x0F, 0x7E], src.0, Rm::Reg(dst.0));
    }

    /// Scalar SSE op `op dst, src` on registers.
    pub fn sse(&mut self, op: SseOp, dst: Xmm, src: Xmm) {
        self.sse_any(op, dst, Rm::Reg(src.0));
    }

    /// Memory-source form `op dst, [src]` of the same ops. The packed bitwise
    /// ops need a 16-byte aligned address.
    pub fn sse_m(&mut self, op: SseOp, dst: Xmm, src: Amode) {
        self.sse_any(op, dst, Rm::Mem(src));
    }

    /// Shared body of [`Asm::sse`] and [`Asm::sse_m`].
    fn sse_any(&mut self, op: SseOp, dst: Xmm, src: Rm) {
        let (prefix, opcode) = op.encoding();
        let p: &[u8] = if prefix == 0 { &[] } else { &[prefix] };
        self.insn(p, false, false, &[0x0F, opcode], dst.0, src);
    }

    /// `roundss dst, src, imm` (SSE4.1, `66 0F 3A 0A /r ib`).
    pub fn roundss(&mut self, dst: Xmm, src: Xmm, imm: u8) {
        self.insn(
            &[0x66],
            false,
            false,
            &[0x0F, 0x3A, 0x0A],
            dst.0,
            Rm::Reg(src.0),
        );
        self.buf.push(imm);
    }

    /// `roundsd dst, src, imm` (SSE4.1, `66 0F 3A 0B /r ib`).
    pub fn roundsd(&mut self, dst: Xmm, src: Xmm, imm: u8) {
        self.insn(
            &[0x66],
            false,
            false,
            &[0x0F, 0x3A, 0x0B],
            dst.0,
            Rm::Reg(src.0),
        );
        self.buf.push(imm);
    }

    /// `cvtsi2ss dst, src` (`F3 (REX.W) 0F 2A`); `size` is the GPR source
    /// size (S32 or S64).
    pub fn cvtsi2ss(&mut self, size: Size, dst: Xmm, src: Gpr) {
        let w = w32_64(size, "cvtsi2ss");
        self.insn(&[0xF3], w, false, &[0x0F, 0x2A], dst.0, Rm::Reg(src.0));
    }

    /// `cvtsi2sd dst, src` (`F2 (REX.W) 0F 2A`); `size` is the GPR source
    /// size (S32 or S64).
    pub fn cvtsi2sd(&mut self, size: Size, dst: Xmm, src: Gpr) {
        let w = w32_64(size, "cvtsi2sd");
        self.insn(&[0xF2], w, false, &[0x0F, 0x2A], dst.0, Rm::Reg(src.0));
    }

    /// `cvttss2si dst, src` (`F3 (REX.W) 0F 2C`); `size` is the GPR
    /// destination size (S32 or S64).
    pub fn cvttss2si(&mut self, size: Size, dst: Gpr, src: Xmm) {
        let w = w32_64(size, "cvttss2si");
        self.insn(&[0xF3], w, false, &[0x0F, 0x2C], dst.0, Rm::Reg(src.0));
    }

    /// `cvttsd2si dst, src` (`F2 (REX.W) 0F 2C`); `size` is the GPR
    /// destination size (S32 or S64).
    pub fn cvttsd2si(&mut self, size: Size, dst: Gpr, src: Xmm) {
        let w = w32_64(size, "cvttsd2si");
        self.insn(&[0xF2], w, false, &[0x0F, 0x2C], dst.0, Rm::Reg(src.0));
    }

    /// Overwrites the 4-byte field at `at` with `value` (little endian).
    ///
    /// Panics if the field lies outside the code emitted so far.
    pub fn patch_u32(&mut self, at: u32, value: u32) {
        let at = at as usize;
        self.buf[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Emits raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    // ---- encoding helpers ----

    /// Emits `prefixes [REX] opcode ModRM [SIB] [disp]`.
    ///
    /// `reg` is the ModRM.reg register number or opcode extension `/digit`.
    /// `byte_rex` forces a REX prefix because a byte register 4..7 (spl, bpl,
    /// sil, dil) is used.
    fn insn(&mut self, prefixes: &[u8], w: bool, byte_rex: bool, opcode: &[u8], reg: u8, rm: Rm) {
        self.buf.extend_from_slice(prefixes);
        let (x, b) = match rm {
            Rm::Reg(r) => (0, hi(r)),
            Rm::Mem(m) => (m.index.map_or(0, |(i, _)| hi(i.0)), hi(m.base.0)),
        };
        let rex = 0x40 | (u8::from(w) << 3) | (hi(reg) << 2) | (x << 1) | b;
        if rex != 0x40 || byte_rex {
            self.buf.push(rex);
        }
        self.buf.extend_from_slice(opcode);
        match rm {
            Rm::Reg(r) => self.buf.push(modrm(3, reg, r)),
            Rm::Mem(m) => self.mem_operand(reg, m),
        }
    }

    /// Emits `prefixes [REX.W] opcode` for forms without ModRM.
    fn insn_plain(&mut self, prefixes: &[u8], w: bool, opcode: &[u8]) {
        self.buf.extend_from_slice(prefixes);
        if w {
            self.buf.push(0x48);
        }
        self.buf.extend_from_slice(opcode);
    }

    /// Emits `prefixes [REX] opcode+reg` (register in the low 3 opcode bits,
    /// its high bit in REX.B).
    fn insn_oreg(&mut self, prefixes: &[u8], w: bool, byte_rex: bool, opcode: u8, r: u8) {
        self.buf.extend_from_slice(prefixes);
        let rex = 0x40 | (u8::from(w) << 3) | hi(r);
        if rex != 0x40 || byte_rex {
            self.buf.push(rex);
        }
        self.buf.push(opcode + (r & 7));
    }

    /// Emits ModRM, optional SIB and displacement for `[base + index*scale + disp]`.
    fn mem_operand(&mut self, reg: u8, m: Amode) {
        let base = m.base.0 & 7;
        // mod=00 with base 101 (rbp/r13) means "RIP-relative" (or "no base"
        // with a SIB), so those bases always carry a displacement, at least a
        // disp8 of 0.
        let md = if m.disp == 0 && base != 5 {
            0
        } else if fits_i8(m.disp) {
            1
        } else {
            2
        };
        match m.index {
            // rm=100 (rsp/r12) announces a SIB byte, so those bases cannot be
            // encoded directly in ModRM.
            None if base != 4 => self.buf.push(modrm(md, reg, base)),
            None => {
                // SIB index 100 with REX.X=0 means "no index".
                self.buf
                    .extend_from_slice(&[modrm(md, reg, 4), sib(0, 4, base)]);
            }
            Some((index, scale)) => {
                assert!(index != regs::RSP, "rsp cannot be an index register");
                let ss = match scale {
                    1 => 0,
                    2 => 1,
                    4 => 2,
                    8 => 3,
                    _ => panic!("scale must be 1, 2, 4 or 8, got {scale}"),
                };
                self.buf
                    .extend_from_slice(&[modrm(md, reg, 4), sib(ss, index.0 & 7, base)]);
            }
        }
        match md {
            0 => {}
            1 => self.buf.push(m.disp as u8),
            _ => self.buf.extend_from_slice(&m.disp.to_le_bytes()),
        }
    }

    /// Emits an immediate of the operand size: 2 bytes for S16, else 4 bytes
    /// (S64 immediates are sign-extended 32-bit values).
    fn imm_sized(&mut self, size: Size, imm: i32) {
        match size {
            Size::S8 => self.buf.push(imm as u8),
            Size::S16 => self.buf.extend_from_slice(&(imm as u16).to_le_bytes()),
            Size::S32 | Size::S64 => self.buf.extend_from_slice(&imm.to_le_bytes()),
        }
    }
}

/// ModRM byte: `mod` (2 bits), `reg` (3 bits), `rm` (3 bits).
fn modrm(md: u8, reg: u8, rm: u8) -> u8 {
    (md << 6) | ((reg & 7) << 3) | (rm & 7)
}

/// SIB byte: scale exponent, index, base (low 3 bits each).
fn sib(ss: u8, index: u8, base: u8) -> u8 {
    (ss << 6) | ((index & 7) << 3) | (base & 7)
}

mod simd;
pub use simd::{Broadcast, LaneSize, VecImmOp, VecOp, VecShiftImm};

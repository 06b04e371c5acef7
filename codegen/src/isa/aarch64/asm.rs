//! A64 encoder: the instruction forms the aarch64 backend emits, with labels and their
//! fixups.
//!
//! Every instruction is one 32-bit word. Register fields are hardware encodings; register
//! 31 is the zero register (`xzr`/`wzr`) or the stack pointer depending on the form, as
//! the architecture defines it: each method's doc says which. Immediates that a form
//! cannot hold are a bug in the caller (checked with assertions); callers use the
//! `*_fits` predicates to choose a form. `codegen/tests/encoder_aarch64.rs` checks every
//! form against a disassembler.

mod simd;
pub use simd::*;

/// A general-purpose register (`x0`-`x30`; 31 is `xzr` or `sp` as the form defines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gpr(pub u8);

/// A SIMD and floating-point register (`v0`-`v31`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vreg(pub u8);

/// The named registers.
pub mod regs {
    use super::{Gpr, Vreg};
    use wasmprecomp_artifact::abi::aarch64 as p;
    pub const X0: Gpr = Gpr(p::X0);
    pub const X8: Gpr = Gpr(p::X8);
    pub const IP0: Gpr = Gpr(p::IP0);
    pub const IP1: Gpr = Gpr(p::IP1);
    pub const FP: Gpr = Gpr(p::FP);
    pub const LR: Gpr = Gpr(p::LR);
    /// Register 31 in forms that read it as the stack pointer.
    pub const SP: Gpr = Gpr(31);
    /// Register 31 in forms that read it as zero.
    pub const ZR: Gpr = Gpr(31);
    /// The vector scratch registers, never allocated.
    pub const VSCRATCH: Vreg = Vreg(31);
    pub const VSCRATCH2: Vreg = Vreg(30);
}

/// Operand width of an integer instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    S32,
    S64,
}

impl Size {
    fn sf(self) -> u32 {
        match self {
            Size::S32 => 0,
            Size::S64 => 1 << 31,
        }
    }
    pub fn bits(self) -> u32 {
        match self {
            Size::S32 => 32,
            Size::S64 => 64,
        }
    }
}

/// Condition codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Cond {
    Eq = 0,
    Ne = 1,
    Hs = 2,
    Lo = 3,
    Mi = 4,
    Pl = 5,
    Vs = 6,
    Vc = 7,
    Hi = 8,
    Ls = 9,
    Ge = 10,
    Lt = 11,
    Gt = 12,
    Le = 13,
}

impl Cond {
    pub fn invert(self) -> Cond {
        use Cond::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            Hs => Lo,
            Lo => Hs,
            Mi => Pl,
            Pl => Mi,
            Vs => Vc,
            Vc => Vs,
            Hi => Ls,
            Ls => Hi,
            Ge => Lt,
            Lt => Ge,
            Gt => Le,
            Le => Gt,
        }
    }
}

/// Two-register arithmetic and logical operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Sub,
    /// Subtract, setting flags (`cmp` when the destination is the zero register).
    Subs,
    /// Add, setting flags (`cmn`).
    Adds,
    And,
    Orr,
    Eor,
    /// And, setting flags (`tst`).
    Ands,
}

impl AluOp {
    fn is_logical(self) -> bool {
        matches!(self, AluOp::And | AluOp::Orr | AluOp::Eor | AluOp::Ands)
    }
}

/// Shifts by a register (`lslv` family) or an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftOp {
    Lsl,
    Lsr,
    Asr,
    Ror,
}

/// Access width and extension of a load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemOp {
    /// Stores: the low 1, 2, 4 or 8 bytes of a general register.
    Str8,
    Str16,
    Str32,
    Str64,
    /// Loads zero-extending into the register (a 32-bit register for 1-4 bytes).
    Ldr8,
    Ldr16,
    Ldr32,
    Ldr64,
    /// Loads sign-extending to 32 bits.
    Ldrsb32,
    Ldrsh32,
    /// Loads sign-extending to 64 bits.
    Ldrsb64,
    Ldrsh64,
    Ldrsw,
    /// Float and vector registers: 4, 8 and 16 bytes.
    StrS,
    StrD,
    StrQ,
    LdrS,
    LdrD,
    LdrQ,
}

impl MemOp {
    /// Bytes accessed.
    pub fn bytes(self) -> u32 {
        use MemOp::*;
        match self {
            Str8 | Ldr8 | Ldrsb32 | Ldrsb64 => 1,
            Str16 | Ldr16 | Ldrsh32 | Ldrsh64 => 2,
            Str32 | Ldr32 | Ldrsw | StrS | LdrS => 4,
            Str64 | Ldr64 | StrD | LdrD => 8,
            StrQ | LdrQ => 16,
        }
    }
    /// Whether the data register is a vector register.
    pub fn is_vector(self) -> bool {
        use MemOp::*;
        matches!(self, StrS | StrD | StrQ | LdrS | LdrD | LdrQ)
    }
    /// The unsigned-offset form's fixed bits.
    fn base(self) -> u32 {
        use MemOp::*;
        match self {
            Str8 => 0x3900_0000,
            Ldr8 => 0x3940_0000,
            Ldrsb64 => 0x3980_0000,
            Ldrsb32 => 0x39C0_0000,
            Str16 => 0x7900_0000,
            Ldr16 => 0x7940_0000,
            Ldrsh64 => 0x7980_0000,
            Ldrsh32 => 0x79C0_0000,
            Str32 => 0xB900_0000,
            Ldr32 => 0xB940_0000,
            Ldrsw => 0xB980_0000,
            Str64 => 0xF900_0000,
            Ldr64 => 0xF940_0000,
            StrS => 0xBD00_0000,
            LdrS => 0xBD40_0000,
            StrD => 0xFD00_0000,
            LdrD => 0xFD40_0000,
            StrQ => 0x3D80_0000,
            LdrQ => 0x3DC0_0000,
        }
    }
}

/// How a register offset is extended in an address (`[xn, wm, uxtw]`, `[xn, xm]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extend {
    Uxtw = 0b010,
    Lsl = 0b011,
    Sxtw = 0b110,
}

/// Float precision of a scalar floating-point instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FSize {
    S,
    D,
}

impl FSize {
    fn ty(self) -> u32 {
        match self {
            FSize::S => 0,
            FSize::D => 1 << 22,
        }
    }
}

/// Two-operand scalar float operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FBinOp {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

/// One-operand scalar float operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FUnOp {
    Mov,
    Abs,
    Neg,
    Sqrt,
    /// Round to nearest, ties to even.
    RintN,
    /// Round toward plus infinity.
    RintP,
    /// Round toward minus infinity.
    RintM,
    /// Round toward zero.
    RintZ,
}

/// A position in the code that branches and address computations refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixup {
    /// `b`/`bl`: 26-bit word offset at bit 0.
    Imm26,
    /// `b.cond`, `cbz`, `cbnz`, `ldr` literal: 19-bit word offset at bit 5.
    Imm19,
    /// `adr`: 21-bit byte offset split in immlo (29-30) and immhi (5-23).
    Adr,
    /// A 32-bit data word: target minus the word's own label `base`.
    Rel32 { base: Label },
}

/// A branch whose target lies beyond its form's range: the code must be emitted again
/// with far branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

/// Whether `imm` is an `add`/`sub` immediate (12 bits, optionally shifted by 12).
pub fn add_imm_fits(imm: u64) -> bool {
    imm < 0x1000 || (imm & 0xfff == 0 && imm < 0x100_0000)
}

/// The `N:immr:imms` field of a logical immediate for `value` at `size`, if `value` is
/// a replicated rotated run of ones (neither all zeros nor all ones).
pub fn logical_imm(value: u64, size: Size) -> Option<u32> {
    let value = match size {
        Size::S32 => {
            let v = value & 0xffff_ffff;
            v | (v << 32)
        }
        Size::S64 => value,
    };
    if value == 0 || value == u64::MAX {
        return None;
    }
    // The smallest element size whose replication gives the value.
    let mut e = 64u32;
    while e > 2 {
        let half = e / 2;
        let mask = (1u64 << half) - 1;
        if (value & mask) != ((value >> half) & mask) {
            break;
        }
        e = half;
    }
    let mask = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
    let elem = value & mask;
    // Rotate the element right until it is a run of ones starting at bit 0.
    let ones = elem.count_ones();
    let rot = (0..e).find(|&r| {
        let rotated = if r == 0 {
            elem
        } else {
            ((elem >> r) | (elem << (e - r))) & mask
        };
        rotated == (1u64 << ones) - 1
    })?;
    // `rot` rotates right to normalize; the encoding's immr rotates the normalized run
    // right back into place.
    let immr = (e - rot) % e;
    let n = u32::from(e == 64);
    let imms = ((!(e - 1) << 1) & 0x3f) | (ones - 1);
    Some((n << 12) | (immr << 6) | imms)
}

/// The buffer instructions are emitted into, with labels.
#[derive(Default)]
pub struct Asm {
    buf: Vec<u8>,
    labels: Vec<Option<u32>>,
    fixups: Vec<(u32, Label, Fixup)>,
}

fn r(reg: Gpr) -> u32 {
    debug_assert!(reg.0 < 32);
    reg.0 as u32
}
fn v(reg: Vreg) -> u32 {
    debug_assert!(reg.0 < 32);
    reg.0 as u32
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    pub fn offset(&self) -> u32 {
        self.buf.len() as u32
    }

    /// Emits one instruction word.
    pub fn word(&mut self, w: u32) {
        self.buf.extend_from_slice(&w.to_le_bytes());
    }

    /// Overwrites the instruction word at `at`.
    pub fn patch_word(&mut self, at: u32, w: u32) {
        self.buf[at as usize..at as usize + 4].copy_from_slice(&w.to_le_bytes());
    }

    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() as u32 - 1)
    }

    pub fn bind(&mut self, l: Label) {
        debug_assert!(self.labels[l.0 as usize].is_none(), "label bound twice");
        self.labels[l.0 as usize] = Some(self.offset());
    }

    /// Pads with `udf` words to a multiple of `align` bytes.
    pub fn align(&mut self, align: u32) {
        while !self.offset().is_multiple_of(align) {
            self.word(0);
        }
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Resolves every fixup and returns the code.
    pub fn finish(mut self) -> Result<Vec<u8>, OutOfRange> {
        for (at, l, kind) in std::mem::take(&mut self.fixups) {
            let target = self.labels[l.0 as usize].expect("unbound label") as i64;
            let rel = target - at as i64;
            let old =
                u32::from_le_bytes(self.buf[at as usize..at as usize + 4].try_into().unwrap());
            let new = match kind {
                Fixup::Imm26 => {
                    let w = rel >> 2;
                    if !(-(1 << 25)..(1 << 25)).contains(&w) {
                        return Err(OutOfRange);
                    }
                    old | (w as u32 & 0x03ff_ffff)
                }
                Fixup::Imm19 => {
                    let w = rel >> 2;
                    if !(-(1 << 18)..(1 << 18)).contains(&w) {
                        return Err(OutOfRange);
                    }
                    old | ((w as u32 & 0x7_ffff) << 5)
                }
                Fixup::Adr => {
                    if !(-(1 << 20)..(1 << 20)).contains(&rel) {
                        return Err(OutOfRange);
                    }
                    let imm = rel as u32 & 0x1f_ffff;
                    old | ((imm & 3) << 29) | ((imm >> 2) << 5)
                }
                Fixup::Rel32 { base } => {
                    let b = self.labels[base.0 as usize].expect("unbound label") as i64;
                    (target - b) as i32 as u32
                }
            };
            self.patch_word(at, new);
        }
        Ok(self.buf)
    }

    fn fixup(&mut self, l: Label, kind: Fixup) {
        self.fixups.push((self.offset(), l, kind));
    }

    // ---------------------------------------------------------------------------
    // Integer arithmetic and logic

    /// `op rd, rn, rm` (shifted-register form, no shift). Register 31 is the zero
    /// register in every position.
    pub fn alu_rrr(&mut self, op: AluOp, size: Size, rd: Gpr, rn: Gpr, rm: Gpr) {
        self.alu_rrr_shift(op, size, rd, rn, rm, ShiftOp::Lsl, 0);
    }

    /// `op rd, rn, rm, shift #amount` (shifted-register form; `Ror` only for logical
    /// operations).
    #[allow(clippy::too_many_arguments)]
    pub fn alu_rrr_shift(
        &mut self,
        op: AluOp,
        size: Size,
        rd: Gpr,
        rn: Gpr,
        rm: Gpr,
        shift: ShiftOp,
        amount: u8,
    ) {
        assert!((amount as u32) < size.bits());
        assert!(op.is_logical() || shift != ShiftOp::Ror);
        let base = match op {
            AluOp::Add => 0x0B00_0000,
            AluOp::Adds => 0x2B00_0000,
            AluOp::Sub => 0x4B00_0000,
            AluOp::Subs => 0x6B00_0000,
            AluOp::And => 0x0A00_0000,
            AluOp::Orr => 0x2A00_0000,
            AluOp::Eor => 0x4A00_0000,
            AluOp::Ands => 0x6A00_0000,
        };
        self.word(
            base | size.sf()
                | (shift as u32) << 22
                | r(rm) << 16
                | (amount as u32) << 10
                | r(rn) << 5
                | r(rd),
        );
    }

    /// `op rd, rn, wm/xm, ext` (extended-register form, `Add`/`Sub`/`Adds`/`Subs`):
    /// `rd` (unless flags are set) and `rn` may be `sp`; `Uxtw`/`Sxtw` read `rm` as 32
    /// bits.
    pub fn alu_ext(&mut self, op: AluOp, rd: Gpr, rn: Gpr, rm: Gpr, ext: Extend) {
        let base = match op {
            AluOp::Add => 0x8B20_0000,
            AluOp::Adds => 0xAB20_0000,
            AluOp::Sub => 0xCB20_0000,
            AluOp::Subs => 0xEB20_0000,
            _ => panic!("no extended-register form of {op:?}"),
        };
        self.word(base | r(rm) << 16 | (ext as u32) << 13 | r(rn) << 5 | r(rd));
    }

    /// `op rd, rn, #imm` for `Add`/`Sub`/`Adds`/`Subs` with [`add_imm_fits`] immediates
    /// (`rd` unless flags are set, and `rn`, may be `sp`), and for the logical operations
    /// with [`logical_imm`] immediates (`rd` may be `sp` unless flags are set).
    pub fn alu_ri(&mut self, op: AluOp, size: Size, rd: Gpr, rn: Gpr, imm: u64) {
        if op.is_logical() {
            let enc = logical_imm(imm, size).expect("not a logical immediate");
            assert!(size == Size::S64 || enc & (1 << 12) == 0);
            let base = match op {
                AluOp::And => 0x1200_0000,
                AluOp::Orr => 0x3200_0000,
                AluOp::Eor => 0x5200_0000,
                _ => 0x7200_0000,
            };
            self.word(base | size.sf() | enc << 10 | r(rn) << 5 | r(rd));
            return;
        }
        assert!(add_imm_fits(imm), "not an add immediate: {imm:#x}");
        let base = match op {
            AluOp::Add => 0x1100_0000,
            AluOp::Adds => 0x3100_0000,
            AluOp::Sub => 0x5100_0000,
            _ => 0x7100_0000,
        };
        let (sh, imm12) = if imm < 0x1000 {
            (0, imm as u32)
        } else {
            (1 << 22, (imm >> 12) as u32)
        };
        self.word(base | size.sf() | sh | imm12 << 10 | r(rn) << 5 | r(rd));
    }

    /// `mov rd, rm` between general registers (`orr rd, zr, rm`; 31 is the zero
    /// register).
    pub fn mov(&mut self, size: Size, rd: Gpr, rm: Gpr) {
        self.alu_rrr(AluOp::Orr, size, rd, regs::ZR, rm);
    }

    /// `mov rd, sp` / `mov sp, rn` (`add rd, rn, #0`: register 31 is `sp`).
    pub fn mov_sp(&mut self, rd: Gpr, rn: Gpr) {
        self.alu_ri(AluOp::Add, Size::S64, rd, rn, 0);
    }

    /// `movz rd, #imm16, lsl #(16*hw)`.
    pub fn movz(&mut self, size: Size, rd: Gpr, imm16: u16, hw: u8) {
        assert!((hw as u32) * 16 < size.bits());
        self.word(0x5280_0000 | size.sf() | (hw as u32) << 21 | (imm16 as u32) << 5 | r(rd));
    }

    /// `movn rd, #imm16, lsl #(16*hw)`.
    pub fn movn(&mut self, size: Size, rd: Gpr, imm16: u16, hw: u8) {
        assert!((hw as u32) * 16 < size.bits());
        self.word(0x1280_0000 | size.sf() | (hw as u32) << 21 | (imm16 as u32) << 5 | r(rd));
    }

    /// `movk rd, #imm16, lsl #(16*hw)`.
    pub fn movk(&mut self, size: Size, rd: Gpr, imm16: u16, hw: u8) {
        assert!((hw as u32) * 16 < size.bits());
        self.word(0x7280_0000 | size.sf() | (hw as u32) << 21 | (imm16 as u32) << 5 | r(rd));
    }

    /// `rd = bits` in the fewest instructions: one logical immediate, or `movz`/`movn`
    /// and `movk`s. A 64-bit value whose upper half is zero takes the 32-bit forms (a
    /// 32-bit write zeroes the upper half), never longer and sometimes shorter
    /// (`movn w`, a 32-bit logical immediate).
    pub fn mov_imm(&mut self, size: Size, rd: Gpr, bits: u64) {
        let bits = match size {
            Size::S32 => bits & 0xffff_ffff,
            Size::S64 if bits >> 32 == 0 => return self.mov_imm(Size::S32, rd, bits),
            Size::S64 => bits,
        };
        let chunks = size.bits() / 16;
        let chunk = |i: u32| ((bits >> (16 * i)) & 0xffff) as u16;
        let zeros = (0..chunks).filter(|&i| chunk(i) == 0).count() as u32;
        let ones = (0..chunks).filter(|&i| chunk(i) == 0xffff).count() as u32;
        if zeros < chunks - 1 && ones < chunks - 1 && logical_imm(bits, size).is_some() {
            self.alu_ri(AluOp::Orr, size, rd, regs::ZR, bits);
            return;
        }
        if ones > zeros {
            // movn writes the inverse of its immediate; the rest are movk.
            let first = (0..chunks).find(|&i| chunk(i) != 0xffff).unwrap_or(0);
            self.movn(size, rd, !chunk(first), first as u8);
            for i in (first + 1)..chunks {
                if chunk(i) != 0xffff {
                    self.movk(size, rd, chunk(i), i as u8);
                }
            }
        } else {
            let first = (0..chunks).find(|&i| chunk(i) != 0).unwrap_or(0);
            self.movz(size, rd, chunk(first), first as u8);
            for i in (first + 1)..chunks {
                if chunk(i) != 0 {
                    self.movk(size, rd, chunk(i), i as u8);
                }
            }
        }
    }

    /// `madd rd, rn, rm, ra` (`mul` with `ra` = zero register).
    pub fn madd(&mut self, size: Size, rd: Gpr, rn: Gpr, rm: Gpr, ra: Gpr) {
        self.word(0x1B00_0000 | size.sf() | r(rm) << 16 | r(ra) << 10 | r(rn) << 5 | r(rd));
    }

    /// `msub rd, rn, rm, ra`: `rd = ra - rn * rm`.
    pub fn msub(&mut self, size: Size, rd: Gpr, rn: Gpr, rm: Gpr, ra: Gpr) {
        self.word(0x1B00_8000 | size.sf() | r(rm) << 16 | r(ra) << 10 | r(rn) << 5 | r(rd));
    }

    /// `sdiv`/`udiv rd, rn, rm`.
    pub fn div(&mut self, size: Size, signed: bool, rd: Gpr, rn: Gpr, rm: Gpr) {
        let base = if signed { 0x1AC0_0C00 } else { 0x1AC0_0800 };
        self.word(base | size.sf() | r(rm) << 16 | r(rn) << 5 | r(rd));
    }

    /// `lslv`/`lsrv`/`asrv`/`rorv rd, rn, rm` (the count is taken modulo the width).
    pub fn shift_rr(&mut self, op: ShiftOp, size: Size, rd: Gpr, rn: Gpr, rm: Gpr) {
        let op2 = match op {
            ShiftOp::Lsl => 0x2000,
            ShiftOp::Lsr => 0x2400,
            ShiftOp::Asr => 0x2800,
            ShiftOp::Ror => 0x2C00,
        };
        self.word(0x1AC0_0000 | op2 | size.sf() | r(rm) << 16 | r(rn) << 5 | r(rd));
    }

    /// `ubfm`/`sbfm rd, rn, #immr, #imms` (the bitfield moves behind shifts and
    /// extensions).
    pub fn bfm(&mut self, signed: bool, size: Size, rd: Gpr, rn: Gpr, immr: u8, imms: u8) {
        assert!((immr as u32) < size.bits() && (imms as u32) < size.bits());
        let base = match (signed, size) {
            (false, Size::S32) => 0x5300_0000,
            (false, Size::S64) => 0xD340_0000,
            (true, Size::S32) => 0x1300_0000,
            (true, Size::S64) => 0x9340_0000,
        };
        self.word(base | (immr as u32) << 16 | (imms as u32) << 10 | r(rn) << 5 | r(rd));
    }

    /// `extr rd, rn, rm, #lsb` (`ror rd, rn, #lsb` when `rn` = `rm`).
    pub fn extr(&mut self, size: Size, rd: Gpr, rn: Gpr, rm: Gpr, lsb: u8) {
        assert!((lsb as u32) < size.bits());
        let base = match size {
            Size::S32 => 0x1380_0000,
            Size::S64 => 0x93C0_0000,
        };
        self.word(base | r(rm) << 16 | (lsb as u32) << 10 | r(rn) << 5 | r(rd));
    }

    /// Shift by an immediate count (below the width): `lsl`, `lsr`, `asr`, `ror`.
    pub fn shift_ri(&mut self, op: ShiftOp, size: Size, rd: Gpr, rn: Gpr, count: u8) {
        let w = size.bits() as u8;
        assert!(count < w);
        match op {
            ShiftOp::Lsl => self.bfm(false, size, rd, rn, (w - count) % w, w - 1 - count),
            ShiftOp::Lsr => self.bfm(false, size, rd, rn, count, w - 1),
            ShiftOp::Asr => self.bfm(true, size, rd, rn, count, w - 1),
            ShiftOp::Ror => self.extr(size, rd, rn, rn, count),
        }
    }

    /// `sxtb`/`sxth`/`sxtw rd, rn`: sign-extends the low `from` bits (8, 16 or 32) to
    /// `size`.
    pub fn sxt(&mut self, size: Size, rd: Gpr, rn: Gpr, from: u8) {
        assert!(matches!(from, 8 | 16 | 32) && (from as u32) < size.bits());
        self.bfm(true, size, rd, rn, 0, from - 1);
    }

    /// `uxtb`/`uxth rd, rn` (32-bit): zero-extends the low `from` bits (8 or 16).
    pub fn uxt(&mut self, rd: Gpr, rn: Gpr, from: u8) {
        assert!(matches!(from, 8 | 16));
        self.bfm(false, Size::S32, rd, rn, 0, from - 1);
    }

    /// `clz rd, rn`.
    pub fn clz(&mut self, size: Size, rd: Gpr, rn: Gpr) {
        self.word(0x5AC0_1000 | size.sf() | r(rn) << 5 | r(rd));
    }

    /// `rev rd, rn`: the bytes of `rn` in reverse order.
    pub fn rev(&mut self, size: Size, rd: Gpr, rn: Gpr) {
        let opc = if size == Size::S64 { 0xC00 } else { 0x800 };
        self.word(0x5AC0_0000 | size.sf() | opc | r(rn) << 5 | r(rd));
    }

    /// `rbit rd, rn`.
    pub fn rbit(&mut self, size: Size, rd: Gpr, rn: Gpr) {
        self.word(0x5AC0_0000 | size.sf() | r(rn) << 5 | r(rd));
    }

    /// `csel rd, rn, rm, cond`: `rd = cond ? rn : rm`.
    pub fn csel(&mut self, size: Size, rd: Gpr, rn: Gpr, rm: Gpr, cond: Cond) {
        self.word(0x1A80_0000 | size.sf() | r(rm) << 16 | (cond as u32) << 12 | r(rn) << 5 | r(rd));
    }

    /// `cset rd, cond` (`csinc rd, zr, zr, !cond`).
    pub fn cset(&mut self, size: Size, rd: Gpr, cond: Cond) {
        let inv = cond.invert() as u32;
        self.word(0x1A9F_07E0 | size.sf() | inv << 12 | r(rd));
    }

    // ---------------------------------------------------------------------------
    // Loads and stores

    /// Whether `off` is an unsigned-offset immediate for `op` (a multiple of the access
    /// size, below 4096 of them).
    pub fn uoff_fits(op: MemOp, off: i64) -> bool {
        let s = op.bytes() as i64;
        off >= 0 && off % s == 0 && off / s < 4096
    }

    /// Whether `off` is an unscaled (`ldur`/`stur`) offset: 9 bits signed.
    pub fn soff_fits(off: i64) -> bool {
        (-256..256).contains(&off)
    }

    /// `op rt, [rn, #off]` with an unsigned scaled offset ([`Asm::uoff_fits`]) or an
    /// unscaled one ([`Asm::soff_fits`], `ldur`/`stur`). `rn` may be `sp`.
    pub fn mem(&mut self, op: MemOp, rt: u8, rn: Gpr, off: i64) {
        let rt = rt as u32 & 31;
        if Asm::uoff_fits(op, off) {
            let imm12 = (off / op.bytes() as i64) as u32;
            self.word(op.base() | imm12 << 10 | r(rn) << 5 | rt);
        } else {
            assert!(Asm::soff_fits(off), "offset {off} out of range");
            let imm9 = off as u32 & 0x1ff;
            self.word((op.base() & !(1 << 24)) | imm9 << 12 | r(rn) << 5 | rt);
        }
    }

    /// `op rt, [rn, rm, ext]` (register offset; `scaled` shifts it left by the access
    /// size's log2). `rn` may be `sp`.
    pub fn mem_reg(&mut self, op: MemOp, rt: u8, rn: Gpr, rm: Gpr, ext: Extend, scaled: bool) {
        let rt = rt as u32 & 31;
        self.word(
            (op.base() & !(1 << 24))
                | 1 << 21
                | r(rm) << 16
                | (ext as u32) << 13
                | u32::from(scaled) << 12
                | 0b10 << 10
                | r(rn) << 5
                | rt,
        );
    }

    /// `stp rt, rt2, [rn, #off]!` (pre-index, 64-bit; `off` a multiple of 8 in
    /// -512..=504; `rn` may be `sp`).
    pub fn stp_pre(&mut self, rt: Gpr, rt2: Gpr, rn: Gpr, off: i32) {
        self.word(0xA980_0000 | pair_imm(off) | r(rt2) << 10 | r(rn) << 5 | r(rt));
    }

    /// `ldp rt, rt2, [rn], #off` (post-index, 64-bit).
    pub fn ldp_post(&mut self, rt: Gpr, rt2: Gpr, rn: Gpr, off: i32) {
        self.word(0xA8C0_0000 | pair_imm(off) | r(rt2) << 10 | r(rn) << 5 | r(rt));
    }

    /// `stp rt, rt2, [rn, #off]` (signed offset, 64-bit).
    pub fn stp(&mut self, rt: Gpr, rt2: Gpr, rn: Gpr, off: i32) {
        self.word(0xA900_0000 | pair_imm(off) | r(rt2) << 10 | r(rn) << 5 | r(rt));
    }

    /// `ldp rt, rt2, [rn, #off]` (signed offset, 64-bit).
    pub fn ldp(&mut self, rt: Gpr, rt2: Gpr, rn: Gpr, off: i32) {
        self.word(0xA940_0000 | pair_imm(off) | r(rt2) << 10 | r(rn) << 5 | r(rt));
    }

    // ---------------------------------------------------------------------------
    // Branches

    /// `b label`.
    pub fn b(&mut self, l: Label) {
        self.fixup(l, Fixup::Imm26);
        self.word(0x1400_0000);
    }

    /// `bl` with a zero offset, patched at link time. Returns the instruction's offset.
    pub fn bl_reloc(&mut self) -> u32 {
        let at = self.offset();
        self.word(0x9400_0000);
        at
    }

    /// `b.cond label`.
    pub fn b_cond(&mut self, cond: Cond, l: Label) {
        self.fixup(l, Fixup::Imm19);
        self.word(0x5400_0000 | cond as u32);
    }

    /// `cbz`/`cbnz rt, label` (`nonzero` for `cbnz`).
    pub fn cbz(&mut self, size: Size, nonzero: bool, rt: Gpr, l: Label) {
        self.fixup(l, Fixup::Imm19);
        let base = if nonzero { 0x3500_0000 } else { 0x3400_0000 };
        self.word(base | size.sf() | r(rt));
    }

    /// `br rn`.
    pub fn br(&mut self, rn: Gpr) {
        self.word(0xD61F_0000 | r(rn) << 5);
    }

    /// `blr rn`.
    pub fn blr(&mut self, rn: Gpr) {
        self.word(0xD63F_0000 | r(rn) << 5);
    }

    /// `ret` (through `lr`).
    pub fn ret(&mut self) {
        self.word(0xD65F_03C0);
    }

    /// `adr rd, label`.
    pub fn adr(&mut self, rd: Gpr, l: Label) {
        self.fixup(l, Fixup::Adr);
        self.word(0x1000_0000 | r(rd));
    }

    /// A 32-bit data word holding `target - base` (jump tables).
    pub fn rel32(&mut self, target: Label, base: Label) {
        self.fixup(target, Fixup::Rel32 { base });
        self.word(0);
    }

    /// `udf #0`: a permanently undefined instruction (never reached).
    pub fn udf(&mut self) {
        self.word(0);
    }

    // ---------------------------------------------------------------------------
    // Floating point

    /// `op rd, rn, rm` on scalar floats.
    pub fn fbin(&mut self, op: FBinOp, size: FSize, rd: Vreg, rn: Vreg, rm: Vreg) {
        let opc = match op {
            FBinOp::Mul => 0x0800,
            FBinOp::Div => 0x1800,
            FBinOp::Add => 0x2800,
            FBinOp::Sub => 0x3800,
            FBinOp::Max => 0x4800,
            FBinOp::Min => 0x5800,
        };
        self.word(0x1E20_0000 | opc | size.ty() | v(rm) << 16 | v(rn) << 5 | v(rd));
    }

    /// `op rd, rn` on scalar floats.
    pub fn fun(&mut self, op: FUnOp, size: FSize, rd: Vreg, rn: Vreg) {
        let opc = match op {
            FUnOp::Mov => 0x1E20_4000,
            FUnOp::Abs => 0x1E20_C000,
            FUnOp::Neg => 0x1E21_4000,
            FUnOp::Sqrt => 0x1E21_C000,
            FUnOp::RintN => 0x1E24_4000,
            FUnOp::RintP => 0x1E24_C000,
            FUnOp::RintM => 0x1E25_4000,
            FUnOp::RintZ => 0x1E25_C000,
        };
        self.word(opc | size.ty() | v(rn) << 5 | v(rd));
    }

    /// `fcvt`: converts `rn` of precision `from` to the other precision in `rd`.
    pub fn fcvt(&mut self, from: FSize, rd: Vreg, rn: Vreg) {
        let w = match from {
            FSize::S => 0x1E22_C000,
            FSize::D => 0x1E62_4000,
        };
        self.word(w | v(rn) << 5 | v(rd));
    }

    /// `fcmp rn, rm`.
    pub fn fcmp(&mut self, size: FSize, rn: Vreg, rm: Vreg) {
        self.word(0x1E20_2000 | size.ty() | v(rm) << 16 | v(rn) << 5);
    }

    /// `fcsel rd, rn, rm, cond`.
    pub fn fcsel(&mut self, size: FSize, rd: Vreg, rn: Vreg, rm: Vreg, cond: Cond) {
        self.word(0x1E20_0C00 | size.ty() | v(rm) << 16 | (cond as u32) << 12 | v(rn) << 5 | v(rd));
    }

    /// `fmov` from a general register to a float register of the same width (register
    /// 31 is the zero register).
    pub fn fmov_from_gpr(&mut self, size: Size, rd: Vreg, rn: Gpr) {
        let w = match size {
            Size::S32 => 0x1E27_0000,
            Size::S64 => 0x9E67_0000,
        };
        self.word(w | r(rn) << 5 | v(rd));
    }

    /// `fmov` from a float register to a general register of the same width.
    pub fn fmov_to_gpr(&mut self, size: Size, rd: Gpr, rn: Vreg) {
        let w = match size {
            Size::S32 => 0x1E26_0000,
            Size::S64 => 0x9E66_0000,
        };
        self.word(w | v(rn) << 5 | r(rd));
    }

    /// `scvtf`/`ucvtf rd, rn`: integer of `from` width to float.
    pub fn int_to_float(&mut self, signed: bool, from: Size, to: FSize, rd: Vreg, rn: Gpr) {
        let w = if signed { 0x1E22_0000 } else { 0x1E23_0000 };
        self.word(w | from.sf() | to.ty() | r(rn) << 5 | v(rd));
    }

    /// `fcvtzs`/`fcvtzu rd, rn`: float to integer, rounding toward zero, saturating (NaN
    /// gives 0).
    pub fn float_to_int(&mut self, signed: bool, from: FSize, to: Size, rd: Gpr, rn: Vreg) {
        let w = if signed { 0x1E38_0000 } else { 0x1E39_0000 };
        self.word(w | to.sf() | from.ty() | v(rn) << 5 | r(rd));
    }

    /// `mov vd.16b, vn.16b` (`orr`): the whole 128-bit register.
    pub fn vmov(&mut self, rd: Vreg, rn: Vreg) {
        self.word(0x4EA0_1C00 | v(rn) << 16 | v(rn) << 5 | v(rd));
    }

    /// `cnt vd.8b, vn.8b`: the bit count of each byte of the low half.
    pub fn cnt8b(&mut self, rd: Vreg, rn: Vreg) {
        self.word(0x0E20_5800 | v(rn) << 5 | v(rd));
    }

    /// `addv bd, vn.8b`: the sum of the low half's bytes.
    pub fn addv8b(&mut self, rd: Vreg, rn: Vreg) {
        self.word(0x0E31_B800 | v(rn) << 5 | v(rd));
    }
}

fn pair_imm(off: i32) -> u32 {
    assert!(
        off % 8 == 0 && (-512..=504).contains(&off),
        "pair offset {off}"
    );
    ((off / 8) as u32 & 0x7f) << 15
}

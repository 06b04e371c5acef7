//! A64 Advanced SIMD (NEON) forms: the vector instructions the 128-bit SIMD lowering
//! emits.
//!
//! The register-only forms are table-driven: each operation is a base word (the form's
//! fixed bits, `Q` and the size field clear) and how its size field is filled from the
//! arrangement. Arrangements are [`Arr`]s: a lane size and whether the instruction works
//! on the whole 128-bit register (`Q` = 1) or its low 64 bits, whose writes clear the upper
//! half.

use super::{r, v, Asm, Cond, Gpr, Size, Vreg};

/// The lane size of a vector instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    B,
    H,
    S,
    D,
}

impl Elem {
    /// log2 of the lane's bytes (the size field of the integer forms).
    pub fn log2(self) -> u32 {
        self as u32
    }
    /// Bits per lane.
    pub fn bits(self) -> u32 {
        8 << self.log2()
    }
    /// The lane twice as wide (`D` for `D`, which has none).
    pub fn wider(self) -> Elem {
        match self {
            Elem::B => Elem::H,
            Elem::H => Elem::S,
            _ => Elem::D,
        }
    }
    /// The `imm5` field of the copy forms (`dup`, `ins`, `umov`, `smov`) for `lane`.
    fn imm5(self, lane: u8) -> u32 {
        assert!((lane as u32) < 16 >> self.log2(), "lane {lane} of {self:?}");
        ((lane as u32) << (self.log2() + 1)) | (1 << self.log2())
    }
}

/// A vector arrangement: lanes of `elem` in the whole register (`q`) or its low half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arr {
    pub elem: Elem,
    pub q: bool,
}

impl Arr {
    /// The 128-bit arrangement of `elem` lanes.
    pub const fn full(elem: Elem) -> Arr {
        Arr { elem, q: true }
    }
    /// The 64-bit arrangement of `elem` lanes.
    pub const fn half(elem: Elem) -> Arr {
        Arr { elem, q: false }
    }
    fn q(self) -> u32 {
        u32::from(self.q) << 30
    }
}

/// How a form's size field (bits 22-23) comes from its arrangement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SizeField {
    /// The lane size (`size` = log2 bytes; any lane size the form takes).
    Int,
    /// Bit 22 is the float precision (0 for `S` lanes, 1 for `D` lanes); bit 23 is the
    /// operation's.
    Float,
    /// Fixed by the operation (bytewise forms).
    Fixed,
}

impl SizeField {
    fn bits(self, elem: Elem) -> u32 {
        match self {
            SizeField::Int => elem.log2() << 22,
            SizeField::Float => {
                assert!(matches!(elem, Elem::S | Elem::D), "float lanes are S or D");
                u32::from(elem == Elem::D) << 22
            }
            SizeField::Fixed => 0,
        }
    }
}

/// Three-register vector operations `op vd, vn, vm`.
///
/// The arrangement is that of every operand, but for the widening multiplications (`Smull`,
/// `Umull`), whose arrangement is the sources' (`8b` for `smull vd.8h`, `16b` for
/// `smull2 vd.8h`), and the bytewise ones (`And`..`Bsl`, `Tbl`), which read only `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V3 {
    Add,
    Sub,
    Mul,
    Sqadd,
    Uqadd,
    Sqsub,
    Uqsub,
    Smax,
    Umax,
    Smin,
    Umin,
    Urhadd,
    Sqrdmulh,
    Cmeq,
    Cmgt,
    Cmhi,
    Cmge,
    Cmhs,
    Sshl,
    Ushl,
    Addp,
    Zip1,
    And,
    Bic,
    Orr,
    Eor,
    /// `vd = (vd & vn) | (!vd & vm)`: reads its destination.
    Bsl,
    /// `tbl vd, {vn}, vm`: bytes of `vn` selected by `vm`, 0 for indices past 15.
    Tbl,
    Fadd,
    Fsub,
    Fmul,
    Fdiv,
    Fmax,
    Fmin,
    Fcmeq,
    Fcmge,
    Fcmgt,
    Smull,
    Umull,
}

impl V3 {
    fn form(self) -> (u32, SizeField) {
        use SizeField::*;
        use V3::*;
        match self {
            Add => (0x0E20_8400, Int),
            Sub => (0x2E20_8400, Int),
            Mul => (0x0E20_9C00, Int),
            Sqadd => (0x0E20_0C00, Int),
            Uqadd => (0x2E20_0C00, Int),
            Sqsub => (0x0E20_2C00, Int),
            Uqsub => (0x2E20_2C00, Int),
            Smax => (0x0E20_6400, Int),
            Umax => (0x2E20_6400, Int),
            Smin => (0x0E20_6C00, Int),
            Umin => (0x2E20_6C00, Int),
            Urhadd => (0x2E20_1400, Int),
            Sqrdmulh => (0x2E20_B400, Int),
            Cmeq => (0x2E20_8C00, Int),
            Cmgt => (0x0E20_3400, Int),
            Cmhi => (0x2E20_3400, Int),
            Cmge => (0x0E20_3C00, Int),
            Cmhs => (0x2E20_3C00, Int),
            Sshl => (0x0E20_4400, Int),
            Ushl => (0x2E20_4400, Int),
            Addp => (0x0E20_BC00, Int),
            Zip1 => (0x0E00_3800, Int),
            And => (0x0E20_1C00, Fixed),
            Bic => (0x0E60_1C00, Fixed),
            Orr => (0x0EA0_1C00, Fixed),
            Eor => (0x2E20_1C00, Fixed),
            Bsl => (0x2E60_1C00, Fixed),
            Tbl => (0x0E00_0000, Fixed),
            Fadd => (0x0E20_D400, Float),
            Fsub => (0x0EA0_D400, Float),
            Fmul => (0x2E20_DC00, Float),
            Fdiv => (0x2E20_FC00, Float),
            Fmax => (0x0E20_F400, Float),
            Fmin => (0x0EA0_F400, Float),
            Fcmeq => (0x0E20_E400, Float),
            Fcmge => (0x2E20_E400, Float),
            Fcmgt => (0x2EA0_E400, Float),
            Smull => (0x0E20_C000, Int),
            Umull => (0x2E20_C000, Int),
        }
    }
}

/// Two-register vector operations `op vd, vn` (the two-register miscellaneous and
/// across-lanes forms).
///
/// The arrangement is the operands' for the lane-wise ones; for the narrowing ones
/// (`Xtn`, `Sqxtn`, `Uqxtn`, `Sqxtun`) it is the destination's (`8b` for
/// `xtn vd.8b, vn.8h`); for the pairwise widening additions (`Saddlp`, `Uaddlp`) the
/// source's (`16b` for `saddlp vd.8h, vn.16b`); for `Fcvtn` and `Fcvtl` that of the wide
/// side with `q` clear (`2d`: `fcvtn vd.2s, vn.2d`, `fcvtl vd.2d, vn.2s`); for the
/// reductions (`Addv`, `Umaxv`, `Uminv`) the source's, the destination a scalar lane.
/// `Cnt` and `Not` read only `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2 {
    Abs,
    Neg,
    Cnt,
    Not,
    Xtn,
    Sqxtn,
    Uqxtn,
    Sqxtun,
    Saddlp,
    Uaddlp,
    /// Compare with zero: all-ones lanes where `vn == 0` (`Cmeq0`) or `vn < 0` (`Cmlt0`).
    Cmeq0,
    Cmlt0,
    Fabs,
    Fneg,
    Fsqrt,
    Frintn,
    Frintm,
    Frintp,
    Frintz,
    Fcvtzs,
    Fcvtzu,
    Scvtf,
    Ucvtf,
    Fcvtn,
    Fcvtl,
    Addv,
    Umaxv,
    Uminv,
}

impl V2 {
    fn form(self) -> (u32, SizeField) {
        use SizeField::*;
        use V2::*;
        match self {
            Abs => (0x0E20_B800, Int),
            Neg => (0x2E20_B800, Int),
            Cnt => (0x0E20_5800, Fixed),
            Not => (0x2E20_5800, Fixed),
            Xtn => (0x0E21_2800, Int),
            Sqxtn => (0x0E21_4800, Int),
            Uqxtn => (0x2E21_4800, Int),
            Sqxtun => (0x2E21_2800, Int),
            Saddlp => (0x0E20_2800, Int),
            Uaddlp => (0x2E20_2800, Int),
            Cmeq0 => (0x0E20_9800, Int),
            Cmlt0 => (0x0E20_A800, Int),
            Fabs => (0x0EA0_F800, Float),
            Fneg => (0x2EA0_F800, Float),
            Fsqrt => (0x2EA1_F800, Float),
            Frintn => (0x0E21_8800, Float),
            Frintm => (0x0E21_9800, Float),
            Frintp => (0x0EA1_8800, Float),
            Frintz => (0x0EA1_9800, Float),
            Fcvtzs => (0x0EA1_B800, Float),
            Fcvtzu => (0x2EA1_B800, Float),
            Scvtf => (0x0E21_D800, Float),
            Ucvtf => (0x2E21_D800, Float),
            Fcvtn => (0x0E21_6800, Float),
            Fcvtl => (0x0E21_7800, Float),
            Addv => (0x0E31_B800, Int),
            Umaxv => (0x2E30_A800, Int),
            Uminv => (0x2E31_A800, Int),
        }
    }
}

/// Shifts by an immediate, `op vd, vn, #amount`.
///
/// `Shl` takes an amount below the lane width, `Sshr`/`Ushr` one from 1 to the width;
/// the widening `Sshll`/`Ushll` (`sxtl`/`uxtl` for amount 0) take the source's
/// arrangement (`8b` for `sshll vd.8h, vn.8b`, `16b` for `sshll2`) and an amount below
/// its lane width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VShift {
    Shl,
    Sshr,
    Ushr,
    Sshll,
    Ushll,
}

impl Asm {
    /// `op vd.<arr>, vn.<arr>, vm.<arr>` (see [`V3`] for the arrangement of each form).
    pub fn v3(&mut self, op: V3, arr: Arr, rd: Vreg, rn: Vreg, rm: Vreg) {
        let (base, size) = op.form();
        match op {
            V3::Smull | V3::Umull | V3::Mul => assert!(arr.elem != Elem::D, "{op:?} of D lanes"),
            V3::Sqrdmulh => assert!(matches!(arr.elem, Elem::H | Elem::S), "sqrdmulh lanes"),
            _ => {}
        }
        self.word(base | arr.q() | size.bits(arr.elem) | v(rm) << 16 | v(rn) << 5 | v(rd));
    }

    /// `op vd, vn` (see [`V2`] for the arrangement of each form).
    pub fn v2(&mut self, op: V2, arr: Arr, rd: Vreg, rn: Vreg) {
        let (base, size) = op.form();
        self.word(base | arr.q() | size.bits(arr.elem) | v(rn) << 5 | v(rd));
    }

    /// `op vd, vn, #amount` (see [`VShift`]).
    pub fn vshift(&mut self, op: VShift, arr: Arr, rd: Vreg, rn: Vreg, amount: u32) {
        let esize = arr.elem.bits();
        let (base, immhb) = match op {
            VShift::Shl | VShift::Sshll | VShift::Ushll => {
                assert!(amount < esize, "shift {amount} of {esize}-bit lanes");
                if op != VShift::Shl {
                    assert!(arr.elem != Elem::D, "no 128-bit lanes");
                }
                let base = match op {
                    VShift::Shl => 0x0F00_5400,
                    VShift::Sshll => 0x0F00_A400,
                    _ => 0x2F00_A400,
                };
                (base, esize + amount)
            }
            VShift::Sshr | VShift::Ushr => {
                assert!((1..=esize).contains(&amount), "shift {amount} of {esize}");
                let base = if op == VShift::Sshr {
                    0x0F00_0400
                } else {
                    0x2F00_0400
                };
                (base, 2 * esize - amount)
            }
        };
        self.word(base | arr.q() | immhb << 16 | v(rn) << 5 | v(rd));
    }

    /// `tbl vd.16b, {vn.16b .. vn+len-1.16b}, vm.16b` (`len` 1 or 2 consecutive table
    /// registers): an index past the table gives 0.
    pub fn tbl(&mut self, len: u8, rd: Vreg, rn: Vreg, rm: Vreg) {
        assert!(matches!(len, 1 | 2), "table of {len} registers");
        self.word(0x4E00_0000 | v(rm) << 16 | (len as u32 - 1) << 13 | v(rn) << 5 | v(rd));
    }

    /// `dup vd.<arr>, vn.<elem>[lane]`.
    pub fn dup_elem(&mut self, arr: Arr, rd: Vreg, rn: Vreg, lane: u8) {
        self.word(0x0E00_0400 | arr.q() | arr.elem.imm5(lane) << 16 | v(rn) << 5 | v(rd));
    }

    /// `dup vd.<arr>, wn` (`xn` for `D` lanes; 31 is the zero register).
    pub fn dup_gpr(&mut self, arr: Arr, rd: Vreg, rn: Gpr) {
        self.word(0x0E00_0C00 | arr.q() | arr.elem.imm5(0) << 16 | r(rn) << 5 | v(rd));
    }

    /// `mov <elem>d, vn.<elem>[lane]` (scalar `dup`: the lane into the low lane of `vd`, the
    /// rest of `vd` cleared).
    pub fn dup_scalar(&mut self, elem: Elem, rd: Vreg, rn: Vreg, lane: u8) {
        self.word(0x5E00_0400 | elem.imm5(lane) << 16 | v(rn) << 5 | v(rd));
    }

    /// `mov vd.<elem>[lane], wn` (`ins`; `xn` for `D` lanes): the other lanes are kept.
    pub fn ins_gpr(&mut self, elem: Elem, rd: Vreg, lane: u8, rn: Gpr) {
        self.word(0x4E00_1C00 | elem.imm5(lane) << 16 | r(rn) << 5 | v(rd));
    }

    /// `mov vd.<elem>[dlane], vn.<elem>[slane]` (`ins`): the other lanes are kept.
    pub fn ins_elem(&mut self, elem: Elem, rd: Vreg, dlane: u8, rn: Vreg, slane: u8) {
        let imm4 = (elem.imm5(slane) >> 1) & 0xf;
        self.word(0x6E00_0400 | elem.imm5(dlane) << 16 | imm4 << 11 | v(rn) << 5 | v(rd));
    }

    /// `umov wd, vn.<elem>[lane]` (`xd` for `D` lanes): zero-extended.
    pub fn umov(&mut self, elem: Elem, rd: Gpr, rn: Vreg, lane: u8) {
        let q = u32::from(elem == Elem::D) << 30;
        self.word(0x0E00_3C00 | q | elem.imm5(lane) << 16 | v(rn) << 5 | r(rd));
    }

    /// `smov wd/xd, vn.<elem>[lane]` (`B` or `H` lanes, or `S` lanes to `xd`):
    /// sign-extended to `size`.
    pub fn smov(&mut self, elem: Elem, size: Size, rd: Gpr, rn: Vreg, lane: u8) {
        assert!(
            elem.bits() < size.bits() && elem != Elem::D,
            "smov of {elem:?}"
        );
        let q = u32::from(size == Size::S64) << 30;
        self.word(0x0E00_2C00 | q | elem.imm5(lane) << 16 | v(rn) << 5 | r(rd));
    }

    /// `movi vd.2d, #imm`: byte `i` of each 64-bit half is `0xff` if bit `i` of `bytes`
    /// is set, else 0.
    pub fn movi_2d(&mut self, rd: Vreg, bytes: u8) {
        let abc = (bytes as u32) >> 5;
        let defgh = (bytes as u32) & 0x1f;
        self.word(0x6F00_E400 | abc << 16 | defgh << 5 | v(rd));
    }

    /// `csetm rd, cond` (`csinv rd, zr, zr, !cond`): all ones if `cond` holds, else 0.
    pub fn csetm(&mut self, size: Size, rd: Gpr, cond: Cond) {
        let inv = cond.invert() as u32;
        self.word(0x5A9F_03E0 | size.sf() | inv << 12 | r(rd));
    }
}

//! Packed SSE encodings for 128-bit SIMD (SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2 forms),
//! legacy-encoded: `[66|F2|F3] [REX] 0F [38|3A] op ModRM [imm8]`; and, from the same
//! table, the VEX.128 three-operand forms of the two-operand ones (AVX), where the
//! prefix becomes VEX.pp and the escape VEX.mmmmm.

use super::{hi, modrm, Amode, Asm, Gpr, Label, Rm, Xmm};

/// Packed operations `op xmm, xmm/m128` without an immediate. Memory forms of all but
/// `Movdqu` need a 16-byte aligned address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VecOp {
    /// unaligned 128-bit load (or register copy)
    Movdqu,
    Paddb,
    Paddw,
    Paddd,
    Paddq,
    Psubb,
    Psubw,
    Psubd,
    Psubq,
    Paddsb,
    Paddsw,
    Paddusb,
    Paddusw,
    Psubsb,
    Psubsw,
    Psubusb,
    Psubusw,
    Pmullw,
    Pmulld,
    Pmulhw,
    Pmulhuw,
    Pmuludq,
    Pmuldq,
    Pmaddwd,
    Pmaddubsw,
    Pmulhrsw,
    Pminsb,
    Pminsw,
    Pminsd,
    Pminub,
    Pminuw,
    Pminud,
    Pmaxsb,
    Pmaxsw,
    Pmaxsd,
    Pmaxub,
    Pmaxuw,
    Pmaxud,
    Pavgb,
    Pavgw,
    Pand,
    Pandn,
    Por,
    Pxor,
    Pcmpeqb,
    Pcmpeqw,
    Pcmpeqd,
    Pcmpeqq,
    Pcmpgtb,
    Pcmpgtw,
    Pcmpgtd,
    Pcmpgtq,
    Packsswb,
    Packuswb,
    Packssdw,
    Packusdw,
    Punpcklbw,
    Punpcklwd,
    Punpckldq,
    Punpcklqdq,
    Punpckhbw,
    Punpckhwd,
    Punpckhdq,
    Punpckhqdq,
    Pshufb,
    Pabsb,
    Pabsw,
    Pabsd,
    Pmovsxbw,
    Pmovsxwd,
    Pmovsxdq,
    Pmovzxbw,
    Pmovzxwd,
    Pmovzxdq,
    /// shifts by the count in the low 64 bits of the source
    Psllw,
    Pslld,
    Psllq,
    Psrlw,
    Psrld,
    Psrlq,
    Psraw,
    Psrad,
    Ptest,
    Addps,
    Addpd,
    Subps,
    Subpd,
    Mulps,
    Mulpd,
    Divps,
    Divpd,
    Minps,
    Minpd,
    Maxps,
    Maxpd,
    Sqrtps,
    Sqrtpd,
    Andps,
    Andnps,
    Orps,
    Xorps,
    Cvtdq2ps,
    Cvttps2dq,
    Cvtps2pd,
    Cvtpd2ps,
    Cvtdq2pd,
    Cvttpd2dq,
    Unpcklps,
    Unpckhps,
    /// `dst.high = src.low` (register form only)
    Movlhps,
    /// `dst.low = src.high` (register form only)
    Movhlps,
    /// `dst.low = src.low` (register form: merges the low 64 bits)
    Movsd,
    Movddup,
    Movshdup,
}

impl VecOp {
    /// The encoding of the memory form; panics for the register-only ops, whose
    /// opcodes with a memory operand are other instructions (`movhps`, `movlps`,
    /// the zero-extending `movsd` load).
    fn mem_encoding(self) -> (u8, &'static [u8]) {
        assert!(
            !matches!(self, VecOp::Movlhps | VecOp::Movhlps | VecOp::Movsd),
            "{self:?} has no memory form here"
        );
        self.encoding()
    }

    /// Whether the op has a VEX three-operand form `op dst, src1, src2` meaning
    /// `dst = src1 op src2` (the legacy form with `dst` = `src1`). The others read only
    /// their source.
    pub fn has_vex3(self) -> bool {
        use VecOp::*;
        !matches!(
            self,
            Movdqu
                | Pabsb
                | Pabsw
                | Pabsd
                | Pmovsxbw
                | Pmovsxwd
                | Pmovsxdq
                | Pmovzxbw
                | Pmovzxwd
                | Pmovzxdq
                | Ptest
                | Sqrtps
                | Sqrtpd
                | Cvtdq2ps
                | Cvttps2dq
                | Cvtps2pd
                | Cvtpd2ps
                | Cvtdq2pd
                | Cvttpd2dq
                | Movddup
                | Movshdup
        )
    }

    /// Mandatory prefix (0 for none) and the opcode bytes after it.
    fn encoding(self) -> (u8, &'static [u8]) {
        use VecOp::*;
        match self {
            Movdqu => (0xF3, &[0x0F, 0x6F]),
            Paddb => (0x66, &[0x0F, 0xFC]),
            Paddw => (0x66, &[0x0F, 0xFD]),
            Paddd => (0x66, &[0x0F, 0xFE]),
            Paddq => (0x66, &[0x0F, 0xD4]),
            Psubb => (0x66, &[0x0F, 0xF8]),
            Psubw => (0x66, &[0x0F, 0xF9]),
            Psubd => (0x66, &[0x0F, 0xFA]),
            Psubq => (0x66, &[0x0F, 0xFB]),
            Paddsb => (0x66, &[0x0F, 0xEC]),
            Paddsw => (0x66, &[0x0F, 0xED]),
            Paddusb => (0x66, &[0x0F, 0xDC]),
            Paddusw => (0x66, &[0x0F, 0xDD]),
            Psubsb => (0x66, &[0x0F, 0xE8]),
            Psubsw => (0x66, &[0x0F, 0xE9]),
            Psubusb => (0x66, &[0x0F, 0xD8]),
            Psubusw => (0x66, &[0x0F, 0xD9]),
            Pmullw => (0x66, &[0x0F, 0xD5]),
            Pmulld => (0x66, &[0x0F, 0x38, 0x40]),
            Pmulhw => (0x66, &[0x0F, 0xE5]),
            Pmulhuw => (0x66, &[0x0F, 0xE4]),
            Pmuludq => (0x66, &[0x0F, 0xF4]),
            Pmuldq => (0x66, &[0x0F, 0x38, 0x28]),
            Pmaddwd => (0x66, &[0x0F, 0xF5]),
            Pmaddubsw => (0x66, &[0x0F, 0x38, 0x04]),
            Pmulhrsw => (0x66, &[0x0F, 0x38, 0x0B]),
            Pminsb => (0x66, &[0x0F, 0x38, 0x38]),
            Pminsw => (0x66, &[0x0F, 0xEA]),
            Pminsd => (0x66, &[0x0F, 0x38, 0x39]),
            Pminub => (0x66, &[0x0F, 0xDA]),
            Pminuw => (0x66, &[0x0F, 0x38, 0x3A]),
            Pminud => (0x66, &[0x0F, 0x38, 0x3B]),
            Pmaxsb => (0x66, &[0x0F, 0x38, 0x3C]),
            Pmaxsw => (0x66, &[0x0F, 0xEE]),
            Pmaxsd => (0x66, &[0x0F, 0x38, 0x3D]),
            Pmaxub => (0x66, &[0x0F, 0xDE]),
            Pmaxuw => (0x66, &[0x0F, 0x38, 0x3E]),
            Pmaxud => (0x66, &[0x0F, 0x38, 0x3F]),
            Pavgb => (0x66, &[0x0F, 0xE0]),
            Pavgw => (0x66, &[0x0F, 0xE3]),
            Pand => (0x66, &[0x0F, 0xDB]),
            Pandn => (0x66, &[0x0F, 0xDF]),
            Por => (0x66, &[0x0F, 0xEB]),
            Pxor => (0x66, &[0x0F, 0xEF]),
            Pcmpeqb => (0x66, &[0x0F, 0x74]),
            Pcmpeqw => (0x66, &[0x0F, 0x75]),
            Pcmpeqd => (0x66, &[0x0F, 0x76]),
            Pcmpeqq => (0x66, &[0x0F, 0x38, 0x29]),
            Pcmpgtb => (0x66, &[0x0F, 0x64]),
            Pcmpgtw => (0x66, &[0x0F, 0x65]),
            Pcmpgtd => (0x66, &[0x0F, 0x66]),
            Pcmpgtq => (0x66, &[0x0F, 0x38, 0x37]),
            Packsswb => (0x66, &[0x0F, 0x63]),
            Packuswb => (0x66, &[0x0F, 0x67]),
            Packssdw => (0x66, &[0x0F, 0x6B]),
            Packusdw => (0x66, &[0x0F, 0x38, 0x2B]),
            Punpcklbw => (0x66, &[0x0F, 0x60]),
            Punpcklwd => (0x66, &[0x0F, 0x61]),
            Punpckldq => (0x66, &[0x0F, 0x62]),
            Punpcklqdq => (0x66, &[0x0F, 0x6C]),
            Punpckhbw => (0x66, &[0x0F, 0x68]),
            Punpckhwd => (0x66, &[0x0F, 0x69]),
            Punpckhdq => (0x66, &[0x0F, 0x6A]),
            Punpckhqdq => (0x66, &[0x0F, 0x6D]),
            Pshufb => (0x66, &[0x0F, 0x38, 0x00]),
            Pabsb => (0x66, &[0x0F, 0x38, 0x1C]),
            Pabsw => (0x66, &[0x0F, 0x38, 0x1D]),
            Pabsd => (0x66, &[0x0F, 0x38, 0x1E]),
            Pmovsxbw => (0x66, &[0x0F, 0x38, 0x20]),
            Pmovsxwd => (0x66, &[0x0F, 0x38, 0x23]),
            Pmovsxdq => (0x66, &[0x0F, 0x38, 0x25]),
            Pmovzxbw => (0x66, &[0x0F, 0x38, 0x30]),
            Pmovzxwd => (0x66, &[0x0F, 0x38, 0x33]),
            Pmovzxdq => (0x66, &[0x0F, 0x38, 0x35]),
            Psllw => (0x66, &[0x0F, 0xF1]),
            Pslld => (0x66, &[0x0F, 0xF2]),
            Psllq => (0x66, &[0x0F, 0xF3]),
            Psrlw => (0x66, &[0x0F, 0xD1]),
            Psrld => (0x66, &[0x0F, 0xD2]),
            Psrlq => (0x66, &[0x0F, 0xD3]),
            Psraw => (0x66, &[0x0F, 0xE1]),
            Psrad => (0x66, &[0x0F, 0xE2]),
            Ptest => (0x66, &[0x0F, 0x38, 0x17]),
            Addps => (0, &[0x0F, 0x58]),
            Addpd => (0x66, &[0x0F, 0x58]),
            Subps => (0, &[0x0F, 0x5C]),
            Subpd => (0x66, &[0x0F, 0x5C]),
            Mulps => (0, &[0x0F, 0x59]),
            Mulpd => (0x66, &[0x0F, 0x59]),
            Divps => (0, &[0x0F, 0x5E]),
            Divpd => (0x66, &[0x0F, 0x5E]),
            Minps => (0, &[0x0F, 0x5D]),
            Minpd => (0x66, &[0x0F, 0x5D]),
            Maxps => (0, &[0x0F, 0x5F]),
            Maxpd => (0x66, &[0x0F, 0x5F]),
            Sqrtps => (0, &[0x0F, 0x51]),
            Sqrtpd => (0x66, &[0x0F, 0x51]),
            Andps => (0, &[0x0F, 0x54]),
            Andnps => (0, &[0x0F, 0x55]),
            Orps => (0, &[0x0F, 0x56]),
            Xorps => (0, &[0x0F, 0x57]),
            Cvtdq2ps => (0, &[0x0F, 0x5B]),
            Cvttps2dq => (0xF3, &[0x0F, 0x5B]),
            Cvtps2pd => (0, &[0x0F, 0x5A]),
            Cvtpd2ps => (0x66, &[0x0F, 0x5A]),
            Cvtdq2pd => (0xF3, &[0x0F, 0xE6]),
            Cvttpd2dq => (0x66, &[0x0F, 0xE6]),
            Unpcklps => (0, &[0x0F, 0x14]),
            Unpckhps => (0, &[0x0F, 0x15]),
            Movlhps => (0, &[0x0F, 0x16]),
            Movhlps => (0, &[0x0F, 0x12]),
            Movsd => (0xF2, &[0x0F, 0x10]),
            Movddup => (0xF2, &[0x0F, 0x12]),
            Movshdup => (0xF3, &[0x0F, 0x16]),
        }
    }
}

/// Packed operations `op xmm, xmm, imm8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VecImmOp {
    Pshufd,
    Pshuflw,
    Pshufhw,
    Shufps,
    Palignr,
    Pblendw,
    /// predicate: 0 eq, 1 lt, 2 le, 3 unord, 4 neq, 5 nlt, 6 nle, 7 ord
    Cmpps,
    Cmppd,
    /// rounding: 0 nearest, 1 floor, 2 ceil, 3 trunc
    Roundps,
    Roundpd,
    Insertps,
}

impl VecImmOp {
    /// Whether the op has a VEX three-operand form `op dst, src1, src2, imm` (the
    /// legacy form with `dst` = `src1`); the shuffles and rounds read only their source.
    pub fn has_vex3(self) -> bool {
        use VecImmOp::*;
        !matches!(self, Pshufd | Pshuflw | Pshufhw | Roundps | Roundpd)
    }

    fn encoding(self) -> (u8, &'static [u8]) {
        use VecImmOp::*;
        match self {
            Pshufd => (0x66, &[0x0F, 0x70]),
            Pshuflw => (0xF2, &[0x0F, 0x70]),
            Pshufhw => (0xF3, &[0x0F, 0x70]),
            Shufps => (0, &[0x0F, 0xC6]),
            Palignr => (0x66, &[0x0F, 0x3A, 0x0F]),
            Pblendw => (0x66, &[0x0F, 0x3A, 0x0E]),
            Cmpps => (0, &[0x0F, 0xC2]),
            Cmppd => (0x66, &[0x0F, 0xC2]),
            Roundps => (0x66, &[0x0F, 0x3A, 0x08]),
            Roundpd => (0x66, &[0x0F, 0x3A, 0x09]),
            Insertps => (0x66, &[0x0F, 0x3A, 0x21]),
        }
    }
}

/// AVX2 broadcasts of a register's low lane to every lane (`VEX.128.66.0F38.W0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broadcast {
    Vpbroadcastb,
    Vpbroadcastw,
    Vpbroadcastd,
    Vpbroadcastq,
    /// the register-source form is AVX2
    Vbroadcastss,
}

impl Broadcast {
    fn opcode(self) -> u8 {
        match self {
            Broadcast::Vpbroadcastb => 0x78,
            Broadcast::Vpbroadcastw => 0x79,
            Broadcast::Vpbroadcastd => 0x58,
            Broadcast::Vpbroadcastq => 0x59,
            Broadcast::Vbroadcastss => 0x18,
        }
    }
}

/// Shifts of a register by an immediate (`66 0F 71/72/73 /digit ib`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VecShiftImm {
    Psllw,
    Pslld,
    Psllq,
    Psrlw,
    Psrld,
    Psrlq,
    Psraw,
    Psrad,
    /// byte shifts of the whole register
    Psrldq,
    Pslldq,
}

impl VecShiftImm {
    fn encoding(self) -> (u8, u8) {
        use VecShiftImm::*;
        match self {
            Psrlw => (0x71, 2),
            Psraw => (0x71, 4),
            Psllw => (0x71, 6),
            Psrld => (0x72, 2),
            Psrad => (0x72, 4),
            Pslld => (0x72, 6),
            Psrlq => (0x73, 2),
            Psrldq => (0x73, 3),
            Psllq => (0x73, 6),
            Pslldq => (0x73, 7),
        }
    }
}

/// Lane widths of the insert and extract instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneSize {
    B,
    W,
    D,
    Q,
}

fn prefix(p: u8) -> &'static [u8] {
    match p {
        0x66 => &[0x66],
        0xF2 => &[0xF2],
        0xF3 => &[0xF3],
        _ => &[],
    }
}

impl Asm {
    /// `op dst, src`.
    pub fn vec(&mut self, op: VecOp, dst: Xmm, src: Xmm) {
        let (p, opc) = op.encoding();
        self.insn(prefix(p), false, false, opc, dst.0, Rm::Reg(src.0));
    }

    /// `op dst, [src]`. Panics for `Movlhps`, `Movhlps` and `Movsd`.
    pub fn vec_m(&mut self, op: VecOp, dst: Xmm, src: Amode) {
        let (p, opc) = op.mem_encoding();
        self.insn(prefix(p), false, false, opc, dst.0, Rm::Mem(src));
    }

    /// `op dst, [rip + l]`: a constant at label `l` (16-byte aligned unless `op` is
    /// `Movdqu`). Panics for `Movlhps`, `Movhlps` and `Movsd`.
    pub fn vec_label(&mut self, op: VecOp, dst: Xmm, l: Label) {
        let (p, opc) = op.mem_encoding();
        self.buf.extend_from_slice(prefix(p));
        if hi(dst.0) != 0 {
            self.buf.push(0x44);
        }
        self.buf.extend_from_slice(opc);
        // mod=00 rm=101: RIP-relative; the displacement is the instruction's last field.
        self.buf.push(modrm(0, dst.0, 5));
        self.rel32_to(l);
    }

    /// `vop dst, src1, src2` (VEX.128): `dst = src1 op src2`. Panics for an op without
    /// a three-operand form ([`VecOp::has_vex3`]).
    pub fn vex3(&mut self, op: VecOp, dst: Xmm, src1: Xmm, src2: Xmm) {
        self.vex3_any(op, dst, src1, Rm::Reg(src2.0));
    }

    /// `vop dst, src1, [src2]` (VEX.128; no alignment needed). Panics as
    /// [`vex3`](Self::vex3) does, and for `Movlhps`, `Movhlps` and `Movsd`.
    pub fn vex3_m(&mut self, op: VecOp, dst: Xmm, src1: Xmm, src2: Amode) {
        op.mem_encoding();
        self.vex3_any(op, dst, src1, Rm::Mem(src2));
    }

    fn vex3_any(&mut self, op: VecOp, dst: Xmm, src1: Xmm, src2: Rm) {
        assert!(op.has_vex3(), "{op:?} has no three-operand VEX form");
        let (p, opc) = op.encoding();
        self.vex(p, opc, dst.0, src1.0, src2);
    }

    /// Emits `VEX opcode ModRM [SIB] [disp]` for a VEX.128.W0 instruction: `p` the
    /// legacy prefix (VEX.pp), `opc` the escape and opcode (`0F`, `0F 38` or `0F 3A`:
    /// VEX.mmmmm), `reg` ModRM.reg, `vvvv` the extra source. The two-byte form when
    /// neither X nor B is needed and the map is `0F`.
    fn vex(&mut self, p: u8, opc: &[u8], reg: u8, vvvv: u8, rm: Rm) {
        let pp = match p {
            0x66 => 1,
            0xF3 => 2,
            0xF2 => 3,
            _ => 0,
        };
        let (map, op) = match opc {
            [0x0F, 0x38, op] => (2, *op),
            [0x0F, 0x3A, op] => (3, *op),
            [0x0F, op] => (1, *op),
            _ => unreachable!("not a 0F-escaped opcode: {opc:x?}"),
        };
        let (x, b) = match rm {
            Rm::Reg(r) => (0, hi(r)),
            Rm::Mem(m) => (m.index.map_or(0, |(i, _)| hi(i.0)), hi(m.base.0)),
        };
        let r = hi(reg);
        assert!(vvvv < 16, "register number {vvvv} out of range 0..16");
        let v = (!vvvv & 0xF) << 3;
        if x == 0 && b == 0 && map == 1 {
            self.buf.extend_from_slice(&[0xC5, ((r ^ 1) << 7) | v | pp]);
        } else {
            self.buf.extend_from_slice(&[
                0xC4,
                ((r ^ 1) << 7) | ((x ^ 1) << 6) | ((b ^ 1) << 5) | map,
                v | pp,
            ]);
        }
        self.buf.push(op);
        match rm {
            Rm::Reg(r) => self.buf.push(modrm(3, reg, r)),
            Rm::Mem(m) => self.mem_operand(reg, m),
        }
    }

    /// `op dst, src, imm`.
    pub fn vec_imm(&mut self, op: VecImmOp, dst: Xmm, src: Xmm, imm: u8) {
        let (p, opc) = op.encoding();
        self.insn(prefix(p), false, false, opc, dst.0, Rm::Reg(src.0));
        self.buf.push(imm);
    }

    /// `vop dst, src1, src2, imm` (VEX.128): `dst = op(src1, src2, imm)`. Panics for an
    /// op without a three-operand form ([`VecImmOp::has_vex3`]).
    pub fn vex3_imm(&mut self, op: VecImmOp, dst: Xmm, src1: Xmm, src2: Xmm, imm: u8) {
        assert!(op.has_vex3(), "{op:?} has no three-operand VEX form");
        let (p, opc) = op.encoding();
        self.vex(p, opc, dst.0, src1.0, Rm::Reg(src2.0));
        self.buf.push(imm);
    }

    /// `vop dst, src, imm` (VEX.128, shift by an immediate): `dst` is VEX.vvvv.
    pub fn vex_shift_imm(&mut self, op: VecShiftImm, dst: Xmm, src: Xmm, imm: u8) {
        let (opc, digit) = op.encoding();
        self.vex(0x66, &[0x0F, opc], digit, dst.0, Rm::Reg(src.0));
        self.buf.push(imm);
    }

    /// `vpbroadcast*`/`vbroadcastss dst, src` (AVX2): `src`'s low lane in every lane.
    pub fn broadcast(&mut self, op: Broadcast, dst: Xmm, src: Xmm) {
        // No second source: VEX.vvvv is 1111, register 0 inverted.
        self.vex(0x66, &[0x0F, 0x38, op.opcode()], dst.0, 0, Rm::Reg(src.0));
    }

    /// `op dst, imm` (shift by an immediate).
    pub fn vec_shift_imm(&mut self, op: VecShiftImm, dst: Xmm, imm: u8) {
        let (opc, digit) = op.encoding();
        self.insn(&[0x66], false, false, &[0x0F, opc], digit, Rm::Reg(dst.0));
        self.buf.push(imm);
    }

    /// `movdqu [dst], src` (`F3 0F 7F`).
    pub fn movdqu_store(&mut self, dst: Amode, src: Xmm) {
        self.insn(&[0xF3], false, false, &[0x0F, 0x7F], src.0, Rm::Mem(dst));
    }

    /// `movq xmm, qword [m]` (`F3 0F 7E`): zeroes the upper half.
    pub fn movq_load(&mut self, dst: Xmm, src: Amode) {
        self.insn(&[0xF3], false, false, &[0x0F, 0x7E], dst.0, Rm::Mem(src));
    }

    /// `movd xmm, dword [m]` (`66 0F 6E`): zeroes the upper lanes.
    pub fn movd_load(&mut self, dst: Xmm, src: Amode) {
        self.insn(&[0x66], false, false, &[0x0F, 0x6E], dst.0, Rm::Mem(src));
    }

    /// `pinsrb/pinsrw/pinsrd/pinsrq dst, src, lane`.
    pub fn pinsr(&mut self, size: LaneSize, dst: Xmm, src: Gpr, lane: u8) {
        match size {
            LaneSize::B => self.insn(
                &[0x66],
                false,
                false,
                &[0x0F, 0x3A, 0x20],
                dst.0,
                Rm::Reg(src.0),
            ),
            LaneSize::W => self.insn(&[0x66], false, false, &[0x0F, 0xC4], dst.0, Rm::Reg(src.0)),
            LaneSize::D => self.insn(
                &[0x66],
                false,
                false,
                &[0x0F, 0x3A, 0x22],
                dst.0,
                Rm::Reg(src.0),
            ),
            LaneSize::Q => self.insn(
                &[0x66],
                true,
                false,
                &[0x0F, 0x3A, 0x22],
                dst.0,
                Rm::Reg(src.0),
            ),
        }
        self.buf.push(lane);
    }

    /// `pextrb/pextrw/pextrd/pextrq dst, src, lane` (8- and 16-bit lanes zero-extended).
    pub fn pextr(&mut self, size: LaneSize, dst: Gpr, src: Xmm, lane: u8) {
        match size {
            LaneSize::B => self.insn(
                &[0x66],
                false,
                false,
                &[0x0F, 0x3A, 0x14],
                src.0,
                Rm::Reg(dst.0),
            ),
            // The register form of `0F C5` has the GPR in ModRM.reg.
            LaneSize::W => self.insn(&[0x66], false, false, &[0x0F, 0xC5], dst.0, Rm::Reg(src.0)),
            LaneSize::D => self.insn(
                &[0x66],
                false,
                false,
                &[0x0F, 0x3A, 0x16],
                src.0,
                Rm::Reg(dst.0),
            ),
            LaneSize::Q => self.insn(
                &[0x66],
                true,
                false,
                &[0x0F, 0x3A, 0x16],
                src.0,
                Rm::Reg(dst.0),
            ),
        }
        self.buf.push(lane);
    }

    /// `pmovmskb r32, xmm` (`66 0F D7`).
    pub fn pmovmskb(&mut self, dst: Gpr, src: Xmm) {
        self.insn(&[0x66], false, false, &[0x0F, 0xD7], dst.0, Rm::Reg(src.0));
    }

    /// `movmskps r32, xmm` (`0F 50`).
    pub fn movmskps(&mut self, dst: Gpr, src: Xmm) {
        self.insn(&[], false, false, &[0x0F, 0x50], dst.0, Rm::Reg(src.0));
    }

    /// `movmskpd r32, xmm` (`66 0F 50`).
    pub fn movmskpd(&mut self, dst: Gpr, src: Xmm) {
        self.insn(&[0x66], false, false, &[0x0F, 0x50], dst.0, Rm::Reg(src.0));
    }

    /// Pads with `int3` to a multiple of `align` bytes.
    pub fn align_code(&mut self, align: u32) {
        while !self.offset().is_multiple_of(align) {
            self.int3();
        }
    }
}

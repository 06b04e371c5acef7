//! Verification of the hand-written x86-64 encoder (`isa::x64::asm`).
//!
//! Every instruction form the encoder can produce is emitted over a systematic
//! grid of operands (all 16 registers, every memory-base quirk, boundary
//! immediates and displacements) and decoded again with `iced-x86` in 64-bit
//! mode. Each decoded instruction is compared with what the test *meant*: the
//! mnemonic, every operand (register, immediate, memory base/index/scale/
//! displacement/access size), and that the decoder consumed exactly the
//! emitted bytes. On top of that the test checks that encodings are minimal
//! (no REX prefix or REX.W the decoder would not miss, the shortest
//! displacement and immediate), compares a set of hand-assembled byte strings,
//! and checks label resolution (branches, calls, jump tables, RIP-relative lea
//! and vector operands) and that misuse panics.

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, MemorySize, Mnemonic, OpKind,
    Register,
};
use wasmprecomp_codegen::isa::x64::asm::*;

// ---------------------------------------------------------------------------
// Operand grids

/// All 16 general-purpose registers.
fn gprs() -> impl Iterator<Item = Gpr> {
    (0..16).map(Gpr)
}

/// All 16 SSE registers.
fn xmms() -> impl Iterator<Item = Xmm> {
    (0..16).map(Xmm)
}

/// Displacements at the disp8/disp32 boundaries.
const DISPS: [i32; 9] = [0, 1, -1, 127, 128, -128, -129, i32::MAX, i32::MIN];

/// Immediates at the imm8/imm16/imm32 boundaries.
const IMMS: [i32; 17] = [
    0,
    1,
    -1,
    2,
    127,
    128,
    -128,
    -129,
    255,
    256,
    0x7FFF,
    0x8000,
    -0x8000,
    -0x8001,
    0xFFFF,
    i32::MAX,
    i32::MIN,
];

const SIZES: [Size; 4] = [Size::S8, Size::S16, Size::S32, Size::S64];
const SIZES_WIDE: [Size; 3] = [Size::S16, Size::S32, Size::S64];
const SIZES_32_64: [Size; 2] = [Size::S32, Size::S64];

const ALU_OPS: [AluOp; 8] = [
    AluOp::Add,
    AluOp::Or,
    AluOp::Adc,
    AluOp::Sbb,
    AluOp::And,
    AluOp::Sub,
    AluOp::Xor,
    AluOp::Cmp,
];

const SHIFT_OPS: [ShiftOp; 5] = [
    ShiftOp::Rol,
    ShiftOp::Ror,
    ShiftOp::Shl,
    ShiftOp::Shr,
    ShiftOp::Sar,
];

const MULDIV_OPS: [MulDivOp; 4] = [MulDivOp::Mul, MulDivOp::Imul, MulDivOp::Div, MulDivOp::Idiv];

const LOAD_KINDS: [LoadKind; 7] = [
    LoadKind::U8,
    LoadKind::S8,
    LoadKind::U16,
    LoadKind::S16,
    LoadKind::U32,
    LoadKind::S32,
    LoadKind::I64,
];

const CONDS: [Cond; 16] = [
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

const SSE_OPS: [SseOp; 26] = [
    SseOp::Addss,
    SseOp::Addsd,
    SseOp::Subss,
    SseOp::Subsd,
    SseOp::Mulss,
    SseOp::Mulsd,
    SseOp::Divss,
    SseOp::Divsd,
    SseOp::Minss,
    SseOp::Minsd,
    SseOp::Maxss,
    SseOp::Maxsd,
    SseOp::Sqrtss,
    SseOp::Sqrtsd,
    SseOp::Andps,
    SseOp::Andpd,
    SseOp::Andnps,
    SseOp::Andnpd,
    SseOp::Orps,
    SseOp::Orpd,
    SseOp::Xorps,
    SseOp::Xorpd,
    SseOp::Ucomiss,
    SseOp::Ucomisd,
    SseOp::Cvtss2sd,
    SseOp::Cvtsd2ss,
];

/// Every base × (no index | every non-rsp index × every scale) × every
/// displacement: 8784 addressing modes.
fn amodes_full() -> Vec<Amode> {
    let mut v = Vec::new();
    for base in gprs() {
        for disp in DISPS {
            v.push(Amode::base_disp(base, disp));
            for index in gprs().filter(|&r| r != regs::RSP) {
                for scale in [1, 2, 4, 8] {
                    v.push(Amode::base_index(base, index, scale, disp));
                }
            }
        }
    }
    v
}

/// Every base × every displacement × a few index choices, including the
/// quirky ones (rbp/r13/r12 as index, index equal to base): 720 modes.
fn amodes_compact() -> Vec<Amode> {
    let mut v = Vec::new();
    for base in gprs() {
        let scale = [1, 2, 4, 8][base.0 as usize % 4];
        let same = if base == regs::RSP { regs::RAX } else { base };
        for disp in DISPS {
            v.push(Amode::base_disp(base, disp));
            v.push(Amode::base_index(base, regs::RBP, scale, disp));
            v.push(Amode::base_index(base, regs::R12, 8 / scale, disp));
            v.push(Amode::base_index(base, regs::R13, scale, disp));
            v.push(Amode::base_index(base, same, 1, disp));
        }
    }
    v
}

// ---------------------------------------------------------------------------
// What the test expects, written independently of the encoder

const R64: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];
const R32: [Register; 16] = [
    Register::EAX,
    Register::ECX,
    Register::EDX,
    Register::EBX,
    Register::ESP,
    Register::EBP,
    Register::ESI,
    Register::EDI,
    Register::R8D,
    Register::R9D,
    Register::R10D,
    Register::R11D,
    Register::R12D,
    Register::R13D,
    Register::R14D,
    Register::R15D,
];
const R16: [Register; 16] = [
    Register::AX,
    Register::CX,
    Register::DX,
    Register::BX,
    Register::SP,
    Register::BP,
    Register::SI,
    Register::DI,
    Register::R8W,
    Register::R9W,
    Register::R10W,
    Register::R11W,
    Register::R12W,
    Register::R13W,
    Register::R14W,
    Register::R15W,
];
/// Byte registers as seen with a REX prefix: 4..7 are spl/bpl/sil/dil, not ah..bh.
const R8: [Register; 16] = [
    Register::AL,
    Register::CL,
    Register::DL,
    Register::BL,
    Register::SPL,
    Register::BPL,
    Register::SIL,
    Register::DIL,
    Register::R8L,
    Register::R9L,
    Register::R10L,
    Register::R11L,
    Register::R12L,
    Register::R13L,
    Register::R14L,
    Register::R15L,
];
const XMM: [Register; 16] = [
    Register::XMM0,
    Register::XMM1,
    Register::XMM2,
    Register::XMM3,
    Register::XMM4,
    Register::XMM5,
    Register::XMM6,
    Register::XMM7,
    Register::XMM8,
    Register::XMM9,
    Register::XMM10,
    Register::XMM11,
    Register::XMM12,
    Register::XMM13,
    Register::XMM14,
    Register::XMM15,
];

/// The decoder's name for GPR `r` at operand size `s`.
fn g(r: Gpr, s: Size) -> Register {
    let i = r.0 as usize;
    match s {
        Size::S8 => R8[i],
        Size::S16 => R16[i],
        Size::S32 => R32[i],
        Size::S64 => R64[i],
    }
}

/// The decoder's name for `r`.
fn x(r: Xmm) -> Register {
    XMM[r.0 as usize]
}

fn bits(s: Size) -> u32 {
    match s {
        Size::S8 => 8,
        Size::S16 => 16,
        Size::S32 => 32,
        Size::S64 => 64,
    }
}

fn bytes_of(s: Size) -> u32 {
    bits(s) / 8
}

/// An expected operand.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// A register.
    R(Register),
    /// An immediate; the low `bits` bits (the width the CPU uses) must match.
    I(u64, u32),
    /// A memory operand and its access size in bytes (`None`: no access, lea).
    M(Amode, Option<u32>),
}

/// A signed immediate as the CPU sees it at operand size `s`.
fn imm(v: i32, s: Size) -> Op {
    Op::I(v as i64 as u64, bits(s))
}

fn mem(m: Amode, bytes: u32) -> Op {
    Op::M(m, Some(bytes))
}

fn alu_mnemonic(op: AluOp) -> Mnemonic {
    match op {
        AluOp::Add => Mnemonic::Add,
        AluOp::Or => Mnemonic::Or,
        AluOp::Adc => Mnemonic::Adc,
        AluOp::Sbb => Mnemonic::Sbb,
        AluOp::And => Mnemonic::And,
        AluOp::Sub => Mnemonic::Sub,
        AluOp::Xor => Mnemonic::Xor,
        AluOp::Cmp => Mnemonic::Cmp,
    }
}

fn shift_mnemonic(op: ShiftOp) -> Mnemonic {
    match op {
        ShiftOp::Rol => Mnemonic::Rol,
        ShiftOp::Ror => Mnemonic::Ror,
        ShiftOp::Shl => Mnemonic::Shl,
        ShiftOp::Shr => Mnemonic::Shr,
        ShiftOp::Sar => Mnemonic::Sar,
    }
}

fn muldiv_mnemonic(op: MulDivOp) -> Mnemonic {
    match op {
        MulDivOp::Mul => Mnemonic::Mul,
        MulDivOp::Imul => Mnemonic::Imul,
        MulDivOp::Div => Mnemonic::Div,
        MulDivOp::Idiv => Mnemonic::Idiv,
    }
}

/// (jcc, setcc, cmovcc) mnemonics of a condition.
fn cond_mnemonics(cc: Cond) -> (Mnemonic, Mnemonic, Mnemonic) {
    use Mnemonic as M;
    match cc {
        Cond::O => (M::Jo, M::Seto, M::Cmovo),
        Cond::NO => (M::Jno, M::Setno, M::Cmovno),
        Cond::B => (M::Jb, M::Setb, M::Cmovb),
        Cond::AE => (M::Jae, M::Setae, M::Cmovae),
        Cond::E => (M::Je, M::Sete, M::Cmove),
        Cond::NE => (M::Jne, M::Setne, M::Cmovne),
        Cond::BE => (M::Jbe, M::Setbe, M::Cmovbe),
        Cond::A => (M::Ja, M::Seta, M::Cmova),
        Cond::S => (M::Js, M::Sets, M::Cmovs),
        Cond::NS => (M::Jns, M::Setns, M::Cmovns),
        Cond::P => (M::Jp, M::Setp, M::Cmovp),
        Cond::NP => (M::Jnp, M::Setnp, M::Cmovnp),
        Cond::L => (M::Jl, M::Setl, M::Cmovl),
        Cond::GE => (M::Jge, M::Setge, M::Cmovge),
        Cond::LE => (M::Jle, M::Setle, M::Cmovle),
        Cond::G => (M::Jg, M::Setg, M::Cmovg),
    }
}

/// Mnemonic and memory-operand size in bytes of an SSE op.
fn sse_info(op: SseOp) -> (Mnemonic, u32) {
    use Mnemonic as M;
    match op {
        SseOp::Addss => (M::Addss, 4),
        SseOp::Addsd => (M::Addsd, 8),
        SseOp::Subss => (M::Subss, 4),
        SseOp::Subsd => (M::Subsd, 8),
        SseOp::Mulss => (M::Mulss, 4),
        SseOp::Mulsd => (M::Mulsd, 8),
        SseOp::Divss => (M::Divss, 4),
        SseOp::Divsd => (M::Divsd, 8),
        SseOp::Minss => (M::Minss, 4),
        SseOp::Minsd => (M::Minsd, 8),
        SseOp::Maxss => (M::Maxss, 4),
        SseOp::Maxsd => (M::Maxsd, 8),
        SseOp::Sqrtss => (M::Sqrtss, 4),
        SseOp::Sqrtsd => (M::Sqrtsd, 8),
        SseOp::Andps => (M::Andps, 16),
        SseOp::Andpd => (M::Andpd, 16),
        SseOp::Andnps => (M::Andnps, 16),
        SseOp::Andnpd => (M::Andnpd, 16),
        SseOp::Orps => (M::Orps, 16),
        SseOp::Orpd => (M::Orpd, 16),
        SseOp::Xorps => (M::Xorps, 16),
        SseOp::Xorpd => (M::Xorpd, 16),
        SseOp::Ucomiss => (M::Ucomiss, 4),
        SseOp::Ucomisd => (M::Ucomisd, 8),
        SseOp::Cvtss2sd => (M::Cvtss2sd, 4),
        SseOp::Cvtsd2ss => (M::Cvtsd2ss, 8),
    }
}

// ---------------------------------------------------------------------------
// The checker

/// Access size in bytes of the memory sizes these instructions use (the
/// `instr_info` feature that would provide this is not enabled).
fn mem_bytes(ms: MemorySize) -> u32 {
    use MemorySize as S;
    match ms {
        S::Unknown => 0,
        S::UInt8 | S::Int8 => 1,
        S::UInt16 | S::Int16 => 2,
        S::UInt32 | S::Int32 | S::Float32 => 4,
        S::UInt64 | S::Int64 | S::Float64 | S::QwordOffset => 8,
        S::Packed64_UInt8
        | S::Packed64_Int8
        | S::Packed64_UInt16
        | S::Packed64_Int16
        | S::Packed64_UInt32
        | S::Packed64_Int32
        | S::Packed64_Float32 => 8,
        S::UInt128
        | S::Int128
        | S::Packed128_UInt8
        | S::Packed128_Int8
        | S::Packed128_UInt16
        | S::Packed128_Int16
        | S::Packed128_UInt32
        | S::Packed128_Int32
        | S::Packed128_UInt64
        | S::Packed128_Int64
        | S::Packed128_Float32
        | S::Packed128_Float64 => 16,
        other => panic!("unexpected memory size {other:?}"),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn text(ins: &Instruction) -> String {
    let mut s = String::new();
    IntelFormatter::new().format(ins, &mut s);
    s
}

fn decode_one(bytes: &[u8]) -> Instruction {
    Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE).decode()
}

/// Counts checked encodings and holds the comparison logic.
#[derive(Default)]
struct Check {
    n: usize,
}

impl Check {
    /// Emits one instruction with `f` on a fresh assembler and checks it.
    fn emit(
        &mut self,
        f: impl FnOnce(&mut Asm),
        mn: Mnemonic,
        ops: &[Op],
    ) -> (Vec<u8>, Instruction) {
        let mut a = Asm::new();
        f(&mut a);
        let bytes = a.finish();
        let ins = self.bytes(&bytes, mn, ops);
        (bytes, ins)
    }

    /// Decodes `bytes` as exactly one instruction and compares it with the
    /// expected mnemonic and operands.
    fn bytes(&mut self, bytes: &[u8], mn: Mnemonic, ops: &[Op]) -> Instruction {
        let ins = decode_one(bytes);
        let ctx = || {
            format!(
                "bytes [{}] decoded as `{}`, expected {:?} {:?}",
                hex(bytes),
                text(&ins),
                mn,
                ops
            )
        };
        assert!(!ins.is_invalid(), "invalid instruction: {}", ctx());
        assert_eq!(ins.len(), bytes.len(), "length mismatch: {}", ctx());
        assert_eq!(ins.mnemonic(), mn, "mnemonic: {}", ctx());
        assert_eq!(
            ins.op_count() as usize,
            ops.len(),
            "operand count: {}",
            ctx()
        );
        for (i, op) in ops.iter().enumerate() {
            let i = i as u32;
            let kind = ins.op_kind(i);
            match *op {
                Op::R(r) => {
                    assert_eq!(kind, OpKind::Register, "operand {i} kind: {}", ctx());
                    assert_eq!(ins.op_register(i), r, "operand {i} register: {}", ctx());
                }
                Op::I(v, b) => {
                    let is_imm = matches!(
                        kind,
                        OpKind::Immediate8
                            | OpKind::Immediate16
                            | OpKind::Immediate32
                            | OpKind::Immediate64
                            | OpKind::Immediate8to16
                            | OpKind::Immediate8to32
                            | OpKind::Immediate8to64
                            | OpKind::Immediate32to64
                    );
                    assert!(
                        is_imm,
                        "operand {i} is {kind:?}, not an immediate: {}",
                        ctx()
                    );
                    let mask = if b == 64 { u64::MAX } else { (1u64 << b) - 1 };
                    assert_eq!(
                        ins.immediate(i) & mask,
                        v & mask,
                        "operand {i} immediate: {}",
                        ctx()
                    );
                }
                Op::M(m, size) => {
                    assert_eq!(kind, OpKind::Memory, "operand {i} kind: {}", ctx());
                    self.check_mem(&ins, m, size, &ctx);
                }
            }
        }
        self.check_rex_minimal(bytes, &ins, &ctx);
        self.n += 1;
        ins
    }

    fn check_mem(&self, ins: &Instruction, m: Amode, size: Option<u32>, ctx: &dyn Fn() -> String) {
        assert_eq!(
            ins.memory_base(),
            R64[m.base.0 as usize],
            "memory base: {}",
            ctx()
        );
        let (index, scale) = match m.index {
            Some((r, s)) => (R64[r.0 as usize], u32::from(s)),
            None => (Register::None, 1),
        };
        assert_eq!(ins.memory_index(), index, "memory index: {}", ctx());
        assert_eq!(ins.memory_index_scale(), scale, "memory scale: {}", ctx());
        assert_eq!(
            ins.memory_displacement64() as i64,
            i64::from(m.disp),
            "displacement: {}",
            ctx()
        );
        if let Some(size) = size {
            assert_eq!(
                mem_bytes(ins.memory_size()),
                size,
                "memory access size: {}",
                ctx()
            );
        }
        // Shortest displacement: none for 0, except that a base of rbp/r13
        // cannot be encoded without one; disp8 when it fits; else disp32
        // (which iced reports as 8 bytes in 64-bit mode, sign-extended).
        let want = if m.disp == 0 && m.base.0 & 7 != 5 {
            0
        } else if i8::try_from(m.disp).is_ok() {
            1
        } else {
            8
        };
        assert_eq!(
            ins.memory_displ_size(),
            want,
            "displacement size: {}",
            ctx()
        );
    }

    /// A REX prefix must be needed: dropping a bare `40` or clearing REX.W
    /// must change what the bytes decode to.
    fn check_rex_minimal(&self, bytes: &[u8], ins: &Instruction, ctx: &dyn Fn() -> String) {
        let Some(pos) = bytes.iter().position(|b| !matches!(b, 0x66 | 0xF2 | 0xF3)) else {
            return;
        };
        let rex = bytes[pos];
        if rex & 0xF0 != 0x40 {
            return;
        }
        let mut alt = bytes.to_vec();
        if rex == 0x40 {
            alt.remove(pos);
        } else if rex & 0x08 != 0 {
            alt[pos] &= !0x08;
        } else {
            // Only R/X/B bits: the operand checks already prove they are needed.
            return;
        }
        let other = decode_one(&alt);
        let same = !other.is_invalid() && other.len() == alt.len() && other == *ins;
        assert!(
            !same,
            "redundant REX prefix (also decodes from [{}]): {}",
            hex(&alt),
            ctx()
        );
    }
}

// ---------------------------------------------------------------------------
// Sections

fn integer_alu(c: &mut Check) {
    for op in ALU_OPS {
        let mn = alu_mnemonic(op);
        for size in SIZES {
            for dst in gprs() {
                for src in gprs() {
                    c.emit(
                        |a| a.alu_rr(op, size, dst, src),
                        mn,
                        &[Op::R(g(dst, size)), Op::R(g(src, size))],
                    );
                }
                for v in IMMS {
                    let (bytes, ins) = c.emit(
                        |a| a.alu_ri(op, size, dst, v),
                        mn,
                        &[Op::R(g(dst, size)), imm(v, size)],
                    );
                    // Length model, independent of the encoder: the imm8 form
                    // when the value (as the CPU sees it) fits in i8, else the
                    // accumulator short form for rax, else 81 /n.
                    let full = match size {
                        Size::S8 => i64::from(v as i8),
                        Size::S16 => i64::from(v as i16),
                        _ => i64::from(v),
                    };
                    let short = size == Size::S8 || (-128..=127).contains(&full);
                    let imm_len = if short {
                        1
                    } else {
                        bytes_of(size).min(4) as usize
                    };
                    let rex = size == Size::S64
                        || dst.0 >= 8
                        || (size == Size::S8 && (4..8).contains(&dst.0));
                    let opcode_modrm = if dst.0 == 0 && (size == Size::S8 || !short) {
                        1
                    } else {
                        2
                    };
                    let want =
                        usize::from(size == Size::S16) + usize::from(rex) + opcode_modrm + imm_len;
                    assert_eq!(
                        bytes.len(),
                        want,
                        "alu_ri not minimal: [{}] `{}`",
                        hex(&bytes),
                        text(&ins)
                    );
                }
            }
        }
    }
    let full = amodes_full();
    for (i, &m) in full.iter().enumerate() {
        let r = Gpr((i % 16) as u8);
        c.emit(
            |a| a.alu_rm(AluOp::Add, Size::S32, r, m),
            Mnemonic::Add,
            &[Op::R(g(r, Size::S32)), mem(m, 4)],
        );
    }
    let compact = amodes_compact();
    for op in ALU_OPS {
        let mn = alu_mnemonic(op);
        for size in SIZES {
            for (i, &m) in compact.iter().enumerate() {
                let r = Gpr(((i + op as usize) % 16) as u8);
                let (rr, mm) = (Op::R(g(r, size)), mem(m, bytes_of(size)));
                c.emit(|a| a.alu_rm(op, size, r, m), mn, &[rr, mm]);
                c.emit(|a| a.alu_mr(op, size, m, r), mn, &[mm, rr]);
            }
            for (j, v) in IMMS.into_iter().enumerate() {
                for &m in compact.iter().skip(j).step_by(7) {
                    let (_, ins) = c.emit(
                        |a| a.alu_mi(op, size, m, v),
                        mn,
                        &[mem(m, bytes_of(size)), imm(v, size)],
                    );
                    let full = match size {
                        Size::S8 => i64::from(v as i8),
                        Size::S16 => i64::from(v as i16),
                        _ => i64::from(v),
                    };
                    if size != Size::S8 {
                        let imm8 = matches!(
                            ins.op_kind(1),
                            OpKind::Immediate8to16
                                | OpKind::Immediate8to32
                                | OpKind::Immediate8to64
                        );
                        assert_eq!(
                            imm8,
                            (-128..=127).contains(&full),
                            "alu_mi imm8 choice: `{}`",
                            text(&ins)
                        );
                    }
                }
            }
        }
    }
}

fn integer_misc(c: &mut Check) {
    let compact = amodes_compact();
    for size in SIZES {
        for a_ in gprs() {
            for b in gprs() {
                c.emit(
                    |a| a.test_rr(size, a_, b),
                    Mnemonic::Test,
                    &[Op::R(g(a_, size)), Op::R(g(b, size))],
                );
                c.emit(
                    |a| a.mov_rr(size, a_, b),
                    Mnemonic::Mov,
                    &[Op::R(g(a_, size)), Op::R(g(b, size))],
                );
            }
            for v in IMMS {
                c.emit(
                    |a| a.test_ri(size, a_, v),
                    Mnemonic::Test,
                    &[Op::R(g(a_, size)), imm(v, size)],
                );
            }
            for op in MULDIV_OPS {
                c.emit(
                    |a| a.muldiv(op, size, a_),
                    muldiv_mnemonic(op),
                    &[Op::R(g(a_, size))],
                );
            }
            c.emit(|a| a.neg(size, a_), Mnemonic::Neg, &[Op::R(g(a_, size))]);
            c.emit(|a| a.not(size, a_), Mnemonic::Not, &[Op::R(g(a_, size))]);
            for op in SHIFT_OPS {
                let mn = shift_mnemonic(op);
                c.emit(
                    |a| a.shift_cl(op, size, a_),
                    mn,
                    &[Op::R(g(a_, size)), Op::R(Register::CL)],
                );
                for n in [0u8, 1, 2, 7, 8, 15, 16, 31, 32, 63, 64, 255] {
                    c.emit(
                        |a| a.shift_ri(op, size, a_, n),
                        mn,
                        &[Op::R(g(a_, size)), Op::I(u64::from(n), 8)],
                    );
                }
            }
        }
        for (i, &m) in compact.iter().enumerate() {
            let r = Gpr((i % 16) as u8);
            c.emit(
                |a| a.store(size, m, r),
                Mnemonic::Mov,
                &[mem(m, bytes_of(size)), Op::R(g(r, size))],
            );
            let v = IMMS[i % IMMS.len()];
            c.emit(
                |a| a.store_imm(size, m, v),
                Mnemonic::Mov,
                &[mem(m, bytes_of(size)), imm(v, size)],
            );
        }
    }
    for size in SIZES_32_64 {
        for r in gprs() {
            c.emit(|a| a.bswap(size, r), Mnemonic::Bswap, &[Op::R(g(r, size))]);
        }
    }
    // BMI2's three-operand forms: every register in every position.
    for size in SIZES_32_64 {
        for dst in gprs() {
            for src in gprs() {
                let (d, s) = (Op::R(g(dst, size)), Op::R(g(src, size)));
                for n in [0u8, 1, 13, 31, 32, 63] {
                    c.emit(
                        |a| a.rorx(size, dst, src, n),
                        Mnemonic::Rorx,
                        &[d, s, Op::I(u64::from(n), 8)],
                    );
                }
                for count in gprs() {
                    for (op, mn) in [
                        (ShiftOp::Shl, Mnemonic::Shlx),
                        (ShiftOp::Shr, Mnemonic::Shrx),
                        (ShiftOp::Sar, Mnemonic::Sarx),
                    ] {
                        c.emit(
                            |a| a.shiftx(op, size, dst, src, count),
                            mn,
                            &[d, s, Op::R(g(count, size))],
                        );
                    }
                }
            }
        }
    }
    for size in SIZES_WIDE {
        for dst in gprs() {
            for src in gprs() {
                let (d, s) = (Op::R(g(dst, size)), Op::R(g(src, size)));
                c.emit(|a| a.imul_rr(size, dst, src), Mnemonic::Imul, &[d, s]);
                c.emit(|a| a.bsf(size, dst, src), Mnemonic::Bsf, &[d, s]);
                c.emit(|a| a.bsr(size, dst, src), Mnemonic::Bsr, &[d, s]);
                c.emit(|a| a.popcnt(size, dst, src), Mnemonic::Popcnt, &[d, s]);
                c.emit(|a| a.lzcnt(size, dst, src), Mnemonic::Lzcnt, &[d, s]);
                c.emit(|a| a.tzcnt(size, dst, src), Mnemonic::Tzcnt, &[d, s]);
                let v = IMMS[(dst.0 as usize * 16 + src.0 as usize) % IMMS.len()];
                for v in [v, 0, -1, 127, 128, -129, i32::MAX] {
                    let (_, ins) = c.emit(
                        |a| a.imul_rri(size, dst, src, v),
                        Mnemonic::Imul,
                        &[d, s, imm(v, size)],
                    );
                    let full = if size == Size::S16 {
                        i64::from(v as i16)
                    } else {
                        i64::from(v)
                    };
                    let imm8 = matches!(
                        ins.op_kind(2),
                        OpKind::Immediate8to16 | OpKind::Immediate8to32 | OpKind::Immediate8to64
                    );
                    assert_eq!(
                        imm8,
                        (-128..=127).contains(&full),
                        "imul imm8 choice: `{}`",
                        text(&ins)
                    );
                }
                for cc in CONDS {
                    c.emit(
                        |a| a.cmov(cc, size, dst, src),
                        cond_mnemonics(cc).2,
                        &[d, s],
                    );
                }
            }
        }
    }
    let full = amodes_full();
    for (i, &m) in full.iter().enumerate() {
        let r = Gpr((i % 16) as u8);
        c.emit(
            |a| a.lea(r, m),
            Mnemonic::Lea,
            &[Op::R(g(r, Size::S64)), Op::M(m, None)],
        );
        c.emit(
            |a| a.lea32(r, m),
            Mnemonic::Lea,
            &[Op::R(g(r, Size::S32)), Op::M(m, None)],
        );
        c.emit(
            |a| a.load(LoadKind::I64, Size::S64, r, m),
            Mnemonic::Mov,
            &[Op::R(g(r, Size::S64)), mem(m, 8)],
        );
        c.emit(
            |a| a.store(Size::S64, m, r),
            Mnemonic::Mov,
            &[mem(m, 8), Op::R(g(r, Size::S64))],
        );
    }
    c.emit(|a| a.cdq(), Mnemonic::Cdq, &[]);
    c.emit(|a| a.cqo(), Mnemonic::Cqo, &[]);
}

/// Expected (mnemonic, destination register size, source access size) of a
/// load or extension of `kind` into a `size` register.
fn extension(kind: LoadKind, size: Size) -> (Mnemonic, Size, Size) {
    match kind {
        LoadKind::U8 => (Mnemonic::Movzx, Size::S32, Size::S8),
        LoadKind::S8 => (Mnemonic::Movsx, size, Size::S8),
        LoadKind::U16 => (Mnemonic::Movzx, Size::S32, Size::S16),
        LoadKind::S16 => (Mnemonic::Movsx, size, Size::S16),
        LoadKind::U32 => (Mnemonic::Mov, Size::S32, Size::S32),
        LoadKind::S32 if size == Size::S64 => (Mnemonic::Movsxd, Size::S64, Size::S32),
        LoadKind::S32 => (Mnemonic::Mov, Size::S32, Size::S32),
        LoadKind::I64 => (Mnemonic::Mov, Size::S64, Size::S64),
    }
}

fn loads_and_moves(c: &mut Check) {
    let compact = amodes_compact();
    for kind in LOAD_KINDS {
        for size in SIZES_32_64 {
            let (mn, dsize, ssize) = extension(kind, size);
            for (i, &m) in compact.iter().enumerate() {
                let r = Gpr(((i + kind as usize) % 16) as u8);
                c.emit(
                    |a| a.load(kind, size, r, m),
                    mn,
                    &[Op::R(g(r, dsize)), mem(m, bytes_of(ssize))],
                );
            }
            for dst in gprs() {
                for src in gprs() {
                    c.emit(
                        |a| a.extend_rr(kind, size, dst, src),
                        mn,
                        &[Op::R(g(dst, dsize)), Op::R(g(src, ssize))],
                    );
                }
            }
        }
    }
    for dst in gprs() {
        for src in gprs() {
            c.emit(
                |a| a.movzx_r8(dst, src),
                Mnemonic::Movzx,
                &[Op::R(g(dst, Size::S32)), Op::R(g(src, Size::S8))],
            );
        }
        for cc in CONDS {
            c.emit(
                |a| a.setcc(cc, dst),
                cond_mnemonics(cc).1,
                &[Op::R(g(dst, Size::S8))],
            );
        }
        c.emit(|a| a.push(dst), Mnemonic::Push, &[Op::R(g(dst, Size::S64))]);
        c.emit(|a| a.pop(dst), Mnemonic::Pop, &[Op::R(g(dst, Size::S64))]);
        c.emit(
            |a| a.call_r(dst),
            Mnemonic::Call,
            &[Op::R(g(dst, Size::S64))],
        );
        c.emit(|a| a.jmp_r(dst), Mnemonic::Jmp, &[Op::R(g(dst, Size::S64))]);
        // mov_ri: sizes S8..S32 truncate; S64 picks the shortest form.
        for v in IMMS {
            for size in [Size::S8, Size::S16, Size::S32] {
                c.emit(
                    |a| a.mov_ri(size, dst, v as i64 as u64),
                    Mnemonic::Mov,
                    &[Op::R(g(dst, size)), imm(v, size)],
                );
            }
        }
        let values: [u64; 16] = [
            0,
            1,
            0x7F,
            0x80,
            0x7FFF_FFFF,
            0x8000_0000,
            u32::MAX as u64,
            1 << 32,
            u64::MAX,
            i32::MIN as i64 as u64,
            0xFFFF_FFFF_7FFF_FFFF,
            0xFFFF_FFFF_8000_0001,
            0x1234_5678_9ABC_DEF0,
            i64::MIN as u64,
            i64::MAX as u64,
            0x0000_7FFF_FFFF_FFFF,
        ];
        for v in values {
            let rex = usize::from(dst.0 >= 8);
            let (ops, len, kind) = if v <= u64::from(u32::MAX) {
                // mov r32, imm32 zero-extends: 5 bytes (6 with REX.B).
                (
                    [Op::R(g(dst, Size::S32)), Op::I(v, 32)],
                    5 + rex,
                    OpKind::Immediate32,
                )
            } else if i32::try_from(v as i64).is_ok() {
                // mov r64, simm32 (REX.W C7 /0): 7 bytes.
                (
                    [Op::R(g(dst, Size::S64)), Op::I(v, 64)],
                    7,
                    OpKind::Immediate32to64,
                )
            } else {
                // movabs r64, imm64: 10 bytes.
                (
                    [Op::R(g(dst, Size::S64)), Op::I(v, 64)],
                    10,
                    OpKind::Immediate64,
                )
            };
            let (bytes, ins) = c.emit(|a| a.mov_ri(Size::S64, dst, v), Mnemonic::Mov, &ops);
            assert_eq!(
                bytes.len(),
                len,
                "mov_ri length: [{}] `{}`",
                hex(&bytes),
                text(&ins)
            );
            assert_eq!(
                ins.op_kind(1),
                kind,
                "mov_ri form: [{}] `{}`",
                hex(&bytes),
                text(&ins)
            );
        }
    }
    for &m in &compact {
        c.emit(|a| a.call_m(m), Mnemonic::Call, &[mem(m, 8)]);
    }
    c.emit(|a| a.ret(), Mnemonic::Ret, &[]);
    c.emit(|a| a.ud2(), Mnemonic::Ud2, &[]);
    c.emit(|a| a.int3(), Mnemonic::Int3, &[]);
    c.emit(|a| a.nop(), Mnemonic::Nop, &[]);
}

/// An xmm load or store: the emitter, its mnemonic, the bytes it accesses and
/// whether the memory operand comes first (a store).
type XmmMove = (fn(&mut Asm, Xmm, Amode), Mnemonic, u32, bool);

/// Moves checked over every addressing mode.
const XMM_MOVES_FULL: [XmmMove; 2] = [
    (|a, r, m| a.movsd_load(r, m), Mnemonic::Movsd, 8, false),
    (
        |a, r, m| a.vec_m(VecOp::Movdqu, r, m),
        Mnemonic::Movdqu,
        16,
        false,
    ),
];

/// Moves checked over the compact grid of addressing modes.
const XMM_MOVES_COMPACT: [XmmMove; 6] = [
    (|a, r, m| a.movss_load(r, m), Mnemonic::Movss, 4, false),
    (|a, r, m| a.movss_store(m, r), Mnemonic::Movss, 4, true),
    (|a, r, m| a.movsd_store(m, r), Mnemonic::Movsd, 8, true),
    (|a, r, m| a.movdqu_store(m, r), Mnemonic::Movdqu, 16, true),
    (|a, r, m| a.movq_load(r, m), Mnemonic::Movq, 8, false),
    (|a, r, m| a.movd_load(r, m), Mnemonic::Movd, 4, false),
];

/// Scalar and packed xmm loads and stores, the register rotating through all
/// 16 along each grid of addressing modes.
fn xmm_moves(c: &mut Check) {
    for (modes, forms) in [
        (amodes_full(), &XMM_MOVES_FULL[..]),
        (amodes_compact(), &XMM_MOVES_COMPACT[..]),
    ] {
        for (i, &m) in modes.iter().enumerate() {
            let r = Xmm((i % 16) as u8);
            for &(f, mn, bytes, store) in forms {
                let (xr, mm) = (Op::R(x(r)), mem(m, bytes));
                let ops = if store { [mm, xr] } else { [xr, mm] };
                c.emit(|a| f(a, r, m), mn, &ops);
            }
        }
    }
}

fn sse(c: &mut Check) {
    let compact = amodes_compact();
    for op in SSE_OPS {
        let (mn, msize) = sse_info(op);
        for dst in xmms() {
            for src in xmms() {
                c.emit(|a| a.sse(op, dst, src), mn, &[Op::R(x(dst)), Op::R(x(src))]);
            }
        }
        for (i, &m) in compact.iter().enumerate() {
            let r = Xmm(((i + op as usize) % 16) as u8);
            c.emit(|a| a.sse_m(op, r, m), mn, &[Op::R(x(r)), mem(m, msize)]);
        }
    }
    for dst in xmms() {
        for src in xmms() {
            c.emit(
                |a| a.movaps(dst, src),
                Mnemonic::Movaps,
                &[Op::R(x(dst)), Op::R(x(src))],
            );
            for n in [0u8, 1, 2, 3, 4, 8, 9, 10, 11, 255] {
                let ops = [Op::R(x(dst)), Op::R(x(src)), Op::I(u64::from(n), 8)];
                c.emit(|a| a.roundss(dst, src, n), Mnemonic::Roundss, &ops);
                c.emit(|a| a.roundsd(dst, src, n), Mnemonic::Roundsd, &ops);
            }
        }
        for r in gprs() {
            for size in SIZES_32_64 {
                let (xr, gr) = (Op::R(x(dst)), Op::R(g(r, size)));
                let movd = if size == Size::S32 {
                    Mnemonic::Movd
                } else {
                    Mnemonic::Movq
                };
                c.emit(|a| a.movd_to_xmm(size, dst, r), movd, &[xr, gr]);
                c.emit(|a| a.movd_from_xmm(size, r, dst), movd, &[gr, xr]);
                c.emit(|a| a.cvtsi2ss(size, dst, r), Mnemonic::Cvtsi2ss, &[xr, gr]);
                c.emit(|a| a.cvtsi2sd(size, dst, r), Mnemonic::Cvtsi2sd, &[xr, gr]);
                c.emit(
                    |a| a.cvttss2si(size, r, dst),
                    Mnemonic::Cvttss2si,
                    &[gr, xr],
                );
                c.emit(
                    |a| a.cvttsd2si(size, r, dst),
                    Mnemonic::Cvttsd2si,
                    &[gr, xr],
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Packed SSE forms

/// Every `VecOp` in declaration order with its mnemonic (Intel SDM name) and the
/// number of bytes its memory form reads (`None`: register form only).
const VEC_OPS: [(VecOp, Mnemonic, Option<u32>); 114] = {
    use Mnemonic as M;
    use VecOp as V;
    [
        (V::Movdqu, M::Movdqu, Some(16)),
        (V::Paddb, M::Paddb, Some(16)),
        (V::Paddw, M::Paddw, Some(16)),
        (V::Paddd, M::Paddd, Some(16)),
        (V::Paddq, M::Paddq, Some(16)),
        (V::Psubb, M::Psubb, Some(16)),
        (V::Psubw, M::Psubw, Some(16)),
        (V::Psubd, M::Psubd, Some(16)),
        (V::Psubq, M::Psubq, Some(16)),
        (V::Paddsb, M::Paddsb, Some(16)),
        (V::Paddsw, M::Paddsw, Some(16)),
        (V::Paddusb, M::Paddusb, Some(16)),
        (V::Paddusw, M::Paddusw, Some(16)),
        (V::Psubsb, M::Psubsb, Some(16)),
        (V::Psubsw, M::Psubsw, Some(16)),
        (V::Psubusb, M::Psubusb, Some(16)),
        (V::Psubusw, M::Psubusw, Some(16)),
        (V::Pmullw, M::Pmullw, Some(16)),
        (V::Pmulld, M::Pmulld, Some(16)),
        (V::Pmulhw, M::Pmulhw, Some(16)),
        (V::Pmulhuw, M::Pmulhuw, Some(16)),
        (V::Pmuludq, M::Pmuludq, Some(16)),
        (V::Pmuldq, M::Pmuldq, Some(16)),
        (V::Pmaddwd, M::Pmaddwd, Some(16)),
        (V::Pmaddubsw, M::Pmaddubsw, Some(16)),
        (V::Pmulhrsw, M::Pmulhrsw, Some(16)),
        (V::Pminsb, M::Pminsb, Some(16)),
        (V::Pminsw, M::Pminsw, Some(16)),
        (V::Pminsd, M::Pminsd, Some(16)),
        (V::Pminub, M::Pminub, Some(16)),
        (V::Pminuw, M::Pminuw, Some(16)),
        (V::Pminud, M::Pminud, Some(16)),
        (V::Pmaxsb, M::Pmaxsb, Some(16)),
        (V::Pmaxsw, M::Pmaxsw, Some(16)),
        (V::Pmaxsd, M::Pmaxsd, Some(16)),
        (V::Pmaxub, M::Pmaxub, Some(16)),
        (V::Pmaxuw, M::Pmaxuw, Some(16)),
        (V::Pmaxud, M::Pmaxud, Some(16)),
        (V::Pavgb, M::Pavgb, Some(16)),
        (V::Pavgw, M::Pavgw, Some(16)),
        (V::Pand, M::Pand, Some(16)),
        (V::Pandn, M::Pandn, Some(16)),
        (V::Por, M::Por, Some(16)),
        (V::Pxor, M::Pxor, Some(16)),
        (V::Pcmpeqb, M::Pcmpeqb, Some(16)),
        (V::Pcmpeqw, M::Pcmpeqw, Some(16)),
        (V::Pcmpeqd, M::Pcmpeqd, Some(16)),
        (V::Pcmpeqq, M::Pcmpeqq, Some(16)),
        (V::Pcmpgtb, M::Pcmpgtb, Some(16)),
        (V::Pcmpgtw, M::Pcmpgtw, Some(16)),
        (V::Pcmpgtd, M::Pcmpgtd, Some(16)),
        (V::Pcmpgtq, M::Pcmpgtq, Some(16)),
        (V::Packsswb, M::Packsswb, Some(16)),
        (V::Packuswb, M::Packuswb, Some(16)),
        (V::Packssdw, M::Packssdw, Some(16)),
        (V::Packusdw, M::Packusdw, Some(16)),
        (V::Punpcklbw, M::Punpcklbw, Some(16)),
        (V::Punpcklwd, M::Punpcklwd, Some(16)),
        (V::Punpckldq, M::Punpckldq, Some(16)),
        (V::Punpcklqdq, M::Punpcklqdq, Some(16)),
        (V::Punpckhbw, M::Punpckhbw, Some(16)),
        (V::Punpckhwd, M::Punpckhwd, Some(16)),
        (V::Punpckhdq, M::Punpckhdq, Some(16)),
        (V::Punpckhqdq, M::Punpckhqdq, Some(16)),
        (V::Pshufb, M::Pshufb, Some(16)),
        (V::Pabsb, M::Pabsb, Some(16)),
        (V::Pabsw, M::Pabsw, Some(16)),
        (V::Pabsd, M::Pabsd, Some(16)),
        // The extensions read only the narrow half: 8 bytes, 4 words, 2 dwords.
        (V::Pmovsxbw, M::Pmovsxbw, Some(8)),
        (V::Pmovsxwd, M::Pmovsxwd, Some(8)),
        (V::Pmovsxdq, M::Pmovsxdq, Some(8)),
        (V::Pmovzxbw, M::Pmovzxbw, Some(8)),
        (V::Pmovzxwd, M::Pmovzxwd, Some(8)),
        (V::Pmovzxdq, M::Pmovzxdq, Some(8)),
        // The count operand is a full m128 (only its low 64 bits are used).
        (V::Psllw, M::Psllw, Some(16)),
        (V::Pslld, M::Pslld, Some(16)),
        (V::Psllq, M::Psllq, Some(16)),
        (V::Psrlw, M::Psrlw, Some(16)),
        (V::Psrld, M::Psrld, Some(16)),
        (V::Psrlq, M::Psrlq, Some(16)),
        (V::Psraw, M::Psraw, Some(16)),
        (V::Psrad, M::Psrad, Some(16)),
        (V::Ptest, M::Ptest, Some(16)),
        (V::Addps, M::Addps, Some(16)),
        (V::Addpd, M::Addpd, Some(16)),
        (V::Subps, M::Subps, Some(16)),
        (V::Subpd, M::Subpd, Some(16)),
        (V::Mulps, M::Mulps, Some(16)),
        (V::Mulpd, M::Mulpd, Some(16)),
        (V::Divps, M::Divps, Some(16)),
        (V::Divpd, M::Divpd, Some(16)),
        (V::Minps, M::Minps, Some(16)),
        (V::Minpd, M::Minpd, Some(16)),
        (V::Maxps, M::Maxps, Some(16)),
        (V::Maxpd, M::Maxpd, Some(16)),
        (V::Sqrtps, M::Sqrtps, Some(16)),
        (V::Sqrtpd, M::Sqrtpd, Some(16)),
        (V::Andps, M::Andps, Some(16)),
        (V::Andnps, M::Andnps, Some(16)),
        (V::Orps, M::Orps, Some(16)),
        (V::Xorps, M::Xorps, Some(16)),
        (V::Cvtdq2ps, M::Cvtdq2ps, Some(16)),
        (V::Cvttps2dq, M::Cvttps2dq, Some(16)),
        // Widening conversions read two 32-bit lanes.
        (V::Cvtps2pd, M::Cvtps2pd, Some(8)),
        (V::Cvtpd2ps, M::Cvtpd2ps, Some(16)),
        (V::Cvtdq2pd, M::Cvtdq2pd, Some(8)),
        (V::Cvttpd2dq, M::Cvttpd2dq, Some(16)),
        (V::Unpcklps, M::Unpcklps, Some(16)),
        (V::Unpckhps, M::Unpckhps, Some(16)),
        (V::Movlhps, M::Movlhps, None),
        (V::Movhlps, M::Movhlps, None),
        (V::Movsd, M::Movsd, None),
        // Duplicates one 64-bit lane.
        (V::Movddup, M::Movddup, Some(8)),
        (V::Movshdup, M::Movshdup, Some(16)),
    ]
};

const VEC_IMM_OPS: [(VecImmOp, Mnemonic); 11] = [
    (VecImmOp::Pshufd, Mnemonic::Pshufd),
    (VecImmOp::Pshuflw, Mnemonic::Pshuflw),
    (VecImmOp::Pshufhw, Mnemonic::Pshufhw),
    (VecImmOp::Shufps, Mnemonic::Shufps),
    (VecImmOp::Palignr, Mnemonic::Palignr),
    (VecImmOp::Pblendw, Mnemonic::Pblendw),
    (VecImmOp::Cmpps, Mnemonic::Cmpps),
    (VecImmOp::Cmppd, Mnemonic::Cmppd),
    (VecImmOp::Roundps, Mnemonic::Roundps),
    (VecImmOp::Roundpd, Mnemonic::Roundpd),
    (VecImmOp::Insertps, Mnemonic::Insertps),
];

/// Every `VecShiftImm` with its mnemonic and its `66 0F 71/72/73 /digit` from
/// the SDM.
const VEC_SHIFT_IMMS: [(VecShiftImm, Mnemonic, u8, u8); 10] = [
    (VecShiftImm::Psllw, Mnemonic::Psllw, 0x71, 6),
    (VecShiftImm::Pslld, Mnemonic::Pslld, 0x72, 6),
    (VecShiftImm::Psllq, Mnemonic::Psllq, 0x73, 6),
    (VecShiftImm::Psrlw, Mnemonic::Psrlw, 0x71, 2),
    (VecShiftImm::Psrld, Mnemonic::Psrld, 0x72, 2),
    (VecShiftImm::Psrlq, Mnemonic::Psrlq, 0x73, 2),
    (VecShiftImm::Psraw, Mnemonic::Psraw, 0x71, 4),
    (VecShiftImm::Psrad, Mnemonic::Psrad, 0x72, 4),
    (VecShiftImm::Psrldq, Mnemonic::Psrldq, 0x73, 3),
    (VecShiftImm::Pslldq, Mnemonic::Pslldq, 0x73, 7),
];

/// Immediates at the sign and byte boundaries.
const IMM8S: [u8; 5] = [0, 1, 0x7F, 0x80, 0xFF];

/// Each lane width with its (pinsr, pextr) mnemonics, the GPR size the
/// register forms name (byte and word lanes use a 32-bit register) and the
/// lanes to try (first, second, last, one past the last).
const LANES: [(LaneSize, Mnemonic, Mnemonic, Size, &[u8]); 4] = [
    (
        LaneSize::B,
        Mnemonic::Pinsrb,
        Mnemonic::Pextrb,
        Size::S32,
        &[0, 1, 15, 16],
    ),
    (
        LaneSize::W,
        Mnemonic::Pinsrw,
        Mnemonic::Pextrw,
        Size::S32,
        &[0, 1, 7, 8],
    ),
    (
        LaneSize::D,
        Mnemonic::Pinsrd,
        Mnemonic::Pextrd,
        Size::S32,
        &[0, 1, 3, 4],
    ),
    (
        LaneSize::Q,
        Mnemonic::Pinsrq,
        Mnemonic::Pextrq,
        Size::S64,
        &[0, 1, 2],
    ),
];

/// The VEX mnemonic of an SSE one (`paddb` -> `vpaddb`).
fn vex_mnemonic(mn: Mnemonic) -> Mnemonic {
    let want = format!("v{mn:?}").to_lowercase();
    Mnemonic::values()
        .find(|m| format!("{m:?}").to_lowercase() == want)
        .unwrap_or_else(|| panic!("no mnemonic {want}"))
}

/// The VEX three-operand forms of the packed ops: every register triple, the memory
/// grid, and the two-byte prefix whenever it can encode the instruction.
fn simd_vex(c: &mut Check) {
    let compact = amodes_compact();
    let mut with_form = 0;
    for (op, mn, msize) in VEC_OPS {
        if !op.has_vex3() {
            continue;
        }
        with_form += 1;
        let vmn = vex_mnemonic(mn);
        let mut legacy = Asm::new();
        legacy.vec(op, Xmm(0), Xmm(0));
        let legacy = legacy.finish();
        let prefix = usize::from(matches!(legacy[0], 0x66 | 0xF2 | 0xF3));
        // `0F op` (map 1) rather than `0F 38 op` or `0F 3A op`.
        let map_0f = legacy.len() - prefix - 1 == 2;
        for dst in xmms() {
            for src1 in xmms() {
                for src2 in xmms() {
                    let (bytes, _) = c.emit(
                        |a| a.vex3(op, dst, src1, src2),
                        vmn,
                        &[Op::R(x(dst)), Op::R(x(src1)), Op::R(x(src2))],
                    );
                    let two_byte = map_0f && src2.0 < 8;
                    assert_eq!(
                        bytes[0],
                        if two_byte { 0xC5 } else { 0xC4 },
                        "{op:?} {dst:?}, {src1:?}, {src2:?}: [{}]",
                        hex(&bytes)
                    );
                }
            }
        }
        let Some(msize) = msize else { continue };
        for (i, &m) in compact.iter().enumerate() {
            let r = Xmm(((i + op as usize) % 16) as u8);
            let s1 = Xmm(((i * 7 + 3) % 16) as u8);
            c.emit(
                |a| a.vex3_m(op, r, s1, m),
                vmn,
                &[Op::R(x(r)), Op::R(x(s1)), mem(m, msize)],
            );
        }
    }
    assert_eq!(with_form, 93, "packed ops with a three-operand VEX form");

    for (op, mn) in VEC_IMM_OPS {
        if !op.has_vex3() {
            continue;
        }
        let vmn = vex_mnemonic(mn);
        for dst in xmms() {
            for src1 in xmms() {
                for src2 in xmms() {
                    let n = IMM8S[(dst.0 + src1.0 + src2.0) as usize % IMM8S.len()];
                    c.emit(
                        |a| a.vex3_imm(op, dst, src1, src2, n),
                        vmn,
                        &[
                            Op::R(x(dst)),
                            Op::R(x(src1)),
                            Op::R(x(src2)),
                            Op::I(u64::from(n), 8),
                        ],
                    );
                }
            }
        }
    }
    for (op, mn) in [
        (Broadcast::Vpbroadcastb, Mnemonic::Vpbroadcastb),
        (Broadcast::Vpbroadcastw, Mnemonic::Vpbroadcastw),
        (Broadcast::Vpbroadcastd, Mnemonic::Vpbroadcastd),
        (Broadcast::Vpbroadcastq, Mnemonic::Vpbroadcastq),
        (Broadcast::Vbroadcastss, Mnemonic::Vbroadcastss),
    ] {
        for dst in xmms() {
            for src in xmms() {
                c.emit(
                    |a| a.broadcast(op, dst, src),
                    mn,
                    &[Op::R(x(dst)), Op::R(x(src))],
                );
            }
        }
    }
    for (op, mn, ..) in VEC_SHIFT_IMMS {
        let vmn = vex_mnemonic(mn);
        for dst in xmms() {
            for src in xmms() {
                for n in [0u8, 1, 15, 31, 63, 0xFF] {
                    let (bytes, _) = c.emit(
                        |a| a.vex_shift_imm(op, dst, src, n),
                        vmn,
                        &[Op::R(x(dst)), Op::R(x(src)), Op::I(u64::from(n), 8)],
                    );
                    // Map 0F: two-byte VEX unless the source needs VEX.B.
                    assert_eq!(bytes[0], if src.0 < 8 { 0xC5 } else { 0xC4 }, "{op:?}");
                }
            }
        }
    }
}

fn simd(c: &mut Check) {
    // The table lists every variant once, in declaration order.
    for (i, (op, ..)) in VEC_OPS.iter().enumerate() {
        assert_eq!(*op as usize, i, "VEC_OPS out of order at {op:?}");
    }
    assert_eq!(VEC_OPS.len(), VecOp::Movshdup as usize + 1);
    for (i, (op, _)) in VEC_IMM_OPS.iter().enumerate() {
        assert_eq!(*op as usize, i, "VEC_IMM_OPS out of order at {op:?}");
    }

    let compact = amodes_compact();
    for (op, mn, msize) in VEC_OPS {
        for dst in xmms() {
            for src in xmms() {
                c.emit(|a| a.vec(op, dst, src), mn, &[Op::R(x(dst)), Op::R(x(src))]);
            }
        }
        let Some(msize) = msize else { continue };
        for (i, &m) in compact.iter().enumerate() {
            let r = Xmm(((i + op as usize) % 16) as u8);
            c.emit(|a| a.vec_m(op, r, m), mn, &[Op::R(x(r)), mem(m, msize)]);
        }
    }

    for dst in xmms() {
        for src in xmms() {
            for (op, mn) in VEC_IMM_OPS {
                for n in IMM8S {
                    c.emit(
                        |a| a.vec_imm(op, dst, src, n),
                        mn,
                        &[Op::R(x(dst)), Op::R(x(src)), Op::I(u64::from(n), 8)],
                    );
                }
            }
        }
        for (op, mn, opcode, digit) in VEC_SHIFT_IMMS {
            for n in [0u8, 1, 7, 8, 15, 16, 31, 32, 63, 64, 0x7F, 0x80, 0xFF] {
                let (bytes, _) = c.emit(
                    |a| a.vec_shift_imm(op, dst, n),
                    mn,
                    &[Op::R(x(dst)), Op::I(u64::from(n), 8)],
                );
                // 66 [REX.B] 0F opcode ModRM(11, digit, dst) imm8.
                let rex = dst.0 >= 8;
                let mut want = vec![0x66];
                if rex {
                    want.push(0x41);
                }
                want.extend([0x0F, opcode, 0xC0 | (digit << 3) | (dst.0 & 7), n]);
                assert_eq!(hex(&bytes), hex(&want), "{op:?} {dst:?}, {n}");
            }
        }
        for r in gprs() {
            for (size, ins_mn, ext_mn, gsize, lanes) in LANES {
                let (xr, gr) = (Op::R(x(dst)), Op::R(g(r, gsize)));
                for &lane in lanes {
                    let l = Op::I(u64::from(lane), 8);
                    c.emit(|a| a.pinsr(size, dst, r, lane), ins_mn, &[xr, gr, l]);
                    c.emit(|a| a.pextr(size, r, dst, lane), ext_mn, &[gr, xr, l]);
                }
            }
            let (gr, xr) = (Op::R(g(r, Size::S32)), Op::R(x(dst)));
            c.emit(|a| a.pmovmskb(r, dst), Mnemonic::Pmovmskb, &[gr, xr]);
            c.emit(|a| a.movmskps(r, dst), Mnemonic::Movmskps, &[gr, xr]);
            c.emit(|a| a.movmskpd(r, dst), Mnemonic::Movmskpd, &[gr, xr]);
        }
    }

    // vec_label: RIP-relative operands resolving to a label before or after
    // the instruction.
    let label_ops = [
        VecOp::Movdqu,
        VecOp::Paddb,
        VecOp::Pshufb,
        VecOp::Addps,
        VecOp::Pmovzxbw,
        VecOp::Movddup,
        VecOp::Cvtdq2pd,
    ];
    for (op, mn, msize) in VEC_OPS.into_iter().filter(|e| label_ops.contains(&e.0)) {
        let msize = msize.expect("label ops have a memory form");
        for dst in xmms() {
            for forward in [true, false] {
                let (ins, len, target) = rip_relative(|a, l| a.vec_label(op, dst, l), forward);
                let what = format!("{op:?} {dst:?} forward={forward}: `{}`", text(&ins));
                assert_eq!(ins.len() as u32, len, "{what}");
                assert_eq!(ins.mnemonic(), mn, "{what}");
                assert_eq!(ins.op_count(), 2, "{what}");
                assert_eq!(ins.op0_register(), x(dst), "{what}");
                assert_eq!(ins.op1_kind(), OpKind::Memory, "{what}");
                assert_eq!(ins.memory_base(), Register::RIP, "{what}");
                assert_eq!(ins.memory_index(), Register::None, "{what}");
                assert_eq!(mem_bytes(ins.memory_size()), msize, "{what}");
                assert_eq!(ins.ip_rel_memory_address(), u64::from(target), "{what}");
                // The register form with the ModRM byte's disp32 appended.
                let mut reg_form = Asm::new();
                reg_form.vec(op, dst, Xmm(0));
                assert_eq!(len as usize, reg_form.finish().len() + 4, "{what}");
                c.n += 1;
            }
        }
    }
}

/// Byte strings assembled by hand from the Intel SDM tables, to pin exact
/// encodings (SIB/disp quirks, prefix order, short forms).
fn golden(c: &mut Check) {
    use regs::*;
    type Case = (fn(&mut Asm), &'static [u8]);
    let cases: &[Case] = &[
        (
            |a| a.load(LoadKind::U32, Size::S32, RAX, Amode::base_disp(RSP, 0)),
            &[0x8B, 0x04, 0x24],
        ),
        (
            |a| a.load(LoadKind::U32, Size::S32, RAX, Amode::base_disp(RBP, 0)),
            &[0x8B, 0x45, 0x00],
        ),
        (
            |a| a.load(LoadKind::U32, Size::S32, R12, Amode::base_disp(R13, 0)),
            &[0x45, 0x8B, 0x65, 0x00],
        ),
        (
            |a| a.load(LoadKind::I64, Size::S64, RAX, Amode::base_disp(R12, 0)),
            &[0x49, 0x8B, 0x04, 0x24],
        ),
        (
            |a| a.load(LoadKind::U32, Size::S32, RAX, Amode::base_disp(RSP, 0x80)),
            &[0x8B, 0x84, 0x24, 0x80, 0, 0, 0],
        ),
        (
            |a| {
                a.load(
                    LoadKind::U32,
                    Size::S32,
                    RAX,
                    Amode::base_index(R13, R12, 1, 0),
                )
            },
            &[0x43, 0x8B, 0x44, 0x25, 0x00],
        ),
        (
            |a| {
                a.load(
                    LoadKind::U32,
                    Size::S32,
                    RAX,
                    Amode::base_index(RAX, RBP, 1, 0),
                )
            },
            &[0x8B, 0x04, 0x28],
        ),
        (
            |a| a.load(LoadKind::U8, Size::S64, RAX, Amode::base_disp(RDI, -1)),
            &[0x0F, 0xB6, 0x47, 0xFF],
        ),
        (
            |a| a.load(LoadKind::S32, Size::S64, RAX, Amode::base_disp(RDI, 0)),
            &[0x48, 0x63, 0x07],
        ),
        (
            |a| a.lea(RAX, Amode::base_index(RAX, RCX, 8, 0x10)),
            &[0x48, 0x8D, 0x44, 0xC8, 0x10],
        ),
        (
            |a| a.alu_ri(AluOp::Add, Size::S64, RAX, 1),
            &[0x48, 0x83, 0xC0, 0x01],
        ),
        (
            |a| a.alu_ri(AluOp::Add, Size::S32, RAX, 0x1234_5678),
            &[0x05, 0x78, 0x56, 0x34, 0x12],
        ),
        (
            |a| a.alu_ri(AluOp::Add, Size::S32, RCX, 0x1234_5678),
            &[0x81, 0xC1, 0x78, 0x56, 0x34, 0x12],
        ),
        (
            |a| a.alu_ri(AluOp::Cmp, Size::S64, RDX, -128),
            &[0x48, 0x83, 0xFA, 0x80],
        ),
        (
            |a| a.alu_rr(AluOp::Sub, Size::S64, R8, RAX),
            &[0x49, 0x29, 0xC0],
        ),
        (|a| a.push(R12), &[0x41, 0x54]),
        (|a| a.pop(RBP), &[0x5D]),
        (|a| a.setcc(Cond::E, RSI), &[0x40, 0x0F, 0x94, 0xC6]),
        (|a| a.setcc(Cond::L, RAX), &[0x0F, 0x9C, 0xC0]),
        (|a| a.movzx_r8(RAX, RDI), &[0x40, 0x0F, 0xB6, 0xC7]),
        (
            |a| a.mov_ri(Size::S64, RAX, u64::from(u32::MAX)),
            &[0xB8, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            |a| a.mov_ri(Size::S64, RAX, u64::MAX),
            &[0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            |a| a.mov_ri(Size::S64, R15, 0x1_2345_6789),
            &[0x49, 0xBF, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0],
        ),
        (
            |a| a.movsd_load(Xmm(8), Amode::base_disp(RSP, 8)),
            &[0xF2, 0x44, 0x0F, 0x10, 0x44, 0x24, 0x08],
        ),
        (
            |a| a.popcnt(Size::S64, R9, RAX),
            &[0xF3, 0x4C, 0x0F, 0xB8, 0xC8],
        ),
        (|a| a.tzcnt(Size::S32, RAX, RCX), &[0xF3, 0x0F, 0xBC, 0xC1]),
        (
            |a| a.cvtsi2sd(Size::S64, Xmm(1), RAX),
            &[0xF2, 0x48, 0x0F, 0x2A, 0xC8],
        ),
        (
            |a| a.cvttss2si(Size::S32, RAX, Xmm(9)),
            &[0xF3, 0x41, 0x0F, 0x2C, 0xC1],
        ),
        (
            |a| a.store(Size::S8, Amode::base_disp(RDI, 0), RSI),
            &[0x40, 0x88, 0x37],
        ),
        (
            |a| a.store(Size::S8, Amode::base_disp(RDI, 0), RBX),
            &[0x88, 0x1F],
        ),
        (
            |a| a.store(Size::S16, Amode::base_disp(RAX, 0), RCX),
            &[0x66, 0x89, 0x08],
        ),
        (
            |a| a.store_imm(Size::S64, Amode::base_disp(RSP, 0), -1),
            &[0x48, 0xC7, 0x04, 0x24, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            |a| a.movd_to_xmm(Size::S64, Xmm(0), RAX),
            &[0x66, 0x48, 0x0F, 0x6E, 0xC0],
        ),
        (
            |a| a.movd_from_xmm(Size::S32, RAX, Xmm(10)),
            &[0x66, 0x44, 0x0F, 0x7E, 0xD0],
        ),
        (|a| a.sse(SseOp::Xorps, Xmm(0), Xmm(0)), &[0x0F, 0x57, 0xC0]),
        (
            |a| a.sse(SseOp::Ucomisd, Xmm(8), Xmm(1)),
            &[0x66, 0x44, 0x0F, 0x2E, 0xC1],
        ),
        (
            |a| a.roundsd(Xmm(0), Xmm(1), 3),
            &[0x66, 0x0F, 0x3A, 0x0B, 0xC1, 0x03],
        ),
        (
            |a| a.shift_ri(ShiftOp::Shl, Size::S32, RAX, 1),
            &[0xD1, 0xE0],
        ),
        (
            |a| a.shift_ri(ShiftOp::Sar, Size::S64, RCX, 63),
            &[0x48, 0xC1, 0xF9, 0x3F],
        ),
        (
            |a| a.shift_cl(ShiftOp::Shr, Size::S32, R9),
            &[0x41, 0xD3, 0xE9],
        ),
        (|a| a.call_r(R11), &[0x41, 0xFF, 0xD3]),
        (|a| a.jmp_r(RAX), &[0xFF, 0xE0]),
        (|a| a.call_m(Amode::base_disp(RAX, 0)), &[0xFF, 0x10]),
        (|a| a.test_ri(Size::S32, RAX, 1), &[0xA9, 0x01, 0, 0, 0]),
        (
            |a| a.muldiv(MulDivOp::Idiv, Size::S64, RCX),
            &[0x48, 0xF7, 0xF9],
        ),
        (|a| a.ud2(), &[0x0F, 0x0B]),
        (|a| a.cqo(), &[0x48, 0x99]),
        (
            |a| a.vec(VecOp::Paddb, Xmm(8), Xmm(1)),
            &[0x66, 0x44, 0x0F, 0xFC, 0xC1],
        ),
        (
            |a| a.vec(VecOp::Addps, Xmm(0), Xmm(15)),
            &[0x41, 0x0F, 0x58, 0xC7],
        ),
        (
            |a| a.vec_m(VecOp::Pshufb, Xmm(9), Amode::base_disp(R12, 0)),
            &[0x66, 0x45, 0x0F, 0x38, 0x00, 0x0C, 0x24],
        ),
        (
            |a| a.vec_m(VecOp::Pmovzxbw, Xmm(1), Amode::base_disp(RBP, 0)),
            &[0x66, 0x0F, 0x38, 0x30, 0x4D, 0x00],
        ),
        (
            |a| {
                let l = a.new_label();
                a.vec_label(VecOp::Movdqu, Xmm(8), l);
                a.bind(l);
            },
            &[0xF3, 0x44, 0x0F, 0x6F, 0x05, 0, 0, 0, 0],
        ),
        // VEX: two-byte form (map 0F, no X/B), three-byte form (map 0F38, R and B).
        (
            |a| a.vex3(VecOp::Paddd, Xmm(1), Xmm(2), Xmm(3)),
            &[0xC5, 0xE9, 0xFE, 0xCB],
        ),
        (
            |a| a.vex3(VecOp::Pshufb, Xmm(9), Xmm(10), Xmm(11)),
            &[0xC4, 0x42, 0x29, 0x00, 0xCB],
        ),
        (
            |a| a.vex3_m(VecOp::Pcmpgtq, Xmm(0), Xmm(15), Amode::base_disp(R13, 0)),
            &[0xC4, 0xC2, 0x01, 0x37, 0x45, 0x00],
        ),
        (
            |a| a.vex_shift_imm(VecShiftImm::Psrlq, Xmm(1), Xmm(2), 32),
            &[0xC5, 0xF1, 0x73, 0xD2, 0x20],
        ),
        (
            |a| a.vex3_imm(VecImmOp::Shufps, Xmm(0), Xmm(1), Xmm(2), 0x88),
            &[0xC5, 0xF0, 0xC6, 0xC2, 0x88],
        ),
        (
            |a| a.broadcast(Broadcast::Vpbroadcastb, Xmm(8), Xmm(1)),
            &[0xC4, 0x62, 0x79, 0x78, 0xC1],
        ),
        (
            |a| a.vec_imm(VecImmOp::Pshufd, Xmm(0), Xmm(1), 0x1B),
            &[0x66, 0x0F, 0x70, 0xC1, 0x1B],
        ),
        (
            |a| a.vec_shift_imm(VecShiftImm::Psrldq, Xmm(9), 8),
            &[0x66, 0x41, 0x0F, 0x73, 0xD9, 0x08],
        ),
        (
            |a| a.movdqu_store(Amode::base_disp(RSP, 16), Xmm(15)),
            &[0xF3, 0x44, 0x0F, 0x7F, 0x7C, 0x24, 0x10],
        ),
        (
            |a| a.pinsr(LaneSize::B, Xmm(0), RSI, 5),
            &[0x66, 0x0F, 0x3A, 0x20, 0xC6, 0x05],
        ),
        (
            |a| a.pextr(LaneSize::B, RSI, Xmm(0), 5),
            &[0x66, 0x0F, 0x3A, 0x14, 0xC6, 0x05],
        ),
        (
            |a| a.pextr(LaneSize::W, RAX, Xmm(9), 7),
            &[0x66, 0x41, 0x0F, 0xC5, 0xC1, 0x07],
        ),
        (
            |a| a.pinsr(LaneSize::Q, Xmm(8), R9, 1),
            &[0x66, 0x4D, 0x0F, 0x3A, 0x22, 0xC1, 0x01],
        ),
        (|a| a.pmovmskb(R8, Xmm(3)), &[0x66, 0x44, 0x0F, 0xD7, 0xC3]),
    ];
    for (f, want) in cases {
        let mut a = Asm::new();
        f(&mut a);
        let got = a.finish();
        assert_eq!(hex(&got), hex(want), "golden encoding mismatch");
        c.n += 1;
    }
}

/// Decodes a whole buffer, returning each instruction with its offset.
fn decode_all(code: &[u8]) -> Vec<Instruction> {
    let mut d = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut out = Vec::new();
    while d.can_decode() {
        let ins = d.decode();
        assert!(
            !ins.is_invalid(),
            "invalid instruction at {:#x} in [{}]",
            ins.ip(),
            hex(code)
        );
        out.push(ins);
    }
    out
}

/// Emits one RIP-relative instruction with `f` between runs of padding, its
/// label bound before the instruction or (`forward`) after it. Returns the
/// decoded instruction, its encoded length and the label's offset.
fn rip_relative(f: impl FnOnce(&mut Asm, Label), forward: bool) -> (Instruction, u32, u32) {
    let mut a = Asm::new();
    let l = a.new_label();
    a.bytes(&[0x90; 7]);
    if !forward {
        a.bind(l);
        a.bytes(&[0x90; 300]);
    }
    let at = a.offset();
    f(&mut a, l);
    let len = a.offset() - at;
    if forward {
        a.bytes(&[0x90; 300]);
        a.bind(l);
    }
    let target = a.label_offset(l).expect("bound");
    let ins = decode_all(&a.finish())
        .into_iter()
        .find(|i| i.ip() == u64::from(at))
        .expect("instruction decoded");
    (ins, len, target)
}

fn labels(c: &mut Check) {
    // Forward and backward jmp/jcc rel32 over various distances.
    for pad in [0usize, 1, 2, 127, 128, 129, 1000] {
        for cc in [None].into_iter().chain(CONDS.into_iter().map(Some)) {
            let mn = cc.map_or(Mnemonic::Jmp, |cc| cond_mnemonics(cc).0);
            let len = if cc.is_some() { 6 } else { 5 };
            let branch = |a: &mut Asm, l: Label| match cc {
                Some(cc) => a.jcc(cc, l),
                None => a.jmp(l),
            };

            // Forward: branch at 3, target after `pad` nops.
            let mut a = Asm::new();
            a.bytes(&[0x90; 3]);
            let l = a.new_label();
            assert_eq!(a.label_offset(l), None);
            branch(&mut a, l);
            a.bytes(&vec![0x90; pad]);
            a.bind(l);
            let target = a.label_offset(l).expect("bound");
            assert_eq!(target as usize, 3 + len + pad);
            a.ret();
            let code = a.finish();
            let ins = decode_all(&code);
            assert_eq!(ins[3].mnemonic(), mn);
            assert_eq!(ins[3].len(), len, "branches must be rel32, no relaxation");
            assert_eq!(
                ins[3].near_branch_target(),
                u64::from(target),
                "forward {mn:?} pad {pad}"
            );
            c.n += 1;

            // Backward: target at 2, branch after `pad` nops.
            let mut a = Asm::new();
            a.bytes(&[0x90; 2]);
            let l = a.new_label();
            a.bind(l);
            a.bytes(&vec![0x90; pad]);
            let at = a.offset() as usize;
            branch(&mut a, l);
            let code = a.finish();
            let all = decode_all(&code);
            let last = all.last().expect("one instruction");
            assert_eq!(last.ip(), at as u64, "the branch is the last instruction");
            assert_eq!(last.mnemonic(), mn);
            assert_eq!(last.len(), len);
            assert_eq!(last.near_branch_target(), 2, "backward {mn:?} pad {pad}");
            c.n += 1;
        }
    }

    // The rel8 forms, forward and backward, to the ends of their reach.
    for (pad, back) in [
        (0usize, false),
        (1, false),
        (127, false),
        (0, true),
        (1, true),
        (126, true),
    ] {
        for cc in [None].into_iter().chain(CONDS.into_iter().map(Some)) {
            let mn = cc.map_or(Mnemonic::Jmp, |cc| cond_mnemonics(cc).0);
            let branch = |a: &mut Asm, l: Label| match cc {
                Some(cc) => a.jcc8(cc, l),
                None => a.jmp8(l),
            };
            let mut a = Asm::new();
            a.bytes(&[0x90; 3]);
            let l = a.new_label();
            let at;
            if back {
                a.bind(l);
                a.bytes(&vec![0x90; pad]);
                at = a.offset();
                branch(&mut a, l);
            } else {
                at = a.offset();
                branch(&mut a, l);
                a.bytes(&vec![0x90; pad]);
                a.bind(l);
            }
            a.ret();
            let target = a.label_offset(l).expect("bound");
            let ins = decode_all(&a.finish())
                .into_iter()
                .find(|i| i.ip() == u64::from(at))
                .expect("the branch decodes");
            assert_eq!(ins.mnemonic(), mn);
            assert_eq!(ins.len(), 2, "{mn:?} rel8");
            assert_eq!(
                ins.near_branch_target(),
                u64::from(target),
                "{mn:?} pad {pad} back {back}"
            );
            c.n += 1;
        }
    }
    // Out of reach is a bug in the caller, caught when the label is resolved.
    let far = std::panic::catch_unwind(|| {
        let mut a = Asm::new();
        let l = a.new_label();
        a.jmp8(l);
        a.bytes(&[0x90; 128]);
        a.bind(l);
        a.finish()
    });
    assert!(far.is_err(), "a rel8 branch past 127 bytes must panic");

    // A function with many labels, branches in both directions, resolved at once.
    let mut a = Asm::new();
    let ls: Vec<Label> = (0..20).map(|_| a.new_label()).collect();
    let mut expect = Vec::new(); // (branch offset, label index)
    for (i, &l) in ls.iter().enumerate() {
        if i % 2 == 0 {
            a.bind(l);
        }
        for k in [i, (i * 7 + 3) % 20, (i * 13 + 5) % 20] {
            expect.push((a.offset(), k));
            a.jcc(CONDS[k % 16], ls[k]);
            a.bytes(&vec![0x90; k * 9]);
        }
        if i % 2 == 1 {
            a.bind(l);
        }
    }
    let offsets: Vec<u32> = ls
        .iter()
        .map(|&l| a.label_offset(l).expect("all bound"))
        .collect();
    let code = a.finish();
    let mut checked = 0;
    for ins in decode_all(&code) {
        if let Some(&(_, k)) = expect.iter().find(|(at, _)| u64::from(*at) == ins.ip()) {
            assert_eq!(ins.mnemonic(), cond_mnemonics(CONDS[k % 16]).0);
            assert_eq!(
                ins.near_branch_target(),
                u64::from(offsets[k]),
                "branch at {:#x}",
                ins.ip()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, expect.len());
    c.n += checked;

    // resolve_labels keeps the assembler usable and patches in place.
    let mut a = Asm::new();
    let l = a.new_label();
    a.jmp(l);
    a.nop();
    a.bind(l);
    a.resolve_labels();
    assert_eq!(a.buf, [0xE9, 1, 0, 0, 0, 0x90]);
    let l2 = a.new_label();
    a.jcc(Cond::NE, l2);
    a.jmp(l);
    a.bind(l2);
    let code = a.finish();
    let all = decode_all(&code);
    assert_eq!(all[2].near_branch_target(), 17);
    assert_eq!(all[3].near_branch_target(), 6);
    c.n += 3;

    // call_rel32 + patch_u32, forward and backward targets.
    for (before, target) in [(0u32, 0u32), (10, 100), (100, 10), (5, 5), (0, 0x7000)] {
        let mut a = Asm::new();
        a.bytes(&vec![0x90; before as usize]);
        let field = a.call_rel32();
        assert_eq!(field, before + 1, "field follows the E8 opcode");
        a.patch_u32(field, target.wrapping_sub(field + 4));
        let code = a.finish();
        let all = decode_all(&code);
        let call = all.last().expect("call");
        assert_eq!(call.ip(), u64::from(before));
        assert_eq!(call.len(), 5);
        assert_eq!(call.mnemonic(), Mnemonic::Call);
        assert_eq!(call.near_branch_target(), u64::from(target));
        c.n += 1;
    }

    // patch_u32 writes little endian at the given offset only.
    let mut a = Asm::new();
    a.bytes(&[0xAA; 8]);
    a.patch_u32(2, 0x1234_5678);
    assert_eq!(a.buf, [0xAA, 0xAA, 0x78, 0x56, 0x34, 0x12, 0xAA, 0xAA]);

    // Jump tables: entries before and after their targets, negative values.
    let mut a = Asm::new();
    let early = a.new_label();
    a.bind(early);
    a.bytes(&[0x90; 5]);
    let base = a.new_label();
    let targets: Vec<Label> = (0..4).map(|_| a.new_label()).collect();
    a.bind(base);
    let table_at = a.offset();
    a.jump_table_entry(base, early);
    for &t in &targets {
        a.jump_table_entry(base, t);
    }
    a.jump_table_entry(base, base);
    for (i, &t) in targets.iter().enumerate() {
        a.bytes(&vec![0xCC; i * 50 + 1]);
        a.bind(t);
    }
    let base_off = a.label_offset(base).expect("bound");
    let mut want: Vec<i32> = vec![-5];
    want.extend(
        targets
            .iter()
            .map(|&t| (a.label_offset(t).expect("bound") - base_off) as i32),
    );
    want.push(0);
    let code = a.finish();
    for (i, w) in want.iter().enumerate() {
        let at = table_at as usize + 4 * i;
        let got = i32::from_le_bytes(code[at..at + 4].try_into().expect("4 bytes"));
        assert_eq!(got, *w, "jump table entry {i}");
        c.n += 1;
    }

    // lea_label: every destination, forward and backward.
    for dst in gprs() {
        for forward in [true, false] {
            let (ins, _, target) = rip_relative(|a, l| a.lea_label(dst, l), forward);
            assert_eq!(ins.mnemonic(), Mnemonic::Lea);
            assert_eq!(ins.op0_register(), g(dst, Size::S64));
            assert_eq!(ins.memory_base(), Register::RIP);
            assert_eq!(
                ins.ip_rel_memory_address(),
                u64::from(target),
                "lea {dst:?} forward={forward}"
            );
            // REX.W (with R for r8..r15) + 8D + ModRM + disp32.
            assert_eq!(ins.len(), 7);
            c.n += 1;
        }
    }
}

fn conds(c: &mut Check) {
    use Mnemonic as M;
    // The logical negation of each jump, independent of the encoding.
    let negation = |m: Mnemonic| match m {
        M::Jo => M::Jno,
        M::Jno => M::Jo,
        M::Jb => M::Jae,
        M::Jae => M::Jb,
        M::Je => M::Jne,
        M::Jne => M::Je,
        M::Jbe => M::Ja,
        M::Ja => M::Jbe,
        M::Js => M::Jns,
        M::Jns => M::Js,
        M::Jp => M::Jnp,
        M::Jnp => M::Jp,
        M::Jl => M::Jge,
        M::Jge => M::Jl,
        M::Jle => M::Jg,
        M::Jg => M::Jle,
        other => panic!("not a jcc: {other:?}"),
    };
    for cc in CONDS {
        assert_eq!(cc.invert().invert(), cc);
        assert_ne!(cc.invert(), cc);
        assert_eq!(
            cond_mnemonics(cc.invert()).0,
            negation(cond_mnemonics(cc).0),
            "{cc:?}.invert()"
        );
        c.n += 1;
    }
}

#[test]
fn encodings() {
    let mut c = Check::default();
    integer_alu(&mut c);
    integer_misc(&mut c);
    loads_and_moves(&mut c);
    sse(&mut c);
    simd(&mut c);
    simd_vex(&mut c);
    xmm_moves(&mut c);
    golden(&mut c);
    labels(&mut c);
    conds(&mut c);
    println!("encoder: {} encodings checked", c.n);
}

#[test]
#[should_panic(expected = "bound twice")]
fn bind_twice_panics() {
    let mut a = Asm::new();
    let l = a.new_label();
    a.bind(l);
    a.bind(l);
}

#[test]
#[should_panic(expected = "never bound")]
fn unbound_label_panics() {
    let mut a = Asm::new();
    let l = a.new_label();
    a.jmp(l);
    let _ = a.finish();
}

#[test]
#[should_panic(expected = "never bound")]
fn unbound_jump_table_label_panics() {
    let mut a = Asm::new();
    let base = a.new_label();
    let target = a.new_label();
    a.bind(base);
    a.jump_table_entry(base, target);
    a.resolve_labels();
}

#[test]
#[should_panic(expected = "rsp cannot be an index")]
fn rsp_index_panics() {
    let _ = Amode::base_index(regs::RAX, regs::RSP, 1, 0);
}

#[test]
fn register_constants() {
    use regs::*;
    let all = [
        RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
    ];
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.0 as usize, i);
    }
}

/// Misuse of the packed forms panics with a message naming the mistake: register
/// numbers past 15 in any operand position, and memory or RIP-relative forms of
/// the register-only ops.
#[test]
fn simd_misuse_panics() {
    use regs::*;
    fn panic_message(f: impl FnOnce(&mut Asm) + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(|| f(&mut Asm::new())).expect_err("expected a panic");
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    }
    fn m() -> Amode {
        Amode::base_disp(RAX, 0)
    }
    const X16: Xmm = Xmm(16);
    const G16: Gpr = Gpr(16);
    let out_of_range: &[fn(&mut Asm)] = &[
        |a| a.vec(VecOp::Paddb, X16, Xmm(0)),
        |a| a.vec(VecOp::Paddb, Xmm(0), X16),
        |a| a.vec_m(VecOp::Paddb, X16, m()),
        |a| a.vec_m(VecOp::Pand, Xmm(0), Amode::base_disp(G16, 0)),
        |a| a.vec_m(VecOp::Pand, Xmm(0), Amode::base_index(RAX, G16, 1, 0)),
        |a| label_use(a, VecOp::Movdqu, X16),
        |a| a.vec_imm(VecImmOp::Pshufd, X16, Xmm(0), 0),
        |a| a.vec_imm(VecImmOp::Pshufd, Xmm(0), X16, 0),
        |a| a.vec_shift_imm(VecShiftImm::Psrlq, X16, 1),
        |a| a.movdqu_store(m(), X16),
        |a| a.movdqu_store(Amode::base_disp(G16, 0), Xmm(0)),
        |a| a.movq_load(X16, m()),
        |a| a.movd_load(X16, m()),
        |a| a.pinsr(LaneSize::B, X16, RAX, 0),
        |a| a.pinsr(LaneSize::B, Xmm(0), G16, 0),
        |a| a.pinsr(LaneSize::W, Xmm(0), G16, 0),
        |a| a.pinsr(LaneSize::Q, X16, RAX, 0),
        |a| a.pextr(LaneSize::B, G16, Xmm(0), 0),
        |a| a.pextr(LaneSize::W, G16, Xmm(0), 0),
        |a| a.pextr(LaneSize::W, RAX, X16, 0),
        |a| a.pextr(LaneSize::D, RAX, X16, 0),
        |a| a.pmovmskb(G16, Xmm(0)),
        |a| a.movmskps(RAX, X16),
        |a| a.movmskpd(G16, Xmm(0)),
    ];
    for (i, &f) in out_of_range.iter().enumerate() {
        let msg = panic_message(f);
        assert!(
            msg.contains("out of range"),
            "case {i}: panic message {msg:?}"
        );
    }
    for op in [VecOp::Movlhps, VecOp::Movhlps, VecOp::Movsd] {
        for msg in [
            panic_message(|a| a.vec_m(op, Xmm(0), m())),
            panic_message(|a| label_use(a, op, Xmm(0))),
        ] {
            assert!(
                msg.contains("no memory form"),
                "{op:?}: panic message {msg:?}"
            );
        }
    }
}

/// `vec_label` with a label bound at the start of the code.
fn label_use(a: &mut Asm, op: VecOp, dst: Xmm) {
    let l = a.new_label();
    a.bind(l);
    a.vec_label(op, dst, l);
}

//! Verification of the hand-written A64 encoder (`isa::aarch64::asm`).
//!
//! Every instruction form the encoder can produce is emitted over a systematic grid of
//! operands (every register 0-31 in every position, where 31 is `sp` or the zero
//! register as the form defines it, both operand sizes, immediates and offsets at the
//! boundaries of each field) and decoded again with `yaxpeax-arm`. Each decoded word is
//! compared with the text the test *means*, written here independently of the encoder:
//! the mnemonic (the architecture's preferred alias where the decoder prints one: `mov`,
//! `cmp`, `cmn`, `tst`, `neg`, `mul`, `mneg`, `cset`, `lsl`/`lsr`/`asr`/`ror`,
//! `sxtb`/`uxtb`, `ubfx`/`ubfiz`, ...) and every operand. Where the decoder's text is
//! lossy (it drops `uxtw`/`uxtx` from the extended-register form, the `S` bit of byte
//! register-offset accesses, the shift of a zero `movz`/`movn` immediate) the word's
//! fields are checked directly as well.
//!
//! On top of that: the logical-immediate encoder against every valid bitmask pattern
//! and random non-patterns, `mov_imm` by evaluating the emitted sequence and checking
//! its length is the fewest the method's strategy allows, label fixups forward and
//! backward up to and past each form's range, a table of words checked by hand against
//! GNU objdump, and that misuse panics.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use wasmprecomp_codegen::isa::aarch64::asm::*;
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::InstDecoder;

// ---------------------------------------------------------------------------
// Operand grids

const SIZES: [Size; 2] = [Size::S32, Size::S64];
const FSIZES: [FSize; 2] = [FSize::S, FSize::D];

const ALU_OPS: [AluOp; 8] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Subs,
    AluOp::Adds,
    AluOp::And,
    AluOp::Orr,
    AluOp::Eor,
    AluOp::Ands,
];
const ARITH_OPS: [AluOp; 4] = [AluOp::Add, AluOp::Sub, AluOp::Subs, AluOp::Adds];
const LOGIC_OPS: [AluOp; 4] = [AluOp::And, AluOp::Orr, AluOp::Eor, AluOp::Ands];

const SHIFT_OPS: [ShiftOp; 4] = [ShiftOp::Lsl, ShiftOp::Lsr, ShiftOp::Asr, ShiftOp::Ror];
const EXTENDS: [Extend; 3] = [Extend::Uxtw, Extend::Lsl, Extend::Sxtw];

const CONDS: [Cond; 14] = [
    Cond::Eq,
    Cond::Ne,
    Cond::Hs,
    Cond::Lo,
    Cond::Mi,
    Cond::Pl,
    Cond::Vs,
    Cond::Vc,
    Cond::Hi,
    Cond::Ls,
    Cond::Ge,
    Cond::Lt,
    Cond::Gt,
    Cond::Le,
];

const MEM_OPS: [MemOp; 19] = [
    MemOp::Str8,
    MemOp::Str16,
    MemOp::Str32,
    MemOp::Str64,
    MemOp::Ldr8,
    MemOp::Ldr16,
    MemOp::Ldr32,
    MemOp::Ldr64,
    MemOp::Ldrsb32,
    MemOp::Ldrsh32,
    MemOp::Ldrsb64,
    MemOp::Ldrsh64,
    MemOp::Ldrsw,
    MemOp::StrS,
    MemOp::StrD,
    MemOp::StrQ,
    MemOp::LdrS,
    MemOp::LdrD,
    MemOp::LdrQ,
];

const FBIN_OPS: [FBinOp; 6] = [
    FBinOp::Add,
    FBinOp::Sub,
    FBinOp::Mul,
    FBinOp::Div,
    FBinOp::Max,
    FBinOp::Min,
];
const FUN_OPS: [FUnOp; 8] = [
    FUnOp::Mov,
    FUnOp::Abs,
    FUnOp::Neg,
    FUnOp::Sqrt,
    FUnOp::RintN,
    FUnOp::RintP,
    FUnOp::RintM,
    FUnOp::RintZ,
];

/// Every ordered pair of registers 0-31.
fn pairs() -> impl Iterator<Item = (u8, u8)> {
    (0..32u8).flat_map(|i| (0..32u8).map(move |j| (i, j)))
}

/// Every ordered pair of registers for the first two positions, the third one varying
/// through all 32 along the way.
fn triples() -> impl Iterator<Item = (u8, u8, u8)> {
    pairs().map(|(i, j)| (i, j, (i + 2 * j + 1) % 32))
}

/// `triples` with a fourth register varying independently.
fn quads() -> impl Iterator<Item = (u8, u8, u8, u8)> {
    triples().map(|(i, j, k)| (i, j, k, (3 * i + j + 7) % 32))
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

// ---------------------------------------------------------------------------
// What the test expects, written independently of the encoder

fn bits(s: Size) -> u32 {
    match s {
        Size::S32 => 32,
        Size::S64 => 64,
    }
}

fn mask(s: Size) -> u64 {
    match s {
        Size::S32 => 0xffff_ffff,
        Size::S64 => u64::MAX,
    }
}

/// A general register where 31 is the zero register.
fn gz(s: Size, r: u8) -> String {
    match (s, r) {
        (Size::S32, 31) => "wzr".into(),
        (Size::S64, 31) => "xzr".into(),
        (Size::S32, r) => format!("w{r}"),
        (Size::S64, r) => format!("x{r}"),
    }
}

/// A general register where 31 is the stack pointer.
fn gs(s: Size, r: u8) -> String {
    match (s, r) {
        (Size::S32, 31) => "wsp".into(),
        (Size::S64, 31) => "sp".into(),
        _ => gz(s, r),
    }
}

fn x(r: u8) -> String {
    gz(Size::S64, r)
}

fn xs(r: u8) -> String {
    gs(Size::S64, r)
}

fn fr(s: FSize, r: u8) -> String {
    match s {
        FSize::S => format!("s{r}"),
        FSize::D => format!("d{r}"),
    }
}

/// An immediate as the decoder prints it.
fn h(v: u64) -> String {
    format!("#{v:#x}")
}

/// A signed immediate as the decoder prints it.
fn hs(v: i64) -> String {
    if v < 0 {
        format!("#-{:#x}", v.unsigned_abs())
    } else {
        format!("#{v:#x}")
    }
}

/// A branch target relative to the instruction.
fn rel(v: i64) -> String {
    if v < 0 {
        format!("$-{:#x}", v.unsigned_abs())
    } else {
        format!("$+{v:#x}")
    }
}

fn cond_name(c: Cond) -> &'static str {
    // The decoder prints `hs`/`lo` where objdump prints `cs`/`cc`: the same codes.
    [
        "eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le",
    ][c as usize]
}

fn shift_name(s: ShiftOp) -> &'static str {
    match s {
        ShiftOp::Lsl => "lsl",
        ShiftOp::Lsr => "lsr",
        ShiftOp::Asr => "asr",
        ShiftOp::Ror => "ror",
    }
}

fn field(w: u32, lo: u32, width: u32) -> u32 {
    (w >> lo) & ((1 << width) - 1)
}

// ---------------------------------------------------------------------------
// The checker

fn dis(w: u32) -> String {
    let bytes = w.to_le_bytes();
    let mut reader = U8Reader::new(&bytes);
    match InstDecoder::default().decode(&mut reader) {
        Ok(inst) => format!("{inst}"),
        Err(e) => panic!("word {w:#010x} does not decode: {e:?}"),
    }
}

/// Runs `f` on a fresh assembler and returns the resolved words.
fn emit_words(f: impl FnOnce(&mut Asm)) -> Vec<u32> {
    let mut a = Asm::new();
    f(&mut a);
    let code = a.finish().expect("in range");
    assert_eq!(code.len() % 4, 0);
    code.chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Runs `f` on a fresh assembler and returns the one word it emitted.
fn emit(f: impl FnOnce(&mut Asm)) -> u32 {
    let words = emit_words(f);
    assert_eq!(words.len(), 1, "expected one instruction, got {words:08x?}");
    words[0]
}

/// Whether `f` panics on a fresh assembler (including when resolving it).
fn panics(f: impl FnOnce(&mut Asm)) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        let mut a = Asm::new();
        f(&mut a);
        let _ = a.finish();
    }))
    .is_err()
}

/// Counts checked encodings.
#[derive(Default)]
struct Check {
    n: usize,
}

impl Check {
    /// Emits one instruction with `f` and compares its disassembly with `want`.
    fn one(&mut self, f: impl FnOnce(&mut Asm), want: &str) -> u32 {
        let w = emit(f);
        self.word(w, want);
        w
    }

    fn word(&mut self, w: u32, want: &str) {
        let got = dis(w);
        assert_eq!(got, want, "word {w:#010x}");
        self.n += 1;
    }
}

// ---------------------------------------------------------------------------
// Integer arithmetic and logic

fn alu_rrr_text(op: AluOp, s: Size, rd: u8, rn: u8, rm: u8, sh: ShiftOp, amt: u8) -> String {
    let (d, n, m) = (gz(s, rd), gz(s, rn), gz(s, rm));
    // yaxpeax-arm quirk: a zero amount of `lsr`/`asr`/`ror` prints without it
    // (`add w0, w1, w2, lsr`; objdump: `lsr #0`). The amount field is checked by the
    // caller.
    let shift = match (sh, amt) {
        (ShiftOp::Lsl, 0) => String::new(),
        (_, 0) => format!(", {}", shift_name(sh)),
        _ => format!(", {} #{amt}", shift_name(sh)),
    };
    match op {
        AluOp::Add => format!("add {d}, {n}, {m}{shift}"),
        AluOp::Adds if rd == 31 => format!("cmn {n}, {m}{shift}"),
        AluOp::Adds => format!("adds {d}, {n}, {m}{shift}"),
        AluOp::Sub if rn == 31 => format!("neg {d}, {m}{shift}"),
        AluOp::Sub => format!("sub {d}, {n}, {m}{shift}"),
        AluOp::Subs if rd == 31 => format!("cmp {n}, {m}{shift}"),
        AluOp::Subs if rn == 31 => format!("negs {d}, {m}{shift}"),
        AluOp::Subs => format!("subs {d}, {n}, {m}{shift}"),
        AluOp::And => format!("and {d}, {n}, {m}{shift}"),
        AluOp::Orr if rn == 31 && shift.is_empty() => format!("mov {d}, {m}"),
        AluOp::Orr => format!("orr {d}, {n}, {m}{shift}"),
        AluOp::Eor => format!("eor {d}, {n}, {m}{shift}"),
        AluOp::Ands if rd == 31 => format!("tst {n}, {m}{shift}"),
        AluOp::Ands => format!("ands {d}, {n}, {m}{shift}"),
    }
}

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Subs => "subs",
        AluOp::Adds => "adds",
        AluOp::And => "and",
        AluOp::Orr => "orr",
        AluOp::Eor => "eor",
        AluOp::Ands => "ands",
    }
}

fn sets_flags(op: AluOp) -> bool {
    matches!(op, AluOp::Adds | AluOp::Subs | AluOp::Ands)
}

#[test]
fn alu_register_forms() {
    let mut c = Check::default();
    for op in ALU_OPS {
        for s in SIZES {
            for (rd, rn, rm) in triples() {
                c.one(
                    |a| a.alu_rrr(op, s, Gpr(rd), Gpr(rn), Gpr(rm)),
                    &alu_rrr_text(op, s, rd, rn, rm, ShiftOp::Lsl, 0),
                );
            }
            for sh in SHIFT_OPS {
                if sh == ShiftOp::Ror && !LOGIC_OPS.contains(&op) {
                    continue;
                }
                for amt in 0..bits(s) as u8 {
                    let (rd, rn, rm) = (amt % 31, (amt + 1) % 31, (amt + 2) % 32);
                    let w = c.one(
                        |a| a.alu_rrr_shift(op, s, Gpr(rd), Gpr(rn), Gpr(rm), sh, amt),
                        &alu_rrr_text(op, s, rd, rn, rm, sh, amt),
                    );
                    assert_eq!(field(w, 22, 2), sh as u32, "{w:#010x}");
                    assert_eq!(field(w, 10, 6), u32::from(amt), "{w:#010x}");
                    assert_eq!(field(w, 21, 1), 0, "{w:#010x}");
                }
            }
        }
    }
    // mov between general registers: register 31 is the zero register.
    for s in SIZES {
        for (rd, rm) in pairs() {
            c.one(
                |a| a.mov(s, Gpr(rd), Gpr(rm)),
                &format!("mov {}, {}", gz(s, rd), gz(s, rm)),
            );
        }
    }
    println!("{} register-form encodings", c.n);
}

#[test]
fn alu_extended_register() {
    let mut c = Check::default();
    for op in ARITH_OPS {
        for ext in EXTENDS {
            for (rd, rn, rm) in triples() {
                let w = c.one(|a| a.alu_ext(op, Gpr(rd), Gpr(rn), Gpr(rm), ext), &{
                    // The destination is sp only when flags are not set; the first
                    // source is always sp-capable.
                    let d = if sets_flags(op) { x(rd) } else { xs(rd) };
                    let n = xs(rn);
                    let m = match ext {
                        Extend::Lsl => x(rm),
                        _ => gz(Size::S32, rm),
                    };
                    // yaxpeax-arm quirk: the decoder drops `uxtw` and `uxtx` from the
                    // extended-register form (objdump: `add x0, x1, w2, uxtw`,
                    // `add x0, x1, x2, uxtx`), printing only `sxtw`. The option field
                    // is checked below.
                    let e = if ext == Extend::Sxtw { ", sxtw" } else { "" };
                    match op {
                        AluOp::Adds if rd == 31 => format!("cmn {n}, {m}{e}"),
                        AluOp::Subs if rd == 31 => format!("cmp {n}, {m}{e}"),
                        _ => format!("{} {d}, {n}, {m}{e}", alu_name(op)),
                    }
                });
                // sf=1, the extended-register form (bit 21), the option, no left shift.
                assert_eq!(field(w, 31, 1), 1, "{w:#010x}");
                assert_eq!(field(w, 21, 8), 0b0101_1001, "{w:#010x}");
                assert_eq!(field(w, 13, 3), ext as u32, "{w:#010x}");
                assert_eq!(field(w, 10, 3), 0, "{w:#010x}");
                assert_eq!(field(w, 16, 5), u32::from(rm), "{w:#010x}");
                assert_eq!(field(w, 5, 5), u32::from(rn), "{w:#010x}");
                assert_eq!(field(w, 0, 5), u32::from(rd), "{w:#010x}");
                let op_s = match op {
                    AluOp::Add => 0b00,
                    AluOp::Adds => 0b01,
                    AluOp::Sub => 0b10,
                    _ => 0b11,
                };
                assert_eq!(field(w, 29, 2), op_s, "{w:#010x}");
            }
        }
    }
    println!("{} extended-register encodings", c.n);
}

/// `add`/`sub` immediates: each end of the unshifted and the shifted field.
const ADD_IMMS: [u64; 12] = [
    0, 1, 2, 0x7ff, 0x800, 0xffe, 0xfff, 0x1000, 0x2000, 0x7ff000, 0xffe000, 0xfff000,
];

#[test]
fn alu_add_immediates() {
    let mut c = Check::default();
    for imm in ADD_IMMS {
        assert!(add_imm_fits(imm), "{imm:#x}");
    }
    for imm in [
        0x1001u64,
        0x1fff,
        0xfff001,
        0x100_0000,
        0x100_1000,
        u64::MAX,
    ] {
        assert!(!add_imm_fits(imm), "{imm:#x}");
    }
    for op in ARITH_OPS {
        for s in SIZES {
            for (k, (rd, rn)) in pairs().enumerate() {
                for (i, &imm) in ADD_IMMS.iter().enumerate() {
                    // Every register pair with a few immediates, every immediate with a
                    // few register pairs.
                    if (k + i) % 4 != 0 && rd % 15 != 0 {
                        continue;
                    }
                    let d = if sets_flags(op) { gz(s, rd) } else { gs(s, rd) };
                    let n = gs(s, rn);
                    let im = if imm < 0x1000 {
                        h(imm)
                    } else {
                        format!("{}, lsl #12", h(imm >> 12))
                    };
                    let want = match op {
                        AluOp::Add if imm == 0 && (rd == 31 || rn == 31) => {
                            format!("mov {d}, {n}")
                        }
                        AluOp::Adds if rd == 31 => format!("cmn {n}, {im}"),
                        AluOp::Subs if rd == 31 => format!("cmp {n}, {im}"),
                        _ => format!("{} {d}, {n}, {im}", alu_name(op)),
                    };
                    c.one(|a| a.alu_ri(op, s, Gpr(rd), Gpr(rn), imm), &want);
                }
            }
        }
    }
    // mov to and from sp is `add rd, rn, #0`.
    for (rd, rn) in pairs() {
        let want = if rd == 31 || rn == 31 {
            format!("mov {}, {}", xs(rd), xs(rn))
        } else {
            format!("add {}, {}, #0x0", xs(rd), xs(rn))
        };
        c.one(|a| a.mov_sp(Gpr(rd), Gpr(rn)), &want);
    }
    println!("{} add-immediate encodings", c.n);
}

// ---------------------------------------------------------------------------
// Logical immediates

/// Every valid bitmask immediate at `size`, with its `N:immr:imms` field, built from
/// the definition: an element of 2, 4, ..., 64 bits holding a run of 1 to e-1 ones
/// rotated right by 0 to e-1, replicated.
fn bitmask_patterns(size: Size) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    let width = bits(size);
    for e in [2u32, 4, 8, 16, 32, 64] {
        if e > width {
            continue;
        }
        let emask = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
        // The high bits of imms that name the element size.
        let prefix = match e {
            64 | 32 => 0b00_0000,
            16 => 0b10_0000,
            8 => 0b11_0000,
            4 => 0b11_1000,
            _ => 0b11_1100,
        };
        for ones in 1..e {
            let run = (1u64 << ones) - 1;
            for rot in 0..e {
                let elem = if rot == 0 {
                    run
                } else {
                    ((run >> rot) | (run << (e - rot))) & emask
                };
                let mut v = 0u64;
                let mut i = 0;
                while i < width {
                    v |= elem << i;
                    i += e;
                }
                let n = u32::from(e == 64);
                let enc = (n << 12) | (rot << 6) | prefix | (ones - 1);
                out.push((v, enc));
            }
        }
    }
    out
}

/// The architecture's DecodeBitMasks, for the value an `N:immr:imms` field stands for.
fn decode_bitmask(enc: u32, size: Size) -> Option<u64> {
    let n = (enc >> 12) & 1;
    let immr = (enc >> 6) & 0x3f;
    let imms = enc & 0x3f;
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    if len < 1 || (size == Size::S32 && n == 1) {
        return None;
    }
    let e = 1u32 << len;
    let levels = e - 1;
    let s = imms & levels;
    let r = immr & levels;
    if s == levels {
        return None;
    }
    let emask = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
    let welem = (1u64 << (s + 1)) - 1;
    let elem = if r == 0 {
        welem
    } else {
        ((welem >> r) | (welem << (e - r))) & emask
    };
    let mut v = 0u64;
    let mut i = 0;
    while i < bits(size) {
        v |= elem << i;
        i += e;
    }
    Some(v)
}

#[test]
fn logical_immediates_exhaustive() {
    let mut c = Check::default();
    for size in SIZES {
        let patterns = bitmask_patterns(size);
        let set: HashSet<u64> = patterns.iter().map(|p| p.0).collect();
        // The well-known counts: 5334 64-bit and 1302 32-bit bitmask immediates, each
        // with exactly one encoding.
        let want = if size == Size::S64 { 5334 } else { 1302 };
        assert_eq!(patterns.len(), want);
        assert_eq!(set.len(), want);
        for &(v, enc) in &patterns {
            assert_eq!(decode_bitmask(enc, size), Some(v), "reference {enc:#x}");
            assert_eq!(logical_imm(v, size), Some(enc), "{size:?} {v:#x}");
        }
        // Every other field value that decodes names one of the patterns (so the list
        // is complete).
        for enc in 0..(1u32 << 13) {
            if let Some(v) = decode_bitmask(enc, size) {
                assert!(set.contains(&v), "{enc:#x} decodes to {v:#x}");
            }
        }
        // Refused: zero, all ones, and random values that are not patterns.
        assert_eq!(logical_imm(0, size), None);
        assert_eq!(logical_imm(mask(size), size), None);
        let mut rng = Rng(0x1234_5678 + bits(size) as u64);
        let mut refused = 0;
        for i in 0..200_000 {
            let mut v = rng.next() & mask(size);
            if i % 2 == 1 {
                // Sparser values, nearer to runs.
                v &= rng.next() & rng.next();
            }
            let got = logical_imm(v, size);
            if set.contains(&v) {
                assert!(got.is_some(), "{size:?} {v:#x}");
            } else {
                assert_eq!(got, None, "{size:?} {v:#x}");
                refused += 1;
            }
        }
        assert!(refused > 100_000);
        // Near misses: a pattern with one bit flipped is never a pattern unless the
        // reference says so.
        for &(v, _) in patterns.iter().step_by(7) {
            for b in 0..bits(size) {
                let w = v ^ (1 << b);
                assert_eq!(logical_imm(w, size).is_some(), set.contains(&w), "{w:#x}");
            }
        }
        if size == Size::S64 {
            // A 32-bit pattern in the low half with a different high half is not a
            // 64-bit pattern.
            assert!(logical_imm(0x0000_0000_0000_00ff, Size::S64).is_some());
            assert!(logical_imm(0x0000_00ff_0000_00ff, Size::S64).is_some());
            assert_eq!(logical_imm(0x0000_0f0f_0000_00ff, Size::S64), None);
        }

        // Every pattern through every logical operation, decoded.
        for (k, &(v, _)) in patterns.iter().enumerate() {
            let op = LOGIC_OPS[k % 4];
            let rd = (k % 32) as u8;
            let rn = ((k / 32) % 32) as u8;
            let d = if op == AluOp::Ands {
                gz(size, rd)
            } else {
                gs(size, rd)
            };
            let n = gz(size, rn);
            let want = match op {
                AluOp::Ands if rd == 31 => format!("tst {n}, {}", h(v)),
                // yaxpeax-arm prints `mov` for every `orr` from the zero register;
                // objdump keeps `orr` where a `movz`/`movn` could load the value.
                AluOp::Orr if rn == 31 => format!("mov {d}, {}", h(v)),
                _ => format!("{} {d}, {n}, {}", alu_name(op), h(v)),
            };
            c.one(|a| a.alu_ri(op, size, Gpr(rd), Gpr(rn), v), &want);
        }
    }
    println!("{} logical-immediate encodings", c.n);
}

// ---------------------------------------------------------------------------
// Moves of immediates

#[test]
fn move_wide() {
    let mut c = Check::default();
    for s in SIZES {
        for hw in 0..(bits(s) / 16) as u8 {
            for (k, imm) in [0u16, 1, 0x1234, 0x8000, 0xfffe, 0xffff]
                .into_iter()
                .enumerate()
            {
                for rd in 0..32u8 {
                    if !(rd as usize + k).is_multiple_of(3) && rd != 31 {
                        continue;
                    }
                    let shifted = (u64::from(imm) << (16 * hw)) & mask(s);
                    // yaxpeax-arm prints `movz`/`movn` as `mov` with the value, even
                    // where the architecture prefers `movz`/`movn` (a zero immediate
                    // with a shift; objdump: `movz x0, #0x0, lsl #16`): the shift is
                    // checked in the word below.
                    let z = c.one(
                        |a| a.movz(s, Gpr(rd), imm, hw),
                        &format!("mov {}, {}", gz(s, rd), h(shifted)),
                    );
                    let n = c.one(
                        |a| a.movn(s, Gpr(rd), imm, hw),
                        &format!("mov {}, {}", gz(s, rd), h(!shifted & mask(s))),
                    );
                    let lsl = if hw == 0 {
                        String::new()
                    } else {
                        format!(", lsl #{}", 16 * hw)
                    };
                    let k = c.one(
                        |a| a.movk(s, Gpr(rd), imm, hw),
                        &format!("movk {}, {}{lsl}", gz(s, rd), h(imm.into())),
                    );
                    for (w, opc) in [(z, 0b10), (n, 0b00), (k, 0b11)] {
                        assert_eq!(field(w, 31, 1), u32::from(s == Size::S64), "{w:#010x}");
                        assert_eq!(field(w, 29, 2), opc, "{w:#010x}");
                        assert_eq!(field(w, 23, 6), 0b100101, "{w:#010x}");
                        assert_eq!(field(w, 21, 2), u32::from(hw), "{w:#010x}");
                        assert_eq!(field(w, 5, 16), u32::from(imm), "{w:#010x}");
                        assert_eq!(field(w, 0, 5), u32::from(rd), "{w:#010x}");
                    }
                }
            }
        }
    }
    println!("{} move-wide encodings", c.n);
}

/// Evaluates a sequence of `movz`/`movn`/`movk`/`orr rd, zr, #imm` words on a register
/// file, from the fields of each word.
fn run_moves(words: &[u32], regs: &mut [u64; 32]) {
    for &w in words {
        let sf = field(w, 31, 1) == 1;
        let rd = field(w, 0, 5) as usize;
        let size = if sf { Size::S64 } else { Size::S32 };
        let wmask = mask(size);
        if field(w, 23, 6) == 0b100101 {
            let hw = field(w, 21, 2);
            let imm = u64::from(field(w, 5, 16)) << (16 * hw);
            assert!(sf || hw < 2, "{w:#010x}");
            let v = match field(w, 29, 2) {
                0b00 => !imm & wmask,
                0b10 => imm,
                0b11 => (regs[rd] & !(0xffffu64 << (16 * hw))) | imm,
                _ => panic!("not a move-wide: {w:#010x}"),
            };
            regs[rd] = v & wmask;
        } else if field(w, 23, 6) == 0b100100 && field(w, 29, 2) == 0b01 {
            assert_eq!(field(w, 5, 5), 31, "orr from a register: {w:#010x}");
            let enc = field(w, 10, 13);
            let v = decode_bitmask(enc, size).expect("valid bitmask");
            regs[rd] = v;
        } else {
            panic!("not a move: {w:#010x} ({})", dis(w));
        }
    }
}

/// The fewest words `mov_imm`'s strategy can take: one logical immediate, or one
/// `movz` and a `movk` per other non-zero chunk, or one `movn` and a `movk` per other
/// chunk that is not all ones; for a 64-bit value whose upper half is zero, also any
/// of these at 32 bits (a 32-bit write zeroes the upper half).
fn fewest(v: u64, s: Size, p64: &HashSet<u64>, p32: &HashSet<u64>) -> usize {
    let patterns = if s == Size::S64 { p64 } else { p32 };
    if patterns.contains(&v) {
        return 1;
    }
    let chunks: Vec<u64> = (0..bits(s) / 16)
        .map(|i| (v >> (16 * i)) & 0xffff)
        .collect();
    let nz = chunks.iter().filter(|&&c| c != 0).count().max(1);
    let nf = chunks.iter().filter(|&&c| c != 0xffff).count().max(1);
    let n = nz.min(nf);
    if s == Size::S64 && v >> 32 == 0 {
        n.min(fewest(v, Size::S32, p64, p32))
    } else {
        n
    }
}

#[test]
fn mov_imm_sequences() {
    let mut values: Vec<u64> = vec![
        0,
        1,
        u64::MAX,
        u64::MAX - 1,
        0xffff,
        0x1_0000,
        0xffff_0000,
        0xffff_ffff,
        0x1_0000_0000,
        0x8000_0000,
        0x7fff_ffff,
        0xffff_ffff_8000_0000,
        0xffff_ffff_7fff_ffff,
        0x8000_0000_0000_0000,
        0x7fff_ffff_ffff_ffff,
        0x0000_ffff_0000_ffff,
        0xffff_0000_ffff_0000,
        0x1234_5678_9abc_def0,
        0xfedc_ba98_7654_3210,
        0xffff_1234_ffff_5678,
        0x0000_1234_0000_5678,
        0x1234_ffff_ffff_ffff,
        0xffff_ffff_ffff_1234,
        0x1234_0000_0000_0000,
        0x5555_5555_5555_5555,
        0x5555_5555_5555_5554,
        0x0f0f_0f0f_0f0f_0f0f,
        0x0000_0000_0000_fffe,
        0xffff_fffe_ffff_ffff,
        0x0001_0001_0001_0001,
        0xffff_0000_0000_ffff,
        0x0000_ffff_ffff_0000,
        // Upper half zero: one 32-bit `movn` or logical immediate.
        0x0000_0000_ffff_1234,
        0x0000_0000_1234_ffff,
        0x0000_0000_f0f0_f0f0,
        0x0000_0000_8000_0001,
        0x0000_0000_ffff_fffe,
        3 << 62,
        (1 << 48) - 1,
    ];
    for b in 0..64 {
        values.push(1 << b);
        values.push(!(1u64 << b));
        values.push((1u64 << b).wrapping_sub(1));
    }
    for i in 0..4 {
        for c in [0u64, 1, 0x1234, 0x8000, 0xfffe, 0xffff] {
            values.push(c << (16 * i));
            values.push(!(c << (16 * i)));
        }
    }
    let mut rng = Rng(0xdead_beef);
    for _ in 0..4000 {
        let mut v = 0u64;
        for i in 0..4 {
            let c = match rng.next() % 4 {
                0 => 0,
                1 => 0xffff,
                _ => rng.next() & 0xffff,
            };
            v |= c << (16 * i);
        }
        values.push(v);
        values.push(rng.next());
    }
    let p64: HashSet<u64> = bitmask_patterns(Size::S64)
        .into_iter()
        .map(|p| p.0)
        .collect();
    let p32: HashSet<u64> = bitmask_patterns(Size::S32)
        .into_iter()
        .map(|p| p.0)
        .collect();
    values.extend(p64.iter().copied());
    values.extend(p32.iter().copied());
    values.extend(p32.iter().map(|v| v | 0xdead_0000_0000_0000));

    let mut n = 0;
    for s in SIZES {
        for (k, &v) in values.iter().enumerate() {
            // Register 31 is excluded: `orr` would write sp, `movz` the zero register.
            let rd = (k % 31) as u8;
            let words = emit_words(|a| a.mov_imm(s, Gpr(rd), v));
            let want = v & mask(s);
            let mut regs = [0x0bad_c0de_0bad_c0de_u64; 32];
            run_moves(&words, &mut regs);
            assert_eq!(
                regs[rd as usize], want,
                "{s:?} {v:#x}: {words:08x?} loads {:#x}",
                regs[rd as usize]
            );
            for (i, r) in regs.iter().enumerate() {
                if i != rd as usize {
                    assert_eq!(*r, 0x0bad_c0de_0bad_c0de, "{v:#x} wrote x{i}");
                }
            }
            assert_eq!(
                words.len(),
                fewest(want, s, &p64, &p32),
                "{s:?} {v:#x}: {words:08x?} is not minimal"
            );
            for &w in &words {
                let t = dis(w);
                assert!(
                    t.starts_with("mov ") || t.starts_with("movk "),
                    "{w:#010x}: {t}"
                );
            }
            n += 1;
        }
    }
    println!("{n} mov_imm values");
}

// ---------------------------------------------------------------------------
// Multiply, divide, shifts, bitfields, conditional select

/// The preferred disassembly of `ubfm`/`sbfm rd, rn, #immr, #imms`.
fn bfm_text(signed: bool, s: Size, rd: u8, rn: u8, immr: u8, imms: u8) -> String {
    let w = bits(s) as u8;
    let (d, n) = (gz(s, rd), gz(s, rn));
    let hx = |v: u8| h(v.into());
    if !signed {
        if s == Size::S32 && immr == 0 && imms == 7 {
            return format!("uxtb {d}, {n}");
        }
        if s == Size::S32 && immr == 0 && imms == 15 {
            return format!("uxth {d}, {n}");
        }
        if imms == w - 1 {
            return format!("lsr {d}, {n}, {}", hx(immr));
        }
        if imms + 1 == immr {
            return format!("lsl {d}, {n}, {}", hx(w - 1 - imms));
        }
        if imms < immr {
            return format!("ubfiz {d}, {n}, {}, {}", hx(w - immr), hx(imms + 1));
        }
        format!("ubfx {d}, {n}, {}, {}", hx(immr), hx(imms - immr + 1))
    } else {
        if imms == w - 1 {
            return format!("asr {d}, {n}, {}", hx(immr));
        }
        let wn = gz(Size::S32, rn);
        if immr == 0 && imms == 7 {
            return format!("sxtb {d}, {wn}");
        }
        if immr == 0 && imms == 15 {
            return format!("sxth {d}, {wn}");
        }
        if immr == 0 && imms == 31 && s == Size::S64 {
            return format!("sxtw {d}, {wn}");
        }
        if imms < immr {
            return format!("sbfiz {d}, {n}, {}, {}", hx(w - immr), hx(imms + 1));
        }
        format!("sbfx {d}, {n}, {}, {}", hx(immr), hx(imms - immr + 1))
    }
}

#[test]
fn multiply_divide_shift() {
    let mut c = Check::default();
    for s in SIZES {
        for (rd, rn, rm, ra) in quads() {
            let (d, n, m, a_) = (gz(s, rd), gz(s, rn), gz(s, rm), gz(s, ra));
            let want = if ra == 31 {
                format!("mul {d}, {n}, {m}")
            } else {
                format!("madd {d}, {n}, {m}, {a_}")
            };
            c.one(|a| a.madd(s, Gpr(rd), Gpr(rn), Gpr(rm), Gpr(ra)), &want);
            let want = if ra == 31 {
                format!("mneg {d}, {n}, {m}")
            } else {
                format!("msub {d}, {n}, {m}, {a_}")
            };
            c.one(|a| a.msub(s, Gpr(rd), Gpr(rn), Gpr(rm), Gpr(ra)), &want);
        }
        for (rd, rn, rm) in triples() {
            let (d, n, m) = (gz(s, rd), gz(s, rn), gz(s, rm));
            c.one(
                |a| a.div(s, true, Gpr(rd), Gpr(rn), Gpr(rm)),
                &format!("sdiv {d}, {n}, {m}"),
            );
            c.one(
                |a| a.div(s, false, Gpr(rd), Gpr(rn), Gpr(rm)),
                &format!("udiv {d}, {n}, {m}"),
            );
            for op in SHIFT_OPS {
                c.one(
                    |a| a.shift_rr(op, s, Gpr(rd), Gpr(rn), Gpr(rm)),
                    &format!("{} {d}, {n}, {m}", shift_name(op)),
                );
            }
        }
        // Shifts by an immediate: every count, registers rotating.
        for op in SHIFT_OPS {
            for count in 0..bits(s) as u8 {
                let (rd, rn) = (count % 32, ((u32::from(count) * 7 + 3) % 32) as u8);
                let (d, n) = (gz(s, rd), gz(s, rn));
                let want = match op {
                    // `lsl #0` is `ubfm rd, rn, #0, #w-1`, whose preferred form is
                    // `lsr #0` (objdump agrees).
                    ShiftOp::Lsl if count == 0 => format!("lsr {d}, {n}, #0x0"),
                    _ => format!("{} {d}, {n}, {}", shift_name(op), h(count.into())),
                };
                c.one(|a| a.shift_ri(op, s, Gpr(rd), Gpr(rn), count), &want);
            }
        }
        // Bitfield moves: every immr × imms.
        for signed in [false, true] {
            for immr in 0..bits(s) as u8 {
                for imms in 0..bits(s) as u8 {
                    let (rd, rn) = (
                        (immr + imms) % 32,
                        ((u32::from(immr) * 3 + u32::from(imms) * 5 + 1) % 32) as u8,
                    );
                    c.one(
                        |a| a.bfm(signed, s, Gpr(rd), Gpr(rn), immr, imms),
                        &bfm_text(signed, s, rd, rn, immr, imms),
                    );
                }
            }
        }
        // extr, and ror as extr of one register.
        for lsb in 0..bits(s) as u8 {
            for (rd, rn, rm) in [(0u8, 1u8, 2u8), (31, 31, 31), (30, 7, 7), (lsb % 32, 31, 5)] {
                let (d, n, m) = (gz(s, rd), gz(s, rn), gz(s, rm));
                let want = if rn == rm {
                    format!("ror {d}, {m}, {}", h(lsb.into()))
                } else {
                    format!("extr {d}, {n}, {m}, {}", h(lsb.into()))
                };
                c.one(|a| a.extr(s, Gpr(rd), Gpr(rn), Gpr(rm), lsb), &want);
            }
        }
        for (rd, rn) in pairs() {
            let (d, n) = (gz(s, rd), gz(s, rn));
            let wn = gz(Size::S32, rn);
            c.one(|a| a.clz(s, Gpr(rd), Gpr(rn)), &format!("clz {d}, {n}"));
            c.one(|a| a.rbit(s, Gpr(rd), Gpr(rn)), &format!("rbit {d}, {n}"));
            c.one(|a| a.rev(s, Gpr(rd), Gpr(rn)), &format!("rev {d}, {n}"));
            for from in [8u8, 16, 32] {
                if u32::from(from) >= bits(s) {
                    continue;
                }
                let name = match from {
                    8 => "sxtb",
                    16 => "sxth",
                    _ => "sxtw",
                };
                c.one(
                    |a| a.sxt(s, Gpr(rd), Gpr(rn), from),
                    &format!("{name} {d}, {wn}"),
                );
            }
            if s == Size::S32 {
                c.one(|a| a.uxt(Gpr(rd), Gpr(rn), 8), &format!("uxtb {d}, {n}"));
                c.one(|a| a.uxt(Gpr(rd), Gpr(rn), 16), &format!("uxth {d}, {n}"));
            }
        }
        for (k, (rd, rn, rm)) in triples().enumerate() {
            let cond = CONDS[k % CONDS.len()];
            let (d, n, m) = (gz(s, rd), gz(s, rn), gz(s, rm));
            c.one(
                |a| a.csel(s, Gpr(rd), Gpr(rn), Gpr(rm), cond),
                &format!("csel {d}, {n}, {m}, {}", cond_name(cond)),
            );
        }
        for cond in CONDS {
            for rd in 0..32u8 {
                c.one(
                    |a| a.cset(s, Gpr(rd), cond),
                    &format!("cset {}, {}", gz(s, rd), cond_name(cond)),
                );
            }
        }
    }
    println!("{} multiply/divide/shift/bitfield/select encodings", c.n);
}

// ---------------------------------------------------------------------------
// Loads and stores

/// (scaled mnemonic, unscaled mnemonic) of a memory operation.
fn mem_names(op: MemOp) -> (&'static str, &'static str) {
    use MemOp::*;
    match op {
        Str8 => ("strb", "sturb"),
        Str16 => ("strh", "sturh"),
        Str32 | Str64 | StrS | StrD | StrQ => ("str", "stur"),
        Ldr8 => ("ldrb", "ldurb"),
        Ldr16 => ("ldrh", "ldurh"),
        Ldr32 | Ldr64 | LdrS | LdrD | LdrQ => ("ldr", "ldur"),
        Ldrsb32 | Ldrsb64 => ("ldrsb", "ldursb"),
        Ldrsh32 | Ldrsh64 => ("ldrsh", "ldursh"),
        Ldrsw => ("ldrsw", "ldursw"),
    }
}

/// The data register of a memory operation as the decoder names it.
fn mem_rt(op: MemOp, rt: u8) -> String {
    use MemOp::*;
    match op {
        Str8 | Str16 | Str32 | Ldr8 | Ldr16 | Ldr32 | Ldrsb32 | Ldrsh32 => gz(Size::S32, rt),
        Str64 | Ldr64 | Ldrsb64 | Ldrsh64 | Ldrsw => x(rt),
        StrS | LdrS => format!("s{rt}"),
        StrD | LdrD => format!("d{rt}"),
        StrQ | LdrQ => format!("q{rt}"),
    }
}

/// Bytes accessed, written out here rather than taken from `MemOp::bytes`, which is
/// checked against it.
fn size_of(op: MemOp) -> i64 {
    use MemOp::*;
    match op {
        Str8 | Ldr8 | Ldrsb32 | Ldrsb64 => 1,
        Str16 | Ldr16 | Ldrsh32 | Ldrsh64 => 2,
        Str32 | Ldr32 | Ldrsw | StrS | LdrS => 4,
        Str64 | Ldr64 | StrD | LdrD => 8,
        StrQ | LdrQ => 16,
    }
}

#[test]
fn loads_and_stores() {
    let mut c = Check::default();
    for op in MEM_OPS {
        let sz = size_of(op);
        assert_eq!(i64::from(op.bytes()), sz, "{op:?}");
        let (scaled_name, unscaled_name) = mem_names(op);
        // (offset, whether it takes the scaled form)
        let mut offs: Vec<(i64, bool)> = vec![
            (0, true),
            (sz, true),
            (2 * sz, true),
            (4094 * sz, true),
            (4095 * sz, true),
            (-1, false),
            (-sz, false),
            (-255, false),
            (-256, false),
        ];
        if sz > 1 {
            offs.extend([(1, false), (sz - 1, false), (sz + 1, false), (255, false)]);
        } else {
            offs.push((255, true));
        }
        for &(off, scaled) in &offs {
            assert_eq!(Asm::uoff_fits(op, off), scaled, "{op:?} {off}");
            assert!(scaled || Asm::soff_fits(off), "{op:?} {off}");
        }
        for &bad in &[4096 * sz, -257, 4095 * sz + 1, 4096 * sz + sz] {
            if sz == 1 && bad == 4095 * sz + 1 {
                continue;
            }
            assert!(
                !Asm::uoff_fits(op, bad) && !Asm::soff_fits(bad),
                "{op:?} {bad}"
            );
            assert!(
                panics(|a| a.mem(op, 0, Gpr(1), bad)),
                "{op:?} offset {bad} did not panic"
            );
        }
        for (k, (rt, rn)) in pairs().enumerate() {
            for (i, &(off, scaled)) in offs.iter().enumerate() {
                if (k + i) % 5 != 0 && rt != rn {
                    continue;
                }
                let addr = if off == 0 {
                    format!("[{}]", xs(rn))
                } else {
                    format!("[{}, {}]", xs(rn), hs(off))
                };
                let name = if scaled { scaled_name } else { unscaled_name };
                c.one(
                    |a| a.mem(op, rt, Gpr(rn), off),
                    &format!("{name} {}, {addr}", mem_rt(op, rt)),
                );
            }
        }
    }
    println!("{} immediate-offset load/store encodings", c.n);
}

#[test]
fn register_offset_loads_and_stores() {
    let mut c = Check::default();
    for op in MEM_OPS {
        let sz = size_of(op);
        let log2 = sz.trailing_zeros();
        let (name, _) = mem_names(op);
        for ext in EXTENDS {
            for scaled in [false, true] {
                for (rt, rn, rm) in triples().step_by(3) {
                    let m = match ext {
                        Extend::Lsl => x(rm),
                        _ => gz(Size::S32, rm),
                    };
                    // yaxpeax-arm prints the amount only when the S bit is set and the
                    // access is wider than a byte; for byte accesses `lsl #0` and
                    // `uxtw #0` (S set) print like S clear. For `sxtw` it prints `#0`
                    // when the amount is zero (objdump: `[x1, w2, sxtw]`). The S bit
                    // is checked in the word below.
                    let amount = if scaled { log2 } else { 0 };
                    let e = match ext {
                        Extend::Lsl if amount == 0 => String::new(),
                        Extend::Lsl => format!(", lsl #{amount}"),
                        Extend::Uxtw if amount == 0 => ", uxtw".into(),
                        Extend::Uxtw => format!(", uxtw #{amount}"),
                        Extend::Sxtw => format!(", sxtw #{amount}"),
                    };
                    let want = format!("{name} {}, [{}, {m}{e}]", mem_rt(op, rt), xs(rn));
                    let w = c.one(|a| a.mem_reg(op, rt, Gpr(rn), Gpr(rm), ext, scaled), &want);
                    assert_eq!(field(w, 21, 1), 1, "{w:#010x}");
                    assert_eq!(field(w, 10, 2), 0b10, "{w:#010x}");
                    assert_eq!(field(w, 12, 1), u32::from(scaled), "{w:#010x}");
                    assert_eq!(field(w, 13, 3), ext as u32, "{w:#010x}");
                    assert_eq!(field(w, 16, 5), u32::from(rm), "{w:#010x}");
                    assert_eq!(field(w, 5, 5), u32::from(rn), "{w:#010x}");
                    assert_eq!(field(w, 0, 5), u32::from(rt), "{w:#010x}");
                    assert_eq!(field(w, 24, 2), 0b00, "{w:#010x}");
                }
            }
        }
    }
    println!("{} register-offset load/store encodings", c.n);
}

/// Pair offsets at the ends of the 7-bit scaled field.
const PAIR_OFFS: [i32; 9] = [-512, -504, -256, -8, 0, 8, 256, 496, 504];

#[test]
fn load_store_pairs() {
    let mut c = Check::default();
    for (k, (rt, rt2)) in pairs().enumerate() {
        for (i, &off) in PAIR_OFFS.iter().enumerate() {
            if (k + i) % 7 != 0 && rt != 29 {
                continue;
            }
            let rn = ((k / 3) % 32) as u8;
            let (t, t2, n) = (x(rt), x(rt2), xs(rn));
            let o = hs(off.into());
            let inner = if off == 0 {
                format!("[{n}]")
            } else {
                format!("[{n}, {o}]")
            };
            c.one(
                |a| a.stp_pre(Gpr(rt), Gpr(rt2), Gpr(rn), off),
                &format!("stp {t}, {t2}, [{n}, {o}]!"),
            );
            c.one(
                |a| a.ldp_post(Gpr(rt), Gpr(rt2), Gpr(rn), off),
                &format!("ldp {t}, {t2}, [{n}], {o}"),
            );
            c.one(
                |a| a.stp(Gpr(rt), Gpr(rt2), Gpr(rn), off),
                &format!("stp {t}, {t2}, {inner}"),
            );
            c.one(
                |a| a.ldp(Gpr(rt), Gpr(rt2), Gpr(rn), off),
                &format!("ldp {t}, {t2}, {inner}"),
            );
        }
    }
    println!("{} pair encodings", c.n);
}

// ---------------------------------------------------------------------------
// Branches and labels

fn words_at(code: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(code[at..at + 4].try_into().unwrap())
}

/// Every label-using form, with the text the decoder prints before the target.
type LabelForm = (&'static str, fn(&mut Asm, Label));

fn label_forms() -> Vec<LabelForm> {
    vec![
        ("b", |a, l| a.b(l)),
        ("b.eq", |a, l| a.b_cond(Cond::Eq, l)),
        ("b.ne", |a, l| a.b_cond(Cond::Ne, l)),
        ("b.hs", |a, l| a.b_cond(Cond::Hs, l)),
        ("b.lo", |a, l| a.b_cond(Cond::Lo, l)),
        ("b.mi", |a, l| a.b_cond(Cond::Mi, l)),
        ("b.pl", |a, l| a.b_cond(Cond::Pl, l)),
        ("b.vs", |a, l| a.b_cond(Cond::Vs, l)),
        ("b.vc", |a, l| a.b_cond(Cond::Vc, l)),
        ("b.hi", |a, l| a.b_cond(Cond::Hi, l)),
        ("b.ls", |a, l| a.b_cond(Cond::Ls, l)),
        ("b.ge", |a, l| a.b_cond(Cond::Ge, l)),
        ("b.lt", |a, l| a.b_cond(Cond::Lt, l)),
        ("b.gt", |a, l| a.b_cond(Cond::Gt, l)),
        ("b.le", |a, l| a.b_cond(Cond::Le, l)),
        ("cbz w7,", |a, l| a.cbz(Size::S32, false, Gpr(7), l)),
        ("cbz xzr,", |a, l| a.cbz(Size::S64, false, Gpr(31), l)),
        ("cbnz w30,", |a, l| a.cbz(Size::S32, true, Gpr(30), l)),
        ("cbnz x0,", |a, l| a.cbz(Size::S64, true, Gpr(0), l)),
        ("adr x3,", |a, l| a.adr(Gpr(3), l)),
        ("adr xzr,", |a, l| a.adr(Gpr(31), l)),
    ]
}

/// The reach of a form: the farthest forward and backward byte distances.
fn reach(name: &str) -> (i64, i64) {
    if name == "b" {
        ((1 << 27) - 4, -(1 << 27))
    } else if name.starts_with("adr") {
        ((1 << 20) - 1, -(1 << 20))
    } else {
        ((1 << 20) - 4, -(1 << 20))
    }
}

fn label_text(name: &str, dist: i64) -> String {
    format!("{name} {}", rel(dist))
}

/// Emits `form` with its target `dist` bytes away (padding with `udf`), returns the
/// resolved code and the instruction's offset.
fn branch_at(form: fn(&mut Asm, Label), dist: i64) -> (Result<Vec<u8>, OutOfRange>, usize) {
    let mut a = Asm::new();
    let l = a.new_label();
    let at;
    if dist <= 0 {
        a.bind(l);
        a.bytes(&vec![0u8; (-dist) as usize]);
        at = a.offset();
        form(&mut a, l);
    } else {
        at = a.offset();
        form(&mut a, l);
        a.bytes(&vec![0u8; dist as usize - 4]);
        a.bind(l);
    }
    (a.finish(), at as usize)
}

#[test]
fn branches_and_label_fixups() {
    let mut c = Check::default();
    for (name, form) in label_forms() {
        let (fwd, back) = reach(name);
        let mut dists = vec![0i64, -4, 4, 8, -8, 1024, -1024, fwd, back];
        if name.starts_with("adr") {
            // adr addresses any byte.
            dists.extend([-1, 5, -3, 0x12345, fwd - 1, back + 1]);
        }
        for dist in dists {
            if dist > 0 && dist < 4 {
                continue;
            }
            let (code, at) = branch_at(form, dist);
            let code = code.unwrap_or_else(|_| panic!("{name} {dist} out of range"));
            let w = words_at(&code, at);
            c.word(w, &label_text(name, dist));
        }
        for dist in [fwd + 4, back - 4] {
            let (code, _) = branch_at(form, dist);
            assert_eq!(code, Err(OutOfRange), "{name} at {dist}");
        }
        if name.starts_with("adr") {
            for dist in [fwd + 1, back - 1] {
                let (code, _) = branch_at(form, dist);
                assert_eq!(code, Err(OutOfRange), "{name} at {dist}");
            }
        }
    }

    // Several fixups to one label, forward and backward, in one buffer.
    let words = emit_words(|a| {
        let top = a.new_label();
        let end = a.new_label();
        a.bind(top);
        a.b(end);
        a.b_cond(Cond::Gt, top);
        a.cbz(Size::S64, true, Gpr(2), end);
        a.adr(Gpr(16), top);
        a.b(top);
        a.bind(end);
        a.ret();
    });
    let want = [
        "b $+0x14",
        "b.gt $-0x4",
        "cbnz x2, $+0xc",
        "adr x16, $-0xc",
        "b $-0x10",
        "ret",
    ];
    assert_eq!(words.len(), want.len());
    for (&w, t) in words.iter().zip(want) {
        c.word(w, t);
    }

    // bl with a zero offset for the linker.
    let mut a = Asm::new();
    a.word(0xd503_201f);
    assert_eq!(a.bl_reloc(), 4);
    let code = a.finish().unwrap();
    c.word(words_at(&code, 4), "bl $+0x0");

    // Jump-table words: target minus the table's label, forward and backward.
    let mut a = Asm::new();
    let before = a.new_label();
    let table = a.new_label();
    let after = a.new_label();
    a.bind(before);
    a.word(0xd503_201f);
    a.bytes(&[0; 12]);
    a.bind(table);
    a.rel32(before, table);
    a.rel32(table, table);
    a.rel32(after, table);
    a.bytes(&vec![0; 0x10000]);
    a.bind(after);
    let code = a.finish().unwrap();
    assert_eq!(words_at(&code, 16) as i32, -16);
    assert_eq!(words_at(&code, 20) as i32, 0);
    assert_eq!(words_at(&code, 24) as i32, 12 + 0x10000);
    // Jump-table words are plain 32-bit differences, beyond the reach of any branch.
    let mut a = Asm::new();
    let table = a.new_label();
    let far = a.new_label();
    a.bind(table);
    a.rel32(far, table);
    a.bytes(&vec![0; (1 << 27) + 12]);
    a.bind(far);
    let code = a.finish().unwrap();
    assert_eq!(words_at(&code, 0), (1 << 27) + 16);

    // Register branches and returns.
    for rn in 0..32u8 {
        c.one(|a| a.br(Gpr(rn)), &format!("br {}", x(rn)));
        c.one(|a| a.blr(Gpr(rn)), &format!("blr {}", x(rn)));
    }
    c.one(|a| a.ret(), "ret");
    c.one(|a| a.udf(), "udf #0x0");
    println!("{} branch encodings", c.n);
}

#[test]
fn buffer_operations() {
    let mut a = Asm::new();
    assert_eq!(a.offset(), 0);
    a.word(0x1122_3344);
    assert_eq!(a.offset(), 4);
    a.align(16);
    assert_eq!(a.offset(), 16);
    a.align(16);
    assert_eq!(a.offset(), 16);
    a.bytes(&[0xaa, 0xbb]);
    assert_eq!(a.offset(), 18);
    a.bytes(&[0xcc, 0xdd]);
    a.word(0xd65f_03c0);
    a.patch_word(20, 0xd503_201f);
    let code = a.finish().unwrap();
    assert_eq!(&code[0..4], &[0x44, 0x33, 0x22, 0x11]);
    assert_eq!(&code[4..16], &[0; 12]);
    assert_eq!(&code[16..20], &[0xaa, 0xbb, 0xcc, 0xdd]);
    assert_eq!(dis(words_at(&code, 20)), "nop");
}

// ---------------------------------------------------------------------------
// Floating point and vector

fn fbin_name(op: FBinOp) -> &'static str {
    match op {
        FBinOp::Add => "fadd",
        FBinOp::Sub => "fsub",
        FBinOp::Mul => "fmul",
        FBinOp::Div => "fdiv",
        FBinOp::Max => "fmax",
        FBinOp::Min => "fmin",
    }
}

fn fun_name(op: FUnOp) -> &'static str {
    match op {
        FUnOp::Mov => "fmov",
        FUnOp::Abs => "fabs",
        FUnOp::Neg => "fneg",
        FUnOp::Sqrt => "fsqrt",
        FUnOp::RintN => "frintn",
        FUnOp::RintP => "frintp",
        FUnOp::RintM => "frintm",
        FUnOp::RintZ => "frintz",
    }
}

#[test]
fn floating_point_and_vector() {
    let mut c = Check::default();
    for fs in FSIZES {
        for op in FBIN_OPS {
            for (rd, rn, rm) in triples() {
                c.one(
                    |a| a.fbin(op, fs, Vreg(rd), Vreg(rn), Vreg(rm)),
                    &format!(
                        "{} {}, {}, {}",
                        fbin_name(op),
                        fr(fs, rd),
                        fr(fs, rn),
                        fr(fs, rm)
                    ),
                );
            }
        }
        for (k, (rd, rn, rm)) in triples().enumerate() {
            let cond = CONDS[k % CONDS.len()];
            c.one(
                |a| a.fcsel(fs, Vreg(rd), Vreg(rn), Vreg(rm), cond),
                &format!(
                    "fcsel {}, {}, {}, {}",
                    fr(fs, rd),
                    fr(fs, rn),
                    fr(fs, rm),
                    cond_name(cond)
                ),
            );
        }
        let other = match fs {
            FSize::S => FSize::D,
            FSize::D => FSize::S,
        };
        for (rd, rn) in pairs() {
            for op in FUN_OPS {
                c.one(
                    |a| a.fun(op, fs, Vreg(rd), Vreg(rn)),
                    &format!("{} {}, {}", fun_name(op), fr(fs, rd), fr(fs, rn)),
                );
            }
            c.one(
                |a| a.fcvt(fs, Vreg(rd), Vreg(rn)),
                &format!("fcvt {}, {}", fr(other, rd), fr(fs, rn)),
            );
            c.one(
                |a| a.fcmp(fs, Vreg(rd), Vreg(rn)),
                &format!("fcmp {}, {}", fr(fs, rd), fr(fs, rn)),
            );
            for s in SIZES {
                for signed in [false, true] {
                    let (cv, tz) = if signed {
                        ("scvtf", "fcvtzs")
                    } else {
                        ("ucvtf", "fcvtzu")
                    };
                    c.one(
                        |a| a.int_to_float(signed, s, fs, Vreg(rd), Gpr(rn)),
                        &format!("{cv} {}, {}", fr(fs, rd), gz(s, rn)),
                    );
                    c.one(
                        |a| a.float_to_int(signed, fs, s, Gpr(rd), Vreg(rn)),
                        &format!("{tz} {}, {}", gz(s, rd), fr(fs, rn)),
                    );
                }
            }
        }
    }
    for (rd, rn) in pairs() {
        c.one(
            |a| a.fmov_from_gpr(Size::S32, Vreg(rd), Gpr(rn)),
            &format!("fmov s{rd}, {}", gz(Size::S32, rn)),
        );
        c.one(
            |a| a.fmov_from_gpr(Size::S64, Vreg(rd), Gpr(rn)),
            &format!("fmov d{rd}, {}", x(rn)),
        );
        c.one(
            |a| a.fmov_to_gpr(Size::S32, Gpr(rd), Vreg(rn)),
            &format!("fmov {}, s{rn}", gz(Size::S32, rd)),
        );
        c.one(
            |a| a.fmov_to_gpr(Size::S64, Gpr(rd), Vreg(rn)),
            &format!("fmov {}, d{rn}", x(rd)),
        );
        c.one(
            |a| a.vmov(Vreg(rd), Vreg(rn)),
            &format!("mov v{rd}.16b, v{rn}.16b"),
        );
        c.one(
            |a| a.cnt8b(Vreg(rd), Vreg(rn)),
            &format!("cnt v{rd}.8b, v{rn}.8b"),
        );
        c.one(
            |a| a.addv8b(Vreg(rd), Vreg(rn)),
            &format!("addv b{rd}, v{rn}.8b"),
        );
    }
    println!("{} float/vector encodings", c.n);
}

// ---------------------------------------------------------------------------
// Advanced SIMD (NEON)

const ELEMS: [Elem; 4] = [Elem::B, Elem::H, Elem::S, Elem::D];

/// Every arrangement, with its text (`1d` is left out: no form the encoder offers takes
/// it but the pairwise widening additions' results).
fn arrangements() -> Vec<(Arr, &'static str)> {
    let names = ["8b", "16b", "4h", "8h", "2s", "4s", "", "2d"];
    let mut v = Vec::new();
    for (i, e) in ELEMS.iter().enumerate() {
        for q in [false, true] {
            let name = names[2 * i + q as usize];
            if !name.is_empty() {
                v.push((Arr { elem: *e, q }, name));
            }
        }
    }
    v
}

/// The text of an arrangement (`1d` included).
fn arr_text(arr: Arr) -> &'static str {
    let lanes = (64 << arr.q as u32) / (8 << elem_index(arr.elem));
    match (lanes, arr.elem) {
        (8, Elem::B) => "8b",
        (16, Elem::B) => "16b",
        (4, Elem::H) => "4h",
        (8, Elem::H) => "8h",
        (2, Elem::S) => "2s",
        (4, Elem::S) => "4s",
        (1, Elem::D) => "1d",
        _ => "2d",
    }
}

fn elem_index(e: Elem) -> u32 {
    match e {
        Elem::B => 0,
        Elem::H => 1,
        Elem::S => 2,
        Elem::D => 3,
    }
}

fn elem_letter(e: Elem) -> &'static str {
    ["b", "h", "s", "d"][elem_index(e) as usize]
}

fn wider_elem(e: Elem) -> Elem {
    ELEMS[(elem_index(e) + 1).min(3) as usize]
}

/// Which arrangements a form takes.
#[derive(Clone, Copy)]
enum Lanes {
    /// Every integer arrangement but `1d`.
    Int,
    /// Integer lanes of 8 to 32 bits.
    NoD,
    /// 16- and 32-bit lanes.
    HS,
    /// `8b` and `16b`.
    Bytes,
    /// `2s`, `4s`, `2d`.
    Float,
}

fn takes(l: Lanes, arr: Arr) -> bool {
    match l {
        Lanes::Int => true,
        Lanes::NoD => arr.elem != Elem::D,
        Lanes::HS => matches!(arr.elem, Elem::H | Elem::S),
        Lanes::Bytes => arr.elem == Elem::B,
        Lanes::Float => matches!(arr.elem, Elem::S | Elem::D),
    }
}

const V3_FORMS: [(V3, &str, Lanes); 36] = [
    (V3::Add, "add", Lanes::Int),
    (V3::Sub, "sub", Lanes::Int),
    (V3::Mul, "mul", Lanes::NoD),
    (V3::Sqadd, "sqadd", Lanes::Int),
    (V3::Uqadd, "uqadd", Lanes::Int),
    (V3::Sqsub, "sqsub", Lanes::Int),
    (V3::Uqsub, "uqsub", Lanes::Int),
    (V3::Smax, "smax", Lanes::NoD),
    (V3::Umax, "umax", Lanes::NoD),
    (V3::Smin, "smin", Lanes::NoD),
    (V3::Umin, "umin", Lanes::NoD),
    (V3::Urhadd, "urhadd", Lanes::NoD),
    (V3::Sqrdmulh, "sqrdmulh", Lanes::HS),
    (V3::Cmeq, "cmeq", Lanes::Int),
    (V3::Cmgt, "cmgt", Lanes::Int),
    (V3::Cmhi, "cmhi", Lanes::Int),
    (V3::Cmge, "cmge", Lanes::Int),
    (V3::Cmhs, "cmhs", Lanes::Int),
    (V3::Sshl, "sshl", Lanes::Int),
    (V3::Ushl, "ushl", Lanes::Int),
    (V3::Addp, "addp", Lanes::Int),
    (V3::Zip1, "zip1", Lanes::Int),
    (V3::And, "and", Lanes::Bytes),
    (V3::Bic, "bic", Lanes::Bytes),
    (V3::Orr, "orr", Lanes::Bytes),
    (V3::Eor, "eor", Lanes::Bytes),
    (V3::Bsl, "bsl", Lanes::Bytes),
    (V3::Fadd, "fadd", Lanes::Float),
    (V3::Fsub, "fsub", Lanes::Float),
    (V3::Fmul, "fmul", Lanes::Float),
    (V3::Fdiv, "fdiv", Lanes::Float),
    (V3::Fmax, "fmax", Lanes::Float),
    (V3::Fmin, "fmin", Lanes::Float),
    (V3::Fcmeq, "fcmeq", Lanes::Float),
    (V3::Fcmge, "fcmge", Lanes::Float),
    (V3::Fcmgt, "fcmgt", Lanes::Float),
];

#[test]
fn vector_three_register_forms() {
    let mut c = Check::default();
    for (rd, rn, rm) in triples() {
        for (op, name, lanes) in V3_FORMS {
            for (arr, t) in arrangements() {
                if !takes(lanes, arr) {
                    continue;
                }
                // `orr` of a register with itself is `mov`.
                let want = if op == V3::Orr && rn == rm {
                    format!("mov v{rd}.{t}, v{rn}.{t}")
                } else {
                    format!("{name} v{rd}.{t}, v{rn}.{t}, v{rm}.{t}")
                };
                c.one(|a| a.v3(op, arr, Vreg(rd), Vreg(rn), Vreg(rm)), &want);
            }
        }
        // Widening products: the arrangement is the sources'.
        for (op, name) in [(V3::Smull, "smull"), (V3::Umull, "umull")] {
            for (arr, t) in arrangements() {
                if arr.elem == Elem::D {
                    continue;
                }
                let wide = arr_text(Arr::full(wider_elem(arr.elem)));
                let name = if arr.q {
                    format!("{name}2")
                } else {
                    name.into()
                };
                c.one(
                    |a| a.v3(op, arr, Vreg(rd), Vreg(rn), Vreg(rm)),
                    &format!("{name} v{rd}.{wide}, v{rn}.{t}, v{rm}.{t}"),
                );
            }
        }
        c.one(
            |a| a.tbl(1, Vreg(rd), Vreg(rn), Vreg(rm)),
            &format!("tbl v{rd}.16b, {{v{rn}.16b}}, v{rm}.16b"),
        );
        c.one(
            |a| a.tbl(2, Vreg(rd), Vreg(rn), Vreg(rm)),
            &format!(
                "tbl v{rd}.16b, {{v{rn}.16b, v{}.16b}}, v{rm}.16b",
                (rn + 1) % 32
            ),
        );
    }
    // `tbl` through `v3` is the one-register table.
    assert_eq!(
        emit(|a| a.v3(V3::Tbl, Arr::full(Elem::B), Vreg(1), Vreg(2), Vreg(3))),
        emit(|a| a.tbl(1, Vreg(1), Vreg(2), Vreg(3)))
    );
    println!("{} vector three-register encodings", c.n);
}

const V2_FORMS: [(V2, &str, Lanes); 16] = [
    (V2::Abs, "abs", Lanes::Int),
    (V2::Neg, "neg", Lanes::Int),
    (V2::Cnt, "cnt", Lanes::Bytes),
    (V2::Not, "mvn", Lanes::Bytes),
    (V2::Fabs, "fabs", Lanes::Float),
    (V2::Fneg, "fneg", Lanes::Float),
    (V2::Fsqrt, "fsqrt", Lanes::Float),
    (V2::Frintn, "frintn", Lanes::Float),
    (V2::Frintm, "frintm", Lanes::Float),
    (V2::Frintp, "frintp", Lanes::Float),
    (V2::Frintz, "frintz", Lanes::Float),
    (V2::Fcvtzs, "fcvtzs", Lanes::Float),
    (V2::Fcvtzu, "fcvtzu", Lanes::Float),
    (V2::Scvtf, "scvtf", Lanes::Float),
    (V2::Ucvtf, "ucvtf", Lanes::Float),
    (V2::Cmeq0, "cmeq", Lanes::Int),
];

#[test]
fn vector_two_register_forms() {
    let mut c = Check::default();
    for (rd, rn) in pairs() {
        for (op, name, lanes) in V2_FORMS
            .iter()
            .copied()
            .chain([(V2::Cmlt0, "cmlt", Lanes::Int)])
        {
            for (arr, t) in arrangements() {
                if !takes(lanes, arr) {
                    continue;
                }
                let zero = if matches!(op, V2::Cmeq0 | V2::Cmlt0) {
                    ", #0x0"
                } else {
                    ""
                };
                c.one(
                    |a| a.v2(op, arr, Vreg(rd), Vreg(rn)),
                    &format!("{name} v{rd}.{t}, v{rn}.{t}{zero}"),
                );
            }
        }
        for (arr, t) in arrangements() {
            // Narrowing: the arrangement is the destination's.
            if arr.elem != Elem::D {
                let wide = arr_text(Arr::full(wider_elem(arr.elem)));
                for (op, name) in [
                    (V2::Xtn, "xtn"),
                    (V2::Sqxtn, "sqxtn"),
                    (V2::Uqxtn, "uqxtn"),
                    (V2::Sqxtun, "sqxtun"),
                ] {
                    let name = if arr.q {
                        format!("{name}2")
                    } else {
                        name.into()
                    };
                    c.one(
                        |a| a.v2(op, arr, Vreg(rd), Vreg(rn)),
                        &format!("{name} v{rd}.{t}, v{rn}.{wide}"),
                    );
                }
                // Pairwise widening additions: the arrangement is the source's.
                let sum = arr_text(Arr {
                    elem: wider_elem(arr.elem),
                    q: arr.q,
                });
                for (op, name) in [(V2::Saddlp, "saddlp"), (V2::Uaddlp, "uaddlp")] {
                    c.one(
                        |a| a.v2(op, arr, Vreg(rd), Vreg(rn)),
                        &format!("{name} v{rd}.{sum}, v{rn}.{t}"),
                    );
                }
            }
            // Reductions to a scalar lane (no `2d`, no `2s`).
            if arr.elem != Elem::D && (arr.elem != Elem::S || arr.q) {
                let l = elem_letter(arr.elem);
                for (op, name) in [
                    (V2::Addv, "addv"),
                    (V2::Umaxv, "umaxv"),
                    (V2::Uminv, "uminv"),
                ] {
                    c.one(
                        |a| a.v2(op, arr, Vreg(rd), Vreg(rn)),
                        &format!("{name} {l}{rd}, v{rn}.{t}"),
                    );
                }
            }
        }
        // Precision conversions: the arrangement is the wide side's, `q` for the `2` forms.
        let forms = [
            (Arr::half(Elem::D), "fcvtn", "2s", "2d"),
            (Arr::full(Elem::D), "fcvtn2", "4s", "2d"),
            (Arr::half(Elem::S), "fcvtn", "4h", "4s"),
            (Arr::full(Elem::S), "fcvtn2", "8h", "4s"),
        ];
        for (arr, name, narrow, wide) in forms {
            c.one(
                |a| a.v2(V2::Fcvtn, arr, Vreg(rd), Vreg(rn)),
                &format!("{name} v{rd}.{narrow}, v{rn}.{wide}"),
            );
            let name = name.replace("fcvtn", "fcvtl");
            c.one(
                |a| a.v2(V2::Fcvtl, arr, Vreg(rd), Vreg(rn)),
                &format!("{name} v{rd}.{wide}, v{rn}.{narrow}"),
            );
        }
    }
    println!("{} vector two-register encodings", c.n);
}

#[test]
fn vector_shifts_by_immediate() {
    let mut c = Check::default();
    for (k, (rd, rn)) in pairs().enumerate() {
        for (arr, t) in arrangements() {
            let esize = 8u32 << elem_index(arr.elem);
            // Every amount for a sample of the registers, the boundaries for all.
            let amounts: Vec<u32> = if k % 97 == 0 {
                (0..=esize).collect()
            } else {
                vec![0, 1, esize / 2, esize - 1, esize]
            };
            for amount in amounts {
                if amount < esize {
                    c.one(
                        |a| a.vshift(VShift::Shl, arr, Vreg(rd), Vreg(rn), amount),
                        &format!("shl v{rd}.{t}, v{rn}.{t}, {}", h(amount as u64)),
                    );
                }
                if amount >= 1 {
                    for (op, name) in [(VShift::Sshr, "sshr"), (VShift::Ushr, "ushr")] {
                        c.one(
                            |a| a.vshift(op, arr, Vreg(rd), Vreg(rn), amount),
                            &format!("{name} v{rd}.{t}, v{rn}.{t}, {}", h(amount as u64)),
                        );
                    }
                }
                if amount < esize && arr.elem != Elem::D {
                    let wide = arr_text(Arr::full(wider_elem(arr.elem)));
                    for (op, name) in [(VShift::Sshll, "sshll"), (VShift::Ushll, "ushll")] {
                        let name = if arr.q {
                            format!("{name}2")
                        } else {
                            name.into()
                        };
                        c.one(
                            |a| a.vshift(op, arr, Vreg(rd), Vreg(rn), amount),
                            &format!("{name} v{rd}.{wide}, v{rn}.{t}, {}", h(amount as u64)),
                        );
                    }
                }
            }
        }
    }
    println!("{} vector shift encodings", c.n);
}

#[test]
fn vector_lane_moves_and_constants() {
    let mut c = Check::default();
    for (rd, rn) in pairs() {
        for e in ELEMS {
            let l = elem_letter(e);
            let lanes = 16u8 >> elem_index(e);
            for lane in 0..lanes {
                for (arr, t) in arrangements() {
                    if arr.elem == e {
                        // yaxpeax-arm prints the vector `dup` (element) as `mov`, which is
                        // the scalar form's alias only (objdump: `dup`); the scalar form
                        // differs in bits 28 and 30, checked by its own expectation.
                        c.one(
                            |a| a.dup_elem(arr, Vreg(rd), Vreg(rn), lane),
                            &format!("mov v{rd}.{t}, v{rn}.{l}[{lane}]"),
                        );
                    }
                }
                c.one(
                    |a| a.dup_scalar(e, Vreg(rd), Vreg(rn), lane),
                    &format!("mov {l}{rd}, v{rn}.{l}[{lane}]"),
                );
                let gpr = if e == Elem::D {
                    x(rn)
                } else {
                    gz(Size::S32, rn)
                };
                c.one(
                    |a| a.ins_gpr(e, Vreg(rd), lane, Gpr(rn)),
                    &format!("mov v{rd}.{l}[{lane}], {gpr}"),
                );
                let src_lane = (lane + 1) % lanes;
                c.one(
                    |a| a.ins_elem(e, Vreg(rd), lane, Vreg(rn), src_lane),
                    &format!("mov v{rd}.{l}[{lane}], v{rn}.{l}[{src_lane}]"),
                );
                // `umov` of 32- and 64-bit lanes is printed as `mov`.
                let to = if e == Elem::D {
                    x(rd)
                } else {
                    gz(Size::S32, rd)
                };
                let name = if matches!(e, Elem::S | Elem::D) {
                    "mov"
                } else {
                    "umov"
                };
                c.one(
                    |a| a.umov(e, Gpr(rd), Vreg(rn), lane),
                    &format!("{name} {to}, v{rn}.{l}[{lane}]"),
                );
                for s in SIZES {
                    if (8u32 << elem_index(e)) < bits(s) {
                        c.one(
                            |a| a.smov(e, s, Gpr(rd), Vreg(rn), lane),
                            &format!("smov {}, v{rn}.{l}[{lane}]", gz(s, rd)),
                        );
                    }
                }
            }
            for (arr, t) in arrangements() {
                if arr.elem == e {
                    let gpr = if e == Elem::D {
                        x(rn)
                    } else {
                        gz(Size::S32, rn)
                    };
                    c.one(
                        |a| a.dup_gpr(arr, Vreg(rd), Gpr(rn)),
                        &format!("dup v{rd}.{t}, {gpr}"),
                    );
                }
            }
        }
    }
    for rd in 0..32u8 {
        for bytes in 0..=255u8 {
            let imm = (0..8).fold(0u64, |m, i| {
                m | (u64::from(bytes >> i & 1) * 0xff) << (8 * i)
            });
            c.one(
                |a| a.movi_2d(Vreg(rd), bytes),
                &format!("movi v{rd}.2d, {}", h(imm)),
            );
        }
        for s in SIZES {
            for cond in CONDS {
                c.one(
                    |a| a.csetm(s, Gpr(rd), cond),
                    &format!("csetm {}, {}", gz(s, rd), cond_name(cond)),
                );
            }
        }
    }
    println!("{} vector lane and constant encodings", c.n);
}

// ---------------------------------------------------------------------------
// Hand-checked words

/// Words assembled with GNU as and read back with GNU objdump
/// (`aarch64-linux-gnu-objdump -D -b binary -m aarch64`), covering the forms whose
/// yaxpeax-arm text is lossy (the vector `dup` from a lane, which it prints as `mov`) as
/// well as a sample of the rest.
#[test]
fn hand_checked_words() {
    type Emit = fn(&mut Asm);
    let table: &[(Emit, u32, &str)] = &[
        (
            |a| a.alu_ext(AluOp::Add, Gpr(0), Gpr(1), Gpr(2), Extend::Uxtw),
            0x8b22_4020,
            "add x0, x1, w2, uxtw",
        ),
        (
            |a| a.alu_ext(AluOp::Add, Gpr(0), Gpr(1), Gpr(2), Extend::Lsl),
            0x8b22_6020,
            "add x0, x1, x2, uxtx",
        ),
        (
            |a| a.alu_ext(AluOp::Add, regs::SP, regs::SP, Gpr(2), Extend::Uxtw),
            0x8b22_43ff,
            "add sp, sp, w2, uxtw",
        ),
        (
            |a| a.alu_ext(AluOp::Subs, regs::ZR, Gpr(1), Gpr(2), Extend::Sxtw),
            0xeb22_c03f,
            "cmp x1, w2, sxtw",
        ),
        (
            |a| {
                a.alu_rrr_shift(
                    AluOp::Add,
                    Size::S64,
                    Gpr(0),
                    Gpr(1),
                    Gpr(2),
                    ShiftOp::Lsr,
                    0,
                )
            },
            0x8b42_0020,
            "add x0, x1, x2, lsr #0",
        ),
        (
            |a| a.mem_reg(MemOp::Ldr8, 0, Gpr(1), Gpr(2), Extend::Lsl, true),
            0x3862_7820,
            "ldrb w0, [x1, x2, lsl #0]",
        ),
        (
            |a| a.mem_reg(MemOp::Ldr8, 0, Gpr(1), Gpr(2), Extend::Lsl, false),
            0x3862_6820,
            "ldrb w0, [x1, x2]",
        ),
        (
            |a| a.mem_reg(MemOp::Ldr8, 0, Gpr(1), Gpr(2), Extend::Uxtw, true),
            0x3862_5820,
            "ldrb w0, [x1, w2, uxtw #0]",
        ),
        (
            |a| a.mem_reg(MemOp::Ldrsw, 0, Gpr(1), Gpr(2), Extend::Sxtw, false),
            0xb8a2_c820,
            "ldrsw x0, [x1, w2, sxtw]",
        ),
        (
            |a| a.mem_reg(MemOp::Ldrsw, 16, Gpr(16), Gpr(17), Extend::Uxtw, true),
            0xb8b1_5a10,
            "ldrsw x16, [x16, w17, uxtw #2]",
        ),
        (
            |a| a.mem_reg(MemOp::LdrQ, 0, regs::SP, Gpr(2), Extend::Lsl, true),
            0x3ce2_7be0,
            "ldr q0, [sp, x2, lsl #4]",
        ),
        (
            |a| a.mem(MemOp::LdrQ, 0, Gpr(1), -16),
            0x3cdf_0020,
            "ldur q0, [x1, #-16]",
        ),
        (
            |a| a.mem(MemOp::Ldr64, 0, regs::SP, 32760),
            0xf97f_ffe0,
            "ldr x0, [sp, #32760]",
        ),
        (
            |a| a.mem(MemOp::Str16, 31, Gpr(3), -1),
            0x781f_f07f,
            "sturh wzr, [x3, #-1]",
        ),
        (
            |a| a.movz(Size::S64, Gpr(0), 0, 1),
            0xd2a0_0000,
            "movz x0, #0x0, lsl #16",
        ),
        (
            |a| a.movn(Size::S32, Gpr(0), 0, 1),
            0x12a0_0000,
            "movn w0, #0x0, lsl #16",
        ),
        (
            |a| a.movk(Size::S64, Gpr(3), 0xbeef, 3),
            0xf2f7_dde3,
            "movk x3, #0xbeef, lsl #48",
        ),
        (
            |a| a.alu_ri(AluOp::Orr, Size::S32, Gpr(0), regs::ZR, 0xff),
            0x3200_1fe0,
            "orr w0, wzr, #0xff",
        ),
        (
            |a| a.alu_ri(AluOp::And, Size::S64, regs::SP, Gpr(1), !0xf),
            0x927c_ec3f,
            "and sp, x1, #0xfffffffffffffff0",
        ),
        (
            |a| a.alu_ri(AluOp::Ands, Size::S32, regs::ZR, Gpr(1), 0x8000_0001),
            0x7201_043f,
            "tst w1, #0x80000001",
        ),
        (
            |a| a.alu_ri(AluOp::Sub, Size::S64, regs::SP, regs::SP, 0x10000),
            0xd140_43ff,
            "sub sp, sp, #0x10, lsl #12",
        ),
        (|a| a.mov_sp(Gpr(0), regs::SP), 0x9100_03e0, "mov x0, sp"),
        (
            |a| a.shift_ri(ShiftOp::Lsl, Size::S32, Gpr(0), Gpr(1), 31),
            0x5301_0020,
            "lsl w0, w1, #31",
        ),
        (
            |a| a.shift_ri(ShiftOp::Ror, Size::S64, Gpr(0), Gpr(1), 63),
            0x93c1_fc20,
            "ror x0, x1, #63",
        ),
        (
            |a| a.bfm(false, Size::S64, Gpr(0), Gpr(1), 60, 3),
            0xd37c_0c20,
            "ubfiz x0, x1, #4, #4",
        ),
        (
            |a| a.cset(Size::S32, Gpr(0), Cond::Hs),
            0x1a9f_37e0,
            "cset w0, cs",
        ),
        (
            |a| a.csel(Size::S64, Gpr(0), Gpr(1), Gpr(2), Cond::Lo),
            0x9a82_3020,
            "csel x0, x1, x2, cc",
        ),
        (
            |a| a.msub(Size::S64, Gpr(0), Gpr(1), Gpr(2), regs::ZR),
            0x9b02_fc20,
            "mneg x0, x1, x2",
        ),
        (
            |a| a.stp_pre(regs::FP, regs::LR, regs::SP, -16),
            0xa9bf_7bfd,
            "stp x29, x30, [sp, #-16]!",
        ),
        (
            |a| a.ldp_post(regs::FP, regs::LR, regs::SP, 16),
            0xa8c1_7bfd,
            "ldp x29, x30, [sp], #16",
        ),
        (
            |a| a.float_to_int(false, FSize::D, Size::S64, Gpr(0), Vreg(1)),
            0x9e79_0020,
            "fcvtzu x0, d1",
        ),
        (
            |a| a.int_to_float(false, Size::S32, FSize::S, Vreg(0), regs::ZR),
            0x1e23_03e0,
            "ucvtf s0, wzr",
        ),
        (
            |a| a.fmov_from_gpr(Size::S64, Vreg(0), regs::ZR),
            0x9e67_03e0,
            "fmov d0, xzr",
        ),
        (
            |a| a.fcvt(FSize::D, Vreg(0), Vreg(1)),
            0x1e62_4020,
            "fcvt s0, d1",
        ),
        (
            |a| a.fcsel(FSize::D, Vreg(0), Vreg(1), Vreg(2), Cond::Ge),
            0x1e62_ac20,
            "fcsel d0, d1, d2, ge",
        ),
        (
            |a| a.fun(FUnOp::RintN, FSize::S, Vreg(0), Vreg(1)),
            0x1e24_4020,
            "frintn s0, s1",
        ),
        (
            |a| a.vmov(Vreg(0), Vreg(31)),
            0x4ebf_1fe0,
            "mov v0.16b, v31.16b",
        ),
        (
            |a| a.cnt8b(Vreg(1), Vreg(2)),
            0x0e20_5841,
            "cnt v1.8b, v2.8b",
        ),
        (
            |a| a.addv8b(Vreg(1), Vreg(1)),
            0x0e31_b821,
            "addv b1, v1.8b",
        ),
        (
            |a| a.v3(V3::Add, Arr::full(Elem::B), Vreg(0), Vreg(1), Vreg(2)),
            0x4e22_8420,
            "add v0.16b, v1.16b, v2.16b",
        ),
        (
            |a| a.v3(V3::Sqrdmulh, Arr::full(Elem::H), Vreg(3), Vreg(4), Vreg(5)),
            0x6e65_b483,
            "sqrdmulh v3.8h, v4.8h, v5.8h",
        ),
        (
            |a| a.v3(V3::Fcmgt, Arr::full(Elem::D), Vreg(6), Vreg(7), Vreg(8)),
            0x6ee8_e4e6,
            "fcmgt v6.2d, v7.2d, v8.2d",
        ),
        (
            |a| a.v3(V3::Bsl, Arr::full(Elem::B), Vreg(31), Vreg(1), Vreg(2)),
            0x6e62_1c3f,
            "bsl v31.16b, v1.16b, v2.16b",
        ),
        (
            |a| a.v3(V3::Smull, Arr::full(Elem::H), Vreg(9), Vreg(10), Vreg(11)),
            0x4e6b_c149,
            "smull2 v9.4s, v10.8h, v11.8h",
        ),
        (
            |a| a.tbl(2, Vreg(0), Vreg(30), Vreg(3)),
            0x4e03_23c0,
            "tbl v0.16b, {v30.16b, v31.16b}, v3.16b",
        ),
        (
            |a| a.v2(V2::Sqxtun, Arr::full(Elem::B), Vreg(1), Vreg(2)),
            0x6e21_2841,
            "sqxtun2 v1.16b, v2.8h",
        ),
        (
            |a| a.v2(V2::Fcvtn, Arr::half(Elem::D), Vreg(3), Vreg(4)),
            0x0e61_6883,
            "fcvtn v3.2s, v4.2d",
        ),
        (
            |a| a.v2(V2::Umaxv, Arr::full(Elem::S), Vreg(5), Vreg(6)),
            0x6eb0_a8c5,
            "umaxv s5, v6.4s",
        ),
        (
            |a| a.v2(V2::Uaddlp, Arr::full(Elem::H), Vreg(18), Vreg(19)),
            0x6e60_2a72,
            "uaddlp v18.4s, v19.8h",
        ),
        (
            |a| a.vshift(VShift::Ushll, Arr::full(Elem::S), Vreg(7), Vreg(8), 0),
            0x6f20_a507,
            "uxtl2 v7.2d, v8.4s",
        ),
        (
            |a| a.vshift(VShift::Sshr, Arr::full(Elem::D), Vreg(9), Vreg(10), 64),
            0x4f40_0549,
            "sshr v9.2d, v10.2d, #64",
        ),
        (
            |a| a.dup_gpr(Arr::full(Elem::D), Vreg(11), Gpr(16)),
            0x4e08_0e0b,
            "dup v11.2d, x16",
        ),
        (
            |a| a.dup_elem(Arr::full(Elem::S), Vreg(1), Vreg(18), 1),
            0x4e0c_0641,
            "dup v1.4s, v18.s[1]",
        ),
        (
            |a| a.ins_gpr(Elem::D, Vreg(12), 1, Gpr(16)),
            0x4e18_1e0c,
            "mov v12.d[1], x16",
        ),
        (
            |a| a.smov(Elem::H, Size::S32, Gpr(13), Vreg(14), 7),
            0x0e1e_2dcd,
            "smov w13, v14.h[7]",
        ),
        (
            |a| a.umov(Elem::B, Gpr(15), Vreg(16), 15),
            0x0e1f_3e0f,
            "umov w15, v16.b[15]",
        ),
        (
            |a| a.movi_2d(Vreg(17), 0b1010_1010),
            0x6f05_e551,
            "movi v17.2d, #0xff00ff00ff00ff00",
        ),
        (
            |a| a.csetm(Size::S64, Gpr(16), Cond::Ne),
            0xda9f_03f0,
            "csetm x16, ne",
        ),
    ];
    assert_eq!(table.len(), 58);
    for (f, word, text) in table {
        assert_eq!(emit(*f), *word, "{text}");
    }
}

// ---------------------------------------------------------------------------
// Misuse

#[test]
fn misuse_panics() {
    let g = Gpr;
    let mut n = 0;
    let mut check = |what: &str, f: &dyn Fn(&mut Asm)| {
        assert!(panics(|a| f(a)), "{what} did not panic");
        n += 1;
    };
    for op in ARITH_OPS {
        for s in SIZES {
            for imm in [
                0x1001u64,
                0x1fff,
                0xfff001,
                0x100_0000,
                0x100_1000,
                u64::MAX,
            ] {
                check(&format!("{op:?} #{imm:#x}"), &|a| {
                    a.alu_ri(op, s, g(0), g(1), imm)
                });
            }
        }
    }
    for op in LOGIC_OPS {
        for s in SIZES {
            for imm in [0u64, mask(s), 5, 0x1234_5678] {
                check(&format!("{op:?} #{imm:#x}"), &|a| {
                    a.alu_ri(op, s, g(0), g(1), imm)
                });
            }
        }
        check("64-bit-only pattern at 32 bits", &|a| {
            a.alu_ri(op, Size::S32, g(0), g(1), 0xffff_ffff)
        });
    }
    let (v0, v1) = (Vreg(0), Vreg(1));
    for e in ELEMS {
        let esize = 8u32 << elem_index(e);
        let full = Arr::full(e);
        check(&format!("shl {e:?} #{esize}"), &|a| {
            a.vshift(VShift::Shl, full, v0, v1, esize)
        });
        for op in [VShift::Sshr, VShift::Ushr] {
            check(&format!("{op:?} {e:?} #0"), &|a| {
                a.vshift(op, full, v0, v1, 0)
            });
            check(&format!("{op:?} {e:?} past the width"), &|a| {
                a.vshift(op, full, v0, v1, esize + 1)
            });
        }
        let lanes = 16u8 >> elem_index(e);
        check(&format!("umov {e:?} lane {lanes}"), &|a| {
            a.umov(e, g(0), v1, lanes)
        });
        check(&format!("ins {e:?} lane {lanes}"), &|a| {
            a.ins_gpr(e, v0, lanes, g(1))
        });
        check(&format!("dup {e:?} lane {lanes}"), &|a| {
            a.dup_elem(full, v0, v1, lanes)
        });
    }
    check("smov of D lanes", &|a| {
        a.smov(Elem::D, Size::S64, g(0), v1, 0)
    });
    check("smov of S lanes to w", &|a| {
        a.smov(Elem::S, Size::S32, g(0), v1, 0)
    });
    check("sshll of D lanes", &|a| {
        a.vshift(VShift::Sshll, Arr::full(Elem::D), v0, v1, 0)
    });
    check("smull of D lanes", &|a| {
        a.v3(V3::Smull, Arr::full(Elem::D), v0, v1, v0)
    });
    check("mul of D lanes", &|a| {
        a.v3(V3::Mul, Arr::full(Elem::D), v0, v1, v0)
    });
    check("sqrdmulh of B lanes", &|a| {
        a.v3(V3::Sqrdmulh, Arr::full(Elem::B), v0, v1, v0)
    });
    check("fadd of H lanes", &|a| {
        a.v3(V3::Fadd, Arr::full(Elem::H), v0, v1, v0)
    });
    check("fabs of B lanes", &|a| {
        a.v2(V2::Fabs, Arr::full(Elem::B), v0, v1)
    });
    for len in [0, 3] {
        check(&format!("tbl of {len} registers"), &|a| {
            a.tbl(len, v0, v1, v0)
        });
    }
    for op in LOGIC_OPS {
        check(&format!("{op:?} extended"), &|a| {
            a.alu_ext(op, g(0), g(1), g(2), Extend::Uxtw)
        });
    }
    for op in ALU_OPS {
        for s in SIZES {
            check("shift amount = width", &|a| {
                a.alu_rrr_shift(op, s, g(0), g(1), g(2), ShiftOp::Lsl, bits(s) as u8)
            });
        }
    }
    for op in ARITH_OPS {
        check("ror in arithmetic", &|a| {
            a.alu_rrr_shift(op, Size::S64, g(0), g(1), g(2), ShiftOp::Ror, 1)
        });
    }
    for s in SIZES {
        let hw = (bits(s) / 16) as u8;
        check("movz hw", &|a| a.movz(s, g(0), 1, hw));
        check("movn hw", &|a| a.movn(s, g(0), 1, hw));
        check("movk hw", &|a| a.movk(s, g(0), 1, hw));
        let w = bits(s) as u8;
        check("bfm immr", &|a| a.bfm(false, s, g(0), g(1), w, 0));
        check("bfm imms", &|a| a.bfm(true, s, g(0), g(1), 0, w));
        check("extr lsb", &|a| a.extr(s, g(0), g(1), g(2), w));
        for op in SHIFT_OPS {
            check("shift count", &|a| a.shift_ri(op, s, g(0), g(1), w));
        }
    }
    check("sxtw at 32 bits", &|a| a.sxt(Size::S32, g(0), g(1), 32));
    check("sxt from 12", &|a| a.sxt(Size::S64, g(0), g(1), 12));
    check("uxt from 32", &|a| a.uxt(g(0), g(1), 32));
    check("uxt from 4", &|a| a.uxt(g(0), g(1), 4));
    for off in [4, -4, 1, 512, 520, -520, -1024, i32::MAX, i32::MIN] {
        check("stp pre", &|a| a.stp_pre(g(0), g(1), g(2), off));
        check("ldp post", &|a| a.ldp_post(g(0), g(1), g(2), off));
        check("stp", &|a| a.stp(g(0), g(1), g(2), off));
        check("ldp", &|a| a.ldp(g(0), g(1), g(2), off));
    }
    check("unbound label", &|a| {
        let l = a.new_label();
        a.b(l);
    });
    check("unbound jump-table base", &|a| {
        let l = a.new_label();
        let base = a.new_label();
        a.bind(l);
        a.rel32(l, base);
    });
    println!("{n} misuse cases");
}

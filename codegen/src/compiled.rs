//! The result of compiling one stencil, and its stable encoding (what the function cache
//! stores).

use wasmprecomp_artifact::{DecodeError, Reader, TrapKind, Writer};

/// What a relocation's 4-byte field is patched with at link time, given the real index
/// of the stencil reference it names (see [`crate::stencil::Parameters`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RelocKind {
    /// `call rel32` to a defined function (the field holds `target - (field + 4)`).
    CallFunc = 0,
    /// VM-context offset of a function reference slot.
    VmFuncRef = 1,
    /// VM-context offset of a memory slot.
    VmMemory = 2,
    /// VM-context offset of a table slot.
    VmTable = 3,
    /// VM-context offset of a global slot.
    VmGlobal = 4,
    /// VM-context offset of a type's signature-id slot.
    VmSigId = 5,
    /// The real memory index.
    MemoryIndex = 6,
    /// The real table index.
    TableIndex = 7,
    /// The real data segment index.
    DataIndex = 8,
    /// The real element segment index.
    ElemIndex = 9,
    /// The low 32 bits of constant slot `index`'s value plus the addend (see
    /// [`crate::stencil::ConstClass`]): an immediate or a displacement. The slot's class
    /// guarantees the sum fits the field as the instruction reads it.
    Const = 10,
}

impl RelocKind {
    /// The kind of stencil reference a relocation of this kind names (`None` for a
    /// constant slot, which the parameters hold by value).
    pub fn ref_kind(self) -> Option<crate::stencil::RefKind> {
        use crate::stencil::RefKind;
        Some(match self {
            RelocKind::CallFunc | RelocKind::VmFuncRef => RefKind::Func,
            RelocKind::VmMemory | RelocKind::MemoryIndex => RefKind::Memory,
            RelocKind::VmTable | RelocKind::TableIndex => RefKind::Table,
            RelocKind::VmGlobal => RefKind::Global,
            RelocKind::VmSigId => RefKind::Type,
            RelocKind::DataIndex => RefKind::Data,
            RelocKind::ElemIndex => RefKind::Elem,
            RelocKind::Const => return None,
        })
    }

    fn from_code(c: u8) -> Option<RelocKind> {
        use RelocKind::*;
        Some(match c {
            0 => CallFunc,
            1 => VmFuncRef,
            2 => VmMemory,
            3 => VmTable,
            4 => VmGlobal,
            5 => VmSigId,
            6 => MemoryIndex,
            7 => TableIndex,
            8 => DataIndex,
            9 => ElemIndex,
            10 => Const,
            _ => return None,
        })
    }
}

/// A 4-byte field in compiled code that depends on the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloc {
    /// Offset of the field in the function's code.
    pub offset: u32,
    pub kind: RelocKind,
    /// The stencil reference number (per kind).
    pub index: u32,
    /// Added to the resolved value.
    pub addend: i32,
}

/// A trap site of a compiled stencil.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StencilTrap {
    /// Offset in the function's code of the return address pushed by the trap stub.
    pub code_offset: u32,
    pub kind: TrapKind,
    /// Byte offset in the stencil body.
    pub wasm_offset: u32,
}

/// Machine code for one stencil: position-independent, module-independent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompiledStencil {
    pub code: Vec<u8>,
    pub relocs: Vec<Reloc>,
    pub traps: Vec<StencilTrap>,
}

const MAGIC: &[u8; 4] = b"WPC2";
/// Encoded sizes of one relocation (offset, kind, index, addend) and one trap site
/// (code offset, kind, wasm offset).
const RELOC_LEN: usize = 13;
const TRAP_LEN: usize = 9;

impl CompiledStencil {
    /// Stable encoding, used as the function cache's payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.as_code().encode_into(&mut w);
        w.finish()
    }

    /// Decodes [`CompiledStencil::encode`]'s output, checking every field so a corrupt
    /// payload is an error rather than wrong code.
    pub fn decode(data: &[u8]) -> Result<CompiledStencil, DecodeError> {
        Ok(CodeRef::decode(data)?.to_owned())
    }

    /// A borrowed view of this code.
    pub fn as_code(&self) -> CodeRef<'_> {
        CodeRef {
            code: &self.code,
            relocs: Records::Decoded(&self.relocs),
            traps: Records::Decoded(&self.traps),
        }
    }
}

/// Relocations or trap sites: decoded, or still in their checked encoding.
#[derive(Debug, Clone, Copy)]
enum Records<'a, T> {
    Decoded(&'a [T]),
    Encoded(&'a [u8]),
}

impl<'a, T: Copy> Records<'a, T> {
    /// The records, decoding `len`-byte encoded ones with `parse`.
    fn iter(self, len: usize, parse: fn(&[u8]) -> T) -> impl ExactSizeIterator<Item = T> + 'a {
        let (decoded, encoded): (&[T], &[u8]) = match self {
            Records::Decoded(d) => (d, &[]),
            Records::Encoded(e) => (&[], e),
        };
        Either(
            decoded.iter().copied(),
            encoded.chunks_exact(len).map(parse),
        )
    }
}

/// Compiled code for one stencil, borrowed: from a [`CompiledStencil`], or straight from
/// the bytes of its encoding (a module manifest holds hundreds of these, and decoding
/// them into owned vectors cost more than linking them). Only [`CodeRef::decode`], which
/// checks every field, builds a view over encoded bytes.
#[derive(Debug, Clone, Copy)]
pub struct CodeRef<'a> {
    pub code: &'a [u8],
    relocs: Records<'a, Reloc>,
    traps: Records<'a, StencilTrap>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// One encoded record as a fixed-size array, so that reading its fields needs no bounds
/// checks (the chunks come from `chunks_exact`, so the conversion never fails).
fn record<const N: usize>(b: &[u8]) -> [u8; N] {
    b.try_into().unwrap_or([0; N])
}

fn reloc_at(b: &[u8]) -> Reloc {
    let b: [u8; RELOC_LEN] = record(b);
    Reloc {
        offset: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        // Checked by `CodeRef::decode`.
        kind: RelocKind::from_code(b[4]).unwrap_or(RelocKind::CallFunc),
        index: u32::from_le_bytes([b[5], b[6], b[7], b[8]]),
        addend: i32::from_le_bytes([b[9], b[10], b[11], b[12]]),
    }
}

fn trap_at(b: &[u8]) -> StencilTrap {
    let b: [u8; TRAP_LEN] = record(b);
    StencilTrap {
        code_offset: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        // Checked by `CodeRef::decode`.
        kind: TrapKind::from_code(b[4]).unwrap_or(TrapKind::Unreachable),
        wasm_offset: u32::from_le_bytes([b[5], b[6], b[7], b[8]]),
    }
}

impl<'a> CodeRef<'a> {
    /// A view of [`CompiledStencil::encode`]'s output, after checking every field: the
    /// magic, every relocation's and trap site's kind and offset, and the length.
    pub fn decode(data: &'a [u8]) -> Result<CodeRef<'a>, DecodeError> {
        let mut r = Reader::new(data);
        if r.take(4)? != MAGIC {
            return Err(r.err("bad compiled-stencil magic"));
        }
        let code = r.bytes()?;
        let n = r.count(RELOC_LEN)?;
        let relocs = r.take(n * RELOC_LEN)?;
        for (i, b) in relocs.chunks_exact(RELOC_LEN).enumerate() {
            let at = |what| DecodeError {
                offset: 8 + code.len() + 4 + i * RELOC_LEN,
                what,
            };
            if RelocKind::from_code(b[4]).is_none() {
                return Err(at("bad reloc kind"));
            }
            if u32_at(b, 0) as usize + 4 > code.len() {
                return Err(at("relocation outside code"));
            }
        }
        let n = r.count(TRAP_LEN)?;
        let traps_at = 8 + code.len() + 4 + relocs.len() + 4;
        let traps = r.take(n * TRAP_LEN)?;
        for (i, b) in traps.chunks_exact(TRAP_LEN).enumerate() {
            let at = |what| DecodeError {
                offset: traps_at + i * TRAP_LEN,
                what,
            };
            if TrapKind::from_code(b[4]).is_none() {
                return Err(at("bad trap kind"));
            }
            if u32_at(b, 0) as usize > code.len() {
                return Err(at("trap site outside code"));
            }
        }
        if !r.is_empty() {
            return Err(r.err("trailing bytes"));
        }
        Ok(CodeRef {
            code,
            relocs: Records::Encoded(relocs),
            traps: Records::Encoded(traps),
        })
    }

    /// The relocations, in order.
    pub fn relocs(&self) -> impl ExactSizeIterator<Item = Reloc> + 'a {
        self.relocs.iter(RELOC_LEN, reloc_at)
    }

    /// The trap sites, in order.
    pub fn traps(&self) -> impl ExactSizeIterator<Item = StencilTrap> + 'a {
        self.traps.iter(TRAP_LEN, trap_at)
    }

    /// An owned copy.
    pub fn to_owned(&self) -> CompiledStencil {
        CompiledStencil {
            code: self.code.to_vec(),
            relocs: self.relocs().collect(),
            traps: self.traps().collect(),
        }
    }

    /// The length of [`CodeRef::encode_into`]'s output.
    pub fn encoded_len(&self) -> usize {
        4 + 4
            + self.code.len()
            + 4
            + RELOC_LEN * self.relocs().len()
            + 4
            + TRAP_LEN * self.traps().len()
    }

    /// Appends [`CompiledStencil::encode`]'s encoding of this code to `w`.
    pub fn encode_into(&self, w: &mut Writer) {
        w.raw(MAGIC);
        w.bytes(self.code);
        w.u32(self.relocs().len() as u32);
        match self.relocs {
            Records::Encoded(e) => w.raw(e),
            Records::Decoded(d) => {
                for r in d {
                    w.u32(r.offset);
                    w.u8(r.kind as u8);
                    w.u32(r.index);
                    w.u32(r.addend as u32);
                }
            }
        }
        w.u32(self.traps().len() as u32);
        match self.traps {
            Records::Encoded(e) => w.raw(e),
            Records::Decoded(d) => {
                for t in d {
                    w.u32(t.code_offset);
                    w.u8(t.kind as u8);
                    w.u32(t.wasm_offset);
                }
            }
        }
    }
}

/// The same code, relocations and trap sites, however each side is held.
impl PartialEq for CodeRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.relocs().eq(other.relocs())
            && self.traps().eq(other.traps())
    }
}

impl Eq for CodeRef<'_> {}

/// Two iterators of which at most one yields anything, as one.
struct Either<A, B>(A, B);

impl<T, A: ExactSizeIterator<Item = T>, B: ExactSizeIterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.0.next().or_else(|| self.1.next())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.len() + self.1.len();
        (n, Some(n))
    }
}

impl<T, A: ExactSizeIterator<Item = T>, B: ExactSizeIterator<Item = T>> ExactSizeIterator
    for Either<A, B>
{
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CompiledStencil {
        CompiledStencil {
            code: (0u8..40).collect(),
            relocs: vec![
                Reloc {
                    offset: 3,
                    kind: RelocKind::CallFunc,
                    index: 2,
                    addend: -4,
                },
                Reloc {
                    offset: 36,
                    kind: RelocKind::ElemIndex,
                    index: 0,
                    addend: 7,
                },
            ],
            traps: vec![
                StencilTrap {
                    code_offset: 12,
                    kind: TrapKind::IntegerDivideByZero,
                    wasm_offset: 9,
                },
                StencilTrap {
                    code_offset: 40,
                    kind: TrapKind::UndefinedElement,
                    wasm_offset: 30,
                },
            ],
        }
    }

    #[test]
    fn a_view_of_the_encoding_equals_the_code_and_encodes_to_the_same_bytes() {
        let c = sample();
        let bytes = c.encode();
        let view = CodeRef::decode(&bytes).expect("decodes");
        assert_eq!(view, c.as_code());
        assert_eq!(view.to_owned(), c);
        assert_eq!(CompiledStencil::decode(&bytes).expect("decodes"), c);
        assert_eq!(view.encoded_len(), bytes.len());
        assert_eq!(c.as_code().encoded_len(), bytes.len());
        let mut w = Writer::new();
        view.encode_into(&mut w);
        assert_eq!(w.finish(), bytes);
        // Views that differ in any part are unequal.
        let mut other = c.clone();
        other.traps[1].wasm_offset += 1;
        assert_ne!(view, other.as_code());
        let mut other = c.clone();
        other.relocs[0].addend = 0;
        assert_ne!(view, other.as_code());
    }

    #[test]
    fn every_damaged_field_of_an_encoding_is_an_error() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(CodeRef::decode(&bytes[..len]).is_err(), "prefix {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(CodeRef::decode(&longer).is_err(), "trailing byte");
        // Field positions: magic 4, code length 4, code 40, count 4, then the records.
        let relocs = 4 + 4 + 40 + 4;
        let traps = relocs + 2 * RELOC_LEN + 4;
        let damaged = |at: usize, v: u8, what: &str| {
            let mut b = bytes.clone();
            b[at] = v;
            let e = CodeRef::decode(&b).expect_err(what);
            assert_eq!(e.what, what);
        };
        damaged(relocs + RELOC_LEN + 4, 99, "bad reloc kind");
        damaged(relocs + RELOC_LEN, 37, "relocation outside code");
        damaged(traps + 4, 99, "bad trap kind");
        damaged(traps + TRAP_LEN, 41, "trap site outside code");
        damaged(0, b'X', "bad compiled-stencil magic");
    }
}

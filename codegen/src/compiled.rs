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
}

impl RelocKind {
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

const MAGIC: &[u8; 4] = b"WPC1";

impl CompiledStencil {
    /// Stable encoding, used as the function cache's payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.bytes(&self.code);
        w.u32(self.relocs.len() as u32);
        for r in &self.relocs {
            w.u32(r.offset);
            w.u8(r.kind as u8);
            w.u32(r.index);
            w.u32(r.addend as u32);
        }
        w.u32(self.traps.len() as u32);
        for t in &self.traps {
            w.u32(t.code_offset);
            w.u8(t.kind as u8);
            w.u32(t.wasm_offset);
        }
        w.finish()
    }

    /// Decodes [`CompiledStencil::encode`]'s output, checking every field so a corrupt
    /// payload is an error rather than wrong code.
    pub fn decode(data: &[u8]) -> Result<CompiledStencil, DecodeError> {
        let mut r = Reader::new(data);
        if r.take(4)? != MAGIC {
            return Err(r.err("bad compiled-stencil magic"));
        }
        let code = r.bytes()?.to_vec();
        let n = r.count(13)?;
        let mut relocs = Vec::with_capacity(n);
        for _ in 0..n {
            let offset = r.u32()?;
            let kind = RelocKind::from_code(r.u8()?).ok_or_else(|| r.err("bad reloc kind"))?;
            let index = r.u32()?;
            let addend = r.u32()? as i32;
            if offset as usize + 4 > code.len() {
                return Err(r.err("relocation outside code"));
            }
            relocs.push(Reloc {
                offset,
                kind,
                index,
                addend,
            });
        }
        let n = r.count(9)?;
        let mut traps = Vec::with_capacity(n);
        for _ in 0..n {
            let code_offset = r.u32()?;
            let kind = TrapKind::from_code(r.u8()?).ok_or_else(|| r.err("bad trap kind"))?;
            let wasm_offset = r.u32()?;
            if code_offset as usize > code.len() {
                return Err(r.err("trap site outside code"));
            }
            traps.push(StencilTrap {
                code_offset,
                kind,
                wasm_offset,
            });
        }
        if !r.is_empty() {
            return Err(r.err("trailing bytes"));
        }
        Ok(CompiledStencil {
            code,
            relocs,
            traps,
        })
    }
}

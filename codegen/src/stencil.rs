//! The split of each function into a [`FunctionStencil`] (everything that decides its
//! machine code; its sha256 is the cache key) and [`Parameters`] (what makes the compiled
//! stencil this module's code).
//!
//! A stencil is the function body with every module-level index renamed to a dense
//! per-function *reference*, numbered per kind in order of first use, plus exactly the
//! facts code generation uses about each reference. Renaming is done by splicing the
//! original body bytes: operators without indices are copied verbatim, so building a
//! stencil is close to a memcpy and needs no translation. Where a renamed immediate
//! encodes to a different length, a [`Parameters::offset_fixups`] entry records it so trap
//! sites map back to exact offsets in the original module.

use crate::error::CompileError;
use crate::module::ModuleInfo;
use sha2::{Digest, Sha256};
use wasmparser::{BinaryReader, BlockType, Operator};
use wasmprecomp_artifact::{self as art, DecodeError, Reader, Writer};

/// The kinds of module-level entity a function body can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RefKind {
    Func = 0,
    Type = 1,
    Global = 2,
    Table = 3,
    Memory = 4,
    Data = 5,
    Elem = 6,
}

pub const NUM_REF_KINDS: usize = 7;

/// What code generation may know about a referenced function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncFact {
    pub ty: art::FuncType,
    pub imported: bool,
}

/// What code generation may know about a referenced global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalFact {
    pub ty: art::GlobalType,
    pub imported: bool,
}

/// What code generation may know about a referenced table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableFact {
    pub elem: art::ValType,
    pub imported: bool,
}

/// What code generation may know about a referenced memory. Limits are not part of it:
/// bounds checks compare against the current length at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryFact {
    pub imported: bool,
}

/// The facts about every reference of a stencil, indexed by reference number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StencilRefs {
    pub funcs: Vec<FuncFact>,
    pub types: Vec<art::FuncType>,
    pub globals: Vec<GlobalFact>,
    pub tables: Vec<TableFact>,
    pub memories: Vec<MemoryFact>,
    pub num_data: u32,
    pub num_elems: u32,
}

/// Everything that determines a function's machine code. Two functions with equal
/// stencils compile to identical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionStencil {
    /// The function's own signature.
    pub sig: art::FuncType,
    pub refs: StencilRefs,
    /// The canonical encoding: the facts, then the renamed body (locals + operators).
    bytes: Vec<u8>,
    /// Where the body starts in `bytes`.
    body_start: usize,
}

/// What turns a compiled stencil into this module's code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    /// The function's index (imports included).
    pub func_index: u32,
    /// Module-relative byte offset of the body (locals + operators).
    pub body_offset: u32,
    /// For each [`RefKind`], the real module index of each reference.
    pub refs: [Vec<u32>; NUM_REF_KINDS],
    /// `(stencil body position, bytes to add)`: positions at or after each entry are
    /// shifted by the sum of the deltas up to it (sorted by position).
    pub offset_fixups: Vec<(u32, i32)>,
}

impl Parameters {
    /// Maps an offset relative to the stencil body to a module-relative offset.
    pub fn module_offset(&self, stencil_pos: u32) -> u32 {
        let n = self
            .offset_fixups
            .partition_point(|(p, _)| *p <= stencil_pos);
        let delta: i64 = self.offset_fixups[..n].iter().map(|(_, d)| *d as i64).sum();
        (self.body_offset as i64 + stencil_pos as i64 + delta) as u32
    }
}

/// The cache key of a compiled stencil: sha256 over the compiler identity, the ISA and
/// its flags, and the stencil's canonical bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StencilKey(pub [u8; 32]);

/// Hashes by the first eight bytes: the key already is a SHA-256.
impl std::hash::Hash for StencilKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(b));
    }
}

/// A hasher for [`StencilKey`]s that passes their (already uniform) bits through
/// instead of running SipHash over them, which showed up in profiles of the hit path.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for other key types; fold the bytes in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
}

/// A map keyed by stencil keys.
pub type KeyMap<V> =
    std::collections::HashMap<StencilKey, V, std::hash::BuildHasherDefault<KeyHasher>>;
/// A set of stencil keys.
pub type KeySet = std::collections::HashSet<StencilKey, std::hash::BuildHasherDefault<KeyHasher>>;

impl StencilKey {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

const STENCIL_MAGIC: &[u8; 4] = b"WPS1";

impl FunctionStencil {
    /// The canonical bytes (what the key hashes).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The renamed body: locals, then operators, in the standard binary encoding.
    pub fn body(&self) -> &[u8] {
        &self.bytes[self.body_start..]
    }
    /// The cache key for compiling this stencil with a compiler identified by
    /// `compiler_identity` (codegen version, target, CPU features, flags).
    pub fn key(&self, compiler_identity: &[u8]) -> StencilKey {
        let mut h = Sha256::new();
        h.update(b"wasmprecomp-stencil\0");
        h.update((compiler_identity.len() as u32).to_le_bytes());
        h.update(compiler_identity);
        h.update(&self.bytes);
        StencilKey(h.finalize().into())
    }

    fn encode_facts(sig: &art::FuncType, refs: &StencilRefs, w: &mut Writer) {
        w.raw(STENCIL_MAGIC);
        write_functype(w, sig);
        w.u32(refs.funcs.len() as u32);
        for f in &refs.funcs {
            write_functype(w, &f.ty);
            w.bool(f.imported);
        }
        w.u32(refs.types.len() as u32);
        for t in &refs.types {
            write_functype(w, t);
        }
        w.u32(refs.globals.len() as u32);
        for g in &refs.globals {
            w.u8(g.ty.ty.code());
            w.bool(g.ty.mutable);
            w.bool(g.imported);
        }
        w.u32(refs.tables.len() as u32);
        for t in &refs.tables {
            w.u8(t.elem.code());
            w.bool(t.imported);
        }
        w.u32(refs.memories.len() as u32);
        for m in &refs.memories {
            w.bool(m.imported);
        }
        w.u32(refs.num_data);
        w.u32(refs.num_elems);
    }

    /// Builds a stencil from its parts (the body must use reference numbers).
    pub fn from_parts(sig: art::FuncType, refs: StencilRefs, body: &[u8]) -> FunctionStencil {
        let mut w = Writer::new();
        Self::encode_facts(&sig, &refs, &mut w);
        w.u32(body.len() as u32);
        let body_start = w.bytes.len();
        w.raw(body);
        FunctionStencil {
            sig,
            refs,
            bytes: w.finish(),
            body_start,
        }
    }

    /// Decodes canonical bytes produced by [`FunctionStencil::bytes`].
    pub fn decode(bytes: &[u8]) -> Result<FunctionStencil, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.take(4)? != STENCIL_MAGIC {
            return Err(r.err("bad stencil magic"));
        }
        let sig = read_functype(&mut r)?;
        let mut refs = StencilRefs::default();
        let n = r.count(3)?;
        for _ in 0..n {
            let ty = read_functype(&mut r)?;
            let imported = r.bool()?;
            refs.funcs.push(FuncFact { ty, imported });
        }
        let n = r.count(8)?;
        for _ in 0..n {
            refs.types.push(read_functype(&mut r)?);
        }
        let n = r.count(3)?;
        for _ in 0..n {
            let ty = art::ValType::from_code(r.u8()?).ok_or_else(|| r.err("bad type"))?;
            let mutable = r.bool()?;
            let imported = r.bool()?;
            refs.globals.push(GlobalFact {
                ty: art::GlobalType { ty, mutable },
                imported,
            });
        }
        let n = r.count(2)?;
        for _ in 0..n {
            let elem = art::ValType::from_code(r.u8()?).ok_or_else(|| r.err("bad type"))?;
            let imported = r.bool()?;
            refs.tables.push(TableFact { elem, imported });
        }
        let n = r.count(1)?;
        for _ in 0..n {
            refs.memories.push(MemoryFact {
                imported: r.bool()?,
            });
        }
        refs.num_data = r.u32()?;
        refs.num_elems = r.u32()?;
        let body = r.bytes()?;
        Ok(Self::from_parts(sig, refs, body))
    }
}

fn write_functype(w: &mut Writer, t: &art::FuncType) {
    w.u32(t.params.len() as u32);
    for p in &t.params {
        w.u8(p.code());
    }
    w.u32(t.results.len() as u32);
    for p in &t.results {
        w.u8(p.code());
    }
}

fn read_functype(r: &mut Reader) -> Result<art::FuncType, DecodeError> {
    let mut t = art::FuncType::default();
    let n = r.count(1)?;
    for _ in 0..n {
        t.params
            .push(art::ValType::from_code(r.u8()?).ok_or_else(|| r.err("bad type"))?);
    }
    let n = r.count(1)?;
    for _ in 0..n {
        t.results
            .push(art::ValType::from_code(r.u8()?).ok_or_else(|| r.err("bad type"))?);
    }
    Ok(t)
}

fn write_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn write_sleb(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0);
        if done {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Renames references while building one stencil.
struct Renamer<'m> {
    module: &'m ModuleInfo,
    /// Per kind: real index -> reference number (small linear maps; functions reference
    /// few distinct entities).
    maps: [Vec<(u32, u32)>; NUM_REF_KINDS],
    params: Parameters,
    refs: StencilRefs,
}

impl Renamer<'_> {
    fn rename(&mut self, kind: RefKind, real: u32) -> u32 {
        let map = &mut self.maps[kind as usize];
        if let Some(&(_, r)) = map.iter().find(|(x, _)| *x == real) {
            return r;
        }
        let r = map.len() as u32;
        map.push((real, r));
        self.params.refs[kind as usize].push(real);
        let m = &self.module.meta;
        match kind {
            RefKind::Func => self.refs.funcs.push(FuncFact {
                ty: m.func_type(real).cloned().unwrap_or_default(),
                imported: real < m.num_imported_funcs,
            }),
            RefKind::Type => self
                .refs
                .types
                .push(m.types.get(real as usize).cloned().unwrap_or_default()),
            RefKind::Global => self.refs.globals.push(GlobalFact {
                ty: global_type(m, real),
                imported: real < m.num_imported_globals,
            }),
            RefKind::Table => self.refs.tables.push(TableFact {
                elem: table_elem(m, real),
                imported: real < m.num_imported_tables,
            }),
            RefKind::Memory => self.refs.memories.push(MemoryFact {
                imported: real < m.num_imported_memories,
            }),
            RefKind::Data => self.refs.num_data += 1,
            RefKind::Elem => self.refs.num_elems += 1,
        }
        r
    }
}

fn global_type(m: &art::ModuleMeta, idx: u32) -> art::GlobalType {
    if idx < m.num_imported_globals {
        let mut i = 0;
        for imp in &m.imports {
            if let art::ImportKind::Global(g) = imp.kind {
                if i == idx {
                    return g;
                }
                i += 1;
            }
        }
    }
    m.globals
        .get((idx - m.num_imported_globals) as usize)
        .map(|g| g.ty)
        .unwrap_or(art::GlobalType {
            ty: art::ValType::I32,
            mutable: false,
        })
}

fn table_elem(m: &art::ModuleMeta, idx: u32) -> art::ValType {
    if idx < m.num_imported_tables {
        let mut i = 0;
        for imp in &m.imports {
            if let art::ImportKind::Table(t) = imp.kind {
                if i == idx {
                    return t.elem;
                }
                i += 1;
            }
        }
    }
    m.tables
        .get((idx - m.num_imported_tables) as usize)
        .map(|t| t.elem)
        .unwrap_or(art::ValType::FuncRef)
}

/// Builds the stencil and parameters of defined function `defined_index`.
pub fn build(
    module: &ModuleInfo,
    wasm: &[u8],
    defined_index: u32,
) -> Result<(FunctionStencil, Parameters), CompileError> {
    let range = module.bodies[defined_index as usize].clone();
    let func_index = module.meta.num_imported_funcs + defined_index;
    let body = &wasm[range.clone()];
    let err = |e: wasmparser::BinaryReaderError| CompileError::Malformed {
        message: e.message().to_string(),
        offset: e.offset(),
        function: Some(func_index),
    };
    let sig = module
        .meta
        .func_type(func_index)
        .cloned()
        .unwrap_or_default();
    let mut rn = Renamer {
        module,
        maps: Default::default(),
        params: Parameters {
            func_index,
            body_offset: range.start as u32,
            ..Default::default()
        },
        refs: StencilRefs::default(),
    };
    let fb = wasmparser::FunctionBody::new(BinaryReader::new(body, range.start as u64));
    let ops_reader = fb.get_binary_reader_for_operators().map_err(err)?;
    let ops_start = ops_reader.original_position() as usize - range.start;
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&body[..ops_start]);
    let mut reader = wasmparser::OperatorsReader::new(ops_reader);
    let mut copied_to = ops_start; // body-relative: bytes before this are in `out`
    while !reader.eof() {
        let (op, start) = reader.read_with_offset().map_err(err)?;
        let start = start as usize - range.start;
        let end = reader.original_position() as usize - range.start;
        let mut new = Vec::new();
        let rewritten = rewrite(&op, &mut rn, &mut new);
        if rewritten {
            out.extend_from_slice(&body[copied_to..start]);
            out.extend_from_slice(&new);
            copied_to = end;
            let delta = (end - start) as i64 - new.len() as i64;
            if delta != 0 {
                rn.params
                    .offset_fixups
                    .push((out.len() as u32, delta as i32));
            }
        }
    }
    out.extend_from_slice(&body[copied_to..]);
    let stencil = FunctionStencil::from_parts(sig, rn.refs, &out);
    Ok((stencil, rn.params))
}

/// Re-encodes `op` with renamed indices into `out`; returns false when `op` carries no
/// module-level index and can be copied verbatim.
fn rewrite(op: &Operator, rn: &mut Renamer, out: &mut Vec<u8>) -> bool {
    use Operator as O;
    let fc = |out: &mut Vec<u8>, sub: u64| {
        out.push(0xfc);
        write_uleb(out, sub);
    };
    match *op {
        O::Block { blockty } | O::Loop { blockty } | O::If { blockty } => {
            let BlockType::FuncType(t) = blockty else {
                return false;
            };
            out.push(match op {
                O::Block { .. } => 0x02,
                O::Loop { .. } => 0x03,
                _ => 0x04,
            });
            let r = rn.rename(RefKind::Type, t);
            write_sleb(out, r as i64);
        }
        O::Call { function_index } => {
            out.push(0x10);
            write_uleb(out, rn.rename(RefKind::Func, function_index) as u64);
        }
        O::CallIndirect {
            type_index,
            table_index,
        } => {
            out.push(0x11);
            write_uleb(out, rn.rename(RefKind::Type, type_index) as u64);
            write_uleb(out, rn.rename(RefKind::Table, table_index) as u64);
        }
        O::GlobalGet { global_index } | O::GlobalSet { global_index } => {
            out.push(if matches!(op, O::GlobalGet { .. }) {
                0x23
            } else {
                0x24
            });
            write_uleb(out, rn.rename(RefKind::Global, global_index) as u64);
        }
        O::TableGet { table } | O::TableSet { table } => {
            out.push(if matches!(op, O::TableGet { .. }) {
                0x25
            } else {
                0x26
            });
            write_uleb(out, rn.rename(RefKind::Table, table) as u64);
        }
        O::RefFunc { function_index } => {
            out.push(0xd2);
            write_uleb(out, rn.rename(RefKind::Func, function_index) as u64);
        }
        O::MemoryInit { data_index, mem } => {
            fc(out, 8);
            write_uleb(out, rn.rename(RefKind::Data, data_index) as u64);
            write_uleb(out, rn.rename(RefKind::Memory, mem) as u64);
        }
        O::DataDrop { data_index } => {
            fc(out, 9);
            write_uleb(out, rn.rename(RefKind::Data, data_index) as u64);
        }
        O::MemoryCopy { dst_mem, src_mem } => {
            fc(out, 10);
            write_uleb(out, rn.rename(RefKind::Memory, dst_mem) as u64);
            write_uleb(out, rn.rename(RefKind::Memory, src_mem) as u64);
        }
        O::MemoryFill { mem } => {
            fc(out, 11);
            write_uleb(out, rn.rename(RefKind::Memory, mem) as u64);
        }
        O::TableInit { elem_index, table } => {
            fc(out, 12);
            write_uleb(out, rn.rename(RefKind::Elem, elem_index) as u64);
            write_uleb(out, rn.rename(RefKind::Table, table) as u64);
        }
        O::ElemDrop { elem_index } => {
            fc(out, 13);
            write_uleb(out, rn.rename(RefKind::Elem, elem_index) as u64);
        }
        O::TableCopy {
            dst_table,
            src_table,
        } => {
            fc(out, 14);
            write_uleb(out, rn.rename(RefKind::Table, dst_table) as u64);
            write_uleb(out, rn.rename(RefKind::Table, src_table) as u64);
        }
        O::TableGrow { table } | O::TableSize { table } | O::TableFill { table } => {
            fc(
                out,
                match op {
                    O::TableGrow { .. } => 15,
                    O::TableSize { .. } => 16,
                    _ => 17,
                },
            );
            write_uleb(out, rn.rename(RefKind::Table, table) as u64);
        }
        O::MemorySize { mem } | O::MemoryGrow { mem } => {
            out.push(if matches!(op, O::MemorySize { .. }) {
                0x3f
            } else {
                0x40
            });
            write_uleb(out, rn.rename(RefKind::Memory, mem) as u64);
        }
        _ => {
            // Loads and stores name memory 0 implicitly (multi-memory is not compiled):
            // record the reference so its facts are part of the stencil.
            if let Some(m) = memarg_memory(op) {
                rn.rename(RefKind::Memory, m);
            }
            return false;
        }
    }
    true
}

fn memarg_memory(op: &Operator) -> Option<u32> {
    use Operator as O;
    let m = match op {
        O::I32Load { memarg }
        | O::I64Load { memarg }
        | O::F32Load { memarg }
        | O::F64Load { memarg }
        | O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg }
        | O::I64Load32S { memarg }
        | O::I64Load32U { memarg }
        | O::I32Store { memarg }
        | O::I64Store { memarg }
        | O::F32Store { memarg }
        | O::F64Store { memarg }
        | O::I32Store8 { memarg }
        | O::I32Store16 { memarg }
        | O::I64Store8 { memarg }
        | O::I64Store16 { memarg }
        | O::I64Store32 { memarg } => memarg,
        _ => return None,
    };
    match m.target {
        wasmparser::MemArgTarget::Memory(i) => Some(i),
        wasmparser::MemArgTarget::Array(_) => None,
    }
}

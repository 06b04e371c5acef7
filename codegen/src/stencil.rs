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
//!
//! Large integer constants and large load/store offsets are *constant slots*: numbered by
//! first use like references, their class (what code generation may assume about the
//! value) is in the stencil and their value in the [`Parameters`]. Most of them are
//! addresses of static data, which move whenever data laid out before them changes; as
//! slots they no longer split otherwise equal functions (see [`ConstClass`]).

use crate::error::CompileError;
use crate::module::ModuleInfo;
use sha2::{Digest, Sha256};
use wasm_encoder::reencode::Reencode;
use wasm_encoder::Encode;
use wasmparser::{BinaryReader, BlockType};
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

impl RefKind {
    /// Every kind, in the order of their numbers (the index of a per-kind array).
    pub const ALL: [RefKind; NUM_REF_KINDS] = [
        RefKind::Func,
        RefKind::Type,
        RefKind::Global,
        RefKind::Table,
        RefKind::Memory,
        RefKind::Data,
        RefKind::Elem,
    ];
}

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

/// Integer constants and load/store offsets of at least this magnitude become constant
/// slots; smaller ones stay in the stencil. Measured on the Rust corpus (see
/// `docs/architecture.md`, *Constant slots*).
pub const CONST_SLOT_THRESHOLD: u64 = 4096;

/// The largest load/store offset that becomes a constant slot: the offset plus any access
/// size (at most 16) then fits a signed 32-bit displacement and stays inside the guard
/// region, so the bounds-check strategy is the same for every value of the slot.
pub const OFFSET_SLOT_MAX: u64 = (1 << 31) - 17;

/// Whether `v` is `2^k`, `2^k - 1` or `-2^k` as an integer of `bits` (32 or 64), or a
/// byte mask (each byte 0x00 or 0xff: the masks of a byte swap written out, which the
/// translator must see to turn it into one).
fn is_mask(v: u64, bits: u32) -> bool {
    let m = u64::MAX >> (64 - bits);
    let v = v & m;
    let byte_mask = (0..bits / 8).all(|i| matches!((v >> (8 * i)) as u8, 0 | 0xff));
    byte_mask
        || [v, v.wrapping_add(1) & m, v.wrapping_neg() & m]
            .iter()
            .any(|x| x.is_power_of_two())
}

/// What code generation may assume about the value of a constant slot. The class is part
/// of the stencil (and so of the key); the value is a parameter. Code compiled for a
/// slot must be right for every value of its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConstClass {
    /// An `i32.const` of magnitude at least [`CONST_SLOT_THRESHOLD`] (as a signed value),
    /// not a mask or power of two (see [`ConstClass::of_i32`]): code must be right for
    /// any 32-bit pattern.
    I32 = 0,
    /// An `i64.const` in `CONST_SLOT_THRESHOLD..=u32::MAX`: its upper half is zero.
    I64Unsigned32 = 1,
    /// An `i64.const` in `i32::MIN..=-CONST_SLOT_THRESHOLD`: the sign extension of its
    /// low half.
    I64Signed32 = 2,
    /// A load/store offset in `CONST_SLOT_THRESHOLD..=OFFSET_SLOT_MAX`.
    Offset = 3,
}

impl ConstClass {
    /// The class with this [`ConstClass`] `as u8` code.
    pub fn from_code(c: u8) -> Option<ConstClass> {
        Some(match c {
            0 => ConstClass::I32,
            1 => ConstClass::I64Unsigned32,
            2 => ConstClass::I64Signed32,
            3 => ConstClass::Offset,
            _ => return None,
        })
    }

    /// The class of an `i32.const` with this value, when it becomes a slot. Masks and
    /// powers of two (`2^k`, `2^k - 1`, `-2^k`, byte masks) stay in the stencil: they
    /// are operands of `and`, `mul` and comparisons that an ISA folds (or the translator
    /// reads, in a byte swap written out), rarely the addresses that move (measured: the
    /// same hit rate, a tenth less code growth).
    pub fn of_i32(v: i32) -> Option<ConstClass> {
        ((v as i64).unsigned_abs() >= CONST_SLOT_THRESHOLD && !is_mask(v as u32 as u64, 32))
            .then_some(ConstClass::I32)
    }

    /// The class of an `i64.const` with this value, when it becomes a slot. Constants
    /// outside the 32-bit ranges stay in the stencil: they are rarely addresses, and an
    /// ISA may materialize them with more instructions than a 32-bit one. Masks and
    /// powers of two stay too, as for [`ConstClass::of_i32`].
    pub fn of_i64(v: i64) -> Option<ConstClass> {
        if v.unsigned_abs() < CONST_SLOT_THRESHOLD || is_mask(v as u64, 64) {
            None
        } else if (0..=u32::MAX as i64).contains(&v) {
            Some(ConstClass::I64Unsigned32)
        } else if (i32::MIN as i64..0).contains(&v) {
            Some(ConstClass::I64Signed32)
        } else {
            None
        }
    }

    /// The class of a load/store offset, when it becomes a slot.
    pub fn of_offset(v: u64) -> Option<ConstClass> {
        (CONST_SLOT_THRESHOLD..=OFFSET_SLOT_MAX)
            .contains(&v)
            .then_some(ConstClass::Offset)
    }

    /// Whether `value` (the slot's parameter: an `i32` as its 32 bits, an `i64` as its
    /// 64, an offset as it is) belongs to this class.
    pub fn admits(self, value: u64) -> bool {
        match self {
            ConstClass::I32 => {
                value <= u32::MAX as u64 && Self::of_i32(value as u32 as i32) == Some(self)
            }
            ConstClass::I64Unsigned32 | ConstClass::I64Signed32 => {
                Self::of_i64(value as i64) == Some(self)
            }
            ConstClass::Offset => Self::of_offset(value) == Some(self),
        }
    }
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
    /// The class of each constant slot, by slot number.
    pub consts: Vec<ConstClass>,
    /// Body positions (sorted) of the operators that use a constant slot: an
    /// `i32.const`/`i64.const` whose immediate is the slot number, or a load/store whose
    /// offset is.
    pub const_sites: Vec<u32>,
}

impl StencilRefs {
    /// Whether the operator at body position `pos` uses a constant slot.
    pub fn is_const_site(&self, pos: u32) -> bool {
        self.const_sites.binary_search(&pos).is_ok()
    }
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
    /// The value of each constant slot (an `i32` as its 32 bits zero-extended, an `i64`
    /// as its 64, an offset as it is).
    pub consts: Vec<u64>,
    /// Where each use of a constant slot has its immediate in the module's body, in body
    /// order: what a manifest row needs to match a body that differs only in those
    /// values (see [`crate::manifest::Row::matches`]).
    pub const_immediates: Vec<ConstImmediate>,
}

/// The immediate of one use of a constant slot in the original body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConstImmediate {
    /// Body-relative position of its LEB128 encoding.
    pub at: u32,
    /// Length of that encoding in bytes.
    pub len: u8,
    pub slot: u32,
    pub class: ConstClass,
}

impl ConstImmediate {
    /// Reads the value of an immediate of `class` from exactly `bytes`.
    pub fn read(class: ConstClass, bytes: &[u8]) -> Option<u64> {
        let mut r = BinaryReader::new(bytes, 0);
        let v = match class {
            ConstClass::I32 => r.read_var_i32().ok()? as u32 as u64,
            ConstClass::I64Unsigned32 | ConstClass::I64Signed32 => r.read_var_i64().ok()? as u64,
            ConstClass::Offset => r.read_var_u64().ok()?,
        };
        (r.eof() && class.admits(v)).then_some(v)
    }
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

    /// [`module_offset`](Self::module_offset) for many positions, in about constant time
    /// each when they come mostly in order (a function's trap sites, in code order): a
    /// cursor over the fixups steps to each position, and a binary search over their
    /// prefix sums takes a far one. A large function has thousands of trap sites and of
    /// fixups; summing the fixups once per site made linking it quadratic.
    pub fn module_offsets(&self) -> ModuleOffsets<'_> {
        ModuleOffsets {
            fixups: &self.offset_fixups,
            body_offset: self.body_offset,
            n: 0,
            delta: 0,
            prefix: Vec::new(),
        }
    }
}

/// See [`Parameters::module_offsets`].
pub struct ModuleOffsets<'a> {
    fixups: &'a [(u32, i32)],
    body_offset: u32,
    /// How many fixups lie at or before the last position asked, and the sum of their
    /// deltas.
    n: usize,
    delta: i64,
    /// The sum of the deltas of the fixups up to and including each one, built at the
    /// first far step.
    prefix: Vec<i64>,
}

impl ModuleOffsets<'_> {
    /// Fixups the cursor steps over before it searches instead.
    const NEAR: usize = 8;

    /// The module-relative offset of `stencil_pos`, as [`Parameters::module_offset`].
    pub fn get(&mut self, stencil_pos: u32) -> u32 {
        let f = self.fixups;
        let mut steps = 0;
        loop {
            if self.n < f.len() && f[self.n].0 <= stencil_pos {
                self.delta += f[self.n].1 as i64;
                self.n += 1;
            } else if self.n > 0 && f[self.n - 1].0 > stencil_pos {
                self.n -= 1;
                self.delta -= f[self.n].1 as i64;
            } else {
                break;
            }
            steps += 1;
            if steps == Self::NEAR {
                self.search(stencil_pos);
                break;
            }
        }
        (self.body_offset as i64 + stencil_pos as i64 + self.delta) as u32
    }

    /// Puts the cursor at `stencil_pos` by binary search.
    fn search(&mut self, stencil_pos: u32) {
        if self.prefix.is_empty() {
            let mut sum = 0i64;
            self.prefix = self
                .fixups
                .iter()
                .map(|(_, d)| {
                    sum += *d as i64;
                    sum
                })
                .collect();
        }
        self.n = self.fixups.partition_point(|(p, _)| *p <= stencil_pos);
        self.delta = self.n.checked_sub(1).map_or(0, |i| self.prefix[i]);
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

const STENCIL_MAGIC: &[u8; 4] = b"WPS2";

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
        w.u32(refs.consts.len() as u32);
        for c in &refs.consts {
            w.u8(*c as u8);
        }
        w.u32(refs.const_sites.len() as u32);
        for p in &refs.const_sites {
            w.u32(*p);
        }
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
        let n = r.count(1)?;
        for _ in 0..n {
            let c = ConstClass::from_code(r.u8()?).ok_or_else(|| r.err("bad constant class"))?;
            refs.consts.push(c);
        }
        let n = r.count(4)?;
        for _ in 0..n {
            refs.const_sites.push(r.u32()?);
        }
        let body = r.bytes()?;
        Ok(Self::from_parts(sig, refs, body))
    }
}

pub(crate) fn write_functype(w: &mut Writer, t: &art::FuncType) {
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

/// Renames references while building one stencil.
struct Renamer<'m> {
    module: &'m ModuleInfo,
    /// Per kind: real index -> reference number (small linear maps; functions reference
    /// few distinct entities).
    maps: [Vec<(u32, u32)>; NUM_REF_KINDS],
    /// Constant slots: (class, value) -> slot number.
    slots: Vec<(ConstClass, u64, u32)>,
    params: Parameters,
    refs: StencilRefs,
}

impl Renamer<'_> {
    fn missing(&self, what: &str, real: u32) -> CompileError {
        CompileError::Internal {
            message: format!("stencil: no facts for {what} {real}"),
            function: Some(self.params.func_index),
        }
    }

    /// The reference number of `real`, numbering it (and recording its facts) on first
    /// use. A fact the module does not have is an internal error, never a default.
    fn rename(&mut self, kind: RefKind, real: u32) -> Result<u32, CompileError> {
        let map = &self.maps[kind as usize];
        if let Some(&(_, r)) = map.iter().find(|(x, _)| *x == real) {
            return Ok(r);
        }
        let m = &self.module.meta;
        match kind {
            RefKind::Func => {
                let ty = m
                    .func_type(real)
                    .cloned()
                    .ok_or_else(|| self.missing("function", real))?;
                self.refs.funcs.push(FuncFact {
                    ty,
                    imported: real < m.num_imported_funcs,
                })
            }
            RefKind::Type => {
                let ty = m
                    .types
                    .get(real as usize)
                    .cloned()
                    .ok_or_else(|| self.missing("type", real))?;
                self.refs.types.push(ty)
            }
            RefKind::Global => {
                let ty = global_type(m, real).ok_or_else(|| self.missing("global", real))?;
                self.refs.globals.push(GlobalFact {
                    ty,
                    imported: real < m.num_imported_globals,
                })
            }
            RefKind::Table => {
                let elem = table_elem(m, real).ok_or_else(|| self.missing("table", real))?;
                self.refs.tables.push(TableFact {
                    elem,
                    imported: real < m.num_imported_tables,
                })
            }
            RefKind::Memory => {
                let count = m.num_imported_memories as usize + m.memories.len();
                if real as usize >= count {
                    return Err(self.missing("memory", real));
                }
                self.refs.memories.push(MemoryFact {
                    imported: real < m.num_imported_memories,
                })
            }
            RefKind::Data => {
                if real as usize >= m.data.len() {
                    return Err(self.missing("data segment", real));
                }
                self.refs.num_data += 1
            }
            RefKind::Elem => {
                if real as usize >= m.elements.len() {
                    return Err(self.missing("element segment", real));
                }
                self.refs.num_elems += 1
            }
        }
        let map = &mut self.maps[kind as usize];
        let r = map.len() as u32;
        map.push((real, r));
        self.params.refs[kind as usize].push(real);
        Ok(r)
    }

    /// The slot number of constant `value` of `class`, numbering it on first use (equal
    /// values of one class share a slot).
    fn const_slot(&mut self, class: ConstClass, value: u64) -> u32 {
        if let Some(&(_, _, s)) = self
            .slots
            .iter()
            .find(|(c, v, _)| *c == class && *v == value)
        {
            return s;
        }
        let s = self.slots.len() as u32;
        self.slots.push((class, value, s));
        self.refs.consts.push(class);
        self.params.consts.push(value);
        s
    }

    /// The reference number already given to `real` by the classifier.
    fn renamed(&self, kind: RefKind, real: u32) -> Result<u32, CompileError> {
        self.maps[kind as usize]
            .iter()
            .find(|(x, _)| *x == real)
            .map(|&(_, r)| r)
            .ok_or_else(|| CompileError::Internal {
                message: format!("stencil: {kind:?} {real} re-encoded but never classified"),
                function: Some(self.params.func_index),
            })
    }
}

pub(crate) fn global_type(m: &art::ModuleMeta, idx: u32) -> Option<art::GlobalType> {
    if idx < m.num_imported_globals {
        return m
            .imports
            .iter()
            .filter_map(|imp| match imp.kind {
                art::ImportKind::Global(g) => Some(g),
                _ => None,
            })
            .nth(idx as usize);
    }
    m.globals
        .get((idx - m.num_imported_globals) as usize)
        .map(|g| g.ty)
}

pub(crate) fn table_elem(m: &art::ModuleMeta, idx: u32) -> Option<art::ValType> {
    if idx < m.num_imported_tables {
        return m
            .imports
            .iter()
            .filter_map(|imp| match imp.kind {
                art::ImportKind::Table(t) => Some(t.elem),
                _ => None,
            })
            .nth(idx as usize);
    }
    m.tables
        .get((idx - m.num_imported_tables) as usize)
        .map(|t| t.elem)
}

/// Builds the stencil and parameters of defined function `defined_index`.
pub fn build(
    module: &ModuleInfo,
    wasm: &[u8],
    defined_index: u32,
) -> Result<(FunctionStencil, Parameters), CompileError> {
    let range = module
        .bodies
        .get(defined_index as usize)
        .cloned()
        .ok_or_else(|| CompileError::Internal {
            message: format!("stencil: no body for defined function {defined_index}"),
            function: None,
        })?;
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
        .ok_or_else(|| CompileError::Internal {
            message: format!("stencil: no signature for function {func_index}"),
            function: Some(func_index),
        })?;
    let mut rn = Renamer {
        module,
        maps: Default::default(),
        slots: Vec::new(),
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
    let mut new = Vec::new();
    while !reader.eof() {
        let start = reader.original_position() as usize - range.start;
        let mut classify = Classify {
            rn: &mut rn,
            indexed: false,
            slot: None,
        };
        reader.visit_operator(&mut classify).map_err(err)??;
        if !classify.indexed {
            continue;
        }
        let slot = classify.slot;
        let end = reader.original_position() as usize - range.start;
        // Re-read the operator and encode it with every index renamed.
        let mut one = wasmparser::OperatorsReader::new(BinaryReader::new(
            &body[start..end],
            (range.start + start) as u64,
        ));
        let op = one.read().map_err(err)?;
        let immediate = match slot {
            Some(_) => Some(immediate_of(&op, &body[start..end]).ok_or_else(|| {
                CompileError::Internal {
                    message: "stencil: constant slot on an operator without one".into(),
                    function: Some(func_index),
                }
            })?),
            None => None,
        };
        new.clear();
        Renumber { rn: &mut rn, slot }
            .instruction(op)
            .map_err(|e| reencode_error(e, func_index))?
            .encode(&mut new);
        out.extend_from_slice(&body[copied_to..start]);
        if let (Some(slot), Some((at, len))) = (slot, immediate) {
            rn.refs.const_sites.push(out.len() as u32);
            rn.params.const_immediates.push(ConstImmediate {
                at: (start + at) as u32,
                len: len as u8,
                slot,
                class: rn.refs.consts[slot as usize],
            });
        }
        out.extend_from_slice(&new);
        copied_to = end;
        let delta = (end - start) as i64 - new.len() as i64;
        if delta != 0 {
            rn.params
                .offset_fixups
                .push((out.len() as u32, delta as i32));
        }
    }
    out.extend_from_slice(&body[copied_to..]);
    let stencil = FunctionStencil::from_parts(sig, rn.refs, &out);
    Ok((stencil, rn.params))
}

/// Where, in the bytes of operator `op`, its constant or its memarg's offset is encoded:
/// `(start, length)`.
fn immediate_of(op: &wasmparser::Operator, bytes: &[u8]) -> Option<(usize, usize)> {
    use wasmparser::Operator;
    let mut r = BinaryReader::new(bytes, 0);
    let prefix = r.read_u8().ok()?;
    if !matches!(op, Operator::I32Const { .. } | Operator::I64Const { .. }) {
        if prefix == 0xfd {
            r.read_var_u32().ok()?;
        }
        let flags = r.read_var_u32().ok()?;
        if flags & (1 << 6) != 0 {
            r.read_var_u32().ok()?;
        }
    }
    // The LEB128 bytes up to and including the first without a continuation bit.
    let at = r.current_position();
    let len = bytes.get(at..)?.iter().position(|b| b & 0x80 == 0)? + 1;
    Some((at, len))
}

fn reencode_error(e: wasm_encoder::reencode::Error<CompileError>, function: u32) -> CompileError {
    match e {
        wasm_encoder::reencode::Error::UserError(e) => e,
        other => CompileError::Internal {
            message: format!("stencil: re-encoding failed: {other}"),
            function: Some(function),
        },
    }
}

/// Visits one operator and names each module-level index it carries to the [`Renamer`].
///
/// The visit methods are generated from wasmparser's list of every operator, and each
/// immediate is classified by its name in `classify_imm!` below: an operator whose
/// immediate is not listed there does not compile, so no index can reach a stencil
/// un-renamed with its facts left out of the key. Operators of proposals this compiler
/// does not compile (validation rejects them first) are refused here too.
struct Classify<'r, 'm> {
    rn: &'r mut Renamer<'m>,
    /// Whether the operator names a module-level entity or a constant slot (and is
    /// re-encoded).
    indexed: bool,
    /// The constant slot the operator's constant or offset becomes.
    slot: Option<u32>,
}

impl Classify<'_, '_> {
    fn index(&mut self, kind: RefKind, real: u32) -> Result<(), CompileError> {
        self.indexed = true;
        self.rn.rename(kind, real).map(|_| ())
    }

    /// Loads and stores name their memory through the memarg. With one memory the
    /// reference number equals the index, so the bytes are copied as they are; the
    /// reference is still recorded so its facts are part of the stencil.
    fn memarg(&mut self, m: &wasmparser::MemArg) -> Result<(), CompileError> {
        if let Some(class) = ConstClass::of_offset(m.offset) {
            self.constant(class, m.offset);
        }
        match m.target {
            wasmparser::MemArgTarget::Memory(i) => {
                if self.rn.rename(RefKind::Memory, i)? != i {
                    self.indexed = true;
                }
                Ok(())
            }
            wasmparser::MemArgTarget::Array(t) => self.index(RefKind::Type, t),
        }
    }

    /// The operator's constant (or offset) becomes a slot.
    fn constant(&mut self, class: ConstClass, value: u64) {
        self.indexed = true;
        self.slot = Some(self.rn.const_slot(class, value));
    }

    fn value<V: ConstImm>(&mut self, v: &V) {
        if let Some((class, value)) = v.slot_class() {
            self.constant(class, value)
        }
    }

    fn block_type(&mut self, bt: BlockType) -> Result<(), CompileError> {
        match bt {
            BlockType::FuncType(t) => self.index(RefKind::Type, t),
            BlockType::Type(t) => self.val_type(t),
            BlockType::Empty => Ok(()),
        }
    }

    fn val_type(&mut self, t: wasmparser::ValType) -> Result<(), CompileError> {
        match t {
            wasmparser::ValType::Ref(r) => self.heap_type(r.heap_type()),
            _ => Ok(()),
        }
    }

    fn heap_type(&mut self, h: wasmparser::HeapType) -> Result<(), CompileError> {
        match h {
            wasmparser::HeapType::Concrete(i) | wasmparser::HeapType::Exact(i) => {
                match i.as_module_index() {
                    Some(t) => self.index(RefKind::Type, t),
                    None => Err(self.not_compiled("gc")),
                }
            }
            wasmparser::HeapType::Abstract { .. } => Ok(()),
        }
    }

    fn not_compiled(&self, proposal: &str) -> CompileError {
        CompileError::Internal {
            message: format!("stencil: operator of the `{proposal}` proposal, which is not compiled, passed validation"),
            function: Some(self.rn.params.func_index),
        }
    }
}

/// One visit method per operator; see [`Classify`].
macro_rules! classify_ops {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                classify_ops!(@body self $proposal [$($($arg)*)?])
            }
        )*
    };
    // The proposals this compiler compiles (`module::SUPPORTED_FEATURES`).
    (@body $s:ident mvp [$($arg:ident)*]) => { classify_ops!(@imms $s [$($arg)*]) };
    (@body $s:ident sign_extension [$($arg:ident)*]) => { classify_ops!(@imms $s [$($arg)*]) };
    (@body $s:ident saturating_float_to_int [$($arg:ident)*]) => { classify_ops!(@imms $s [$($arg)*]) };
    (@body $s:ident bulk_memory [$($arg:ident)*]) => { classify_ops!(@imms $s [$($arg)*]) };
    (@body $s:ident reference_types [$($arg:ident)*]) => { classify_ops!(@imms $s [$($arg)*]) };
    (@body $s:ident simd [$($arg:ident)*]) => { classify_ops!(@imms $s [$($arg)*]) };
    (@body $s:ident relaxed_simd [$($arg:ident)*]) => { classify_ops!(@imms $s [$($arg)*]) };
    (@body $s:ident $other:ident [$($arg:ident)*]) => {{
        $( let _ = $arg; )*
        Err($s.not_compiled(stringify!($other)))
    }};
    (@imms $s:ident [$($arg:ident)*]) => {{
        $( classify_imm!($s $arg $arg); )*
        Ok(())
    }};
}

/// Classifies one immediate by its name in wasmparser's operator list.
macro_rules! classify_imm {
    ($s:ident function_index $v:ident) => {
        $s.index(RefKind::Func, $v)?
    };
    ($s:ident type_index $v:ident) => {
        $s.index(RefKind::Type, $v)?
    };
    ($s:ident table_index $v:ident) => {
        $s.index(RefKind::Table, $v)?
    };
    ($s:ident table $v:ident) => {
        $s.index(RefKind::Table, $v)?
    };
    ($s:ident dst_table $v:ident) => {
        $s.index(RefKind::Table, $v)?
    };
    ($s:ident src_table $v:ident) => {
        $s.index(RefKind::Table, $v)?
    };
    ($s:ident global_index $v:ident) => {
        $s.index(RefKind::Global, $v)?
    };
    ($s:ident mem $v:ident) => {
        $s.index(RefKind::Memory, $v)?
    };
    ($s:ident dst_mem $v:ident) => {
        $s.index(RefKind::Memory, $v)?
    };
    ($s:ident src_mem $v:ident) => {
        $s.index(RefKind::Memory, $v)?
    };
    ($s:ident data_index $v:ident) => {
        $s.index(RefKind::Data, $v)?
    };
    ($s:ident elem_index $v:ident) => {
        $s.index(RefKind::Elem, $v)?
    };
    ($s:ident memarg $v:ident) => {
        $s.memarg(&$v)?
    };
    ($s:ident blockty $v:ident) => {
        $s.block_type($v)?
    };
    ($s:ident hty $v:ident) => {
        $s.heap_type($v)?
    };
    ($s:ident ty $v:ident) => {
        $s.val_type($v)?
    };
    ($s:ident tys $v:ident) => {
        for t in $v {
            $s.val_type(t)?
        }
    };
    // Immediates that name nothing outside the function: copied as they are.
    ($s:ident local_index $v:ident) => {
        let _ = $v;
    };
    ($s:ident relative_depth $v:ident) => {
        let _ = $v;
    };
    ($s:ident targets $v:ident) => {
        let _ = $v;
    };
    // Constants: large integers become constant slots.
    ($s:ident value $v:ident) => {
        $s.value(&$v)
    };
    ($s:ident lane $v:ident) => {
        let _ = $v;
    };
    ($s:ident lanes $v:ident) => {
        let _ = $v;
    };
}

/// The immediate of a `*.const` operator: whether it becomes a constant slot.
trait ConstImm {
    fn slot_class(&self) -> Option<(ConstClass, u64)>;
}

impl ConstImm for i32 {
    fn slot_class(&self) -> Option<(ConstClass, u64)> {
        ConstClass::of_i32(*self).map(|c| (c, *self as u32 as u64))
    }
}

impl ConstImm for i64 {
    fn slot_class(&self) -> Option<(ConstClass, u64)> {
        ConstClass::of_i64(*self).map(|c| (c, *self as u64))
    }
}

/// Float and vector constants stay in the stencil.
impl ConstImm for wasmparser::Ieee32 {
    fn slot_class(&self) -> Option<(ConstClass, u64)> {
        None
    }
}

impl ConstImm for wasmparser::Ieee64 {
    fn slot_class(&self) -> Option<(ConstClass, u64)> {
        None
    }
}

impl ConstImm for wasmparser::V128 {
    fn slot_class(&self) -> Option<(ConstClass, u64)> {
        None
    }
}

impl<'a> wasmparser::VisitOperator<'a> for Classify<'_, '_> {
    type Output = Result<(), CompileError>;
    fn simd_visitor(
        &mut self,
    ) -> Option<&mut dyn wasmparser::VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }
    wasmparser::for_each_visit_operator!(classify_ops);
}

impl<'a> wasmparser::VisitSimdOperator<'a> for Classify<'_, '_> {
    wasmparser::for_each_visit_simd_operator!(classify_ops);
}

/// Encodes an operator with each index replaced by the reference number the classifier
/// gave it, and its constant or offset by its slot number when it has one.
struct Renumber<'r, 'm> {
    rn: &'r mut Renamer<'m>,
    slot: Option<u32>,
}

impl Renumber<'_, '_> {
    fn get(
        &mut self,
        kind: RefKind,
        real: u32,
    ) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        self.rn
            .renamed(kind, real)
            .map_err(wasm_encoder::reencode::Error::UserError)
    }
}

impl wasm_encoder::reencode::Reencode for Renumber<'_, '_> {
    type Error = CompileError;
    fn instruction<'a>(
        &mut self,
        op: wasmparser::Operator<'a>,
    ) -> Result<wasm_encoder::Instruction<'a>, wasm_encoder::reencode::Error<CompileError>> {
        use wasmparser::Operator;
        match (op, self.slot) {
            (Operator::I32Const { .. }, Some(s)) => {
                Ok(wasm_encoder::Instruction::I32Const(s as i32))
            }
            (Operator::I64Const { .. }, Some(s)) => {
                Ok(wasm_encoder::Instruction::I64Const(s as i64))
            }
            (op, _) => wasm_encoder::reencode::utils::instruction(self, op),
        }
    }
    fn mem_arg(
        &mut self,
        arg: wasmparser::MemArg,
    ) -> Result<wasm_encoder::MemArg, wasm_encoder::reencode::Error<CompileError>> {
        let mut arg = arg;
        if let Some(s) = self.slot {
            arg.offset = s as u64;
        }
        wasm_encoder::reencode::utils::mem_arg(self, arg)
    }
    fn function_index(
        &mut self,
        i: u32,
    ) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        self.get(RefKind::Func, i)
    }
    fn type_index(&mut self, i: u32) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        self.get(RefKind::Type, i)
    }
    fn global_index(&mut self, i: u32) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        self.get(RefKind::Global, i)
    }
    fn table_index(&mut self, i: u32) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        self.get(RefKind::Table, i)
    }
    fn memory_index(&mut self, i: u32) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        self.get(RefKind::Memory, i)
    }
    fn data_index(&mut self, i: u32) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        self.get(RefKind::Data, i)
    }
    fn element_index(
        &mut self,
        i: u32,
    ) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        self.get(RefKind::Elem, i)
    }
    fn tag_index(&mut self, i: u32) -> Result<u32, wasm_encoder::reencode::Error<CompileError>> {
        Err(wasm_encoder::reencode::Error::UserError(
            CompileError::Internal {
                message: format!("stencil: tag {i} (exception handling is not compiled)"),
                function: Some(self.rn.params.func_index),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_offsets_map_every_position_as_module_offset_does() {
        let params = Parameters {
            body_offset: 1000,
            offset_fixups: vec![(3, 2), (3, -1), (10, 4), (11, -3), (40, 1)],
            ..Parameters::default()
        };
        let mut offsets = params.module_offsets();
        for pos in 0..50 {
            assert_eq!(
                offsets.get(pos),
                params.module_offset(pos),
                "position {pos}"
            );
        }
        assert_eq!(offsets.get(0), 1000);
        assert_eq!(offsets.get(10), 1015);
        assert_eq!(offsets.get(49), 1052);
        let none = Parameters {
            body_offset: 7,
            ..Parameters::default()
        };
        assert_eq!(none.module_offsets().get(5), 12);
    }

    #[test]
    fn module_offsets_agree_with_module_offset_in_any_order_of_positions() {
        // Fixups every third position, some at one position, deltas of both signs.
        let offset_fixups: Vec<(u32, i32)> = (0..200u32)
            .flat_map(|i| {
                let d = (i as i32 % 7) - 3;
                [(i * 3, d), (i * 3, 1)]
                    .into_iter()
                    .take(1 + (i % 2) as usize)
            })
            .collect();
        let params = Parameters {
            body_offset: 5000,
            offset_fixups,
            ..Parameters::default()
        };
        let mut offsets = params.module_offsets();
        // Forward, backward, far jumps both ways and repeats (a multiplicative
        // sequence over 0..700).
        let positions = (0..2000u32).map(|i| (i * 263 + i / 3) % 700);
        for pos in positions.chain((0..700).rev()).chain([699, 0, 350, 350, 1]) {
            assert_eq!(
                offsets.get(pos),
                params.module_offset(pos),
                "position {pos}"
            );
        }
    }
}

//! Module metadata carried by an artifact: everything the runtime needs besides the code.

use crate::encode::{DecodeError, Reader, Writer};
use crate::{MetaError, FORMAT_VERSION, META_MAGIC};

/// A WebAssembly value type as the runtime sees it. Every value occupies one 8-byte slot
/// in value arrays passed between the host and compiled code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    FuncRef,
    ExternRef,
    /// A 128-bit vector (the SIMD proposal, part of WebAssembly 2.0).
    V128,
}

impl ValType {
    pub fn code(self) -> u8 {
        match self {
            ValType::I32 => 0,
            ValType::I64 => 1,
            ValType::F32 => 2,
            ValType::F64 => 3,
            ValType::FuncRef => 4,
            ValType::ExternRef => 5,
            ValType::V128 => 6,
        }
    }
    pub fn from_code(c: u8) -> Option<ValType> {
        Some(match c {
            0 => ValType::I32,
            1 => ValType::I64,
            2 => ValType::F32,
            3 => ValType::F64,
            4 => ValType::FuncRef,
            5 => ValType::ExternRef,
            6 => ValType::V128,
            _ => return None,
        })
    }
    /// Whether the value is a scalar float (`f32` or `f64`).
    pub fn is_float(self) -> bool {
        matches!(self, ValType::F32 | ValType::F64)
    }
    /// Whether the value travels in a floating-point/vector register in the calling
    /// convention (floats and `v128`).
    pub fn in_vector_regs(self) -> bool {
        matches!(self, ValType::F32 | ValType::F64 | ValType::V128)
    }
    /// Bytes the value takes in a stack-argument or results area: 8, or 16 for `v128`.
    pub fn area_bytes(self) -> u32 {
        if self == ValType::V128 {
            16
        } else {
            8
        }
    }
    fn write(self, w: &mut Writer) {
        w.u8(self.code())
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let c = r.u8()?;
        ValType::from_code(c).ok_or_else(|| r.err("bad value type"))
    }
}

impl std::fmt::Display for ValType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
            ValType::V128 => "v128",
        })
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl FuncType {
    fn write(&self, w: &mut Writer) {
        w.u32(self.params.len() as u32);
        for p in &self.params {
            p.write(w);
        }
        w.u32(self.results.len() as u32);
        for p in &self.results {
            p.write(w);
        }
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let n = r.count(1)?;
        let params = (0..n).map(|_| ValType::read(r)).collect::<Result<_, _>>()?;
        let n = r.count(1)?;
        let results = (0..n).map(|_| ValType::read(r)).collect::<Result<_, _>>()?;
        Ok(FuncType { params, results })
    }
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p: Vec<String> = self.params.iter().map(|t| t.to_string()).collect();
        let r: Vec<String> = self.results.iter().map(|t| t.to_string()).collect();
        write!(f, "({}) -> ({})", p.join(", "), r.join(", "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    pub min: u64,
    pub max: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableType {
    pub elem: ValType,
    pub limits: Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryType {
    pub limits: Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    pub ty: ValType,
    pub mutable: bool,
}

/// A constant expression (global initializers, segment offsets, element items).
#[derive(Debug, Clone, PartialEq)]
pub enum ConstExpr {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    RefNull(ValType),
    RefFunc(u32),
    GlobalGet(u32),
    /// Extended constant expressions: a small stack program.
    Ops(Vec<ConstOp>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstOp {
    I32(i32),
    I64(i64),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

impl ConstExpr {
    fn write(&self, w: &mut Writer) {
        match self {
            ConstExpr::I32(v) => {
                w.u8(0);
                w.u32(*v as u32)
            }
            ConstExpr::I64(v) => {
                w.u8(1);
                w.u64(*v as u64)
            }
            ConstExpr::F32(v) => {
                w.u8(2);
                w.u32(*v)
            }
            ConstExpr::F64(v) => {
                w.u8(3);
                w.u64(*v)
            }
            ConstExpr::RefNull(t) => {
                w.u8(4);
                t.write(w)
            }
            ConstExpr::RefFunc(i) => {
                w.u8(5);
                w.u32(*i)
            }
            ConstExpr::GlobalGet(i) => {
                w.u8(6);
                w.u32(*i)
            }
            ConstExpr::V128(v) => {
                w.u8(8);
                w.u64(*v as u64);
                w.u64((*v >> 64) as u64)
            }
            ConstExpr::Ops(ops) => {
                w.u8(7);
                w.u32(ops.len() as u32);
                for op in ops {
                    match op {
                        ConstOp::I32(v) => {
                            w.u8(0);
                            w.u32(*v as u32)
                        }
                        ConstOp::I64(v) => {
                            w.u8(1);
                            w.u64(*v as u64)
                        }
                        ConstOp::GlobalGet(i) => {
                            w.u8(2);
                            w.u32(*i)
                        }
                        ConstOp::I32Add => w.u8(3),
                        ConstOp::I32Sub => w.u8(4),
                        ConstOp::I32Mul => w.u8(5),
                        ConstOp::I64Add => w.u8(6),
                        ConstOp::I64Sub => w.u8(7),
                        ConstOp::I64Mul => w.u8(8),
                    }
                }
            }
        }
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(match r.u8()? {
            0 => ConstExpr::I32(r.u32()? as i32),
            1 => ConstExpr::I64(r.u64()? as i64),
            2 => ConstExpr::F32(r.u32()?),
            3 => ConstExpr::F64(r.u64()?),
            4 => ConstExpr::RefNull(ValType::read(r)?),
            5 => ConstExpr::RefFunc(r.u32()?),
            6 => ConstExpr::GlobalGet(r.u32()?),
            8 => {
                let lo = r.u64()? as u128;
                let hi = r.u64()? as u128;
                ConstExpr::V128(lo | (hi << 64))
            }
            7 => {
                let n = r.count(1)?;
                let mut ops = Vec::with_capacity(n);
                for _ in 0..n {
                    ops.push(match r.u8()? {
                        0 => ConstOp::I32(r.u32()? as i32),
                        1 => ConstOp::I64(r.u64()? as i64),
                        2 => ConstOp::GlobalGet(r.u32()?),
                        3 => ConstOp::I32Add,
                        4 => ConstOp::I32Sub,
                        5 => ConstOp::I32Mul,
                        6 => ConstOp::I64Add,
                        7 => ConstOp::I64Sub,
                        8 => ConstOp::I64Mul,
                        _ => return Err(r.err("bad const op")),
                    })
                }
                ConstExpr::Ops(ops)
            }
            _ => return Err(r.err("bad const expr")),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImportKind {
    Func(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternKind {
    Func,
    Table,
    Memory,
    Global,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub kind: ExternKind,
    pub index: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    pub ty: GlobalType,
    pub init: ConstExpr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SegmentMode {
    Active { index: u32, offset: ConstExpr },
    Passive,
    Declared,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ElementSegment {
    pub mode: SegmentMode,
    pub ty: ValType,
    pub items: Vec<ConstExpr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataSegment {
    pub mode: SegmentMode,
    pub bytes: Vec<u8>,
}

/// Why compiled code stopped: the kinds of trap a compiled function can raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TrapKind {
    Unreachable = 0,
    MemoryOutOfBounds = 1,
    TableOutOfBounds = 2,
    IndirectCallToNull = 3,
    BadSignature = 4,
    IntegerDivideByZero = 5,
    IntegerOverflow = 6,
    BadConversionToInteger = 7,
    StackOverflow = 8,
    NullReference = 9,
    /// A host function returned an error; the runtime holds the details.
    HostError = 10,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement = 11,
    /// The store's fuel ran out (code compiled with fuel interruption).
    OutOfFuel = 12,
    /// The engine's epoch reached the store's deadline (code compiled with epoch
    /// interruption).
    Interrupt = 13,
}

/// The low bits of an encoded trap site that hold its kind.
const TRAP_KIND_BITS: u32 = 4;
const _: () = assert!((TrapKind::Interrupt as u32) < 1 << TRAP_KIND_BITS);

impl TrapKind {
    pub fn from_code(c: u8) -> Option<TrapKind> {
        use TrapKind::*;
        Some(match c {
            0 => Unreachable,
            1 => MemoryOutOfBounds,
            2 => TableOutOfBounds,
            3 => IndirectCallToNull,
            4 => BadSignature,
            5 => IntegerDivideByZero,
            6 => IntegerOverflow,
            7 => BadConversionToInteger,
            8 => StackOverflow,
            9 => NullReference,
            10 => HostError,
            11 => UndefinedElement,
            12 => OutOfFuel,
            13 => Interrupt,
            _ => return None,
        })
    }
    /// The message the WebAssembly spec test suite uses for this trap.
    pub fn message(self) -> &'static str {
        use TrapKind::*;
        match self {
            Unreachable => "unreachable",
            MemoryOutOfBounds => "out of bounds memory access",
            TableOutOfBounds => "out of bounds table access",
            UndefinedElement => "undefined element",
            IndirectCallToNull => "uninitialized element",
            BadSignature => "indirect call type mismatch",
            IntegerDivideByZero => "integer divide by zero",
            IntegerOverflow => "integer overflow",
            BadConversionToInteger => "invalid conversion to integer",
            StackOverflow => "call stack exhausted",
            NullReference => "null reference",
            HostError => "host error",
            OutOfFuel => "all fuel consumed by WebAssembly",
            Interrupt => "interrupt",
        }
    }
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// One trap site: the return address pushed by the trap stub's call (offset in `.text`),
/// the trap kind and the wasm byte offset of the instruction that trapped (module-relative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrapSite {
    pub text_offset: u32,
    pub kind: TrapKind,
    pub wasm_offset: u32,
}

/// Where a defined function's code sits in `.text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCode {
    pub text_offset: u32,
    pub len: u32,
}

/// Per-signature trampolines, in `.text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trampolines {
    /// `extern "sysv64" fn(vmctx, code, values: *mut u64)`: calls a compiled function with
    /// arguments read from `values` and writes its results back to `values`.
    pub array_to_wasm: u32,
    /// A compiled-code-callable function with this signature that forwards to a host
    /// function through a [`HostFuncCtx`](crate::HOSTCTX_CALLBACK) context.
    pub wasm_to_host: u32,
}

/// The header identifying what an artifact was compiled for. The runtime refuses an
/// artifact whose header does not match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactHeader {
    pub format_version: u32,
    pub codegen_version: String,
    pub target: String,
    pub cpu_features: Vec<String>,
    pub flags: String,
    pub wasm_sha256: [u8; 32],
    /// BLAKE3 of the wasm: the digest the module-tier cache key covers, so a cached
    /// artifact can be checked against the module it is served for without hashing the
    /// module a second time.
    pub wasm_blake3: [u8; 32],
}

/// Everything about a module that is not code.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModuleMeta {
    pub header: ArtifactHeader,
    pub types: Vec<FuncType>,
    pub imports: Vec<Import>,
    /// Type index of every function, imported ones first.
    pub functions: Vec<u32>,
    pub num_imported_funcs: u32,
    pub num_imported_tables: u32,
    pub num_imported_memories: u32,
    pub num_imported_globals: u32,
    /// Defined tables, memories and globals.
    pub tables: Vec<TableType>,
    pub memories: Vec<MemoryType>,
    pub globals: Vec<Global>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elements: Vec<ElementSegment>,
    pub data: Vec<DataSegment>,
    /// Code of each defined function.
    pub code: Vec<FunctionCode>,
    /// Trampolines for each type index.
    pub trampolines: Vec<Trampolines>,
    /// Sorted by `text_offset`.
    pub traps: Vec<TrapSite>,
}

impl Default for ArtifactHeader {
    fn default() -> Self {
        ArtifactHeader {
            format_version: FORMAT_VERSION,
            codegen_version: String::new(),
            target: String::new(),
            cpu_features: Vec::new(),
            flags: String::new(),
            wasm_sha256: [0; 32],
            wasm_blake3: [0; 32],
        }
    }
}

fn write_limits(w: &mut Writer, l: &Limits) {
    w.u64(l.min);
    w.opt_u64(l.max);
}
fn read_limits(r: &mut Reader) -> Result<Limits, DecodeError> {
    Ok(Limits {
        min: r.u64()?,
        max: r.opt_u64()?,
    })
}
fn write_table(w: &mut Writer, t: &TableType) {
    t.elem.write(w);
    write_limits(w, &t.limits);
}
fn read_table(r: &mut Reader) -> Result<TableType, DecodeError> {
    Ok(TableType {
        elem: ValType::read(r)?,
        limits: read_limits(r)?,
    })
}
fn write_global_type(w: &mut Writer, g: &GlobalType) {
    g.ty.write(w);
    w.bool(g.mutable);
}
fn read_global_type(r: &mut Reader) -> Result<GlobalType, DecodeError> {
    Ok(GlobalType {
        ty: ValType::read(r)?,
        mutable: r.bool()?,
    })
}
fn write_mode(w: &mut Writer, m: &SegmentMode) {
    match m {
        SegmentMode::Active { index, offset } => {
            w.u8(0);
            w.u32(*index);
            offset.write(w);
        }
        SegmentMode::Passive => w.u8(1),
        SegmentMode::Declared => w.u8(2),
    }
}
fn read_mode(r: &mut Reader) -> Result<SegmentMode, DecodeError> {
    Ok(match r.u8()? {
        0 => SegmentMode::Active {
            index: r.u32()?,
            offset: ConstExpr::read(r)?,
        },
        1 => SegmentMode::Passive,
        2 => SegmentMode::Declared,
        _ => return Err(r.err("bad segment mode")),
    })
}
fn extern_kind_code(k: ExternKind) -> u8 {
    match k {
        ExternKind::Func => 0,
        ExternKind::Table => 1,
        ExternKind::Memory => 2,
        ExternKind::Global => 3,
    }
}

fn read_magic(r: &mut Reader) -> Result<(), DecodeError> {
    if r.take(8)? != META_MAGIC {
        return Err(r.err("bad metadata magic"));
    }
    Ok(())
}

/// A count (checked against the bytes left, at `min_item_size` bytes an item at least)
/// and that many items.
fn list<'a, T>(
    r: &mut Reader<'a>,
    min_item_size: usize,
    mut item: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let n = r.count(min_item_size)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(item(r)?);
    }
    Ok(v)
}

/// Names the metadata part a decoding error happened in.
fn field(name: &'static str) -> impl Fn(DecodeError) -> MetaError {
    move |e| MetaError::new(name, e.to_string())
}

impl ArtifactHeader {
    /// Writes the header with a zero checksum, which [`seal`](crate::seal) fills in once
    /// the whole artifact is laid out.
    pub fn write(&self, w: &mut Writer) {
        w.u32(self.format_version);
        w.u64(0);
        w.str(&self.codegen_version);
        w.str(&self.target);
        w.u32(self.cpu_features.len() as u32);
        for f in &self.cpu_features {
            w.str(f);
        }
        w.str(&self.flags);
        w.raw(&self.wasm_sha256);
        w.raw(&self.wasm_blake3);
    }
    pub fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let format_version = r.u32()?;
        if format_version != FORMAT_VERSION {
            // Stop here: the rest of the layout may differ.
            return Ok(ArtifactHeader {
                format_version,
                ..Default::default()
            });
        }
        // The checksum (see `CHECKSUM_OFFSET`), which the whole file is checked against.
        r.take(8)?;
        let codegen_version = r.str()?;
        let target = r.str()?;
        let n = r.count(4)?;
        let cpu_features = (0..n).map(|_| r.str()).collect::<Result<_, _>>()?;
        let flags = r.str()?;
        let mut wasm_sha256 = [0u8; 32];
        wasm_sha256.copy_from_slice(r.take(32)?);
        let mut wasm_blake3 = [0u8; 32];
        wasm_blake3.copy_from_slice(r.take(32)?);
        Ok(ArtifactHeader {
            format_version,
            codegen_version,
            target,
            cpu_features,
            flags,
            wasm_sha256,
            wasm_blake3,
        })
    }
}

impl ModuleMeta {
    /// Encodes the metadata, starting with [`META_MAGIC`] and the header.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len_hint());
        self.encode_into(&mut out);
        out
    }

    /// About the length of [`ModuleMeta::encode`]'s output: exact for the parts that
    /// grow with the module (data, code, traps), a generous allowance for the
    /// rest. A buffer of this capacity rarely grows while the metadata is encoded.
    pub fn encoded_len_hint(&self) -> usize {
        let strings = |it: &mut dyn Iterator<Item = usize>| it.map(|n| n + 4).sum::<usize>();
        4096 + self
            .types
            .iter()
            .map(|t| 8 + t.params.len() + t.results.len())
            .sum::<usize>()
            + strings(
                &mut self
                    .imports
                    .iter()
                    .map(|i| i.module.len() + i.name.len() + 24),
            )
            + 4 * self.functions.len()
            + 24 * (self.tables.len() + self.memories.len() + self.globals.len())
            + strings(&mut self.exports.iter().map(|e| e.name.len() + 5))
            + self
                .elements
                .iter()
                .map(|e| 32 + 12 * e.items.len())
                .sum::<usize>()
            + strings(&mut self.data.iter().map(|d| d.bytes.len() + 24))
            + 8 * (self.code.len() + self.trampolines.len())
            + 3 * self.traps.len()
    }

    /// [`ModuleMeta::encode`], appended to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut w = Writer {
            bytes: std::mem::take(out),
        };
        w.raw(&META_MAGIC);
        self.header.write(&mut w);
        w.u32(self.types.len() as u32);
        for t in &self.types {
            t.write(&mut w);
        }
        w.u32(self.imports.len() as u32);
        for i in &self.imports {
            w.str(&i.module);
            w.str(&i.name);
            match &i.kind {
                ImportKind::Func(t) => {
                    w.u8(0);
                    w.u32(*t)
                }
                ImportKind::Table(t) => {
                    w.u8(1);
                    write_table(&mut w, t)
                }
                ImportKind::Memory(m) => {
                    w.u8(2);
                    write_limits(&mut w, &m.limits)
                }
                ImportKind::Global(g) => {
                    w.u8(3);
                    write_global_type(&mut w, g)
                }
            }
        }
        w.u32(self.functions.len() as u32);
        for f in &self.functions {
            w.u32(*f);
        }
        w.u32(self.num_imported_funcs);
        w.u32(self.num_imported_tables);
        w.u32(self.num_imported_memories);
        w.u32(self.num_imported_globals);
        w.u32(self.tables.len() as u32);
        for t in &self.tables {
            write_table(&mut w, t);
        }
        w.u32(self.memories.len() as u32);
        for m in &self.memories {
            write_limits(&mut w, &m.limits);
        }
        w.u32(self.globals.len() as u32);
        for g in &self.globals {
            write_global_type(&mut w, &g.ty);
            g.init.write(&mut w);
        }
        w.u32(self.exports.len() as u32);
        for e in &self.exports {
            w.str(&e.name);
            w.u8(extern_kind_code(e.kind));
            w.u32(e.index);
        }
        w.opt_u32(self.start);
        w.u32(self.elements.len() as u32);
        for e in &self.elements {
            write_mode(&mut w, &e.mode);
            e.ty.write(&mut w);
            w.u32(e.items.len() as u32);
            for it in &e.items {
                it.write(&mut w);
            }
        }
        w.u32(self.data.len() as u32);
        for d in &self.data {
            write_mode(&mut w, &d.mode);
            w.bytes(&d.bytes);
        }
        w.u32(self.code.len() as u32);
        for c in &self.code {
            w.u32(c.text_offset);
            w.u32(c.len);
        }
        w.u32(self.trampolines.len() as u32);
        for t in &self.trampolines {
            w.u32(t.array_to_wasm);
            w.u32(t.wasm_to_host);
        }
        // Sorted by text offset, so each site is the distance from the last one, with
        // its kind in the low four bits, and the change of wasm offset: two or three
        // bytes a site instead of nine (a large module has tens of thousands).
        w.u32(self.traps.len() as u32);
        let (mut text, mut wasm) = (0u32, 0u32);
        for t in &self.traps {
            let step = u64::from(t.text_offset.wrapping_sub(text));
            w.uleb(step << TRAP_KIND_BITS | t.kind as u64);
            w.sleb(i64::from(t.wasm_offset.wrapping_sub(wasm) as i32));
            (text, wasm) = (t.text_offset, t.wasm_offset);
        }
        *out = w.finish();
    }

    /// Reads only the magic and header (cheap; used to refuse mismatched artifacts early).
    pub fn decode_header(data: &[u8]) -> Result<ArtifactHeader, MetaError> {
        let mut r = Reader::new(data);
        read_magic(&mut r).map_err(field("magic"))?;
        ArtifactHeader::read(&mut r).map_err(field("header"))
    }

    /// Decodes metadata written by [`ModuleMeta::encode`]. Every read is bounds-checked
    /// and every count checked against the bytes left, so no input makes it panic or
    /// allocate much more than its own size; an error names the part that does not
    /// decode. What the parts say is checked by [`ModuleMeta::validate`].
    pub fn decode(data: &[u8]) -> Result<Self, MetaError> {
        let mut r = Reader::new(data);
        read_magic(&mut r).map_err(field("magic"))?;
        let header = ArtifactHeader::read(&mut r).map_err(field("header"))?;
        if header.format_version != FORMAT_VERSION {
            return Err(MetaError::new(
                "header.format_version",
                format!(
                    "version {} (this decoder reads {FORMAT_VERSION})",
                    header.format_version
                ),
            ));
        }
        let r = &mut r;
        let mut m = ModuleMeta {
            header,
            ..Default::default()
        };
        m.types = list(r, 2, FuncType::read).map_err(field("types"))?;
        m.imports = list(r, 9, |r| {
            let module = r.str()?;
            let name = r.str()?;
            let kind = match r.u8()? {
                0 => ImportKind::Func(r.u32()?),
                1 => ImportKind::Table(read_table(r)?),
                2 => ImportKind::Memory(MemoryType {
                    limits: read_limits(r)?,
                }),
                3 => ImportKind::Global(read_global_type(r)?),
                _ => return Err(r.err("bad import kind")),
            };
            Ok(Import { module, name, kind })
        })
        .map_err(field("imports"))?;
        m.functions = list(r, 4, |r| r.u32()).map_err(field("functions"))?;
        (|| {
            m.num_imported_funcs = r.u32()?;
            m.num_imported_tables = r.u32()?;
            m.num_imported_memories = r.u32()?;
            m.num_imported_globals = r.u32()?;
            Ok(())
        })()
        .map_err(field("imported entity counts"))?;
        m.tables = list(r, 9, read_table).map_err(field("tables"))?;
        m.memories = list(r, 9, |r| {
            Ok(MemoryType {
                limits: read_limits(r)?,
            })
        })
        .map_err(field("memories"))?;
        m.globals = list(r, 3, |r| {
            let ty = read_global_type(r)?;
            let init = ConstExpr::read(r)?;
            Ok(Global { ty, init })
        })
        .map_err(field("globals"))?;
        m.exports = list(r, 9, |r| {
            let name = r.str()?;
            let kind = match r.u8()? {
                0 => ExternKind::Func,
                1 => ExternKind::Table,
                2 => ExternKind::Memory,
                3 => ExternKind::Global,
                _ => return Err(r.err("bad export kind")),
            };
            let index = r.u32()?;
            Ok(Export { name, kind, index })
        })
        .map_err(field("exports"))?;
        m.start = r.opt_u32().map_err(field("start"))?;
        m.elements = list(r, 6, |r| {
            let mode = read_mode(r)?;
            let ty = ValType::read(r)?;
            let items = list(r, 2, ConstExpr::read)?;
            Ok(ElementSegment { mode, ty, items })
        })
        .map_err(field("elements"))?;
        m.data = list(r, 5, |r| {
            let mode = read_mode(r)?;
            let bytes = r.bytes()?.to_vec();
            Ok(DataSegment { mode, bytes })
        })
        .map_err(field("data"))?;
        m.code = list(r, 8, |r| {
            Ok(FunctionCode {
                text_offset: r.u32()?,
                len: r.u32()?,
            })
        })
        .map_err(field("code"))?;
        m.trampolines = list(r, 8, |r| {
            Ok(Trampolines {
                array_to_wasm: r.u32()?,
                wasm_to_host: r.u32()?,
            })
        })
        .map_err(field("trampolines"))?;
        let (mut text, mut wasm) = (0u32, 0u32);
        m.traps = list(r, 2, |r| {
            let v = r.uleb()?;
            let kind = TrapKind::from_code((v & ((1 << TRAP_KIND_BITS) - 1)) as u8)
                .ok_or_else(|| r.err("bad trap kind"))?;
            let step =
                u32::try_from(v >> TRAP_KIND_BITS).map_err(|_| r.err("trap step past 4 GiB"))?;
            let change =
                i32::try_from(r.sleb()?).map_err(|_| r.err("wasm offset change past 32 bits"))?;
            text = text.wrapping_add(step);
            wasm = wasm.wrapping_add(change as u32);
            Ok(TrapSite {
                text_offset: text,
                kind,
                wasm_offset: wasm,
            })
        })
        .map_err(field("traps"))?;
        if !r.is_empty() {
            return Err(MetaError::new(
                "metadata",
                format!("{} bytes after the last part", data.len() - r.position()),
            ));
        }
        Ok(m)
    }

    pub fn func_type(&self, func_index: u32) -> Option<&FuncType> {
        let t = *self.functions.get(func_index as usize)?;
        self.types.get(t as usize)
    }

    pub fn num_tables(&self) -> u32 {
        self.num_imported_tables
            .saturating_add(self.tables.len() as u32)
    }
    pub fn num_memories(&self) -> u32 {
        self.num_imported_memories
            .saturating_add(self.memories.len() as u32)
    }
    pub fn num_globals(&self) -> u32 {
        self.num_imported_globals
            .saturating_add(self.globals.len() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_through_its_encoding() {
        let m = ModuleMeta {
            header: ArtifactHeader {
                codegen_version: "x".into(),
                target: "x86_64-unknown-linux-gnu".into(),
                cpu_features: vec!["sse4.1".into()],
                flags: "opt=speed".into(),
                ..Default::default()
            },
            types: vec![FuncType {
                params: vec![ValType::I32, ValType::F64],
                results: vec![ValType::ExternRef],
            }],
            imports: vec![Import {
                module: "env".into(),
                name: "f".into(),
                kind: ImportKind::Func(0),
            }],
            functions: vec![0, 0],
            num_imported_funcs: 1,
            globals: vec![Global {
                ty: GlobalType {
                    ty: ValType::I32,
                    mutable: true,
                },
                init: ConstExpr::Ops(vec![
                    ConstOp::I32(1),
                    ConstOp::GlobalGet(0),
                    ConstOp::I32Add,
                ]),
            }],
            elements: vec![ElementSegment {
                mode: SegmentMode::Active {
                    index: 0,
                    offset: ConstExpr::I32(3),
                },
                ty: ValType::FuncRef,
                items: vec![ConstExpr::RefFunc(1), ConstExpr::RefNull(ValType::FuncRef)],
            }],
            data: vec![DataSegment {
                mode: SegmentMode::Passive,
                bytes: vec![1, 2, 3],
            }],
            traps: vec![TrapSite {
                text_offset: 7,
                kind: TrapKind::BadSignature,
                wasm_offset: 99,
            }],
            start: Some(1),
            ..Default::default()
        };
        let bytes = m.encode();
        assert_eq!(ModuleMeta::decode(&bytes).unwrap(), m);
        for cut in 0..bytes.len() {
            assert!(ModuleMeta::decode(&bytes[..cut]).is_err());
        }
    }
}

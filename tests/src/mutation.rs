//! Damaged artifacts, for the tests and the fuzz target that prove the runtime refuses
//! them instead of trusting them: seeded mutants of real artifacts, metadata rewritten on
//! purpose, and imports that satisfy any module so that a mutant can be instantiated.

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use wasmprecomp_artifact::{self as art, ArtifactHeader, ImportKind, ModuleMeta, Writer};
use wasmprecomp_runtime::{
    Extern, HostFunc, InstantiateError, LoadError, Module, Store, Trap, Val,
};

/// A module with something in every part of the metadata (imports of every kind,
/// segments of every mode, extended constant expressions) and no start function.
pub const EVERYTHING: &str = r#"(module
    (type $v (func))
    (import "env" "f" (func $f (param i32) (result i32)))
    (import "env" "t" (table $it 2 funcref))
    (import "env" "m" (memory $m 1 4))
    (import "env" "g" (global $g i32))
    (import "env" "h" (global $gh (mut i64)))
    (table $t 4 10 funcref)
    (table $x 1 externref)
    (global $a (mut i32) (global.get $g))
    (global (export "k") i64 (i64.add (i64.const 40) (i64.const 2)))
    (global $r (export "r") funcref (ref.func $one))
    (elem (table $t) (offset (i32.add (global.get $g) (i32.const 1))) func $one $two $f)
    (elem (table $it) (i32.const 0) funcref (ref.func $two) (ref.null func))
    (elem funcref (ref.func $one) (ref.null func))
    (elem declare func $two)
    (data (memory $m) (i32.const 16) "an active data segment with some bytes in it")
    (data "a passive data segment")
    (export "m" (memory $m))
    (export "t" (table $t))
    (export "it" (table $it))
    (export "g" (global $a))
    (func $one (export "one") (result i32) i32.const 1)
    (func $two (export "two") (param i32) (result i32) local.get 0 call $f)
    (func (export "ind") (param i32) (result i32)
        local.get 0 i32.const 2 call_indirect $t (param i32) (result i32))
    (func (export "grow") (result i32) ref.null func i32.const 1 table.grow $t)
    (func (export "init") (param i32) (memory.init 1 (local.get 0) (i32.const 0) (i32.const 4))))"#;

/// A seeded pseudo-random sequence (splitmix64): the same seed gives the same mutants
/// everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The parts of an artifact file a mutant changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Region {
    /// The ELF header, and what follows the code: symbols, strings, section headers.
    Elf,
    /// The artifact header at the start of the metadata (magic, version, checksum,
    /// target, CPU features, flags, digests).
    Header,
    /// The rest of the metadata, data segment contents aside.
    Metadata,
    /// The contents of data segments.
    Segment,
    /// `.text`: the machine code.
    Code,
}

impl Region {
    pub const ALL: [Region; 5] = [
        Region::Elf,
        Region::Header,
        Region::Metadata,
        Region::Segment,
        Region::Code,
    ];
}

/// The file range of `section` in `artifact`.
fn section_range(artifact: &[u8], section: &str) -> Range<usize> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(artifact).expect("an ELF artifact");
    let s = file.section_by_name(section).expect("the section");
    let (at, len) = s.file_range().expect("a section with file contents");
    at as usize..(at + len) as usize
}

/// An artifact, its decoded metadata, and where each [`Region`] lies in it.
pub struct Target {
    pub artifact: Vec<u8>,
    pub meta: ModuleMeta,
    regions: Vec<(Region, Range<usize>)>,
}

impl Target {
    /// `artifact`, as the compiler wrote it.
    pub fn new(artifact: Vec<u8>) -> Target {
        let meta_range = section_range(&artifact, art::META_SECTION);
        let text = section_range(&artifact, ".text");
        let meta = ModuleMeta::decode(&artifact[meta_range.clone()]).expect("its metadata");
        let mut header = Writer::new();
        header.raw(&art::META_MAGIC);
        meta.header.write(&mut header);
        let header_end = meta_range.start + header.bytes.len();
        let mut regions = vec![
            (Region::Elf, 0..meta_range.start),
            (Region::Elf, text.end..artifact.len()),
            (Region::Header, meta_range.start..header_end),
            (Region::Code, text.clone()),
        ];
        // Each segment's bytes follow their u32 length, in segment order, after the header.
        let mut segments = Vec::new();
        let mut from = header_end;
        for d in meta.data.iter().filter(|d| d.bytes.len() >= 8) {
            let mut needle = (d.bytes.len() as u32).to_le_bytes().to_vec();
            needle.extend_from_slice(&d.bytes[..d.bytes.len().min(64)]);
            let found = artifact[from..meta_range.end]
                .windows(needle.len())
                .position(|w| w == needle);
            if let Some(i) = found {
                let start = from + i + 4;
                segments.push(start..start + d.bytes.len());
                from = start + d.bytes.len();
            }
        }
        let mut at = header_end;
        for s in &segments {
            regions.push((Region::Metadata, at..s.start));
            regions.push((Region::Segment, s.clone()));
            at = s.end;
        }
        regions.push((Region::Metadata, at..meta_range.end));
        regions.retain(|(_, r)| !r.is_empty());
        Target {
            artifact,
            meta,
            regions,
        }
    }

    /// Whether the artifact has bytes in `region`.
    pub fn has(&self, region: Region) -> bool {
        self.regions.iter().any(|(r, _)| *r == region)
    }

    /// The artifact with a few bytes of `region` changed, or `None` when it has no such
    /// bytes. Each mutant changes at least one byte.
    pub fn mutant(&self, region: Region, rng: &mut Rng) -> Option<Vec<u8>> {
        let ranges: Vec<&Range<usize>> = self
            .regions
            .iter()
            .filter(|(r, _)| *r == region)
            .map(|(_, range)| range)
            .collect();
        let total: usize = ranges.iter().map(|r| r.len()).sum();
        if total == 0 {
            return None;
        }
        let mut pick = rng.below(total);
        let mut at = 0;
        for r in &ranges {
            if pick < r.len() {
                at = r.start + pick;
                break;
            }
            pick -= r.len();
        }
        let mut b = self.artifact.clone();
        match rng.below(5) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = rng.next_u64() as u8,
            // A count, index, offset or length set to a value that breaks arithmetic.
            2 if at + 4 <= b.len() => {
                let old = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
                let v = [
                    0,
                    1,
                    0x80,
                    0xffff,
                    0x7fff_ffff,
                    0xffff_ffff,
                    449_050_039,
                    old.wrapping_add(1),
                    old.wrapping_sub(1),
                    old.wrapping_add(16),
                    rng.next_u64() as u32,
                ][rng.below(11)];
                b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 if at + 8 <= b.len() => {
                let v = [0u64, u64::MAX, 1 << 32, rng.next_u64()][rng.below(4)];
                b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            _ => {
                // A few scattered bytes nearby.
                for _ in 0..2 + rng.below(3) {
                    let i = (at + rng.below(64)).min(b.len() - 1);
                    b[i] = rng.next_u64() as u8;
                }
            }
        }
        if b == self.artifact {
            b[at] ^= 0x80;
        }
        Some(b)
    }
}

/// `artifact` with its metadata changed by `change` (which must keep the encoding's
/// length) and sealed again, so that only the metadata checks can refuse it.
pub fn rewrite_meta(artifact: &[u8], change: impl FnOnce(&mut ModuleMeta)) -> Vec<u8> {
    let range = section_range(artifact, art::META_SECTION);
    let mut meta = ModuleMeta::decode(&artifact[range.clone()]).expect("its metadata");
    change(&mut meta);
    let encoded = meta.encode();
    assert_eq!(
        encoded.len(),
        range.len(),
        "the change keeps the encoding's length"
    );
    let mut b = artifact.to_vec();
    b[range].copy_from_slice(&encoded);
    assert!(art::seal(&mut b));
    b
}

/// `artifact` with `header` in place of its header (same encoded length), sealed again.
pub fn rewrite_header(artifact: &[u8], change: impl FnOnce(&mut ArtifactHeader)) -> Vec<u8> {
    rewrite_meta(artifact, |m| change(&mut m.header))
}

/// Imports that satisfy `meta`'s, created in `store`: host functions that trap when
/// called, and memories, tables and globals of the imported types.
pub fn imports_for(store: &mut Store, meta: &ModuleMeta) -> Vec<Extern> {
    meta.imports
        .iter()
        .map(|imp| match &imp.kind {
            ImportKind::Func(t) => {
                let f: HostFunc = Arc::new(|_, _| Err(Trap::host("an import of a mutant")));
                Extern::Func(store.new_func(meta.types[*t as usize].clone(), f))
            }
            ImportKind::Table(t) => Extern::Table(store.new_table(
                t.elem,
                t.limits.min,
                t.limits.max,
                Val::default_for(t.elem),
            )),
            ImportKind::Memory(m) => Extern::Memory(
                store
                    .new_memory(m.limits.min, m.limits.max)
                    .expect("the original's memory import"),
            ),
            ImportKind::Global(g) => Extern::Global(store.new_global(*g, Val::default_for(g.ty))),
        })
        .collect()
}

/// What became of a mutant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Loaded and instantiated: a change the checks cannot tell (data, names, ...).
    Instantiated,
    /// Loaded, and instantiation refused it (`link`, `resource` or `trap`).
    NotInstantiated(&'static str),
    /// The load refused it: `elf`, `mismatch`, `checksum`, or `metadata: <part>`.
    Refused(String),
}

/// The category of a load error, for counting.
pub fn refusal(e: &LoadError) -> String {
    match e {
        LoadError::Io { .. } => "io".into(),
        LoadError::NotAnArtifact(_) => "elf".into(),
        LoadError::Mismatch(_) => "mismatch".into(),
        LoadError::Checksum { .. } => "checksum".into(),
        LoadError::Map(_) => "map".into(),
        LoadError::Metadata { field, .. } => {
            let part = field.split(['[', '.']).next().unwrap_or(field);
            format!("metadata: {part}")
        }
    }
}

/// Loads `bytes` (with the artifact checksum when `checksum`) and instantiates what loads
/// with imports made for `original`, the metadata of the artifact they are a mutant of.
///
/// Only for mutants of artifacts without a start function: instantiating one then runs
/// none of its code, so what is exercised is the load and the metadata alone.
pub fn load_and_instantiate(bytes: &[u8], original: &ModuleMeta, checksum: bool) -> Outcome {
    assert!(original.start.is_none(), "no code runs while instantiating");
    // SAFETY: none of the code of what loads here runs: instantiating runs only a start
    // function, which the original has none of (asserted above), a mutant that names one
    // is not instantiated (below), and no export is called.
    let loaded = unsafe {
        if checksum {
            Module::from_bytes(bytes)
        } else {
            Module::from_bytes_without_checksum(bytes)
        }
    };
    let module = match loaded {
        Ok(m) => m,
        Err(e) => return Outcome::Refused(refusal(&e)),
    };
    if module.meta().start.is_some() {
        // A start index the damage made up: instantiating would run code.
        return Outcome::NotInstantiated("start");
    }
    let mut store = Store::new();
    let imports = imports_for(&mut store, original);
    match store.instantiate(&module, &imports) {
        Ok(_) => Outcome::Instantiated,
        Err(InstantiateError::Link(_)) => Outcome::NotInstantiated("link"),
        Err(InstantiateError::Resource(_)) => Outcome::NotInstantiated("resource"),
        Err(InstantiateError::Trap(_)) => Outcome::NotInstantiated("trap"),
        Err(InstantiateError::Interruption { .. }) => Outcome::NotInstantiated("interruption"),
    }
}

/// One fuzz input: the first byte picks one of a few base artifacts (or, 0xff, takes the
/// rest as the whole file), the rest is a list of five-byte edits (a u32 file offset,
/// taken modulo the length, and the byte to write there). The result is loaded without
/// the checksum, so the header and metadata checks alone face the damage, and
/// instantiated when it loads; it must be an error or a module, never a panic or fault.
pub fn fuzz_artifact(data: &[u8]) {
    static BASES: OnceLock<Vec<Target>> = OnceLock::new();
    let bases = BASES.get_or_init(|| {
        let isa = wasmprecomp_codegen::Isa::new(None, wasmprecomp_codegen::OptLevel::Speed)
            .expect("host isa");
        [
            EVERYTHING,
            r#"(module (func (export "f") (result i32) i32.const 1))"#,
        ]
        .iter()
        .map(|wat| {
            let wasm = wat::parse_str(wat).expect("valid wat");
            Target::new(wasmprecomp_codegen::compile_wasm(&wasm, &isa).expect("compiles"))
        })
        .collect()
    });
    let Some((&pick, edits)) = data.split_first() else {
        return;
    };
    if pick == 0xff {
        // SAFETY: whatever loads is dropped at once; none of its code runs.
        let _ = unsafe { Module::from_bytes_without_checksum(edits) };
        return;
    }
    let base = &bases[pick as usize % bases.len()];
    let mut bytes = base.artifact.clone();
    for e in edits.chunks_exact(5) {
        let at = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as usize % bytes.len();
        bytes[at] = e[4];
    }
    load_and_instantiate(&bytes, &base.meta, false);
}

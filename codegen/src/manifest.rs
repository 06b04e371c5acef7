//! Module manifests: for one module *shape* (every section except the code section and
//! custom sections), the stencil key, parameters and compiled code of each function.
//!
//! A function's validity, stencil and parameters are a pure function of its body bytes,
//! its own signature and the facts of the module entities its body names (the function
//! index and body offset aside, which the linker takes from the module at hand). A row
//! records the digest of the body and the digest of those facts, its *context*
//! ([`context_digest`]). So when a module of the same shape is compiled again (rebuilt
//! after an edit of some bodies, or recompiled with the module tier off), every function
//! whose body and context match its row skips validation, renaming, hashing and the
//! per-function cache lookup: its key, parameters and code come from one read. The other
//! functions go through the function tier as usual.
//!
//! An edit that moves data, reorders the function or element section or adds a function
//! changes the shape but keeps the module's *interface* (its type and import sections
//! and its exports' names and kinds, [`crate::keys::interface_digest`]). Each interface has a [`Link`] to the shape whose manifest was stored last
//! with it; a module whose shape has no manifest follows its interface's link, and the
//! rows of every function the edit did not change still match there, found at their
//! position or a few rows from it ([`Manifest::find`]).
//!
//! The manifest's cache key names the shape, not the content: a later compile of the
//! same shape replaces it, as a later manifest of the interface replaces its link. Any
//! version is correct for the rows it matches, so concurrent writers (or two modules of
//! one interface) cannot make it wrong, only less useful.

use crate::compiled::CodeRef;
use crate::keys::ManifestKey;
use crate::module::ModuleInfo;
use crate::stencil::{
    global_type, table_elem, write_functype, ConstClass, ConstImmediate, KeyMap, Parameters,
    RefKind, StencilKey, NUM_REF_KINDS,
};
use wasmprecomp_artifact::{self as art, DecodeError, Reader, Writer};

const MAGIC: &[u8; 4] = b"WPM3";
const LINK_MAGIC: &[u8; 4] = b"WPL1";

/// What the manifest tier holds under a module interface's key
/// ([`crate::keys::interface_key`]): the key of the manifest last stored for a module of
/// that interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link(pub ManifestKey);

impl Link {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = LINK_MAGIC.to_vec();
        b.extend_from_slice(&self.0 .0);
        b
    }

    /// Decodes [`Link::encode`]'s output; anything else (a manifest, a damaged entry) is
    /// `None`.
    pub fn decode(data: &[u8]) -> Option<Link> {
        let key = data.strip_prefix(LINK_MAGIC)?;
        Some(Link(ManifestKey(key.try_into().ok()?)))
    }
}

/// How far from its position a function's row is looked for, when the row at its
/// position does not match: functions added, removed or moved before it shift it.
const SEARCH_ROWS: isize = 8;

/// What a function's row is found by: its body (digest and length) and its context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowId {
    /// [`crate::keys::body_digest`] of the body, its constant immediates left out.
    pub body: [u8; 32],
    /// The body's length in bytes.
    pub len: u32,
    /// [`context_digest`] of the function in its module.
    pub context: [u8; 32],
}

/// The functions of a module that `ref.func` may name: exported ones, and those named by
/// an element segment or a global's initializer.
pub struct Declared(Vec<bool>);

impl Declared {
    pub fn of(meta: &art::ModuleMeta) -> Declared {
        let mut d = vec![false; meta.functions.len()];
        let mut mark = |f: u32| {
            if let Some(x) = d.get_mut(f as usize) {
                *x = true;
            }
        };
        for e in &meta.exports {
            if e.kind == art::ExternKind::Func {
                mark(e.index);
            }
        }
        for seg in &meta.elements {
            for item in &seg.items {
                if let art::ConstExpr::RefFunc(f) = item {
                    mark(*f);
                }
            }
        }
        for g in &meta.globals {
            if let art::ConstExpr::RefFunc(f) = g.init {
                mark(f);
            }
        }
        Declared(d)
    }
}

/// The digest of everything a function's validity, stencil and parameters depend on
/// besides its body bytes: its own signature and, for each entity its body names (`refs`,
/// per kind, in the order the stencil numbers them), every fact the stencil records
/// about it and every fact validation reads (whether a function is declared for
/// `ref.func`, an element segment's type, whether the module has a data count section).
/// `None` when the module lacks one of the entities.
pub fn context_digest(
    info: &ModuleInfo,
    declared: &Declared,
    func_index: u32,
    refs: &[Vec<u32>; NUM_REF_KINDS],
) -> Option<[u8; 32]> {
    let m = &info.meta;
    let mut w = Writer::new();
    write_functype(&mut w, m.func_type(func_index)?);
    for (kind, list) in RefKind::ALL.into_iter().zip(refs) {
        w.u32(list.len() as u32);
        for &real in list {
            match kind {
                RefKind::Func => {
                    write_functype(&mut w, m.func_type(real)?);
                    w.bool(real < m.num_imported_funcs);
                    w.bool(*declared.0.get(real as usize)?);
                }
                RefKind::Type => write_functype(&mut w, m.types.get(real as usize)?),
                RefKind::Global => {
                    let g = global_type(m, real)?;
                    w.u8(g.ty.code());
                    w.bool(g.mutable);
                    w.bool(real < m.num_imported_globals);
                }
                RefKind::Table => {
                    w.u8(table_elem(m, real)?.code());
                    w.bool(real < m.num_imported_tables);
                }
                RefKind::Memory => {
                    if real as usize >= m.num_imported_memories as usize + m.memories.len() {
                        return None;
                    }
                    w.bool(real < m.num_imported_memories);
                }
                RefKind::Data => {
                    m.data.get(real as usize)?;
                    w.bool(info.data_count.is_some());
                }
                RefKind::Elem => w.u8(m.elements.get(real as usize)?.ty.code()),
            }
        }
    }
    Some(blake3::hash(&w.finish()).into())
}

/// One defined function of the manifest's module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The body's digest and length and the function's context.
    pub id: RowId,
    pub key: StencilKey,
    /// Index into [`Manifest::code`].
    pub code: u32,
    /// Real indices of the stencil's references, per kind.
    pub refs: [Vec<u32>; NUM_REF_KINDS],
    /// See [`Parameters::offset_fixups`].
    pub offset_fixups: Vec<(u32, i32)>,
    /// See [`Parameters::const_immediates`].
    pub consts: Vec<ConstImmediate>,
}

impl Row {
    /// The values of the constant slots of `body` when it is this row's function but for
    /// those values: equal outside the row's constant immediates, each immediate of the
    /// same length and in its slot's class, every use of a slot with one value and two
    /// slots of one class with two values (so building the stencil anew would number
    /// the same slots). Then the stencil, its key and the code are the row's.
    pub fn matches(&self, body: &[u8]) -> Option<Vec<u64>> {
        let mut values: Vec<Option<(ConstClass, u64)>> = Vec::new();
        for c in &self.consts {
            let bytes = body.get(c.at as usize..c.at as usize + c.len as usize)?;
            let v = ConstImmediate::read(c.class, bytes)?;
            let slot = c.slot as usize;
            if values.len() <= slot {
                values.resize(slot + 1, None);
            }
            match values[slot] {
                None => values[slot] = Some((c.class, v)),
                Some(old) if old == (c.class, v) => {}
                Some(_) => return None,
            }
        }
        let values: Vec<(ConstClass, u64)> = values.into_iter().collect::<Option<_>>()?;
        // Distinct slots hold distinct values (a fresh build gives equal ones one slot).
        // Checked sorted: a large function has thousands of slots, and comparing each
        // with all before it was most of matching its row.
        let mut sorted: Vec<(u8, u64)> = values.iter().map(|&(c, v)| (c as u8, v)).collect();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        if crate::keys::body_digest(body, &self.consts) != self.id.body {
            return None;
        }
        Some(values.into_iter().map(|(_, v)| v).collect())
    }

    /// The constant slot values of defined function `defined` of `info` (in `wasm`) when
    /// this row is its row: a body of the same length that [`Row::matches`], in a
    /// function whose [`context_digest`] is the row's. Then its validity, stencil, key
    /// and code are the row's.
    pub fn matches_function(
        &self,
        info: &ModuleInfo,
        declared: &Declared,
        wasm: &[u8],
        defined: u32,
    ) -> Option<Vec<u64>> {
        let range = info.bodies.get(defined as usize)?;
        if range.len() != self.id.len as usize {
            return None;
        }
        let consts = self.matches(wasm.get(range.clone())?)?;
        let func_index = info.num_imported_funcs() + defined;
        (context_digest(info, declared, func_index, &self.refs)? == self.id.context)
            .then_some(consts)
    }

    /// The parameters of this row's function at `func_index`, whose body now starts at
    /// `body_offset`, with constant slot values `consts` (from [`Row::matches`]).
    pub fn parameters(&self, func_index: u32, body_offset: u32, consts: Vec<u64>) -> Parameters {
        Parameters {
            func_index,
            body_offset,
            refs: self.refs.clone(),
            offset_fixups: self.offset_fixups.clone(),
            consts,
            const_immediates: self.consts.clone(),
        }
    }
}

/// A decoded manifest: a row per defined function, and each distinct compiled stencil
/// once, borrowed from the encoded bytes (or, when building one, from the compiled code).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest<'a> {
    pub rows: Vec<Row>,
    pub code: Vec<CodeRef<'a>>,
}

impl<'a> Manifest<'a> {
    /// Builds the manifest of a compiled module from each function's row id, key,
    /// parameters and code.
    pub fn build<'p>(
        ids: &[RowId],
        keys: &[StencilKey],
        params: impl Iterator<Item = &'p Parameters>,
        code_of: &dyn Fn(usize) -> CodeRef<'a>,
    ) -> Manifest<'a> {
        let mut index: KeyMap<u32> = KeyMap::default();
        let mut m = Manifest::default();
        for (i, p) in params.enumerate() {
            let code = *index.entry(keys[i]).or_insert_with(|| {
                m.code.push(code_of(i));
                (m.code.len() - 1) as u32
            });
            m.rows.push(Row {
                id: ids[i],
                key: keys[i],
                code,
                refs: p.refs.clone(),
                offset_fixups: p.offset_fixups.clone(),
                consts: p.const_immediates.clone(),
            });
        }
        m
    }

    /// The row of defined function `defined` among the rows near its position, the row
    /// at its position aside (tried first, on its own): `shift` rows from it first (how
    /// far the last function found was from its position), then up to `SEARCH_ROWS` (8)
    /// rows either side of that. Returns the row's index and the constant slot values.
    pub fn find(
        &self,
        info: &ModuleInfo,
        declared: &Declared,
        wasm: &[u8],
        defined: u32,
        shift: isize,
    ) -> Option<(usize, Vec<u64>)> {
        let at = defined as isize + shift;
        (0..=2 * SEARCH_ROWS)
            .map(|o| at + if o % 2 == 0 { -(o / 2) } else { o / 2 + 1 })
            .filter(|&j| j != defined as isize && j >= 0)
            .filter_map(|j| Some((j as usize, self.rows.get(j as usize)?)))
            .find_map(|(j, r)| Some((j, r.matches_function(info, declared, wasm, defined)?)))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u32(self.code.len() as u32);
        for c in &self.code {
            w.u32(c.encoded_len() as u32);
            c.encode_into(&mut w);
        }
        w.u32(self.rows.len() as u32);
        for r in &self.rows {
            w.raw(&r.id.body);
            w.u32(r.id.len);
            w.raw(&r.id.context);
            w.raw(&r.key.0);
            w.u32(r.code);
            for refs in &r.refs {
                w.u32(refs.len() as u32);
                for &x in refs {
                    w.u32(x);
                }
            }
            w.u32(r.offset_fixups.len() as u32);
            for &(pos, delta) in &r.offset_fixups {
                w.u32(pos);
                w.u32(delta as u32);
            }
            w.u32(r.consts.len() as u32);
            for c in &r.consts {
                w.u32(c.at);
                w.u8(c.len);
                w.u32(c.slot);
                w.u8(c.class as u8);
            }
        }
        w.finish()
    }

    /// Decodes [`Manifest::encode`]'s output, checking every field (a damaged manifest is
    /// an error, never wrong code).
    pub fn decode(data: &'a [u8]) -> Result<Manifest<'a>, DecodeError> {
        let mut r = Reader::new(data);
        if r.take(4)? != MAGIC {
            return Err(r.err("bad manifest magic"));
        }
        let n = r.count(4)?;
        let mut code = Vec::with_capacity(n);
        for _ in 0..n {
            code.push(CodeRef::decode(r.bytes()?)?);
        }
        let n = r.count(96 + 8 + 4 * (NUM_REF_KINDS + 2))?;
        let mut rows = Vec::with_capacity(n);
        // Each code entry belongs to exactly one key (the compiler takes entries out
        // when it uses them).
        let mut owner: Vec<Option<[u8; 32]>> = vec![None; code.len()];
        for _ in 0..n {
            let mut body = [0u8; 32];
            body.copy_from_slice(r.take(32)?);
            let len = r.u32()?;
            let mut context = [0u8; 32];
            context.copy_from_slice(r.take(32)?);
            let mut key = [0u8; 32];
            key.copy_from_slice(r.take(32)?);
            let c = r.u32()?;
            match owner.get_mut(c as usize) {
                None => return Err(r.err("manifest row names unknown code")),
                Some(Some(k)) if *k != key => return Err(r.err("manifest code shared by two keys")),
                Some(o) => *o = Some(key),
            }
            let mut refs: [Vec<u32>; NUM_REF_KINDS] = Default::default();
            for kind in refs.iter_mut() {
                let k = r.count(4)?;
                kind.reserve(k);
                for _ in 0..k {
                    kind.push(r.u32()?);
                }
            }
            let k = r.count(8)?;
            let mut offset_fixups = Vec::with_capacity(k);
            for _ in 0..k {
                offset_fixups.push((r.u32()?, r.u32()? as i32));
            }
            let k = r.count(10)?;
            let mut consts = Vec::with_capacity(k);
            let mut end = 0u64;
            for _ in 0..k {
                let (at, len, slot) = (r.u32()?, r.u8()?, r.u32()?);
                let class =
                    ConstClass::from_code(r.u8()?).ok_or_else(|| r.err("bad constant class"))?;
                if (at as u64) < end || len == 0 || slot as usize > consts.len() {
                    return Err(r.err("manifest constant immediates out of order"));
                }
                end = at as u64 + len as u64;
                consts.push(ConstImmediate {
                    at,
                    len,
                    slot,
                    class,
                });
            }
            rows.push(Row {
                id: RowId { body, len, context },
                key: StencilKey(key),
                code: c,
                refs,
                offset_fixups,
                consts,
            });
        }
        if !r.is_empty() {
            return Err(r.err("trailing bytes"));
        }
        Ok(Manifest { rows, code })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiled::{CompiledStencil, Reloc, RelocKind};
    use std::sync::LazyLock;

    /// A body of `nop`s with a 3-byte signed LEB128 `i32.const` immediate at 2, 7 and 12,
    /// holding `values`, and a row whose immediates there are in `slots`.
    fn body_and_row(values: [i32; 3], slots: [u32; 3]) -> (Vec<u8>, Row) {
        let mut body = vec![0x01; 16];
        let mut consts = Vec::new();
        for (i, (v, slot)) in values.into_iter().zip(slots).enumerate() {
            let at = 2 + 5 * i;
            let v = v as u32;
            body[at..at + 3].copy_from_slice(&[
                (v & 0x7f) as u8 | 0x80,
                ((v >> 7) & 0x7f) as u8 | 0x80,
                ((v >> 14) & 0x7f) as u8,
            ]);
            consts.push(ConstImmediate {
                at: at as u32,
                len: 3,
                slot,
                class: ConstClass::I32,
            });
        }
        let id = RowId {
            body: crate::keys::body_digest(&body, &consts),
            len: body.len() as u32,
            context: [0; 32],
        };
        let row = Row {
            id,
            key: StencilKey([0; 32]),
            code: 0,
            refs: Default::default(),
            offset_fixups: Vec::new(),
            consts,
        };
        (body, row)
    }

    #[test]
    fn a_row_matches_a_body_whose_slots_hold_distinct_values_and_one_value_per_slot() {
        let (a, b, c) = (123_457, 123_461, 70_001);
        let (body, row) = body_and_row([a, b, c], [0, 1, 2]);
        assert_eq!(row.matches(&body), Some(vec![a as u64, b as u64, c as u64]));
        // The same row, other values: still its function, with new constants.
        let (other, _) = body_and_row([c, a, b], [0, 1, 2]);
        assert_eq!(
            row.matches(&other),
            Some(vec![c as u64, a as u64, b as u64])
        );
        // Two slots with one value: a fresh build would have given them one slot.
        let (equal, _) = body_and_row([a, b, a], [0, 1, 2]);
        assert_eq!(row.matches(&equal), None);
        // One slot used twice must hold one value.
        let (body, row) = body_and_row([a, b, a], [0, 1, 0]);
        assert_eq!(row.matches(&body), Some(vec![a as u64, b as u64]));
        let (split, _) = body_and_row([a, b, c], [0, 1, 0]);
        assert_eq!(row.matches(&split), None);
        // A change outside the immediates is another body.
        let mut changed = body.clone();
        changed[0] = 0x0f;
        assert_eq!(row.matches(&changed), None);
    }

    static CODE: LazyLock<CompiledStencil> = LazyLock::new(|| CompiledStencil {
        code: vec![0x90; 8],
        relocs: vec![Reloc {
            offset: 2,
            kind: RelocKind::VmGlobal,
            index: 0,
            addend: -4,
        }],
        traps: vec![],
    });

    fn sample() -> Manifest<'static> {
        let c = CODE.as_code();
        let mut refs: [Vec<u32>; NUM_REF_KINDS] = Default::default();
        refs[0] = vec![3, 1];
        Manifest {
            rows: vec![
                Row {
                    id: RowId {
                        body: [1; 32],
                        len: 9,
                        context: [4; 32],
                    },
                    key: StencilKey([2; 32]),
                    code: 0,
                    refs: refs.clone(),
                    offset_fixups: vec![(4, -1)],
                    consts: vec![ConstImmediate {
                        at: 3,
                        len: 3,
                        slot: 0,
                        class: ConstClass::I32,
                    }],
                },
                Row {
                    id: RowId {
                        body: [3; 32],
                        len: 2,
                        context: [5; 32],
                    },
                    key: StencilKey([2; 32]),
                    code: 0,
                    refs,
                    offset_fixups: vec![],
                    consts: vec![],
                },
            ],
            code: vec![c],
        }
    }

    #[test]
    fn manifests_round_trip_through_their_encoding() {
        let m = sample();
        let bytes = m.encode();
        assert_eq!(Manifest::decode(&bytes).expect("decodes"), m);
    }

    #[test]
    fn every_truncation_or_extension_of_a_manifest_is_an_error() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..len]).is_err(), "prefix {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Manifest::decode(&longer).is_err());
    }

    #[test]
    fn any_damaged_byte_is_an_error_or_still_a_well_formed_manifest() {
        let bytes = sample().encode();
        for at in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[at] ^= flip;
                // Never a panic; whatever decodes is internally consistent.
                if let Ok(m) = Manifest::decode(&b) {
                    for row in &m.rows {
                        let code = m.code.get(row.code as usize).expect("row names code");
                        for r in code.relocs() {
                            assert!(r.offset as usize + 4 <= code.code.len(), "byte {at}");
                        }
                        for t in code.traps() {
                            assert!(t.code_offset as usize <= code.code.len(), "byte {at}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_row_naming_missing_code_is_an_error() {
        let mut m = sample();
        m.rows[1].code = 1;
        assert!(Manifest::decode(&m.encode()).is_err());
    }

    #[test]
    fn code_shared_by_two_keys_is_an_error() {
        let mut m = sample();
        m.rows[1].key = StencilKey([9; 32]);
        assert!(Manifest::decode(&m.encode()).is_err());
    }

    #[test]
    fn the_kinds_of_a_context_are_in_the_order_of_their_numbers() {
        for (i, k) in RefKind::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i, "{k:?}");
        }
    }

    #[test]
    fn the_interface_is_the_type_import_and_export_sections() {
        let digest = |wat: &str| crate::keys::interface_digest(&wat::parse_str(wat).expect("wat"));
        let a = digest(
            r#"(module (global (mut i32) (i32.const 1)) (func (export "f") (result i32) i32.const 1))"#,
        );
        // Other bodies, globals, data, functions (the export's index shifted): the same
        // interface.
        let same = digest(
            r#"(module (memory 1) (global (mut i32) (i32.const 2)) (data (i32.const 0) "x")
                (func (result i32) i32.const 3) (func (export "f") (result i32) i32.const 2))"#,
        );
        assert_eq!(a, same);
        let exported = digest(
            r#"(module (global (mut i32) (i32.const 1)) (func (export "g") (result i32) i32.const 1))"#,
        );
        assert_ne!(a, exported);
        let typed = digest(
            r#"(module (type (func (param i64))) (global (mut i32) (i32.const 1))
                (func (export "f") (result i32) i32.const 1))"#,
        );
        assert_ne!(a, typed);
        let imported = digest(
            r#"(module (import "m" "g" (global i32)) (global (mut i32) (i32.const 1))
                (func (export "f") (result i32) i32.const 1))"#,
        );
        assert_ne!(a, imported);
    }
}

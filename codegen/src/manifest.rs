//! Module manifests: for one module *shape* (every section except the code section and
//! custom sections), the stencil key, parameters and compiled code of each function.
//!
//! A function's stencil and parameters are a pure function of the module's shape, the
//! function's position and its body bytes (the body offset aside, which the linker takes
//! from the module at hand). So when a module with the same shape is compiled again
//! (rebuilt after an edit that changed some bodies, or recompiled with the module tier
//! off), every function whose body digest matches its manifest row skips validation,
//! renaming, hashing and the per-function cache lookup: its key, parameters and code come
//! from one read. The rows whose bodies changed go through the function tier as usual.
//!
//! The manifest's cache key names the shape, not the content: a later compile of the same
//! shape replaces it. Any version is correct for the rows it matches, so concurrent
//! writers cannot make it wrong, only less useful.

use crate::compiled::CodeRef;
use crate::stencil::{ConstClass, ConstImmediate, KeyMap, Parameters, StencilKey, NUM_REF_KINDS};
use wasmprecomp_artifact::{DecodeError, Reader, Writer};

const MAGIC: &[u8; 4] = b"WPM2";

/// One defined function of the manifest's module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// [`crate::keys::body_digest`] of the body, its constant immediates left out.
    pub body: [u8; 32],
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
        for (i, a) in values.iter().enumerate() {
            if values[..i].contains(a) {
                return None;
            }
        }
        if crate::keys::body_digest(body, &self.consts) != self.body {
            return None;
        }
        Some(values.into_iter().map(|(_, v)| v).collect())
    }

    /// The parameters of this row's function at `func_index`, whose body now starts at
    /// `body_offset`, with constant slot values `consts` (from [`Row::matches`]).
    pub fn into_parameters(
        self,
        func_index: u32,
        body_offset: u32,
        consts: Vec<u64>,
    ) -> Parameters {
        Parameters {
            func_index,
            body_offset,
            refs: self.refs,
            offset_fixups: self.offset_fixups,
            consts,
            const_immediates: self.consts,
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
    /// Builds the manifest of a compiled module from each function's body digest, key,
    /// parameters and code.
    pub fn build<'p>(
        bodies: &[[u8; 32]],
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
                body: bodies[i],
                key: keys[i],
                code,
                refs: p.refs.clone(),
                offset_fixups: p.offset_fixups.clone(),
                consts: p.const_immediates.clone(),
            });
        }
        m
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
            w.raw(&r.body);
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
        let n = r.count(64 + 4 + 4 * (NUM_REF_KINDS + 2))?;
        let mut rows = Vec::with_capacity(n);
        // Each code entry belongs to exactly one key (the compiler takes entries out
        // when it uses them).
        let mut owner: Vec<Option<[u8; 32]>> = vec![None; code.len()];
        for _ in 0..n {
            let mut body = [0u8; 32];
            body.copy_from_slice(r.take(32)?);
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
                body,
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
                    body: [1; 32],
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
                    body: [3; 32],
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
    fn the_shape_ignores_code_and_custom_sections_only() {
        let a = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 1)) (func (result i32) i32.const 1))"#,
        )
        .expect("wat");
        let b = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 1)) (func (result i32) i32.const 2))"#,
        )
        .expect("wat");
        let c = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 2)) (func (result i32) i32.const 1))"#,
        )
        .expect("wat");
        assert_eq!(crate::keys::shape_digest(&a), crate::keys::shape_digest(&b));
        assert_ne!(crate::keys::shape_digest(&a), crate::keys::shape_digest(&c));
        let mut named = a.clone();
        // A custom section appended: same shape.
        named.extend_from_slice(&[0, 4, 3, b'a', b'b', b'c']);
        assert_eq!(
            crate::keys::shape_digest(&a),
            crate::keys::shape_digest(&named)
        );
    }
}

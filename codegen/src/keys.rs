//! Every cache key and digest, in one place: what each covers decides when a cached
//! result may be reused, so each is typed and documented.
//!
//! - [`ModuleKey`]: the whole-module tier, over the compiler identity and the module's
//!   bytes ([`wasm_digest`]).
//! - [`ManifestKey`]: the manifest tier, over the compiler identity and the module's
//!   shape ([`shape_digest`]); a manifest row matches a body by [`body_digest`] and its
//!   context ([`crate::manifest::context_digest`]). Under the key of the module's
//!   interface ([`interface_digest`], [`interface_key`]), the same tier holds which
//!   shape's manifest was stored last for that interface.
//! - [`StencilKey`] (in `stencil.rs`, beside what it hashes): the function tier.
//!
//! None covers a path, a time or a machine name.

use crate::isa::Isa;
use sha2::{Digest, Sha256};
use wasmprecomp_artifact as art;

pub use crate::stencil::StencilKey;

/// The key of a module's finished artifact in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleKey(pub [u8; 32]);

impl ModuleKey {
    /// The key in lowercase hex, for messages.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The key of a module shape's manifest in the cache, or of the link from a module
/// interface to the shape of its latest manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManifestKey(pub [u8; 32]);

const CODE_SECTION: u8 = 10;
const CUSTOM_SECTION: u8 = 0;
const TYPE_SECTION: u8 = 1;
const IMPORT_SECTION: u8 = 2;
const EXPORT_SECTION: u8 = 7;
/// Not a section id: what [`for_each_section`] passes the magic and version as.
const HEADER: u8 = 0xff;

/// sha256 of a domain tag, the artifact format version, the compiler identity and
/// `digest`: the shape of every module-level cache key.
fn identity_key(domain: &[u8], isa: &Isa, digest: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(art::FORMAT_VERSION.to_le_bytes());
    let id = isa.identity();
    h.update((id.len() as u32).to_le_bytes());
    h.update(&id);
    h.update(digest);
    h.finalize().into()
}

/// The module-tier key: sha256 of the compiler identity and [`wasm_digest`] of the bytes.
pub fn module_key(isa: &Isa, wasm_digest: &[u8; 32]) -> ModuleKey {
    ModuleKey(identity_key(b"wasmprecomp-module\0", isa, wasm_digest))
}

/// The digest of a module's bytes that its module key covers: BLAKE3, which hashes 3.6
/// times as fast as SHA-256 here (6.4 against 1.8 GB/s), because on a module-tier hit
/// hashing the bytes is most of the work. (The report's `wasm_sha256` then comes from the
/// cached artifact's header.)
pub fn wasm_digest(wasm: &[u8]) -> [u8; 32] {
    // On one core: hashing on both (BLAKE3 is a tree) made a 800 KB module's hit slower
    // here, the hand-off to the pool costing more than the halved hashing saved.
    blake3::hash(wasm).into()
}

/// [`wasm_digest`] computed piece by piece, for a module read through a small buffer.
#[derive(Default)]
pub struct WasmDigester(blake3::Hasher);

impl WasmDigester {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Digests everything `reader` yields, through one 64 KiB buffer (a large module is
    /// never held whole); returns how many bytes that was.
    pub fn update_reader(&mut self, reader: impl std::io::Read) -> std::io::Result<u64> {
        let mut counted = Counted { reader, bytes: 0 };
        self.0.update_reader(&mut counted)?;
        Ok(counted.bytes)
    }

    /// Equals [`wasm_digest`] of everything passed to [`WasmDigester::update`] and
    /// [`WasmDigester::update_reader`].
    pub fn finalize(&self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    reader: R,
    bytes: u64,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Calls `f` with the id, module offset and contents of each section, in order, after
/// the magic and version, passed as section [`HEADER`].
fn for_each_section(wasm: &[u8], mut f: impl FnMut(u8, u64, &[u8])) {
    let mut r = wasmparser::BinaryReader::new(wasm, 0);
    if let Ok(head) = r.read_bytes(8) {
        f(HEADER, 0, head);
    }
    while !r.eof() {
        let (Ok(id), Ok(len)) = (r.read_u8(), r.read_var_u32()) else {
            break;
        };
        let offset = r.original_position();
        let Ok(body) = r.read_bytes(len as usize) else {
            break;
        };
        f(id, offset, body);
    }
}

/// BLAKE3 over the ids and contents of the sections `keep` selects, in order, and the
/// magic and version (so a different encoding never matches). Expects a module that has
/// passed validation of its sections.
fn sections_digest(domain: &[u8], wasm: &[u8], keep: impl Fn(u8) -> bool) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(domain);
    for_each_section(wasm, |id, _, body| {
        if id == HEADER || keep(id) {
            h.update(&[id]);
            h.update(&(body.len() as u64).to_le_bytes());
            h.update(body);
        }
    });
    h.finalize().into()
}

/// The module's shape: every section except code and custom sections.
pub fn shape_digest(wasm: &[u8]) -> [u8; 32] {
    sections_digest(b"wasmprecomp-shape\0", wasm, |id| {
        id != CODE_SECTION && id != CUSTOM_SECTION
    })
}

/// The module's interface: its type and import sections and the names and kinds of its
/// exports (not their indices, which shift when a function is added before one). It
/// tells a module apart from the other modules of a workspace and stays when one is
/// edited (data moved, functions added, changed or reordered), so it finds the manifest
/// of the module's previous build when the shape changed. It only finds one: every row
/// is checked against the module on its own. Expects a module that has passed validation
/// of its sections.
pub fn interface_digest(wasm: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"wasmprecomp-interface\0");
    for_each_section(wasm, |id, offset, body| match id {
        TYPE_SECTION | IMPORT_SECTION => {
            h.update(&[id]);
            h.update(&(body.len() as u64).to_le_bytes());
            h.update(body);
        }
        EXPORT_SECTION => {
            let reader = wasmparser::BinaryReader::new(body, offset);
            let exports = wasmparser::ExportSectionReader::new(reader).into_iter();
            for e in exports.flat_map(|s| s.into_iter().flatten()) {
                h.update(&[id, e.kind as u8]);
                h.update(&(e.name.len() as u64).to_le_bytes());
                h.update(e.name.as_bytes());
            }
        }
        _ => {}
    });
    h.finalize().into()
}

/// The manifest tier key of a module shape for `isa` (compiler identity included).
pub fn manifest_key(isa: &Isa, shape: &[u8; 32]) -> ManifestKey {
    ManifestKey(identity_key(b"wasmprecomp-manifest\0", isa, shape))
}

/// The manifest tier key under which a module interface's link to its latest manifest
/// is stored (see [`crate::manifest::Link`]).
pub fn interface_key(isa: &Isa, interface: &[u8; 32]) -> ManifestKey {
    ManifestKey(identity_key(b"wasmprecomp-interface\0", isa, interface))
}

/// BLAKE3 of one function body's bytes (locals and operators) but for the immediates of
/// its constant slots, of which only the position and length count: collision-resistant
/// like the SHA-256 of stencil keys, and faster on the large bodies where it matters.
/// `immediates` are in body order, within `body` and not overlapping (the ones
/// [`crate::stencil::build`] records, or a manifest row's).
pub fn body_digest(body: &[u8], immediates: &[crate::stencil::ConstImmediate]) -> [u8; 32] {
    if immediates.is_empty() {
        return blake3::hash(body).into();
    }
    let mut h = blake3::Hasher::new();
    let mut from = 0usize;
    for c in immediates {
        let at = (c.at as usize).clamp(from, body.len());
        h.update(&body[from..at]);
        h.update(&[0xff, c.len]);
        h.update(&c.at.to_le_bytes());
        from = (at + c.len as usize).min(body.len());
    }
    h.update(&body[from..]);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_in_pieces_equals_the_digest_at_once() {
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for piece in [1, 1000, 64 << 10, 1 << 20] {
            let mut d = WasmDigester::default();
            for c in bytes.chunks(piece) {
                d.update(c);
            }
            assert_eq!(d.finalize(), wasm_digest(&bytes), "pieces of {piece}");
        }
        let mut d = WasmDigester::default();
        assert_eq!(d.update_reader(&bytes[..]).unwrap(), bytes.len() as u64);
        assert_eq!(d.finalize(), wasm_digest(&bytes), "through a reader");
    }
}

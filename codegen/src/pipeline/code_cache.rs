//! The code cache: the one seam between the pipeline and wherever compiled code is kept.

use crate::keys::{ManifestKey, ModuleKey, StencilKey};
use std::path::{Path, PathBuf};

/// Where the pipeline looks up compiled code and stores it, in three tiers, each its
/// own key space (equal key bytes in two tiers name unrelated entries):
///
/// - **modules**: a module's finished artifact under its [`ModuleKey`];
/// - **manifests**: one [`crate::manifest`] per module shape under its [`ManifestKey`],
///   and per module interface a [`crate::manifest::Link`] to the shape stored last;
/// - **functions**: one encoded [`crate::CompiledStencil`] under its [`StencilKey`].
///
/// Payloads are opaque to an implementation: the pipeline alone knows what they mean,
/// the implementation alone how and where they are kept.
///
/// # The contract
///
/// - **Threads.** Every method may be called from several worker threads at once, for
///   the same key or different ones (hence `Sync`).
/// - **Keys.** A key covers everything that decides its payload, so an implementation
///   may serve an entry to any run, process or machine that asks for the same key.
/// - **Gets** return exactly the bytes an earlier put stored under that key in that
///   tier, or `None`. `None` is always allowed (never stored, evicted, unreadable, a
///   disabled store) and is a miss: the pipeline builds the payload and puts it.
/// - **Damage.** An implementation that can detect a damaged entry (by a checksum, say)
///   returns `None` for it and counts it by its own means. A payload returned that does
///   not decode is a miss too: the pipeline counts it ([`crate::FunctionStats::corrupt`],
///   [`crate::ModuleOutcome::corrupt`]), builds the payload again and puts it over the
///   damaged one. A damaged entry never fails a compile and never yields wrong code.
/// - **Puts** never fail the caller: a payload that cannot be stored (a read-only or
///   full store) is dropped. A put replaces whatever the key held.
/// - **Tiers off.** When [`CodeCache::manifests`] or [`CodeCache::modules`] is false,
///   the pipeline never calls that tier's get or put. The function tier is always on.
pub trait CodeCache: Sync {
    /// The compiled stencil stored under `key`, if any.
    fn get_function(&self, key: &StencilKey) -> Option<Vec<u8>>;
    /// Stores a compiled stencil under `key`.
    fn put_function(&self, key: &StencilKey, code: &[u8]);
    /// Announces the function lookups that follow: every key the run is about to ask
    /// [`CodeCache::get_function`] for (each once), called once before them. An
    /// implementation with a slow store (a server) may fetch them all in batches here,
    /// so that the gets wait for no request of their own; the answers must be those the
    /// gets would have given.
    fn prefetch_functions(&self, _keys: &[StencilKey]) {}

    /// Whether module manifests are looked up and stored.
    fn manifests(&self) -> bool {
        false
    }
    /// The manifest (or interface link) stored under `key`, if any. A manifest's key
    /// names a module shape, not its content: any version stored under it may come back
    /// (the pipeline matches each row against the module before using it).
    fn get_manifest(&self, _key: &ManifestKey) -> Option<Vec<u8>> {
        None
    }
    /// Stores (replaces) the manifest (or interface link) under `key`.
    fn put_manifest(&self, _key: &ManifestKey, _manifest: &[u8]) {}

    /// Whether whole-module artifacts are looked up and stored.
    fn modules(&self) -> bool {
        false
    }
    /// The artifact stored under `key`, if any. `in_place` is the path the module's
    /// artifact is written to, which may hold what an earlier run wrote from this entry.
    /// When the file there holds exactly the stored artifact (compared by what the entry
    /// records, such as its length and checksum), the implementation may answer
    /// [`ModuleEntry::InPlace`] without reading the stored artifact; otherwise, or when
    /// it cannot tell, [`ModuleEntry::Stored`]. The file at `in_place` is only read.
    fn get_module(&self, _key: &ModuleKey, _in_place: &Path) -> Option<ModuleEntry> {
        None
    }
    /// Stores (replaces) the artifact under `key`.
    fn put_module(&self, _key: &ModuleKey, _artifact: &[u8]) {}
    /// Stores (replaces) the artifact under `key`, given that the file at `file` holds
    /// exactly `artifact` and nobody changes it in place (it may be replaced by a rename
    /// or removed): an implementation may keep the file (a hard link, say) instead of a
    /// copy of the bytes. By default the bytes are stored as by
    /// [`CodeCache::put_module`].
    fn put_module_file(&self, key: &ModuleKey, artifact: &[u8], _file: &Path) {
        self.put_module(key, artifact)
    }
}

/// How many leading bytes of an artifact in place [`ModuleEntry::InPlace`] carries at
/// least: enough for the artifact's header (the ELF header and the metadata header).
pub const IN_PLACE_HEAD: usize = 4096;

/// A module-tier hit ([`CodeCache::get_module`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleEntry {
    /// The file at the artifact path holds the stored artifact.
    InPlace {
        /// Its length.
        len: u64,
        /// Its first bytes: at least [`IN_PLACE_HEAD`] of them, or all when the file is
        /// shorter. A head the artifact's header cannot be read from is a damaged entry.
        head: Vec<u8>,
    },
    /// The stored artifact.
    Stored {
        artifact: Vec<u8>,
        /// A file that holds exactly `artifact` and that nobody changes in place (the
        /// store's own, say), which the caller may link to the artifact path instead of
        /// writing the bytes; `None` when there is none.
        file: Option<PathBuf>,
    },
}

/// A cache that keeps nothing: the module and manifest tiers are off, and every function
/// lookup misses.
pub struct NoCache;

impl CodeCache for NoCache {
    fn get_function(&self, _: &StencilKey) -> Option<Vec<u8>> {
        None
    }
    fn put_function(&self, _: &StencilKey, _: &[u8]) {}
}

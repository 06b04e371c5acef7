//! Walking the entry folders for gc, verify, clear and the summary. Never on
//! the hit path.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::entry::SHARED_SUFFIX;
use crate::{CacheKey, Tier};

/// Prefix of in-flight entry files; see `Cache::put`.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// What a file found under a tier folder is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// Named like an entry: 64 lowercase hex digits, in the fan-out folder of
    /// its first byte.
    Entry(CacheKey),
    /// Named like an entry but sitting in the wrong fan-out folder. Never
    /// looked up by `get`, so it is garbage.
    Misplaced,
    /// A shared payload (`<key hex>.data`, a hard link to a file the caller wrote, see
    /// `Cache::put_file`) with no entry file of its key beside it: left over by a writer
    /// that died before writing the entry, or being written right now. A shared payload
    /// whose entry is there is part of that entry's [`Found`] instead.
    Shared,
    /// An in-flight (or abandoned) temp file from `put`.
    Temp,
    /// Anything else: not ours, left alone and only counted.
    Unknown,
}

/// One file found by a scan.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) tier: Tier,
    pub(crate) path: PathBuf,
    pub(crate) kind: FileKind,
    /// The file's length; for an entry with a shared payload, both files' lengths.
    pub(crate) len: u64,
    pub(crate) mtime: SystemTime,
    /// An entry's shared payload file, when it has one.
    pub(crate) shared: Option<PathBuf>,
}

impl Found {
    /// Removes the file and, for an entry, its shared payload after it (so that no
    /// reader finds the entry without its payload); `false` when the file was gone.
    pub(crate) fn remove(&self) -> io::Result<bool> {
        let removed = remove_file(&self.path)?;
        if let Some(shared) = &self.shared {
            remove_file(shared)?;
        }
        Ok(removed)
    }
}

/// Everything under both tier folders.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub(crate) files: Vec<Found>,
    /// Directories that are not ours (wrong names), counted as unknown.
    pub(crate) unknown_dirs: u64,
}

fn is_fanout_name(name: &str) -> Option<u8> {
    if name.len() != 2 {
        return None;
    }
    u8::from_str_radix(name, 16)
        .ok()
        .filter(|_| name.bytes().all(|b| !b.is_ascii_uppercase()))
}

/// Lists every file below `root/<tier>/`. Files that vanish while we look
/// (another process evicting or replacing them) are skipped silently.
pub(crate) fn scan(root: &Path) -> io::Result<Scan> {
    let mut out = Scan::default();
    let mut shared = Vec::new();
    for tier in Tier::ALL {
        let tier_dir = root.join(tier.dir_name());
        let rd = match fs::read_dir(&tier_dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for sub in rd {
            let sub = sub?;
            let name = sub.file_name();
            let fan = name.to_str().and_then(is_fanout_name);
            let is_dir = sub.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let Some(fan) = fan.filter(|_| is_dir) else {
                if is_dir {
                    out.unknown_dirs += 1;
                } else if let Ok(meta) = sub.metadata() {
                    out.files.push(Found {
                        tier,
                        path: sub.path(),
                        kind: FileKind::Unknown,
                        len: meta.len(),
                        mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                        shared: None,
                    });
                }
                continue;
            };
            let inner = match fs::read_dir(sub.path()) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for f in inner {
                let f = f?;
                let Ok(meta) = f.metadata() else {
                    continue; // vanished
                };
                if meta.is_dir() {
                    out.unknown_dirs += 1;
                    continue;
                }
                let name = f.file_name();
                let kind = match name.to_str() {
                    Some(n) if n.starts_with(TEMP_PREFIX) => FileKind::Temp,
                    Some(n) => {
                        let (hex, is_shared) = match n.strip_suffix(SHARED_SUFFIX) {
                            Some(hex) => (hex, true),
                            None => (n, false),
                        };
                        match CacheKey::from_hex(hex) {
                            // from_hex accepts upper case; entries are always
                            // written lower case, so only those are ours.
                            Ok(k) if hex.bytes().all(|b| !b.is_ascii_uppercase()) => {
                                if k.0[0] != fan {
                                    FileKind::Misplaced
                                } else if is_shared {
                                    shared.push((tier, k, f.path(), meta.len(), mtime(&meta)));
                                    continue;
                                } else {
                                    FileKind::Entry(k)
                                }
                            }
                            _ => FileKind::Unknown,
                        }
                    }
                    None => FileKind::Unknown,
                };
                out.files.push(Found {
                    tier,
                    path: f.path(),
                    kind,
                    len: meta.len(),
                    mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    shared: None,
                });
            }
        }
    }
    pair_shared(&mut out.files, shared);
    Ok(out)
}

/// A shared payload file found by a scan: its entry's tier and key, path, length, mtime.
type SharedFile = (Tier, CacheKey, PathBuf, u64, SystemTime);

fn mtime(meta: &fs::Metadata) -> SystemTime {
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Hands each shared payload found to the entry of its key (its length added to the
/// entry's); those without one are listed as [`FileKind::Shared`].
fn pair_shared(files: &mut Vec<Found>, shared: Vec<SharedFile>) {
    if shared.is_empty() {
        return;
    }
    let mut by_key: HashMap<(Tier, CacheKey), usize> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        if let FileKind::Entry(k) = f.kind {
            by_key.insert((f.tier, k), i);
        }
    }
    for (tier, key, path, len, mtime) in shared {
        match by_key.get(&(tier, key)) {
            Some(&i) => {
                files[i].len += len;
                files[i].shared = Some(path);
            }
            None => {
                files.push(Found {
                    tier,
                    path,
                    kind: FileKind::Shared,
                    len,
                    mtime,
                    shared: None,
                });
            }
        }
    }
}

/// Removes a file, treating "already gone" as success (another process may
/// have evicted it first).
pub(crate) fn remove_file(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

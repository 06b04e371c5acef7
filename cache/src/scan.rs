//! Walking the entry folders for gc, verify, clear and the summary. Never on
//! the hit path.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
    pub(crate) len: u64,
    pub(crate) mtime: SystemTime,
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
                    Some(n) => match CacheKey::from_hex(n) {
                        // from_hex accepts upper case; entries are always
                        // written lower case, so only those are ours.
                        Ok(k) if n.bytes().all(|b| !b.is_ascii_uppercase()) => {
                            if k.0[0] == fan {
                                FileKind::Entry(k)
                            } else {
                                FileKind::Misplaced
                            }
                        }
                        _ => FileKind::Unknown,
                    },
                    None => FileKind::Unknown,
                };
                out.files.push(Found {
                    tier,
                    path: f.path(),
                    kind,
                    len: meta.len(),
                    mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
    }
    Ok(out)
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

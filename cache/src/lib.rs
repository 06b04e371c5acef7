//! A content-addressed, file-locked, per-user compile cache.
//!
//! The cache stores opaque byte payloads under 32-byte keys (a SHA-256 the
//! caller computes) in three tiers: [`Tier::Module`] for whole compiled
//! artifacts, [`Tier::Function`] for individually compiled functions and
//! [`Tier::Manifest`] for what reuses a module's functions in one read. It
//! knows nothing about what the bytes mean.
//!
//! Guarantees:
//! * `get` returns exactly the bytes that were `put` under that key and tier,
//!   or `None`. Damaged entries of any kind are misses (counted as
//!   `corrupt`) and are deleted when the cache is writable. Nothing panics on
//!   bad files.
//! * `put` never fails the caller: errors become [`Cache::warnings`].
//! * Readers never see partial entries (temp file + atomic rename).
//! * Many threads and many processes can use one directory at once. A run
//!   holds a shared lock on `<dir>/v3/lock`; eviction, `gc` and `clear` take
//!   it exclusively.
//! * An unwritable directory is used read-only instead of failing.
//!
//! See `README.md` in this crate for the on-disk format, the locking protocol
//! and eviction.
//!
//! # Measured costs
//!
//! Measured with `cargo run --release -p wasmprecomp-cache --example measure
//! --features measure-zstd` on the project's 2-core build VM (ext4 on a
//! virtio disk, other builds running), 4000 function-sized entries (100 B to
//! 20 KB log-uniform, median 1368 B, mean 3645 B) cut from the `.text` of the
//! machine's x86-64 shared libraries plus ~8% relocation-like metadata. Best
//! of 5 passes, ranges over two runs:
//!
//! | per function entry | µs |
//! |---|---|
//! | hit, warm page cache | **5.4 - 5.7** (median pass 5.6 - 6.6) |
//! | miss | 1.6 - 1.9 |
//! | hit that also refreshes the mtime (futimens) | 7.6 - 9.9 |
//! | hit, cold (file dropped from the page cache) | 58 - 80 |
//! | hit + zstd-1 decompress, warm | 11.4 - 14.7 |
//! | hit + zstd-1 decompress, cold | 80 - 86 |
//! | zstd-1 compress (added to every put) | 18 - 32 |
//!
//! zstd-1 makes function entries 0.59x and 2 MiB module entries 0.47x their
//! size, but doubles the warm hit cost and gives nothing cold (one I/O per
//! small file either way); for 2 MiB modules a warm hit goes from 0.23 ms to
//! 1.8 ms and a cold one from 2.7 ms to 3.7 ms. Decision: entries are **not
//! compressed**. A hit refreshes its mtime only when it is older than
//! [`CacheConfig::recency_granularity`] (1 hour), so warm runs pay no recency
//! syscall. See `README.md` for the full table.

#![warn(missing_docs)]

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

mod entry;
mod lock;
mod scan;
mod stats;

use entry::ReadOutcome;
use lock::{LockKind, LockOutcome};
use scan::FileKind;

/// Version of the on-disk format. Entries live under `<dir>/v<FORMAT_VERSION>/`
/// and carry it in their header, so a format change simply starts a fresh
/// folder next to the old one instead of misreading it.
pub const FORMAT_VERSION: u32 = 3;

/// Environment variable naming the cache directory when no explicit
/// directory is configured.
pub const CACHE_DIR_ENV: &str = "WASMPRECOMP_CACHE_DIR";

/// Environment variable setting the size limit (`500M`, `2G`, `1024K`, or
/// plain bytes) when the configuration does not.
pub const CACHE_SIZE_ENV: &str = "WASMPRECOMP_CACHE_SIZE";

/// The size limit when neither the configuration nor the environment sets
/// one: 2 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 2 << 30;

/// Temp files older than this are considered abandoned (their writer died)
/// and are removed by `gc`, `verify` and `clear`. A live write takes
/// milliseconds, so an hour is far beyond any real write.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Automatic eviction in `finish()` shrinks the cache to this fraction
/// (per mille) of the limit, so that a cache at its limit is not scanned and
/// trimmed again on every single run.
const AUTO_EVICT_LOW_WATER_PER_MILLE: u64 = 900;

const LOCK_FILE: &str = "lock";

/// Warning tag shared by every "locking does not work here" message, so the
/// caller sees it once per run however many locks were tried.
pub(crate) const LOCK_UNSUPPORTED: &str = "lock-unsupported";

/// Sequence number for temp-file names, shared by every `Cache` in the
/// process so two `Cache` values on one directory never pick the same name.
static SEQ: AtomicU64 = AtomicU64::new(0);

pub(crate) fn next_seq() -> u64 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// A 32-byte cache key. The caller computes it (a SHA-256 of everything that
/// determines the payload); the cache only uses it as a name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub [u8; 32]);

const HEX: &[u8; 16] = b"0123456789abcdef";

impl CacheKey {
    /// The key as 64 lowercase hex digits (this is also its file name).
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        s
    }

    /// Parses 64 hex digits (either case). Anything else is
    /// [`CacheError::InvalidKey`].
    pub fn from_hex(s: &str) -> Result<CacheKey, CacheError> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(CacheError::InvalidKey(s.to_owned()));
        }
        let mut key = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_val(pair[0]);
            let lo = hex_val(pair[1]);
            match (hi, lo) {
                (Some(hi), Some(lo)) => key[i] = (hi << 4) | lo,
                _ => return Err(CacheError::InvalidKey(s.to_owned())),
            }
        }
        Ok(CacheKey(key))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", self.to_hex())
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<[u8; 32]> for CacheKey {
    fn from(bytes: [u8; 32]) -> Self {
        CacheKey(bytes)
    }
}

/// Which kind of artifact an entry is. The tiers are separate namespaces: the
/// same key in two tiers is two independent entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// A whole compiled artifact (can be megabytes).
    Module,
    /// One compiled function (typically 100 B to 20 KB; thousands per run).
    Function,
    /// A module manifest: what the caller needs to reuse every function of a
    /// module of the same shape in one read (one per module; its key names
    /// the shape, not the content, so a newer manifest replaces an older one).
    Manifest,
}

impl Tier {
    /// Every tier, in a fixed order.
    pub const ALL: [Tier; 3] = [Tier::Module, Tier::Function, Tier::Manifest];

    /// Name of the tier's folder under `<dir>/v3/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            Tier::Module => "modules",
            Tier::Function => "functions",
            Tier::Manifest => "manifests",
        }
    }

    /// The byte stored in entry headers.
    pub(crate) fn code(self) -> u8 {
        match self {
            Tier::Module => 0,
            Tier::Function => 1,
            Tier::Manifest => 2,
        }
    }

    fn index(self) -> usize {
        usize::from(self.code())
    }
}

/// A hit of [`Cache::get_or_confirm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The copy has the stored payload's length and checksum.
    Confirmed {
        /// The copy's length (the stored payload's).
        len: u64,
        /// The copy's first bytes (up to 4 KiB), for callers that need to look into it.
        head: Vec<u8>,
    },
    /// The stored payload, read and checked (the copy was missing or differed).
    Read(Vec<u8>),
    /// The stored payload, read and checked, of an entry that keeps it in the shared
    /// file at `file` ([`Cache::put_file`]): a caller that wants the payload in a file of
    /// its own may link that file there instead of writing a copy. The file must not be
    /// changed in place.
    Shared {
        /// The payload.
        payload: Vec<u8>,
        /// The file that holds it.
        file: PathBuf,
    },
}

/// How the cache is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Hits are served and new entries are written.
    #[default]
    ReadWrite,
    /// Hits are served; nothing is ever written, touched or removed.
    ReadOnly,
    /// Every `get` misses and the filesystem is not touched at all.
    Off,
}

impl Mode {
    /// A short lowercase name for messages (`read-write`, `read-only`, `off`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "read-write",
            Mode::ReadOnly => "read-only",
            Mode::Off => "off",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to open a cache. Build it with `CacheConfig { dir: ..,
/// ..Default::default() }` so that new fields do not break callers.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Explicit cache directory (the CLI's `--cache-dir`). When `None`,
    /// [`default_cache_dir`] decides.
    pub dir: Option<PathBuf>,
    /// The requested mode. `ReadWrite` silently becomes `ReadOnly` when the
    /// directory is not writable; [`Cache::mode`] reports the mode in effect.
    pub mode: Mode,
    /// Size limit in bytes (sum of entry file sizes). When `None`,
    /// `WASMPRECOMP_CACHE_SIZE` or else [`DEFAULT_MAX_SIZE`] applies.
    pub max_size: Option<u64>,
    /// Forces read-only use even when `mode` is `ReadWrite` and the directory
    /// is writable (a CI job that must not grow a restored cache). Has no
    /// effect on `Mode::Off`.
    pub force_read_only: bool,
    /// Longest time to wait for a lock: the shared lock at `open` (held off
    /// by a running `gc`/`clear`), the exclusive lock for `gc`/`clear`, and
    /// the stats lock. After it, `open` continues unlocked with a warning and
    /// maintenance returns [`CacheError::Busy`]. Automatic eviction in
    /// `finish` never waits.
    pub lock_timeout: Duration,
    /// A hit refreshes the entry's mtime (its "last used" time for LRU
    /// eviction) only when the mtime is older than this. Entries used again
    /// and again within this window cost no write syscalls; LRU order is
    /// exact to within this window.
    pub recency_granularity: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            dir: None,
            mode: Mode::ReadWrite,
            max_size: None,
            force_read_only: false,
            lock_timeout: Duration::from_secs(10),
            recency_granularity: Duration::from_secs(3600),
        }
    }
}

impl CacheConfig {
    /// A read-write configuration for an explicit directory, everything else
    /// default.
    pub fn with_dir(dir: impl Into<PathBuf>) -> CacheConfig {
        CacheConfig {
            dir: Some(dir.into()),
            ..CacheConfig::default()
        }
    }
}

/// Counters for one `Cache` value (one compiler run). `corrupt` entries are
/// also counted in the misses of their tier. Byte counts are payload bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunStats {
    /// `get(Tier::Module, ..)` calls that returned the payload.
    pub module_hits: u64,
    /// `get(Tier::Module, ..)` calls that returned `None`.
    pub module_misses: u64,
    /// `get(Tier::Function, ..)` calls that returned the payload.
    pub function_hits: u64,
    /// `get(Tier::Function, ..)` calls that returned `None`.
    pub function_misses: u64,
    /// `get(Tier::Manifest, ..)` calls that returned the payload.
    pub manifest_hits: u64,
    /// `get(Tier::Manifest, ..)` calls that returned `None`.
    pub manifest_misses: u64,
    /// Entries found damaged (and removed when writable). Each is also a miss.
    pub corrupt: u64,
    /// Payload bytes returned by hits.
    pub bytes_read: u64,
    /// Payload bytes of entries successfully written.
    pub bytes_written: u64,
    /// Entries removed by size/age eviction (automatic or `gc`).
    pub evictions: u64,
}

impl RunStats {
    /// Adds every counter of `other` to `self` (saturating).
    pub fn add(&mut self, other: &RunStats) {
        self.module_hits = self.module_hits.saturating_add(other.module_hits);
        self.module_misses = self.module_misses.saturating_add(other.module_misses);
        self.function_hits = self.function_hits.saturating_add(other.function_hits);
        self.function_misses = self.function_misses.saturating_add(other.function_misses);
        self.manifest_hits = self.manifest_hits.saturating_add(other.manifest_hits);
        self.manifest_misses = self.manifest_misses.saturating_add(other.manifest_misses);
        self.corrupt = self.corrupt.saturating_add(other.corrupt);
        self.bytes_read = self.bytes_read.saturating_add(other.bytes_read);
        self.bytes_written = self.bytes_written.saturating_add(other.bytes_written);
        self.evictions = self.evictions.saturating_add(other.evictions);
    }

    /// Hits in every tier.
    pub fn hits(&self) -> u64 {
        self.module_hits
            .saturating_add(self.function_hits)
            .saturating_add(self.manifest_hits)
    }

    /// Misses in every tier.
    pub fn misses(&self) -> u64 {
        self.module_misses
            .saturating_add(self.function_misses)
            .saturating_add(self.manifest_misses)
    }
}

/// The contents of `<dir>/v3/stats.json`: totals over every finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CumulativeStats {
    /// Number of `finish()`ed read-write runs that did at least one `get` or
    /// `put`.
    pub runs: u64,
    /// Sum of the [`RunStats`] of those runs, plus evictions done by `gc`.
    pub totals: RunStats,
    /// Running estimate of the sum of entry file sizes, used to decide
    /// whether `finish()` must evict without scanning the folders on every
    /// run. Reset to the exact value by every scan (gc, eviction, clear).
    /// `None` until the first scan.
    pub approx_size_bytes: Option<u64>,
}

/// Entry count and bytes of one tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierSummary {
    /// Number of entry files.
    pub entries: u64,
    /// Sum of their file sizes (headers included).
    pub bytes: u64,
}

/// What is on disk right now, for `cache stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesSummary {
    /// The module tier.
    pub modules: TierSummary,
    /// The function tier.
    pub functions: TierSummary,
    /// The manifest tier.
    #[serde(default)]
    pub manifests: TierSummary,
    /// Temp files (writes in flight or abandoned).
    pub temp_files: u64,
}

impl EntriesSummary {
    /// Bytes of every tier together.
    pub fn total_bytes(&self) -> u64 {
        self.modules
            .bytes
            .saturating_add(self.functions.bytes)
            .saturating_add(self.manifests.bytes)
    }

    /// Entries of every tier together.
    pub fn total_entries(&self) -> u64 {
        self.modules
            .entries
            .saturating_add(self.functions.entries)
            .saturating_add(self.manifests.entries)
    }
}

/// What `gc` (or automatic eviction) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Entry files found.
    pub scanned_entries: u64,
    /// Entry files removed (too old, over the limit, or misplaced).
    pub removed_entries: u64,
    /// Bytes of the removed entry files.
    pub removed_bytes: u64,
    /// Entry files left.
    pub remaining_entries: u64,
    /// Bytes of the entry files left; at most the size limit.
    pub remaining_bytes: u64,
    /// Abandoned temp files removed.
    pub temp_removed: u64,
}

/// What `verify` found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Entry files read and checked. `checked - ok - corrupt_found` entries
    /// could not be read at all (see `Cache::warnings`) and were left alone.
    pub checked: u64,
    /// Of those, entries that are intact.
    pub ok: u64,
    /// Damaged entries removed (only when writable).
    pub corrupt_removed: u64,
    /// Damaged entries found (removed or not).
    pub corrupt_found: u64,
    /// Abandoned temp files removed (only when writable).
    pub temp_removed: u64,
    /// Files and folders that are not the cache's; left alone.
    pub unknown_files: u64,
}

/// Errors of the operations that can fail. `get`/`put` never return errors.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The cache path (or its `v3` folder) exists and is not a directory.
    #[error("cache path {0} exists but is not a directory")]
    NotADirectory(PathBuf),
    /// A filesystem operation failed.
    #[error("cache I/O error on {path}: {source}")]
    Io {
        /// What we were working on.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A maintenance operation that writes was called on a read-only cache.
    #[error("cache at {0} is read-only")]
    ReadOnly(PathBuf),
    /// The operation needs a cache directory but the cache is off.
    #[error("the cache is off")]
    Off,
    /// Another process kept the cache locked for longer than the timeout.
    #[error("cache at {path} is in use by another process (waited {waited:?} for its lock)")]
    Busy {
        /// The cache directory.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// A size string that `parse_size` does not accept.
    #[error("invalid size {0:?}: expected bytes or a number with K, M, G or T (e.g. 500M, 2G)")]
    InvalidSize(String),
    /// A string that is not 64 hex digits.
    #[error("invalid cache key {0:?}: expected 64 hex digits")]
    InvalidKey(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Parses a size: plain bytes (`1048576`) or a number with a binary unit
/// `K`, `M`, `G`, `T` (optionally followed by `B` or `iB`, any case, optional
/// space): `500M`, `2G`, `1024K`, `1.5G`. Rejects empty, negative and
/// overflowing values.
pub fn parse_size(s: &str) -> Result<u64, CacheError> {
    let bad = || CacheError::InvalidSize(s.to_owned());
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(bad()),
    };
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if frac_part.contains('.') || frac_part.len() > 9 {
        return Err(bad());
    }
    let int: u64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| bad())?
    };
    let whole = int.checked_shl(shift).filter(|v| v >> shift == int);
    let whole = whole.ok_or_else(bad)?;
    let frac = if frac_part.is_empty() {
        0
    } else {
        let digits: u64 = frac_part.parse().map_err(|_| bad())?;
        let scale = 10u64.pow(frac_part.len() as u32);
        // digits < scale <= 1e9 and shift <= 40, so this fits in u128.
        ((u128::from(digits) << shift) / u128::from(scale)) as u64
    };
    whole.checked_add(frac).ok_or_else(bad)
}

/// The cache directory used when none is given explicitly:
/// `WASMPRECOMP_CACHE_DIR` if set and non-empty, else the platform's per-user
/// cache folder (`$XDG_CACHE_HOME/wasmprecomp` or `~/.cache/wasmprecomp` on
/// Linux). `None` when neither is available (no home directory).
pub fn default_cache_dir() -> Option<PathBuf> {
    resolve_dir(None, std::env::var_os(CACHE_DIR_ENV), project_cache_dir)
}

fn project_cache_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "wasmprecomp").map(|p| p.cache_dir().to_path_buf())
}

/// Resolution order for the directory: explicit, then environment, then the
/// platform folder. Pure so that tests need not mutate the environment.
fn resolve_dir(
    explicit: Option<&Path>,
    env: Option<OsString>,
    platform: impl FnOnce() -> Option<PathBuf>,
) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    if let Some(env) = env.filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(env));
    }
    platform()
}

/// Resolution order for the size limit: configuration, then environment,
/// then the default. A malformed environment value is a warning, not an
/// error.
fn resolve_max_size(configured: Option<u64>, env: Option<OsString>, warnings: &Warnings) -> u64 {
    if let Some(size) = configured {
        return size;
    }
    if let Some(env) = env.filter(|v| !v.is_empty()) {
        match env.to_str().map(parse_size) {
            Some(Ok(size)) => return size,
            Some(Err(e)) => warnings.push(format!("{CACHE_SIZE_ENV}: {e}; using the default")),
            None => warnings.push(format!(
                "{CACHE_SIZE_ENV} is not valid UTF-8; using the default"
            )),
        }
    }
    DEFAULT_MAX_SIZE
}

/// Warnings collected for the caller to print. Some are recorded only once
/// per `Cache` (tagged), so that a failing disk does not produce thousands.
#[derive(Default)]
pub(crate) struct Warnings {
    inner: Mutex<WarningsInner>,
}

#[derive(Default)]
struct WarningsInner {
    list: Vec<String>,
    seen: HashSet<&'static str>,
}

impl Warnings {
    fn guard(&self) -> std::sync::MutexGuard<'_, WarningsInner> {
        // A panic elsewhere while holding this lock cannot leave the list in
        // a state worse than "one warning missing", so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, msg: String) {
        self.guard().list.push(msg);
    }

    /// Records the message built by `msg` unless a warning with this tag was
    /// already recorded.
    pub(crate) fn once(&self, tag: &'static str, msg: impl FnOnce() -> String) {
        let mut g = self.guard();
        if g.seen.insert(tag) {
            let m = msg();
            g.list.push(m);
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.guard().list.clone()
    }
}

#[derive(Default)]
struct Counters {
    hits: [AtomicU64; 3],
    misses: [AtomicU64; 3],
    corrupt: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    evictions: AtomicU64,
    /// Entry file bytes (headers included) written by this run, added to the
    /// size estimate at `finish`.
    file_bytes_written: AtomicU64,
    /// Evictions already added to `stats.json` by `gc`, so `finish` does not
    /// add them twice.
    evictions_recorded: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RunStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RunStats {
            module_hits: l(&self.hits[Tier::Module.index()]),
            module_misses: l(&self.misses[Tier::Module.index()]),
            function_hits: l(&self.hits[Tier::Function.index()]),
            function_misses: l(&self.misses[Tier::Function.index()]),
            manifest_hits: l(&self.hits[Tier::Manifest.index()]),
            manifest_misses: l(&self.misses[Tier::Manifest.index()]),
            corrupt: l(&self.corrupt),
            bytes_read: l(&self.bytes_read),
            bytes_written: l(&self.bytes_written),
            evictions: l(&self.evictions),
        }
    }
}

/// The main lock file; `None` when locking is unavailable for this run.
struct LockState {
    file: Option<File>,
}

/// Everything that exists only when the cache is not off.
struct Inner {
    dir: PathBuf,
    /// `<dir>/v3`
    root: PathBuf,
    /// `<dir>/v3/modules`, `functions`, `manifests`, indexed by `Tier::index`.
    tier_dirs: [PathBuf; 3],
    /// Mode after the open-time fallback: `ReadWrite` or `ReadOnly`.
    opened_mode: Mode,
    /// Set when a write fails in a way that will keep failing (permissions,
    /// read-only or full filesystem); from then on the cache is read-only.
    writes_disabled: AtomicBool,
    /// Set when a file could not be shared ([`Cache::put_file`]): from then on this
    /// run's payloads are copied.
    sharing_failed: AtomicBool,
    max_size: u64,
    lock_timeout: Duration,
    recency_granularity: Duration,
    lock: Mutex<LockState>,
}

impl Inner {
    fn writable(&self) -> bool {
        self.opened_mode == Mode::ReadWrite && !self.writes_disabled.load(Ordering::Relaxed)
    }

    /// `<tier dir>/<first byte hex>/<key hex>`; built by hand because this is
    /// on the hit path.
    fn entry_path(&self, tier: Tier, key: &CacheKey) -> PathBuf {
        let base = self.tier_dirs[tier.index()].as_os_str();
        let mut s = OsString::with_capacity(base.len() + 68);
        s.push(base);
        let mut tail = [0u8; 68];
        tail[0] = b'/';
        tail[1] = HEX[usize::from(key.0[0] >> 4)];
        tail[2] = HEX[usize::from(key.0[0] & 15)];
        tail[3] = b'/';
        for (i, b) in key.0.iter().enumerate() {
            tail[4 + 2 * i] = HEX[usize::from(b >> 4)];
            tail[5 + 2 * i] = HEX[usize::from(b & 15)];
        }
        // All bytes are ASCII, so this cannot fail; fall back to the slow,
        // obviously correct construction rather than unwrap.
        match std::str::from_utf8(&tail) {
            Ok(t) if std::path::MAIN_SEPARATOR == '/' => {
                s.push(t);
                PathBuf::from(s)
            }
            _ => {
                let hex = key.to_hex();
                self.tier_dirs[tier.index()].join(&hex[..2]).join(hex)
            }
        }
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, LockState> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An open cache. Cheap to share: `get` and `put` take `&self` and may be
/// called from many threads at once (`Cache` is `Send + Sync`).
///
/// Holds a shared lock on the directory for its lifetime (released on drop).
/// Call [`Cache::finish`] at the end of a run to record statistics and
/// recency and to evict if the cache grew past its limit; dropping without
/// `finish` loses only that bookkeeping, never entries.
pub struct Cache {
    inner: Option<Inner>,
    counters: Counters,
    warnings: Warnings,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("dir", &self.dir())
            .field("mode", &self.mode())
            .field("stats", &self.stats())
            .finish()
    }
}

/// Asks the kernel whether this process may create files in `root`
/// (`faccessat` with the effective ids): the same check an open would make,
/// covering root's override, ACLs and read-only mounts, without creating and
/// removing a probe file on every run. Anything it misses (a full disk, a
/// server that refuses later) still ends in the write-error fallback.
fn probe_writable(root: &Path) -> io::Result<()> {
    use rustix::fs::{accessat, Access, AtFlags, CWD};
    // The trailing slash makes a file in the folder's place fail (ENOTDIR).
    accessat(
        CWD,
        root.join(""),
        Access::WRITE_OK | Access::EXEC_OK,
        AtFlags::EACCESS,
    )
    .map_err(io::Error::from)
}

fn ensure_not_file(path: &Path) -> Result<(), CacheError> {
    match fs::metadata(path) {
        Ok(m) if !m.is_dir() => Err(CacheError::NotADirectory(path.to_owned())),
        _ => Ok(()),
    }
}

fn is_not_a_directory(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::NotADirectory {
        return true;
    }
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ENOTDIR) {
        return true;
    }
    false
}

/// Write errors after which further writes are pointless for this run.
fn is_persistent_write_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied
            | io::ErrorKind::ReadOnlyFilesystem
            | io::ErrorKind::StorageFull
            | io::ErrorKind::QuotaExceeded
    )
}

fn age(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or(Duration::ZERO)
}

impl Cache {
    /// Opens (creating if needed) the cache described by `config`.
    ///
    /// Never fails because the directory is not writable: it then opens
    /// read-only (see [`Cache::mode`] and [`Cache::warnings`]). Never fails
    /// because locking is unsupported or busy: it continues unlocked with a
    /// warning. Fails only when the path exists and is not a directory.
    /// When no directory can be determined at all, the cache is off.
    pub fn open(config: &CacheConfig) -> Result<Cache, CacheError> {
        let warnings = Warnings::default();
        let requested = match config.mode {
            Mode::ReadWrite if config.force_read_only => Mode::ReadOnly,
            m => m,
        };
        if requested == Mode::Off {
            return Ok(Cache::off(warnings));
        }
        let Some(dir) = resolve_dir(
            config.dir.as_deref(),
            std::env::var_os(CACHE_DIR_ENV),
            project_cache_dir,
        ) else {
            warnings.push(format!(
                "no cache directory: {CACHE_DIR_ENV} is unset and there is no home directory; caching is off"
            ));
            return Ok(Cache::off(warnings));
        };
        let root = dir.join(format!("v{FORMAT_VERSION}"));
        if requested != Mode::ReadWrite {
            ensure_not_file(&dir)?;
            ensure_not_file(&root)?;
        }
        let max_size =
            resolve_max_size(config.max_size, std::env::var_os(CACHE_SIZE_ENV), &warnings);

        let mut mode = requested;
        if mode == Mode::ReadWrite {
            // The folder usually exists: ask about it first, and create it only
            // when it is missing (saves a mkdir and a stat on every run).
            let writable = match probe_writable(&root) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir_all(&root).and_then(|()| probe_writable(&root))
                }
                r => r,
            };
            if let Err(e) = writable {
                // Only now (off the common path) find out whether a file is in the way.
                ensure_not_file(&dir)?;
                ensure_not_file(&root)?;
                if is_not_a_directory(&e) {
                    return Err(CacheError::NotADirectory(dir));
                }
                warnings.push(format!(
                    "cache directory {} is not writable ({e}); using it read-only",
                    dir.display()
                ));
                mode = Mode::ReadOnly;
            }
        }

        let lock_path = root.join(LOCK_FILE);
        let lock_file = if mode == Mode::ReadWrite {
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
            {
                Ok(f) => Some(f),
                // A shared cache folder whose lock file belongs to another
                // user: flock works on a read-only descriptor too.
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                    File::open(&lock_path).ok()
                }
                Err(e) => {
                    warnings.push(format!(
                        "cannot open lock file {} ({e}); continuing without locking",
                        lock_path.display()
                    ));
                    None
                }
            }
        } else {
            // Read-only: use the lock if it is there (so a concurrent gc by a
            // user who can write waits for us), but never create it.
            File::open(&lock_path).ok()
        };
        // Without a working lock the file is dropped, so that the rest of the
        // run (maintenance, eviction) does not try again and warn again.
        let lock_file = lock_file.and_then(|f| {
            match lock::lock_with_timeout(&f, LockKind::Shared, config.lock_timeout) {
                LockOutcome::Acquired => Some(f),
                LockOutcome::Busy => {
                    warnings.push(format!(
                        "cache {} stayed exclusively locked (gc or clear running?) for {:?}; continuing without its lock",
                        dir.display(),
                        config.lock_timeout
                    ));
                    // Keep the file: a later gc/eviction may still lock it.
                    Some(f)
                }
                LockOutcome::Unsupported(e) => {
                    warnings.once(LOCK_UNSUPPORTED, || {
                        format!(
                            "file locking is not supported for {} ({e}); continuing without locking, so a concurrent gc may remove entries this run wrote",
                            dir.display()
                        )
                    });
                    None
                }
                LockOutcome::Failed(e) => {
                    warnings.once(LOCK_UNSUPPORTED, || {
                        format!(
                            "cannot lock {} ({e}); continuing without locking",
                            lock_path.display()
                        )
                    });
                    None
                }
            }
        });

        let tier_dirs = [
            root.join(Tier::Module.dir_name()),
            root.join(Tier::Function.dir_name()),
            root.join(Tier::Manifest.dir_name()),
        ];
        Ok(Cache {
            inner: Some(Inner {
                dir,
                root,
                tier_dirs,
                opened_mode: mode,
                writes_disabled: AtomicBool::new(false),
                sharing_failed: AtomicBool::new(false),
                max_size,
                lock_timeout: config.lock_timeout,
                recency_granularity: config.recency_granularity,
                lock: Mutex::new(LockState { file: lock_file }),
            }),
            counters: Counters::default(),
            warnings,
        })
    }

    fn off(warnings: Warnings) -> Cache {
        Cache {
            inner: None,
            counters: Counters::default(),
            warnings,
        }
    }

    /// The mode in effect: `ReadOnly` if it was requested or forced, if the
    /// directory turned out not to be writable at open, or if a write failed
    /// with a permission/read-only/disk-full error during the run.
    pub fn mode(&self) -> Mode {
        match &self.inner {
            None => Mode::Off,
            Some(inner) if inner.writable() => Mode::ReadWrite,
            Some(_) => Mode::ReadOnly,
        }
    }

    /// The cache directory (the one given or resolved, without `v3`), or
    /// `None` when the cache is off.
    pub fn dir(&self) -> Option<&Path> {
        self.inner.as_ref().map(|i| i.dir.as_path())
    }

    /// The size limit in bytes that eviction enforces (`None` when off).
    pub fn max_size(&self) -> Option<u64> {
        self.inner.as_ref().map(|i| i.max_size)
    }

    /// Looks up `key` in `tier`. Returns exactly the bytes stored by `put`,
    /// or `None` for a missing, damaged or unreadable entry. Damaged entries
    /// are counted as `corrupt` and removed when writable. Never panics on
    /// filesystem content.
    pub fn get(&self, tier: Tier, key: &CacheKey) -> Option<Vec<u8>> {
        self.lookup(tier, key, None).map(|(payload, ..)| payload)
    }

    /// Looks up `key` in `tier` like [`Cache::get`], but first compares the
    /// file at `copy` (say, the artifact an earlier run wrote from the payload)
    /// with the entry: once the entry's header has passed its checks, a copy
    /// with the stored payload's length and checksum makes the hit
    /// [`Found::Confirmed`], and the stored payload is never read. Otherwise the
    /// hit is [`Found::Read`] with the stored payload. The copy is streamed
    /// through a small buffer, never held whole. A confirmed hit counts as a
    /// hit (and a use) but reads no payload bytes.
    pub fn get_or_confirm(&self, tier: Tier, key: &CacheKey, copy: &Path) -> Option<Found> {
        let (payload, confirmed, shared) = self.lookup(tier, key, Some(copy))?;
        Some(match (confirmed, shared) {
            (Some(len), _) => Found::Confirmed { len, head: payload },
            (None, Some(file)) => Found::Shared { payload, file },
            (None, None) => Found::Read(payload),
        })
    }

    /// [`Cache::get_or_confirm`] with an optional copy: the hit's payload, the payload
    /// length when the copy confirmed it (the payload is then the copy's head), and the
    /// shared file a payload read from it came from.
    fn lookup(
        &self,
        tier: Tier,
        key: &CacheKey,
        copy: Option<&Path>,
    ) -> Option<(Vec<u8>, Option<u64>, Option<PathBuf>)> {
        let Some(inner) = &self.inner else {
            Counters::add(&self.counters.misses[tier.index()], 1);
            return None;
        };
        let path = inner.entry_path(tier, key);
        let (outcome, confirmed) = entry::read_entry_or_confirm(&path, tier, key, copy);
        let shared = matches!(outcome, ReadOutcome::Hit { shared: true, .. })
            .then(|| entry::shared_path(&path));
        let payload = self.account(inner, tier, &path, outcome, confirmed.is_some())?;
        Some((payload, confirmed, shared))
    }

    /// Counts a lookup's outcome, refreshes a hit's recency and removes a
    /// damaged entry; returns the payload of a hit.
    fn account(
        &self,
        inner: &Inner,
        tier: Tier,
        path: &Path,
        outcome: ReadOutcome,
        confirmed: bool,
    ) -> Option<Vec<u8>> {
        let c = &self.counters;
        match outcome {
            ReadOutcome::Hit {
                payload,
                mtime,
                file,
                ..
            } => {
                if inner.writable() {
                    // LRU recency lives in the mtime. Refresh it only when it
                    // is older than the granularity: a warm run then costs no
                    // extra syscall per hit (see README: measured choice).
                    if let Some(mtime) = mtime {
                        let now = SystemTime::now();
                        if age(now, mtime) > inner.recency_granularity {
                            // Failure (e.g. another user's file) only costs
                            // recency accuracy.
                            let _ = file.set_modified(now);
                        }
                    }
                }
                Counters::add(&c.hits[tier.index()], 1);
                if !confirmed {
                    Counters::add(&c.bytes_read, payload.len() as u64);
                }
                Some(payload)
            }
            ReadOutcome::Missing => {
                Counters::add(&c.misses[tier.index()], 1);
                None
            }
            ReadOutcome::Corrupt(why) => {
                Counters::add(&c.misses[tier.index()], 1);
                Counters::add(&c.corrupt, 1);
                if inner.writable() {
                    // Removing could in theory hit a good entry another
                    // process renamed in since our read; that only costs a
                    // recompile, so no inode check is done. A shared payload
                    // beside it goes too (if there is one).
                    let _ = scan::remove_file(path);
                    let _ = scan::remove_file(&entry::shared_path(path));
                }
                self.warnings.once("corrupt-entry", || {
                    format!(
                        "damaged cache entry {} ({why}) treated as a miss{}",
                        path.display(),
                        if inner.writable() { " and removed" } else { "" }
                    )
                });
                None
            }
            ReadOutcome::Io(e) => {
                Counters::add(&c.misses[tier.index()], 1);
                self.warnings.once("read-error", || {
                    format!("cannot read cache entry {} ({e})", path.display())
                });
                None
            }
        }
    }

    /// Stores `payload` under `key` in `tier`, replacing any previous entry.
    /// Does nothing when the cache is off or read-only. Errors never reach
    /// the caller: they are recorded once in [`Cache::warnings`], and errors
    /// that would repeat (permissions, read-only or full disk) switch the
    /// cache to read-only for the rest of the run.
    pub fn put(&self, tier: Tier, key: &CacheKey, payload: &[u8]) {
        let Some(inner) = &self.inner else {
            return;
        };
        if !inner.writable() {
            return;
        }
        match write_entry(inner, tier, key, payload, false) {
            Ok(file_len) => {
                Counters::add(&self.counters.bytes_written, payload.len() as u64);
                Counters::add(&self.counters.file_bytes_written, file_len);
            }
            Err(e) => self.write_failed(inner, e),
        }
    }

    /// Stores `payload` under `key` in `tier` like [`Cache::put`], given that the file at
    /// `file` holds exactly `payload` (the caller just wrote it, say an artifact at its
    /// temp path): the entry then shares that file (a hard link beside the entry's
    /// header) instead of writing a copy. The caller promises that nobody changes the
    /// file in place afterwards (replacing it by a rename is fine); if somebody does,
    /// the entry's checksum turns it into a damaged entry, which is a miss.
    ///
    /// When the file cannot be shared (another filesystem, no hard links there), the
    /// payload is written as by [`Cache::put`], and so are later calls of this run.
    /// Counts no payload bytes as written when the file is shared.
    pub fn put_file(&self, tier: Tier, key: &CacheKey, payload: &[u8], file: &Path) {
        let Some(inner) = &self.inner else {
            return;
        };
        if !inner.writable() {
            return;
        }
        if !inner.sharing_failed.load(Ordering::Relaxed) {
            match write_shared_entry(inner, tier, key, payload, file) {
                Ok(file_len) => {
                    Counters::add(&self.counters.file_bytes_written, file_len);
                    return;
                }
                Err(SharedWrite::Link) => {
                    inner.sharing_failed.store(true, Ordering::Relaxed);
                }
                Err(SharedWrite::Write(e)) => {
                    self.write_failed(inner, e);
                    return;
                }
            }
        }
        self.put(tier, key, payload)
    }

    /// Records a failed entry write: one warning, and no more writes this run when the
    /// error would repeat.
    fn write_failed(&self, inner: &Inner, e: io::Error) {
        let persistent = is_persistent_write_error(&e);
        if persistent {
            inner.writes_disabled.store(true, Ordering::Relaxed);
        }
        self.warnings.once("write-error", || {
            format!(
                "cannot write cache entry under {} ({e}){}",
                inner.dir.display(),
                if persistent {
                    "; no more cache writes this run"
                } else {
                    ""
                }
            )
        });
    }

    /// The counters of this run so far.
    pub fn stats(&self) -> RunStats {
        self.counters.snapshot()
    }

    /// Everything that went wrong but was not allowed to fail the caller
    /// (read-only fallback, unsupported locking, write errors, damaged
    /// entries, ...), oldest first, for the caller to print.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.snapshot()
    }

    /// Ends the run: adds this run's counters to `stats.json` and, when the
    /// estimated size passed the limit, evicts least recently used entries
    /// down to 90% of the limit, if the exclusive lock can be had without
    /// waiting (otherwise another run will do it later). Returns this run's
    /// counters, including those evictions. Only bookkeeping: a read-only or
    /// off cache just returns the counters.
    pub fn finish(self) -> RunStats {
        self.finish_with_warnings().0
    }

    /// Like [`Cache::finish`], also returning every warning, including those
    /// raised while finishing.
    pub fn finish_with_warnings(self) -> (RunStats, Vec<String>) {
        if let Some(inner) = &self.inner {
            if inner.writable() {
                self.record_run(inner);
            }
        }
        (self.stats(), self.warnings())
    }

    fn record_run(&self, inner: &Inner) {
        let added = self.counters.file_bytes_written.load(Ordering::Relaxed);
        let run = self.stats();
        let mut delta = run;
        delta.evictions = self.take_unrecorded_evictions();
        let active = run.hits() + run.misses() + run.bytes_written > 0;
        // One read-modify-write of stats.json in the common case; the size
        // estimate it returns decides whether to evict.
        let updated = stats::update(&inner.root, inner.lock_timeout, &self.warnings, |c| {
            if active {
                c.runs = c.runs.saturating_add(1);
            }
            c.totals.add(&delta);
            c.approx_size_bytes = c.approx_size_bytes.map(|a| a.saturating_add(added));
        });
        let mut exact: Option<u64> = None;
        let projected = match updated.as_ref().and_then(|s| s.approx_size_bytes) {
            Some(e) => e,
            // First run on this directory (or stats.json was lost): one scan
            // establishes the estimate (it already includes this run's writes).
            None => match scan::scan(&inner.root) {
                Ok(s) => {
                    let total = s
                        .files
                        .iter()
                        .filter(|f| matches!(f.kind, FileKind::Entry(_) | FileKind::Misplaced))
                        .map(|f| f.len)
                        .sum();
                    exact = Some(total);
                    total
                }
                Err(e) => {
                    self.warnings.once("scan", || {
                        format!("cannot scan cache {} ({e})", inner.dir.display())
                    });
                    0
                }
            },
        };
        if projected > inner.max_size {
            let target = low_water(inner.max_size);
            // Neither wait for the exclusive lock nor, afterwards, for the
            // shared one: the run is over and must not be held up.
            match self.with_exclusive(inner, Duration::ZERO, Duration::ZERO, || {
                self.evict_locked(inner, Some(target), None)
            }) {
                Ok(Ok(report)) => exact = Some(report.remaining_bytes),
                Ok(Err(e)) => self.warnings.once("evict", || {
                    format!("cache eviction failed in {} ({e})", inner.dir.display())
                }),
                // Another run is using the cache; one of them will evict.
                Err(_) => {}
            }
        }
        let evicted = self.take_unrecorded_evictions();
        if exact.is_some() || evicted > 0 {
            stats::update(&inner.root, inner.lock_timeout, &self.warnings, |c| {
                c.totals.evictions = c.totals.evictions.saturating_add(evicted);
                if exact.is_some() {
                    c.approx_size_bytes = exact;
                }
            });
        }
    }

    /// This run's evictions not yet added to `stats.json`, which from now on
    /// count as added.
    fn take_unrecorded_evictions(&self) -> u64 {
        let total = self.counters.evictions.load(Ordering::Relaxed);
        let before = self
            .counters
            .evictions_recorded
            .swap(total, Ordering::Relaxed);
        total.saturating_sub(before)
    }

    /// Runs `f` while holding the exclusive lock, waiting at most `wait` for
    /// it. Our own shared lock is released first (flock would convert it
    /// anyway, non-atomically) and re-taken afterwards.
    fn with_exclusive<R>(
        &self,
        inner: &Inner,
        wait: Duration,
        relock_wait: Duration,
        f: impl FnOnce() -> R,
    ) -> Result<R, CacheError> {
        let mut st = inner.lock_state();
        let Some(file) = st.file.take() else {
            // No lock file (could not be opened): nothing to coordinate with.
            drop(st);
            return Ok(f());
        };
        lock::unlock(&file);
        let outcome = lock::lock_with_timeout(&file, LockKind::Exclusive, wait);
        let result = match outcome {
            LockOutcome::Acquired => {
                let r = f();
                lock::unlock(&file);
                Ok(r)
            }
            LockOutcome::Busy => Err(CacheError::Busy {
                path: inner.dir.clone(),
                waited: wait,
            }),
            LockOutcome::Unsupported(e) | LockOutcome::Failed(e) => {
                self.warnings.once(LOCK_UNSUPPORTED, || {
                    format!(
                        "cannot take the exclusive cache lock in {} ({e}); continuing without it",
                        inner.dir.display()
                    )
                });
                Ok(f())
            }
        };
        // Back to a shared lock for the rest of the run.
        match lock::lock_with_timeout(&file, LockKind::Shared, relock_wait) {
            LockOutcome::Acquired => {}
            // With no wait allowed (end of run), not getting it is expected.
            _ if relock_wait.is_zero() => {}
            _ => self.warnings.once("relock", || {
                format!(
                    "could not re-take the shared cache lock in {}; continuing without it",
                    inner.dir.display()
                )
            }),
        }
        st.file = Some(file);
        result
    }

    /// Removes abandoned temp files and misplaced entries, then entries
    /// older than `older_than`, then least recently used entries until at
    /// most `target` bytes remain. Caller holds the exclusive lock.
    fn evict_locked(
        &self,
        inner: &Inner,
        target: Option<u64>,
        older_than: Option<Duration>,
    ) -> io::Result<GcReport> {
        let found = scan::scan(&inner.root)?;
        let now = SystemTime::now();
        let mut report = GcReport {
            temp_removed: remove_stale_root_temps(&inner.root, now),
            ..GcReport::default()
        };
        let mut entries = Vec::new();
        for f in found.files {
            match f.kind {
                FileKind::Temp | FileKind::Shared if age(now, f.mtime) > STALE_TEMP_AGE => {
                    if scan::remove_file(&f.path)? {
                        report.temp_removed += 1;
                    }
                }
                FileKind::Misplaced => {
                    report.scanned_entries += 1;
                    if scan::remove_file(&f.path)? {
                        report.removed_entries += 1;
                        report.removed_bytes += f.len;
                    }
                }
                FileKind::Entry(_) => entries.push(f),
                FileKind::Temp | FileKind::Shared | FileKind::Unknown => {}
            }
        }
        report.scanned_entries += entries.len() as u64;
        // Oldest mtime = least recently used first; path breaks ties so the
        // order is deterministic.
        entries.sort_by(|a, b| a.mtime.cmp(&b.mtime).then_with(|| a.path.cmp(&b.path)));
        let mut total: u64 = entries.iter().map(|f| f.len).sum();
        let mut remaining = entries.len() as u64;
        let mut evicted = 0u64;
        for f in &entries {
            let too_old = older_than.is_some_and(|d| age(now, f.mtime) > d);
            let over = target.is_some_and(|t| total > t);
            if !(too_old || over) {
                // Sorted oldest first: nothing later is older, and we are
                // under the target.
                break;
            }
            if f.remove()? {
                evicted += 1;
                report.removed_bytes += f.len;
            }
            total = total.saturating_sub(f.len);
            remaining -= 1;
        }
        report.removed_entries += evicted;
        report.remaining_entries = remaining;
        report.remaining_bytes = total;
        Counters::add(&self.counters.evictions, evicted);
        Ok(report)
    }

    fn writable_inner(&self) -> Result<&Inner, CacheError> {
        let inner = self.inner.as_ref().ok_or(CacheError::Off)?;
        if !inner.writable() {
            return Err(CacheError::ReadOnly(inner.dir.clone()));
        }
        Ok(inner)
    }

    /// Evicts under the exclusive lock (waiting up to the configured
    /// `lock_timeout`, else [`CacheError::Busy`]): removes abandoned temp
    /// files, entries not used for longer than `older_than`, then least
    /// recently used entries until the entries total at most `max_size`
    /// bytes (`None`: the cache's configured limit). Records the evictions
    /// and the exact size in `stats.json`. Needs a read-write cache.
    pub fn gc(
        &self,
        max_size: Option<u64>,
        older_than: Option<Duration>,
    ) -> Result<GcReport, CacheError> {
        let inner = self.writable_inner()?;
        let target = max_size.unwrap_or(inner.max_size);
        let report = self
            .with_exclusive(inner, inner.lock_timeout, inner.lock_timeout, || {
                self.evict_locked(inner, Some(target), older_than)
            })?
            .map_err(io_err(&inner.root))?;
        let evicted = report.removed_entries;
        self.counters
            .evictions_recorded
            .fetch_add(evicted, Ordering::Relaxed);
        stats::update(&inner.root, inner.lock_timeout, &self.warnings, |c| {
            c.totals.evictions = c.totals.evictions.saturating_add(evicted);
            c.approx_size_bytes = Some(report.remaining_bytes);
        });
        Ok(report)
    }

    /// Reads every entry and checks its header, checksum, tier and that its
    /// key matches its file name and folder. Damaged entries and temp files
    /// older than [`STALE_TEMP_AGE`] are removed when the cache is writable
    /// (only counted when read-only). Files that are not the cache's are
    /// counted as `unknown_files` and left alone. Runs under the shared lock
    /// (it removes only files no reader could use), so it can run beside
    /// builds.
    pub fn verify(&self) -> Result<VerifyReport, CacheError> {
        let inner = self.inner.as_ref().ok_or(CacheError::Off)?;
        let writable = inner.writable();
        let found = scan::scan(&inner.root).map_err(io_err(&inner.root))?;
        let now = SystemTime::now();
        let mut report = VerifyReport {
            unknown_files: found.unknown_dirs,
            ..VerifyReport::default()
        };
        if writable {
            report.temp_removed += remove_stale_root_temps(&inner.root, now);
        }
        for f in found.files {
            let damaged = match &f.kind {
                FileKind::Entry(key) => {
                    report.checked += 1;
                    match entry::read_entry(&f.path, f.tier, key) {
                        ReadOutcome::Hit { .. } => {
                            report.ok += 1;
                            false
                        }
                        // Vanished since the scan (evicted or cleared).
                        ReadOutcome::Missing => false,
                        ReadOutcome::Corrupt(_) => true,
                        // Unreadable (e.g. another user's private file):
                        // neither ok nor provably damaged, so not removed.
                        ReadOutcome::Io(e) => {
                            self.warnings.push(format!(
                                "cannot read cache entry {} ({e})",
                                f.path.display()
                            ));
                            false
                        }
                    }
                }
                FileKind::Misplaced => {
                    report.checked += 1;
                    true
                }
                FileKind::Temp | FileKind::Shared => {
                    if writable
                        && age(now, f.mtime) > STALE_TEMP_AGE
                        && scan::remove_file(&f.path).map_err(io_err(&f.path))?
                    {
                        report.temp_removed += 1;
                    }
                    false
                }
                FileKind::Unknown => {
                    report.unknown_files += 1;
                    false
                }
            };
            if damaged {
                report.corrupt_found += 1;
                if writable && f.remove().map_err(io_err(&f.path))? {
                    report.corrupt_removed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Removes every entry and temp file of both tiers under the exclusive
    /// lock (waiting up to `lock_timeout`, else [`CacheError::Busy`]) and
    /// returns how many entries were removed. Cumulative statistics are
    /// kept. Needs a read-write cache.
    pub fn clear(&self) -> Result<u64, CacheError> {
        let inner = self.writable_inner()?;
        let removed = self
            .with_exclusive(
                inner,
                inner.lock_timeout,
                inner.lock_timeout,
                || -> io::Result<u64> {
                    let found = scan::scan(&inner.root)?;
                    let mut removed = 0;
                    for f in found.files {
                        match f.kind {
                            FileKind::Entry(_) | FileKind::Misplaced => {
                                if f.remove()? {
                                    removed += 1;
                                }
                            }
                            FileKind::Temp | FileKind::Shared => {
                                scan::remove_file(&f.path)?;
                            }
                            FileKind::Unknown => {}
                        }
                    }
                    Ok(removed)
                },
            )?
            .map_err(io_err(&inner.root))?;
        stats::update(&inner.root, inner.lock_timeout, &self.warnings, |c| {
            c.approx_size_bytes = Some(0);
        });
        Ok(removed)
    }

    /// The totals stored in `stats.json` (empty when off, missing or
    /// unreadable; an unreadable file also adds a warning). Does not include
    /// this run until `finish`.
    pub fn cumulative_stats(&self) -> CumulativeStats {
        let Some(inner) = &self.inner else {
            return CumulativeStats::default();
        };
        stats::read(&inner.root).unwrap_or_else(|msg| {
            self.warnings.push(msg);
            CumulativeStats::default()
        })
    }

    /// Sets the totals in `stats.json` to zero (runs and every counter; the
    /// size estimate is kept). Needs a read-write cache. `Ok(false)` when the
    /// file could not be updated (the reason is among the warnings).
    pub fn zero_stats(&self) -> Result<bool, CacheError> {
        let inner = self.writable_inner()?;
        let done = stats::update(&inner.root, inner.lock_timeout, &self.warnings, |c| {
            c.runs = 0;
            c.totals = RunStats::default();
        });
        Ok(done.is_some())
    }

    /// Counts entries and bytes per tier by scanning the folders (file
    /// names only; entries are not read).
    pub fn entries_summary(&self) -> Result<EntriesSummary, CacheError> {
        let inner = self.inner.as_ref().ok_or(CacheError::Off)?;
        let found = scan::scan(&inner.root).map_err(io_err(&inner.root))?;
        let mut s = EntriesSummary::default();
        for f in found.files {
            let tier = match f.tier {
                Tier::Module => &mut s.modules,
                Tier::Function => &mut s.functions,
                Tier::Manifest => &mut s.manifests,
            };
            match f.kind {
                FileKind::Entry(_) | FileKind::Misplaced => {
                    tier.entries += 1;
                    tier.bytes += f.len;
                }
                FileKind::Temp | FileKind::Shared => s.temp_files += 1,
                FileKind::Unknown => {}
            }
        }
        Ok(s)
    }
}

/// Removes abandoned `stats.json.tmp-*` and `.probe-*` files from `root`
/// (left by a process that died mid-write). Returns how many were removed.
fn remove_stale_root_temps(root: &Path, now: SystemTime) -> u64 {
    let Ok(rd) = fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let ours =
            name.starts_with(".probe-") || name.starts_with(&format!("{}.tmp-", stats::STATS_FILE));
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|m| age(now, m) > STALE_TEMP_AGE);
        if ours && stale && scan::remove_file(&e.path()).unwrap_or(false) {
            removed += 1;
        }
    }
    removed
}

fn low_water(max: u64) -> u64 {
    (u128::from(max) * u128::from(AUTO_EVICT_LOW_WATER_PER_MILLE) / 1000) as u64
}

/// Writes an entry: header and payload into a uniquely named temp file in
/// the entry's own folder (same filesystem, so the rename is atomic), then
/// renames it over the final name. Readers see the old entry, no entry, or
/// the new entry, never a partial one. No fsync: after a crash a damaged
/// entry fails its checksum and is a miss. Returns the file length.
/// Writes the entry for `payload` under `key` in `tier`: header and payload into a temp
/// file, renamed over the entry's name; when `shared`, the header alone (the payload is
/// already in place beside it). Returns the bytes the entry adds to the cache.
fn write_entry(
    inner: &Inner,
    tier: Tier,
    key: &CacheKey,
    payload: &[u8],
    shared: bool,
) -> io::Result<u64> {
    let final_path = inner.entry_path(tier, key);
    let Some(folder) = final_path.parent() else {
        return Err(io::Error::other("entry path has no parent"));
    };
    let header = entry::encode_header(tier, key, payload, shared);
    let in_file: &[u8] = if shared { &[] } else { payload };
    let (tmp_path, mut file) = create_temp(folder)?;
    let written = (|| {
        if in_file.len() <= 64 * 1024 {
            // One write syscall for the common small function entry.
            let mut buf = Vec::with_capacity(entry::HEADER_LEN + in_file.len());
            buf.extend_from_slice(&header);
            buf.extend_from_slice(in_file);
            file.write_all(&buf)?;
        } else {
            file.write_all(&header)?;
            file.write_all(in_file)?;
        }
        drop(file);
        fs::rename(&tmp_path, &final_path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp_path);
        return Err(e);
    }
    Ok((entry::HEADER_LEN + payload.len()) as u64)
}

/// Why [`write_shared_entry`] wrote no entry.
enum SharedWrite {
    /// The file could not be linked into the cache (another filesystem, one without
    /// hard links, or the file is gone): the payload is to be copied.
    Link,
    /// Writing in the cache failed, as a [`Cache::put`] would have.
    Write(io::Error),
}

/// Writes the entry for `payload` under `key` in `tier` with `file` (which holds
/// `payload`) as its shared payload: first a hard link to the file, renamed over
/// `<key>.data`, then the header alone, renamed over the entry's name. A reader finds
/// the old entry, none, or the new one whole: the payload is in place before the header
/// that names it. Returns the bytes the entry adds to the cache.
fn write_shared_entry(
    inner: &Inner,
    tier: Tier,
    key: &CacheKey,
    payload: &[u8],
    file: &Path,
) -> Result<u64, SharedWrite> {
    let final_path = inner.entry_path(tier, key);
    let Some(folder) = final_path.parent() else {
        return Err(SharedWrite::Write(io::Error::other(
            "entry path has no parent",
        )));
    };
    let mut created_folder = false;
    let mut attempts = 0;
    let link = loop {
        let path = temp_path(folder);
        match fs::hard_link(file, &path) {
            Ok(()) => break path,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !created_folder => {
                // The fan-out folder, or the file itself, is missing.
                fs::create_dir_all(folder).map_err(SharedWrite::Write)?;
                created_folder = true;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => {
                attempts += 1;
            }
            Err(_) => return Err(SharedWrite::Link),
        }
    };
    let renamed = fs::rename(&link, entry::shared_path(&final_path));
    // A rename onto another link to the same file does nothing and leaves the temp
    // name behind; otherwise (and on failure) the name is gone or must go.
    let _ = fs::remove_file(&link);
    renamed.map_err(SharedWrite::Write)?;
    write_entry(inner, tier, key, payload, true).map_err(SharedWrite::Write)
}

/// A fresh temp file name in `folder`.
fn temp_path(folder: &Path) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    folder.join(format!(
        "{}{}-{}-{nanos:x}",
        scan::TEMP_PREFIX,
        std::process::id(),
        next_seq()
    ))
}

/// Creates a new temp file in `folder`, creating the folder on first use (the
/// 256 fan-out folders are made lazily so `open` stays cheap).
fn create_temp(folder: &Path) -> io::Result<(PathBuf, File)> {
    let mut created_folder = false;
    let mut attempts = 0;
    loop {
        let path = temp_path(folder);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !created_folder => {
                fs::create_dir_all(folder)?;
                created_folder = true;
            }
            // A name clash (another host sharing the folder over NFS with the
            // same pid): try another name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_size_accepts_units_and_plain_bytes() {
        assert_eq!(parse_size("0").ok(), Some(0));
        assert_eq!(parse_size("12345").ok(), Some(12345));
        assert_eq!(parse_size("1024K").ok(), Some(1024 * 1024));
        assert_eq!(parse_size("500M").ok(), Some(500 << 20));
        assert_eq!(parse_size("2G").ok(), Some(2 << 30));
        assert_eq!(parse_size("2g").ok(), Some(2 << 30));
        assert_eq!(parse_size("2GiB").ok(), Some(2 << 30));
        assert_eq!(parse_size("2 GB").ok(), Some(2 << 30));
        assert_eq!(parse_size(" 1T ").ok(), Some(1 << 40));
        assert_eq!(parse_size("1.5G").ok(), Some(3 << 29));
        assert_eq!(parse_size("0.5K").ok(), Some(512));
        assert_eq!(parse_size("100b").ok(), Some(100));
    }

    #[test]
    fn parse_size_rejects_nonsense() {
        for s in [
            "",
            " ",
            "G",
            "-1",
            "1X",
            "1.2.3G",
            "abc",
            "1 G B",
            ".",
            "99999999999999999999",
            "20000000000T",
        ] {
            assert!(parse_size(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        let key = CacheKey(k);
        let hex = key.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(CacheKey::from_hex(&hex).ok(), Some(key));
        assert_eq!(CacheKey::from_hex(&hex.to_uppercase()).ok(), Some(key));
        assert!(CacheKey::from_hex(&hex[1..]).is_err());
        assert!(CacheKey::from_hex(&format!("g{}", &hex[1..])).is_err());
    }

    #[test]
    fn directory_resolution_prefers_explicit_then_env_then_platform() {
        let platform = || Some(PathBuf::from("/home/u/.cache/wasmprecomp"));
        assert_eq!(
            resolve_dir(Some(Path::new("/x")), Some("/env".into()), platform),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(
            resolve_dir(None, Some("/env".into()), platform),
            Some(PathBuf::from("/env"))
        );
        assert_eq!(
            resolve_dir(None, Some("".into()), platform),
            Some(PathBuf::from("/home/u/.cache/wasmprecomp"))
        );
        assert_eq!(resolve_dir(None, None, platform), platform());
        assert_eq!(resolve_dir(None, None, || None), None);
    }

    #[test]
    fn the_platform_cache_dir_ends_in_wasmprecomp() {
        if let Some(dir) = project_cache_dir() {
            assert!(dir.ends_with("wasmprecomp"), "{}", dir.display());
        }
    }

    #[test]
    fn size_limit_prefers_config_then_env_then_default() {
        let w = Warnings::default();
        assert_eq!(resolve_max_size(Some(7), Some("1G".into()), &w), 7);
        assert_eq!(resolve_max_size(None, Some("1G".into()), &w), 1 << 30);
        assert_eq!(resolve_max_size(None, None, &w), DEFAULT_MAX_SIZE);
        assert!(w.snapshot().is_empty());
        assert_eq!(
            resolve_max_size(None, Some("lots".into()), &w),
            DEFAULT_MAX_SIZE
        );
        assert_eq!(w.snapshot().len(), 1);
    }

    #[test]
    fn entry_paths_fan_out_by_first_key_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::open(&CacheConfig::with_dir(dir.path())).expect("open");
        let inner = cache.inner.as_ref().expect("on");
        let mut k = [0x11u8; 32];
        k[0] = 0xab;
        let key = CacheKey(k);
        let expected = dir
            .path()
            .join(format!("v{FORMAT_VERSION}"))
            .join("functions")
            .join("ab")
            .join(key.to_hex());
        assert_eq!(inner.entry_path(Tier::Function, &key), expected);
    }

    #[test]
    fn low_water_is_ninety_percent() {
        assert_eq!(low_water(1000), 900);
        let big = low_water(u64::MAX);
        assert!(big < u64::MAX && big > u64::MAX / 10 * 8);
    }
}

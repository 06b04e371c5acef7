//! The on-disk entry format: a fixed 64-byte header followed by the payload.
//!
//! ```text
//! offset  size  field
//!      0     8  magic  b"WPCACHE\0"
//!      8     4  format version, u32 little endian (== FORMAT_VERSION)
//!     12     1  tier: 0 = module, 1 = function, 2 = manifest
//!     13     1  flags: 0, or FLAG_SHARED (the payload is the file `<entry>.data`)
//!     14     2  reserved: must be 0
//!     16    32  the full key
//!     48     8  payload length, u64 little endian
//!     56     8  xxh3-64 of bytes 0..56 and the payload, u64 little endian
//!     64     n  payload (nothing when the payload is shared)
//! ```
//!
//! Every header field is checked on read, and the file length must be exactly
//! `64 + payload length` (64 for a shared payload, whose own file must hold exactly the
//! payload length), so any single-byte change anywhere in the file is detected: in the
//! payload by the checksum, in the header by the field checks (a flipped bit in the
//! stored checksum makes it disagree with the payload).
//!
//! A shared payload is a file the caller wrote elsewhere and handed to the cache
//! (`Cache::put_file`): the entry holds a hard link to it instead of a copy. Its bytes
//! are checked by the same checksum, so a shared file that was changed in place, or
//! that went missing, is a damaged entry like any other.
//!
//! The checksum covers the header's magic, format version, tier, key and length
//! as well as the payload, so an entry is bound to its key: a file copied over
//! another entry's, even with the key bytes in its header changed to match its
//! new name, fails the checksum.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::{CacheKey, Tier, FORMAT_VERSION};

/// Identifies a file as a wasmprecomp cache entry.
pub(crate) const MAGIC: [u8; 8] = *b"WPCACHE\0";
/// Size of the fixed header in front of every payload.
pub(crate) const HEADER_LEN: usize = 64;
/// Header flag: the payload is not in the entry file but in the file beside it named
/// [`shared_path`], a hard link to a file the caller wrote.
pub(crate) const FLAG_SHARED: u8 = 1;
/// The suffix of a shared payload's file name: `<key hex>.data`.
pub(crate) const SHARED_SUFFIX: &str = ".data";

/// Where the shared payload of the entry at `entry` lives: the entry's path with
/// [`SHARED_SUFFIX`] appended.
pub(crate) fn shared_path(entry: &Path) -> std::path::PathBuf {
    let mut s = entry.as_os_str().to_owned();
    s.push(SHARED_SUFFIX);
    s.into()
}

/// Why an entry file was rejected. Only used to build messages; every variant
/// is handled the same way (a counted miss, the file is removed if writable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Corruption {
    /// Shorter than a header (includes zero-length files).
    TooShort,
    BadMagic,
    BadVersion,
    BadTier,
    BadReserved,
    /// The key in the header is not the key the file name (or lookup) says.
    KeyMismatch,
    /// File length disagrees with the payload length in the header (truncated
    /// or with trailing bytes).
    LengthMismatch,
    BadChecksum,
    /// The header says the payload is shared, but the shared file is missing or not
    /// of the payload's length (removed, or replaced or changed in place).
    SharedMissing,
    /// The shared file fails the checksum: somebody changed it in place (it is also
    /// the caller's file, such as an artifact in the output folder).
    SharedChanged,
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Corruption::TooShort => "file shorter than the entry header",
            Corruption::BadMagic => "bad magic bytes",
            Corruption::BadVersion => "unsupported format version",
            Corruption::BadTier => "tier in header does not match its folder",
            Corruption::BadReserved => "reserved header bytes are not zero",
            Corruption::KeyMismatch => "key in header does not match the file name",
            Corruption::LengthMismatch => "file length does not match the header (truncated?)",
            Corruption::BadChecksum => "checksum mismatch (damaged, or copied from another entry)",
            Corruption::SharedMissing => {
                "the artifact file it shares is missing or has another length (changed in place?)"
            }
            Corruption::SharedChanged => "the artifact file it shares was changed in place",
        };
        f.write_str(s)
    }
}

/// The header bytes the checksum covers besides the payload: everything but
/// the checksum itself (magic, version, tier, flags, key, length).
pub(crate) const BOUND_LEN: usize = 56;

/// A checksum being computed: the header's bound bytes first, then the payload,
/// in as many pieces as it comes in.
pub(crate) struct Checksum(xxhash_rust::xxh3::Xxh3Default);

impl Checksum {
    /// Starts the checksum of the entry whose header is `header`.
    pub(crate) fn new(header: &[u8; HEADER_LEN]) -> Checksum {
        let mut h = xxhash_rust::xxh3::Xxh3Default::new();
        h.update(&header[..BOUND_LEN]);
        Checksum(h)
    }

    pub(crate) fn update(&mut self, payload_piece: &[u8]) {
        self.0.update(payload_piece);
    }

    pub(crate) fn digest(&self) -> u64 {
        self.0.digest()
    }
}

/// Checksum of an entry: xxh3-64 of its header's bound bytes and its payload.
/// xxh3 rather than crc32: it is several times faster and the key is already a
/// cryptographic hash, so we only need to detect accidental damage, not
/// tampering; covering the key binds the entry to it.
pub(crate) fn checksum(header: &[u8; HEADER_LEN], payload: &[u8]) -> u64 {
    let mut c = Checksum::new(header);
    c.update(payload);
    c.digest()
}

/// Builds the header for `payload` stored under `key` in `tier`, in the entry file or,
/// when `shared`, in the shared file beside it.
pub(crate) fn encode_header(
    tier: Tier,
    key: &CacheKey,
    payload: &[u8],
    shared: bool,
) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12] = tier.code();
    h[13] = if shared { FLAG_SHARED } else { 0 };
    // 14..16: reserved, zero.
    h[16..48].copy_from_slice(&key.0);
    h[48..56].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    let sum = checksum(&h, payload);
    h[56..64].copy_from_slice(&sum.to_le_bytes());
    h
}

/// What a header promises about the payload that follows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderInfo {
    pub(crate) checksum: u64,
    pub(crate) payload_len: u64,
    /// The payload is in the shared file beside the entry.
    pub(crate) shared: bool,
}

fn u64_at(h: &[u8; HEADER_LEN], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Checks every header field against what the caller expects and the actual
/// file length. Does not look at the payload.
pub(crate) fn check_header(
    h: &[u8; HEADER_LEN],
    tier: Tier,
    key: &CacheKey,
    file_len: u64,
) -> Result<HeaderInfo, Corruption> {
    if h[0..8] != MAGIC {
        return Err(Corruption::BadMagic);
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&h[8..12]);
    if u32::from_le_bytes(v) != FORMAT_VERSION {
        return Err(Corruption::BadVersion);
    }
    if h[12] != tier.code() {
        return Err(Corruption::BadTier);
    }
    if (h[13] != 0 && h[13] != FLAG_SHARED) || h[14] != 0 || h[15] != 0 {
        return Err(Corruption::BadReserved);
    }
    if h[16..48] != key.0 {
        return Err(Corruption::KeyMismatch);
    }
    let shared = h[13] == FLAG_SHARED;
    let payload_len = u64_at(h, 48);
    let in_file = if shared { 0 } else { payload_len };
    if file_len.checked_sub(HEADER_LEN as u64) != Some(in_file) {
        return Err(Corruption::LengthMismatch);
    }
    Ok(HeaderInfo {
        checksum: u64_at(h, 56),
        payload_len,
        shared,
    })
}

/// Result of reading one entry file.
pub(crate) enum ReadOutcome {
    /// A valid entry: the payload, and the file's mtime if the OS reported it.
    Hit {
        payload: Vec<u8>,
        mtime: Option<std::time::SystemTime>,
        file: File,
        /// The payload was read from the entry's shared file (not confirmed by a copy).
        shared: bool,
    },
    /// No file at that path.
    Missing,
    /// A file is there but is not a valid entry for this key and tier.
    Corrupt(Corruption),
    /// The file could not be opened or read for another reason (permissions,
    /// I/O error). Treated as a miss; the file is left alone.
    Io(io::Error),
}

/// Opens the entry at `path` and reads its metadata; `Err` carries the outcome for a
/// file that is missing, unreadable or too short to hold a header.
fn open_entry(path: &Path) -> Result<(File, std::fs::Metadata), ReadOutcome> {
    let file = match File::open(path) {
        Ok(f) => f,
        // NotADirectory: something other than a folder sits where the
        // fan-out folder should be; the entry cannot exist either way.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(ReadOutcome::Missing)
        }
        Err(e) => return Err(ReadOutcome::Io(e)),
    };
    let meta = file.metadata().map_err(ReadOutcome::Io)?;
    if meta.len() < HEADER_LEN as u64 {
        return Err(ReadOutcome::Corrupt(Corruption::TooShort));
    }
    Ok((file, meta))
}

/// Reads and fully validates the entry at `path`, expected to hold `key` in
/// `tier`. This is the hit path: open, one statx, one read, close.
pub(crate) fn read_entry(path: &Path, tier: Tier, key: &CacheKey) -> ReadOutcome {
    read_entry_or_confirm(path, tier, key, None).0
}

/// Like [`read_entry`], but when `copy` is given, once the header has passed its checks
/// the file there is compared with it: when the copy has the payload's length and
/// checksum (streamed through a small buffer, never held whole), the hit's payload is
/// the copy's first [`CONFIRM_HEAD`] bytes and the payload length comes back too; the
/// entry's payload is never read. Otherwise the payload is read and checked as usual
/// (and `None` comes back).
pub(crate) fn read_entry_or_confirm(
    path: &Path,
    tier: Tier,
    key: &CacheKey,
    copy: Option<&Path>,
) -> (ReadOutcome, Option<u64>) {
    let (mut file, meta) = match open_entry(path) {
        Ok(f) => f,
        Err(outcome) => return (outcome, None),
    };
    let file_len = meta.len();
    let mtime = meta.modified().ok();
    // The allocation is bounded by the real file size, so a lying header cannot make
    // it huge.
    let Ok(payload_len) = usize::try_from(file_len - HEADER_LEN as u64) else {
        return (ReadOutcome::Corrupt(Corruption::LengthMismatch), None);
    };
    let mut header = [0u8; HEADER_LEN];
    // A small payload with nothing to confirm comes with its header in one `readv`:
    // each lands in its own buffer, so nothing is moved afterwards. Otherwise the header
    // is read first, and a large payload after it into unfilled memory (zeroing a
    // megabyte first cost more than the extra read).
    let mut payload = None;
    if copy.is_none() && payload_len <= SPLIT_READ_MAX {
        let mut p = vec![0u8; payload_len];
        if let Err(e) = read_split(&mut file, &mut header, &mut p) {
            return (short_read(e), None);
        }
        payload = Some(p);
    } else if let Err(e) = file.read_exact(&mut header) {
        return (short_read(e), None);
    }
    let info = match check_header(&header, tier, key, file_len) {
        Ok(i) => i,
        Err(c) => return (ReadOutcome::Corrupt(c), None),
    };
    if info.shared {
        return read_shared(path, &header, info, copy, mtime, file);
    }
    let payload = match payload {
        Some(p) => p,
        None => {
            let confirmed =
                copy.and_then(|c| confirm_copy(c, &header, payload_len as u64, info.checksum));
            if let Some(head) = confirmed {
                let hit = ReadOutcome::Hit {
                    payload: head,
                    mtime,
                    file,
                    shared: false,
                };
                return (hit, Some(payload_len as u64));
            }
            match read_payload(&mut file, payload_len as u64) {
                Ok(p) => p,
                Err(outcome) => return (outcome, None),
            }
        }
    };
    if checksum(&header, &payload) != info.checksum {
        return (ReadOutcome::Corrupt(Corruption::BadChecksum), None);
    }
    let hit = ReadOutcome::Hit {
        payload,
        mtime,
        file,
        shared: false,
    };
    (hit, None)
}

/// The rest of [`read_entry_or_confirm`] for an entry whose payload is shared: the
/// header at `path` has passed its checks, and the payload is the file beside it.
fn read_shared(
    path: &Path,
    header: &[u8; HEADER_LEN],
    info: HeaderInfo,
    copy: Option<&Path>,
    mtime: Option<std::time::SystemTime>,
    file: File,
) -> (ReadOutcome, Option<u64>) {
    let len = info.payload_len;
    // The copy is often the shared file itself (the artifact the entry was made from).
    if let Some(head) = copy.and_then(|c| confirm_copy(c, header, len, info.checksum)) {
        let hit = ReadOutcome::Hit {
            payload: head,
            mtime,
            file,
            shared: false,
        };
        return (hit, Some(len));
    }
    let mut shared = match File::open(shared_path(path)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return (ReadOutcome::Corrupt(Corruption::SharedMissing), None)
        }
        Err(e) => return (ReadOutcome::Io(e), None),
    };
    match shared.metadata() {
        Ok(m) if m.len() == len => {}
        Ok(_) => return (ReadOutcome::Corrupt(Corruption::SharedMissing), None),
        Err(e) => return (ReadOutcome::Io(e), None),
    }
    let payload = match read_payload(&mut shared, len) {
        Ok(p) => p,
        Err(outcome) => return (outcome, None),
    };
    if checksum(header, &payload) != info.checksum {
        return (ReadOutcome::Corrupt(Corruption::SharedChanged), None);
    }
    let hit = ReadOutcome::Hit {
        payload,
        mtime,
        file,
        shared: true,
    };
    (hit, None)
}

/// How many leading bytes of a confirmed copy are returned.
pub(crate) const CONFIRM_HEAD: usize = 4096;

/// The first [`CONFIRM_HEAD`] bytes of the file at `copy` when it holds `len` bytes whose
/// checksum as the payload of the entry with `header` is `sum`; `None` when it is missing,
/// unreadable or different. The file goes through one 64 KiB buffer: a copy of a large
/// artifact is never held whole.
fn confirm_copy(copy: &Path, header: &[u8; HEADER_LEN], len: u64, sum: u64) -> Option<Vec<u8>> {
    let mut f = File::open(copy).ok()?;
    if f.metadata().ok()?.len() != len {
        return None;
    }
    let mut hasher = Checksum::new(header);
    let mut head = Vec::new();
    let mut buf = vec![0u8; (len as usize).clamp(1, 64 << 10)];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match f.read(&mut buf[..want]) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        hasher.update(&buf[..n]);
        if head.len() < CONFIRM_HEAD {
            let take = n.min(CONFIRM_HEAD - head.len());
            head.extend_from_slice(&buf[..take]);
        }
        left -= n as u64;
    }
    (hasher.digest() == sum).then_some(head)
}

/// Up to this payload size, header and payload are read with one `readv` into a zeroed
/// buffer; above it, the payload is read on its own into unfilled memory.
const SPLIT_READ_MAX: usize = 64 << 10;

/// Reads the `len` bytes after the header into fresh, unfilled memory; fewer bytes (the
/// file shrank) is corruption.
fn read_payload(file: &mut File, len: u64) -> Result<Vec<u8>, ReadOutcome> {
    let mut payload = Vec::new();
    usize::try_from(len)
        .map_err(io::Error::other)
        .and_then(|n| payload.try_reserve_exact(n).map_err(io::Error::other))
        .map_err(ReadOutcome::Io)?;
    file.take(len)
        .read_to_end(&mut payload)
        .map_err(ReadOutcome::Io)?;
    if payload.len() as u64 != len {
        return Err(ReadOutcome::Corrupt(Corruption::LengthMismatch));
    }
    Ok(payload)
}

/// Fills `header` and then `payload` from `file`, with as few `readv` calls as the
/// kernel allows (one, for a regular file).
fn read_split(file: &mut File, header: &mut [u8], payload: &mut [u8]) -> io::Result<()> {
    let total = header.len() + payload.len();
    let mut done = 0;
    while done < total {
        let r = if done < header.len() {
            file.read_vectored(&mut [
                io::IoSliceMut::new(&mut header[done..]),
                io::IoSliceMut::new(payload),
            ])
        } else {
            file.read(&mut payload[done - header.len()..])
        };
        match r {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A read that ended early means the file shrank under us (or lied about its
/// length): that is corruption, not an I/O failure.
fn short_read(e: io::Error) -> ReadOutcome {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ReadOutcome::Corrupt(Corruption::LengthMismatch)
    } else {
        ReadOutcome::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> CacheKey {
        CacheKey([b; 32])
    }

    #[test]
    fn a_fresh_header_passes_its_own_checks() {
        let payload = b"hello";
        let h = encode_header(Tier::Function, &key(7), payload, false);
        let info = check_header(&h, Tier::Function, &key(7), 64 + 5).expect("valid");
        assert_eq!(info.checksum, checksum(&h, payload));
    }

    #[test]
    fn the_checksum_binds_the_payload_to_its_key_tier_and_version() {
        let payload = b"the same payload";
        let h = encode_header(Tier::Module, &key(1), payload, false);
        let sum = checksum(&h, payload);
        // The same payload under another key, tier or version: the stored checksum of
        // the first entry does not fit it.
        for other in [
            encode_header(Tier::Module, &key(2), payload, false),
            encode_header(Tier::Manifest, &key(1), payload, false),
        ] {
            let mut forged = other;
            forged[56..64].copy_from_slice(&h[56..64]);
            assert_ne!(checksum(&forged, payload), sum);
        }
        let mut bumped = h;
        bumped[8] ^= 1;
        assert_ne!(checksum(&bumped, payload), sum);
    }

    #[test]
    fn every_header_field_is_checked() {
        let h = encode_header(Tier::Module, &key(1), b"abc", false);
        let len = 67;
        let mut bad = h;
        bad[0] ^= 1;
        assert_eq!(
            check_header(&bad, Tier::Module, &key(1), len).err(),
            Some(Corruption::BadMagic)
        );
        let mut bad = h;
        bad[8] ^= 1;
        assert_eq!(
            check_header(&bad, Tier::Module, &key(1), len).err(),
            Some(Corruption::BadVersion)
        );
        assert_eq!(
            check_header(&h, Tier::Function, &key(1), len).err(),
            Some(Corruption::BadTier)
        );
        for flags in [2, 0x80, 0xff] {
            let mut bad = h;
            bad[13] = flags;
            assert_eq!(
                check_header(&bad, Tier::Module, &key(1), len).err(),
                Some(Corruption::BadReserved)
            );
        }
        assert_eq!(
            check_header(&h, Tier::Module, &key(2), len).err(),
            Some(Corruption::KeyMismatch)
        );
        assert_eq!(
            check_header(&h, Tier::Module, &key(1), len - 1).err(),
            Some(Corruption::LengthMismatch)
        );
        assert_eq!(
            check_header(&h, Tier::Module, &key(1), len + 1).err(),
            Some(Corruption::LengthMismatch)
        );
    }

    #[test]
    fn a_shared_header_stands_alone_and_covers_the_payload_elsewhere() {
        let payload = b"an artifact written elsewhere";
        let h = encode_header(Tier::Module, &key(3), payload, true);
        let info = check_header(&h, Tier::Module, &key(3), HEADER_LEN as u64).expect("valid");
        assert!(info.shared);
        assert_eq!(info.payload_len, payload.len() as u64);
        assert_eq!(info.checksum, checksum(&h, payload));
        // The entry file holds the header alone: a payload inside it is a length error.
        let n = (HEADER_LEN + payload.len()) as u64;
        assert_eq!(
            check_header(&h, Tier::Module, &key(3), n).err(),
            Some(Corruption::LengthMismatch)
        );
        // The flag is covered by the checksum: the same payload kept in the entry file
        // has another one.
        let own = encode_header(Tier::Module, &key(3), payload, false);
        assert_ne!(checksum(&own, payload), info.checksum);
    }
}

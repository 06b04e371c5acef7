//! `stats.json`: cumulative statistics, updated read-modify-write under an
//! exclusive lock on the file itself so that concurrent `finish()` calls from
//! several processes never lose each other's counts.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use crate::lock::{self, LockKind, LockOutcome};
use crate::{CumulativeStats, Warnings};

pub(crate) const STATS_FILE: &str = "stats.json";

fn parse(bytes: &[u8], path: &Path) -> Result<CumulativeStats, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        // Created by an update that did not get to write (or never ran).
        return Ok(CumulativeStats::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| format!("{} is not valid stats JSON ({e})", path.display()))
}

/// Reads `stats.json`. A missing file is an empty history; an unreadable or
/// unparsable one is reported as an error so the caller can warn.
pub(crate) fn read(root: &Path) -> Result<CumulativeStats, String> {
    let path = root.join(STATS_FILE);
    match fs::read(&path) {
        Ok(bytes) => parse(&bytes, &path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(CumulativeStats::default()),
        Err(e) => Err(format!("cannot read {} ({e})", path.display())),
    }
}

/// Reads the whole file with positioned reads into a buffer sized for a typical
/// `stats.json`: one `pread` when it fits, where `read_to_end` also asks for the
/// size and position and reads once more to see the end.
fn read_at_start(f: &File) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 1024];
    let mut len = 0;
    loop {
        match f.read_at(&mut buf[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                // A short read of a regular file is its end.
                if len < buf.len() {
                    break;
                }
                buf.resize(buf.len() * 2, 0);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Rewrites the open `stats.json` in place with one positioned write, padded
/// with trailing spaces (valid JSON whitespace) to at least its old length,
/// so the file never needs truncating. A killed process cannot tear a single
/// small write, and a temp file plus a rename cost several times more on
/// every run (and would break the lock, which lives on this inode).
fn write(f: &File, old_len: usize, stats: &CumulativeStats) -> io::Result<()> {
    let mut json = serde_json::to_vec_pretty(stats).map_err(io::Error::other)?;
    json.push(b'\n');
    if json.len() < old_len {
        json.resize(old_len, b' ');
    }
    f.write_all_at(&json, 0)
}

/// Applies `change` to the stored statistics under the exclusive lock and
/// returns the result, or `None` (with a warning) when they could not be
/// updated. One open file serves the lock, the read and the write.
pub(crate) fn update(
    root: &Path,
    timeout: Duration,
    warnings: &Warnings,
    change: impl FnOnce(&mut CumulativeStats),
) -> Option<CumulativeStats> {
    let path = root.join(STATS_FILE);
    let mut bytes = Vec::new();
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) => {
            warnings.once("stats-open", || {
                format!(
                    "cache statistics not updated: cannot open {} ({e})",
                    path.display()
                )
            });
            return None;
        }
    };
    match lock::lock_with_timeout(&file, LockKind::Exclusive, timeout) {
        LockOutcome::Acquired => {}
        LockOutcome::Busy => {
            warnings.once("stats-lock-busy", || {
                format!(
                    "cache statistics not updated: {} stayed locked for {timeout:?}",
                    path.display()
                )
            });
            return None;
        }
        LockOutcome::Unsupported(e) | LockOutcome::Failed(e) => {
            // Same policy as the main lock: carry on unlocked. The worst case
            // is a lost increment when two runs finish in the same instant.
            warnings.once(crate::LOCK_UNSUPPORTED, || {
                format!(
                    "file locking failed on {} ({e}); updating cache statistics without a lock",
                    path.display()
                )
            });
        }
    }
    let mut stats = match read_at_start(&file) {
        Ok(b) => {
            bytes = b;
            parse(&bytes, &path)
        }
        Err(e) => Err(format!("cannot read {} ({e})", path.display())),
    }
    .unwrap_or_else(|msg| {
        warnings.once("stats-unreadable", || {
            format!("{msg}; cache statistics start over")
        });
        CumulativeStats::default()
    });
    change(&mut stats);
    let result = write(&file, bytes.len(), &stats);
    // Closing the only descriptor releases the lock.
    drop(file);
    match result {
        Ok(()) => Some(stats),
        Err(e) => {
            warnings.once("stats-write", || {
                format!("cache statistics not updated: cannot write {STATS_FILE} ({e})")
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_rewrite_in_place_still_reads_back_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut big = CumulativeStats {
            runs: u64::MAX,
            approx_size_bytes: Some(u64::MAX),
            ..Default::default()
        };
        big.totals.function_hits = u64::MAX;
        let w = Warnings::default();
        let t = Duration::from_secs(1);
        update(dir.path(), t, &w, |c| *c = big.clone()).expect("update");
        assert_eq!(read(dir.path()), Ok(big));
        let small = CumulativeStats {
            runs: 1,
            ..Default::default()
        };
        update(dir.path(), t, &w, |c| *c = small.clone()).expect("update");
        assert_eq!(read(dir.path()), Ok(small));
        let len = fs::metadata(dir.path().join(STATS_FILE))
            .expect("stat")
            .len();
        assert!(
            len > 200,
            "padded to the old length, not truncated ({len} bytes)"
        );
    }

    #[test]
    fn updates_accumulate_and_return_the_new_totals() {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = Warnings::default();
        for _ in 0..3 {
            update(dir.path(), Duration::from_secs(1), &w, |c| c.runs += 1);
        }
        let last = update(dir.path(), Duration::from_secs(1), &w, |c| c.runs += 1);
        assert_eq!(last.map(|c| c.runs), Some(4));
        assert_eq!(read(dir.path()).map(|c| c.runs), Ok(4));
    }
}

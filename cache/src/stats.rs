//! `stats.json`: cumulative statistics, updated read-modify-write under an
//! exclusive lock on `stats.lock` so that concurrent `finish()` calls from
//! several processes never lose each other's counts.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use crate::lock::{self, LockKind, LockOutcome};
use crate::{CumulativeStats, Warnings};

pub(crate) const STATS_FILE: &str = "stats.json";
pub(crate) const STATS_LOCK_FILE: &str = "stats.lock";

/// Reads `stats.json`. A missing file is an empty history; an unreadable or
/// unparsable one is reported as an error so the caller can warn.
pub(crate) fn read(root: &Path) -> Result<CumulativeStats, String> {
    let path = root.join(STATS_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not valid stats JSON ({e})", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(CumulativeStats::default()),
        Err(e) => Err(format!("cannot read {} ({e})", path.display())),
    }
}

/// Writes `stats.json` atomically (temp file + rename), so a reader that does
/// not take the lock (`Cache::cumulative_stats`) never sees half a file.
/// Rewrites `stats.json` in place with one positioned write, padded with
/// trailing spaces (valid JSON whitespace) to at least its old length, so the
/// file never needs truncating. A killed process cannot tear a single small
/// write, and creating a temp file plus a rename costs several times more on
/// every run. Callers hold the exclusive stats lock.
fn write(root: &Path, stats: &CumulativeStats) -> io::Result<()> {
    let mut json = serde_json::to_vec_pretty(stats).map_err(io::Error::other)?;
    json.push(b'\n');
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(root.join(STATS_FILE))?;
    let old_len = f.metadata()?.len();
    if (json.len() as u64) < old_len {
        json.resize(old_len as usize, b' ');
    }
    f.write_all_at(&json, 0)
}

pub(crate) fn update(
    root: &Path,
    timeout: Duration,
    warnings: &Warnings,
    change: impl FnOnce(&mut CumulativeStats),
) -> Option<CumulativeStats> {
    let lock_path = root.join(STATS_LOCK_FILE);
    let lock_file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
    {
        Ok(f) => f,
        Err(e) => {
            warnings.once("stats-lock-open", || {
                format!(
                    "cache statistics not updated: cannot open {} ({e})",
                    lock_path.display()
                )
            });
            return None;
        }
    };
    match lock::lock_with_timeout(&lock_file, LockKind::Exclusive, timeout) {
        LockOutcome::Acquired => {}
        LockOutcome::Busy => {
            warnings.once("stats-lock-busy", || {
                format!(
                    "cache statistics not updated: {} stayed locked for {timeout:?}",
                    lock_path.display()
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
                    lock_path.display()
                )
            });
        }
    }
    let mut stats = match read(root) {
        Ok(s) => s,
        Err(msg) => {
            warnings.once("stats-unreadable", || {
                format!("{msg}; cache statistics start over")
            });
            CumulativeStats::default()
        }
    };
    change(&mut stats);
    let result = write(root, &stats);
    lock::unlock(&lock_file);
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
        write(dir.path(), &big).expect("write");
        assert_eq!(read(dir.path()), Ok(big));
        let small = CumulativeStats {
            runs: 1,
            ..Default::default()
        };
        write(dir.path(), &small).expect("write");
        assert_eq!(read(dir.path()), Ok(small));
        let len = fs::metadata(dir.path().join(STATS_FILE)).expect("stat").len();
        assert!(len > 200, "padded to the old length, not truncated ({len} bytes)");
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

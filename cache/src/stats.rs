//! `stats.json`: cumulative statistics, updated read-modify-write under an
//! exclusive lock on `stats.lock` so that concurrent `finish()` calls from
//! several processes never lose each other's counts.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
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
fn write(root: &Path, stats: &CumulativeStats) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(stats).map_err(io::Error::other)?;
    let tmp = root.join(format!(
        "{STATS_FILE}.tmp-{}-{}",
        std::process::id(),
        crate::next_seq()
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(&json)?;
        f.write_all(b"\n")?;
        drop(f);
        fs::rename(&tmp, root.join(STATS_FILE))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Applies `change` to the stored statistics under the stats lock and writes
/// them back. Waits at most `timeout` for the lock; on failure the update is
/// dropped with a warning (statistics must never fail or hang a compile).
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

//! Advisory file locks (flock on Unix, LockFileEx on Windows) through `fs4`.
//!
//! `std::fs::File` grew inherent `lock`/`try_lock` methods in Rust 1.89 that
//! shadow the `fs4::FileExt` ones; we call the trait functions by path so the
//! crate keeps building on the workspace's minimum Rust version and always
//! uses fs4.

use std::fs::File;
use std::io;
use std::time::{Duration, Instant};

use fs4::{FileExt, TryLockError};

/// The kind of lock to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    Shared,
    Exclusive,
}

/// Outcome of a lock attempt.
#[derive(Debug)]
pub(crate) enum LockOutcome {
    Acquired,
    /// Someone else holds a conflicting lock (after waiting, if we waited).
    Busy,
    /// The filesystem does not do locking (NFS without lockd, some FUSE
    /// mounts, ...). Callers continue unlocked and warn once.
    Unsupported(io::Error),
    /// Any other failure. Callers treat it like `Unsupported`: the cache must
    /// never fail a compile because a lock could not be taken.
    Failed(io::Error),
}

/// True for the errors a lock call returns when locking is not available at
/// all on this filesystem, as opposed to a conflict.
pub(crate) fn is_unsupported(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::Unsupported {
        return true;
    }
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        return code == libc::ENOLCK
            || code == libc::EOPNOTSUPP
            || code == libc::ENOTSUP
            || code == libc::ENOSYS
            || code == libc::EINVAL;
    }
    false
}

fn classify(e: io::Error) -> LockOutcome {
    if is_unsupported(&e) {
        LockOutcome::Unsupported(e)
    } else {
        LockOutcome::Failed(e)
    }
}

/// One non-blocking attempt.
pub(crate) fn try_lock(file: &File, kind: LockKind) -> LockOutcome {
    let r = match kind {
        LockKind::Shared => FileExt::try_lock_shared(file),
        LockKind::Exclusive => FileExt::try_lock(file),
    };
    match r {
        Ok(()) => LockOutcome::Acquired,
        Err(TryLockError::WouldBlock) => LockOutcome::Busy,
        Err(TryLockError::Error(e)) => classify(e),
    }
}

/// Tries to take the lock, polling until `timeout` has passed. We poll rather
/// than block so that a stuck holder (a hung build) can never hang a caller
/// forever; a zero timeout makes exactly one attempt.
pub(crate) fn lock_with_timeout(file: &File, kind: LockKind, timeout: Duration) -> LockOutcome {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match try_lock(file, kind) {
            LockOutcome::Busy => {}
            other => return other,
        }
        let now = Instant::now();
        if now >= deadline {
            return LockOutcome::Busy;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Releases whatever lock `file` holds. Errors are ignored: closing the file
/// releases it anyway.
pub(crate) fn unlock(file: &File) {
    let _ = FileExt::unlock(file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_errors_that_mean_no_locking_support_are_recognised() {
        #[cfg(unix)]
        {
            for code in [libc::ENOLCK, libc::EOPNOTSUPP, libc::ENOSYS] {
                assert!(is_unsupported(&io::Error::from_raw_os_error(code)));
            }
            assert!(!is_unsupported(&io::Error::from_raw_os_error(libc::EIO)));
        }
        assert!(is_unsupported(&io::Error::from(io::ErrorKind::Unsupported)));
        assert!(!is_unsupported(&io::Error::from(
            io::ErrorKind::PermissionDenied
        )));
    }

    #[test]
    fn a_shared_lock_blocks_an_exclusive_one_on_another_handle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let a = File::create(&path).expect("create");
        let b = File::options().write(true).open(&path).expect("open");
        assert!(matches!(
            try_lock(&a, LockKind::Shared),
            LockOutcome::Acquired
        ));
        assert!(matches!(
            lock_with_timeout(&b, LockKind::Exclusive, Duration::from_millis(20)),
            LockOutcome::Busy
        ));
        unlock(&a);
        assert!(matches!(
            try_lock(&b, LockKind::Exclusive),
            LockOutcome::Acquired
        ));
    }
}

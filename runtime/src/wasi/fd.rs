//! The descriptor table of a WASI program: what each number names and the rights it
//! carries.

use super::{errno, rights, Errno};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};

/// What a descriptor names.
#[derive(Debug)]
pub(super) enum Kind {
    /// Standard input (0), output (1) or error (2) of the program, as configured in the
    /// context (whatever number it is renumbered to).
    Stdio(u8),
    /// A host file (not a directory).
    File(File),
    /// A host directory.
    Dir(File),
}

/// One open descriptor.
#[derive(Debug)]
pub(super) struct Entry {
    pub kind: Kind,
    /// Rights of this descriptor.
    pub base: u64,
    /// Rights that descriptors opened through it may have.
    pub inheriting: u64,
    /// The guest name of a preopened directory.
    pub preopen: Option<String>,
    /// `fdflags` of a stdio descriptor (kept here: the host's own stdio is not changed).
    pub stdio_flags: u16,
}

impl Entry {
    /// `Ok` when the descriptor has every right in `needed`, `ENOTCAPABLE` otherwise.
    pub fn require(&self, needed: u64) -> Result<(), Errno> {
        if self.base & needed == needed {
            Ok(())
        } else {
            Err(errno::NOTCAPABLE)
        }
    }

    /// The host descriptor of a file or directory (`EBADF` for stdio).
    pub fn host_fd(&self) -> Result<BorrowedFd<'_>, Errno> {
        match &self.kind {
            Kind::File(f) | Kind::Dir(f) => Ok(f.as_fd()),
            Kind::Stdio(_) => Err(errno::BADF),
        }
    }

    /// The host directory (`ENOTDIR` for other descriptors).
    pub fn dir(&self) -> Result<BorrowedFd<'_>, Errno> {
        match &self.kind {
            Kind::Dir(f) => Ok(f.as_fd()),
            _ => Err(errno::NOTDIR),
        }
    }

    /// The host file: `EISDIR` for a directory, `EBADF` for stdio.
    pub fn file(&self) -> Result<&File, Errno> {
        match &self.kind {
            Kind::File(f) => Ok(f),
            Kind::Dir(_) => Err(errno::ISDIR),
            Kind::Stdio(_) => Err(errno::BADF),
        }
    }
}

/// Rights of the stdio descriptors: the file rights without seeking, telling, advising,
/// allocating and setting sizes or times; read only on input, write only on outputs.
pub(super) fn stdio_rights(n: u8) -> u64 {
    use rights::*;
    let common = FD_DATASYNC | FD_SYNC | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
    common | if n == 0 { FD_READ } else { FD_WRITE }
}

/// The open descriptors of a program, by number.
#[derive(Debug, Default)]
pub(super) struct FdTable {
    entries: BTreeMap<u32, Entry>,
}

impl FdTable {
    /// A table holding stdin, stdout and stderr as 0, 1 and 2.
    pub fn with_stdio() -> FdTable {
        let mut t = FdTable::default();
        for n in 0..3u8 {
            t.entries.insert(
                n as u32,
                Entry {
                    kind: Kind::Stdio(n),
                    base: stdio_rights(n),
                    inheriting: 0,
                    preopen: None,
                    stdio_flags: 0,
                },
            );
        }
        t
    }

    /// Adds `entry` under the lowest free number.
    pub fn insert(&mut self, entry: Entry) -> Result<u32, Errno> {
        let mut n = 0u32;
        for &k in self.entries.keys() {
            if k != n {
                break;
            }
            n = n.checked_add(1).ok_or(errno::NFILE)?;
        }
        self.entries.insert(n, entry);
        Ok(n)
    }

    /// The descriptor `fd`, `EBADF` when it is not open.
    pub fn get(&self, fd: u32) -> Result<&Entry, Errno> {
        self.entries.get(&fd).ok_or(errno::BADF)
    }

    /// The descriptor `fd` with the rights `needed` (`ENOTCAPABLE` when it lacks one).
    pub fn with(&self, fd: u32, needed: u64) -> Result<&Entry, Errno> {
        let e = self.get(fd)?;
        e.require(needed)?;
        Ok(e)
    }

    pub fn get_mut(&mut self, fd: u32) -> Result<&mut Entry, Errno> {
        self.entries.get_mut(&fd).ok_or(errno::BADF)
    }

    /// Closes `fd`.
    pub fn remove(&mut self, fd: u32) -> Result<Entry, Errno> {
        self.entries.remove(&fd).ok_or(errno::BADF)
    }

    /// Moves `from` to `to`, closing what `to` was; both must be open.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(from)?;
        self.get(to)?;
        if from != to {
            let e = self.remove(from)?;
            self.entries.insert(to, e);
        }
        Ok(())
    }
}

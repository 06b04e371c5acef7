//! The host side of the WASI file system: every system call the descriptors and paths
//! of a guest reach, on Linux.
//!
//! Confinement is the kernel's: every path a guest names is resolved by `openat2` with
//! `RESOLVE_BENEATH` (and `RESOLVE_NO_MAGICLINKS`) relative to a directory the guest
//! holds, which refuses absolute paths, `..` above that directory and symlinks (dangling,
//! looping, absolute or swapped in during the call) that would lead out, with `EXDEV`
//! (answered as `ENOTCAPABLE`). Calls that act on a name (create, remove, rename, link,
//! stat without following) first resolve the name's parent that way, then pass the last
//! component, a single name without `/`, to the `*at` call, which does not follow it.

use super::errno;
use super::Errno;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Resolution stays beneath the starting directory.
const RESOLVE_BENEATH: u64 = 0x08;
/// `/proc/self/fd` style links are never followed.
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// How often a resolution that the kernel abandoned for a concurrent rename is retried.
const RACE_RETRIES: usize = 64;

/// `struct open_how` of `openat2(2)`.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub(super) type SysResult<T> = Result<T, Errno>;

/// The WASI errno of a host errno.
pub(super) fn errno_from_host(e: i32) -> Errno {
    use libc::*;
    match e {
        E2BIG => 1,
        EACCES => 2,
        EADDRINUSE => 3,
        EADDRNOTAVAIL => 4,
        EAFNOSUPPORT => 5,
        EAGAIN => 6,
        EALREADY => 7,
        EBADF => 8,
        EBADMSG => 9,
        EBUSY => 10,
        ECANCELED => 11,
        ECHILD => 12,
        ECONNABORTED => 13,
        ECONNREFUSED => 14,
        ECONNRESET => 15,
        EDEADLK => 16,
        EDESTADDRREQ => 17,
        EDOM => 18,
        EDQUOT => 19,
        EEXIST => 20,
        EFAULT => 21,
        EFBIG => 22,
        EHOSTUNREACH => 23,
        EIDRM => 24,
        EILSEQ => 25,
        EINPROGRESS => 26,
        EINTR => 27,
        EINVAL => 28,
        EIO => 29,
        EISCONN => 30,
        EISDIR => 31,
        ELOOP => 32,
        EMFILE => 33,
        EMLINK => 34,
        EMSGSIZE => 35,
        EMULTIHOP => 36,
        ENAMETOOLONG => 37,
        ENETDOWN => 38,
        ENETRESET => 39,
        ENETUNREACH => 40,
        ENFILE => 41,
        ENOBUFS => 42,
        ENODEV => 43,
        ENOENT => 44,
        ENOEXEC => 45,
        ENOLCK => 46,
        ENOLINK => 47,
        ENOMEM => 48,
        ENOMSG => 49,
        ENOPROTOOPT => 50,
        ENOSPC => 51,
        ENOSYS => 52,
        ENOTCONN => 53,
        ENOTDIR => 54,
        ENOTEMPTY => 55,
        ENOTRECOVERABLE => 56,
        ENOTSOCK => 57,
        EOPNOTSUPP => 58,
        ENOTTY => 59,
        ENXIO => 60,
        EOVERFLOW => 61,
        EOWNERDEAD => 62,
        EPERM => 63,
        EPIPE => 64,
        EPROTO => 65,
        EPROTONOSUPPORT => 66,
        EPROTOTYPE => 67,
        ERANGE => 68,
        EROFS => 69,
        ESPIPE => 70,
        ESRCH => 71,
        ESTALE => 72,
        ETIMEDOUT => 73,
        ETXTBSY => 74,
        EXDEV => 75,
        _ => errno::IO,
    }
}

/// The WASI errno of an I/O error.
pub(super) fn errno_of(e: &std::io::Error) -> Errno {
    e.raw_os_error().map(errno_from_host).unwrap_or(errno::IO)
}

fn last_host_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `Ok` for a non-negative result of a libc call, the errno otherwise.
fn cvt(r: libc::c_int) -> SysResult<libc::c_int> {
    if r < 0 {
        Err(errno_from_host(last_host_errno()))
    } else {
        Ok(r)
    }
}

/// A guest string as a C string: a NUL inside is `EINVAL`.
pub(super) fn cstring(s: &str) -> SysResult<CString> {
    CString::new(s).map_err(|_| errno::INVAL)
}

/// Host bytes (a directory entry's name) as a C string.
pub(super) fn cstring_bytes(b: &[u8]) -> SysResult<CString> {
    CString::new(b).map_err(|_| errno::INVAL)
}

/// Opens `path` relative to `dir`, resolved beneath `dir` by the kernel. `EXDEV` (the
/// path leads out) becomes `ENOTCAPABLE`; a kernel without `openat2` gives `ENOTSUP`,
/// never a resolution of our own.
pub(super) fn open_beneath(
    dir: BorrowedFd<'_>,
    path: &str,
    flags: i32,
    mode: u32,
) -> SysResult<OwnedFd> {
    let c = cstring(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u32 as u64,
        // `O_TMPFILE` shares its bit with `O_DIRECTORY`: compare the whole mask.
        mode: if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
            mode as u64
        } else {
            0
        },
        resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    let mut retries = 0;
    loop {
        // SAFETY: `c` is a NUL-terminated string and `how` a valid `open_how` of the
        // size passed; the kernel reads both and writes nothing.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if r >= 0 {
            // SAFETY: `r` is a descriptor the kernel just opened for us and nothing else
            // owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
        match last_host_errno() {
            libc::EINTR => continue,
            libc::EAGAIN if retries < RACE_RETRIES => retries += 1,
            libc::EXDEV => return Err(errno::NOTCAPABLE),
            libc::ENOSYS => return Err(errno::NOTSUP),
            e => return Err(errno_from_host(e)),
        }
    }
}

/// A guest path split into the directory that holds its last component (opened beneath
/// the starting directory) and that component.
pub(super) struct Split {
    /// The parent, when the path has more than one component.
    parent: Option<OwnedFd>,
    /// The last component, without slashes.
    pub name: CString,
    /// The path ended in `/`.
    pub trailing_slash: bool,
}

impl Split {
    /// The parent directory, `dir` when the path had one component.
    pub fn dir<'a>(&'a self, dir: BorrowedFd<'a>) -> BorrowedFd<'a> {
        use std::os::fd::AsFd;
        self.parent.as_ref().map(|p| p.as_fd()).unwrap_or(dir)
    }

    /// The last component is `.` or `..`, which no `*at` call may be given (`..` would
    /// name the parent of the parent).
    pub fn is_dots(&self) -> bool {
        matches!(self.name.as_bytes(), b"." | b"..")
    }
}

/// Checks a guest path: not empty (`ENOENT`), not absolute (`ENOTCAPABLE`; the kernel
/// would refuse it too), no NUL (`EINVAL`).
pub(super) fn check_path(path: &str) -> SysResult<()> {
    if path.is_empty() {
        return Err(errno::NOENT);
    }
    if path.starts_with('/') {
        return Err(errno::NOTCAPABLE);
    }
    if path.contains('\0') {
        return Err(errno::INVAL);
    }
    Ok(())
}

/// Splits `path` (relative to `dir`) into its parent, opened beneath `dir`, and its last
/// component.
pub(super) fn split(dir: BorrowedFd<'_>, path: &str) -> SysResult<Split> {
    check_path(path)?;
    let trimmed = path.trim_end_matches('/');
    let trailing_slash = trimmed.len() < path.len();
    let (parent, name) = match trimmed.rfind('/') {
        Some(i) => (Some(&trimmed[..i]), &trimmed[i + 1..]),
        None => (None, trimmed),
    };
    let parent = match parent {
        Some(p) => Some(open_beneath(dir, p, libc::O_PATH | libc::O_DIRECTORY, 0)?),
        None => None,
    };
    Ok(Split {
        parent,
        name: cstring(name)?,
        trailing_slash,
    })
}

/// `fstat`.
pub(super) fn fstat(fd: BorrowedFd<'_>) -> SysResult<libc::stat> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable `stat`.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub(super) fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> SysResult<libc::stat> {
    // SAFETY: as in `fstat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `st` a valid, writable `stat`.
    cvt(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(st)
}

pub(super) fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr) -> SysResult<()> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o777) }).map(drop)
}

pub(super) fn unlink_at(dir: BorrowedFd<'_>, name: &CStr, flags: i32) -> SysResult<()> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

pub(super) fn rename_at(
    old_dir: BorrowedFd<'_>,
    old: &CStr,
    new_dir: BorrowedFd<'_>,
    new: &CStr,
) -> SysResult<()> {
    // SAFETY: both names are NUL-terminated.
    cvt(unsafe {
        libc::renameat(
            old_dir.as_raw_fd(),
            old.as_ptr(),
            new_dir.as_raw_fd(),
            new.as_ptr(),
        )
    })
    .map(drop)
}

/// `linkat` of `old` (a name in `old_dir`, not followed) to `new` in `new_dir`.
pub(super) fn link_at(
    old_dir: BorrowedFd<'_>,
    old: &CStr,
    new_dir: BorrowedFd<'_>,
    new: &CStr,
) -> SysResult<()> {
    // SAFETY: both names are NUL-terminated.
    cvt(unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            old.as_ptr(),
            new_dir.as_raw_fd(),
            new.as_ptr(),
            0,
        )
    })
    .map(drop)
}

/// Links the file `fd` (resolved already, opened with `O_PATH`) as `new` in `new_dir`,
/// through its `/proc/self/fd` entry (`AT_EMPTY_PATH` would need a capability).
pub(super) fn link_fd(fd: BorrowedFd<'_>, new_dir: BorrowedFd<'_>, new: &CStr) -> SysResult<()> {
    let proc = proc_path(fd)?;
    // SAFETY: both names are NUL-terminated.
    cvt(unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc.as_ptr(),
            new_dir.as_raw_fd(),
            new.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
    .map(drop)
}

pub(super) fn symlink_at(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> SysResult<()> {
    // SAFETY: both strings are NUL-terminated.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(drop)
}

/// The target of the symlink `name` in `dir`.
pub(super) fn readlink_at(dir: BorrowedFd<'_>, name: &CStr) -> SysResult<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: `name` is NUL-terminated and `buf` writable for its length.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
            )
        };
        if n < 0 {
            return Err(errno_from_host(last_host_errno()));
        }
        let n = n as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= 1 << 20 {
            return Err(errno::NAMETOOLONG);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// `/proc/self/fd/N` for `fd`.
fn proc_path(fd: BorrowedFd<'_>) -> SysResult<CString> {
    cstring(&format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// A timestamp change: a time in nanoseconds, now, or unchanged.
#[derive(Clone, Copy)]
pub(super) enum SetTime {
    At(u64),
    Now,
    Omit,
}

fn timespec(t: SetTime) -> libc::timespec {
    match t {
        SetTime::At(ns) => libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        },
        SetTime::Now => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        SetTime::Omit => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    }
}

/// `futimens`.
pub(super) fn set_times_fd(fd: BorrowedFd<'_>, atim: SetTime, mtim: SetTime) -> SysResult<()> {
    let ts = [timespec(atim), timespec(mtim)];
    // SAFETY: `ts` holds the two timespecs `futimens` reads.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) }).map(drop)
}

/// `utimensat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub(super) fn set_times_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    atim: SetTime,
    mtim: SetTime,
) -> SysResult<()> {
    let ts = [timespec(atim), timespec(mtim)];
    // SAFETY: `name` is NUL-terminated and `ts` holds two timespecs.
    cvt(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            name.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// Sets the times of the file `fd` (resolved already, possibly opened with `O_PATH`)
/// through its `/proc/self/fd` entry.
pub(super) fn set_times_resolved(
    fd: BorrowedFd<'_>,
    atim: SetTime,
    mtim: SetTime,
) -> SysResult<()> {
    let proc = proc_path(fd)?;
    let ts = [timespec(atim), timespec(mtim)];
    // SAFETY: `proc` is NUL-terminated and `ts` holds two timespecs.
    cvt(unsafe { libc::utimensat(libc::AT_FDCWD, proc.as_ptr(), ts.as_ptr(), 0) }).map(drop)
}

/// The status flags of `fd` (`F_GETFL`).
pub(super) fn get_flags(fd: BorrowedFd<'_>) -> SysResult<i32> {
    // SAFETY: `F_GETFL` takes no argument and only reads the descriptor's flags.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })
}

/// Sets the status flags of `fd` (`F_SETFL`).
pub(super) fn set_flags(fd: BorrowedFd<'_>, flags: i32) -> SysResult<()> {
    // SAFETY: `F_SETFL` takes an int of flags.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }).map(drop)
}

/// `posix_fadvise`.
pub(super) fn advise(fd: BorrowedFd<'_>, offset: u64, len: u64, advice: i32) -> SysResult<()> {
    let off = i64::try_from(offset).map_err(|_| errno::INVAL)?;
    let len = i64::try_from(len).map_err(|_| errno::INVAL)?;
    // SAFETY: plain integer arguments.
    let r = unsafe { libc::posix_fadvise(fd.as_raw_fd(), off, len, advice) };
    if r != 0 {
        return Err(errno_from_host(r));
    }
    Ok(())
}

/// `posix_fallocate`: makes the file at least `offset + len` bytes long.
pub(super) fn allocate(fd: BorrowedFd<'_>, offset: u64, len: u64) -> SysResult<()> {
    let off = i64::try_from(offset).map_err(|_| errno::INVAL)?;
    let len = i64::try_from(len).map_err(|_| errno::INVAL)?;
    // SAFETY: plain integer arguments.
    let r = unsafe { libc::posix_fallocate(fd.as_raw_fd(), off, len) };
    if r != 0 {
        return Err(errno_from_host(r));
    }
    Ok(())
}

/// One directory entry.
pub(super) struct DirEntry {
    pub ino: u64,
    /// WASI filetype.
    pub filetype: u8,
    pub name: Vec<u8>,
}

/// Every entry of the directory `fd` (`.` and `..` included), in the order the file
/// system gives them. Reads through a descriptor of its own, so `fd`'s position is
/// untouched.
pub(super) fn read_dir(fd: BorrowedFd<'_>) -> SysResult<Vec<DirEntry>> {
    let own = open_beneath(fd, ".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let raw = std::os::fd::IntoRawFd::into_raw_fd(own);
    // SAFETY: `raw` is an open directory descriptor we own; `fdopendir` takes it over.
    let dir = unsafe { libc::fdopendir(raw) };
    if dir.is_null() {
        let e = last_host_errno();
        // SAFETY: `fdopendir` failed, so `raw` is still ours to close.
        unsafe { libc::close(raw) };
        return Err(errno_from_host(e));
    }
    let mut out = Vec::new();
    let result = loop {
        // SAFETY: `errno` is this thread's; clearing it tells end of stream from error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `dir` is an open directory stream used by this thread only.
        let ent = unsafe { libc::readdir64(dir) };
        if ent.is_null() {
            let e = last_host_errno();
            break if e == 0 {
                Ok(())
            } else {
                Err(errno_from_host(e))
            };
        }
        // SAFETY: `readdir64` returned an entry that stays valid until the next call on
        // `dir`; its name is NUL-terminated.
        let (ino, ty, name) = unsafe {
            let e = &*ent;
            (
                e.d_ino,
                e.d_type,
                CStr::from_ptr(e.d_name.as_ptr()).to_bytes().to_vec(),
            )
        };
        let filetype = match ty {
            libc::DT_BLK => FILETYPE_BLOCK_DEVICE,
            libc::DT_CHR => FILETYPE_CHARACTER_DEVICE,
            libc::DT_DIR => FILETYPE_DIRECTORY,
            libc::DT_REG => FILETYPE_REGULAR_FILE,
            libc::DT_LNK => FILETYPE_SYMBOLIC_LINK,
            libc::DT_SOCK => FILETYPE_SOCKET_STREAM,
            _ => FILETYPE_UNKNOWN,
        };
        out.push(DirEntry {
            ino,
            filetype,
            name,
        });
    };
    // SAFETY: `dir` is open and not used after this.
    unsafe { libc::closedir(dir) };
    result.map(|()| out)
}

pub(super) const FILETYPE_UNKNOWN: u8 = 0;
pub(super) const FILETYPE_BLOCK_DEVICE: u8 = 1;
pub(super) const FILETYPE_CHARACTER_DEVICE: u8 = 2;
pub(super) const FILETYPE_DIRECTORY: u8 = 3;
pub(super) const FILETYPE_REGULAR_FILE: u8 = 4;
pub(super) const FILETYPE_SOCKET_STREAM: u8 = 6;
pub(super) const FILETYPE_SYMBOLIC_LINK: u8 = 7;

/// The WASI filetype of a `st_mode`.
pub(super) fn filetype(mode: libc::mode_t) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFBLK => FILETYPE_BLOCK_DEVICE,
        libc::S_IFCHR => FILETYPE_CHARACTER_DEVICE,
        libc::S_IFDIR => FILETYPE_DIRECTORY,
        libc::S_IFREG => FILETYPE_REGULAR_FILE,
        libc::S_IFLNK => FILETYPE_SYMBOLIC_LINK,
        libc::S_IFSOCK => FILETYPE_SOCKET_STREAM,
        _ => FILETYPE_UNKNOWN,
    }
}

/// A WASI `filestat` (64 bytes) of a host `stat`.
pub(super) fn filestat(st: &libc::stat) -> [u8; 64] {
    let ns = |s: i64, n: i64| {
        (s as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(n as u64)
    };
    let mut b = [0u8; 64];
    b[0..8].copy_from_slice(&st.st_dev.to_le_bytes());
    b[8..16].copy_from_slice(&st.st_ino.to_le_bytes());
    b[16] = filetype(st.st_mode);
    b[24..32].copy_from_slice(&st.st_nlink.to_le_bytes());
    b[32..40].copy_from_slice(&(st.st_size as u64).to_le_bytes());
    b[40..48].copy_from_slice(&ns(st.st_atime, st.st_atime_nsec).to_le_bytes());
    b[48..56].copy_from_slice(&ns(st.st_mtime, st.st_mtime_nsec).to_le_bytes());
    b[56..64].copy_from_slice(&ns(st.st_ctime, st.st_ctime_nsec).to_le_bytes());
    b
}

/// Opens the host directory `path` for a preopen.
pub(super) fn open_host_dir(path: &std::path::Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)
}

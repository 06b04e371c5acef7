//! The descriptor and path functions of WASI preview1 (`fd_*`, `path_*`): stdio through
//! the context's streams, files and directories through [`sys`], every path resolved
//! beneath the directory descriptor it is relative to.

use super::fd::{Entry, Kind};
use super::mem::{Args, Mem};
use super::sys::{self, SetTime};
use super::{errno, lock, rights::*, Errno, Input, Output, WasiCtx, WasiResult};
use crate::Caller;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;

const FDFLAGS_APPEND: u16 = 1;
const FDFLAGS_DSYNC: u16 = 2;
const FDFLAGS_NONBLOCK: u16 = 4;
const FDFLAGS_RSYNC: u16 = 8;
const FDFLAGS_SYNC: u16 = 16;
const FDFLAGS_ALL: u16 = 31;

const OFLAGS_CREAT: u32 = 1;
const OFLAGS_DIRECTORY: u32 = 2;
const OFLAGS_EXCL: u32 = 4;
const OFLAGS_TRUNC: u32 = 8;

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

const FSTFLAGS_ATIM: u32 = 1;
const FSTFLAGS_ATIM_NOW: u32 = 2;
const FSTFLAGS_MTIM: u32 = 4;
const FSTFLAGS_MTIM_NOW: u32 = 8;

/// Rights that decide whether a file is opened for writing: a descriptor opened
/// through a directory gets them only when that directory may hand them on.
const WRITE_MODE: u64 = FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;

/// A guest string at `ptr`: `EILSEQ` when it is not UTF-8.
fn guest_str(mem: &Mem<'_>, ptr: u32, len: u32) -> Result<String, Errno> {
    let b = mem.bytes(ptr, len)?;
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| errno::ILSEQ)
}

fn io_err(e: std::io::Error) -> Errno {
    sys::errno_of(&e)
}

/// The errno for an operation on a path whose last component is `.` or `..`: the
/// resolution's own error (so `..` above the directory is still `ENOTCAPABLE`), else
/// `otherwise`.
fn dots(dir: BorrowedFd<'_>, path: &str, otherwise: Errno) -> Errno {
    match sys::open_beneath(dir, path, libc::O_PATH, 0) {
        Ok(_) => otherwise,
        Err(e) => e,
    }
}

/// The last component of `s` as the `*at` calls that never follow it get it: with its
/// trailing slash, so the kernel applies the slash's rules (must be a directory).
fn name_with_slash(s: &sys::Split) -> Result<std::ffi::CString, Errno> {
    let mut b = s.name.as_bytes().to_vec();
    if s.trailing_slash {
        b.push(b'/');
    }
    std::ffi::CString::new(b).map_err(|_| errno::INVAL)
}

fn fdflags_of(host: i32) -> u16 {
    let mut f = 0;
    if host & libc::O_APPEND != 0 {
        f |= FDFLAGS_APPEND;
    }
    if host & libc::O_NONBLOCK != 0 {
        f |= FDFLAGS_NONBLOCK;
    }
    // O_SYNC includes the O_DSYNC bit; O_RSYNC equals O_SYNC on Linux.
    if host & libc::O_SYNC == libc::O_SYNC {
        f |= FDFLAGS_SYNC | FDFLAGS_RSYNC;
    } else if host & libc::O_DSYNC != 0 {
        f |= FDFLAGS_DSYNC;
    }
    f
}

// ---- Reading and writing ----

pub(super) fn fd_write(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.get(a.u32(0))?;
    if matches!(e.kind, Kind::Stdio(0)) {
        return Err(errno::BADF);
    }
    e.require(FD_WRITE)?;
    let mut mem = ctx.mem(caller)?;
    let nwritten = a.u32(3);
    mem.check(nwritten, 4)?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let total = match &e.kind {
        Kind::Stdio(n) => {
            let total: u64 = iovs.iter().map(|(_, len)| *len as u64).sum();
            let write_all = |w: &mut dyn Write| -> WasiResult {
                for (buf, len) in &iovs {
                    w.write_all(mem.bytes(*buf, *len)?).map_err(|_| errno::IO)?;
                }
                w.flush().map_err(|_| errno::IO)
            };
            match (ctx.output(*n)?, n) {
                (Output::Inherit, 1) => write_all(&mut std::io::stdout().lock())?,
                (Output::Inherit, _) => write_all(&mut std::io::stderr().lock())?,
                (Output::Capture(buf), _) => write_all(&mut *lock(buf))?,
                (Output::Discard, _) => {}
            }
            total
        }
        _ => {
            let mut f = e.file()?;
            let mut total = 0u64;
            for (buf, len) in &iovs {
                let src = mem.bytes(*buf, *len)?;
                let n = match f.write(src) {
                    Ok(n) => n,
                    Err(err) if total == 0 => return Err(io_err(err)),
                    Err(_) => break,
                };
                total += n as u64;
                if n < src.len() {
                    break;
                }
            }
            total
        }
    };
    mem.write_u32(nwritten, u32::try_from(total).map_err(|_| errno::INVAL)?)
}

pub(super) fn fd_read(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.get(a.u32(0))?;
    if matches!(e.kind, Kind::Stdio(1 | 2)) {
        return Err(errno::BADF);
    }
    e.require(FD_READ)?;
    let mut mem = ctx.mem(caller)?;
    let nread = a.u32(3);
    mem.check(nread, 4)?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let mut total: u64 = 0;
    match &e.kind {
        Kind::Stdio(0) => match &mut *lock(&ctx.stdin) {
            Input::Empty => {}
            Input::Bytes { data, pos } => {
                for (buf, len) in &iovs {
                    let rest = data.get(*pos..).unwrap_or(&[]);
                    let n = rest.len().min(*len as usize);
                    mem.write(*buf, &rest[..n])?;
                    *pos += n;
                    total += n as u64;
                    if n < *len as usize {
                        break;
                    }
                }
            }
            Input::Inherit => {
                // One read into the first non-empty buffer: a short read is allowed.
                if let Some((buf, len)) = iovs.iter().find(|(_, len)| *len > 0) {
                    let dst = mem.bytes_mut(*buf, *len as u64)?;
                    let n = loop {
                        match std::io::stdin().lock().read(dst) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(_) => return Err(errno::IO),
                        }
                    };
                    total = n as u64;
                }
            }
        },
        Kind::Stdio(_) => return Err(errno::BADF),
        _ => {
            let mut f = e.file()?;
            for (buf, len) in &iovs {
                let dst = mem.bytes_mut(*buf, *len as u64)?;
                let n = match f.read(dst) {
                    Ok(n) => n,
                    Err(err) if total == 0 => return Err(io_err(err)),
                    Err(_) => break,
                };
                total += n as u64;
                if n < *len as usize {
                    break;
                }
            }
        }
    }
    mem.write_u32(nread, u32::try_from(total).map_err(|_| errno::INVAL)?)
}

/// Descriptor `fd` for positioned I/O with `needed`: stdio cannot seek (`ESPIPE`, before
/// any rights check, as on a pipe).
fn seekable(fds: &super::fd::FdTable, fd: u32, needed: u64) -> Result<&File, Errno> {
    let e = fds.get(fd)?;
    if let Kind::Stdio(_) = e.kind {
        return Err(errno::SPIPE);
    }
    e.require(needed)?;
    e.file()
}

pub(super) fn fd_pread(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let f = seekable(&fds, a.u32(0), FD_READ | FD_SEEK)?;
    let mut mem = ctx.mem(caller)?;
    let nread = a.u32(4);
    mem.check(nread, 4)?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let mut off = a.u64(3);
    let mut total = 0u64;
    for (buf, len) in &iovs {
        let dst = mem.bytes_mut(*buf, *len as u64)?;
        let n = match f.read_at(dst, off) {
            Ok(n) => n,
            Err(err) if total == 0 => return Err(io_err(err)),
            Err(_) => break,
        };
        total += n as u64;
        off = off.saturating_add(n as u64);
        if n < *len as usize {
            break;
        }
    }
    mem.write_u32(nread, u32::try_from(total).map_err(|_| errno::INVAL)?)
}

pub(super) fn fd_pwrite(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let f = seekable(&fds, a.u32(0), FD_WRITE | FD_SEEK)?;
    let mut mem = ctx.mem(caller)?;
    let nwritten = a.u32(4);
    mem.check(nwritten, 4)?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let mut off = a.u64(3);
    let mut total = 0u64;
    for (buf, len) in &iovs {
        let src = mem.bytes(*buf, *len)?;
        let n = match f.write_at(src, off) {
            Ok(n) => n,
            Err(err) if total == 0 => return Err(io_err(err)),
            Err(_) => break,
        };
        total += n as u64;
        off = off.saturating_add(n as u64);
        if n < src.len() {
            break;
        }
    }
    mem.write_u32(nwritten, u32::try_from(total).map_err(|_| errno::INVAL)?)
}

pub(super) fn fd_seek(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let (offset, whence) = (a.u64(1) as i64, a.u32(2));
    // Asking for the position only needs the right to tell it.
    let needed = if offset == 0 && whence == 1 {
        FD_TELL
    } else {
        FD_SEEK
    };
    let fds = lock(&ctx.fds);
    let mut f = seekable(&fds, a.u32(0), needed)?;
    let pos = match whence {
        0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| errno::INVAL)?),
        1 => SeekFrom::Current(offset),
        2 => SeekFrom::End(offset),
        _ => return Err(errno::INVAL),
    };
    let mut mem = ctx.mem(caller)?;
    mem.check(a.u32(3), 8)?;
    let new = f.seek(pos).map_err(io_err)?;
    mem.write_u64(a.u32(3), new)
}

pub(super) fn fd_tell(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let mut f = seekable(&fds, a.u32(0), FD_TELL)?;
    let mut mem = ctx.mem(caller)?;
    mem.check(a.u32(1), 8)?;
    let pos = f.stream_position().map_err(io_err)?;
    mem.write_u64(a.u32(1), pos)
}

// ---- Descriptors ----

pub(super) fn fd_close(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    lock(&ctx.fds).remove(a.u32(0)).map(drop)
}

pub(super) fn fd_renumber(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    lock(&ctx.fds).renumber(a.u32(0), a.u32(1))
}

fn sync(ctx: &WasiCtx, fd: u32, right: u64, data_only: bool) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.with(fd, right)?;
    match &e.kind {
        Kind::Stdio(n) => {
            let r = match (n, ctx.output(*n)) {
                (1, Ok(Output::Inherit)) => std::io::stdout().flush(),
                (2, Ok(Output::Inherit)) => std::io::stderr().flush(),
                _ => Ok(()),
            };
            r.map_err(|_| errno::IO)
        }
        Kind::File(f) | Kind::Dir(f) => if data_only {
            f.sync_data()
        } else {
            f.sync_all()
        }
        .map_err(io_err),
    }
}

pub(super) fn fd_datasync(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    sync(ctx, a.u32(0), FD_DATASYNC, true)
}

pub(super) fn fd_sync(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    sync(ctx, a.u32(0), FD_SYNC, false)
}

pub(super) fn fd_fdstat_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.get(a.u32(0))?;
    let (filetype, flags) = match &e.kind {
        Kind::Stdio(_) => (sys::FILETYPE_CHARACTER_DEVICE, e.stdio_flags),
        Kind::File(f) | Kind::Dir(f) => (
            sys::filetype(sys::fstat(f.as_fd())?.st_mode),
            fdflags_of(sys::get_flags(f.as_fd())?),
        ),
    };
    let mut st = [0u8; 24];
    st[0] = filetype;
    st[2..4].copy_from_slice(&flags.to_le_bytes());
    st[8..16].copy_from_slice(&e.base.to_le_bytes());
    st[16..24].copy_from_slice(&e.inheriting.to_le_bytes());
    drop(fds);
    ctx.mem(caller)?.write(a.u32(1), &st)
}

pub(super) fn fd_fdstat_set_flags(
    ctx: &WasiCtx,
    _caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    let flags = u16::try_from(a.u32(1)).map_err(|_| errno::INVAL)?;
    if flags & !FDFLAGS_ALL != 0 {
        return Err(errno::INVAL);
    }
    let mut fds = lock(&ctx.fds);
    let e = fds.get_mut(a.u32(0))?;
    e.require(FD_FDSTAT_SET_FLAGS)?;
    let sync_flags = FDFLAGS_DSYNC | FDFLAGS_RSYNC | FDFLAGS_SYNC;
    match &e.kind {
        Kind::Stdio(_) => {
            // The host's own stdio is shared with the host process: recorded, not applied.
            if flags & sync_flags != 0 {
                return Err(errno::NOTSUP);
            }
            e.stdio_flags = flags;
            Ok(())
        }
        Kind::File(f) | Kind::Dir(f) => {
            let cur = sys::get_flags(f.as_fd())?;
            // Linux cannot change the synchronization flags of an open file.
            if flags & sync_flags != fdflags_of(cur) & sync_flags {
                return Err(errno::NOTSUP);
            }
            let mut host = cur & !(libc::O_APPEND | libc::O_NONBLOCK);
            if flags & FDFLAGS_APPEND != 0 {
                host |= libc::O_APPEND;
            }
            if flags & FDFLAGS_NONBLOCK != 0 {
                host |= libc::O_NONBLOCK;
            }
            sys::set_flags(f.as_fd(), host)
        }
    }
}

pub(super) fn fd_fdstat_set_rights(
    ctx: &WasiCtx,
    _caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    let (base, inheriting) = (a.u64(1), a.u64(2));
    let mut fds = lock(&ctx.fds);
    let e = fds.get_mut(a.u32(0))?;
    // Rights can only be dropped.
    if base & !e.base != 0 || inheriting & !e.inheriting != 0 {
        return Err(errno::NOTCAPABLE);
    }
    e.base = base;
    e.inheriting = inheriting;
    Ok(())
}

pub(super) fn fd_filestat_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.with(a.u32(0), FD_FILESTAT_GET)?;
    let st = match &e.kind {
        Kind::Stdio(_) => {
            let mut st = [0u8; 64];
            st[16] = sys::FILETYPE_CHARACTER_DEVICE;
            st
        }
        Kind::File(f) | Kind::Dir(f) => sys::filestat(&sys::fstat(f.as_fd())?),
    };
    drop(fds);
    ctx.mem(caller)?.write(a.u32(1), &st)
}

pub(super) fn fd_filestat_set_size(
    ctx: &WasiCtx,
    _caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.with(a.u32(0), FD_FILESTAT_SET_SIZE)?;
    e.file()?.set_len(a.u64(1)).map_err(io_err)
}

/// The two timestamp changes `fstflags` asks for.
fn set_times(atim: u64, mtim: u64, fst: u32) -> Result<(SetTime, SetTime), Errno> {
    if fst & !(FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW | FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW) != 0 {
        return Err(errno::INVAL);
    }
    let one = |t: u64, set: u32, now: u32| match (fst & set != 0, fst & now != 0) {
        (true, true) => Err(errno::INVAL),
        (true, false) => Ok(SetTime::At(t)),
        (false, true) => Ok(SetTime::Now),
        (false, false) => Ok(SetTime::Omit),
    };
    Ok((
        one(atim, FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW)?,
        one(mtim, FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW)?,
    ))
}

pub(super) fn fd_filestat_set_times(
    ctx: &WasiCtx,
    _caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.with(a.u32(0), FD_FILESTAT_SET_TIMES)?;
    let (atim, mtim) = set_times(a.u64(1), a.u64(2), a.u32(3))?;
    sys::set_times_fd(e.host_fd()?, atim, mtim)
}

pub(super) fn fd_advise(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.with(a.u32(0), FD_ADVISE)?;
    let advice = match a.u32(3) {
        0 => libc::POSIX_FADV_NORMAL,
        1 => libc::POSIX_FADV_SEQUENTIAL,
        2 => libc::POSIX_FADV_RANDOM,
        3 => libc::POSIX_FADV_WILLNEED,
        4 => libc::POSIX_FADV_DONTNEED,
        5 => libc::POSIX_FADV_NOREUSE,
        _ => return Err(errno::INVAL),
    };
    sys::advise(e.file()?.as_fd(), a.u64(1), a.u64(2), advice)
}

pub(super) fn fd_allocate(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let e = fds.with(a.u32(0), FD_ALLOCATE)?;
    sys::allocate(e.file()?.as_fd(), a.u64(1), a.u64(2))
}

pub(super) fn fd_prestat_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fds = lock(&ctx.fds);
    let name = fds.get(a.u32(0))?.preopen.clone().ok_or(errno::BADF)?;
    drop(fds);
    let mut st = [0u8; 8];
    // tag 0: a directory; then the length of its name.
    let len = u32::try_from(name.len()).map_err(|_| errno::NAMETOOLONG)?;
    st[4..8].copy_from_slice(&len.to_le_bytes());
    ctx.mem(caller)?.write(a.u32(1), &st)
}

pub(super) fn fd_prestat_dir_name(
    ctx: &WasiCtx,
    caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    let fds = lock(&ctx.fds);
    let name = fds.get(a.u32(0))?.preopen.clone().ok_or(errno::BADF)?;
    drop(fds);
    if (a.u32(2) as usize) < name.len() {
        return Err(errno::NAMETOOLONG);
    }
    ctx.mem(caller)?.write(a.u32(1), name.as_bytes())
}

/// Size of a `dirent` header.
const DIRENT_SIZE: usize = 24;

pub(super) fn fd_readdir(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let (buf, buf_len, cookie, bufused) = (a.u32(1), a.u32(2), a.u64(3), a.u32(4));
    let fds = lock(&ctx.fds);
    let e = fds.with(a.u32(0), FD_READDIR)?;
    let dir = e.dir()?;
    let mut entries = sys::read_dir(dir)?;
    for ent in entries.iter_mut() {
        if ent.filetype == sys::FILETYPE_UNKNOWN {
            if let Ok(st) = sys::cstring_bytes(&ent.name).and_then(|n| sys::lstat_at(dir, &n)) {
                ent.filetype = sys::filetype(st.st_mode);
            }
        }
    }
    drop(fds);
    let mut mem = ctx.mem(caller)?;
    mem.check(bufused, 4)?;
    let out = mem.bytes_mut(buf, buf_len as u64)?;
    let mut used = 0usize;
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (i, ent) in entries.iter().enumerate().skip(start) {
        if used >= out.len() {
            break;
        }
        let mut rec = Vec::with_capacity(DIRENT_SIZE + ent.name.len());
        rec.extend_from_slice(&(i as u64 + 1).to_le_bytes());
        rec.extend_from_slice(&ent.ino.to_le_bytes());
        rec.extend_from_slice(&(ent.name.len() as u32).to_le_bytes());
        rec.extend_from_slice(&[ent.filetype, 0, 0, 0]);
        rec.extend_from_slice(&ent.name);
        // The last entry may be cut short: the guest sees a full buffer and asks again.
        let n = rec.len().min(out.len() - used);
        out[used..used + n].copy_from_slice(&rec[..n]);
        used += n;
    }
    mem.write_u32(bufused, used as u32)
}

// ---- Paths ----

/// The directory descriptor `fd` with `needed`, and the guest path at `ptr`.
fn path_arg<'t>(
    fds: &'t super::fd::FdTable,
    mem: &Mem<'_>,
    fd: u32,
    needed: u64,
    ptr: u32,
    len: u32,
) -> Result<(&'t Entry, String), Errno> {
    let e = fds.with(fd, needed)?;
    e.dir()?;
    let path = guest_str(mem, ptr, len)?;
    Ok((e, path))
}

pub(super) fn path_open(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let (dirflags, oflags, base, inheriting, fdflags, out) =
        (a.u32(1), a.u32(4), a.u64(5), a.u64(6), a.u32(7), a.u32(8));
    let mut mem = ctx.mem(caller)?;
    let mut fds = lock(&ctx.fds);
    let (parent, path) = path_arg(&fds, &mem, a.u32(0), PATH_OPEN, a.u32(2), a.u32(3))?;
    mem.check(out, 4)?;
    if oflags & !(OFLAGS_CREAT | OFLAGS_DIRECTORY | OFLAGS_EXCL | OFLAGS_TRUNC) != 0 {
        return Err(errno::INVAL);
    }
    let fdflags = u16::try_from(fdflags).map_err(|_| errno::INVAL)?;
    if fdflags & !FDFLAGS_ALL != 0 {
        return Err(errno::INVAL);
    }
    if oflags & OFLAGS_CREAT != 0 {
        parent.require(PATH_CREATE_FILE)?;
    }
    if oflags & OFLAGS_TRUNC != 0 {
        parent.require(PATH_FILESTAT_SET_SIZE)?;
    }
    // No escalation: rights that open a file for writing must be inheritable.
    if base & WRITE_MODE & !parent.inheriting != 0 {
        return Err(errno::NOTCAPABLE);
    }
    let base = base & parent.inheriting;
    let inheriting = inheriting & parent.inheriting;
    let read = base & (FD_READ | FD_READDIR) != 0;
    let write = base & WRITE_MODE != 0;
    // A directory opened with a write right fails with `EISDIR`, as the kernel says.
    let mut flags = match (read, write) {
        (_, false) => libc::O_RDONLY,
        (false, true) => libc::O_WRONLY,
        (true, true) => libc::O_RDWR,
    };
    for (of, host) in [
        (OFLAGS_DIRECTORY, libc::O_DIRECTORY),
        (OFLAGS_CREAT, libc::O_CREAT),
        (OFLAGS_EXCL, libc::O_EXCL),
        (OFLAGS_TRUNC, libc::O_TRUNC),
    ] {
        if oflags & of != 0 {
            flags |= host;
        }
    }
    for (ff, host) in [
        (FDFLAGS_APPEND, libc::O_APPEND),
        (FDFLAGS_DSYNC, libc::O_DSYNC),
        (FDFLAGS_NONBLOCK, libc::O_NONBLOCK),
        (FDFLAGS_RSYNC, libc::O_RSYNC),
        (FDFLAGS_SYNC, libc::O_SYNC),
    ] {
        if fdflags & ff != 0 {
            flags |= host;
        }
    }
    if dirflags & LOOKUP_SYMLINK_FOLLOW == 0 {
        flags |= libc::O_NOFOLLOW;
    }
    sys::check_path(&path)?;
    let fd = sys::open_beneath(parent.dir()?, &path, flags, 0o666)?;
    let is_dir = sys::fstat(fd.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let file = File::from(fd);
    let entry = if is_dir {
        Entry {
            kind: Kind::Dir(file),
            base: base & super::rights::DIRECTORY,
            inheriting,
            preopen: None,
            stdio_flags: 0,
        }
    } else {
        Entry {
            kind: Kind::File(file),
            base: base & super::rights::FILE,
            inheriting: 0,
            preopen: None,
            stdio_flags: 0,
        }
    };
    let n = fds.insert(entry)?;
    drop(fds);
    mem.write_u32(out, n)
}

/// Runs `op` on the directory holding the last component of the path in arguments 1
/// and 2, relative to the directory descriptor in argument 0 (which needs `right`), and
/// that component. A last component of `.` or `..` is never handed to `op`: the call
/// answers the resolution's error, or `dots_errno` of the component.
fn on_name(
    ctx: &WasiCtx,
    caller: &mut Caller<'_>,
    a: &Args<'_>,
    right: u64,
    dots_errno: fn(&[u8]) -> Errno,
    op: impl FnOnce(BorrowedFd<'_>, &sys::Split) -> WasiResult,
) -> WasiResult {
    let mem = ctx.mem(caller)?;
    let fds = lock(&ctx.fds);
    let (e, path) = path_arg(&fds, &mem, a.u32(0), right, a.u32(1), a.u32(2))?;
    let dir = e.dir()?;
    let s = sys::split(dir, &path)?;
    if s.is_dots() {
        return Err(dots(dir, &path, dots_errno(s.name.as_bytes())));
    }
    op(s.dir(dir), &s)
}

pub(super) fn path_create_directory(
    ctx: &WasiCtx,
    caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    on_name(
        ctx,
        caller,
        a,
        PATH_CREATE_DIRECTORY,
        |_| errno::EXIST,
        |dir, s| sys::mkdir_at(dir, &s.name),
    )
}

/// The `stat` of `path` beneath `dir`, following a final symlink when `follow`.
fn stat_path(dir: BorrowedFd<'_>, path: &str, follow: bool) -> Result<libc::stat, Errno> {
    sys::check_path(path)?;
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    let fd = sys::open_beneath(dir, path, libc::O_PATH | nofollow, 0)?;
    sys::fstat(fd.as_fd())
}

pub(super) fn path_filestat_get(
    ctx: &WasiCtx,
    caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    let mut mem = ctx.mem(caller)?;
    let fds = lock(&ctx.fds);
    let (e, path) = path_arg(&fds, &mem, a.u32(0), PATH_FILESTAT_GET, a.u32(2), a.u32(3))?;
    let st = stat_path(e.dir()?, &path, a.u32(1) & LOOKUP_SYMLINK_FOLLOW != 0)?;
    drop(fds);
    mem.write(a.u32(4), &sys::filestat(&st))
}

pub(super) fn path_filestat_set_times(
    ctx: &WasiCtx,
    caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    let mem = ctx.mem(caller)?;
    let fds = lock(&ctx.fds);
    let (e, path) = path_arg(
        &fds,
        &mem,
        a.u32(0),
        PATH_FILESTAT_SET_TIMES,
        a.u32(2),
        a.u32(3),
    )?;
    let (atim, mtim) = set_times(a.u64(4), a.u64(5), a.u32(6))?;
    let dir = e.dir()?;
    let s = sys::split(dir, &path)?;
    if a.u32(1) & LOOKUP_SYMLINK_FOLLOW != 0 || s.trailing_slash || s.is_dots() {
        let fd = sys::open_beneath(dir, &path, libc::O_PATH, 0)?;
        sys::set_times_resolved(fd.as_fd(), atim, mtim)
    } else {
        sys::set_times_at(s.dir(dir), &s.name, atim, mtim)
    }
}

pub(super) fn path_link(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let mem = ctx.mem(caller)?;
    let fds = lock(&ctx.fds);
    let (old, old_path) = path_arg(&fds, &mem, a.u32(0), PATH_LINK_SOURCE, a.u32(2), a.u32(3))?;
    let (new, new_path) = path_arg(&fds, &mem, a.u32(4), PATH_LINK_TARGET, a.u32(5), a.u32(6))?;
    let (old_dir, new_dir) = (old.dir()?, new.dir()?);
    let n = sys::split(new_dir, &new_path)?;
    if n.is_dots() {
        return Err(dots(new_dir, &new_path, errno::EXIST));
    }
    let new_name = name_with_slash(&n)?;
    let o = sys::split(old_dir, &old_path)?;
    if a.u32(1) & LOOKUP_SYMLINK_FOLLOW != 0 {
        let fd = sys::open_beneath(old_dir, &old_path, libc::O_PATH, 0)?;
        return sys::link_fd(fd.as_fd(), n.dir(new_dir), &new_name);
    }
    if o.trailing_slash || o.is_dots() {
        // A trailing slash names a directory, which cannot be linked; resolved beneath
        // for the right error.
        return Err(dots(old_dir, &old_path, errno::PERM));
    }
    sys::link_at(o.dir(old_dir), &o.name, n.dir(new_dir), &new_name)
}

pub(super) fn path_readlink(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let (buf, buf_len, bufused) = (a.u32(3), a.u32(4), a.u32(5));
    let mut mem = ctx.mem(caller)?;
    let fds = lock(&ctx.fds);
    let (e, path) = path_arg(&fds, &mem, a.u32(0), PATH_READLINK, a.u32(1), a.u32(2))?;
    let dir = e.dir()?;
    let s = sys::split(dir, &path)?;
    if s.trailing_slash || s.is_dots() {
        // Not a symlink: a trailing slash follows it, and `.`/`..` are directories.
        return Err(dots(dir, &path, errno::INVAL));
    }
    let target = sys::readlink_at(s.dir(dir), &s.name)?;
    drop(fds);
    mem.check(bufused, 4)?;
    let n = target.len().min(buf_len as usize);
    mem.write(buf, &target[..n])?;
    mem.write_u32(bufused, n as u32)
}

pub(super) fn path_remove_directory(
    ctx: &WasiCtx,
    caller: &mut Caller<'_>,
    a: &Args<'_>,
) -> WasiResult {
    // As rmdir(2): `.` is invalid, `..` is not empty.
    let dots = |name: &[u8]| {
        if name == b"." {
            errno::INVAL
        } else {
            errno::NOTEMPTY
        }
    };
    on_name(ctx, caller, a, PATH_REMOVE_DIRECTORY, dots, |dir, s| {
        sys::unlink_at(dir, &name_with_slash(s)?, libc::AT_REMOVEDIR)
    })
}

pub(super) fn path_unlink_file(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    on_name(
        ctx,
        caller,
        a,
        PATH_UNLINK_FILE,
        |_| errno::ISDIR,
        |dir, s| sys::unlink_at(dir, &name_with_slash(s)?, 0),
    )
}

pub(super) fn path_rename(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let mem = ctx.mem(caller)?;
    let fds = lock(&ctx.fds);
    let (old, old_path) = path_arg(&fds, &mem, a.u32(0), PATH_RENAME_SOURCE, a.u32(1), a.u32(2))?;
    let (new, new_path) = path_arg(&fds, &mem, a.u32(3), PATH_RENAME_TARGET, a.u32(4), a.u32(5))?;
    let (old_dir, new_dir) = (old.dir()?, new.dir()?);
    let o = sys::split(old_dir, &old_path)?;
    if o.is_dots() {
        return Err(dots(old_dir, &old_path, errno::BUSY));
    }
    let n = sys::split(new_dir, &new_path)?;
    if n.is_dots() {
        return Err(dots(new_dir, &new_path, errno::BUSY));
    }
    sys::rename_at(
        o.dir(old_dir),
        &name_with_slash(&o)?,
        n.dir(new_dir),
        &name_with_slash(&n)?,
    )
}

pub(super) fn path_symlink(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let mem = ctx.mem(caller)?;
    let target = guest_str(&mem, a.u32(0), a.u32(1))?;
    let fds = lock(&ctx.fds);
    let (e, path) = path_arg(&fds, &mem, a.u32(2), PATH_SYMLINK, a.u32(3), a.u32(4))?;
    // A symlink may only point inside the tree: an absolute target would never resolve
    // for the guest and could mislead the host.
    if target.starts_with('/') {
        return Err(errno::NOTCAPABLE);
    }
    let target = sys::cstring(&target)?;
    let dir = e.dir()?;
    let s = sys::split(dir, &path)?;
    if s.is_dots() {
        return Err(dots(dir, &path, errno::EXIST));
    }
    sys::symlink_at(&target, s.dir(dir), &name_with_slash(&s)?)
}

/// Readiness of descriptor `fd` for a poll subscription: `Ok(bytes available)` or the
/// event's error.
pub(super) fn poll_ready(ctx: &WasiCtx, fd: u32, read: bool) -> Result<u64, Errno> {
    let fds = lock(&ctx.fds);
    let e = fds.with(fd, POLL_FD_READWRITE)?;
    match &e.kind {
        Kind::Stdio(n) => {
            if (*n == 0) != read {
                return Err(errno::BADF);
            }
            Ok(match (&*lock(&ctx.stdin), *n) {
                (Input::Bytes { data, pos }, 0) => data.len().saturating_sub(*pos) as u64,
                _ => 0,
            })
        }
        Kind::File(f) => {
            let mut f: &File = f;
            if !read {
                return Ok(0);
            }
            let size = f.metadata().map_err(io_err)?.len();
            let pos = f.stream_position().map_err(io_err)?;
            Ok(size.saturating_sub(pos))
        }
        Kind::Dir(_) => Err(errno::BADF),
    }
}

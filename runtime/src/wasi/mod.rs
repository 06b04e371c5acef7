//! WASI preview1 (`wasi_snapshot_preview1`) for command programs built for
//! `wasm32-wasip1`: arguments, environment variables, the four clocks, random bytes,
//! standard input / output / error (inherited, captured into a buffer, or discarded; stdin
//! can be a byte buffer), `proc_exit`, `sched_yield`, `poll_oneoff` (clocks, stdio and
//! files), and a file system confined to preopened directories.
//!
//! A preopened directory ([`WasiCtx::preopen_dir`]) is read-write or read-only
//! ([`DirAccess`]). Every path is resolved by the kernel beneath the directory descriptor
//! it is relative to (`openat2` with `RESOLVE_BENEATH`): absolute paths, `..` above it and
//! symlinks leading out (dangling, looping, or swapped in during the call) are refused
//! with `ENOTCAPABLE`, and no path is ever resolved by string manipulation alone.
//! Descriptors carry preview1's rights: a read-only preopen grants no right that
//! creates, changes or removes anything, and `path_open` never hands on a right the
//! directory may not hand on. Sockets are not provided: `sock_*` answer `ENOTSOCK` on an
//! open descriptor, as on a host whose program was given none. `proc_raise` answers
//! `ENOSYS`. Every preview1 function is defined with its exact signature, so linking never
//! fails on a known WASI import; [`run_command`] also stubs unknown
//! `wasi_snapshot_preview1` imports.
//!
//! Guest pointers refer to the exported `memory` of the instance that calls (so WASI
//! works in a start function, before instantiation returns), else to the memory set with
//! [`WasiCtx::set_memory`]. Every guest pointer is bounds-checked: a bad pointer gives
//! `EFAULT` (21), never a host crash.
//!
//! ```no_run
//! use std::sync::Arc;
//! use wasmprecomp_runtime::{wasi, Linker, Module, Store};
//! // SAFETY: app.wpc is this application's own build output, written by wasmprecomp.
//! let module = unsafe { Module::from_file("app.wpc")? };
//! let code = std::thread::Builder::new()
//!     .stack_size(16 << 20)
//!     .spawn(move || {
//!         let mut store = Store::new();
//!         store.set_max_wasm_stack(8 << 20);
//!         let mut ctx = wasi::WasiCtx::new();
//!         ctx.args(["app", "10"]);
//!         ctx.preopen_dir("data", "data", wasi::DirAccess::ReadOnly)?;
//!         let ctx = Arc::new(ctx);
//!         let mut linker = Linker::new();
//!         wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
//!         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(wasi::run_command(
//!             &mut store, &linker, &module, &ctx,
//!         )?)
//!     })?
//!     .join()
//!     .expect("runner thread")
//!     .map_err(|e| e.to_string())?;
//! println!("exit code {code}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{
    Caller, Extern, FuncType, HostFunc, InstantiateError, Linker, Memory, Module, Store, StoreData,
    Trap, Val, ValType,
};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use thiserror::Error;
use wasmprecomp_artifact::ImportKind;

mod fd;
mod fs;
mod mem;
mod sys;

use fd::{Entry, FdTable, Kind};
use mem::{Args, Mem};

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// WASI errno values (those this implementation names; host errors map to the rest).
pub mod errno {
    /// No error.
    pub const SUCCESS: i32 = 0;
    /// Argument list too long.
    pub const TOOBIG: i32 = 1;
    /// Permission denied.
    pub const ACCES: i32 = 2;
    /// Resource unavailable, or operation would block.
    pub const AGAIN: i32 = 6;
    /// Bad file descriptor.
    pub const BADF: i32 = 8;
    /// Device or resource busy.
    pub const BUSY: i32 = 10;
    /// File exists.
    pub const EXIST: i32 = 20;
    /// Bad address: a pointer or length reaches outside linear memory.
    pub const FAULT: i32 = 21;
    /// Illegal byte sequence (a path that is not UTF-8).
    pub const ILSEQ: i32 = 25;
    /// Invalid argument.
    pub const INVAL: i32 = 28;
    /// I/O error.
    pub const IO: i32 = 29;
    /// Is a directory.
    pub const ISDIR: i32 = 31;
    /// Too many levels of symbolic links.
    pub const LOOP: i32 = 32;
    /// Filename too long.
    pub const NAMETOOLONG: i32 = 37;
    /// Too many files open.
    pub const NFILE: i32 = 41;
    /// No such file or directory.
    pub const NOENT: i32 = 44;
    /// Function not supported.
    pub const NOSYS: i32 = 52;
    /// Not a directory.
    pub const NOTDIR: i32 = 54;
    /// Directory not empty.
    pub const NOTEMPTY: i32 = 55;
    /// Not a socket.
    pub const NOTSOCK: i32 = 57;
    /// Not supported.
    pub const NOTSUP: i32 = 58;
    /// Operation not permitted.
    pub const PERM: i32 = 63;
    /// Invalid seek.
    pub const SPIPE: i32 = 70;
    /// Capabilities insufficient: a right is missing, or a path leads out of its directory.
    pub const NOTCAPABLE: i32 = 76;
}

/// WASI rights: what a descriptor may be used for.
pub mod rights {
    #[allow(missing_docs)]
    pub const FD_DATASYNC: u64 = 1 << 0;
    #[allow(missing_docs)]
    pub const FD_READ: u64 = 1 << 1;
    #[allow(missing_docs)]
    pub const FD_SEEK: u64 = 1 << 2;
    #[allow(missing_docs)]
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    #[allow(missing_docs)]
    pub const FD_SYNC: u64 = 1 << 4;
    #[allow(missing_docs)]
    pub const FD_TELL: u64 = 1 << 5;
    #[allow(missing_docs)]
    pub const FD_WRITE: u64 = 1 << 6;
    #[allow(missing_docs)]
    pub const FD_ADVISE: u64 = 1 << 7;
    #[allow(missing_docs)]
    pub const FD_ALLOCATE: u64 = 1 << 8;
    #[allow(missing_docs)]
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    #[allow(missing_docs)]
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    #[allow(missing_docs)]
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    #[allow(missing_docs)]
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    #[allow(missing_docs)]
    pub const PATH_OPEN: u64 = 1 << 13;
    #[allow(missing_docs)]
    pub const FD_READDIR: u64 = 1 << 14;
    #[allow(missing_docs)]
    pub const PATH_READLINK: u64 = 1 << 15;
    #[allow(missing_docs)]
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    #[allow(missing_docs)]
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    #[allow(missing_docs)]
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    #[allow(missing_docs)]
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    #[allow(missing_docs)]
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    #[allow(missing_docs)]
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    #[allow(missing_docs)]
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    #[allow(missing_docs)]
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    #[allow(missing_docs)]
    pub const PATH_SYMLINK: u64 = 1 << 24;
    #[allow(missing_docs)]
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    #[allow(missing_docs)]
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    #[allow(missing_docs)]
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    #[allow(missing_docs)]
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    #[allow(missing_docs)]
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    /// Rights a regular file can have.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// Rights a directory can have.
    pub const DIRECTORY: u64 = FD_DATASYNC
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// Rights that create, change or remove something: what a read-only preopen lacks,
    /// and cannot hand on.
    pub const MODIFY: u64 = FD_DATASYNC
        | FD_WRITE
        | FD_ALLOCATE
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
}

type Errno = i32;
type WasiResult = Result<(), Errno>;

/// Where a program's standard output or standard error goes.
#[derive(Debug, Clone, Default)]
pub enum Output {
    /// The host process's own stdout / stderr.
    #[default]
    Inherit,
    /// Appended to a shared buffer.
    Capture(Arc<Mutex<Vec<u8>>>),
    /// Thrown away.
    Discard,
}

/// Where a program's standard input comes from.
#[derive(Debug, Default)]
pub enum Input {
    /// Always at end of file.
    #[default]
    Empty,
    /// The host process's own stdin.
    Inherit,
    /// A byte buffer, read once from the start.
    Bytes {
        /// The whole input.
        data: Vec<u8>,
        /// How much of it the program has read.
        pos: usize,
    },
}

/// Whether a preopened directory may be changed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirAccess {
    /// Files and directories in it can be created, written, renamed and removed.
    ReadWrite,
    /// Only read: no right that creates, changes or removes anything
    /// ([`rights::MODIFY`]) is granted, on the directory or on what is opened through it.
    ReadOnly,
}

/// The state of one WASI program: its arguments, environment, stdio, descriptors
/// (preopened directories among them) and, once it ran, its exit code. Configure it, wrap
/// it in an [`Arc`] and pass it to [`add_to_linker`].
#[derive(Debug)]
pub struct WasiCtx {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdout: Output,
    stderr: Output,
    stdin: Mutex<Input>,
    /// Open descriptors: stdio, preopens, what the program opened.
    fds: Mutex<FdTable>,
    exit_code: Mutex<Option<i32>>,
    /// The memory pointers refer to (its handle names its store).
    memory: Mutex<Option<Memory>>,
}

/// Locks a mutex, ignoring poisoning (the data stays usable: nothing here is left
/// half-updated by a panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for WasiCtx {
    fn default() -> WasiCtx {
        WasiCtx {
            args: Vec::new(),
            env: Vec::new(),
            stdout: Output::default(),
            stderr: Output::default(),
            stdin: Mutex::new(Input::default()),
            fds: Mutex::new(FdTable::with_stdio()),
            exit_code: Mutex::new(None),
            memory: Mutex::new(None),
        }
    }
}

impl WasiCtx {
    /// A context with no arguments, an empty environment, empty stdin, stdout and stderr
    /// inherited from the host process, and no preopened directory.
    pub fn new() -> WasiCtx {
        WasiCtx::default()
    }

    /// Preopens the host directory `host` under the guest name `guest` (what the program
    /// sees as the directory's path, e.g. `/` or `data`), as the next descriptor. The
    /// program reaches nothing outside it through it.
    pub fn preopen_dir(
        &mut self,
        host: impl AsRef<Path>,
        guest: impl Into<String>,
        access: DirAccess,
    ) -> std::io::Result<&mut Self> {
        let dir = sys::open_host_dir(host.as_ref())?;
        let (base, inheriting) = match access {
            DirAccess::ReadWrite => (rights::DIRECTORY, rights::DIRECTORY | rights::FILE),
            DirAccess::ReadOnly => (
                rights::DIRECTORY & !rights::MODIFY,
                (rights::DIRECTORY | rights::FILE) & !rights::MODIFY,
            ),
        };
        lock(&self.fds)
            .insert(Entry {
                kind: Kind::Dir(dir),
                base,
                inheriting,
                preopen: Some(guest.into()),
                stdio_flags: 0,
            })
            .map_err(|_| std::io::Error::other("no descriptor number left"))?;
        Ok(self)
    }

    /// Adds every environment variable of the host process (those that are UTF-8).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (k, v) in std::env::vars() {
            self.env.push((k, v));
        }
        self
    }

    /// Sets the arguments (`argv`, including `argv[0]`, the program name).
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Appends one argument.
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Uses the host process's stdin, stdout and stderr.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.stdout = Output::Inherit;
        self.stderr = Output::Inherit;
        *lock(&self.stdin) = Input::Inherit;
        self
    }

    /// Sends standard output to the given destination.
    pub fn set_stdout(&mut self, out: Output) -> &mut Self {
        self.stdout = out;
        self
    }

    /// Sends standard error to the given destination.
    pub fn set_stderr(&mut self, out: Output) -> &mut Self {
        self.stderr = out;
        self
    }

    /// Captures standard output; returns the buffer it is appended to.
    pub fn capture_stdout(&mut self) -> Arc<Mutex<Vec<u8>>> {
        let buf = Arc::new(Mutex::new(Vec::new()));
        self.stdout = Output::Capture(buf.clone());
        buf
    }

    /// Captures standard error; returns the buffer it is appended to.
    pub fn capture_stderr(&mut self) -> Arc<Mutex<Vec<u8>>> {
        let buf = Arc::new(Mutex::new(Vec::new()));
        self.stderr = Output::Capture(buf.clone());
        buf
    }

    /// Makes standard input read from `bytes` (then end of file).
    pub fn stdin_bytes(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Self {
        *lock(&self.stdin) = Input::Bytes {
            data: bytes.into(),
            pos: 0,
        };
        self
    }

    /// Sets where standard input comes from.
    pub fn set_stdin(&mut self, input: Input) -> &mut Self {
        *lock(&self.stdin) = input;
        self
    }

    /// The code the program passed to `proc_exit`, if it called it.
    pub fn exit_code(&self) -> Option<i32> {
        *lock(&self.exit_code)
    }

    /// Sets the linear memory that guest pointers refer to: the exported `memory` of the
    /// instance that imports these functions. Only calls made through `store` see it.
    ///
    /// # Panics
    ///
    /// When `memory` comes from another store than `store`.
    #[track_caller]
    pub fn set_memory(&self, store: &StoreData, memory: Memory) {
        store.check(memory);
        *lock(&self.memory) = Some(memory);
    }

    /// The memory of the calling program: the calling instance's exported `memory`, else
    /// the one set with [`WasiCtx::set_memory`] for this store, else `EFAULT`.
    fn mem<'a>(&self, caller: &'a mut Caller<'_>) -> Result<Mem<'a>, Errno> {
        let m = caller
            .get_memory("memory")
            .or(*lock(&self.memory))
            .ok_or(errno::FAULT)?;
        let store: &'a mut StoreData = &mut *caller.store;
        if !store.owns(m) {
            return Err(errno::FAULT);
        }
        Ok(Mem(store.memory_data_mut(m)))
    }

    /// Where stdio stream `n` (1 or 2) goes.
    fn output(&self, n: u8) -> Result<&Output, Errno> {
        match n {
            1 => Ok(&self.stdout),
            2 => Ok(&self.stderr),
            _ => Err(errno::BADF),
        }
    }
}

type Handler = fn(&WasiCtx, &mut Caller<'_>, &Args<'_>) -> WasiResult;

/// Every preview1 function except `proc_exit`: name, parameter types (`i` = i32,
/// `I` = i64; the result is always one i32 errno) and implementation.
const FUNCS: &[(&str, &str, Handler)] = &[
    ("args_get", "ii", args_get),
    ("args_sizes_get", "ii", args_sizes_get),
    ("environ_get", "ii", environ_get),
    ("environ_sizes_get", "ii", environ_sizes_get),
    ("clock_res_get", "ii", clock_res_get),
    ("clock_time_get", "iIi", clock_time_get),
    ("fd_advise", "iIIi", fs::fd_advise),
    ("fd_allocate", "iII", fs::fd_allocate),
    ("fd_close", "i", fs::fd_close),
    ("fd_datasync", "i", fs::fd_datasync),
    ("fd_fdstat_get", "ii", fs::fd_fdstat_get),
    ("fd_fdstat_set_flags", "ii", fs::fd_fdstat_set_flags),
    ("fd_fdstat_set_rights", "iII", fs::fd_fdstat_set_rights),
    ("fd_filestat_get", "ii", fs::fd_filestat_get),
    ("fd_filestat_set_size", "iI", fs::fd_filestat_set_size),
    ("fd_filestat_set_times", "iIIi", fs::fd_filestat_set_times),
    ("fd_pread", "iiiIi", fs::fd_pread),
    ("fd_prestat_get", "ii", fs::fd_prestat_get),
    ("fd_prestat_dir_name", "iii", fs::fd_prestat_dir_name),
    ("fd_pwrite", "iiiIi", fs::fd_pwrite),
    ("fd_read", "iiii", fs::fd_read),
    ("fd_readdir", "iiiIi", fs::fd_readdir),
    ("fd_renumber", "ii", fs::fd_renumber),
    ("fd_seek", "iIii", fs::fd_seek),
    ("fd_sync", "i", fs::fd_sync),
    ("fd_tell", "ii", fs::fd_tell),
    ("fd_write", "iiii", fs::fd_write),
    ("path_create_directory", "iii", fs::path_create_directory),
    ("path_filestat_get", "iiiii", fs::path_filestat_get),
    (
        "path_filestat_set_times",
        "iiiiIIi",
        fs::path_filestat_set_times,
    ),
    ("path_link", "iiiiiii", fs::path_link),
    ("path_open", "iiiiiIIii", fs::path_open),
    ("path_readlink", "iiiiii", fs::path_readlink),
    ("path_remove_directory", "iii", fs::path_remove_directory),
    ("path_rename", "iiiiii", fs::path_rename),
    ("path_symlink", "iiiii", fs::path_symlink),
    ("path_unlink_file", "iii", fs::path_unlink_file),
    ("poll_oneoff", "iiii", poll_oneoff),
    ("proc_raise", "i", nosys),
    ("sched_yield", "", sched_yield),
    ("random_get", "ii", random_get),
    ("sock_accept", "iii", sock_stub),
    ("sock_recv", "iiiiii", sock_stub),
    ("sock_send", "iiiii", sock_stub),
    ("sock_shutdown", "ii", sock_stub),
];

fn sig(params: &str, results: &[ValType]) -> FuncType {
    FuncType {
        params: params
            .chars()
            .map(|c| if c == 'I' { ValType::I64 } else { ValType::I32 })
            .collect(),
        results: results.to_vec(),
    }
}

/// Every WASI preview1 function with its signature, in the order of the witx
/// definition (46 functions; `proc_exit` is the only one without a result).
pub fn functions() -> Vec<(&'static str, FuncType)> {
    let mut v: Vec<(&'static str, FuncType)> = FUNCS
        .iter()
        .map(|(name, params, _)| (*name, sig(params, &[ValType::I32])))
        .collect();
    let at = v
        .iter()
        .position(|(n, _)| *n == "proc_raise")
        .unwrap_or(v.len());
    v.insert(at, ("proc_exit", sig("i", &[])));
    v
}

/// Defines every WASI preview1 function in `linker` under [`MODULE`], as host functions
/// of `store` sharing `ctx`.
pub fn add_to_linker(linker: &mut Linker, store: &mut Store, ctx: Arc<WasiCtx>) {
    for &(name, params, handler) in FUNCS {
        let c = ctx.clone();
        let f: HostFunc = Arc::new(move |caller: &mut Caller<'_>, args: &[Val]| {
            let r = match handler(&c, caller, &Args(args)) {
                Ok(()) => errno::SUCCESS,
                Err(e) => e,
            };
            Ok(vec![Val::I32(r)])
        });
        let func = store.new_func(sig(params, &[ValType::I32]), f);
        linker.define(MODULE, name, Extern::Func(func));
    }
    let c = ctx;
    let exit: HostFunc = Arc::new(move |_caller: &mut Caller<'_>, args: &[Val]| {
        let code = Args(args).u32(0) as i32;
        *lock(&c.exit_code) = Some(code);
        Err(Trap::exit(code))
    });
    let func = store.new_func(sig("i", &[]), exit);
    linker.define(MODULE, "proc_exit", Extern::Func(func));
}

/// Defines a stub for every function `module` imports from [`MODULE`] that `linker` does
/// not define yet (a name outside preview1): it answers `ENOSYS` when its only result is
/// an i32, and traps with a message otherwise.
pub fn add_unknown_import_stubs(linker: &mut Linker, store: &mut Store, module: &Module) {
    let meta = module.meta();
    for imp in &meta.imports {
        let ImportKind::Func(t) = imp.kind else {
            continue;
        };
        if imp.module != MODULE || linker.get(&imp.module, &imp.name).is_some() {
            continue;
        }
        let Some(ty) = meta.types.get(t as usize).cloned() else {
            continue;
        };
        let name = imp.name.clone();
        let errno_result = ty.results == [ValType::I32];
        let f: HostFunc = Arc::new(move |_caller: &mut Caller<'_>, _args: &[Val]| {
            if errno_result {
                Ok(vec![Val::I32(errno::NOSYS)])
            } else {
                Err(Trap::host(format!(
                    "unsupported WASI function `{MODULE}::{name}` called"
                )))
            }
        });
        let func = store.new_func(ty, f);
        linker.define(MODULE, &imp.name, Extern::Func(func));
    }
}

/// Why [`run_command`] could not run a program to its end.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RunError {
    /// Instantiation failed (an import is missing or a segment did not fit).
    #[error("{0}")]
    Instantiate(InstantiateError),
    /// The module exports no `_start: [] -> []` function.
    #[error("the module is not a WASI command: it exports no `_start` function of type () -> ()")]
    NoStart,
    /// The program trapped (other than by calling `proc_exit`).
    #[error("{0}")]
    Trap(Trap),
}

/// Runs a WASI command module: instantiates it with `linker` (plus
/// [`add_unknown_import_stubs`]), points `ctx` at its exported `memory`, calls `_start`
/// and returns the exit code: 0 when `_start` returns, the code passed to `proc_exit`
/// otherwise. Traps are errors.
///
/// `linker` must hold the WASI functions of `ctx` ([`add_to_linker`] with the same
/// `store`). Compiled code runs on the calling thread's stack and this function spawns
/// no thread: run it on a thread with a big stack (e.g. 16 MiB) after
/// `store.set_max_wasm_stack(8 << 20)`; real programs (Rust's regex, serde) need more
/// than the default 1 MiB of wasm stack.
pub fn run_command(
    store: &mut Store,
    linker: &Linker,
    module: &Module,
    ctx: &WasiCtx,
) -> Result<i32, RunError> {
    let mut linker = linker.clone();
    add_unknown_import_stubs(&mut linker, store, module);
    let instance = match linker.instantiate(store, module) {
        Ok(i) => i,
        Err(InstantiateError::Trap(t)) if t.exit_code.is_some() => {
            return Ok(t.exit_code.unwrap_or(0))
        }
        Err(e) => return Err(RunError::Instantiate(e)),
    };
    if let Some(mem) = store.get_memory(instance, "memory") {
        ctx.set_memory(store, mem);
    }
    let start = store
        .get_func(instance, "_start")
        .ok_or(RunError::NoStart)?;
    let ty = store.func_type(start);
    if !ty.params.is_empty() || !ty.results.is_empty() {
        return Err(RunError::NoStart);
    }
    match store.call(start, &[]) {
        Ok(_) => Ok(0),
        Err(t) => match t.exit_code {
            Some(code) => Ok(code),
            None => Err(RunError::Trap(t)),
        },
    }
}

// ---- The functions ----

/// Sizes of a list of NUL-terminated strings: (count, total bytes).
fn string_sizes<'a>(items: impl Iterator<Item = &'a [u8]>) -> Result<(u32, u32), Errno> {
    let (mut n, mut size) = (0u64, 0u64);
    for s in items {
        n += 1;
        size += s.len() as u64 + 1;
    }
    Ok((
        u32::try_from(n).map_err(|_| errno::INVAL)?,
        u32::try_from(size).map_err(|_| errno::INVAL)?,
    ))
}

/// Writes `items` as pointers at `ptrs` and NUL-terminated strings at `buf`.
fn write_strings(mem: &mut Mem<'_>, items: &[Vec<u8>], ptrs: u32, buf: u32) -> WasiResult {
    let (n, size) = string_sizes(items.iter().map(|s| s.as_slice()))?;
    mem.check(ptrs, n as u64 * 4)?;
    mem.check(buf, size as u64)?;
    let mut at = buf;
    for (i, s) in items.iter().enumerate() {
        mem.write_u32(Mem::offset(ptrs, i as u64 * 4)?, at)?;
        mem.write(at, s)?;
        let nul = Mem::offset(at, s.len() as u64)?;
        mem.write(nul, &[0])?;
        at = Mem::offset(nul, 1)?;
    }
    Ok(())
}

fn arg_bytes(ctx: &WasiCtx) -> Vec<Vec<u8>> {
    ctx.args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn env_bytes(ctx: &WasiCtx) -> Vec<Vec<u8>> {
    ctx.env
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect()
}

fn args_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let mut mem = ctx.mem(caller)?;
    write_strings(&mut mem, &arg_bytes(ctx), a.u32(0), a.u32(1))
}

fn sizes_get(
    ctx: &WasiCtx,
    caller: &mut Caller<'_>,
    a: &Args<'_>,
    items: &[Vec<u8>],
) -> WasiResult {
    let mut mem = ctx.mem(caller)?;
    let (n, size) = string_sizes(items.iter().map(|s| s.as_slice()))?;
    mem.check(a.u32(0), 4)?;
    mem.check(a.u32(1), 4)?;
    mem.write_u32(a.u32(0), n)?;
    mem.write_u32(a.u32(1), size)
}

fn args_sizes_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    sizes_get(ctx, caller, a, &arg_bytes(ctx))
}

fn environ_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let mut mem = ctx.mem(caller)?;
    write_strings(&mut mem, &env_bytes(ctx), a.u32(0), a.u32(1))
}

fn environ_sizes_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    sizes_get(ctx, caller, a, &env_bytes(ctx))
}

fn libc_clock(id: u32) -> Option<libc::clockid_t> {
    match id {
        0 => Some(libc::CLOCK_REALTIME),
        1 => Some(libc::CLOCK_MONOTONIC),
        2 => Some(libc::CLOCK_PROCESS_CPUTIME_ID),
        3 => Some(libc::CLOCK_THREAD_CPUTIME_ID),
        _ => None,
    }
}

fn timespec_ns(ts: &libc::timespec) -> u64 {
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// The current time of a WASI clock in nanoseconds.
fn clock_now(id: u32) -> Result<u64, Errno> {
    let clk = libc_clock(id).ok_or(errno::INVAL)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_gettime(clk, &mut ts) } != 0 {
        return Err(errno::INVAL);
    }
    Ok(timespec_ns(&ts))
}

fn clock_time_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let mut mem = ctx.mem(caller)?;
    let now = clock_now(a.u32(0))?;
    mem.write_u64(a.u32(2), now)
}

fn clock_res_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let mut mem = ctx.mem(caller)?;
    let clk = libc_clock(a.u32(0)).ok_or(errno::INVAL)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_getres(clk, &mut ts) } != 0 {
        return Err(errno::INVAL);
    }
    mem.write_u64(a.u32(1), timespec_ns(&ts).max(1))
}

/// Fills `buf` with random bytes from the OS.
fn fill_random(buf: &mut [u8]) -> WasiResult {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a valid writable buffer of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr() as *mut libc::c_void, rest.len(), 0) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(errno::IO);
        }
        done += n as usize;
    }
    Ok(())
}

fn random_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let mut mem = ctx.mem(caller)?;
    fill_random(mem.bytes_mut(a.u32(0), a.u32(1) as u64)?)
}

/// No descriptor is a socket.
fn sock_stub(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    lock(&ctx.fds).get(a.u32(0))?;
    Err(errno::NOTSOCK)
}

fn nosys(_ctx: &WasiCtx, _caller: &mut Caller<'_>, _a: &Args<'_>) -> WasiResult {
    Err(errno::NOSYS)
}

fn sched_yield(_ctx: &WasiCtx, _caller: &mut Caller<'_>, _a: &Args<'_>) -> WasiResult {
    std::thread::yield_now();
    Ok(())
}

const SUBSCRIPTION_SIZE: u64 = 48;
const EVENT_SIZE: u64 = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
/// Longest single sleep of `poll_oneoff` (a guest cannot block the host for longer).
const MAX_SLEEP_NS: u64 = 3600 * 1_000_000_000;

struct Event {
    userdata: u64,
    error: u16,
    ty: u8,
    nbytes: u64,
}

impl Event {
    fn encode(&self) -> [u8; EVENT_SIZE as usize] {
        let mut e = [0u8; EVENT_SIZE as usize];
        e[0..8].copy_from_slice(&self.userdata.to_le_bytes());
        e[8..10].copy_from_slice(&self.error.to_le_bytes());
        e[10] = self.ty;
        e[16..24].copy_from_slice(&self.nbytes.to_le_bytes());
        e
    }
}

/// Clock subscriptions sleep (the shortest one wins); fd subscriptions on stdio and files
/// are reported ready at once (and then only clock subscriptions already due fire).
fn poll_oneoff(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let (subs, out, n, nevents) = (a.u32(0), a.u32(1), a.u32(2), a.u32(3));
    let mut mem = ctx.mem(caller)?;
    if n == 0 {
        return Err(errno::INVAL);
    }
    mem.check(subs, n as u64 * SUBSCRIPTION_SIZE)?;
    mem.check(out, n as u64 * EVENT_SIZE)?;
    mem.check(nevents, 4)?;
    let mut ready: Vec<Event> = Vec::new();
    // (userdata, nanoseconds to wait)
    let mut clocks: Vec<(u64, u64)> = Vec::new();
    for i in 0..n as u64 {
        let s = Mem::offset(subs, i * SUBSCRIPTION_SIZE)?;
        let userdata = mem.read_u64(s)?;
        let tag = mem.bytes(Mem::offset(s, 8)?, 1)?[0];
        let body = Mem::offset(s, 16)?;
        match tag {
            EVENTTYPE_CLOCK => {
                let id = mem.read_u32(body)?;
                let timeout = mem.read_u64(Mem::offset(body, 8)?)?;
                let flags = mem.read_u16(Mem::offset(body, 24)?)?;
                match clock_now(id) {
                    Ok(now) => {
                        let wait = if flags & SUBCLOCKFLAGS_ABSTIME != 0 {
                            timeout.saturating_sub(now)
                        } else {
                            timeout
                        };
                        clocks.push((userdata, wait));
                    }
                    Err(e) => ready.push(Event {
                        userdata,
                        error: e as u16,
                        ty: EVENTTYPE_CLOCK,
                        nbytes: 0,
                    }),
                }
            }
            EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
                let fd = mem.read_u32(body)?;
                let (error, nbytes) = match fs::poll_ready(ctx, fd, tag == EVENTTYPE_FD_READ) {
                    Ok(n) => (0, n),
                    Err(e) => (e as u16, 0),
                };
                ready.push(Event {
                    userdata,
                    error,
                    ty: tag,
                    nbytes,
                });
            }
            _ => return Err(errno::INVAL),
        }
    }
    let clock_event = |&(userdata, _): &(u64, u64)| Event {
        userdata,
        error: 0,
        ty: EVENTTYPE_CLOCK,
        nbytes: 0,
    };
    if ready.is_empty() {
        if let Some(min) = clocks.iter().map(|c| c.1).min() {
            let ns = min.min(MAX_SLEEP_NS);
            if ns > 0 {
                std::thread::sleep(std::time::Duration::from_nanos(ns));
            }
            ready.extend(clocks.iter().filter(|c| c.1 <= min).map(clock_event));
        }
    } else {
        // Clocks that expired already fire with the fd events.
        ready.extend(clocks.iter().filter(|c| c.1 == 0).map(clock_event));
    }
    for (i, e) in ready.iter().enumerate() {
        mem.write(Mem::offset(out, i as u64 * EVENT_SIZE)?, &e.encode())?;
    }
    mem.write_u32(nevents, ready.len() as u32)
}

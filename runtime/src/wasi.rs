//! A minimal WASI preview1 (`wasi_snapshot_preview1`): enough for command programs built
//! for `wasm32-wasip1` that compute and print.
//!
//! What is there: arguments, environment variables, the four clocks, random bytes,
//! standard input / output / error (inherited, captured into a buffer, or discarded; stdin
//! can be a byte buffer), `proc_exit`, `sched_yield`, and a `poll_oneoff` that sleeps for
//! clock subscriptions and reports stdio as ready. There is no file system: there are no
//! preopened directories, so `fd_prestat_get` answers `EBADF` for every descriptor and the
//! `path_*` functions fail with `ENOTCAPABLE` (on stdio) or `EBADF`. Every other
//! preview1 function is defined with its exact signature and answers `ENOSYS`, `EBADF` or
//! another fitting errno, so linking never fails on a known WASI import; [`run_command`]
//! also stubs unknown `wasi_snapshot_preview1` imports.
//!
//! Host functions are not told which instance called them: the context holds a memory
//! cell, set with [`WasiCtx::set_memory`] after instantiation to the module's exported
//! `memory` ([`run_command`] does that). Until it is set, every function that takes a
//! pointer answers `EFAULT`. Every guest pointer is bounds-checked: a bad pointer gives
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
//!         let ctx = Arc::new(ctx);
//!         let mut linker = Linker::new();
//!         wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
//!         wasi::run_command(&mut store, &linker, &module, &ctx)
//!     })?
//!     .join()
//!     .expect("runner thread")?;
//! println!("exit code {code}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{
    Caller, Extern, FuncType, HostFunc, InstantiateError, Linker, Memory, Module, Store, StoreData,
    Trap, Val, ValType,
};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use thiserror::Error;
use wasmprecomp_artifact::ImportKind;

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// WASI errno values (the subset this implementation returns).
pub mod errno {
    /// No error.
    pub const SUCCESS: i32 = 0;
    /// Bad file descriptor.
    pub const BADF: i32 = 8;
    /// Bad address: a pointer or length reaches outside linear memory.
    pub const FAULT: i32 = 21;
    /// Invalid argument.
    pub const INVAL: i32 = 28;
    /// I/O error.
    pub const IO: i32 = 29;
    /// Function not supported.
    pub const NOSYS: i32 = 52;
    /// Not a directory.
    pub const NOTDIR: i32 = 54;
    /// Not a socket.
    pub const NOTSOCK: i32 = 57;
    /// Invalid seek.
    pub const SPIPE: i32 = 70;
    /// Capabilities insufficient.
    pub const NOTCAPABLE: i32 = 76;
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

/// The state of one WASI program: its arguments, environment, stdio and, once it ran,
/// its exit code. Configure it, wrap it in an [`Arc`] and pass it to [`add_to_linker`].
#[derive(Debug, Default)]
pub struct WasiCtx {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdout: Output,
    stderr: Output,
    stdin: Mutex<Input>,
    /// Stdio descriptors closed by the program.
    closed: Mutex<[bool; 3]>,
    exit_code: Mutex<Option<i32>>,
    /// The memory pointers refer to (its handle names its store).
    memory: Mutex<Option<Memory>>,
}

/// Locks a mutex, ignoring poisoning (the data stays usable: nothing here is left
/// half-updated by a panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl WasiCtx {
    /// A context with no arguments, an empty environment, empty stdin, and stdout and
    /// stderr inherited from the host process.
    pub fn new() -> WasiCtx {
        WasiCtx::default()
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

    /// The memory of the calling program, or `EFAULT` when none is set for this store.
    fn mem<'a>(&self, caller: &'a mut Caller<'_>) -> Result<Mem<'a>, Errno> {
        let m = (*lock(&self.memory)).ok_or(errno::FAULT)?;
        let store: &'a mut StoreData = &mut *caller.store;
        if !store.owns(m) {
            return Err(errno::FAULT);
        }
        Ok(Mem(store.memory_data_mut(m)))
    }

    fn is_open_stdio(&self, fd: u32) -> bool {
        fd < 3 && !lock(&self.closed)[fd as usize]
    }

    /// `Ok` for an open stdio descriptor, `EBADF` otherwise.
    fn stdio(&self, fd: u32) -> WasiResult {
        if self.is_open_stdio(fd) {
            Ok(())
        } else {
            Err(errno::BADF)
        }
    }

    fn output(&self, fd: u32) -> Result<&Output, Errno> {
        self.stdio(fd)?;
        match fd {
            1 => Ok(&self.stdout),
            2 => Ok(&self.stderr),
            _ => Err(errno::BADF),
        }
    }
}

/// A bounds-checked view of linear memory.
struct Mem<'a>(&'a mut [u8]);

impl Mem<'_> {
    fn range(&self, ptr: u32, len: u64) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as u64;
        let end = start.checked_add(len).ok_or(errno::FAULT)?;
        if end > self.0.len() as u64 {
            return Err(errno::FAULT);
        }
        Ok(start as usize..end as usize)
    }
    fn check(&self, ptr: u32, len: u64) -> WasiResult {
        self.range(ptr, len).map(|_| ())
    }
    fn bytes(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let r = self.range(ptr, len as u64)?;
        Ok(&self.0[r])
    }
    fn bytes_mut(&mut self, ptr: u32, len: u64) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.0[r])
    }
    fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        let b = self.bytes(ptr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        let b = self.bytes(ptr, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        let b = self.bytes(ptr, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn write(&mut self, ptr: u32, data: &[u8]) -> WasiResult {
        self.bytes_mut(ptr, data.len() as u64)?
            .copy_from_slice(data);
        Ok(())
    }
    fn write_u32(&mut self, ptr: u32, v: u32) -> WasiResult {
        self.write(ptr, &v.to_le_bytes())
    }
    fn write_u64(&mut self, ptr: u32, v: u64) -> WasiResult {
        self.write(ptr, &v.to_le_bytes())
    }
    /// Address of the byte `off` past `base`, if it fits in 32 bits.
    fn offset(base: u32, off: u64) -> Result<u32, Errno> {
        u32::try_from(base as u64 + off).map_err(|_| errno::FAULT)
    }
    /// Reads and checks an array of `n` (buffer, length) pairs at `iovs`.
    fn iovecs(&self, iovs: u32, n: u32) -> Result<Vec<(u32, u32)>, Errno> {
        self.check(iovs, n as u64 * 8)?;
        let mut v = Vec::with_capacity(n as usize);
        for i in 0..n as u64 {
            let at = Self::offset(iovs, i * 8)?;
            let buf = self.read_u32(at)?;
            let len = self.read_u32(Self::offset(at, 4)?)?;
            self.check(buf, len as u64)?;
            v.push((buf, len));
        }
        Ok(v)
    }
}

/// Arguments of a host call, read without panicking.
struct Args<'a>(&'a [Val]);

impl Args<'_> {
    fn u32(&self, i: usize) -> u32 {
        match self.0.get(i) {
            Some(Val::I32(v)) => *v as u32,
            _ => 0,
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
    ("fd_advise", "iIIi", fd_stub::<0>),
    ("fd_allocate", "iII", fd_stub::<0>),
    ("fd_close", "i", fd_close),
    ("fd_datasync", "i", fd_sync),
    ("fd_fdstat_get", "ii", fd_fdstat_get),
    ("fd_fdstat_set_flags", "ii", fd_ok),
    ("fd_fdstat_set_rights", "iII", fd_ok),
    ("fd_filestat_get", "ii", fd_filestat_get),
    ("fd_filestat_set_size", "iI", fd_stub::<0>),
    ("fd_filestat_set_times", "iIIi", fd_stub::<0>),
    ("fd_pread", "iiiIi", fd_stub::<{ errno::SPIPE }>),
    ("fd_prestat_get", "ii", fd_badf),
    ("fd_prestat_dir_name", "iii", fd_badf),
    ("fd_pwrite", "iiiIi", fd_stub::<{ errno::SPIPE }>),
    ("fd_read", "iiii", fd_read),
    ("fd_readdir", "iiiIi", fd_stub::<{ errno::NOTDIR }>),
    ("fd_renumber", "ii", fd_stub::<0>),
    ("fd_seek", "iIii", fd_stub::<{ errno::SPIPE }>),
    ("fd_sync", "i", fd_sync),
    ("fd_tell", "ii", fd_stub::<{ errno::SPIPE }>),
    ("fd_write", "iiii", fd_write),
    ("path_create_directory", "iii", path_stub::<0>),
    ("path_filestat_get", "iiiii", path_stub::<0>),
    ("path_filestat_set_times", "iiiiIIi", path_stub::<0>),
    ("path_link", "iiiiiii", path_stub::<0>),
    ("path_open", "iiiiiIIii", path_stub::<0>),
    ("path_readlink", "iiiiii", path_stub::<0>),
    ("path_remove_directory", "iii", path_stub::<0>),
    ("path_rename", "iiiiii", path_stub::<0>),
    ("path_symlink", "iiiii", path_stub::<2>),
    ("path_unlink_file", "iii", path_stub::<0>),
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

fn fd_write(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let out = ctx.output(a.u32(0))?;
    let mut mem = ctx.mem(caller)?;
    let nwritten = a.u32(3);
    mem.check(nwritten, 4)?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let total: u64 = iovs.iter().map(|(_, len)| *len as u64).sum();
    let total = u32::try_from(total).map_err(|_| errno::INVAL)?;
    let write_all = |w: &mut dyn Write| -> WasiResult {
        for (buf, len) in &iovs {
            w.write_all(mem.bytes(*buf, *len)?).map_err(|_| errno::IO)?;
        }
        w.flush().map_err(|_| errno::IO)
    };
    match (out, a.u32(0)) {
        (Output::Inherit, 1) => write_all(&mut std::io::stdout().lock())?,
        (Output::Inherit, _) => write_all(&mut std::io::stderr().lock())?,
        (Output::Capture(buf), _) => write_all(&mut *lock(buf))?,
        (Output::Discard, _) => {}
    }
    mem.write_u32(nwritten, total)
}

fn fd_read(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fd = a.u32(0);
    if fd != 0 {
        // stdout and stderr are not readable.
        return Err(errno::BADF);
    }
    ctx.stdio(0)?;
    let mut mem = ctx.mem(caller)?;
    let nread = a.u32(3);
    mem.check(nread, 4)?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let mut input = lock(&ctx.stdin);
    let mut total: u64 = 0;
    match &mut *input {
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
    }
    mem.write_u32(nread, u32::try_from(total).map_err(|_| errno::INVAL)?)
}

fn fd_close(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fd = a.u32(0);
    ctx.stdio(fd)?;
    lock(&ctx.closed)[fd as usize] = true;
    Ok(())
}

fn fd_sync(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fd = a.u32(0);
    ctx.stdio(fd)?;
    let r = match (fd, ctx.output(fd)) {
        (1, Ok(Output::Inherit)) => std::io::stdout().flush(),
        (2, Ok(Output::Inherit)) => std::io::stderr().flush(),
        _ => Ok(()),
    };
    r.map_err(|_| errno::IO)
}

/// Filetype of the stdio descriptors: a character device.
const FILETYPE_CHARACTER_DEVICE: u8 = 2;

fn fd_fdstat_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    let fd = a.u32(0);
    ctx.stdio(fd)?;
    let mut mem = ctx.mem(caller)?;
    // fd_datasync | fd_read | fd_sync | fd_write | fd_filestat_get | poll_fd_readwrite,
    // minus read on output and write on input.
    const READ: u64 = 0x2;
    const WRITE: u64 = 0x40;
    const COMMON: u64 = 0x1 | 0x8 | 0x10 | 0x20_0000 | 0x800_0000;
    let rights = COMMON | if fd == 0 { READ } else { WRITE };
    let mut st = [0u8; 24];
    st[0] = FILETYPE_CHARACTER_DEVICE;
    // fs_flags (u16 at 2) = 0.
    st[8..16].copy_from_slice(&rights.to_le_bytes());
    // fs_rights_inheriting (u64 at 16) = 0.
    mem.write(a.u32(1), &st)
}

fn fd_filestat_get(ctx: &WasiCtx, caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    ctx.stdio(a.u32(0))?;
    let mut mem = ctx.mem(caller)?;
    // dev, ino, filetype (u8 at 16), nlink, size, atim, mtim, ctim.
    let mut st = [0u8; 64];
    st[16] = FILETYPE_CHARACTER_DEVICE;
    mem.write(a.u32(1), &st)
}

/// Accepted and ignored on stdio.
fn fd_ok(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    ctx.stdio(a.u32(0))
}

fn fd_badf(_ctx: &WasiCtx, _caller: &mut Caller<'_>, _a: &Args<'_>) -> WasiResult {
    Err(errno::BADF)
}

/// `EBADF` unless the descriptor is open stdio; then `E` (`ENOSYS` when `E` is 0).
fn fd_stub<const E: i32>(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    ctx.stdio(a.u32(0))?;
    Err(if E == 0 { errno::NOSYS } else { E })
}

/// Path functions: the directory descriptor is argument `FD`. No directory is
/// preopened, so this is `ENOTCAPABLE` on stdio and `EBADF` otherwise.
fn path_stub<const FD: usize>(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    ctx.stdio(a.u32(FD))?;
    Err(errno::NOTCAPABLE)
}

fn sock_stub(ctx: &WasiCtx, _caller: &mut Caller<'_>, a: &Args<'_>) -> WasiResult {
    ctx.stdio(a.u32(0))?;
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

/// Clock subscriptions sleep (the shortest one wins); fd subscriptions on stdio are
/// reported ready at once (and then only clock subscriptions already due fire).
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
                let ok = ctx.is_open_stdio(fd) && ((fd == 0) == (tag == EVENTTYPE_FD_READ));
                let nbytes = match (&*lock(&ctx.stdin), ok && fd == 0) {
                    (Input::Bytes { data, pos }, true) => data.len().saturating_sub(*pos) as u64,
                    _ => 0,
                };
                ready.push(Event {
                    userdata,
                    error: if ok { 0 } else { errno::BADF as u16 },
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

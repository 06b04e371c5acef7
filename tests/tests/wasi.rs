//! WASI preview1: small WAT programs run through the compiler and the runtime's WASI.

use std::sync::Arc;
use wasmprecomp_runtime::wasi::{self, errno, RunError, WasiCtx};
use wasmprecomp_runtime::{Instance, Linker, Store, TrapKind, Val};
use wasmprecomp_tests::{compile, run_wasi};

/// Runs a WAT command with `ctx`; returns the exit code (or error) and captured stdout.
fn run(wat: &str, mut ctx: WasiCtx) -> (Result<i32, RunError>, Vec<u8>, Arc<WasiCtx>) {
    let out = ctx.capture_stdout();
    let m = compile(wat);
    let (r, ctx) = run_wasi(&m, ctx);
    let bytes = out.lock().unwrap().clone();
    (r, bytes, ctx)
}

/// Instantiates a WAT module with WASI (memory set) on the current thread, to call its
/// exports directly.
fn instance(wat: &str, ctx: WasiCtx) -> (Store, Instance, Arc<WasiCtx>) {
    let ctx = Arc::new(ctx);
    let m = compile(wat);
    let mut store = Store::new();
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
    let i = linker.instantiate(&mut store, &m).expect("instantiate");
    let mem = store.get_memory(i, "memory").expect("memory export");
    ctx.set_memory(&store, mem);
    (store, i, ctx)
}

fn call_i32(store: &mut Store, i: Instance, name: &str, args: &[Val]) -> i32 {
    let f = store
        .get_func(i, name)
        .unwrap_or_else(|| panic!("export {name}"));
    store.call(f, args).expect("call")[0].unwrap_i32()
}

fn mem_write(store: &mut Store, i: Instance, at: usize, data: &[u8]) {
    let m = store.get_memory(i, "memory").unwrap();
    store.memory_data_mut(m)[at..at + data.len()].copy_from_slice(data);
}

fn mem_read(store: &Store, i: Instance, at: usize, len: usize) -> Vec<u8> {
    let m = store.get_memory(i, "memory").unwrap();
    store.memory_data(m)[at..at + len].to_vec()
}

fn u32_at(store: &Store, i: Instance, at: usize) -> u32 {
    u32::from_le_bytes(mem_read(store, i, at, 4).try_into().unwrap())
}

fn u64_at(store: &Store, i: Instance, at: usize) -> u64 {
    u64::from_le_bytes(mem_read(store, i, at, 8).try_into().unwrap())
}

/// A module exporting thin wrappers around WASI functions, and one memory page.
const WRAPPERS: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (import "wasi_snapshot_preview1" "fd_advise" (func $fd_advise (param i32 i64 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "fd_write") (param i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 local.get 3 call $fd_write)
  (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 local.get 3 call $fd_read)
  (func (export "fd_close") (param i32) (result i32) local.get 0 call $fd_close)
  (func (export "fd_seek") (param i32 i64 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 local.get 3 call $fd_seek)
  (func (export "fd_fdstat_get") (param i32 i32) (result i32) local.get 0 local.get 1 call $fd_fdstat_get)
  (func (export "fd_filestat_get") (param i32 i32) (result i32) local.get 0 local.get 1 call $fd_filestat_get)
  (func (export "fd_prestat_get") (param i32 i32) (result i32) local.get 0 local.get 1 call $fd_prestat_get)
  (func (export "fd_prestat_dir_name") (param i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 call $fd_prestat_dir_name)
  (func (export "path_open") (param i32 i32) (result i32)
    local.get 0 i32.const 0 i32.const 0 local.get 1 i32.const 0 i64.const -1 i64.const -1 i32.const 0
    i32.const 512 call $path_open)
  (func (export "args_get") (param i32 i32) (result i32) local.get 0 local.get 1 call $args_get)
  (func (export "args_sizes_get") (param i32 i32) (result i32) local.get 0 local.get 1 call $args_sizes_get)
  (func (export "environ_get") (param i32 i32) (result i32) local.get 0 local.get 1 call $environ_get)
  (func (export "clock_time_get") (param i32 i32) (result i32)
    local.get 0 i64.const 1 local.get 1 call $clock_time_get)
  (func (export "clock_res_get") (param i32 i32) (result i32) local.get 0 local.get 1 call $clock_res_get)
  (func (export "random_get") (param i32 i32) (result i32) local.get 0 local.get 1 call $random_get)
  (func (export "poll_oneoff") (param i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 local.get 3 call $poll_oneoff)
  (func (export "sched_yield") (result i32) call $sched_yield)
  (func (export "fd_advise") (param i32) (result i32)
    local.get 0 i64.const 0 i64.const 0 i32.const 0 call $fd_advise))"#;

#[test]
fn hello_world_to_captured_stdout_and_stderr() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hello, ")
      (data (i32.const 32) "world\n")
      (data (i32.const 48) "oops\n")
      (func (export "_start")
        ;; two iovecs at 100: "hello, " and "world\n"
        (i32.store (i32.const 100) (i32.const 16)) (i32.store (i32.const 104) (i32.const 7))
        (i32.store (i32.const 108) (i32.const 32)) (i32.store (i32.const 112) (i32.const 6))
        (if (call $fd_write (i32.const 1) (i32.const 100) (i32.const 2) (i32.const 200))
          (then unreachable))
        (if (i32.ne (i32.load (i32.const 200)) (i32.const 13)) (then unreachable))
        ;; "oops\n" to stderr
        (i32.store (i32.const 100) (i32.const 48)) (i32.store (i32.const 104) (i32.const 5))
        (if (call $fd_write (i32.const 2) (i32.const 100) (i32.const 1) (i32.const 200))
          (then unreachable))))"#;
    let mut ctx = WasiCtx::new();
    let err = ctx.capture_stderr();
    let (r, out, ctx) = run(wat, ctx);
    assert_eq!(r.unwrap(), 0);
    assert_eq!(out, b"hello, world\n");
    assert_eq!(&*err.lock().unwrap(), b"oops\n");
    assert_eq!(ctx.exit_code(), None);
}

#[test]
fn proc_exit_codes_and_traps() {
    let exit = |code: i32| {
        format!(
            r#"(module
              (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
              (memory (export "memory") 1)
              (func (export "_start") (call $exit (i32.const {code})) unreachable))"#
        )
    };
    for code in [0, 1, 42, 255] {
        let (r, _, ctx) = run(&exit(code), WasiCtx::new());
        assert_eq!(r.unwrap(), code);
        assert_eq!(ctx.exit_code(), Some(code));
    }
    // A trap is an error, not an exit code.
    let (r, _, _) = run(
        r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
        WasiCtx::new(),
    );
    match r {
        Err(RunError::Trap(t)) => assert_eq!(t.kind, TrapKind::Unreachable),
        other => panic!("expected a trap, got {other:?}"),
    }
    // No `_start`: not a command.
    let (r, _, _) = run(r#"(module (memory (export "memory") 1))"#, WasiCtx::new());
    assert_eq!(r.unwrap_err(), RunError::NoStart);
    // proc_exit deep inside nested calls.
    let (r, _, _) = run(
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func $f (param i32) (if (i32.eqz (local.get 0)) (then (call $exit (i32.const 7))))
            (call $f (i32.sub (local.get 0) (i32.const 1))))
          (func (export "_start") (call $f (i32.const 1000))))"#,
        WasiCtx::new(),
    );
    assert_eq!(r.unwrap(), 7);
}

#[test]
fn args_are_passed() {
    // Writes the argv buffer to stdout, checks argv[1] points 5 bytes in, exits with argc.
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (if (call $sizes (i32.const 0) (i32.const 4)) (then unreachable))
        (if (call $get (i32.const 64) (i32.const 1024)) (then unreachable))
        (if (i32.ne (i32.load (i32.const 64)) (i32.const 1024)) (then unreachable))
        (if (i32.ne (i32.load (i32.const 68)) (i32.const 1029)) (then unreachable))
        (i32.store (i32.const 16) (i32.const 1024))
        (i32.store (i32.const 20) (i32.load (i32.const 4)))
        (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
        (call $exit (i32.load (i32.const 0)))))"#;
    let mut ctx = WasiCtx::new();
    ctx.args(["prog", "one", "two words"]);
    let (r, out, _) = run(wat, ctx);
    assert_eq!(r.unwrap(), 3);
    assert_eq!(out, b"prog\0one\0two words\0");
    // No arguments at all.
    let (r, out, _) = run(
        wat.replace(
            "(i32.ne (i32.load (i32.const 64)) (i32.const 1024))",
            "(i32.const 0)",
        )
        .replace(
            "(i32.ne (i32.load (i32.const 68)) (i32.const 1029))",
            "(i32.const 0)",
        )
        .as_str(),
        WasiCtx::new(),
    );
    assert_eq!(r.unwrap(), 0);
    assert_eq!(out, b"");
}

#[test]
fn environment_is_passed() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (if (call $sizes (i32.const 0) (i32.const 4)) (then unreachable))
        (if (call $get (i32.const 64) (i32.const 1024)) (then unreachable))
        (if (i32.ne (i32.load (i32.const 68)) (i32.const 1028)) (then unreachable))
        (i32.store (i32.const 16) (i32.const 1024))
        (i32.store (i32.const 20) (i32.load (i32.const 4)))
        (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
        (call $exit (i32.load (i32.const 0)))))"#;
    let mut ctx = WasiCtx::new();
    ctx.env("A", "1").env("PATH", "/x:/y");
    let (r, out, _) = run(wat, ctx);
    assert_eq!(r.unwrap(), 2);
    assert_eq!(out, b"A=1\0PATH=/x:/y\0");
}

#[test]
fn clocks() {
    let (mut s, i, _) = instance(WRAPPERS, WasiCtx::new());
    // Realtime is close to the host's.
    assert_eq!(
        call_i32(&mut s, i, "clock_time_get", &[Val::I32(0), Val::I32(8)]),
        0
    );
    let host = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let guest = u64_at(&s, i, 8);
    assert!(
        host.abs_diff(guest) < 60_000_000_000,
        "realtime {guest} vs host {host}"
    );
    // Monotonic does not go back.
    assert_eq!(
        call_i32(&mut s, i, "clock_time_get", &[Val::I32(1), Val::I32(8)]),
        0
    );
    let a = u64_at(&s, i, 8);
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert_eq!(
        call_i32(&mut s, i, "clock_time_get", &[Val::I32(1), Val::I32(8)]),
        0
    );
    let b = u64_at(&s, i, 8);
    assert!(b >= a + 1_000_000, "monotonic {a} -> {b}");
    // CPU-time clocks work; unknown clocks are EINVAL; bad pointers EFAULT.
    for id in [2, 3] {
        assert_eq!(
            call_i32(&mut s, i, "clock_time_get", &[Val::I32(id), Val::I32(8)]),
            0
        );
    }
    assert_eq!(
        call_i32(&mut s, i, "clock_time_get", &[Val::I32(9), Val::I32(8)]),
        errno::INVAL
    );
    assert_eq!(
        call_i32(&mut s, i, "clock_time_get", &[Val::I32(0), Val::I32(65530)]),
        errno::FAULT
    );
    assert_eq!(
        call_i32(&mut s, i, "clock_time_get", &[Val::I32(0), Val::I32(-1)]),
        errno::FAULT
    );
    // Resolution.
    assert_eq!(
        call_i32(&mut s, i, "clock_res_get", &[Val::I32(1), Val::I32(16)]),
        0
    );
    let res = u64_at(&s, i, 16);
    assert!((1..=1_000_000_000).contains(&res), "resolution {res}");
    assert_eq!(
        call_i32(&mut s, i, "clock_res_get", &[Val::I32(7), Val::I32(16)]),
        errno::INVAL
    );
}

#[test]
fn random_bytes() {
    let (mut s, i, _) = instance(WRAPPERS, WasiCtx::new());
    assert_eq!(
        call_i32(&mut s, i, "random_get", &[Val::I32(0), Val::I32(64)]),
        0
    );
    assert_eq!(
        call_i32(&mut s, i, "random_get", &[Val::I32(64), Val::I32(64)]),
        0
    );
    let a = mem_read(&s, i, 0, 64);
    let b = mem_read(&s, i, 64, 64);
    assert_ne!(a, b);
    assert!(a.iter().any(|&x| x != 0));
    // Nothing past the requested bytes changes.
    assert!(mem_read(&s, i, 128, 64).iter().all(|&x| x == 0));
    assert_eq!(
        call_i32(&mut s, i, "random_get", &[Val::I32(0), Val::I32(0)]),
        0
    );
    assert_eq!(
        call_i32(&mut s, i, "random_get", &[Val::I32(65530), Val::I32(10)]),
        errno::FAULT
    );
    assert_eq!(
        call_i32(&mut s, i, "random_get", &[Val::I32(-4), Val::I32(8)]),
        errno::FAULT
    );
    // The whole memory at once.
    assert_eq!(
        call_i32(&mut s, i, "random_get", &[Val::I32(0), Val::I32(65536)]),
        0
    );
}

#[test]
fn stdin_is_read_from_a_buffer() {
    // Echoes stdin to stdout with scattered reads into a 3- and a 5-byte buffer.
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (local $n i32)
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 3))
        (i32.store (i32.const 8) (i32.const 103)) (i32.store (i32.const 12) (i32.const 5))
        (block $done (loop $l
          (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 32)) (then unreachable))
          (local.set $n (i32.load (i32.const 32)))
          (br_if $done (i32.eqz (local.get $n)))
          (if (i32.gt_u (local.get $n) (i32.const 8)) (then unreachable))
          (i32.store (i32.const 40) (i32.const 100)) (i32.store (i32.const 44) (local.get $n))
          (if (call $fd_write (i32.const 1) (i32.const 40) (i32.const 1) (i32.const 48)) (then unreachable))
          (br $l)))))"#;
    let input = b"line one\nline two\nand the rest without newline";
    let mut ctx = WasiCtx::new();
    ctx.stdin_bytes(input.to_vec());
    let (r, out, _) = run(wat, ctx);
    assert_eq!(r.unwrap(), 0);
    assert_eq!(out, input);
    // Default stdin is empty.
    let (r, out, _) = run(wat, WasiCtx::new());
    assert_eq!(r.unwrap(), 0);
    assert_eq!(out, b"");
}

#[test]
fn bad_pointers_give_efault_and_never_crash() {
    let mut ctx = WasiCtx::new();
    let out = ctx.capture_stdout();
    ctx.args(["a", "b"])
        .env("K", "V")
        .stdin_bytes(b"xyz".to_vec());
    let (mut s, i, _) = instance(WRAPPERS, ctx);
    let w = |s: &mut Store, fd: i32, iovs: i32, n: i32, nw: i32| {
        call_i32(
            s,
            i,
            "fd_write",
            &[Val::I32(fd), Val::I32(iovs), Val::I32(n), Val::I32(nw)],
        )
    };
    mem_write(&mut s, i, 0, b"data");
    // A good iovec at 16 (0, 4) and a bad one at 24 (65534, 4).
    mem_write(&mut s, i, 16, &[0, 0, 0, 0, 4, 0, 0, 0]);
    mem_write(&mut s, i, 24, &[0xfe, 0xff, 0, 0, 4, 0, 0, 0]);
    assert_eq!(
        w(&mut s, 1, 65532, 1, 64),
        errno::FAULT,
        "iovec array past the end"
    );
    assert_eq!(
        w(&mut s, 1, -8, 1, 64),
        errno::FAULT,
        "iovec array at a huge address"
    );
    assert_eq!(
        w(&mut s, 1, 16, 0x2000_0000, 64),
        errno::FAULT,
        "huge iovec count"
    );
    assert_eq!(w(&mut s, 1, 16, 2, 64), errno::FAULT, "buffer past the end");
    assert_eq!(
        w(&mut s, 1, 16, 1, 65534),
        errno::FAULT,
        "nwritten past the end"
    );
    assert!(
        out.lock().unwrap().is_empty(),
        "nothing is written on EFAULT"
    );
    assert_eq!(w(&mut s, 1, 16, 1, 64), 0);
    assert_eq!(u32_at(&s, i, 64), 4);
    assert_eq!(&*out.lock().unwrap(), b"data");
    // fd_read
    let r = |s: &mut Store, iovs: i32, n: i32, nr: i32| {
        call_i32(
            s,
            i,
            "fd_read",
            &[Val::I32(0), Val::I32(iovs), Val::I32(n), Val::I32(nr)],
        )
    };
    assert_eq!(r(&mut s, 24, 1, 64), errno::FAULT);
    assert_eq!(r(&mut s, 16, 1, -1), errno::FAULT);
    assert_eq!(r(&mut s, 16, 1, 64), 0);
    assert_eq!(u32_at(&s, i, 64), 3);
    assert_eq!(mem_read(&s, i, 0, 4), b"xyza");
    // args / environ / sizes
    let c2 =
        |s: &mut Store, f: &str, a: i32, b: i32| call_i32(s, i, f, &[Val::I32(a), Val::I32(b)]);
    assert_eq!(c2(&mut s, "args_get", 65535, 0), errno::FAULT);
    assert_eq!(c2(&mut s, "args_get", 0, 65533), errno::FAULT);
    assert_eq!(c2(&mut s, "environ_get", 0, -2), errno::FAULT);
    assert_eq!(c2(&mut s, "args_sizes_get", 0, 65534), errno::FAULT);
    assert_eq!(c2(&mut s, "fd_fdstat_get", 1, 65530), errno::FAULT);
    assert_eq!(c2(&mut s, "fd_filestat_get", 1, 65530), errno::FAULT);
    // poll_oneoff with arrays past the end.
    let p = |s: &mut Store, a: i32, b: i32, n: i32, c: i32| {
        call_i32(
            s,
            i,
            "poll_oneoff",
            &[Val::I32(a), Val::I32(b), Val::I32(n), Val::I32(c)],
        )
    };
    assert_eq!(p(&mut s, 65500, 0, 1, 200), errno::FAULT);
    assert_eq!(p(&mut s, 0, 65520, 1, 200), errno::FAULT);
    assert_eq!(p(&mut s, 0, 100, 0x4000_0000, 200), errno::FAULT);
    // The module still works afterwards.
    assert_eq!(c2(&mut s, "args_sizes_get", 0, 4), 0);
    assert_eq!((u32_at(&s, i, 0), u32_at(&s, i, 4)), (2, 4));
}

#[test]
fn calls_use_the_calling_instances_memory_and_without_one_every_pointer_is_efault() {
    // No `set_memory`: the calling instance's exported memory is found by itself.
    let ctx = Arc::new(WasiCtx::new());
    let m = compile(WRAPPERS);
    let mut store = Store::new();
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
    let i = linker.instantiate(&mut store, &m).unwrap();
    mem_write(&mut store, i, 0, &[0; 8]);
    assert_eq!(
        call_i32(&mut store, i, "random_get", &[Val::I32(0), Val::I32(8)]),
        0
    );
    assert_ne!(
        mem_read(&store, i, 0, 8),
        [0; 8],
        "random bytes landed in its memory"
    );
    // A module that exports no memory: every pointer is EFAULT.
    let hidden = WRAPPERS.replace(r#"(memory (export "memory") 1)"#, "(memory 1)");
    let m = compile(&hidden);
    let mut store = Store::new();
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
    let i = linker.instantiate(&mut store, &m).unwrap();
    let f = store.get_func(i, "random_get").unwrap();
    assert_eq!(
        store.call(f, &[Val::I32(0), Val::I32(4)]).unwrap(),
        vec![Val::I32(errno::FAULT)]
    );
    // A memory of another store is not used either.
    let (other, oi, _) = instance(WRAPPERS, WasiCtx::new());
    ctx.set_memory(&other, other.get_memory(oi, "memory").unwrap());
    assert_eq!(
        store.call(f, &[Val::I32(0), Val::I32(4)]).unwrap(),
        vec![Val::I32(errno::FAULT)]
    );
}

#[test]
fn stdio_descriptors_and_no_preopens() {
    let (mut s, i, _) = instance(WRAPPERS, WasiCtx::new());
    let c = |s: &mut Store, f: &str, args: &[i32]| {
        let v: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
        call_i32(s, i, f, &v)
    };
    for fd in 0..3 {
        assert_eq!(c(&mut s, "fd_fdstat_get", &[fd, 64]), 0);
        assert_eq!(mem_read(&s, i, 64, 1), [2], "stdio is a character device");
        assert_eq!(c(&mut s, "fd_filestat_get", &[fd, 128]), 0);
        assert_eq!(mem_read(&s, i, 144, 1), [2]);
        let seek = |s: &mut Store, fd: i32| {
            call_i32(
                s,
                i,
                "fd_seek",
                &[Val::I32(fd), Val::I64(0), Val::I32(1), Val::I32(0)],
            )
        };
        assert_eq!(seek(&mut s, fd), errno::SPIPE);
        assert_eq!(c(&mut s, "path_open", &[fd, 1]), errno::NOTCAPABLE);
        assert_eq!(c(&mut s, "fd_advise", &[fd]), errno::NOTCAPABLE);
    }
    for fd in [3, 4, 100, -1] {
        assert_eq!(c(&mut s, "fd_prestat_get", &[fd, 0]), errno::BADF);
        assert_eq!(c(&mut s, "fd_prestat_dir_name", &[fd, 0, 10]), errno::BADF);
        assert_eq!(c(&mut s, "fd_fdstat_get", &[fd, 0]), errno::BADF);
        assert_eq!(c(&mut s, "path_open", &[fd, 1]), errno::BADF);
        assert_eq!(c(&mut s, "fd_close", &[fd]), errno::BADF);
        assert_eq!(c(&mut s, "fd_advise", &[fd]), errno::BADF);
        assert_eq!(
            call_i32(
                &mut s,
                i,
                "fd_seek",
                &[Val::I32(fd), Val::I64(0), Val::I32(0), Val::I32(0)]
            ),
            errno::BADF
        );
    }
    // stdout is not readable, stdin not writable.
    mem_write(&mut s, i, 16, &[0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(c(&mut s, "fd_read", &[1, 16, 1, 64]), errno::BADF);
    assert_eq!(c(&mut s, "fd_write", &[0, 16, 1, 64]), errno::BADF);
    assert_eq!(c(&mut s, "sched_yield", &[]), 0);
    // Closing stdout makes it unusable.
    assert_eq!(c(&mut s, "fd_close", &[1]), 0);
    assert_eq!(c(&mut s, "fd_write", &[1, 16, 1, 64]), errno::BADF);
    assert_eq!(c(&mut s, "fd_close", &[1]), errno::BADF);
}

#[test]
fn poll_oneoff_sleeps_on_clocks() {
    let (mut s, i, _) = instance(WRAPPERS, WasiCtx::new());
    // Two relative monotonic clock subscriptions: 3 ms (userdata 7) and 1 s (userdata 8).
    let sub = |userdata: u64, timeout: u64| {
        let mut b = [0u8; 48];
        b[0..8].copy_from_slice(&userdata.to_le_bytes());
        b[8] = 0; // clock
        b[16..20].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&timeout.to_le_bytes());
        b
    };
    mem_write(&mut s, i, 0, &sub(7, 3_000_000));
    mem_write(&mut s, i, 48, &sub(8, 1_000_000_000));
    let t = std::time::Instant::now();
    let r = call_i32(
        &mut s,
        i,
        "poll_oneoff",
        &[Val::I32(0), Val::I32(1024), Val::I32(2), Val::I32(2048)],
    );
    let took = t.elapsed();
    assert_eq!(r, 0);
    assert!(
        took >= std::time::Duration::from_millis(3),
        "slept {took:?}"
    );
    assert!(
        took < std::time::Duration::from_millis(900),
        "slept {took:?}"
    );
    assert_eq!(u32_at(&s, i, 2048), 1);
    assert_eq!(u64_at(&s, i, 1024), 7);
    assert_eq!(
        mem_read(&s, i, 1032, 4),
        [0, 0, 0, 0],
        "no error, clock event"
    );
    // An absolute deadline in the past returns at once; an fd subscription on stdout is
    // ready immediately.
    let mut abs = sub(9, 1);
    abs[40] = 1;
    mem_write(&mut s, i, 0, &abs);
    let mut fd = [0u8; 48];
    fd[0] = 10;
    fd[8] = 2; // fd_write
    fd[16] = 1; // stdout
    mem_write(&mut s, i, 48, &fd);
    let r = call_i32(
        &mut s,
        i,
        "poll_oneoff",
        &[Val::I32(0), Val::I32(1024), Val::I32(1), Val::I32(2048)],
    );
    assert_eq!((r, u32_at(&s, i, 2048), u64_at(&s, i, 1024)), (0, 1, 9));
    let r = call_i32(
        &mut s,
        i,
        "poll_oneoff",
        &[Val::I32(48), Val::I32(1024), Val::I32(1), Val::I32(2048)],
    );
    assert_eq!((r, u32_at(&s, i, 2048), u64_at(&s, i, 1024)), (0, 1, 10));
    assert_eq!(mem_read(&s, i, 1034, 1), [2]);
    // No subscriptions: EINVAL.
    let r = call_i32(
        &mut s,
        i,
        "poll_oneoff",
        &[Val::I32(0), Val::I32(1024), Val::I32(0), Val::I32(2048)],
    );
    assert_eq!(r, errno::INVAL);
}

/// The preview1 functions with their core wasm signatures, written out from the witx
/// definition (wasi_snapshot_preview1.witx) independently of the runtime's table.
const PREVIEW1: &[(&str, &str, &str)] = &[
    ("args_get", "i32 i32", "i32"),
    ("args_sizes_get", "i32 i32", "i32"),
    ("environ_get", "i32 i32", "i32"),
    ("environ_sizes_get", "i32 i32", "i32"),
    ("clock_res_get", "i32 i32", "i32"),
    ("clock_time_get", "i32 i64 i32", "i32"),
    ("fd_advise", "i32 i64 i64 i32", "i32"),
    ("fd_allocate", "i32 i64 i64", "i32"),
    ("fd_close", "i32", "i32"),
    ("fd_datasync", "i32", "i32"),
    ("fd_fdstat_get", "i32 i32", "i32"),
    ("fd_fdstat_set_flags", "i32 i32", "i32"),
    ("fd_fdstat_set_rights", "i32 i64 i64", "i32"),
    ("fd_filestat_get", "i32 i32", "i32"),
    ("fd_filestat_set_size", "i32 i64", "i32"),
    ("fd_filestat_set_times", "i32 i64 i64 i32", "i32"),
    ("fd_pread", "i32 i32 i32 i64 i32", "i32"),
    ("fd_prestat_get", "i32 i32", "i32"),
    ("fd_prestat_dir_name", "i32 i32 i32", "i32"),
    ("fd_pwrite", "i32 i32 i32 i64 i32", "i32"),
    ("fd_read", "i32 i32 i32 i32", "i32"),
    ("fd_readdir", "i32 i32 i32 i64 i32", "i32"),
    ("fd_renumber", "i32 i32", "i32"),
    ("fd_seek", "i32 i64 i32 i32", "i32"),
    ("fd_sync", "i32", "i32"),
    ("fd_tell", "i32 i32", "i32"),
    ("fd_write", "i32 i32 i32 i32", "i32"),
    ("path_create_directory", "i32 i32 i32", "i32"),
    ("path_filestat_get", "i32 i32 i32 i32 i32", "i32"),
    (
        "path_filestat_set_times",
        "i32 i32 i32 i32 i64 i64 i32",
        "i32",
    ),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32", "i32"),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", "i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_remove_directory", "i32 i32 i32", "i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_symlink", "i32 i32 i32 i32 i32", "i32"),
    ("path_unlink_file", "i32 i32 i32", "i32"),
    ("poll_oneoff", "i32 i32 i32 i32", "i32"),
    ("proc_exit", "i32", ""),
    ("proc_raise", "i32", "i32"),
    ("sched_yield", "", "i32"),
    ("random_get", "i32 i32", "i32"),
    ("sock_accept", "i32 i32 i32", "i32"),
    ("sock_recv", "i32 i32 i32 i32 i32 i32", "i32"),
    ("sock_send", "i32 i32 i32 i32 i32", "i32"),
    ("sock_shutdown", "i32 i32", "i32"),
];

#[test]
fn every_preview1_function_links_with_its_signature() {
    assert_eq!(wasi::functions().len(), PREVIEW1.len());
    let mut wat = String::from("(module\n");
    for (name, params, results) in PREVIEW1 {
        wat.push_str(&format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func (param {params}) (result {results})))\n"
        ));
    }
    // A name outside preview1 is stubbed by run_command: ENOSYS, or a trap without a result.
    wat.push_str(
        r#"(import "wasi_snapshot_preview1" "not_in_preview1" (func $unknown (param i64) (result i32)))
        (import "wasi_snapshot_preview1" "also_unknown" (func $unknown2))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (global $mode (export "mode") (mut i32) (i32.const 0))
        (func (export "_start")
          (call $exit (call $unknown (i64.const 5)))))"#,
    );
    let (r, _, _) = run(&wat, WasiCtx::new());
    assert_eq!(r.unwrap(), errno::NOSYS);
    let wat2 = wat.replace(
        "(call $exit (call $unknown (i64.const 5)))",
        "(call $unknown2)",
    );
    let (r, _, _) = run(&wat2, WasiCtx::new());
    match r {
        Err(RunError::Trap(t)) => {
            assert!(t.to_string().contains("also_unknown"), "{t}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    // Each listed signature is the one the runtime defines.
    for ((name, ty), (n2, params, results)) in wasi::functions().iter().zip(PREVIEW1) {
        assert_eq!(name, n2);
        let p: Vec<String> = ty.params.iter().map(|t| t.to_string()).collect();
        let r: Vec<String> = ty.results.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            (p.join(" "), r.join(" ")),
            (params.to_string(), results.to_string()),
            "{name}"
        );
    }
}

#[test]
fn a_start_function_can_call_wasi_before_instantiation_returns() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "from start\n")
      (func $init
        (i32.store (i32.const 100) (i32.const 16)) (i32.store (i32.const 104) (i32.const 11))
        (if (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 200))
          (then unreachable)))
      (start $init)
      (func (export "_start")))"#;
    let (r, out, _) = run(wat, WasiCtx::new());
    assert_eq!(r.unwrap(), 0);
    assert_eq!(out, b"from start\n");
}

#[test]
fn host_functions_see_the_instance_that_called_them() {
    use std::sync::Mutex;
    use wasmprecomp_runtime::{Extern, FuncType};
    let wat = r#"(module
      (import "host" "who" (func $who))
      (func (export "call") call $who))"#;
    let m = compile(wat);
    let mut store = Store::new();
    let seen: Arc<Mutex<Vec<Option<Instance>>>> = Arc::default();
    let s = seen.clone();
    let ty = FuncType {
        params: vec![],
        results: vec![],
    };
    let who = store.new_func(
        ty,
        Arc::new(move |caller, _| {
            s.lock().unwrap().push(caller.instance());
            Ok(vec![])
        }),
    );
    let mut linker = Linker::new();
    linker.define("host", "who", Extern::Func(who));
    let a = linker.instantiate(&mut store, &m).unwrap();
    let b = linker.instantiate(&mut store, &m).unwrap();
    for i in [b, a, b] {
        let f = store.get_func(i, "call").unwrap();
        store.call(f, &[]).unwrap();
    }
    // Called by the host itself: no calling instance.
    store.call(who, &[]).unwrap();
    assert_eq!(*seen.lock().unwrap(), [Some(b), Some(a), Some(b), None]);
}

//! `cargo wasmprecomp run` with directories, environment and stdin for the guest.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Prints `in.txt` of the directory at descriptor 3 and exits with: 99 when it cannot
/// open it; else 100 if creating `out.txt` there fails, plus the number of environment
/// variables, plus 50 when it reads a byte of stdin.
const PROGRAM: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "in.txt")
  (data (i32.const 8) "out.txt")
  (func (export "_start") (local $code i32)
    (if (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 6) (i32.const 0)
          (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))
      (then (call $exit (i32.const 99))))
    (i32.store (i32.const 200) (i32.const 300)) (i32.store (i32.const 204) (i32.const 64))
    (drop (call $read (i32.load (i32.const 100)) (i32.const 200) (i32.const 1) (i32.const 208)))
    (i32.store (i32.const 204) (i32.load (i32.const 208)))
    (drop (call $write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 212)))
    (if (call $open (i32.const 3) (i32.const 0) (i32.const 8) (i32.const 7) (i32.const 1)
          (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 104))
      (then (local.set $code (i32.const 100))))
    (drop (call $env (i32.const 220) (i32.const 224)))
    (local.set $code (i32.add (local.get $code) (i32.load (i32.const 220))))
    (i32.store (i32.const 204) (i32.const 1))
    (drop (call $read (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 208)))
    (if (i32.load (i32.const 208))
      (then (local.set $code (i32.add (local.get $code) (i32.const 50)))))
    (call $exit (local.get $code))))"#;

struct Setup {
    _tmp: tempfile::TempDir,
    wasm: PathBuf,
    data: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = tmp.path().join("prog.wasm");
    std::fs::write(&wasm, wat::parse_str(PROGRAM).unwrap()).unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("in.txt"), "hello").unwrap();
    Setup {
        _tmp: tmp,
        wasm,
        data,
    }
}

/// Runs `run --no-cache ARGS... WASM` with an empty environment and `stdin` piped in.
fn run(s: &Setup, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-wasmprecomp"));
    c.args(["wasmprecomp", "run", "--no-cache"])
        .args(args)
        .arg(&s.wasm)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run cargo-wasmprecomp");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let o = child.wait_with_output().unwrap();
    eprintln!("{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    o
}

fn dir_arg(p: &Path, guest: &str) -> String {
    format!("{}::{guest}", p.display())
}

#[test]
fn a_directory_given_with_dir_is_readable_and_writable() {
    let s = setup();
    let o = run(&s, &["--dir", &dir_arg(&s.data, "/data")], &[], b"");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, b"hello");
    assert!(s.data.join("out.txt").exists());
}

#[test]
fn a_directory_given_with_dir_ro_is_only_readable() {
    let s = setup();
    let o = run(&s, &["--dir-ro", &dir_arg(&s.data, "data")], &[], b"");
    assert_eq!(o.status.code(), Some(100), "creating out.txt fails");
    assert_eq!(o.stdout, b"hello");
    assert!(!s.data.join("out.txt").exists());
}

#[test]
fn without_dir_the_program_sees_no_directory() {
    let s = setup();
    assert_eq!(run(&s, &[], &[], b"").status.code(), Some(99));
}

#[test]
fn env_sets_variables_and_env_inherit_passes_ours_on() {
    let s = setup();
    let d = s.data.display().to_string();
    let ours = [("X", "1"), ("Y", "2"), ("Z", "3")];
    let o = run(
        &s,
        &["--dir", &d, "--env", "A=1", "--env", "B="],
        &ours,
        b"",
    );
    assert_eq!(o.status.code(), Some(2), "only the two --env variables");
    let o = run(
        &s,
        &["--dir", &d, "--env-inherit", "--env", "A=1"],
        &ours,
        b"",
    );
    assert_eq!(o.status.code(), Some(4), "three inherited and one set");
    let o = run(&s, &["--dir", &d, "--env", "novalue"], &[], b"");
    assert_eq!(
        o.status.code(),
        Some(2),
        "a malformed --env is a usage error"
    );
}

#[test]
fn stdin_reaches_the_program_only_with_inherit_stdin() {
    let s = setup();
    let d = s.data.display().to_string();
    assert_eq!(run(&s, &["--dir", &d], &[], b"x").status.code(), Some(0));
    let o = run(&s, &["--dir", &d, "--inherit-stdin"], &[], b"x");
    assert_eq!(o.status.code(), Some(50));
}

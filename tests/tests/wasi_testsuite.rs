//! The official WASI preview1 test suite (`wasi-testsuite`, its Rust tests for
//! `wasm32-wasip1`), run through the compiler and the runtime's WASI.
//!
//! The suite's sources sit outside the repository, in `../shared/wasi-testsuite` next to
//! the checkout (or `WASI_TESTSUITE_DIR`). The test builds them with the suite's
//! `build.sh` into `target/wasi-testsuite/`, then runs every `<test>.wasm` exactly as its
//! `<test>.json` says: the `root` folder, a fresh copy of it per test, preopened as `/`;
//! `args` after `argv[0]` (the file name); `env` and nothing else; the expected
//! `exit_code` (0 by default), and `stdout`/`stderr` as prefixes when given. A trap is a
//! failure, as the suite's own runner counts it. Each test has 5 seconds.
//!
//! Known failures are listed in `tests/wasi-testsuite-expected-failures.txt` (`name:
//! reason`); the test fails on an unlisted failure and on a listed test that passes. It
//! prints one line per test and `wasi-testsuite: N passed, M failed`. Without the suite's
//! sources it says so and passes, except under `CI=true`, where nothing is skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::time::Duration;
use wasmprecomp_codegen::{compile_wasm, Isa, OptLevel};
use wasmprecomp_runtime::wasi::{self, DirAccess, RunError, WasiCtx};
use wasmprecomp_runtime::{Linker, Module, Store};

const TIMEOUT: Duration = Duration::from_secs(5);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

fn suite_dir() -> PathBuf {
    match std::env::var_os("WASI_TESTSUITE_DIR") {
        Some(d) => PathBuf::from(d),
        None => workspace().join("../shared/wasi-testsuite"),
    }
}

/// What a test's JSON spec asks for.
#[derive(Debug, Default)]
struct Spec {
    root: Option<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

fn read_spec(json: &Path) -> Result<Spec, String> {
    if !json.exists() {
        return Ok(Spec::default());
    }
    let text = std::fs::read_to_string(json).map_err(|e| format!("{}: {e}", json.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{}: not an object", json.display()))?;
    let mut spec = Spec::default();
    for (k, v) in obj {
        let bad = || format!("{}: bad `{k}`", json.display());
        match k.as_str() {
            "root" => spec.root = Some(v.as_str().ok_or_else(bad)?.to_string()),
            "args" => {
                for a in v.as_array().ok_or_else(bad)? {
                    spec.args.push(a.as_str().ok_or_else(bad)?.to_string());
                }
            }
            "env" => {
                for (ek, ev) in v.as_object().ok_or_else(bad)? {
                    spec.env
                        .push((ek.clone(), ev.as_str().ok_or_else(bad)?.to_string()));
                }
            }
            "exit_code" => {
                spec.exit_code = v
                    .as_i64()
                    .and_then(|c| i32::try_from(c).ok())
                    .ok_or_else(bad)?
            }
            "stdout" => spec.stdout = Some(v.as_str().ok_or_else(bad)?.to_string()),
            "stderr" => spec.stderr = Some(v.as_str().ok_or_else(bad)?.to_string()),
            // Anything else would change what the test means: refuse to guess.
            _ => return Err(format!("{}: unknown key `{k}`", json.display())),
        }
    }
    Ok(spec)
}

/// Copies `from` to `to` recursively, symlinks as symlinks (as `cp -RP`).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let ty = e.file_type()?;
        let dst = to.join(e.file_name());
        if ty.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, &dst)?;
        } else {
            std::fs::copy(e.path(), &dst)?;
        }
    }
    Ok(())
}

/// Runs one test; `Err` says how it failed.
fn run_test(name: &str, wasm: &Path, spec: &Spec, scratch: &Path) -> Result<(), String> {
    let bytes = std::fs::read(wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    let isa = Isa::new(None, OptLevel::Speed).map_err(|e| e.to_string())?;
    let art = compile_wasm(&bytes, &isa).map_err(|e| format!("compile: {e}"))?;
    // SAFETY: `art` is the artifact the compiler wrote just above, unmodified.
    let module = unsafe { Module::from_bytes(&art) }.map_err(|e| format!("load: {e}"))?;
    let mut ctx = WasiCtx::new();
    ctx.args(std::iter::once(format!("{name}.wasm")).chain(spec.args.iter().cloned()));
    for (k, v) in &spec.env {
        ctx.env(k, v);
    }
    if let Some(root) = &spec.root {
        let src = wasm.with_file_name(root);
        let dst = scratch.join(root);
        copy_tree(&src, &dst).map_err(|e| format!("copying {}: {e}", src.display()))?;
        ctx.preopen_dir(&dst, "/", DirAccess::ReadWrite)
            .map_err(|e| format!("preopening {}: {e}", dst.display()))?;
    }
    let stdout = ctx.capture_stdout();
    let stderr = ctx.capture_stderr();
    let ctx = std::sync::Arc::new(ctx);
    let (tx, rx) = mpsc::channel();
    let c = ctx.clone();
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(16 << 20)
        .spawn(move || {
            let mut store = Store::new();
            store.set_max_wasm_stack(8 << 20);
            let mut linker = Linker::new();
            wasi::add_to_linker(&mut linker, &mut store, c.clone());
            let r: Result<i32, RunError> = wasi::run_command(&mut store, &linker, &module, &c);
            let _ = tx.send(r.map_err(|e| e.to_string()));
        })
        .map_err(|e| format!("spawning: {e}"))?;
    let text = |b: &std::sync::Mutex<Vec<u8>>| {
        String::from_utf8_lossy(&b.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    };
    let code = match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(code)) => code,
        Ok(Err(trap)) => {
            return Err(format!("trapped: {trap}; stderr: {}", text(&stderr).trim()));
        }
        Err(_) => return Err(format!("did not finish within {TIMEOUT:?}")),
    };
    if code != spec.exit_code {
        return Err(format!(
            "exit code {code}, expected {}; stderr: {}",
            spec.exit_code,
            text(&stderr).trim()
        ));
    }
    for (what, want, got) in [
        ("stdout", &spec.stdout, text(&stdout)),
        ("stderr", &spec.stderr, text(&stderr)),
    ] {
        if let Some(want) = want {
            if !got.starts_with(want.as_str()) {
                return Err(format!("{what} {got:?} does not start with {want:?}"));
            }
        }
    }
    Ok(())
}

/// `name: reason` lines of the expected-failure list.
fn expected_failures() -> BTreeMap<String, String> {
    let path = workspace().join("tests/wasi-testsuite-expected-failures.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(':') {
            Some((n, r)) => (n.trim().to_string(), r.trim().to_string()),
            None => panic!("{}: `{l}` has no reason", path.display()),
        })
        .collect()
}

fn main() -> ExitCode {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let suite = suite_dir();
    if !suite.join("build.sh").is_file() {
        println!("wasi-testsuite: no suite at {}", suite.display());
        if ci {
            println!("wasi-testsuite: CI=true, so a missing suite is a failure");
            return ExitCode::FAILURE;
        }
        println!("wasi-testsuite: skipped (set WASI_TESTSUITE_DIR to run it)");
        return ExitCode::SUCCESS;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let out = target.join("wasi-testsuite");
    let status = Command::new("bash")
        .arg(suite.join("build.sh"))
        .arg(&out)
        .env("CARGO_TARGET_DIR", target.join("wasi-testsuite-build"))
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            println!("wasi-testsuite: build.sh failed: {other:?}");
            return ExitCode::FAILURE;
        }
    }
    let mut tests: Vec<PathBuf> = match std::fs::read_dir(&out) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect(),
        Err(e) => {
            println!("wasi-testsuite: reading {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
    };
    tests.sort();
    let expected = expected_failures();
    let scratch_base = out.join("scratch");
    let _ = std::fs::remove_dir_all(&scratch_base);
    let (mut passed, mut failed) = (0, 0);
    let mut problems = Vec::new();
    for wasm in &tests {
        let name = wasm
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let scratch = scratch_base.join(&name);
        let r = read_spec(&wasm.with_extension("json"))
            .and_then(|spec| run_test(&name, wasm, &spec, &scratch));
        let listed = expected.get(&name);
        match (&r, listed) {
            (Ok(()), None) => println!("ok      {name}"),
            (Ok(()), Some(_)) => {
                println!("ok      {name} (listed as an expected failure)");
                problems.push(format!(
                    "{name} passes but is listed as an expected failure"
                ));
            }
            (Err(e), Some(reason)) => println!("xfail   {name}: {e} (expected: {reason})"),
            (Err(e), None) => {
                println!("FAIL    {name}: {e}");
                problems.push(format!("{name} fails: {e}"));
            }
        }
        match r {
            Ok(()) => passed += 1,
            Err(_) => failed += 1,
        }
    }
    for name in expected.keys() {
        if !tests
            .iter()
            .any(|t| t.file_stem().is_some_and(|s| s == name.as_str()))
        {
            problems.push(format!("{name} is listed but not in the suite"));
        }
    }
    println!("wasi-testsuite: {passed} passed, {failed} failed");
    if tests.is_empty() {
        problems.push("the suite built no test".into());
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            println!("problem: {p}");
        }
        ExitCode::FAILURE
    }
}

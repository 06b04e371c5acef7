//! The real binary on real files: bad input, reports, cache tiers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-wasmprecomp"));
    c.arg("wasmprecomp");
    c.env_remove("WASMPRECOMP_CACHE_DIR");
    c.env_remove("CARGO_TARGET_DIR");
    c
}

fn run(c: &mut Command) -> Output {
    let o = c.output().expect("run cargo-wasmprecomp");
    eprintln!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn write_wat(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, wat::parse_str(wat).expect("wat")).expect("write");
    p
}

const GOOD: &str = r#"(module
  (func $a (export "a") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $b (export "b") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func $c (export "c") (param i32) (result i32) local.get 0 call $a call $b))"#;

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("report")).expect("json")
}

#[test]
fn bad_inputs_are_reported_per_module_and_the_good_one_still_compiles() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    let notwasm = d.path().join("notwasm.wasm");
    std::fs::write(&notwasm, b"this is not wasm").unwrap();
    let trunc = d.path().join("trunc.wasm");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&trunc, &bytes[..bytes.len() - 5]).unwrap();
    let tail = write_wat(
        d.path(),
        "tail.wasm",
        r#"(module (func (export "s") (result i32) return_call 0))"#,
    );
    let missing = d.path().join("missing.wasm");
    let out = d.path().join("out");
    let o = run(bin()
        .args([&good, &notwasm, &trunc, &tail, &missing])
        .arg("--out-dir")
        .arg(&out)
        .arg("--cache-dir")
        .arg(d.path().join("cache")));
    assert_eq!(o.status.code(), Some(1), "a failed module exits 1");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("notwasm.wasm") && stderr.contains("magic"),
        "{stderr}"
    );
    assert!(
        stderr.contains("trunc.wasm") && stderr.contains("byte offset"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tail.wasm") && stderr.contains("`tail-call`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("function 0"),
        "the failing function is named: {stderr}"
    );
    assert!(stderr.contains("missing.wasm"), "{stderr}");
    let r = report(&out.join("report.json"));
    let mods = r["modules"].as_array().unwrap();
    assert_eq!(mods.len(), 5);
    assert_eq!(mods[0]["status"], "ok");
    assert!(out.join("good.wpc").is_file());
    for m in &mods[1..] {
        assert_eq!(m["status"], "error");
        assert!(m["output"].is_null());
    }
    assert_eq!(mods[3]["error"]["proposal"], "tail-call");
    assert_eq!(mods[3]["error"]["function"], 0);
    assert!(mods[2]["error"]["offset"].as_u64().is_some());
    // Nothing half-written: only the good artifact and the report.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["good.wpc", "report.json"]);
}

#[test]
fn unknown_target_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    let o = run(bin()
        .arg(&good)
        .args(["--target", "riscv64gc-unknown-linux-gnu", "--no-cache"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("unsupported target `riscv64gc-unknown-linux-gnu`"));
}

#[test]
fn unwritable_output_folder_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    let file = d.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let o = run(bin()
        .arg(&good)
        .arg("--out-dir")
        .arg(file.join("sub"))
        .arg("--no-cache"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot create output folder"));
}

#[test]
fn a_report_that_cannot_be_written_is_an_io_failure_not_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    let file = d.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = d.path().join("out");
    let o = run(bin()
        .arg(&good)
        .arg("--out-dir")
        .arg(&out)
        .arg("--report")
        .arg(file.join("report.json"))
        .arg("--no-cache"));
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write report"));
    assert!(out.join("good.wpc").is_file(), "the module itself compiled");
}

#[test]
fn a_report_that_cannot_be_written_still_leaves_each_modules_error_first() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    let bad = d.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0\x01").unwrap();
    let file = d.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let o = run(bin()
        .arg(&good)
        .arg(&bad)
        .arg("--out-dir")
        .arg(d.path().join("out"))
        .arg("--report")
        .arg(file.join("report.json"))
        .arg("--no-cache"));
    assert_eq!(o.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let module_error = stderr
        .find("error: ")
        .and_then(|i| stderr[i..].find("bad.wasm").map(|j| i + j));
    let report_error = stderr.find("cannot write report");
    assert!(
        matches!((module_error, report_error), (Some(m), Some(r)) if m < r),
        "the module's error, then the report's: {stderr}"
    );
}

#[test]
fn a_warning_from_opening_the_cache_is_printed_once_by_build_and_run() {
    let d = tempfile::tempdir().unwrap();
    let wasm = write_wat(
        d.path(),
        "prog.wasm",
        r#"(module (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let cache = d.path().join("cache");
    let build = run(bin()
        .arg(&wasm)
        .arg("--out-dir")
        .arg(d.path().join("out"))
        .arg("--cache-dir")
        .arg(&cache)
        .env("WASMPRECOMP_CACHE_SIZE", "2X"));
    let run_it = run(bin()
        .arg("run")
        .arg(&wasm)
        .arg("--cache-dir")
        .arg(&cache)
        .env("WASMPRECOMP_CACHE_SIZE", "2X"));
    for o in [build, run_it] {
        assert_eq!(o.status.code(), Some(0));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            stderr.matches("WASMPRECOMP_CACHE_SIZE").count(),
            1,
            "{stderr}"
        );
    }
}

#[test]
fn a_bad_flag_value_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    for flags in [["--opt-level", "fast"], ["--cache-size", "lots"]] {
        let o = run(bin().arg(&good).args(flags).arg("--no-cache"));
        assert_eq!(o.status.code(), Some(2), "{flags:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(flags[1]),
            "the bad value is named"
        );
    }
}

#[test]
fn workspace_without_wasm_says_so() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("Cargo.toml"),
        "[package]\nname = \"nowasm\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::write(d.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    let o = run(bin()
        .arg("--manifest-path")
        .arg(d.path().join("Cargo.toml"))
        .arg("--no-cache"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no .wasm artifacts found"));
}

/// `good.wasm` compiled into `out/` through the cache in `cache/`, all in a temp folder.
struct Cached {
    dir: tempfile::TempDir,
    good: PathBuf,
    cache: PathBuf,
    out: PathBuf,
}

/// [`GOOD`] with a 300 KB data segment: large enough that a module hit hashes it as it
/// is read instead of holding it.
fn large_good() -> String {
    let data: String = (0..300 * 1024)
        .map(|i| format!("\\{:02x}", (i * 7 % 251) as u8))
        .collect();
    format!(
        r#"(module (memory 5) (data (i32.const 0) "{data}")
  (func $a (export "a") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $b (export "b") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func $c (export "c") (param i32) (result i32) local.get 0 call $a call $b))"#
    )
}

impl Cached {
    fn new() -> Cached {
        Cached::with(GOOD)
    }

    fn with(wat: &str) -> Cached {
        let dir = tempfile::tempdir().unwrap();
        let good = write_wat(dir.path(), "good.wasm", wat);
        let cache = dir.path().join("cache");
        let out = dir.path().join("out");
        Cached {
            dir,
            good,
            cache,
            out,
        }
    }

    /// The compile command, without the extra flags.
    fn base(&self) -> Command {
        let mut c = bin();
        c.arg(&self.good)
            .arg("--out-dir")
            .arg(&self.out)
            .arg("--cache-dir")
            .arg(&self.cache);
        c
    }

    /// The compile command with `WASMPRECOMP_CACHE_CHECK` set either way (CI sets it
    /// for the whole suite).
    fn cmd(&self, check: bool) -> Command {
        let mut c = self.base();
        c.env(
            "WASMPRECOMP_CACHE_CHECK",
            if check { "true" } else { "false" },
        );
        c
    }
}

#[test]
fn second_run_hits_the_module_tier_and_function_tier_hits_without_it() {
    let f = Cached::new();
    let out = &f.out;
    let mut c = f.base();
    assert_eq!(run(&mut c).status.code(), Some(0));
    let r1 = report(&out.join("report.json"));
    assert_eq!(r1["modules"][0]["module_cache"], "miss");
    assert_eq!(r1["modules"][0]["function_cache"]["compiled"], 3);
    let first = std::fs::read(out.join("good.wpc")).unwrap();

    let mut c = f.base();
    assert_eq!(run(&mut c).status.code(), Some(0));
    let r2 = report(&out.join("report.json"));
    assert_eq!(r2["modules"][0]["module_cache"], "hit");
    assert_eq!(r2["cache"]["module_hits"], 1);
    // A module-tier hit serves every function from the cache.
    assert_eq!(r2["modules"][0]["functions"], 3);
    assert_eq!(r2["modules"][0]["function_cache"]["served_by_cache"], 3);
    assert_eq!(r2["modules"][0]["function_cache"]["hit_rate"], 1.0);
    assert_eq!(r2["totals"]["served_by_cache"], 3);
    assert_eq!(std::fs::read(out.join("good.wpc")).unwrap(), first);

    let mut c = f.base();
    c.arg("--no-module-cache").arg("--cache-check");
    assert_eq!(run(&mut c).status.code(), Some(0));
    let r3 = report(&out.join("report.json"));
    assert_eq!(r3["modules"][0]["module_cache"], "off");
    assert_eq!(r3["modules"][0]["function_cache"]["served_by_cache"], 3);
    assert_eq!(r3["modules"][0]["function_cache"]["compiled"], 0);
    assert_eq!(
        std::fs::read(out.join("good.wpc")).unwrap(),
        first,
        "function-tier build is byte-identical"
    );
}

#[test]
fn json_message_format_prints_one_object_per_line_each_with_a_reason() {
    let d = tempfile::tempdir().unwrap();
    let o = run(bin()
        .args(good_and_other(d.path()))
        .args(["--message-format", "json", "--no-cache", "-q"])
        .arg("--out-dir")
        .arg(d.path().join("out")));
    assert_eq!(o.status.code(), Some(0));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    let reasons: Vec<&str> = lines
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["module-finished", "module-finished", "precompile-finished"]
    );
    assert!(lines[1]["input"].as_str().unwrap().ends_with("other.wasm"));
    let last = &lines[2];
    assert_eq!(last["success"], true);
    let report_path = d.path().join("out/report.json");
    assert_eq!(last["report_path"], report_path.display().to_string());
    let v = &last["report"];
    let example: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/report.example.json")).unwrap();
    assert_same_keys(&example, v, "$");
    assert_eq!(v["schema"], "wasmprecomp-report/2");
    assert_eq!(v["modules"], report(&report_path)["modules"]);
}

/// [`GOOD`] and [`SHARES_A_WITH_GOOD`] in `dir`, in that order.
fn good_and_other(dir: &Path) -> [PathBuf; 2] {
    [
        write_wat(dir, "good.wasm", GOOD),
        write_wat(dir, "other.wasm", SHARES_A_WITH_GOOD),
    ]
}

/// A cache folder in `dir` that compiled [`GOOD`] once.
fn cache_with_good(dir: &Path) -> PathBuf {
    let cache = dir.join("cache");
    let good = write_wat(dir, "good.wasm", GOOD);
    run(bin()
        .arg(&good)
        .arg("--cache-dir")
        .arg(&cache)
        .arg("--out-dir")
        .arg(dir.join("o")));
    cache
}

/// Shares function `$a` of [`GOOD`] (same body, same signature).
const SHARES_A_WITH_GOOD: &str = r#"(module
  (func $a (export "a") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $d (export "d") (param i32) (result i32) local.get 0 i32.const 9 i32.xor))"#;

#[test]
fn functions_shared_between_modules_are_reused_in_the_run_not_cache_hits() {
    let d = tempfile::tempdir().unwrap();
    let o = run(bin()
        .args(good_and_other(d.path()))
        .arg("--no-cache")
        .arg("--out-dir")
        .arg(d.path().join("out")));
    assert_eq!(o.status.code(), Some(0));
    let r = report(&d.path().join("out/report.json"));
    let fc = &r["modules"][1]["function_cache"];
    assert_eq!(fc["reused_in_run"], 1, "{fc}");
    assert_eq!(fc["served_by_cache"], 0, "{fc}");
    assert_eq!(fc["compiled"], 1, "{fc}");
    let t = &r["totals"];
    assert_eq!(t["served_by_cache"], 0, "cache off: nothing served by it");
    assert_eq!(t["reused_in_run"], 1);
    assert_eq!(t["compiled"], 4);
    assert_eq!(t["hit_rate"], 0.0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("0 served by cache, 1 reused in run, 4 compiled (0.0% hit rate); cache off"),
        "{err}"
    );
}

#[test]
fn the_summary_names_each_column_once_and_times_each_module_on_its_own() {
    let d = tempfile::tempdir().unwrap();
    let o = run(bin()
        .args(good_and_other(d.path()))
        .arg("-v")
        .arg("--cache-dir")
        .arg(d.path().join("cache"))
        .arg("--out-dir")
        .arg(d.path().join("out")));
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    let header = err.lines().next().unwrap();
    let columns: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let mut unique = columns.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), columns.len(), "{header}");
    let r = report(&d.path().join("out/report.json"));
    for (i, m) in r["modules"].as_array().unwrap().iter().enumerate() {
        let t = &m["timings_ms"];
        let steps: f64 = [
            "read",
            "validate",
            "stencil",
            "cache_lookup",
            "compile",
            "link",
            "write",
        ]
        .iter()
        .map(|k| t[k].as_f64().unwrap())
        .sum();
        assert!((t["work"].as_f64().unwrap() - steps).abs() < 1e-6, "{t}");
        let row = err.lines().nth(1 + 2 * i).unwrap();
        let time: f64 = row.split_whitespace().nth(7).unwrap().parse().unwrap();
        assert!((time - steps).abs() <= 0.05 + 1e-9, "{row} against {t}");
    }
    // -v: each module's steps and the cache folder.
    assert!(err.contains("    read "), "{err}");
    assert!(
        err.contains(&format!(
            "cache folder: {}",
            d.path().join("cache").display()
        )),
        "{err}"
    );
}

/// Every key of `want` (recursively, objects and first array elements) exists in `have`.
fn assert_same_keys(want: &serde_json::Value, have: &serde_json::Value, path: &str) {
    match (want, have) {
        (serde_json::Value::Object(w), serde_json::Value::Object(h)) => {
            for (k, wv) in w {
                let hv = h
                    .get(k)
                    .unwrap_or_else(|| panic!("missing field {path}.{k}"));
                if !wv.is_null() && !hv.is_null() {
                    assert_same_keys(wv, hv, &format!("{path}.{k}"));
                }
            }
            for k in h.keys() {
                assert!(
                    w.contains_key(k),
                    "field {path}.{k} is not in docs/report.example.json"
                );
            }
        }
        (serde_json::Value::Array(w), serde_json::Value::Array(h)) => {
            if let (Some(a), Some(b)) = (w.first(), h.first()) {
                assert_same_keys(a, b, &format!("{path}[0]"));
            }
        }
        _ => {}
    }
}

#[test]
fn init_writes_templates_and_refuses_to_overwrite() {
    let d = tempfile::tempdir().unwrap();
    let manifest = d.path().join("Cargo.toml");
    std::fs::write(&manifest, "[workspace]\n").unwrap();
    let o = run(bin().arg("init").arg("--manifest-path").arg(&manifest));
    assert_eq!(o.status.code(), Some(0));
    let wf = std::fs::read_to_string(d.path().join(".github/workflows/wasmprecomp.yml")).unwrap();
    assert!(
        wf.contains("actions/cache/restore")
            && wf.contains("actions/cache/save")
            && wf.contains("WASMPRECOMP_CACHE_DIR")
    );
    assert!(wf.contains("restore-keys"));
    assert!(!wf.contains("{{TOOL_VERSION}}"), "placeholders filled");
    let m = std::fs::read_to_string(&manifest).unwrap();
    assert!(m.contains("[workspace.metadata.wasmprecomp]\n"), "{m}");
    let o = run(bin().arg("init").arg("--manifest-path").arg(&manifest));
    assert_eq!(o.status.code(), Some(2));
    let o = run(bin()
        .arg("init")
        .arg("--force")
        .arg("--manifest-path")
        .arg(&manifest));
    assert_eq!(o.status.code(), Some(0));
    let again = std::fs::read_to_string(&manifest).unwrap();
    assert_eq!(again, m, "the configuration is added once");
    // The added table is what the tool reads: members empty means cargo's default.
    std::fs::write(
        &manifest,
        again.replace("members = []", "members = [\"nope\"]"),
    )
    .unwrap();
    let o = run(bin()
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--no-cache"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("names `nope`, which is not a member"),
        "the tool reads the table init wrote"
    );
}

#[test]
fn a_component_is_rejected_as_a_component_with_what_to_build_instead() {
    let d = tempfile::tempdir().unwrap();
    // The smallest component: the magic, version 0xd, layer 1.
    let comp = d.path().join("comp.wasm");
    std::fs::write(&comp, b"\0asm\x0d\x00\x01\x00").unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    let out = d.path().join("out");
    let o = run(bin()
        .args([&comp, &good])
        .arg("--no-cache")
        .arg("--out-dir")
        .arg(&out));
    assert_eq!(o.status.code(), Some(1));
    let r = report(&out.join("report.json"));
    let e = &r["modules"][0]["error"];
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("this is a WebAssembly component (wasm32-wasip2 and cargo-component produce components); wasmprecomp compiles core modules: build for wasm32-wasip1"),
        "{msg}"
    );
    assert!(!msg.contains("enable the feature"), "{msg}");
    assert_eq!(e["proposal"], "component-model");
    assert_eq!(
        r["modules"][1]["status"], "ok",
        "the module beside it compiles"
    );
    // `run` says the same.
    let o = run(bin().arg("run").arg(&comp).arg("--no-cache"));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("this is a WebAssembly component"));
}

#[test]
fn a_mistyped_subcommand_is_a_usage_error_that_names_the_closest_one() {
    let o = run(bin().arg("bulid"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no such subcommand: `bulid`"), "{err}");
    assert!(err.contains("Did you mean `build`?"), "{err}");
}

#[test]
fn zero_jobs_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    let o = run(bin().arg(&good).args(["-j", "0", "--no-cache"]));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn cache_dir_and_stats_subcommands() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let o = run(bin().args(["cache", "dir"]).arg("--cache-dir").arg(&cache));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        cache.display().to_string()
    );
    let good = write_wat(d.path(), "good.wasm", GOOD);
    run(bin()
        .arg(&good)
        .arg("--cache-dir")
        .arg(&cache)
        .arg("--out-dir")
        .arg(d.path().join("o")));
    let o = run(bin()
        .args(["cache", "stats", "--json"])
        .arg("--cache-dir")
        .arg(&cache));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["entries"].is_object());
    assert_eq!(v["cumulative"]["runs"], 1);
    let o = run(bin()
        .args(["cache", "verify"])
        .arg("--cache-dir")
        .arg(&cache));
    assert_eq!(o.status.code(), Some(0));
    let o = run(bin()
        .args(["cache", "clear"])
        .arg("--cache-dir")
        .arg(&cache));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn cache_stats_prints_one_readable_line_per_count_and_zero_resets_them() {
    let d = tempfile::tempdir().unwrap();
    let cache = cache_with_good(d.path());
    let stats = |extra: &[&str]| {
        let o = run(bin()
            .args(["cache", "stats"])
            .args(extra)
            .arg("--cache-dir")
            .arg(&cache));
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = stats(&["--zero"]);
    assert!(!text.contains('{'), "lines, not JSON:\n{text}");
    let line = |text: &str, label: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line in\n{text}"))[label.len()..]
            .trim()
            .to_string()
    };
    assert_eq!(line(&text, "runs"), "1");
    assert_eq!(line(&text, "function misses"), "3");
    assert_eq!(line(&text, "dir"), cache.display().to_string());
    // Zeroed after printing.
    let text = stats(&[]);
    assert_eq!(line(&text, "runs"), "0");
    assert_eq!(line(&text, "function misses"), "0");
    // Entries stay: only the counters are zeroed.
    assert!(
        line(&text, "functions").starts_with("3 entries, "),
        "{text}"
    );
}

/// Runs `c` with its stdout closed before it writes (`| head -0`); returns its status
/// code and stderr, which must show no panic.
fn with_stdout_closed(c: &mut Command) -> (Option<i32>, String) {
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    (o.status.code(), err)
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_no_crash() {
    let d = tempfile::tempdir().unwrap();
    let cache = cache_with_good(d.path());
    for args in [&["cache", "stats"][..], &["cache", "stats", "--json"][..]] {
        let (code, err) = with_stdout_closed(bin().args(args).arg("--cache-dir").arg(&cache));
        assert_eq!(code, Some(0), "{args:?}: {err}");
    }
    // A compile keeps its own status: a failed module is still exit 1.
    let broken = d.path().join("broken.wasm");
    std::fs::write(&broken, b"not wasm").unwrap();
    let (code, err) = with_stdout_closed(
        bin()
            .arg(&broken)
            .args(["--message-format", "json", "--no-cache", "--out-dir"])
            .arg(d.path().join("o2")),
    );
    assert_eq!(code, Some(1), "{err}");
}

#[test]
fn run_passes_the_guests_exit_code_and_arguments_through() {
    let d = tempfile::tempdir().unwrap();
    // Exits with argc * 10 + 3: checks both the arguments and the exit code.
    let wasm = write_wat(
        d.path(),
        "exit.wasm",
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "_start")
            (drop (call $sizes (i32.const 0) (i32.const 4)))
            (call $exit (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 10)) (i32.const 3)))))"#,
    );
    let cache = d.path().join("cache");
    let o = run(bin()
        .arg("run")
        .arg(&wasm)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--", "a", "b"]));
    assert_eq!(o.status.code(), Some(33), "argv = [exit, a, b]");
    // An artifact runs too.
    let out = d.path().join("out");
    run(bin()
        .arg(&wasm)
        .arg("--cache-dir")
        .arg(&cache)
        .arg("--out-dir")
        .arg(&out));
    let o = run(bin().arg("run").arg(out.join("exit.wpc")));
    assert_eq!(o.status.code(), Some(13));
    // A trapping guest fails with the trap on stderr.
    let trap = write_wat(
        d.path(),
        "trap.wasm",
        r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
    );
    let o = run(bin().arg("run").arg(&trap).arg("--no-cache"));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unreachable"));
}

/// The module entry of the only module compiled into `cache`.
fn only_module_key(cache: &Path) -> wasmprecomp_cache::CacheKey {
    let mut found = Vec::new();
    for fan in std::fs::read_dir(cache.join("v3/modules")).unwrap() {
        for e in std::fs::read_dir(fan.unwrap().path()).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            if !name.starts_with('.') && !name.ends_with(".data") {
                found.push(name);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    wasmprecomp_cache::CacheKey::from_hex(&found[0]).unwrap()
}

#[test]
fn an_artifact_already_in_place_is_a_module_hit_without_rewriting_it() {
    artifact_in_place(&Cached::new(), false);
    artifact_in_place(&Cached::new(), true);
    // A large module is hashed as it is read; the hit works the same, and an edit of its
    // bytes is a miss that compiles the new bytes.
    let f = Cached::with(&large_good());
    assert!(std::fs::metadata(&f.good).unwrap().len() > 256 * 1024);
    artifact_in_place(&f, false);
    artifact_in_place(&f, true);
    let mut wasm = std::fs::read(&f.good).unwrap();
    let at = wasm.len() / 2;
    wasm[at] ^= 0x01;
    std::fs::write(&f.good, &wasm).unwrap();
    let o = run(&mut f.cmd(false));
    assert_eq!(o.status.code(), Some(0));
    let r = report(&f.out.join("report.json"));
    assert_eq!(r["modules"][0]["module_cache"], "miss");
    assert_eq!(r["modules"][0]["wasm_bytes"], wasm.len() as u64);
    let fresh = f.dir.path().join("fresh");
    assert_eq!(
        run(bin()
            .arg(&f.good)
            .arg("--no-cache")
            .arg("--out-dir")
            .arg(&fresh))
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        std::fs::read(f.out.join("good.wpc")).unwrap(),
        std::fs::read(fresh.join("good.wpc")).unwrap(),
        "the edited bytes were compiled"
    );
}

/// Compiles `f` twice and checks the second run's module hit leaves the artifact in
/// place alone; then damages and removes it. `check` sets `WASMPRECOMP_CACHE_CHECK`.
fn artifact_in_place(f: &Cached, check: bool) {
    let (good, out) = (&f.good, &f.out);
    let art = out.join("good.wpc");
    let compile = || {
        assert_eq!(run(&mut f.cmd(check)).status.code(), Some(0));
        report(&out.join("report.json"))
    };
    let first = compile();
    let want = std::fs::read(&art).unwrap();
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = inode(&art);
    // The module entry of a compiled artifact shares the artifact's file instead of
    // holding a copy.
    let shared = {
        let key = only_module_key(&f.cache).to_hex();
        f.cache
            .join("v3/modules")
            .join(&key[..2])
            .join(format!("{key}.data"))
    };
    if first["modules"][0]["module_cache"] == "miss" {
        assert_eq!(inode(&shared), before, "one file, two names");
    }

    let r = compile();
    let m = &r["modules"][0];
    assert_eq!(m["module_cache"], "hit");
    assert_eq!(m["artifact_bytes"], want.len() as u64);
    assert_eq!(
        m["wasm_bytes"],
        std::fs::metadata(good).unwrap().len(),
        "the module's size is reported"
    );
    let sha = {
        use sha2::Digest;
        let d: [u8; 32] = sha2::Sha256::digest(std::fs::read(good).unwrap()).into();
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(
        m["wasm_sha256"],
        sha.as_str(),
        "read from the artifact in place"
    );
    assert_eq!(r["cache"]["module_hits"], 1);
    if !check {
        assert_eq!(
            r["cache"]["bytes_read"], 0,
            "the entry's payload was not read"
        );
    }
    assert_eq!(
        inode(&art),
        before,
        "the artifact in place was not rewritten"
    );
    assert_eq!(std::fs::read(&art).unwrap(), want);

    // A damaged artifact in place is not the cached one: it is replaced. Written in
    // place (not replaced by a rename), the damage is the entry's too: a counted corrupt
    // miss, never wrong code, and the next run stores and hits the right one again.
    let mut bad = want.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    std::fs::write(&art, &bad).unwrap();
    let shares = inode(&shared) == inode(&art);
    let r = compile();
    assert_eq!(
        r["modules"][0]["module_cache"],
        if shares { "miss" } else { "hit" }
    );
    assert_eq!(r["cache"]["corrupt"], u64::from(shares));
    assert_eq!(std::fs::read(&art).unwrap(), want);
    assert_eq!(compile()["modules"][0]["module_cache"], "hit");
    // Replaced by a rename instead, the artifact is damaged alone: a hit that rewrites it.
    let tmp = out.join("replacement");
    std::fs::write(&tmp, &bad).unwrap();
    std::fs::rename(&tmp, &art).unwrap();
    let r = compile();
    assert_eq!(r["modules"][0]["module_cache"], "hit");
    assert_eq!(r["cache"]["corrupt"], 0);
    assert_eq!(std::fs::read(&art).unwrap(), want);
    // And a missing one is put back: linked to the entry's shared file, not written.
    std::fs::remove_file(&art).unwrap();
    let r = compile();
    assert_eq!(r["modules"][0]["module_cache"], "hit");
    assert_eq!(std::fs::read(&art).unwrap(), want);
    assert_eq!(inode(&art), inode(&shared), "linked from the cache");
}

#[test]
fn cache_check_recompiles_module_hits_and_fails_on_a_wrong_artifact() {
    let f = Cached::new();
    let (good, cache, out) = (&f.good, &f.cache, &f.out);
    let compile = |check: bool| run(&mut f.cmd(check));
    assert_eq!(compile(false).status.code(), Some(0));
    let key = only_module_key(cache);
    // A plausible but wrong artifact for the same bytes: the one compiled at another
    // opt level, planted under this module's key with a valid entry header.
    let other = f.dir.path().join("other");
    let o = run(bin()
        .arg(good)
        .args(["--no-cache", "--opt-level", "none", "--out-dir"])
        .arg(&other));
    assert_eq!(o.status.code(), Some(0));
    let wrong = std::fs::read(other.join("good.wpc")).unwrap();
    let c =
        wasmprecomp_cache::Cache::open(&wasmprecomp_cache::CacheConfig::with_dir(cache)).unwrap();
    c.put(wasmprecomp_cache::Tier::Module, &key, &wrong);
    c.finish();
    std::fs::remove_dir_all(out).unwrap();

    // Without the check the planted entry is served: the check is what catches it.
    assert_eq!(compile(false).status.code(), Some(0));
    assert_eq!(std::fs::read(out.join("good.wpc")).unwrap(), wrong);
    let o = compile(true);
    assert_eq!(o.status.code(), Some(1), "a failed check fails the run");
    let r = report(&out.join("report.json"));
    let msg = r["modules"][0]["error"]["message"].as_str().unwrap_or("");
    assert!(msg.contains("cache check failed"), "{msg}");
    assert!(
        !out.join("good.wpc").exists(),
        "no artifact next to a failed module"
    );
}

/// The artifact `good` compiles to with the extra `args`, in a folder named after `name`.
fn compiled_artifact(dir: &Path, good: &Path, name: &str, args: &[&str]) -> Vec<u8> {
    let out = dir.join(format!("out-{name}"));
    let o = run(bin()
        .arg(good)
        .arg("--out-dir")
        .arg(&out)
        .arg("--no-cache")
        .args(args));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(out.join("good.wpc")).unwrap()
}

/// Whether `bytes` contain `s`.
fn has(bytes: &[u8], s: &str) -> bool {
    bytes.windows(s.len()).any(|w| w == s.as_bytes())
}

#[test]
fn bounds_checks_are_chosen_on_the_command_line_and_recorded_in_the_artifact() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    for (flag, recorded) in [
        (None, "bounds_checks=guard"),
        (Some("explicit"), "bounds_checks=explicit"),
        (Some("guard"), "bounds_checks=guard"),
    ] {
        let args: Vec<&str> = flag.iter().flat_map(|f| ["--bounds-checks", f]).collect();
        let art = compiled_artifact(d.path(), &good, flag.unwrap_or("default"), &args);
        assert!(
            has(&art, recorded),
            "{flag:?}: the header records {recorded}"
        );
    }
    let o = run(bin().arg(&good).args(["--bounds-checks", "none"]));
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unknown strategy is a usage error"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("guard"));
}

#[test]
fn the_target_cpu_decides_the_recorded_features_and_has_cache_entries_of_its_own() {
    let f = Cached::new();
    let compile = |cpu: Option<&str>| {
        let mut c = f.base();
        if let Some(cpu) = cpu {
            c.args(["--target-cpu", cpu]);
        }
        assert_eq!(run(&mut c).status.code(), Some(0), "{cpu:?}");
        let r = report(&f.out.join("report.json"));
        (std::fs::read(f.out.join("good.wpc")).unwrap(), r)
    };
    let (base, r) = compile(None);
    assert_eq!(r["cpu_features"], serde_json::json!(["sse4.1", "popcnt"]));
    assert!(!has(&base, "avx2"), "the baseline needs no AVX2");
    let (v3, r) = compile(Some("x86-64-v3"));
    assert_eq!(
        r["cpu_features"],
        serde_json::json!(["sse4.1", "popcnt", "sse4.2", "avx", "avx2", "bmi1", "bmi2", "lzcnt"])
    );
    for f in ["sse4.2", "avx2", "bmi1", "bmi2", "lzcnt"] {
        assert!(has(&v3, f), "the header lists {f}");
    }
    // Neither tier serves baseline code for another level.
    assert_eq!(r["modules"][0]["module_cache"], "miss");
    assert_eq!(r["modules"][0]["function_cache"]["served_by_cache"], 0);
    assert_eq!(r["modules"][0]["function_cache"]["compiled"], 3);
    let (v2, r) = compile(Some("x86-64-v2"));
    assert_eq!(r["modules"][0]["module_cache"], "miss");
    assert_eq!(r["modules"][0]["function_cache"]["served_by_cache"], 0);
    assert!(has(&v2, "sse4.2") && !has(&v2, "avx2"));
    // `baseline` named is the default, and its entries are still there.
    let (again, r) = compile(Some("baseline"));
    assert_eq!(r["modules"][0]["module_cache"], "hit");
    assert_eq!(again, base);

    for bad in ["x86-64-v4", "skylake", ""] {
        let o = run(bin().arg(&f.good).args(["--target-cpu", bad]));
        assert_eq!(o.status.code(), Some(2), "`{bad}` is a usage error");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("unknown target CPU") && err.contains("x86-64-v3"),
            "{err}"
        );
    }
    // A level the target does not have is refused before anything is compiled.
    let o = run(bin().arg(&f.good).args([
        "--target",
        "aarch64-unknown-linux-gnu",
        "--target-cpu",
        "x86-64-v3",
    ]));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`x86-64-v3`") && err.contains("aarch64"),
        "{err}"
    );
}

#[test]
fn interruption_is_chosen_on_the_command_line_and_recorded_in_the_artifact() {
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(d.path(), "good.wasm", GOOD);
    for (flag, recorded) in [
        ("fuel", Some("interruption=fuel")),
        ("epoch", Some("interruption=epoch")),
        ("fuel+epoch", Some("interruption=fuel+epoch")),
        ("none", None),
    ] {
        let art = compiled_artifact(d.path(), &good, flag, &["--interruption", flag]);
        match recorded {
            Some(r) => assert!(has(&art, r), "{flag}: the header records {r}"),
            None => assert!(!has(&art, "interruption="), "none records nothing"),
        }
    }
    let o = run(bin().arg(&good).args(["--interruption", "gas"]));
    assert_eq!(o.status.code(), Some(2), "an unknown mode is a usage error");
    assert!(String::from_utf8_lossy(&o.stderr).contains("fuel+epoch"));
}

#[test]
fn run_stops_a_runaway_program_by_fuel_or_timeout() {
    let d = tempfile::tempdir().unwrap();
    let spin = write_wat(
        d.path(),
        "spin.wasm",
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))"#,
    );
    let o = run(bin()
        .arg("run")
        .arg(&spin)
        .arg("--no-cache")
        .args(["--fuel", "100000"]));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("all fuel consumed"), "{err}");
    let started = std::time::Instant::now();
    let o = run(bin()
        .arg("run")
        .arg(&spin)
        .arg("--no-cache")
        .args(["--timeout", "0.2"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("interrupt"), "{err}");
    // A program that finishes in time exits as it would without the options.
    let quick = write_wat(
        d.path(),
        "quick.wasm",
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "_start") (call $exit (i32.const 7))))"#,
    );
    let o = run(bin().arg("run").arg(&quick).arg("--no-cache").args([
        "--fuel",
        "1000",
        "--timeout",
        "60",
    ]));
    assert_eq!(
        o.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // An artifact without fuel checks cannot honor --fuel.
    let out = d.path().join("out");
    run(bin()
        .arg(&quick)
        .arg("--no-cache")
        .arg("--out-dir")
        .arg(&out));
    let o = run(bin()
        .arg("run")
        .arg(out.join("quick.wpc"))
        .args(["--fuel", "10"]));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--fuel needs an artifact compiled with --interruption fuel"),
        "{err}"
    );
}

/// The ELF machine of an artifact file.
fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).expect("artifact");
    assert_eq!(&bytes[..4], b"\x7fELF", "{}", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

#[test]
fn several_targets_compile_each_module_into_a_folder_per_target_and_say_which() {
    const X64: &str = "x86_64-unknown-linux-gnu";
    const A64: &str = "aarch64-unknown-linux-gnu";
    let d = tempfile::tempdir().unwrap();
    let [good, other] = good_and_other(d.path());
    let out = d.path().join("out");
    let cache = d.path().join("cache");
    let build = |targets: &[&str]| {
        let mut c = bin();
        c.arg(&good).arg(&other).arg("--out-dir").arg(&out);
        c.arg("--cache-dir").arg(&cache);
        c.args(["--message-format", "json"]);
        for t in targets {
            c.args(["--target", t]);
        }
        run(&mut c)
    };
    // A triple given twice is compiled once.
    let o = build(&[X64, A64, X64]);
    assert_eq!(o.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("target {X64}:")) && stderr.contains(&format!("target {A64}:")),
        "{stderr}"
    );
    let messages: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let finished: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| m["reason"] == "precompile-finished")
        .collect();
    assert_eq!(finished.len(), 2, "one per target");
    let module_targets: Vec<&str> = messages
        .iter()
        .filter(|m| m["reason"] == "module-finished")
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    assert_eq!(module_targets, [X64, X64, A64, A64]);
    for (t, machine) in [(X64, 62u16), (A64, 183)] {
        let folder = out.join(t);
        let r = report(&folder.join("report.json"));
        assert_eq!(r["target"], t);
        for m in r["modules"].as_array().unwrap() {
            assert_eq!(m["target"], t);
            assert_eq!(m["module_cache"], "miss");
            let artifact = PathBuf::from(m["output"].as_str().unwrap());
            assert_eq!(artifact.parent(), Some(folder.as_path()));
            assert_eq!(elf_machine(&artifact), machine, "{}", artifact.display());
        }
    }
    // Each target's modules are its own cache entries: a second run hits every one, for
    // each target, and one target alone hits its own.
    let o = build(&[A64, X64]);
    assert_eq!(o.status.code(), Some(0));
    for t in [X64, A64] {
        let r = report(&out.join(t).join("report.json"));
        assert_eq!(r["cache"]["module_hits"], 2, "{t}: {r}");
        assert_eq!(r["cache"]["module_misses"], 0, "{t}: {r}");
    }
    // A report path of one's own gets the triple in its name for each target.
    let named = d.path().join("run.json");
    let o = run(bin()
        .arg(&good)
        .arg("--out-dir")
        .arg(&out)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--target", X64, "--target", A64, "--report"])
        .arg(&named));
    assert_eq!(o.status.code(), Some(0));
    for t in [X64, A64] {
        let r = report(&d.path().join(format!("run.{t}.json")));
        assert_eq!(r["target"], t);
    }
    assert!(!named.exists());
}

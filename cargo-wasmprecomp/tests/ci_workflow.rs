//! The CI workflow `init` writes, its shell steps run here as a runner would run them:
//! folders stand in for the cache that `actions/cache` restores and saves, and the
//! workflow's environment is set as GitHub sets it for a push and for a pull request.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{bin, copy_dir, ok, write};

/// A workspace with a wasm member and a native member that does not build for wasm; the
/// configuration names the wasm one.
fn fixture(root: &Path) {
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"plugin\", \"native\"]\n\n[workspace.metadata.wasmprecomp]\nmembers = [\"plugin\"]\n",
    );
    for name in ["plugin", "native"] {
        write(
            &root.join(format!("{name}/Cargo.toml")),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
    }
    write(
        &root.join("plugin/src/main.rs"),
        "fn main() { println!(\"plugin {}\", (1..=9u32).product::<u32>()); }\n",
    );
    write(
        &root.join("native/src/main.rs"),
        "#[cfg(target_family = \"wasm\")]\ncompile_error!(\"native only\");\nfn main() {}\n",
    );
}

/// The workflow's steps: name, `if:` condition and `run:` script (single-line runs).
fn steps(workflow: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in workflow.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("- ") {
            out.push((String::new(), String::new(), String::new()));
            if let Some(n) = rest.strip_prefix("name: ") {
                out.last_mut().unwrap().0 = n.to_string();
            }
        } else if let Some(step) = out.last_mut() {
            if let Some(n) = t.strip_prefix("name: ") {
                step.0 = n.to_string();
            } else if let Some(c) = t.strip_prefix("if: ") {
                step.1 = c.to_string();
            } else if let Some(r) = t.strip_prefix("run: ") {
                step.2 = r.to_string();
            }
        }
    }
    out
}

fn step<'a>(steps: &'a [(String, String, String)], name: &str) -> &'a (String, String, String) {
    steps
        .iter()
        .find(|s| s.0 == name)
        .unwrap_or_else(|| panic!("no step `{name}` in {steps:?}"))
}

/// Runs a step's script with bash in `root`, as a runner would: `cargo wasmprecomp` is
/// this build's binary, the workflow's variables are set for a push or a pull request.
fn run_step(root: &Path, script: &str, cache: &Path, pull_request: bool) -> std::process::Output {
    let tool = env!("CARGO_BIN_EXE_cargo-wasmprecomp");
    let shim = format!(
        "cargo() {{ if [ \"$1\" = wasmprecomp ]; then \"{tool}\" \"$@\"; else command cargo \"$@\"; fi; }}\nset -e\n{script}\n"
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(shim)
        .current_dir(root)
        .env("CI", "true")
        .env("WASMPRECOMP_CACHE_DIR", cache)
        .env(
            "WASMPRECOMP_READ_ONLY",
            if pull_request {
                "--cache-read-only"
            } else {
                ""
            },
        )
        .env(
            "WASMPRECOMP_SAVE",
            if pull_request { "false" } else { "true" },
        )
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("WASMPRECOMP_CACHE_CHECK")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Every file under `dir` with its size.
fn listing(dir: &Path) -> Vec<(PathBuf, u64)> {
    fn walk(d: &Path, base: &Path, out: &mut Vec<(PathBuf, u64)>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                let len = p.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((p.strip_prefix(base).unwrap().to_path_buf(), len));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

fn report(root: &Path) -> serde_json::Value {
    let p = root.join("target/wasmprecomp/x86_64-unknown-linux-gnu/release/report.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn the_workflows_steps_build_learn_on_pushes_and_only_read_on_pull_requests() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    let lock = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("generate-lockfile")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(lock.status.success());
    ok(bin()
        .arg("init")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .unwrap());
    let workflow = std::fs::read_to_string(root.join(".github/workflows/wasmprecomp.yml")).unwrap();
    let steps = steps(&workflow);
    let build = step(&steps, "Build and precompile");
    let stats = step(&steps, "Cache statistics");
    let bound = step(&steps, "Bound the precompile cache");
    let save = step(&steps, "Save the precompile cache");
    // Statistics even after a failed build; bounding and saving on pushes to the default
    // branch only, after a failure too (what was compiled is worth keeping).
    assert_eq!(stats.1, "always()");
    for s in [bound, save] {
        assert_eq!(s.1, "always() && env.WASMPRECOMP_SAVE == 'true'", "{}", s.0);
    }
    // Restores by prefix and saves under a key of its own every run.
    assert!(workflow.contains("restore-keys"), "{workflow}");
    assert!(workflow.contains("${{ github.run_id }}-${{ github.run_attempt }}"));
    assert!(
        !workflow.contains("hashFiles"),
        "no key that is hit exactly forever"
    );

    // First push: an empty cache is restored; the build fills it; it is bounded and saved.
    let restored = d.path().join("restored-1");
    std::fs::create_dir_all(&restored).unwrap();
    run_step(&root, &build.2, &restored, false);
    let r = report(&root);
    assert_eq!(
        r["totals"]["modules"], 1,
        "only the configured wasm member: {r}"
    );
    assert_eq!(r["totals"]["served_by_cache"], 0);
    let o = run_step(&root, &stats.2, &restored, false);
    assert!(String::from_utf8_lossy(&o.stdout).contains("runs"));
    run_step(&root, &bound.2, &restored, false);
    let saved = d.path().join("saved-1");
    copy_dir(&restored, &saved);

    // Next push: the saved cache comes back and serves every function.
    let restored = d.path().join("restored-2");
    copy_dir(&saved, &restored);
    std::fs::remove_dir_all(root.join("target/wasmprecomp")).unwrap();
    run_step(&root, &build.2, &restored, false);
    let r = report(&root);
    assert_eq!(r["modules"][0]["module_cache"], "hit", "{r}");
    assert_eq!(r["totals"]["served_by_cache"], r["totals"]["functions"]);

    // A pull request with an edit: served what it can, writes nothing.
    write(
        &root.join("plugin/src/main.rs"),
        "fn main() { println!(\"plugin {}\", (1..=10u32).product::<u32>()); }\n",
    );
    let before = listing(&restored);
    run_step(&root, &build.2, &restored, true);
    let r = report(&root);
    assert_eq!(r["cache"]["mode"], "read-only", "{r}");
    assert!(r["totals"]["served_by_cache"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(
        listing(&restored),
        before,
        "the pull request left the cache as it was"
    );
}

//! A real fixture workspace built to wasm32-wasip1 inside the test: `--build`, run the
//! artifacts, repeat (all module hits), edit one function (the module's manifest serves the
//! rest).

use std::path::Path;

mod common;
use common::{bin, ok};

fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, s).unwrap();
}

fn main_rs(magic: u64) -> String {
    format!(
        r#"#[inline(never)]
fn magic(x: u64) -> u64 {{
    x.wrapping_mul({magic}).rotate_left(7)
}}
fn main() {{
    let args: Vec<String> = std::env::args().collect();
    let v = magic(args.len() as u64 + 1);
    println!("alpha {{}} {{}}", common::greeting("wasm"), v);
}}
"#
    )
}

fn fixture(root: &Path) {
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"common\", \"alpha\", \"beta\"]\n",
    );
    write(
        &root.join("common/Cargo.toml"),
        "[package]\nname = \"common\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        &root.join("common/src/lib.rs"),
        "pub fn greeting(who: &str) -> String { format!(\"hello, {who}!\") }\n",
    );
    for (name, body) in [
        ("alpha", main_rs(41)),
        (
            "beta",
            "fn main() { let s: u32 = (1..=10).sum(); println!(\"beta {} {}\", common::greeting(\"beta\"), s); }\n".to_string(),
        ),
    ] {
        write(
            &root.join(format!("{name}/Cargo.toml")),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncommon = {{ path = \"../common\" }}\n"),
        );
        write(&root.join(format!("{name}/src/main.rs")), &body);
    }
}

fn report(root: &Path) -> serde_json::Value {
    let p = root.join("target/wasmprecomp/x86_64-unknown-linux-gnu/release/report.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn module<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["input"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/{name}.wasm"))
        })
        .unwrap_or_else(|| panic!("{name} not in report: {r}"))
}

#[test]
fn fixture_workspace_builds_runs_caches_and_recompiles_one_function_after_an_edit() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    let cache = d.path().join("cache");
    let build = |extra: &[&str]| {
        ok(bin()
            .arg("--build")
            .arg("--release")
            .arg("--workspace")
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .arg("--cache-dir")
            .arg(&cache)
            .args(extra)
            .output()
            .unwrap())
    };
    build(&[]);
    let r1 = report(&root);
    assert_eq!(r1["schema"], "wasmprecomp-report/2");
    assert_eq!(r1["totals"]["modules"], 2);
    assert_eq!(r1["totals"]["failed"], 0);
    let alpha1 = module(&r1, "alpha").clone();
    assert_eq!(alpha1["module_cache"], "miss");
    // Both modules share std and `common`: the second one reuses the first's functions,
    // which are no cache hits (the cache was empty).
    assert!(
        r1["totals"]["reused_in_run"].as_u64().unwrap() > 0,
        "cross-module reuse: {r1}"
    );
    assert_eq!(r1["totals"]["served_by_cache"], 0, "{r1}");

    // The artifacts run and print the expected output.
    let art = |n: &str| {
        root.join(format!(
            "target/wasmprecomp/x86_64-unknown-linux-gnu/release/{n}.wpc"
        ))
    };
    let o = ok(bin()
        .arg("run")
        .arg(art("alpha"))
        .arg("--no-cache")
        .arg("--")
        .arg("x")
        .output()
        .unwrap());
    let expect = format!(
        "alpha hello, wasm! {}\n",
        3u64.wrapping_mul(41).rotate_left(7)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), expect);
    let o = ok(bin()
        .arg("run")
        .arg(art("beta"))
        .arg("--no-cache")
        .output()
        .unwrap());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "beta hello, beta! 55\n");

    // Second run: all module hits.
    build(&[]);
    let r2 = report(&root);
    assert_eq!(r2["cache"]["module_hits"], 2);
    assert_eq!(r2["cache"]["module_misses"], 0);
    // Every function of both modules was served by the cache.
    assert_eq!(r2["totals"]["served_by_cache"], r2["totals"]["functions"]);
    assert!(r2["totals"]["functions"].as_u64().unwrap() > 0);
    assert_eq!(r2["totals"]["hit_rate"], 1.0);

    // Without --build: the artifacts already in the target folder are found.
    ok(bin()
        .arg("--release")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--cache-dir")
        .arg(&cache)
        .output()
        .unwrap());
    assert_eq!(report(&root)["totals"]["modules"], 2);

    // Edit one function body: that function misses, every other one hits.
    write(&root.join("alpha/src/main.rs"), &main_rs(43));
    build(&[]);
    let r3 = report(&root);
    let alpha3 = module(&r3, "alpha");
    assert_eq!(alpha3["module_cache"], "miss");
    let funcs = alpha3["functions"].as_u64().unwrap();
    let dedup = alpha3["function_cache"]["deduplicated"].as_u64().unwrap();
    assert_eq!(alpha3["function_cache"]["compiled"], 1, "{alpha3}");
    assert_eq!(alpha3["function_cache"]["reused_in_run"], 0, "{alpha3}");
    assert_eq!(
        alpha3["function_cache"]["served_by_cache"]
            .as_u64()
            .unwrap(),
        funcs - dedup - 1
    );
    // The edit kept the module's shape: its manifest served every unchanged function,
    // so the only function entry looked up was the edited one's.
    assert_eq!(
        alpha3["function_cache"]["from_manifest"], alpha3["function_cache"]["served_by_cache"],
        "{alpha3}"
    );
    // Under `--cache-check` (CI sets it) beta's module hit is recompiled too, which reads
    // beta's manifest as well.
    let checking = std::env::var("WASMPRECOMP_CACHE_CHECK").is_ok_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on" | "y"
        )
    });
    let manifests = if checking { 2 } else { 1 };
    assert_eq!(r3["cache"]["manifest_hits"], manifests, "{}", r3["cache"]);
    assert_eq!(r3["cache"]["function_hits"], 0, "{}", r3["cache"]);
    assert_eq!(r3["cache"]["function_misses"], 1, "{}", r3["cache"]);
    assert_eq!(module(&r3, "beta")["module_cache"], "hit");
    let o = ok(bin()
        .arg("run")
        .arg(art("alpha"))
        .arg("--no-cache")
        .output()
        .unwrap());
    let expect = format!(
        "alpha hello, wasm! {}\n",
        2u64.wrapping_mul(43).rotate_left(7)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), expect);
}

#[test]
fn a_failing_cargo_build_fails_the_run_with_cargos_status() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    write(
        &root.join("beta/src/main.rs"),
        "fn main() { this is not rust }\n",
    );
    let o = bin()
        .arg("--build")
        .arg("--workspace")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--no-cache")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(101), "cargo's own status");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error"),
        "cargo's diagnostics reach the user: {err}"
    );
}

#[test]
fn a_package_outside_the_workspace_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    let o = bin()
        .args(["-p", "gamma", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--no-cache")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("package `gamma` is not a member of the workspace"),
        "{err}"
    );
}

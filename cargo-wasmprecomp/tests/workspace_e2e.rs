//! A real fixture workspace built to wasm32-wasip1 inside the test: `--build`, run the
//! artifacts, repeat (all module hits), edit one function (the module's manifest serves the
//! rest).

use std::path::Path;

mod common;
use common::{bin, ok, write};

/// The fixture's `alpha` program; `magic` decides both constants of its `magic`
/// function, the rotation (`magic - 35`) being small, so it stays in the function's
/// stencil key (a large constant would be a link-time constant slot, and an edit of it
/// alone would recompile nothing).
fn main_rs(magic: u64) -> String {
    let rotation = magic - 35;
    format!(
        r#"#[inline(never)]
fn magic(x: u64) -> u64 {{
    x.wrapping_mul({magic}).rotate_left({rotation})
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
        3u64.wrapping_mul(41).rotate_left(6)
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
        2u64.wrapping_mul(43).rotate_left(8)
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

/// The names of the modules in a report, sorted.
fn module_names(r: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = r["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let input = m["input"].as_str().unwrap();
            Path::new(input)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

/// beta's manifest with `tail` (features, metadata) after its dependencies.
fn beta_manifest(tail: &str) -> String {
    format!("[package]\nname = \"beta\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncommon = {{ path = \"../common\" }}\n\n{tail}")
}

/// `c` with `--build` when `build`: the two modes.
fn in_mode(mut c: std::process::Command, build: bool) -> std::process::Output {
    if build {
        c.arg("--build");
    }
    c.output().unwrap()
}

/// The command on the fixture in `root` (by `--manifest-path`), with a cache in `cache`.
fn on(root: &Path, cache: &Path) -> std::process::Command {
    let mut c = bin();
    c.arg("--release")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--cache-dir")
        .arg(cache);
    c
}

#[test]
fn in_a_member_folder_both_modes_select_that_member_as_cargo_does() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    let cache = d.path().join("cache");
    // Both built once, from the root: a scan from there takes every member.
    ok(on(&root, &cache).arg("--build").output().unwrap());
    assert_eq!(module_names(&report(&root)), ["alpha", "beta"]);
    // From alpha's folder, as `cargo build` would: alpha only, in both modes.
    for build in [false, true] {
        let mut c = bin();
        c.current_dir(root.join("alpha"))
            .arg("--release")
            .arg("--cache-dir")
            .arg(&cache);
        ok(in_mode(c, build));
        assert_eq!(module_names(&report(&root)), ["alpha"], "--build: {build}");
    }
}

#[test]
fn package_id_specs_select_in_both_modes_and_a_wrong_version_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    let cache = d.path().join("cache");
    for build in [true, false] {
        let mut c = on(&root, &cache);
        c.args(["-p", "beta@0.1.0"]);
        ok(in_mode(c, build));
        assert_eq!(module_names(&report(&root)), ["beta"], "--build: {build}");
        let mut c = on(&root, &cache);
        c.args(["-p", "beta@9.9.9"]);
        let o = in_mode(c, build);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--build: {build}: {err}");
        assert!(err.contains("`beta@9.9.9` is not a member"), "{err}");
    }
}

#[test]
fn exclude_without_workspace_is_refused_in_both_modes() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    for build in [true, false] {
        let mut c = on(&root, &d.path().join("cache"));
        c.args(["--exclude", "beta"]);
        let o = in_mode(c, build);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--build: {build}: {err}");
        assert!(
            err.contains("--exclude can only be used together with --workspace"),
            "{err}"
        );
    }
}

#[test]
fn cargos_feature_and_lockfile_flags_reach_the_wasm_build() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    // beta prints another word with its `loud` feature, and refuses to build with
    // `quiet` unless `default` is off.
    write(
        &root.join("beta/Cargo.toml"),
        &beta_manifest("[features]\ndefault = [\"polite\"]\npolite = []\nloud = []\nquiet = []\n"),
    );
    write(
        &root.join("beta/src/main.rs"),
        "#[cfg(all(feature = \"quiet\", feature = \"polite\"))]\ncompile_error!(\"quiet and polite\");\nfn main() { if cfg!(feature = \"loud\") { println!(\"LOUD\") } else { println!(\"soft\") } }\n",
    );
    let cache = d.path().join("cache");
    let run_beta = || {
        let art = root.join("target/wasmprecomp/x86_64-unknown-linux-gnu/release/beta.wpc");
        let o = ok(bin()
            .arg("run")
            .arg(art)
            .arg("--no-cache")
            .output()
            .unwrap());
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    ok(on(&root, &cache)
        .args(["--build", "-p", "beta", "--features", "loud"])
        .output()
        .unwrap());
    assert_eq!(run_beta(), "LOUD");
    let o = on(&root, &cache)
        .args(["--build", "-p", "beta", "--all-features"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("quiet and polite"),
        "--all-features reaches cargo: {err}"
    );
    ok(on(&root, &cache)
        .args([
            "--build",
            "-p",
            "beta",
            "-F",
            "quiet",
            "--no-default-features",
        ])
        .output()
        .unwrap());
    assert_eq!(run_beta(), "soft");
    // --locked reaches cargo: without a lockfile it refuses to write one.
    std::fs::remove_file(root.join("Cargo.lock")).unwrap();
    let o = on(&root, &cache)
        .args(["--build", "-p", "beta", "--locked"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("--locked"), "{err}");
    ok(on(&root, &cache)
        .args(["--build", "-p", "beta", "--offline"])
        .output()
        .unwrap());
}

#[test]
fn the_workspaces_configured_wasm_members_are_what_a_plain_build_takes() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    // A native member that does not build for wasm: without the configuration,
    // `--build` with no selection would try.
    write(
        &root.join("native/Cargo.toml"),
        "[package]\nname = \"native\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        &root.join("native/src/main.rs"),
        "#[cfg(target_family = \"wasm\")]\ncompile_error!(\"native only\");\nfn main() {}\n",
    );
    let manifest =
        "[workspace]\nresolver = \"2\"\nmembers = [\"common\", \"alpha\", \"beta\", \"native\"]\n";
    write(&root.join("Cargo.toml"), manifest);
    let cache = d.path().join("cache");
    let o = on(&root, &cache).arg("--build").output().unwrap();
    assert_ne!(o.status.code(), Some(0), "the native member fails for wasm");
    write(
        &root.join("Cargo.toml"),
        &format!("{manifest}\n[workspace.metadata.wasmprecomp]\nmembers = [\"alpha\"]\nwasm-target = \"wasm32-wasip1\"\n"),
    );
    // A package can also name itself.
    write(
        &root.join("beta/Cargo.toml"),
        &beta_manifest("[package.metadata.wasmprecomp]\nwasm = true\n"),
    );
    ok(on(&root, &cache).arg("--build").output().unwrap());
    assert_eq!(module_names(&report(&root)), ["alpha", "beta"]);
    ok(on(&root, &cache).output().unwrap());
    assert_eq!(module_names(&report(&root)), ["alpha", "beta"], "scan mode");
    // A configuration of the wrong shape is a usage error naming the manifest.
    write(
        &root.join("Cargo.toml"),
        &format!("{manifest}\n[workspace.metadata.wasmprecomp]\nmembers = \"alpha\"\n"),
    );
    let o = on(&root, &cache).arg("--build").output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("must be a list of strings"), "{err}");
}

#[test]
fn a_build_for_a_component_target_says_so_before_building() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root);
    let o = on(&root, &d.path().join("cache"))
        .args(["--build", "--wasm-target", "wasm32-wasip2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("produces WebAssembly components") && err.contains("build for wasm32-wasip1"),
        "{err}"
    );
    assert!(
        !root.join("target/wasm32-wasip2").exists(),
        "nothing was built"
    );
}

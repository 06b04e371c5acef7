//! The bundled example workspace builds, precompiles its plugins in a build script and
//! runs them (the README's main job, without installing the tool); a copy of it shows
//! that the host's next build embeds the plugins' new code after a dependency changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// The host package of the copy: named apart from the demo's, so that the two builds
/// sharing a target folder never write each other's binary.
const COPY_HOST: &str = "demo-host-copy";

/// `cargo run --release -p <host>` in `root`, sharing one target folder with the other
/// demo builds (the build dependencies are compiled once).
fn run_host(root: &Path, host: &str, cache: &Path) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(["run", "--release", "-p", host, "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", repo().join("target/demo"))
        .env("WASMPRECOMP_CACHE_DIR", cache)
        .env_remove("WASMPRECOMP_WASM_RUSTFLAGS")
        .output()
        .expect("running cargo")
}

fn text(o: &Output) -> (String, String) {
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    (stdout, stderr)
}

/// The build script's warnings, as cargo shows them.
fn builder_warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning: demo-host"))
        .collect()
}

/// The newest `report.json` the copy's build script wrote in its `OUT_DIR`.
fn newest_build_report() -> serde_json::Value {
    let build = repo().join("target/demo/release/build");
    let prefix = format!("{COPY_HOST}-");
    let newest = std::fs::read_dir(&build)
        .expect("build folder")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path().join("out/wasmprecomp/report.json"))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("a report.json in the build script's OUT_DIR");
    serde_json::from_slice(&std::fs::read(newest).unwrap()).unwrap()
}

#[test]
fn the_example_workspace_precompiles_and_runs_its_plugins() {
    let cache = tempfile::tempdir().unwrap();
    let (stdout, stderr) = text(&run_host(
        &repo().join("examples/demo"),
        "demo-host",
        cache.path(),
    ));
    assert!(stdout.contains("hello, precompiled plugins!"), "{stdout}");
    assert!(
        stdout.contains("greet: 33 words, checksum 04e16aaabe155fb4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("stats: 23 distinct, checksum 0d2bf4907b6870bb"),
        "{stdout}"
    );
    assert_eq!(
        builder_warnings(&stderr),
        Vec::<&str>::new(),
        "a build without trouble warns about nothing"
    );
}

/// FNV-1a, as the demo's shared crate computes it.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Copies the demo workspace (without build output) to `to`, its dependencies on this
/// repository's crates made absolute.
fn copy_demo(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let name = e.file_name();
            if name == "target" {
                continue;
            }
            let (src, dst) = (e.path(), to.join(&name));
            if src.is_dir() {
                copy(&src, &dst);
            } else {
                std::fs::copy(&src, &dst).unwrap();
            }
        }
    }
    copy(&repo().join("examples/demo"), to);
    let manifest = to.join("host/Cargo.toml");
    let m = std::fs::read_to_string(&manifest).unwrap();
    let repo = repo().display().to_string();
    let m = m
        .replace("\"../../../", &format!("\"{repo}/"))
        .replace("name = \"demo-host\"", &format!("name = \"{COPY_HOST}\""));
    assert!(m.contains(&format!("{repo}/driver")), "{m}");
    assert!(m.contains(COPY_HOST), "{m}");
    std::fs::write(&manifest, m).unwrap();
}

#[test]
fn after_a_plugins_path_dependency_changes_the_hosts_next_build_runs_the_new_code() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("demo");
    copy_demo(&root);
    let cache = d.path().join("cache");
    let (stdout, _) = text(&run_host(&root, COPY_HOST, &cache));
    assert!(
        stdout.contains("greet: 33 words, checksum 04e16aaabe155fb4"),
        "{stdout}"
    );
    let first = newest_build_report();

    // Edit the crate both plugins depend on (neither plugin's own files change).
    let lib = root.join("shared/src/lib.rs");
    let src = std::fs::read_to_string(&lib).unwrap();
    let start = src.find("pub const TEXT").expect("TEXT");
    let new_text = "Stale code never runs: the host follows its plugins.";
    let src = format!("{}pub const TEXT: &str = \"{new_text}\";\n", &src[..start]);
    std::fs::write(&lib, src).unwrap();

    let (stdout, stderr) = text(&run_host(&root, COPY_HOST, &cache));
    let want = format!(
        "greet: 9 words, checksum {:016x}",
        fnv1a(new_text.as_bytes())
    );
    assert!(
        stdout.contains(&want),
        "the host runs the plugins built from the edited dependency: want `{want}` in\n{stdout}\n{stderr}"
    );
    assert_eq!(builder_warnings(&stderr), Vec::<&str>::new());
    let second = newest_build_report();
    assert_ne!(
        first["modules"][0]["wasm_sha256"], second["modules"][0]["wasm_sha256"],
        "the build script compiled new modules and wrote their report in OUT_DIR"
    );
}

//! The bundled example workspace builds, precompiles its plugins in a build script and
//! runs them (the README's main job, without installing the tool).

use std::path::Path;
use std::process::Command;

#[test]
fn the_example_workspace_precompiles_and_runs_its_plugins() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo");
    let cache = tempfile::tempdir().unwrap();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/demo");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new(cargo)
        .args(["run", "--release", "-p", "demo-host", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env("WASMPRECOMP_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("hello, precompiled plugins!"), "{stdout}");
    assert!(
        stdout.contains("greet: 33 words, checksum 04e16aaabe155fb4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("stats: 23 distinct, checksum 0d2bf4907b6870bb"),
        "{stdout}"
    );
    assert!(
        stderr.contains("wasmprecomp: 2 modules"),
        "the build script reports: {stderr}"
    );
}

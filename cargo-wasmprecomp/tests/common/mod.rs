//! Helpers shared by the binary's integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The real binary, as `cargo wasmprecomp`, with no cache or target folder from the
/// environment and CI mode on (no progress bar).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-wasmprecomp"));
    c.arg("wasmprecomp");
    c.env_remove("WASMPRECOMP_CACHE_DIR");
    c.env_remove("CARGO_TARGET_DIR");
    c.env("CI", "1");
    c
}

/// Asserts a zero exit, showing the output otherwise.
pub fn ok(o: Output) -> Output {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Writes `s` to `p`, creating its folder.
pub fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, s).unwrap();
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

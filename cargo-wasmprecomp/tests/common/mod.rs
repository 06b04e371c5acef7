//! Helpers shared by the binary's integration tests.
#![allow(dead_code)]

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

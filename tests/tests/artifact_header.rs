//! The runtime refuses artifacts that do not match it, with a clear error.
//!
//! The artifacts refused here are this compiler's output with a header field changed or
//! bytes damaged on purpose; none is ever instantiated, so none of their code runs.

use wasmprecomp_codegen::{compile_wasm, Isa, OptLevel};
use wasmprecomp_runtime::{LoadError, Module};

fn artifact() -> Vec<u8> {
    let wasm = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 1))"#).unwrap();
    compile_wasm(&wasm, &Isa::new(None, OptLevel::Speed).unwrap()).unwrap()
}

/// Replaces the first occurrence of `from` (same length as `to`) in the artifact.
fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let i = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{:?} not in artifact", String::from_utf8_lossy(from)));
    let mut b = bytes.to_vec();
    b[i..i + to.len()].copy_from_slice(to);
    b
}

/// Loads `bytes`, an artifact changed on purpose (or no artifact at all), and drops the
/// module if one loads anyway.
fn load_changed(bytes: &[u8]) -> Result<(), LoadError> {
    // SAFETY: a module that loads from these bytes is dropped here without being
    // instantiated, so none of their code runs.
    unsafe { Module::from_bytes(bytes) }.map(drop)
}

fn refuse(bytes: &[u8]) -> LoadError {
    load_changed(bytes).expect_err("must be refused")
}

#[test]
fn a_good_artifact_loads() {
    // SAFETY: `artifact()` is what the compiler just wrote, unmodified.
    unsafe { Module::from_bytes(&artifact()) }.expect("loads");
}

#[test]
fn another_format_version_is_refused() {
    let a = artifact();
    let mut magic_and_version = b"WPCMETA\0".to_vec();
    magic_and_version.extend_from_slice(&wasmprecomp_artifact::FORMAT_VERSION.to_le_bytes());
    let mut bumped = b"WPCMETA\0".to_vec();
    bumped.extend_from_slice(&(wasmprecomp_artifact::FORMAT_VERSION + 1).to_le_bytes());
    let e = refuse(&patch(&a, &magic_and_version, &bumped));
    assert!(matches!(e, LoadError::Mismatch(_)), "{e}");
    assert!(e.to_string().contains("format version"), "{e}");
}

#[test]
fn another_target_is_refused() {
    let e = refuse(&patch(
        &artifact(),
        b"x86_64-unknown-linux-gnu",
        b"aarch64-unknown-linux-gn",
    ));
    assert!(e.to_string().contains("cannot run on this host"), "{e}");
}

#[test]
fn a_missing_cpu_feature_is_refused() {
    let e = refuse(&patch(&artifact(), b"popcnt", b"bogus!"));
    assert!(e.to_string().contains("CPU feature `bogus!`"), "{e}");
}

#[test]
fn unknown_flags_are_refused() {
    let e = refuse(&patch(&artifact(), b"opt_level=", b"opt_lever="));
    assert!(e.to_string().contains("unknown flags"), "{e}");
}

#[test]
fn garbage_and_truncation_are_refused_without_panicking() {
    let a = artifact();
    assert!(matches!(refuse(b"not an elf"), LoadError::NotAnArtifact(_)));
    for cut in (0..a.len()).step_by(97) {
        load_changed(&a[..cut]).expect_err("truncated artifact refused");
    }
    // Flipping bytes anywhere never panics (it may still load if the byte is padding).
    for at in (0..a.len()).step_by(13) {
        let mut b = a.clone();
        b[at] ^= 0x5a;
        let _ = load_changed(&b);
    }
}

//! The runtime refuses artifacts that do not match it or were damaged, with a clear error.
//!
//! The artifacts refused here are this compiler's output with a header field changed or
//! bytes damaged on purpose; none of their code ever runs (the modules have no start
//! function and nothing is called).

use wasmprecomp_codegen::{compile_wasm, Isa, OptLevel};
use wasmprecomp_runtime::{LoadError, Module, Store};
use wasmprecomp_tests::mutation::{imports_for, rewrite_header, rewrite_meta, EVERYTHING};

fn compile(wat: &str) -> Vec<u8> {
    let wasm = wat::parse_str(wat).unwrap();
    compile_wasm(&wasm, &Isa::new(None, OptLevel::Speed).unwrap()).unwrap()
}

fn artifact() -> Vec<u8> {
    compile(r#"(module (func (export "f") (result i32) i32.const 1))"#)
}

/// Replaces the first occurrence of `from` (same length as `to`) in the artifact; the
/// checksum is left as it was.
fn patch_unsealed(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let i = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{:?} not in artifact", String::from_utf8_lossy(from)));
    let mut b = bytes.to_vec();
    b[i..i + to.len()].copy_from_slice(to);
    b
}

/// [`patch_unsealed`], sealed again: as the compiler would have written it.
fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut b = patch_unsealed(bytes, from, to);
    assert!(wasmprecomp_artifact::seal(&mut b));
    b
}

/// Loads `bytes`, an artifact changed on purpose (or no artifact at all), and drops the
/// module if one loads anyway.
fn load_changed(bytes: &[u8]) -> Result<(), LoadError> {
    // SAFETY: a module that loads from these bytes is dropped here without being
    // instantiated, so none of their code runs.
    unsafe { Module::from_bytes(bytes) }.map(drop)
}

/// [`load_changed`] without the artifact checksum.
fn load_changed_without_checksum(bytes: &[u8]) -> Result<Module, LoadError> {
    // SAFETY: the modules loaded here are at most instantiated, which runs none of their
    // code: none has a start function.
    unsafe { Module::from_bytes_without_checksum(bytes) }
}

fn refuse(bytes: &[u8]) -> LoadError {
    load_changed(bytes).expect_err("must be refused")
}

fn text_range(bytes: &[u8]) -> std::ops::Range<usize> {
    use object::{Object, ObjectSection};
    let f = object::File::parse(bytes).unwrap();
    let (at, len) = f.section_by_name(".text").unwrap().file_range().unwrap();
    at as usize..(at + len) as usize
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
    // Refused by its version, before the checksum (which another version may keep
    // elsewhere) is looked at.
    let e = refuse(&patch_unsealed(&a, &magic_and_version, &bumped));
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

#[cfg(target_arch = "x86_64")]
#[test]
fn an_artifact_for_a_higher_cpu_level_loads_only_where_the_cpu_has_its_features() {
    use wasmprecomp_codegen::TargetCpu;
    let isa = Isa::new(None, OptLevel::Speed)
        .unwrap()
        .with_target_cpu(TargetCpu::X86_64V3)
        .unwrap();
    let wasm = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 1))"#).unwrap();
    let a = compile_wasm(&wasm, &isa).unwrap();
    let missing = isa.cpu_features().into_iter().find(|f| match f.as_str() {
        "sse4.1" => !std::arch::is_x86_feature_detected!("sse4.1"),
        "popcnt" => !std::arch::is_x86_feature_detected!("popcnt"),
        "sse4.2" => !std::arch::is_x86_feature_detected!("sse4.2"),
        "avx" => !std::arch::is_x86_feature_detected!("avx"),
        "avx2" => !std::arch::is_x86_feature_detected!("avx2"),
        "bmi1" => !std::arch::is_x86_feature_detected!("bmi1"),
        "bmi2" => !std::arch::is_x86_feature_detected!("bmi2"),
        "lzcnt" => !std::arch::is_x86_feature_detected!("lzcnt"),
        other => panic!("a feature this test does not know: {other}"),
    });
    match missing {
        None => load_changed(&a).expect("this CPU has every feature"),
        Some(f) => {
            let e = refuse(&a);
            assert!(e.to_string().contains(&format!("CPU feature `{f}`")), "{e}");
        }
    }
    // One feature this CPU lacks, named in the header: refused by name, with the fix.
    let e = refuse(&patch(&a, b"avx2", b"avx9"));
    let msg = e.to_string();
    assert!(msg.contains("CPU feature `avx9`"), "{msg}");
    assert!(msg.contains("--target-cpu"), "{msg}");
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
        load_changed_without_checksum(&a[..cut]).expect_err("truncated artifact refused");
    }
}

#[test]
fn a_changed_byte_anywhere_is_refused_and_in_the_code_by_the_checksum() {
    let a = compile(EVERYTHING);
    let text = text_range(&a);
    for at in 0..a.len() {
        let mut b = a.clone();
        b[at] ^= 0x5a;
        let e = refuse(&b);
        if text.contains(&at) {
            assert!(matches!(e, LoadError::Checksum { .. }), "byte {at}: {e}");
        }
    }
}

#[test]
fn a_changed_data_segment_is_refused_by_the_checksum_and_loads_without_it() {
    let a = compile(EVERYTHING);
    let changed = patch_unsealed(&a, b"an active data", b"on active data");
    let e = refuse(&changed);
    assert!(matches!(e, LoadError::Checksum { .. }), "{e}");
    assert!(e.to_string().contains("damaged"), "{e}");
    let m = load_changed_without_checksum(&changed).expect("no checksum, nothing to notice");
    let mut store = Store::new();
    let imports = imports_for(&mut store, m.meta());
    let i = store.instantiate(&m, &imports).expect("instantiates");
    let mem = store.get_memory(i, "m").unwrap();
    assert_eq!(&store.memory_data(mem)[16..25], b"on active");
}

/// The metadata field a rewrite of `EVERYTHING`'s metadata is refused for, with the
/// checksum and without it.
fn refused_field(change: impl FnOnce(&mut wasmprecomp_artifact::ModuleMeta)) -> String {
    let b = rewrite_meta(&compile(EVERYTHING), change);
    let checked = refuse(&b);
    let unchecked = load_changed_without_checksum(&b).expect_err("refused without checksum too");
    assert_eq!(checked, unchecked);
    match checked {
        LoadError::Metadata { field, .. } => field,
        e => panic!("not a metadata error: {e}"),
    }
}

#[test]
fn damaged_indices_in_the_metadata_are_refused_naming_the_field() {
    use wasmprecomp_artifact::{ConstExpr, ImportKind, SegmentMode};
    assert_eq!(
        refused_field(|m| m.exports[0].index = u32::MAX),
        "exports[0].index"
    );
    assert_eq!(
        refused_field(|m| m.imports[0].kind = ImportKind::Func(0xffff)),
        "imports[0].type"
    );
    assert_eq!(
        refused_field(|m| m.globals[0].init = ConstExpr::GlobalGet(7)),
        "globals[0].init"
    );
    assert_eq!(
        refused_field(|m| m.elements[1].items[0] = ConstExpr::RefFunc(99)),
        "elements[1].items[0]"
    );
    assert_eq!(
        refused_field(|m| {
            if let SegmentMode::Active { index, .. } = &mut m.data[0].mode {
                *index = 3;
            }
        }),
        "data[0].memory"
    );
    assert_eq!(
        refused_field(|m| {
            if let SegmentMode::Active { index, .. } = &mut m.elements[0].mode {
                *index = u32::MAX;
            }
        }),
        "elements[0].table"
    );
    assert_eq!(
        refused_field(|m| m.num_imported_globals = 449_050_039),
        "num_imported_globals"
    );
    assert_eq!(refused_field(|m| m.code[0].len = u32::MAX), "code[0]");
}

#[test]
fn the_error_names_the_field_and_the_value() {
    let b = rewrite_meta(&compile(EVERYTHING), |m| m.exports[0].index = u32::MAX);
    let e = refuse(&b).to_string();
    assert!(
        e.contains("invalid artifact metadata: exports[0].index"),
        "{e}"
    );
    assert!(e.contains("4294967295"), "{e}");
}

#[test]
fn a_resealed_header_change_is_refused_by_the_header_checks() {
    let b = rewrite_header(&compile(EVERYTHING), |h| {
        h.flags = h.flags.replace("opt_level", "opt_lever")
    });
    assert!(refuse(&b).to_string().contains("unknown flags"));
}

//! Differential test: wasm-smith modules from a fixed range of seeds run under
//! wasmprecomp and under wasmi and must behave the same (see
//! `wasmprecomp_tests::differential`).
//!
//! `DIFF_SEEDS=a..b` runs another range; `DIFF_DUMP=dir` writes each mismatching module to
//! `dir/seed-N.wasm` for reproduction; `DIFF_TARGET_CPU=x86-64-v3` (any `--target-cpu`
//! name) compiles for that CPU level.

use wasmprecomp_tests::differential::{check, generate};

/// The seeds run by default.
const SEEDS: std::ops::Range<u64> = 0..2000;

/// Deterministic input bytes for a seed (splitmix64), 1 to 16 KiB long.
fn input(seed: u64) -> Vec<u8> {
    let mut s = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(0x1234_5678);
    let mut next = || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let len = 1024 + (next() % (15 * 1024)) as usize;
    (0..len).map(|_| next() as u8).collect()
}

fn seeds() -> std::ops::Range<u64> {
    match std::env::var("DIFF_SEEDS") {
        Ok(r) => {
            let (a, b) = r.split_once("..").expect("DIFF_SEEDS=a..b");
            a.parse().expect("seed")..b.parse().expect("seed")
        }
        Err(_) => SEEDS,
    }
}

#[test]
fn wasmprecomp_matches_wasmi() {
    let dump = std::env::var("DIFF_DUMP").ok();
    let (mut modules, mut calls, mut traps, mut exhausted, mut inst_traps, mut unstable) =
        (0, 0, 0, 0, 0, 0);
    let mut simd = 0;
    let mut mismatches = Vec::new();
    let range = seeds();
    for seed in range.clone() {
        let Some(wasm) = generate(&input(seed)) else {
            continue;
        };
        modules += 1;
        simd += uses_simd(&wasm) as usize;
        match check(&wasm) {
            Ok(s) => {
                calls += s.calls;
                traps += s.traps;
                exhausted += s.exhausted as usize;
                inst_traps += s.instantiation_trapped as usize;
                unstable += s.wasmi_unstable as usize;
            }
            Err(e) => {
                if let Some(d) = &dump {
                    let _ = std::fs::create_dir_all(d);
                    let _ = std::fs::write(format!("{d}/seed-{seed}.wasm"), &wasm);
                }
                println!("seed {seed}: {e}");
                mismatches.push(seed);
            }
        }
    }
    println!(
        "differential: seeds {range:?}, {modules} modules ({simd} with SIMD), {calls} calls compared ({traps} trapped), \
         {inst_traps} instantiations trapped, {exhausted} stopped at stack exhaustion, {unstable} stopped at a wasmi \
         nondeterminism, \
         {} mismatches",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "mismatching seeds: {mismatches:?}");
    assert!(!uses_simd(
        &wat::parse_str("(module (func (param i32)))").expect("wat")
    ));
    assert!(
        simd * 4 >= modules,
        "only {simd} of {modules} modules use SIMD: the generator no longer covers it"
    );
}

/// Whether the module needs the SIMD proposal to validate.
fn uses_simd(wasm: &[u8]) -> bool {
    let without = wasmprecomp_codegen::module::SUPPORTED_FEATURES
        .difference(wasmparser::WasmFeatures::SIMD | wasmparser::WasmFeatures::RELAXED_SIMD);
    wasmparser::Validator::new_with_features(without)
        .validate_all(wasm)
        .is_err()
}

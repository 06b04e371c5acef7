//! Differential fuzzing: a wasm-smith module built from the fuzzer's bytes must behave
//! the same under wasmprecomp and under wasmi (comparison in
//! `wasmprecomp_tests::differential`, shared with `tests/tests/differential.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmprecomp_tests::differential::{check, generate};

fuzz_target!(|data: &[u8]| {
    let Some(wasm) = generate(data) else {
        return;
    };
    if let Err(e) = check(&wasm) {
        panic!("wasmprecomp and wasmi disagree: {e}");
    }
});

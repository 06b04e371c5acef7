//! Damaged artifacts: loading (without the checksum, so the header and metadata checks
//! alone face the damage) and instantiating one gives a module or an error, never a panic
//! or a fault. See `wasmprecomp_tests::mutation::fuzz_artifact` for the input's shape.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wasmprecomp_tests::mutation::fuzz_artifact(data));

//! What loading an artifact costs, and how much of it is the artifact checksum:
//! `cargo run --release -p wasmprecomp-runtime --example load_cost -- FILE.wpc...`
//!
//! Per file: the best and median of 200 loads with the checksum, without it, and the
//! checksum alone. The files must be artifacts this build's compiler wrote.

use std::time::{Duration, Instant};
use wasmprecomp_runtime::Module;

const RUNS: usize = 200;

/// Best and median of `RUNS` timings of `f`.
fn time(mut f: impl FnMut()) -> (Duration, Duration) {
    let mut t: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    (t[0], t[RUNS / 2])
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: load_cost FILE.wpc...");
        std::process::exit(2);
    }
    println!("file, bytes: load with checksum, without, checksum alone (best / median, µs)");
    for path in files {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        // SAFETY: the caller names artifacts this build's compiler wrote (see the doc
        // above); they are loaded and dropped, never instantiated.
        let load = |checked: bool| unsafe {
            let m = if checked {
                Module::from_bytes(&bytes)
            } else {
                Module::from_bytes_without_checksum(&bytes)
            };
            if let Err(e) = m {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        let with = time(|| load(true));
        let without = time(|| load(false));
        let sum = time(|| {
            std::hint::black_box(wasmprecomp_artifact::artifact_checksum(&bytes));
        });
        println!(
            "{path}, {}: {:.0} / {:.0}, {:.0} / {:.0}, {:.0} / {:.0}",
            bytes.len(),
            us(with.0),
            us(with.1),
            us(without.0),
            us(without.1),
            us(sum.0),
            us(sum.1)
        );
    }
}

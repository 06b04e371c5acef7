//! Precompiles the plugins for this crate's target; main() loads the artifacts.
fn main() {
    let out = wasmprecomp_driver::Builder::new()
        .package("greet")
        .package("stats")
        .compile()
        .unwrap_or_else(|e| panic!("precompiling the plugins: {e}"));
    for (name, path) in &out.artifacts {
        println!("cargo:rustc-env=WASMPRECOMP_{}={}", name.to_uppercase(), path.display());
    }
    let r = &out.report;
    println!(
        "cargo:warning=wasmprecomp: {} modules ({} whole-module cache hits), {} functions compiled or reused ({:.0}% function cache hits)",
        r.totals.modules,
        r.cache.module_hits,
        r.totals.functions,
        100.0 * r.totals.hit_rate
    );
}

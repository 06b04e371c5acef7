//! Precompiles the plugins for this crate's target; main() loads the artifacts.
fn main() {
    let out = cargo_wasmprecomp::Builder::new()
        .package("greet")
        .package("stats")
        .compile()
        .unwrap_or_else(|e| panic!("precompiling the plugins: {e}"));
    for (name, path) in &out.artifacts {
        println!("cargo:rustc-env=WASMPRECOMP_{}={}", name.to_uppercase(), path.display());
    }
    let t = &out.report.totals;
    println!(
        "cargo:warning=wasmprecomp: {} modules, {} functions, {:.0}% function cache hits",
        t.modules,
        t.functions,
        100.0 * t.hit_rate
    );
}

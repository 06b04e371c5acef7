//! Precompiles the plugins for this crate's target; main() embeds the artifacts.
//!
//! The builder tells cargo to run this script again whenever a file the plugins' wasm
//! build read changes (their sources and those of `demo-shared`), so the host never
//! embeds stale plugin code; it writes `report.json` next to the artifacts in `OUT_DIR`
//! and warns only about trouble.
fn main() {
    let out = wasmprecomp_driver::Builder::new()
        .package("greet")
        .package("stats")
        .compile()
        .unwrap_or_else(|e| panic!("precompiling the plugins: {e}"));
    for (name, path) in &out.artifacts {
        println!("cargo:rustc-env=WASMPRECOMP_{}={}", name.to_uppercase(), path.display());
    }
}

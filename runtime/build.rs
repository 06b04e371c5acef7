// Names the target this runtime is built for, so an artifact for another machine is
// refused with an error naming both targets.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "an unknown target".into());
    println!("cargo:rustc-env=WASMPRECOMP_RUNTIME_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}

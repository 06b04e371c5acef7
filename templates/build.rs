// build.rs: precompile a wasm workspace member for this crate's target.
//
// Cargo.toml of this crate:
//   [build-dependencies]
//   wasmprecomp-driver = "{{TOOL_VERSION}}"
//   [dependencies]
//   wasmprecomp-runtime = "{{TOOL_VERSION}}"
fn main() {
    let out = wasmprecomp_driver::Builder::new()
        .package("my-wasm-plugin") // a workspace member built for wasm32-wasip1
        .compile()
        .expect("precompiling wasm");
    for (name, path) in &out.artifacts {
        // At run time, with the artifact trusted as this build's own output:
        //   // SAFETY: the build script's own output, written by wasmprecomp.
        //   unsafe { wasmprecomp_runtime::Module::from_file(env!("WASMPRECOMP_<NAME>")) }
        println!(
            "cargo:rustc-env=WASMPRECOMP_{}={}",
            name.to_uppercase().replace('-', "_"),
            path.display()
        );
    }
}

// build.rs: precompile a wasm workspace member for this crate's target.
//
// Cargo.toml of this crate:
//   [build-dependencies]
//   wasmprecomp-driver = "{{TOOL_VERSION}}"
//   [dependencies]
//   wasmprecomp-runtime = "{{TOOL_VERSION}}"
// and, in the workspace's root Cargo.toml, the compiler optimized inside build scripts
// (cargo builds build dependencies without optimization: compiles there run about ten
// times slower; use [profile.dev.package...] too if you build without --release):
//   [profile.release.package.wasmprecomp-codegen]
//   opt-level = 3
//   [profile.release.package.regalloc2]
//   opt-level = 3
//   [profile.release.package.wasmparser]
//   opt-level = 3
fn main() {
    let out = wasmprecomp_driver::Builder::new()
        .package("my-wasm-plugin") // a workspace member built for wasm32-wasip1
        .compile()
        .expect("precompiling wasm");
    // The builder reruns this script whenever a file the wasm build read changes, keeps
    // the host's rustflags out of it (wasm flags: WASMPRECOMP_WASM_RUSTFLAGS or
    // .wasm_rustflags([...])) and writes report.json next to the artifacts in OUT_DIR.
    for (name, path) in &out.artifacts {
        // At run time, embedded so the binary alone can be shipped, and trusted as this
        // build's own output (the loader wants the bytes aligned: copy them to the heap):
        //   const PLUGIN: &[u8] = include_bytes!(env!("WASMPRECOMP_<NAME>"));
        //   // SAFETY: the build script's own output, written by wasmprecomp.
        //   unsafe { wasmprecomp_runtime::Module::from_bytes(&PLUGIN.to_vec()) }
        println!(
            "cargo:rustc-env=WASMPRECOMP_{}={}",
            name.to_uppercase().replace('-', "_"),
            path.display()
        );
    }
}

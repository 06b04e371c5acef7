//! `WASMPRECOMP_PERF_MAP` makes the runtime name the compiled code of every module it
//! loads in `/tmp/perf-<pid>.map`, from the artifact's symbols. A test binary of its own:
//! it sets the variable for the whole process.

use wasmprecomp_codegen::{compile_wasm, Isa, OptLevel};
use wasmprecomp_runtime::Module;

#[test]
fn a_loaded_module_names_each_function_and_trampoline_in_the_perf_map() {
    let wasm = wat::parse_str(
        r#"(module
            (func $double_it (export "double") (param i32) (result i32)
                local.get 0 local.get 0 i32.add)
            (func (export "unnamed") (result i64) i64.const 7))"#,
    )
    .unwrap();
    let artifact = compile_wasm(&wasm, &Isa::new(None, OptLevel::Speed).unwrap()).unwrap();
    std::env::set_var("WASMPRECOMP_PERF_MAP", "1");
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let _ = std::fs::remove_file(&path);
    // SAFETY: the artifact is this compiler's output for the module above.
    let module = unsafe { Module::from_bytes(&artifact) }.expect("loads");
    let map = std::fs::read_to_string(&path).expect("the perf map is written");
    let _ = std::fs::remove_file(&path);
    drop(module);
    let entries: Vec<(u64, u64, &str)> = map
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, ' ');
            let mut hex = || u64::from_str_radix(f.next().unwrap(), 16).unwrap();
            (hex(), hex(), f.next().unwrap())
        })
        .collect();
    let names: Vec<&str> = entries.iter().map(|e| e.2).collect();
    for expected in [
        "double_it",
        "wasm_func_1",
        "array_to_wasm_type0",
        "wasm_to_host_type0",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {map}");
    }
    let f = entries.iter().find(|e| e.2 == "double_it").unwrap();
    let g = entries.iter().find(|e| e.2 == "wasm_func_1").unwrap();
    assert!(f.0 != 0 && f.1 > 0, "an address and a size: {map}");
    assert!(
        g.0 >= f.0 + f.1,
        "the functions follow each other in .text: {map}"
    );
}

//! Loads the precompiled plugins and runs them: no compiler at run time.
use wasmprecomp_runtime::{wasi, Module};

fn run(name: &str, path: &str, args: &[&str]) -> i32 {
    let module = Module::from_file(path).unwrap_or_else(|e| panic!("loading {name}: {e}"));
    let mut argv = vec![name.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    match wasi::run_module(&module, &argv) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{name}: {e}");
            1
        }
    }
}

fn main() {
    let a = run("greet", env!("WASMPRECOMP_GREET"), &["precompiled", "plugins"]);
    let b = run("stats", env!("WASMPRECOMP_STATS"), &[]);
    std::process::exit(if a == 0 && b == 0 { 0 } else { 1 });
}

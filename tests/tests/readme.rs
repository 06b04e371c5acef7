//! The README's embedding example is `examples/embedding.rs`, word for word, and does what
//! the README says: a typed host function, fuel that stops a runaway plugin, a limiter
//! that refuses a plugin asking for too much memory.

#[allow(dead_code)]
#[path = "../examples/embedding.rs"]
mod embedding;

use wasmprecomp_codegen::{compile_wasm, Interruption, Isa, OptLevel};

const EXAMPLE: &str = include_str!("../examples/embedding.rs");
const README: &str = include_str!("../../README.md");

/// The first ```rust block after the heading `heading`.
fn block_after<'a>(text: &'a str, heading: &str) -> &'a str {
    let at = text.find(heading).expect("the README has the heading");
    let rest = &text[at..];
    let start = rest.find("```rust\n").expect("a rust block follows") + "```rust\n".len();
    let len = rest[start..].find("\n```").expect("the block ends") + 1;
    &rest[start..start + len]
}

#[test]
fn the_readme_shows_the_embedding_example_as_it_is() {
    assert_eq!(
        block_after(README, "### Embedding"),
        EXAMPLE,
        "README.md's embedding example differs from tests/examples/embedding.rs"
    );
}

/// Compiles `wat` with fuel checks into a file of `dir`.
fn plugin(dir: &std::path::Path, name: &str, wat: &str) -> String {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let isa = Isa::new(None, OptLevel::Speed)
        .expect("host isa")
        .with_interruption(Interruption {
            fuel: true,
            epoch: false,
        });
    let art = compile_wasm(&wasm, &isa).expect("compiles");
    let path = dir.join(name);
    std::fs::write(&path, art).expect("writes");
    path.to_string_lossy().into_owned()
}

const PLUGIN: &str = r#"(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (func (export "run") (param $n i32) (result i32) (local $sum i32)
    i32.const 0 i32.const 5 call $log
    (block $done (loop $next
      local.get $n i32.eqz br_if $done
      local.get $sum local.get $n i32.add local.set $sum
      local.get $n i32.const 1 i32.sub local.set $n
      br $next))
    local.get $sum))"#;

#[test]
fn the_embedding_example_runs_a_plugin_and_stops_the_ones_that_misbehave() {
    let dir = std::env::temp_dir().join(format!("wasmprecomp-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = plugin(&dir, "plugin.wpc", PLUGIN);
    assert_eq!(embedding::run_plugin(&good, 10).unwrap(), 55);
    // 1,000,000 fuel is some 60,000 rounds of the loop.
    let e = embedding::run_plugin(&good, 1_000_000).unwrap_err();
    assert_eq!(e.to_string(), "the plugin ran out of fuel");
    let greedy = plugin(
        &dir,
        "greedy.wpc",
        &PLUGIN.replace(
            "(memory (export \"memory\") 1)",
            "(memory (export \"memory\") 512)",
        ),
    );
    let e = embedding::run_plugin(&greedy, 1).unwrap_err();
    assert!(
        e.to_string()
            .contains("refused by the store's resource limiter"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

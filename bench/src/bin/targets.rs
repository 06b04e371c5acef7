//! What the aarch64 backend costs beside the x86-64 one: per module of the Rust corpus, the
//! cold compile time for each target (same host, same threads, no cache) and the size of
//! the code each writes (`.text` of the artifact), each against `wasmtime compile --target
//! <triple>` of the same module when `wasmtime` is on `PATH` (its aarch64 column needs a
//! wasmtime built with `--features all-arch`). The speed of aarch64 code is
//! not measured: on this host it runs only under emulation, whose timings say nothing about
//! an Arm machine.
//!
//! `cargo run --release -p wasmprecomp-bench --bin targets -- [--rust-corpus DIR] [--runs N]`
//! prints a table and writes `target/bench/targets.json`.

use anyhow::{bail, Context, Result};
use clap::Parser;
use object::{Object, ObjectSection};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wasmprecomp_bench::{median, PROGRAMS};
use wasmprecomp_codegen::{compile_wasm, CompileError, Isa, OptLevel};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Rust corpus folder (see the main benchmark).
    #[arg(long, default_value = "target/corpus")]
    rust_corpus: PathBuf,
    /// Runs per compile measurement (the median is reported; the targets alternate).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where the JSON goes.
    #[arg(long, default_value = "target/bench/targets.json")]
    json: PathBuf,
}

const X64: &str = "x86_64-unknown-linux-gnu";
const A64: &str = "aarch64-unknown-linux-gnu";

#[derive(Serialize, Default)]
struct Row {
    module: String,
    wasm_bytes: u64,
    /// Median cold compile, milliseconds, per target.
    x64_ms: f64,
    aarch64_ms: Option<f64>,
    /// aarch64 compile time over x86-64's.
    compile_ratio: Option<f64>,
    x64_text: u64,
    aarch64_text: Option<u64>,
    /// aarch64 `.text` over x86-64's.
    text_ratio_to_x64: Option<f64>,
    wasmtime_x64_text: Option<u64>,
    /// Our x86-64 `.text` over `wasmtime compile --target x86_64`'s.
    x64_text_ratio_to_wasmtime: Option<f64>,
    wasmtime_aarch64_text: Option<u64>,
    /// Our aarch64 `.text` over `wasmtime compile --target aarch64`'s.
    text_ratio_to_wasmtime: Option<f64>,
    /// Why aarch64 did not compile it.
    aarch64_refused: Option<String>,
}

fn geomean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
}

fn text_bytes(elf: &[u8]) -> Result<u64> {
    let file = object::File::parse(elf).context("parsing an ELF file")?;
    let text = file.section_by_name(".text").context("no .text section")?;
    Ok(text.size())
}

/// Whether `wasmtime` is on `PATH` and compiles for `triple` (a default `cargo install
/// wasmtime-cli` has the host's backend only; `--features all-arch` adds the others):
/// `Err` says why not.
fn wasmtime_for(triple: &str, dir: &Path) -> Result<(), String> {
    let probe = dir.join("probe.wasm");
    std::fs::write(&probe, b"\0asm\x01\0\0\0").map_err(|e| e.to_string())?;
    match Command::new("wasmtime").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return Err("not installed".into()),
    }
    match wasmtime_text(&probe, dir, triple) {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("target is disabled") => Err(
            format!("installed without the {triple} backend (cargo install wasmtime-cli --features all-arch)"),
        ),
        Err(e) => Err(format!("not usable: {e}")),
    }
}

/// `.text` of what `wasmtime compile --target <triple>` writes for `wasm`.
fn wasmtime_text(wasm: &Path, dir: &Path, triple: &str) -> Result<u64> {
    let out = dir.join("module.cwasm");
    let o = Command::new("wasmtime")
        .args(["compile", "--target", triple, "-o"])
        .arg(&out)
        .arg(wasm)
        .output()?;
    if !o.status.success() {
        bail!("wasmtime compile: {}", String::from_utf8_lossy(&o.stderr));
    }
    code_extent(&std::fs::read(&out)?)
}

/// The bytes of `.text` that hold code in a `.cwasm`: the end of its last function
/// symbol. Wasmtime pads `.text` to its target's page alignment (4 KiB on x86-64, 64 KiB
/// on aarch64), so the section's size would flatter a small module by up to a page.
fn code_extent(elf: &[u8]) -> Result<u64> {
    use object::{ObjectSymbol, SymbolKind};
    let file = object::File::parse(elf).context("parsing an ELF file")?;
    let text = file.section_by_name(".text").context("no .text section")?;
    let end = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.section_index() == Some(text.index()))
        .map(|s| s.address() + s.size() - text.address())
        .max();
    match end {
        Some(end) => Ok(end),
        // A module without functions (the probe) has no code.
        None if text.size() == 0 => Ok(0),
        None => bail!("no function symbols in a .text of {} bytes", text.size()),
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let x64 = Isa::new(Some(X64), OptLevel::Speed)?;
    let a64 = Isa::new(Some(A64), OptLevel::Speed)?;
    let tmp = tempfile::tempdir()?;
    let wasmtime_x64 = wasmtime_for(X64, tmp.path());
    let wasmtime_status = wasmtime_for(A64, tmp.path());
    let wasmtime = wasmtime_status.is_ok();
    let mut rows = Vec::new();
    for name in PROGRAMS {
        let path = args.rust_corpus.join(format!("{name}.wasm"));
        let wasm = std::fs::read(&path).with_context(|| {
            format!(
                "{} (build the corpus with ../shared/corpus/build-rust-corpus.sh {})",
                path.display(),
                args.rust_corpus.display()
            )
        })?;
        let mut row = Row {
            module: name.into(),
            wasm_bytes: wasm.len() as u64,
            ..Row::default()
        };
        let x64_art = compile_wasm(&wasm, &x64)?;
        row.x64_text = text_bytes(&x64_art)?;
        if wasmtime_x64.is_ok() {
            let w = wasmtime_text(&path, tmp.path(), X64)?;
            row.wasmtime_x64_text = Some(w);
            row.x64_text_ratio_to_wasmtime = Some(row.x64_text as f64 / w as f64);
        }
        let a64_art = match compile_wasm(&wasm, &a64) {
            Ok(a) => Some(a),
            Err(e @ CompileError::Unsupported { .. }) => {
                row.aarch64_refused = Some(e.to_string());
                None
            }
            Err(e) => return Err(e.into()),
        };
        // The targets alternate, so that a change in the machine's load hits both.
        let (mut tx, mut ta) = (Vec::new(), Vec::new());
        for _ in 0..args.runs {
            let t = Instant::now();
            compile_wasm(&wasm, &x64)?;
            tx.push(t.elapsed().as_secs_f64() * 1e3);
            if a64_art.is_some() {
                let t = Instant::now();
                compile_wasm(&wasm, &a64)?;
                ta.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        row.x64_ms = median(tx);
        if let Some(a) = &a64_art {
            let ms = median(ta);
            let text = text_bytes(a)?;
            row.aarch64_ms = Some(ms);
            row.compile_ratio = Some(ms / row.x64_ms);
            row.aarch64_text = Some(text);
            row.text_ratio_to_x64 = Some(text as f64 / row.x64_text as f64);
            if wasmtime {
                let w = wasmtime_text(&path, tmp.path(), A64)?;
                row.wasmtime_aarch64_text = Some(w);
                row.text_ratio_to_wasmtime = Some(text as f64 / w as f64);
            }
        }
        rows.push(row);
    }

    println!(
        "{:<20} {:>9} {:>9} {:>7} {:>10} {:>10} {:>7} {:>12} {:>8}",
        "module",
        "x64 ms",
        "a64 ms",
        "a64/x64",
        "x64 .text",
        "a64 .text",
        "a64/x64",
        "wasmtime a64",
        "ours/wt"
    );
    let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |v| format!("{v:.p$}"));
    for r in &rows {
        if let Some(why) = &r.aarch64_refused {
            println!(
                "{:<20} {:>9.1} {:>9} aarch64 refused: {why}",
                r.module, r.x64_ms, "-"
            );
            continue;
        }
        println!(
            "{:<20} {:>9.1} {:>9} {:>7} {:>10} {:>10} {:>7} {:>12} {:>8}",
            r.module,
            r.x64_ms,
            opt(r.aarch64_ms, 1),
            opt(r.compile_ratio, 2),
            r.x64_text,
            r.aarch64_text.map_or("-".into(), |t| t.to_string()),
            opt(r.text_ratio_to_x64, 2),
            r.wasmtime_aarch64_text
                .map_or("-".into(), |t| t.to_string()),
            opt(r.text_ratio_to_wasmtime, 2),
        );
    }
    let compile: Vec<f64> = rows.iter().filter_map(|r| r.compile_ratio).collect();
    let to_x64: Vec<f64> = rows.iter().filter_map(|r| r.text_ratio_to_x64).collect();
    let to_wasmtime: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.text_ratio_to_wasmtime)
        .collect();
    println!(
        "geometric means over {} modules: compile a64/x64 {}, .text a64/x64 {}, .text ours/wasmtime (aarch64) {}",
        compile.len(),
        opt(geomean(&compile), 3),
        opt(geomean(&to_x64), 3),
        opt(geomean(&to_wasmtime), 3),
    );
    let x64_to_wasmtime: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.x64_text_ratio_to_wasmtime)
        .collect();
    println!(
        ".text ours/wasmtime on x86-64 over {} modules: geometric mean {}, largest {}",
        x64_to_wasmtime.len(),
        opt(geomean(&x64_to_wasmtime), 3),
        opt(x64_to_wasmtime.iter().copied().reduce(f64::max), 3),
    );
    for (t, status) in [(X64, &wasmtime_x64), (A64, &wasmtime_status)] {
        if let Err(why) = status {
            println!("wasmtime for {t}: {why}");
        }
    }
    println!("aarch64 run time is not measured: on this host its code runs only under emulation.");
    let json = serde_json::json!({
        "runs": args.runs,
        "modules": rows,
        "geomean_compile_ratio": geomean(&compile),
        "geomean_text_ratio_to_x64": geomean(&to_x64),
        "geomean_text_ratio_to_wasmtime": geomean(&to_wasmtime),
        "geomean_x64_text_ratio_to_wasmtime": geomean(&x64_to_wasmtime),
        "aarch64_run_time": "not measured: emulation only on this host",
        "wasmtime_x64": wasmtime_x64.err().unwrap_or_else(|| "compiles for x86-64".into()),
        "wasmtime_aarch64": wasmtime_status.err().unwrap_or_else(|| "compiles for aarch64".into()),
    });
    if let Some(dir) = args.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&json)?)?;
    println!("wrote {}", args.json.display());
    Ok(())
}

//! What interruption and host calls cost: corpus programs compiled with each interruption
//! mode (run time over `none`), and the time per call from the host into wasm and from
//! wasm into the host, untyped (`Val`s) and typed (`TypedFunc`, `Func::wrap`).
//!
//! `cargo run --release -p wasmprecomp-bench --bin embedding -- [--rust-corpus DIR] [--runs N]`
//! (the Rust corpus of the main benchmark: `target/corpus` by default).

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use wasmprecomp_bench::median;
use wasmprecomp_codegen::{compile_wasm, Interruption, Isa, OptLevel};
use wasmprecomp_runtime::wasi::{self, WasiCtx};
use wasmprecomp_runtime::{Engine, Extern, Func, FuncType, Linker, Module, Store, Val, ValType};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Rust corpus folder (see the main benchmark).
    #[arg(long, default_value = "target/corpus")]
    rust_corpus: PathBuf,
    /// Runs per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Calls per host-call measurement.
    #[arg(long, default_value_t = 5_000_000)]
    calls: u32,
}

const PROGRAMS: [&str; 4] = ["nbody", "fannkuch", "sha-digest", "image-filter"];

const MODES: [Interruption; 4] = [
    Interruption::NONE,
    Interruption {
        fuel: true,
        epoch: false,
    },
    Interruption {
        fuel: false,
        epoch: true,
    },
    Interruption {
        fuel: true,
        epoch: true,
    },
];

fn load(wasm: &[u8], interruption: Interruption) -> Result<Module> {
    let isa = Isa::new(None, OptLevel::Speed)?.with_interruption(interruption);
    let art = compile_wasm(wasm, &isa)?;
    // SAFETY: `art` is the artifact the compiler wrote just above, unmodified.
    Ok(unsafe { Module::from_bytes(&art) }?)
}

/// One run of a WASI command in a store for its interruption (fuel and deadline never
/// reached), in seconds, on a thread with room for the program's stack.
fn run_once(module: &Module, name: &str) -> Result<f64> {
    let module = module.clone();
    let program = name.to_string();
    let t = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || -> Result<f64> {
            let i = module.interruption();
            let mut store = Store::with_interruption(&Engine::new(), i);
            store.set_max_wasm_stack(48 << 20);
            if i.fuel {
                store.set_fuel(u64::MAX)?;
            }
            if i.epoch {
                store.set_epoch_deadline(u64::MAX)?;
            }
            let name = program;
            let mut ctx = WasiCtx::new();
            ctx.args([name.as_str()]);
            let _out = ctx.capture_stdout();
            let ctx = Arc::new(ctx);
            let mut linker = Linker::new();
            wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
            let start = Instant::now();
            let code = wasi::run_command(&mut store, &linker, &module, &ctx)?;
            anyhow::ensure!(code == 0, "{name} exited with {code}");
            Ok(start.elapsed().as_secs_f64())
        })?;
    t.join().map_err(|_| anyhow::anyhow!("{name} panicked"))?
}

fn interruption_costs(args: &Args) -> Result<()> {
    println!(
        "## Interruption: run time over `none` (median of {} runs)",
        args.runs
    );
    println!();
    println!("| program | none (ms) | fuel | epoch | fuel+epoch |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for p in PROGRAMS {
        let path = args.rust_corpus.join(format!("{p}.wasm"));
        let wasm = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let modules: Vec<Module> = MODES
            .iter()
            .map(|i| load(&wasm, *i))
            .collect::<Result<_>>()?;
        // Interleaved, so drift in the machine's speed touches every mode alike.
        let mut times = vec![Vec::new(); MODES.len()];
        for _ in 0..args.runs {
            for (m, t) in modules.iter().zip(&mut times) {
                t.push(run_once(m, p)?);
            }
        }
        let med: Vec<f64> = times.into_iter().map(median).collect();
        println!(
            "| {p} | {:.1} | {:.2}x | {:.2}x | {:.2}x |",
            med[0] * 1e3,
            med[1] / med[0],
            med[2] / med[0],
            med[3] / med[0]
        );
    }
    println!();
    Ok(())
}

const CALLS: &str = r#"(module
  (import "host" "inc" (func $inc (param i32) (result i32)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "call_host") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $next
      local.get $n i32.eqz br_if $done
      local.get $acc call $inc local.set $acc
      local.get $n i32.const 1 i32.sub local.set $n
      br $next))
    local.get $acc)
  (func (export "no_call") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $next
      local.get $n i32.eqz br_if $done
      local.get $acc i32.const 1 i32.add local.set $acc
      local.get $n i32.const 1 i32.sub local.set $n
      br $next))
    local.get $acc))"#;

fn ns_per_call(calls: u32, f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64() * 1e9 / calls as f64)
}

/// Host -> wasm and wasm -> host, in ns per call.
fn call_costs(
    store: &mut Store,
    typed: bool,
    n: u32,
    inst: wasmprecomp_runtime::Instance,
) -> Result<(f64, f64)> {
    let get = |store: &Store, name: &str| store.get_func(inst, name).context("export");
    let (add, call_host, no_call) = (
        get(store, "add")?,
        get(store, "call_host")?,
        get(store, "no_call")?,
    );
    let host_to_wasm = if typed {
        let f = add.typed::<(i32, i32), i32>(store)?;
        ns_per_call(n, || {
            let mut acc = 0;
            for _ in 0..n {
                acc = f.call(store, (acc, 1))?;
            }
            anyhow::ensure!(acc == n as i32);
            Ok(())
        })?
    } else {
        ns_per_call(n, || {
            let mut acc = 0;
            for _ in 0..n {
                acc = store.call(add, &[Val::I32(acc), Val::I32(1)])?[0].unwrap_i32();
            }
            anyhow::ensure!(acc == n as i32);
            Ok(())
        })?
    };
    let looped = ns_per_call(n, || {
        let r = store.call(call_host, &[Val::I32(n as i32)])?;
        anyhow::ensure!(r == [Val::I32(n as i32)]);
        Ok(())
    })?;
    let bare = ns_per_call(n, || {
        store.call(no_call, &[Val::I32(n as i32)])?;
        Ok(())
    })?;
    Ok((host_to_wasm, looped - bare))
}

fn host_call_costs(args: &Args) -> Result<()> {
    let wasm = wat::parse_str(CALLS)?;
    let module = load(&wasm, Interruption::NONE)?;
    let n = args.calls;
    println!(
        "## Host calls: ns per call (median of {} runs of {n} calls)",
        args.runs
    );
    println!();
    println!("| API | host -> wasm | wasm -> host |");
    println!("| --- | ---: | ---: |");
    for typed in [false, true] {
        let mut store = Store::new();
        let inc = if typed {
            Func::wrap(&mut store, |x: i32| x.wrapping_add(1))
        } else {
            let ty = FuncType {
                params: vec![ValType::I32],
                results: vec![ValType::I32],
            };
            store.new_func(
                ty,
                Arc::new(|_, a| Ok(vec![Val::I32(a[0].unwrap_i32().wrapping_add(1))])),
            )
        };
        let mut linker = Linker::new();
        linker.define("host", "inc", Extern::Func(inc));
        let inst = linker.instantiate(&mut store, &module)?;
        let (mut h2w, mut w2h) = (Vec::new(), Vec::new());
        for _ in 0..args.runs {
            let (a, b) = call_costs(&mut store, typed, n, inst)?;
            h2w.push(a);
            w2h.push(b);
        }
        let api = if typed {
            "typed (`TypedFunc::call`, `Func::wrap`)"
        } else {
            "untyped (`call` with `&[Val]`, `new_func`)"
        };
        println!("| {api} | {:.1} | {:.1} |", median(h2w), median(w2h));
    }
    println!();
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    host_call_costs(&args)?;
    interruption_costs(&args)?;
    Ok(())
}

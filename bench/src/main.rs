//! `cargo run --release -p wasmprecomp-bench -- [--quick]`: compile speed, cache effect,
//! hit rates and generated-code speed on the corpus, side by side with peers when they
//! are installed. Prints a table and writes JSON (default `target/bench/bench.json`).

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wasmprecomp_codegen::{BoundsChecks, Isa, OptLevel};
use wasmprecomp_driver::remote::RemoteConfig;
use wasmprecomp_driver::{compile_all, CacheSettings, DriverOptions, Input, Report};

// The same allocator as the cargo-wasmprecomp binary, so in-process numbers match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "wasmprecomp benchmarks")]
struct Args {
    /// A one-minute look: three small Rust modules, fewer runs, no npm corpus.
    #[arg(long)]
    quick: bool,
    /// Runs per measurement (median, min, max).
    #[arg(long)]
    runs: Option<usize>,
    /// Rust corpus folder (built with ../shared/corpus/build-rust-corpus.sh when missing).
    #[arg(long, default_value = "target/corpus")]
    rust_corpus: PathBuf,
    /// npm corpus folder (fetched with ../shared/corpus/fetch-npm-wasm.sh when missing).
    #[arg(long, default_value = "target/corpus-npm")]
    npm_corpus: PathBuf,
    /// Skip the npm corpus.
    #[arg(long)]
    no_npm: bool,
    /// Skip running the programs.
    #[arg(long)]
    no_run: bool,
    /// Where the JSON goes.
    #[arg(long, default_value = "target/bench/bench.json")]
    json: PathBuf,
    /// Shared corpus scripts.
    #[arg(long, default_value = "../shared/corpus")]
    shared: PathBuf,
    /// Internal: compile one module in this process and print peak RSS (KiB).
    #[arg(long, hide = true)]
    child_compile: Option<PathBuf>,
    /// Optimization level to benchmark.
    #[arg(long, default_value = "speed")]
    opt_level: String,
    /// Only the corpus modules whose path contains this text (repeatable); the workspace
    /// hit rate, edit scenario and programs then cover only what was selected.
    #[arg(long, value_name = "TEXT")]
    only: Vec<String>,
    /// Only the remote cache measurement, against this server (repeatable): machine B's
    /// run (an empty folder, everything from the remote) against a cold compile of the
    /// Rust corpus, and requests per module on module and manifest hits.
    #[arg(long, value_name = "URL")]
    remote: Vec<String>,
}

#[derive(Serialize, Debug, Clone, Default)]
struct Stat {
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
}

fn stat(mut v: Vec<f64>) -> Stat {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return Stat::default();
    }
    Stat {
        median_ms: v[v.len() / 2],
        min_ms: v[0],
        max_ms: v[v.len() - 1],
    }
}

#[derive(Serialize, Debug, Clone, Default)]
struct ModuleResult {
    module: String,
    source: String,
    wasm_bytes: u64,
    code_bytes: u64,
    functions: u64,
    status: String,
    reason: Option<String>,
    cold: Stat,
    /// Cold with one worker thread.
    cold_j1: Stat,
    /// Compile with the cache off (no cache writes), all cores.
    no_cache: Stat,
    functions_per_s_j1: f64,
    warm_module: Stat,
    /// A module-tier hit timed right after the `sync`, with no warm-up: a single run
    /// on a machine that was idle, cold CPU caches included.
    warm_module_after_idle: Stat,
    warm_module_after_idle_ratio: f64,
    /// Module tier off: the function tier, served by the module's manifest.
    warm_function: Stat,
    /// Module tier and manifests off: every function looked up on its own.
    warm_function_entries: Stat,
    warm_module_ratio: f64,
    warm_function_ratio: f64,
    warm_function_entries_ratio: f64,
    functions_per_s: f64,
    code_mb_per_s: f64,
    peak_rss_kib: u64,
    dedup_rate: f64,
    /// Wall time of the per-function lookups over the function hits, manifests off.
    hit_cost_us: f64,
    /// Manifest lookup and decode time over the functions it served.
    manifest_hit_cost_us: f64,
    wasmtime_compile: Option<Stat>,
    wasmtime_ratio: Option<f64>,
    /// Compile without cache / `wasmtime compile`.
    wasmtime_ratio_no_cache: Option<f64>,
    winch_compile: Option<Stat>,
}

/// One module of the workspace hit-rate run: what the cache of the modules before it
/// served, and what it compiled.
#[derive(Serialize, Debug, Clone, Default)]
struct WorkspaceHits {
    module: String,
    hits: u64,
    misses: u64,
}

#[derive(Serialize, Debug, Clone, Default)]
struct EditResult {
    module: String,
    cold: Stat,
    no_cache: Stat,
    ratio_to_no_cache: f64,
    edit: Stat,
    ratio: f64,
    hits: u64,
    misses: u64,
}

#[derive(Serialize, Debug, Clone, Default)]
struct RunResult {
    program: String,
    ours_ms: Option<f64>,
    native_ms: Option<f64>,
    ratio_to_native: Option<f64>,
    wasmtime_ms: Option<f64>,
    ratio_to_wasmtime: Option<f64>,
    /// The same program compiled with explicit bounds checks instead of guard pages.
    explicit_ms: Option<f64>,
    /// `ours_ms / explicit_ms`: what guard pages save.
    guard_vs_explicit: Option<f64>,
    output_matches: Option<bool>,
    note: Option<String>,
}

/// A `-simd` build against its scalar twin (ours) and against `wasmtime run` of itself.
#[derive(Serialize, Debug, Clone, Default)]
struct SimdResult {
    program: String,
    scalar_ms: Option<f64>,
    simd_ms: Option<f64>,
    /// Our `-simd` run time / our scalar run time.
    simd_vs_scalar: Option<f64>,
    wasmtime_simd_ms: Option<f64>,
    /// Our `-simd` run time / `wasmtime run` of the `-simd` build.
    simd_vs_wasmtime: Option<f64>,
    /// Cold compile of the `-simd` module / cold compile of the scalar one.
    compile_vs_scalar: Option<f64>,
}

#[derive(Serialize, Debug, Clone, Default)]
struct Bench {
    tool_version: String,
    opt_level: String,
    runs: usize,
    quick: bool,
    wasmtime: Option<String>,
    modules: Vec<ModuleResult>,
    workspace_hit_rate: f64,
    /// Each module's function-tier hits and misses in the workspace run, in order.
    workspace: Vec<WorkspaceHits>,
    edit: Vec<EditResult>,
    programs: Vec<RunResult>,
    simd: Vec<SimdResult>,
    /// Geometric mean of `simd_vs_wasmtime` over the programs that have it.
    simd_vs_wasmtime_geomean: Option<f64>,
    total_s: f64,
}

/// Pairs every `-simd` program and module with its scalar twin.
fn simd_results(
    modules: &[ModuleResult],
    programs: &[RunResult],
) -> (Vec<SimdResult>, Option<f64>) {
    let cold = |name: &str| {
        modules
            .iter()
            .find(|m| m.status == "ok" && m.module.trim_end_matches(".wasm") == name)
            .map(|m| m.cold.median_ms)
    };
    let mut out = Vec::new();
    for p in programs {
        let Some(base) = p.program.strip_suffix("-simd") else {
            continue;
        };
        let scalar = programs.iter().find(|q| q.program == base);
        let scalar_ms = scalar.and_then(|q| q.ours_ms);
        let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
        out.push(SimdResult {
            program: p.program.clone(),
            scalar_ms,
            simd_ms: p.ours_ms,
            simd_vs_scalar: ratio(p.ours_ms, scalar_ms),
            wasmtime_simd_ms: p.wasmtime_ms,
            simd_vs_wasmtime: ratio(p.ours_ms, p.wasmtime_ms),
            compile_vs_scalar: ratio(cold(&p.program), cold(base)),
        });
    }
    let ratios: Vec<f64> = out.iter().filter_map(|r| r.simd_vs_wasmtime).collect();
    let geomean = (!ratios.is_empty())
        .then(|| (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp());
    (out, geomean)
}

/// Peak resident memory of this process image (VmHWM). Unlike `ru_maxrss`, it does not
/// carry over the parent's memory across fork and exec.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

fn code_section_bytes(wasm: &[u8]) -> u64 {
    for p in wasmparser::Parser::new(0).parse_all(wasm).flatten() {
        if let wasmparser::Payload::CodeSectionStart { size, .. } = p {
            return size as u64;
        }
    }
    0
}

#[derive(Clone)]
struct Compiler {
    opt: OptLevel,
    /// Guard pages (the default) or explicit checks.
    bounds: BoundsChecks,
    jobs: Option<usize>,
    /// A remote cache behind the folder (`--remote`).
    remote: Option<RemoteConfig>,
}

impl Compiler {
    /// One timed run: the file system is flushed ([`settle`]), then `warm_up` runs
    /// untimed, then `run`, whose report is returned. Without the warm-up every timed run
    /// would start on a machine that just sat idle in the flush, and pay for it (about
    /// 150 µs here, on cold CPU caches and kernel paths): most of a small module's hit.
    fn timed(
        &self,
        warm_up: impl Fn(&Compiler) -> Result<Report>,
        run: impl Fn(&Compiler) -> Result<Report>,
    ) -> Result<Report> {
        settle();
        warm_up(self)?;
        run(self)
    }

    fn run(
        &self,
        inputs: &[PathBuf],
        cache: Option<&Path>,
        no_module: bool,
        out: &Path,
    ) -> Result<Report> {
        self.run_with(inputs, cache, no_module, false, out)
    }

    fn run_with(
        &self,
        inputs: &[PathBuf],
        cache: Option<&Path>,
        no_module: bool,
        no_manifest: bool,
        out: &Path,
    ) -> Result<Report> {
        let opts = DriverOptions {
            isa: Isa::new(None, self.opt)?.with_bounds_checks(self.bounds),
            cache: CacheSettings {
                dir: cache.map(|p| p.to_path_buf()),
                disabled: cache.is_none(),
                no_module_cache: no_module,
                no_manifest,
                remote: self.remote.clone(),
                ..Default::default()
            },
            out_dir: out.to_path_buf(),
            jobs: self.jobs,
            progress: None,
        };
        let ins: Vec<Input> = inputs.iter().map(|p| Input { path: p.clone() }).collect();
        let mut w = Vec::new();
        Ok(compile_all(&ins, &opts, &mut w))
    }
}

/// `--remote`: per server, the median of `runs` of a cold compile (an empty folder, no
/// remote) and of machine B (an empty folder, everything from the remote machine A
/// filled), their ratio, and the requests per module of B (module hits) and of a run
/// with the module tier off (manifest hits).
fn remote_bench(opt: OptLevel, inputs: &[PathBuf], urls: &[String], runs: usize) -> Result<()> {
    let work = tempfile::tempdir()?;
    let local = Compiler {
        opt,
        bounds: BoundsChecks::Guard,
        jobs: None,
        remote: None,
    };
    let n = inputs.len() as f64;
    println!(
        "remote cache, {} Rust corpus modules, median of {runs} runs",
        inputs.len()
    );
    println!("| server | cold compile ms | machine B ms | B / cold | requests per module, module hit | requests per module, manifest hit |");
    println!("|---|---|---|---|---|---|");
    for (i, url) in urls.iter().enumerate() {
        let config = RemoteConfig::new(url)?;
        let shown = config.display_url().to_string();
        let remote = Compiler {
            opt,
            bounds: BoundsChecks::Guard,
            jobs: None,
            remote: Some(config),
        };
        let (mut cold, mut b) = (Vec::new(), Vec::new());
        let (mut module_req, mut manifest_req) = (0.0, 0.0);
        for r in 0..runs {
            let d = work.path().join(format!("{i}-{r}"));
            settle();
            let t = Instant::now();
            local.run(inputs, Some(&d.join("cold-cache")), false, &d.join("cold"))?;
            cold.push(t.elapsed().as_secs_f64() * 1000.0);
            // Machine A fills the remote (from the second run on, it is already full).
            remote.run(inputs, Some(&d.join("a-cache")), false, &d.join("a"))?;
            settle();
            let t = Instant::now();
            let rb = remote.run(inputs, Some(&d.join("b-cache")), false, &d.join("b"))?;
            b.push(t.elapsed().as_secs_f64() * 1000.0);
            let rr = rb.remote.as_deref().context("no remote in the report")?;
            if rr.module_hits as usize != inputs.len() {
                bail!(
                    "{shown}: machine B had {} module hits of {}",
                    rr.module_hits,
                    inputs.len()
                );
            }
            module_req = rr.requests as f64 / n;
            let rm = remote.run(inputs, Some(&d.join("m-cache")), true, &d.join("m"))?;
            let rm = rm.remote.as_deref().context("no remote in the report")?;
            // With the module tier off there is no module lookup: a module miss is one
            // more request in front of the manifest's.
            manifest_req = rm.requests as f64 / n + 1.0;
        }
        let (c, bb) = (stat(cold).median_ms, stat(b).median_ms);
        println!(
            "| {shown} | {c:.0} | {bb:.1} | {:.3} | {module_req:.2} | {manifest_req:.2} |",
            bb / c
        );
    }
    Ok(())
}

/// Flushes the file system before a timed run, so that no run pays for the writeback of
/// earlier ones. Cache folders are never deleted while the bench runs (each run gets a
/// fresh one; the work folder goes at the end): on ext4, creating a file within about
/// 30 s of deleting many scans past every recently deleted inode, which made a cold
/// compile right after a deleted cache several times slower than any real first build.
fn settle() {
    rustix::fs::sync();
}

/// Runs `script` from the shared corpus folder into `dir` unless `marker` exists there.
fn ensure_corpus(args: &Args, dir: &Path, marker: &str, script: &str) -> Result<()> {
    if dir.join(marker).is_file() {
        return Ok(());
    }
    eprintln!("{script}: writing the corpus into {} ...", dir.display());
    let st = Command::new("bash")
        .arg(args.shared.join(script))
        .arg(dir)
        .status()
        .with_context(|| format!("running {script}"))?;
    if !st.success() {
        bail!("{script} failed");
    }
    Ok(())
}

fn wasm_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "wasm") {
                    out.push(p);
                }
            }
        }
    }
    walk(dir, &mut out);
    out.sort();
    out
}

fn wasmtime_version() -> Option<String> {
    let o = Command::new("wasmtime").arg("--version").output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn time_cmd(cmd: &mut Command) -> Option<f64> {
    let t = Instant::now();
    let st = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    st.success().then(|| t.elapsed().as_secs_f64() * 1000.0)
}

fn child_compile(path: &Path, opt: OptLevel) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let c = Compiler {
        opt,
        bounds: BoundsChecks::Guard,
        jobs: None,
        remote: None,
    };
    c.run(&[path.to_path_buf()], None, false, tmp.path())?;
    println!("{}", peak_rss_kib());
    Ok(())
}

fn main() -> Result<()> {
    // As the cargo-wasmprecomp binary does (see its main).
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let args = Args::parse();
    let opt = OptLevel::parse(&args.opt_level).context("--opt-level speed|none")?;
    if let Some(p) = &args.child_compile {
        return child_compile(p, opt);
    }
    let t_all = Instant::now();
    let runs = args.runs.unwrap_or(if args.quick { 3 } else { 5 });
    ensure_corpus(
        &args,
        &args.rust_corpus,
        "nbody.wasm",
        "build-rust-corpus.sh",
    )?;
    let mut modules: Vec<(PathBuf, &str)> = Vec::new();
    // The scalar programs, the two library builds, then the SIMD programs.
    let (scalar, simd) = wasmprecomp_bench::PROGRAMS.split_at(8);
    let kernels = ["kernels-cdylib", "kernels-cdylib-unknown"];
    let rust_names = scalar.iter().chain(&kernels).chain(simd).copied();
    let quick_names = ["nbody", "sha-digest", "kernels-cdylib"];
    for n in rust_names {
        if args.quick && !quick_names.contains(&n) {
            continue;
        }
        modules.push((args.rust_corpus.join(format!("{n}.wasm")), "rust"));
    }
    if !args.quick && !args.no_npm {
        match ensure_corpus(&args, &args.npm_corpus, "sources.tsv", "fetch-npm-wasm.sh") {
            Ok(()) => {
                for p in wasm_files(&args.npm_corpus) {
                    modules.push((p, "npm"));
                }
            }
            Err(e) => eprintln!("npm corpus unavailable: {e:#}"),
        }
    }
    if !args.only.is_empty() {
        modules.retain(|(p, _)| {
            let p = p.to_string_lossy();
            args.only.iter().any(|o| p.contains(o.as_str()))
        });
    }
    if !args.remote.is_empty() {
        let rust: Vec<PathBuf> = modules
            .iter()
            .filter(|(p, src)| *src == "rust" && !p.to_string_lossy().contains("kernels"))
            .map(|(p, _)| p.clone())
            .collect();
        return remote_bench(opt, &rust, &args.remote, runs);
    }
    let wasmtime = wasmtime_version();
    let comp = Compiler {
        opt,
        bounds: BoundsChecks::Guard,
        jobs: None,
        remote: None,
    };
    let comp_j1 = Compiler {
        opt,
        bounds: BoundsChecks::Guard,
        jobs: Some(1),
        remote: None,
    };
    let work = tempfile::tempdir()?;
    let self_exe = std::env::current_exe()?;
    let mut results = Vec::new();
    for (path, source) in &modules {
        let name = path
            .strip_prefix(if *source == "rust" {
                &args.rust_corpus
            } else {
                &args.npm_corpus
            })
            .unwrap_or(path)
            .display()
            .to_string();
        eprintln!("== {name}");
        let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mut r = ModuleResult {
            module: name.clone(),
            source: source.to_string(),
            wasm_bytes: wasm.len() as u64,
            code_bytes: code_section_bytes(&wasm),
            ..Default::default()
        };
        let out = work.path().join("out");
        let (mut cold, mut wm, mut wf, mut we, mut j1, mut nc) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let mut failed = None;
        let mut lookups = (0.0, 0u64);
        let mut manifest_lookups = (0.0, 0u64);
        let mut idle = Vec::new();
        for i in 0..runs {
            let m = results.len();
            let cache = work.path().join(format!("cache-{m}-{i}"));
            let cache_j1 = work.path().join(format!("cache-j1-{m}-{i}"));
            // Cold runs are warmed up by a compile without cache: a cold compile would
            // leave its many new files to be written back during the timed run. A first build has no artifact in place either: cold runs write into fresh
            // output folders.
            let scratch = |kind: &str| work.path().join(format!("warm-{kind}-{m}-{i}"));
            let fresh = |kind: &str| work.path().join(format!("out-{kind}-{m}-{i}"));
            let rep = comp.timed(
                |c| c.run(std::slice::from_ref(path), None, false, &scratch("cold")),
                |c| {
                    c.run(
                        std::slice::from_ref(path),
                        Some(&cache),
                        false,
                        &fresh("cold"),
                    )
                },
            )?;
            let m = &rep.modules[0];
            if let Some(e) = &m.error {
                failed = Some(e.message.clone());
                break;
            }
            cold.push(rep.totals.wall_ms);
            r.functions = m.functions;
            r.dedup_rate = m.function_cache.deduplicated as f64 / m.functions.max(1) as f64;
            settle();
            let rep = comp.run(std::slice::from_ref(path), Some(&cache), false, &out)?;
            idle.push(rep.totals.wall_ms);
            let hit = |c: &Compiler| c.run(std::slice::from_ref(path), Some(&cache), false, &out);
            let rep = comp.timed(hit, hit)?;
            wm.push(rep.totals.wall_ms);
            let hit = |c: &Compiler| c.run(std::slice::from_ref(path), Some(&cache), true, &out);
            let rep = comp.timed(hit, hit)?;
            wf.push(rep.totals.wall_ms);
            manifest_lookups.0 += rep.modules[0].timings_ms.cache_lookup;
            manifest_lookups.1 += rep.modules[0].function_cache.from_manifest;
            let hit = |c: &Compiler| {
                c.run_with(std::slice::from_ref(path), Some(&cache), true, true, &out)
            };
            let rep = comp.timed(hit, hit)?;
            we.push(rep.totals.wall_ms);
            lookups.0 += rep.modules[0].timings_ms.cache_lookup;
            lookups.1 += rep.modules[0].function_cache.served_by_cache;
            let rep = comp_j1.timed(
                |c| c.run(std::slice::from_ref(path), None, false, &scratch("j1")),
                |c| {
                    c.run(
                        std::slice::from_ref(path),
                        Some(&cache_j1),
                        false,
                        &fresh("j1"),
                    )
                },
            )?;
            j1.push(rep.totals.wall_ms);
            let nocache = |c: &Compiler| c.run(std::slice::from_ref(path), None, false, &out);
            let rep = comp.timed(nocache, nocache)?;
            nc.push(rep.totals.wall_ms);
        }
        if let Some(reason) = failed {
            r.status = "rejected".into();
            r.reason = Some(reason);
            results.push(r);
            continue;
        }
        r.status = "ok".into();
        r.cold = stat(cold);
        r.cold_j1 = stat(j1);
        r.no_cache = stat(nc);
        r.functions_per_s_j1 = r.functions as f64 / (r.cold_j1.median_ms / 1000.0);
        r.warm_module = stat(wm);
        r.warm_module_after_idle = stat(idle);
        r.warm_function = stat(wf);
        r.warm_function_entries = stat(we);
        r.warm_function_entries_ratio = r.warm_function_entries.median_ms / r.cold.median_ms;
        r.warm_module_ratio = r.warm_module.median_ms / r.cold.median_ms;
        r.warm_module_after_idle_ratio = r.warm_module_after_idle.median_ms / r.cold.median_ms;
        r.warm_function_ratio = r.warm_function.median_ms / r.cold.median_ms;
        r.functions_per_s = r.functions as f64 / (r.cold.median_ms / 1000.0);
        r.code_mb_per_s = r.code_bytes as f64 / 1e6 / (r.cold.median_ms / 1000.0);
        // Lookups run on all cores: this is wall time per hit, not CPU time.
        let per = |(ms, n): (f64, u64)| if n > 0 { 1000.0 * ms / n as f64 } else { 0.0 };
        r.hit_cost_us = per(lookups);
        r.manifest_hit_cost_us = per(manifest_lookups);
        let o = Command::new(&self_exe)
            .arg("--child-compile")
            .arg(path)
            .arg("--opt-level")
            .arg(&args.opt_level)
            .output()?;
        r.peak_rss_kib = String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        if wasmtime.is_some() {
            let cw = work.path().join("m.cwasm");
            let t: Vec<f64> = (0..runs)
                .filter_map(|_| {
                    time_cmd(
                        Command::new("wasmtime")
                            .arg("compile")
                            .arg(path)
                            .arg("-o")
                            .arg(&cw),
                    )
                })
                .collect();
            if !t.is_empty() {
                let s = stat(t);
                r.wasmtime_ratio = Some(r.cold.median_ms / s.median_ms);
                r.wasmtime_ratio_no_cache = Some(r.no_cache.median_ms / s.median_ms);
                r.wasmtime_compile = Some(s);
            }
            let t: Vec<f64> = (0..runs)
                .filter_map(|_| {
                    time_cmd(
                        Command::new("wasmtime")
                            .args(["compile", "-C", "compiler=winch"])
                            .arg(path)
                            .arg("-o")
                            .arg(&cw),
                    )
                })
                .collect();
            if !t.is_empty() {
                r.winch_compile = Some(stat(t));
            }
        }
        results.push(r);
    }

    // Across the workspace: one cache, modules in order, function tier only.
    let rust_ok: Vec<PathBuf> = results
        .iter()
        .filter(|r| r.source == "rust" && r.status == "ok")
        .map(|r| args.rust_corpus.join(&r.module))
        .collect();
    // The workspace hit rate is over distinct programs: a `-simd` build is a second build
    // of the same code (the manifest leaves them out too).
    let programs_ok: Vec<&PathBuf> = rust_ok
        .iter()
        .filter(|p| !p.to_string_lossy().ends_with("-simd.wasm"))
        .collect();
    let ws_cache = work.path().join("ws-cache");
    let mut hits = 0;
    let mut misses = 0;
    let mut workspace = Vec::new();
    for p in programs_ok {
        let rep = comp.run(
            std::slice::from_ref(p),
            Some(&ws_cache),
            true,
            &work.path().join("ws"),
        )?;
        hits += rep.totals.served_by_cache;
        misses += rep.totals.compiled;
        workspace.push(WorkspaceHits {
            module: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            hits: rep.totals.served_by_cache,
            misses: rep.totals.compiled,
        });
    }
    let workspace_hit_rate = hits as f64 / (hits + misses).max(1) as f64;

    // The edit scenarios: a module cached, then its edited build. `nbody-edit` changes
    // one function body; `text-stats-edit-text` makes one string literal longer, which
    // moves the static data after it (and the addresses in the code).
    let mut edit = Vec::new();
    for (base, edited) in [
        ("nbody", "nbody-edit"),
        ("text-stats", "text-stats-edit-text"),
    ] {
        let base = args.rust_corpus.join(format!("{base}.wasm"));
        let edited = args.rust_corpus.join(format!("{edited}.wasm"));
        if rust_ok.contains(&base) && edited.exists() {
            edit.push(edit_scenario(&comp, work.path(), runs, base, edited)?);
        }
    }

    let programs = if args.no_run {
        Vec::new()
    } else {
        run_programs(&args, &comp, work.path(), wasmtime.is_some(), runs.min(3))?
    };

    let (simd, simd_vs_wasmtime_geomean) = simd_results(&results, &programs);
    let bench = Bench {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        opt_level: args.opt_level.clone(),
        runs,
        quick: args.quick,
        wasmtime: wasmtime.clone(),
        modules: results,
        workspace_hit_rate,
        workspace,
        edit,
        programs,
        simd,
        simd_vs_wasmtime_geomean,
        total_s: t_all.elapsed().as_secs_f64(),
    };
    print_table(&bench);
    if let Some(d) = args.json.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&bench)?)?;
    eprintln!("wrote {}", args.json.display());
    Ok(())
}

/// Edits timed per run of an edit scenario.
const EDITS_PER_RUN: usize = 5;

/// One edit scenario: the cold compile of `edited`, its compile without cache, and its
/// compile into a cache that holds `base` (default settings, as a user rebuilding after
/// the edit has them), [`EDITS_PER_RUN`] times per run.
fn edit_scenario(
    comp: &Compiler,
    work: &Path,
    runs: usize,
    base: PathBuf,
    edited: PathBuf,
) -> Result<EditResult> {
    let name = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let stem = name(&edited);
    let (mut cold, mut ed, mut nc) = (Vec::new(), Vec::new(), Vec::new());
    let (mut h, mut m) = (0, 0);
    for i in 0..runs {
        let dir = |name: &str| work.join(format!("edit-{stem}-{name}-{i}"));
        let rep = comp.timed(
            |c| c.run(std::slice::from_ref(&edited), None, false, &dir("warm")),
            |c| {
                c.run(
                    std::slice::from_ref(&edited),
                    Some(&dir("empty")),
                    false,
                    &dir("e"),
                )
            },
        )?;
        cold.push(rep.totals.wall_ms);
        let nocache = |c: &Compiler| c.run(std::slice::from_ref(&edited), None, false, &dir("e"));
        let rep = comp.timed(nocache, nocache)?;
        nc.push(rep.totals.wall_ms);
        // Default settings, as a user rebuilding after the edit has them: the module
        // tier misses, and the new artifact is stored and written. The warm-up edits
        // a cache of its own, prepared the same way. An edit takes a few percent of a
        // cold compile, and its time moves with the state of the page cache more than
        // a cold compile's does: each run times several edits, each into a cache of
        // its own.
        for j in 0..EDITS_PER_RUN {
            let dir = |name: &str| work.join(format!("edit-{stem}-{name}-{i}-{j}"));
            // `module` compiled into the cache `name` (its artifact beside the entries).
            let into = |c: &Compiler, module: &PathBuf, name: &str| {
                let d = dir(name);
                c.run(std::slice::from_ref(module), Some(&d), false, &d)
            };
            for name in ["cache", "warm-cache"] {
                into(comp, &base, name)?;
            }
            let rep = comp.timed(
                |c| into(c, &edited, "warm-cache"),
                |c| into(c, &edited, "cache"),
            )?;
            ed.push(rep.totals.wall_ms);
            h = rep.totals.served_by_cache;
            m = rep.totals.compiled;
        }
    }
    let (c, e, n) = (stat(cold), stat(ed), stat(nc));
    Ok(EditResult {
        module: format!("{} -> {}", name(&base), name(&edited)),
        ratio: e.median_ms / c.median_ms,
        ratio_to_no_cache: e.median_ms / n.median_ms,
        no_cache: n,
        cold: c,
        edit: e,
        hits: h,
        misses: m,
    })
}

/// Runs the corpus WASI programs under our runtime, natively, and under wasmtime.
fn run_programs(
    args: &Args,
    comp: &Compiler,
    work: &Path,
    wasmtime: bool,
    runs: usize,
) -> Result<Vec<RunResult>> {
    let programs = wasmprecomp_bench::PROGRAMS;
    let quick = ["nbody", "sha-digest", "nbody-simd", "sha-digest-simd"];
    // Native builds of the same programs.
    let native_dir = work.join("native-target");
    let ws = args.shared.join("rust-workspace");
    let native_ok = Command::new("cargo")
        .args(["build", "--release", "--locked", "--quiet"])
        .arg("--manifest-path")
        .arg(ws.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&native_dir)
        .env("CARGO_BUILD_JOBS", "2")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let mut out = Vec::new();
    for p in programs {
        if args.quick && !quick.contains(&p) {
            continue;
        }
        if !args.only.is_empty() && !args.only.iter().any(|o| p.contains(o.as_str())) {
            continue;
        }
        let wasm = args.rust_corpus.join(format!("{p}.wasm"));
        let mut r = RunResult {
            program: p.into(),
            ..Default::default()
        };
        let rep = comp.run(std::slice::from_ref(&wasm), None, false, &work.join("run"))?;
        let Some(artifact) = rep.modules[0].output.clone() else {
            r.note = Some("did not compile".into());
            out.push(r);
            continue;
        };
        // SAFETY: the compile just above (no cache) wrote this artifact into the work folder.
        let module = unsafe { wasmprecomp_runtime::Module::from_file(&artifact) }?;
        let mut ours = Vec::new();
        let mut our_out = String::new();
        for _ in 0..runs {
            let t = Instant::now();
            match wasmprecomp_driver::run::run_command_with(
                module.clone(),
                vec![p.to_string()],
                true,
            ) {
                Ok((0, stdout)) => {
                    ours.push(t.elapsed().as_secs_f64() * 1000.0);
                    our_out = String::from_utf8_lossy(&stdout.unwrap_or_default()).to_string();
                }
                Ok((code, _)) => r.note = Some(format!("exit code {code}")),
                Err(e) => r.note = Some(format!("{e}")),
            }
        }
        r.ours_ms = (!ours.is_empty()).then(|| stat(ours).median_ms);
        r.explicit_ms = time_ours(comp, &wasm, p, &work.join("run-explicit"), runs)?;
        if let (Some(o), Some(e)) = (r.ours_ms, r.explicit_ms) {
            r.guard_vs_explicit = Some(o / e);
        }
        if native_ok {
            // A `-simd` build is the same program: compared with its native build.
            let exe = native_dir
                .join("release")
                .join(p.strip_suffix("-simd").unwrap_or(p));
            let t: Vec<f64> = (0..runs)
                .filter_map(|_| time_cmd(&mut Command::new(&exe)))
                .collect();
            r.native_ms = (!t.is_empty()).then(|| stat(t).median_ms);
            if let Ok(o) = Command::new(&exe).output() {
                r.output_matches = Some(String::from_utf8_lossy(&o.stdout) == our_out);
            }
        }
        if wasmtime {
            // Precompiled, like ours: the run time excludes compilation.
            let cw = work.join(format!("{p}.cwasm"));
            let compiled = Command::new("wasmtime")
                .arg("compile")
                .arg(&wasm)
                .arg("-o")
                .arg(&cw)
                .status()
                .is_ok_and(|s| s.success());
            if compiled {
                let t: Vec<f64> = (0..runs)
                    .filter_map(|_| {
                        time_cmd(
                            Command::new("wasmtime")
                                .args(["run", "--allow-precompiled"])
                                .arg(&cw),
                        )
                    })
                    .collect();
                r.wasmtime_ms = (!t.is_empty()).then(|| stat(t).median_ms);
            }
        }
        if let (Some(o), Some(n)) = (r.ours_ms, r.native_ms) {
            r.ratio_to_native = Some(o / n);
        }
        if let (Some(o), Some(w)) = (r.ours_ms, r.wasmtime_ms) {
            r.ratio_to_wasmtime = Some(o / w);
        }
        out.push(r);
    }
    Ok(out)
}

/// The median time of `runs` in-process runs of program `p` compiled (no cache) with
/// explicit bounds checks; `None` when it does not compile or run.
fn time_ours(
    comp: &Compiler,
    wasm: &Path,
    p: &str,
    out: &Path,
    runs: usize,
) -> Result<Option<f64>> {
    let explicit = Compiler {
        bounds: BoundsChecks::Explicit,
        ..comp.clone()
    };
    let rep = explicit.run(&[wasm.to_path_buf()], None, false, out)?;
    let Some(artifact) = rep.modules[0].output.clone() else {
        return Ok(None);
    };
    // SAFETY: the compile just above (no cache) wrote this artifact into the work folder.
    let module = unsafe { wasmprecomp_runtime::Module::from_file(&artifact) }?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        if let Ok((0, _)) =
            wasmprecomp_driver::run::run_command_with(module.clone(), vec![p.to_string()], true)
        {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok((!times.is_empty()).then(|| stat(times).median_ms))
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "not installed".into())
}

fn print_table(b: &Bench) {
    println!(
        "\nCompile ({} runs each, median [min-max] ms; ratios measured in the same run)\n",
        b.runs
    );
    println!(
        "{:<44} {:>6} {:>22} {:>8} {:>8} {:>10} {:>10} {:>9} {:>9} {:>7} {:>9} {:>8} {:>8} {:>7} {:>14}",
        "module",
        "funcs",
        "cold ms (-j2)",
        "funcs/s",
        "MB/s",
        "-j1 ms",
        "no-cache",
        "mod-hit",
        "idle hit",
        "fn-hit",
        "fn-entries",
        "hit us",
        "peak MiB",
        "dedup",
        "vs wasmtime (cold/no-cache)"
    );
    for r in &b.modules {
        if r.status != "ok" {
            println!(
                "{:<44} rejected: {}",
                r.module,
                r.reason.as_deref().unwrap_or("")
            );
            continue;
        }
        println!(
            "{:<44} {:>6} {:>8.1} [{:.1}-{:.1}] {:>8.0} {:>8.2} {:>10.1} {:>10.1} {:>8.1}% {:>8.1}% {:>6.1}% {:>8.1}% {:>8.1} {:>8.1} {:>6.1}% {:>14}",
            r.module,
            r.functions,
            r.cold.median_ms,
            r.cold.min_ms,
            r.cold.max_ms,
            r.functions_per_s,
            r.code_mb_per_s,
            r.cold_j1.median_ms,
            r.no_cache.median_ms,
            100.0 * r.warm_module_ratio,
            100.0 * r.warm_module_after_idle_ratio,
            100.0 * r.warm_function_ratio,
            100.0 * r.warm_function_entries_ratio,
            r.hit_cost_us,
            r.peak_rss_kib as f64 / 1024.0,
            100.0 * r.dedup_rate,
            opt(r.wasmtime_ratio, |x| format!(
                "{:.2}x/{:.2}x",
                x,
                r.wasmtime_ratio_no_cache.unwrap_or(0.0)
            )),
        );
    }
    println!(
        "\nfunction-tier hit rate across the Rust workspace modules: {:.1}%",
        100.0 * b.workspace_hit_rate
    );
    for w in &b.workspace {
        println!(
            "  {:<22} {:>6} hits {:>6} misses {:>6.1}%",
            w.module,
            w.hits,
            w.misses,
            100.0 * w.hits as f64 / (w.hits + w.misses).max(1) as f64
        );
    }
    for e in &b.edit {
        println!(
            "edit scenario {}: cold {:.1} ms (no cache {:.1} ms), edit {:.1} ms (min {:.1}, max {:.1}) = {:.1}% of cold, {:.1}% of no-cache ({} hits, {} misses)",
            e.module,
            e.cold.median_ms,
            e.no_cache.median_ms,
            e.edit.median_ms,
            e.edit.min_ms,
            e.edit.max_ms,
            100.0 * e.ratio,
            100.0 * e.ratio_to_no_cache,
            e.hits,
            e.misses
        );
    }
    if !b.programs.is_empty() {
        println!("\nGenerated code (median ms; ratio = ours / other)\n");
        println!(
            "{:<16} {:>10} {:>10} {:>9} {:>14} {:>9} {:>10} {:>11} {:>8}",
            "program",
            "ours",
            "native",
            "x native",
            "wasmtime",
            "x wtime",
            "explicit",
            "guard/expl",
            "output"
        );
        for p in &b.programs {
            println!(
                "{:<16} {:>10} {:>10} {:>9} {:>14} {:>9} {:>10} {:>11} {:>8}",
                p.program,
                p.ours_ms
                    .map(|x| format!("{x:.1}"))
                    .unwrap_or_else(|| p.note.clone().unwrap_or_default()),
                p.native_ms.map(|x| format!("{x:.1}")).unwrap_or("-".into()),
                p.ratio_to_native
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or("-".into()),
                opt(p.wasmtime_ms, |x| format!("{x:.1}")),
                p.ratio_to_wasmtime
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or("-".into()),
                p.explicit_ms
                    .map(|x| format!("{x:.1}"))
                    .unwrap_or("-".into()),
                p.guard_vs_explicit
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or("-".into()),
                match p.output_matches {
                    Some(true) => "same",
                    Some(false) => "DIFFERS",
                    None => "-",
                }
            );
        }
    }
    if !b.simd.is_empty() {
        println!("\nSIMD builds (median ms; ratios in this run)\n");
        println!(
            "{:<20} {:>10} {:>10} {:>12} {:>14} {:>12} {:>14}",
            "program",
            "scalar",
            "simd",
            "simd/scalar",
            "wasmtime simd",
            "x wtime",
            "compile/scalar"
        );
        let f = |v: Option<f64>, d: usize| v.map(|x| format!("{x:.d$}")).unwrap_or("-".into());
        for r in &b.simd {
            println!(
                "{:<20} {:>10} {:>10} {:>12} {:>14} {:>12} {:>14}",
                r.program,
                f(r.scalar_ms, 1),
                f(r.simd_ms, 1),
                f(r.simd_vs_scalar, 2),
                opt(r.wasmtime_simd_ms, |x| format!("{x:.1}")),
                f(r.simd_vs_wasmtime, 2),
                f(r.compile_vs_scalar, 2),
            );
        }
        if let Some(g) = b.simd_vs_wasmtime_geomean {
            println!("geometric mean of simd x wtime: {g:.2}");
        }
    }
    println!(
        "\nwasmtime: {}",
        b.wasmtime.as_deref().unwrap_or("not installed")
    );
    println!("total: {:.0} s", b.total_s);
}

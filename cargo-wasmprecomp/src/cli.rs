//! Command-line interface: parsing and dispatch only; the work is in the library modules.

use crate::driver::{self, CacheSettings, DriverOptions, Input};
use crate::workspace::{self, BuildOutcome, Selection};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use wasmprecomp_cache::{Cache, CacheConfig, Mode};
use wasmprecomp_codegen::{Isa, OptLevel};

/// Exit codes (documented in the README).
pub mod exit {
    /// Every module compiled (or the command succeeded).
    pub const OK: i32 = 0;
    /// At least one module failed to compile (the others were still compiled).
    pub const MODULE_FAILED: i32 = 1;
    /// Bad usage or configuration: unknown flag or target, no wasm found, unwritable
    /// output folder.
    pub const USAGE: i32 = 2;
}

#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo", version)]
pub enum CargoCli {
    /// Precompile the workspace's WebAssembly to native code.
    Wasmprecomp(Cli),
}

#[derive(Args, Debug)]
#[command(
    version,
    args_conflicts_with_subcommands = true,
    about = "Precompile a workspace's WebAssembly to native code, reusing every function compiled before"
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Compile wasm modules (the default command).
    Build(Box<BuildArgs>),
    /// Run a WASI command module (an artifact, or a .wasm compiled through the cache).
    Run(RunArgs),
    /// Write a CI workflow and a build.rs snippet from the templates.
    Init(InitArgs),
    /// Inspect and maintain the cache.
    Cache {
        #[command(subcommand)]
        cmd: CacheCmd,
        #[command(flatten)]
        cache: CacheArgs,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct CacheArgs {
    /// Cache folder (default: $WASMPRECOMP_CACHE_DIR, else ~/.cache/wasmprecomp).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not use the cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Serve cache hits but write nothing.
    #[arg(long, global = true)]
    pub cache_read_only: bool,
    /// Skip the whole-module tier (the function tier does all the work).
    #[arg(long, global = true)]
    pub no_module_cache: bool,
    /// Skip module manifests: every function is validated, turned into a stencil and
    /// looked up on its own.
    #[arg(long, global = true)]
    pub no_manifest: bool,
    /// Cache size limit, e.g. 500M or 2G (default: $WASMPRECOMP_CACHE_SIZE, else 2G).
    #[arg(long, global = true, value_name = "SIZE")]
    pub cache_size: Option<String>,
    /// Recompile every cache hit and fail if the bytes differ.
    #[arg(
        long,
        global = true,
        env = "WASMPRECOMP_CACHE_CHECK",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub cache_check: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum MessageFormat {
    #[default]
    Human,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug, Clone, Default)]
pub struct BuildArgs {
    /// Wasm modules to compile (default: the workspace's wasm artifacts).
    #[arg(value_name = "WASM")]
    pub wasm: Vec<PathBuf>,
    /// Run `cargo build --target <wasm target>` first and compile what it produced.
    #[arg(long)]
    pub build: bool,
    /// The wasm target to build for and look in.
    #[arg(long, default_value = "wasm32-wasip1", value_name = "TRIPLE")]
    pub wasm_target: String,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Package(s) to compile (repeatable).
    #[arg(short, long = "package", value_name = "SPEC")]
    pub package: Vec<String>,
    /// All workspace members.
    #[arg(long)]
    pub workspace: bool,
    /// Exclude package(s) (with --workspace).
    #[arg(long, value_name = "SPEC")]
    pub exclude: Vec<String>,
    /// Use the release profile.
    #[arg(short, long, conflicts_with = "profile")]
    pub release: bool,
    /// Cargo profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Cargo's target folder.
    #[arg(long, env = "CARGO_TARGET_DIR", value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Native target triple to compile for (default: the host).
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// `speed` (better code) or `none` (fastest compile).
    #[arg(long, default_value = "speed", value_name = "LEVEL")]
    pub opt_level: String,
    /// Where artifacts go (default: <target-dir>/wasmprecomp/<triple>/<profile>/).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Where the JSON report goes (default: <out-dir>/report.json).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// `json` prints the report on stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub message_format: MessageFormat,
    /// Parallel jobs (default: one per core).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Coloring.
    #[arg(long, value_enum, env = "CARGO_TERM_COLOR", value_name = "WHEN")]
    pub color: Option<Color>,
    /// No human output.
    #[arg(short, long)]
    pub quiet: bool,
    /// More output.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub cache: CacheArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// An artifact (.wpc) or a wasm module (.wasm).
    pub file: PathBuf,
    /// Arguments for the program.
    #[arg(last = true)]
    pub args: Vec<String>,
    /// Native target (must be the host to run).
    #[arg(long, default_value = "speed", value_name = "LEVEL")]
    pub opt_level: String,
    #[command(flatten)]
    pub cache: CacheArgs,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Path to Cargo.toml of the workspace to set up.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum CacheCmd {
    /// Cumulative statistics and entry counts.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Evict entries: least recently used first down to the size limit, and/or older ones.
    Gc {
        /// Size to shrink to (default: the configured limit).
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
        /// Also remove entries not used for this long, e.g. 30d, 12h, 90m.
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
    },
    /// Check every entry; remove damaged ones.
    Verify,
    /// Remove every entry.
    Clear,
    /// Print the cache folder.
    Dir,
}

impl CacheArgs {
    pub fn settings(&self) -> Result<CacheSettings> {
        let max_size = match &self.cache_size {
            Some(s) => Some(
                wasmprecomp_cache::parse_size(s).with_context(|| format!("--cache-size {s}"))?,
            ),
            None => None,
        };
        Ok(CacheSettings {
            dir: self.cache_dir.clone(),
            disabled: self.no_cache,
            read_only: self.cache_read_only,
            max_size,
            no_module_cache: self.no_module_cache,
            no_manifest: self.no_manifest,
            check: self.cache_check,
        })
    }
}

/// Whether a progress bar may be shown.
fn progress_allowed(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// An error that maps to a specific exit code.
#[derive(Debug)]
pub struct Exit(pub i32, pub String);
impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}
impl std::error::Error for Exit {}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    Exit(exit::USAGE, msg.into()).into()
}

fn parse_opt(s: &str) -> Result<OptLevel> {
    OptLevel::parse(s)
        .ok_or_else(|| usage(format!("unknown --opt-level `{s}` (use `speed` or `none`)")))
}

/// Runs the CLI; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.cmd {
        None => build(cli.build),
        Some(Cmd::Build(b)) => build(*b),
        Some(Cmd::Run(r)) => crate::run::run(r),
        Some(Cmd::Init(i)) => crate::init::init(i),
        Some(Cmd::Cache { cmd, cache }) => cache_cmd(cmd, cache),
    }
}

fn build(a: BuildArgs) -> Result<i32> {
    let opt = parse_opt(&a.opt_level)?;
    let isa = Isa::new(a.target.as_deref(), opt).map_err(|e| usage(e.to_string()))?;
    let cache = a.cache.settings().map_err(|e| usage(format!("{e:#}")))?;
    let profile = match (&a.profile, a.release) {
        (Some(p), _) => p.clone(),
        (None, true) => "release".into(),
        (None, false) => "dev".into(),
    };
    let sel = Selection {
        manifest_path: a.manifest_path.clone(),
        packages: a.package.clone(),
        workspace: a.workspace,
        exclude: a.exclude.clone(),
        profile,
        target_dir: a.target_dir.clone(),
        wasm_target: a.wasm_target.clone(),
    };
    let color = a.color.map(|c| match c {
        Color::Auto => "auto",
        Color::Always => "always",
        Color::Never => "never",
    });
    // A missing input is reported per module below; the others are still compiled.
    let mut inputs: Vec<PathBuf> = a.wasm.clone();
    let explicit_only = !inputs.is_empty() && !a.build && a.package.is_empty();
    let meta = if explicit_only && a.manifest_path.is_none() {
        // Only the target folder is wanted from cargo (for the default out folder);
        // asking it costs a `cargo metadata` process, about 20 ms.
        if a.out_dir.is_some() || sel.target_dir.is_some() {
            None
        } else {
            workspace::metadata(&sel).ok()
        }
    } else {
        Some(workspace::metadata(&sel).map_err(|e| usage(format!("{e:#}")))?)
    };
    if a.build {
        match workspace::cargo_build(&sel, a.quiet, color)? {
            BuildOutcome::Built(files) => inputs.extend(files),
            BuildOutcome::Failed(code) => {
                eprintln!("error: `cargo build --target {}` failed", sel.wasm_target);
                return Ok(code);
            }
        }
    } else if !explicit_only {
        if let Some(m) = &meta {
            inputs.extend(workspace::existing_wasm(&sel, m)?);
        }
    }
    if inputs.is_empty() {
        return Err(usage(format!(
            "no .wasm artifacts found for target `{}` and profile `{}`; build them first (e.g. with --build) or pass .wasm paths",
            sel.wasm_target,
            sel.profile_dir()
        )));
    }
    let target_dir = sel
        .target_dir
        .clone()
        .or_else(|| meta.as_ref().map(|m| workspace::target_dir(&sel, m)))
        .unwrap_or_else(|| PathBuf::from("target"));
    let out_dir = a.out_dir.clone().unwrap_or_else(|| {
        target_dir
            .join("wasmprecomp")
            .join(isa.triple().to_string())
            .join(sel.profile_dir())
    });
    std::fs::create_dir_all(&out_dir).map_err(|e| {
        usage(format!(
            "cannot create output folder {}: {e}",
            out_dir.display()
        ))
    })?;
    check_writable(&out_dir)?;
    let opts = DriverOptions {
        isa,
        cache,
        out_dir: out_dir.clone(),
        jobs: a.jobs,
        progress: progress_allowed(a.quiet),
    };
    let inputs: Vec<Input> = inputs.into_iter().map(|path| Input { path }).collect();
    let mut warnings = Vec::new();
    let report = driver::compile_all(&inputs, &opts, &mut warnings);
    let report_path = a
        .report
        .clone()
        .unwrap_or_else(|| out_dir.join("report.json"));
    let json = serde_json::to_string_pretty(&report)?;
    driver::write_atomic(&report_path, json.as_bytes()).map_err(|e| {
        usage(format!(
            "cannot write report {}: {e}",
            report_path.display()
        ))
    })?;
    if !a.quiet {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        eprint!("{}", crate::summary::summary(&report));
        if a.verbose > 0 {
            eprintln!("report: {}", report_path.display());
        }
    }
    for m in &report.modules {
        if let Some(e) = &m.error {
            eprintln!("error: {}", e.message);
        }
    }
    if a.message_format == MessageFormat::Json {
        println!("{json}");
    }
    Ok(if report.ok() {
        exit::OK
    } else {
        exit::MODULE_FAILED
    })
}

fn check_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(format!(".wasmprecomp-probe-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(usage(format!(
            "output folder {} is not writable: {e}",
            dir.display()
        ))),
    }
}

/// Parses durations like `30d`, `12h`, `90m`, `45s`.
pub fn parse_age(s: &str) -> Result<std::time::Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| usage(format!("bad age `{s}` (e.g. 30d, 12h)")))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        "w" => n * 7 * 86400,
        _ => return Err(usage(format!("bad age unit in `{s}` (use s, m, h, d, w)"))),
    };
    Ok(std::time::Duration::from_secs(secs))
}

fn cache_cmd(cmd: CacheCmd, a: CacheArgs) -> Result<i32> {
    let settings = a.settings().map_err(|e| usage(format!("{e:#}")))?;
    let dir = settings
        .dir
        .clone()
        .or_else(wasmprecomp_cache::default_cache_dir)
        .ok_or_else(|| usage("no cache folder: set --cache-dir or WASMPRECOMP_CACHE_DIR"))?;
    if let CacheCmd::Dir = cmd {
        println!("{}", dir.display());
        return Ok(exit::OK);
    }
    let cfg = CacheConfig {
        dir: Some(dir.clone()),
        mode: Mode::ReadWrite,
        max_size: settings.max_size,
        force_read_only: settings.read_only,
        ..Default::default()
    };
    let cache = Cache::open(&cfg).with_context(|| format!("opening cache {}", dir.display()))?;
    for w in cache.warnings() {
        eprintln!("warning: {w}");
    }
    match cmd {
        CacheCmd::Stats { json } => {
            let cum = cache.cumulative_stats();
            let entries = cache.entries_summary()?;
            if json {
                let v = serde_json::json!({
                    "dir": dir.display().to_string(),
                    "mode": cache.mode().as_str(),
                    "max_size": cache.max_size(),
                    "cumulative": cum,
                    "entries": entries,
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("cache folder:   {}", dir.display());
                println!("mode:           {}", cache.mode());
                if let Some(m) = cache.max_size() {
                    println!("size limit:     {m} bytes");
                }
                println!("{}", serde_json::to_string_pretty(&entries)?);
                println!("{}", serde_json::to_string_pretty(&cum)?);
            }
        }
        CacheCmd::Gc {
            max_size,
            older_than,
        } => {
            let max = match max_size {
                Some(s) => {
                    Some(wasmprecomp_cache::parse_size(&s).map_err(|e| usage(e.to_string()))?)
                }
                None => None,
            };
            let age = older_than.map(|s| parse_age(&s)).transpose()?;
            let r = cache.gc(max, age)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        CacheCmd::Verify => {
            let r = cache.verify()?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        CacheCmd::Clear => {
            let n = cache.clear()?;
            println!("removed {n} entries from {}", dir.display());
        }
        CacheCmd::Dir => unreachable!("handled above"),
    }
    cache.finish();
    Ok(exit::OK)
}

/// Fails with a usage error unless `p` exists.
pub fn require_file(p: &Path) -> Result<()> {
    if !p.is_file() {
        bail!(Exit(exit::USAGE, format!("{}: no such file", p.display())));
    }
    Ok(())
}

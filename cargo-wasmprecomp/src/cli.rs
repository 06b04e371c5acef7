//! The command line: what `cargo wasmprecomp` accepts, parsed into typed values.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;
use wasmprecomp_driver::{BoundsChecks, CacheSettings, Error, Interruption, OptLevel, TargetCpu};

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
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub cache_size: Option<u64>,
    /// Recompile every cache hit and fail if the bytes differ.
    #[arg(
        long,
        global = true,
        env = "WASMPRECOMP_CACHE_CHECK",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub cache_check: bool,
    /// Remote cache behind the folder: http(s)://HOST/PREFIX (Bazel remote-cache
    /// layout) or redis(s)://USER:PASSWORD@HOST:PORT/DB, credentials, port and
    /// database optional (default: $WASMPRECOMP_REMOTE_CACHE). Credentials may also come from
    /// $WASMPRECOMP_REMOTE_TOKEN; they are never printed.
    #[arg(long, global = true, value_name = "URL")]
    pub remote_cache: Option<String>,
    /// Read from the remote cache, never write to it (default:
    /// $WASMPRECOMP_REMOTE_READ_ONLY).
    #[arg(long, global = true)]
    pub remote_read_only: bool,
    /// Longest wait for a connection to the remote cache, e.g. 500ms or 2s (default:
    /// $WASMPRECOMP_REMOTE_CONNECT_TIMEOUT, else 2s).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub remote_connect_timeout: Option<Duration>,
    /// Longest wait for one request to the remote cache (default:
    /// $WASMPRECOMP_REMOTE_TIMEOUT, else 10s).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub remote_timeout: Option<Duration>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    wasmprecomp_driver::remote::parse_duration(s)
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
    /// The wasm target to build for and look in (default: `wasm-target` of
    /// `[workspace.metadata.wasmprecomp]`, else wasm32-wasip1).
    #[arg(long, value_name = "TRIPLE")]
    pub wasm_target: Option<String>,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Package(s) to compile, as package ID specs (`name`, `name@version`; repeatable).
    /// Default: the workspace's wasm members (`[workspace.metadata.wasmprecomp]
    /// members`), else cargo's default members.
    #[arg(short, long = "package", value_name = "SPEC")]
    pub package: Vec<String>,
    /// All workspace members.
    #[arg(long)]
    pub workspace: bool,
    /// Exclude package(s) (with --workspace).
    #[arg(long, value_name = "SPEC")]
    pub exclude: Vec<String>,
    /// Space or comma separated features to activate (passed to `cargo build`).
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Activate all features (passed to `cargo build`).
    #[arg(long)]
    pub all_features: bool,
    /// Do not activate the `default` feature (passed to `cargo build`).
    #[arg(long)]
    pub no_default_features: bool,
    /// Require Cargo.lock to be up to date (passed to cargo).
    #[arg(long)]
    pub locked: bool,
    /// Run without accessing the network (passed to cargo).
    #[arg(long)]
    pub offline: bool,
    /// Both --locked and --offline (passed to cargo).
    #[arg(long)]
    pub frozen: bool,
    /// Use the release profile.
    #[arg(short, long, conflicts_with = "profile")]
    pub release: bool,
    /// Cargo profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Cargo's target folder.
    #[arg(long, env = "CARGO_TARGET_DIR", value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Native target triple to compile for (default: the host). Give it several times to
    /// compile every module for each target in one run, each into its own folder.
    #[arg(long, value_name = "TRIPLE")]
    pub target: Vec<String>,
    /// `speed` (better code) or `none` (fastest compile).
    #[arg(long, default_value = "speed", value_name = "LEVEL", value_parser = parse_opt_level)]
    pub opt_level: OptLevel,
    /// How memory accesses are kept in bounds: `guard` (guard pages and the runtime's fault
    /// handler; the default) or `explicit` (a comparison per access).
    #[arg(long, default_value = "guard", value_name = "HOW", value_parser = parse_bounds_checks)]
    pub bounds_checks: BoundsChecks,
    /// Interruption checks in the compiled code: `none` (the default), `fuel` (a budget
    /// of work the host sets), `epoch` (a deadline the host's clock reaches) or
    /// `fuel+epoch`. A store running the artifacts must be created for the same ones.
    #[arg(long, default_value = "none", value_name = "CHECKS", value_parser = parse_interruption)]
    pub interruption: Interruption,
    /// Which instruction-set extensions the code may use: `baseline` (the default, any
    /// x86-64 CPU: SSE4.1 and POPCNT), `x86-64-v2` (adds SSE4.2), `x86-64-v3` (adds AVX,
    /// AVX2, BMI1, LZCNT) or `native` (the highest level this CPU has). A CPU running the
    /// artifacts must have the level's features.
    #[arg(long, default_value = "baseline", value_name = "CPU", value_parser = parse_target_cpu)]
    pub target_cpu: TargetCpu,
    /// Where artifacts go (default: <target-dir>/wasmprecomp/<triple>/<profile>/; with
    /// several targets, <out-dir>/<triple>/).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Where the JSON report goes (default: <out-dir>/report.json; with several targets,
    /// the triple goes before the extension: report.<triple>.json).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Also write the report as one self-contained HTML page (per target, named as the
    /// report is).
    #[arg(long, value_name = "PATH")]
    pub report_html: Option<PathBuf>,
    /// `json` prints one JSON object per line on stdout (`module-finished`, then
    /// `precompile-finished` with the report).
    #[arg(long, value_enum, default_value = "human")]
    pub message_format: MessageFormat,
    /// Parallel jobs (default: one per core; at least 1).
    #[arg(short, long, value_name = "N", value_parser = parse_jobs)]
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
    /// An artifact (.wpc) or a wasm module (.wasm). An artifact is native code and runs as
    /// it is: run only artifacts this compiler wrote.
    pub file: PathBuf,
    /// Arguments for the program.
    #[arg(last = true)]
    pub args: Vec<String>,
    /// For a .wasm: `speed` (better code) or `none` (fastest compile).
    #[arg(long, default_value = "speed", value_name = "LEVEL", value_parser = parse_opt_level)]
    pub opt_level: OptLevel,
    /// Give the program the host directory HOST, seen as GUEST (default: HOST as written);
    /// repeatable. Nothing outside it is reachable through it.
    #[arg(long, value_name = "HOST[::GUEST]")]
    pub dir: Vec<String>,
    /// As --dir, read-only: nothing in it can be created, changed or removed.
    #[arg(long, value_name = "HOST[::GUEST]")]
    pub dir_ro: Vec<String>,
    /// Set an environment variable for the program; repeatable.
    #[arg(long, value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Pass this process's environment variables on (before those of --env).
    #[arg(long)]
    pub env_inherit: bool,
    /// Let the program read this process's stdin (otherwise it reads end of file).
    #[arg(long)]
    pub inherit_stdin: bool,
    /// Stop the program with a trap once it has used N units of fuel (about one per
    /// operator). A .wasm is compiled with fuel checks; an artifact must have them.
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,
    /// Stop the program with a trap after SECONDS of running (fractions allowed). A .wasm
    /// is compiled with epoch checks; an artifact must have them.
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// For a .wasm: the CPU level the code may use (as for `build`).
    #[arg(long, default_value = "baseline", value_name = "CPU", value_parser = parse_target_cpu)]
    pub target_cpu: TargetCpu,
    #[command(flatten)]
    pub cache: CacheArgs,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not of the form K=V")),
    }
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Write a workflow that shares a remote cache (URL and token from repository
    /// secrets, read-only on pull requests) instead of restoring a cache folder.
    #[arg(long)]
    pub remote: bool,
    /// Path to Cargo.toml of the workspace to set up.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum CacheCmd {
    /// Cumulative statistics and entry counts, one per line.
    Stats {
        /// Print them as one JSON object.
        #[arg(long)]
        json: bool,
        /// Then set the cumulative statistics to zero.
        #[arg(long, short = 'z')]
        zero: bool,
    },
    /// Evict entries: least recently used first down to the size limit, and/or older ones.
    Gc {
        /// Size to shrink to (default: the configured limit).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
        /// Also remove entries not used for this long, e.g. 30d, 12h, 90m.
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: Option<Duration>,
    },
    /// Check every entry; remove damaged ones.
    Verify,
    /// Remove every entry.
    Clear,
    /// Print the cache folder.
    Dir,
}

impl CacheArgs {
    /// The driver's cache settings, the remote's from these flags, else the environment.
    pub fn settings(&self) -> Result<CacheSettings, Error> {
        let remote = wasmprecomp_driver::remote::RemoteOverrides {
            url: self.remote_cache.clone(),
            read_only: self.remote_read_only,
            connect_timeout: self.remote_connect_timeout,
            request_timeout: self.remote_timeout,
        };
        Ok(CacheSettings {
            dir: self.cache_dir.clone(),
            disabled: self.no_cache,
            read_only: self.cache_read_only,
            max_size: self.cache_size,
            no_module_cache: self.no_module_cache,
            no_manifest: self.no_manifest,
            check: self.cache_check,
            remote: None,
        }
        .with_remote_from_env(&remote)?)
    }
}

impl Color {
    /// The value of cargo's `--color`.
    pub fn as_str(self) -> &'static str {
        match self {
            Color::Auto => "auto",
            Color::Always => "always",
            Color::Never => "never",
        }
    }
}

fn parse_interruption(s: &str) -> Result<Interruption, String> {
    Interruption::parse(s).ok_or_else(|| {
        format!("unknown interruption `{s}` (use `none`, `fuel`, `epoch` or `fuel+epoch`)")
    })
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|v| Duration::try_from_secs_f64(v).ok())
        .ok_or_else(|| format!("`{s}` is not a number of seconds"))
}

fn parse_target_cpu(s: &str) -> Result<TargetCpu, String> {
    TargetCpu::parse(s)
        .ok_or_else(|| format!("unknown target CPU `{s}` (use {})", TargetCpu::NAMES))
}

fn parse_bounds_checks(s: &str) -> Result<BoundsChecks, String> {
    BoundsChecks::parse(s)
        .ok_or_else(|| format!("unknown bounds checks `{s}` (use `guard` or `explicit`)"))
}

fn parse_opt_level(s: &str) -> Result<OptLevel, String> {
    OptLevel::parse(s).ok_or_else(|| format!("unknown opt level `{s}` (use `speed` or `none`)"))
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("jobs may not be 0".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a number of jobs")),
    }
}

/// The subcommands, for "did you mean".
pub const SUBCOMMANDS: &[&str] = &["build", "run", "init", "cache", "help"];

/// When the first module argument is a mistyped subcommand (no extension, no folder, no
/// such file), the subcommand it is closest to, if any is close. `Some(None)`: a
/// subcommand-like word close to none.
pub fn mistyped_subcommand(wasm: &[PathBuf]) -> Option<(String, Option<&'static str>)> {
    let first = wasm.first()?;
    let word = first.to_str()?;
    let looks_like_a_word = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !looks_like_a_word || first.exists() {
        return None;
    }
    let close = SUBCOMMANDS
        .iter()
        .map(|s| (edit_distance(word, s), *s))
        .filter(|(d, s)| *d <= s.len().div_ceil(3).max(1))
        .min()
        .map(|(_, s)| s);
    Some((word.to_string(), close))
}

/// Levenshtein distance, counting a swap of two neighbours as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

fn parse_size(s: &str) -> Result<u64, String> {
    wasmprecomp_cache::parse_size(s).map_err(|e| e.to_string())
}

/// Parses durations like `30d`, `12h`, `90m`, `45s`, `2w`.
fn parse_age(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad age `{s}` (e.g. 30d, 12h)"))?;
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return Err(format!("bad age unit in `{s}` (use s, m, h, d, w)")),
    };
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("age `{s}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_take_each_unit() {
        assert_eq!(parse_age("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_age("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86400)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86400)));
    }

    #[test]
    fn a_bad_age_is_refused_not_wrapped() {
        assert!(parse_age("d").is_err());
        assert!(parse_age("3y").is_err());
        assert!(parse_age("99999999999999999999d").is_err());
        assert!(
            parse_age("999999999999999999w").is_err(),
            "overflows u64 seconds"
        );
    }

    #[test]
    fn bad_values_are_parse_errors_that_exit_2() {
        for args in [
            &["cargo", "wasmprecomp", "--opt-level", "fast"][..],
            &["cargo", "wasmprecomp", "--cache-size", "lots"][..],
            &["cargo", "wasmprecomp", "cache", "gc", "--older-than", "3y"][..],
        ] {
            let e = CargoCli::try_parse_from(args).expect_err("refused");
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
    }

    #[test]
    fn zero_jobs_are_refused() {
        let e = CargoCli::try_parse_from(["cargo", "wasmprecomp", "-j", "0"]).expect_err("refused");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("jobs may not be 0"), "{e}");
        let CargoCli::Wasmprecomp(cli) =
            CargoCli::try_parse_from(["cargo", "wasmprecomp", "-j", "3"]).expect("parses");
        assert_eq!(cli.build.jobs, Some(3));
    }

    #[test]
    fn a_mistyped_subcommand_is_told_apart_from_a_module_path() {
        let first = |s: &str| mistyped_subcommand(&[PathBuf::from(s)]);
        assert_eq!(first("bulid"), Some(("bulid".into(), Some("build"))));
        assert_eq!(first("cahce"), Some(("cahce".into(), Some("cache"))));
        assert_eq!(first("inti"), Some(("inti".into(), Some("init"))));
        assert_eq!(first("frobnicate"), Some(("frobnicate".into(), None)));
        assert_eq!(first("plugin.wasm"), None, "a module path");
        assert_eq!(first("target/plugin"), None, "a path");
        assert_eq!(mistyped_subcommand(&[]), None);
    }

    #[test]
    fn cargos_flags_are_accepted() {
        let CargoCli::Wasmprecomp(cli) = CargoCli::try_parse_from([
            "cargo",
            "wasmprecomp",
            "--build",
            "--locked",
            "--offline",
            "--frozen",
            "-F",
            "a,b",
            "--features",
            "c",
            "--all-features",
            "--no-default-features",
            "-p",
            "greet@0.1.0",
        ])
        .expect("parses");
        let b = cli.build;
        assert!(b.locked && b.offline && b.frozen && b.all_features && b.no_default_features);
        assert_eq!(b.features, ["a,b", "c"]);
        assert_eq!(b.package, ["greet@0.1.0"]);
    }

    #[test]
    fn no_subcommand_is_a_build() {
        let CargoCli::Wasmprecomp(cli) =
            CargoCli::try_parse_from(["cargo", "wasmprecomp", "a.wasm", "--opt-level", "none"])
                .expect("parses");
        assert!(cli.cmd.is_none());
        assert_eq!(cli.build.wasm, vec![PathBuf::from("a.wasm")]);
        assert_eq!(cli.build.opt_level, OptLevel::None);
    }
}

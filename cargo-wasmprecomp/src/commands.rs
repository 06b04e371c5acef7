//! Each subcommand: its arguments handed to the driver, the driver's answer printed.

use crate::cli::{BuildArgs, CacheArgs, CacheCmd, Cli, Cmd, InitArgs, MessageFormat, RunArgs};
use crate::{progress, summary};
use serde::Serialize;
use wasmprecomp_driver::workspace::Selection;
use wasmprecomp_driver::{init, maintenance, run, Error, ExitCode, Precompile};

/// Runs the command; returns how the process exits.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.cmd {
        None => build(cli.build),
        Some(Cmd::Build(b)) => build(*b),
        Some(Cmd::Run(r)) => run_program(r),
        Some(Cmd::Init(i)) => init_templates(i),
        Some(Cmd::Cache { cmd, cache }) => cache_cmd(cmd, cache),
    }
}

fn build(a: BuildArgs) -> Result<ExitCode, Error> {
    let profile = match (&a.profile, a.release) {
        (Some(p), _) => p.clone(),
        (None, true) => "release".into(),
        (None, false) => "dev".into(),
    };
    let request = Precompile {
        wasm: a.wasm,
        build: a.build,
        selection: Selection {
            manifest_path: a.manifest_path,
            packages: a.package,
            workspace: a.workspace,
            exclude: a.exclude,
            profile,
            target_dir: a.target_dir,
            wasm_target: a.wasm_target,
        },
        target: a.target,
        opt_level: a.opt_level,
        out_dir: a.out_dir,
        report: a.report,
        jobs: a.jobs,
        cache: a.cache.settings(),
        quiet: a.quiet,
        color: a.color.map(|c| c.as_str().to_string()),
    };
    let done = request.run(progress::bar(a.quiet))?;
    if !a.quiet {
        for w in &done.warnings {
            eprintln!("warning: {w}");
        }
        eprint!("{}", summary::summary(&done.report));
        if a.verbose > 0 {
            eprintln!("report: {}", done.report_path.display());
        }
    }
    for m in &done.report.modules {
        if let Some(e) = &m.error {
            eprintln!("error: {}", e.message);
        }
    }
    if a.message_format == MessageFormat::Json {
        println!("{}", done.json);
    }
    Ok(done.exit_code())
}

fn run_program(a: RunArgs) -> Result<ExitCode, Error> {
    let mut warnings = Vec::new();
    // SAFETY: the user named this file to run it: an artifact they vouch for as for any
    // native program they start (the option's help says so).
    let module = unsafe { run::load(&a.file, a.opt_level, &a.cache.settings(), &mut warnings) };
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let dirs = a.dir.iter().map(|d| run::Preopen::parse(d, false));
    let opts = run::RunOptions {
        dirs: dirs
            .chain(a.dir_ro.iter().map(|d| run::Preopen::parse(d, true)))
            .collect(),
        env: a.env,
        inherit_env: a.env_inherit,
        inherit_stdin: a.inherit_stdin,
    };
    let argv = run::argv(&a.file, &a.args);
    let (code, _) = run::run_command_opts(module?, argv, &opts, false)?;
    Ok(ExitCode::Program(code))
}

fn init_templates(a: InitArgs) -> Result<ExitCode, Error> {
    let mut code = ExitCode::Ok;
    for t in init::init(a.manifest_path.as_deref(), a.force)? {
        match t.written {
            Ok(()) => eprintln!("wrote {}", t.path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                if code == ExitCode::Ok {
                    code = e.exit_code();
                }
            }
        }
    }
    Ok(code)
}

fn print_json(v: &impl Serialize) -> Result<(), Error> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn cache_cmd(cmd: CacheCmd, a: CacheArgs) -> Result<ExitCode, Error> {
    let settings = a.settings();
    if let CacheCmd::Dir = cmd {
        println!("{}", maintenance::cache_dir(&settings)?.display());
        return Ok(ExitCode::Ok);
    }
    let (dir, cache) = maintenance::open(&settings)?;
    for w in cache.warnings() {
        eprintln!("warning: {w}");
    }
    match cmd {
        CacheCmd::Stats { json } => {
            let cum = cache.cumulative_stats();
            let entries = cache.entries_summary()?;
            if json {
                print_json(&serde_json::json!({
                    "dir": dir.display().to_string(),
                    "mode": cache.mode().as_str(),
                    "max_size": cache.max_size(),
                    "cumulative": cum,
                    "entries": entries,
                }))?;
            } else {
                println!("cache folder:   {}", dir.display());
                println!("mode:           {}", cache.mode());
                if let Some(m) = cache.max_size() {
                    println!("size limit:     {m} bytes");
                }
                print_json(&entries)?;
                print_json(&cum)?;
            }
        }
        CacheCmd::Gc {
            max_size,
            older_than,
        } => print_json(&cache.gc(max_size, older_than)?)?,
        CacheCmd::Verify => print_json(&cache.verify()?)?,
        CacheCmd::Clear => {
            let n = cache.clear()?;
            println!("removed {n} entries from {}", dir.display());
        }
        CacheCmd::Dir => unreachable!("handled above"),
    }
    cache.finish();
    Ok(ExitCode::Ok)
}

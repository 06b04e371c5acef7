//! Each subcommand: its arguments handed to the driver, the driver's answer printed.

use crate::cli::{BuildArgs, CacheArgs, CacheCmd, Cli, Cmd, InitArgs, MessageFormat, RunArgs};
use crate::{html, progress, stats, summary};
use serde::Serialize;
use std::io::Write;
use wasmprecomp_driver::precompile::per_target_path;
use wasmprecomp_driver::report::Message;
use wasmprecomp_driver::workspace::{CargoFlags, Selection};
use wasmprecomp_driver::{init, maintenance, run, Error, ExitCode, Precompile, Report};

/// Writes `text` to stdout, once the command's work is done. A reader that has closed
/// the pipe (`... | head`) wants no more: that is no error, and the command ends with
/// its own status.
fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        // Any other failure to write stdout has nowhere to be reported but stderr.
        Err(e) => eprintln!("error: writing to stdout: {e}"),
        Ok(()) => {}
    }
}

/// One line of compact JSON.
fn json_line(v: &impl Serialize) -> Result<String, Error> {
    Ok(serde_json::to_string(v)? + "\n")
}

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
            cargo: CargoFlags {
                locked: a.locked,
                offline: a.offline,
                frozen: a.frozen,
                features: a.features,
                all_features: a.all_features,
                no_default_features: a.no_default_features,
            },
        },
        targets: a.target,
        opt_level: a.opt_level,
        bounds_checks: a.bounds_checks,
        interruption: a.interruption,
        target_cpu: a.target_cpu,
        out_dir: a.out_dir,
        report: a.report,
        jobs: a.jobs,
        cache: a.cache.settings()?,
        quiet: a.quiet,
        color: a.color.map(|c| c.as_str().to_string()),
    };
    let runs = match request.run(progress::bar(a.quiet)) {
        Ok(runs) => runs,
        Err(e) => {
            // The run finished without its report: each module's own error comes first.
            if let Error::WriteReport { report, .. } = &e {
                print_module_errors(report);
            }
            return Err(e);
        }
    };
    let several = runs.len() > 1;
    let mut code = ExitCode::Ok;
    let mut lines = String::new();
    for done in &runs {
        if let Some(path) = &a.report_html {
            let path = if several {
                per_target_path(path, &done.report.target)
            } else {
                path.clone()
            };
            wasmprecomp_driver::compile::write_atomic(&path, html::page(&done.report).as_bytes())
                .map_err(|source| Error::Write { path, source })?;
        }
        if !a.quiet {
            for w in &done.warnings {
                eprintln!("warning: {w}");
            }
            if several {
                eprintln!("target {}:", done.report.target);
            }
            eprint!("{}", summary::summary(&done.report, a.verbose > 0));
            if a.verbose > 0 {
                eprintln!("report: {}", done.report_path.display());
            }
        }
        print_module_errors(&done.report);
        if a.message_format == MessageFormat::Json {
            for m in &done.report.modules {
                lines += &json_line(&Message::ModuleFinished(m.clone()))?;
            }
            lines += &json_line(&Message::PrecompileFinished {
                success: done.report.ok(),
                report_path: done.report_path.display().to_string(),
                report: done.report.clone(),
            })?;
        }
        if code == ExitCode::Ok {
            code = done.exit_code();
        }
    }
    if a.message_format == MessageFormat::Json {
        out(&lines);
    }
    Ok(code)
}

fn print_module_errors(report: &Report) {
    for m in &report.modules {
        if let Some(e) = &m.error {
            eprintln!("error: {}", e.message);
        }
    }
}

fn run_program(a: RunArgs) -> Result<ExitCode, Error> {
    let mut warnings = Vec::new();
    // SAFETY: the user named this file to run it: an artifact they vouch for as for any
    // native program they start (the option's help says so).
    let interruption = run::interruption_for(a.fuel, a.timeout);
    let settings = a.cache.settings()?;
    // SAFETY: as above.
    let module = unsafe {
        run::load(
            &a.file,
            a.opt_level,
            interruption,
            a.target_cpu,
            &settings,
            &mut warnings,
        )
    };
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
        fuel: a.fuel,
        timeout: a.timeout,
    };
    let argv = run::argv(&a.file, &a.args);
    let (code, _) = run::run_command_opts(module?, argv, &opts, false)?;
    Ok(ExitCode::Program(code))
}

fn init_templates(a: InitArgs) -> Result<ExitCode, Error> {
    let mut code = ExitCode::Ok;
    for t in init::init(a.manifest_path.as_deref(), a.force, a.remote)? {
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

fn pretty(v: &impl Serialize) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(v)? + "\n")
}

fn cache_cmd(cmd: CacheCmd, a: CacheArgs) -> Result<ExitCode, Error> {
    let settings = a.settings()?;
    if let CacheCmd::Dir = cmd {
        out(&format!(
            "{}\n",
            maintenance::cache_dir(&settings)?.display()
        ));
        return Ok(ExitCode::Ok);
    }
    let (dir, cache) = maintenance::open(&settings)?;
    for w in cache.warnings() {
        eprintln!("warning: {w}");
    }
    // Everything is done, and the cache finished, before anything is printed: a reader
    // that stops reading early cuts nothing short.
    let text = match cmd {
        CacheCmd::Stats { json, zero } => {
            let cum = cache.cumulative_stats();
            let entries = cache.entries_summary()?;
            // The remote's configuration, never its secrets (nothing is sent to it).
            let remote = settings.remote.as_ref().map(|r| r.summary());
            let text = if json {
                let remote = remote.map(|rows| {
                    rows.into_iter()
                        .map(|(k, v)| {
                            let name = k.trim_start_matches("remote ").replace(' ', "_");
                            (name, serde_json::Value::String(v))
                        })
                        .collect::<serde_json::Map<_, _>>()
                });
                pretty(&serde_json::json!({
                    "dir": dir.display().to_string(),
                    "mode": cache.mode().as_str(),
                    "max_size": cache.max_size(),
                    "cumulative": cum,
                    "entries": entries,
                    "remote": remote,
                }))?
            } else {
                let mut text = stats::lines(
                    &dir,
                    cache.mode().as_str(),
                    cache.max_size(),
                    &cum,
                    &entries,
                );
                text += &stats::remote_lines(remote.as_deref().unwrap_or(&[]));
                text
            };
            if zero {
                if !cache.zero_stats()? {
                    for w in cache.warnings() {
                        eprintln!("warning: {w}");
                    }
                    return Err(Error::Io {
                        action: "zeroing the cache statistics",
                        source: std::io::Error::other("stats.json could not be updated"),
                    });
                }
                eprintln!("statistics zeroed");
            }
            text
        }
        CacheCmd::Gc {
            max_size,
            older_than,
        } => pretty(&cache.gc(max_size, older_than)?)?,
        CacheCmd::Verify => pretty(&cache.verify()?)?,
        CacheCmd::Clear => {
            let n = cache.clear()?;
            format!("removed {n} entries from {}\n", dir.display())
        }
        CacheCmd::Dir => unreachable!("handled above"),
    };
    cache.finish();
    out(&text);
    Ok(ExitCode::Ok)
}

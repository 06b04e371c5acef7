//! `cargo wasmprecomp build`: which modules (explicit paths, `cargo build`'s output or an
//! earlier build's), where their artifacts go, one compile run, and the report written.

use crate::compile::{self, CacheSettings, DriverOptions, Input, Progress};
use crate::workspace::{self, Config, Selection};
use crate::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmprecomp_codegen::{BoundsChecks, Interruption, Isa, OptLevel, TargetCpu};
use wasmprecomp_report::{ExitCode, Report};

/// A precompile as the command line asks for it.
#[derive(Debug, Clone, Default)]
pub struct Precompile {
    /// `.wasm` files to compile.
    pub wasm: Vec<PathBuf>,
    /// Run `cargo build --target <wasm target>` first and compile what it produced.
    pub build: bool,
    /// The packages, profile and folders to look at.
    pub selection: Selection,
    /// Native target triples, each compiled into its own folder (empty: the host). A
    /// triple given twice is compiled once.
    pub targets: Vec<String>,
    pub opt_level: OptLevel,
    /// How memory accesses are kept in bounds.
    pub bounds_checks: BoundsChecks,
    /// The interruption checks compiled code makes (fuel, epoch deadlines).
    pub interruption: Interruption,
    /// The CPU level: which instruction-set extensions the code may use.
    pub target_cpu: TargetCpu,
    /// Where artifacts go (`None`: `<target-dir>/wasmprecomp/<triple>/<profile>/`); with
    /// several targets, each target's artifacts go to `<out-dir>/<triple>/`.
    pub out_dir: Option<PathBuf>,
    /// Where the report goes (`None`: `<out-dir>/report.json`); with several targets, each
    /// target's report goes to this path with the triple before its extension
    /// ([`per_target_path`]).
    pub report: Option<PathBuf>,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    pub cache: CacheSettings,
    /// Passed to `cargo build`: `--quiet`, and `--color` when set.
    pub quiet: bool,
    pub color: Option<String>,
}

/// What a precompile did for one target.
#[derive(Debug, Clone)]
pub struct Precompiled {
    pub report: Report,
    /// Where the report was written.
    pub report_path: PathBuf,
    /// The report as written.
    pub json: String,
    /// Cache trouble that did not stop the run.
    pub warnings: Vec<String>,
}

impl Precompiled {
    /// [`ExitCode::Ok`] when every module compiled, else [`ExitCode::ModuleFailed`].
    pub fn exit_code(&self) -> ExitCode {
        if self.report.ok() {
            ExitCode::Ok
        } else {
            ExitCode::ModuleFailed
        }
    }
}

impl Precompile {
    /// Finds the modules, compiles them all for each target (one failing module does not
    /// stop the others) and writes each target's artifacts and report into its folder.
    /// One result per target, in the order given.
    pub fn run(&self, progress: Option<Arc<dyn Progress>>) -> Result<Vec<Precompiled>, Error> {
        let triples: Vec<Option<&str>> = if self.targets.is_empty() {
            vec![None]
        } else {
            self.targets.iter().map(|t| Some(t.as_str())).collect()
        };
        // Every target is checked before anything is built or compiled; two spellings
        // of one target are one target.
        let mut isas: Vec<Isa> = Vec::new();
        for t in triples {
            let isa = Isa::new(t, self.opt_level)
                .map_err(Error::Target)?
                .with_bounds_checks(self.bounds_checks)
                .with_interruption(self.interruption)
                .with_target_cpu(self.target_cpu)
                .map_err(Error::Target)?;
            if !isas.iter().any(|i| i.triple() == isa.triple()) {
                isas.push(isa);
            }
        }
        let several = isas.len() > 1;
        let mut sel = self.selection.clone();
        // A missing input is reported per module; the others are still compiled.
        let mut inputs: Vec<PathBuf> = self.wasm.clone();
        let explicit_only =
            !inputs.is_empty() && !self.build && sel.packages.is_empty() && !sel.workspace;
        let meta = if explicit_only && sel.manifest_path.is_none() {
            // Only the target folder is wanted from cargo (for the default out folder);
            // asking it costs a `cargo metadata` process, about 20 ms.
            if self.out_dir.is_some() || sel.target_dir.is_some() {
                None
            } else {
                workspace::metadata(&sel).ok()
            }
        } else {
            Some(workspace::metadata(&sel)?)
        };
        if let (Some(m), false) = (&meta, explicit_only) {
            let config = Config::read(m)?;
            if sel.wasm_target.is_none() {
                sel.wasm_target = config.wasm_target.clone();
            }
            let packages = workspace::selected(&sel, m, &config)?;
            if self.build && !packages.is_empty() {
                check_core_target(sel.wasm_target())?;
                let how = workspace::CargoBuild {
                    quiet: self.quiet,
                    color: self.color.clone(),
                    clean_env: false,
                    wasm_rustflags: config.rustflags.clone(),
                };
                inputs.extend(workspace::cargo_build(&sel, &packages, &how)?.wasm);
            } else if !self.build {
                inputs.extend(workspace::existing_wasm(&sel, m, &packages));
            }
        }
        let sel = &sel;
        if inputs.is_empty() {
            return Err(Error::NoWasm {
                wasm_target: sel.wasm_target().to_string(),
                profile: sel.profile_dir().to_string(),
            });
        }
        let target_dir = sel
            .target_dir
            .clone()
            .or_else(|| meta.as_ref().map(|m| workspace::target_dir(sel, m)))
            .unwrap_or_else(|| PathBuf::from("target"));
        let inputs: Vec<Input> = inputs.into_iter().map(|path| Input { path }).collect();
        let mut done = Vec::with_capacity(isas.len());
        for isa in isas {
            let triple = isa.triple().to_string();
            let out_dir = match &self.out_dir {
                Some(d) if several => d.join(&triple),
                Some(d) => d.clone(),
                None => target_dir
                    .join("wasmprecomp")
                    .join(&triple)
                    .join(sel.profile_dir()),
            };
            std::fs::create_dir_all(&out_dir).map_err(|source| Error::CreateOutputFolder {
                path: out_dir.clone(),
                source,
            })?;
            check_writable(&out_dir)?;
            let opts = DriverOptions {
                isa,
                cache: self.cache.clone(),
                out_dir: out_dir.clone(),
                jobs: self.jobs,
                progress: progress.clone(),
            };
            let mut warnings = Vec::new();
            let report = compile::compile_all(&inputs, &opts, &mut warnings);
            let report_path = match &self.report {
                Some(p) if several => per_target_path(p, &triple),
                Some(p) => p.clone(),
                None => out_dir.join("report.json"),
            };
            let json = write_report(&report, &report_path)?;
            done.push(Precompiled {
                report,
                report_path,
                json,
                warnings,
            });
        }
        Ok(done)
    }
}

/// `path` with `triple` before its extension (`report.json` -> `report.<triple>.json`;
/// without an extension, `.<triple>` appended): where a per-target file goes when a path
/// is given for a run with several targets.
pub fn per_target_path(path: &Path, triple: &str) -> PathBuf {
    let name = match (path.file_stem(), path.extension()) {
        (Some(stem), Some(ext)) => format!(
            "{}.{triple}.{}",
            stem.to_string_lossy(),
            ext.to_string_lossy()
        ),
        _ => format!(
            "{}.{triple}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
    };
    path.with_file_name(name)
}

/// Refuses a wasm target whose binaries are components (`wasm32-wasip2` and later), before
/// anything is built for it.
pub fn check_core_target(wasm_target: &str) -> Result<(), Error> {
    if wasm_target.contains("-wasip") && !wasm_target.contains("-wasip1") {
        return Err(Error::ComponentTarget {
            wasm_target: wasm_target.to_string(),
        });
    }
    Ok(())
}

/// Writes `report` as JSON to `path`; on failure the error carries the report, so the
/// caller can still show each module's outcome.
pub(crate) fn write_report(report: &Report, path: &Path) -> Result<String, Error> {
    let json = serde_json::to_string_pretty(report)?;
    compile::write_atomic(path, json.as_bytes()).map_err(|source| Error::WriteReport {
        path: path.to_path_buf(),
        source,
        report: Box::new(report.clone()),
    })?;
    Ok(json)
}

fn check_writable(dir: &Path) -> Result<(), Error> {
    let probe = dir.join(format!(".wasmprecomp-probe-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(source) => Err(Error::OutputFolderNotWritable {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

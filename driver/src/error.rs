//! The driver's errors, each with the exit code `cargo wasmprecomp` ends with.

use std::io;
use std::path::PathBuf;
use wasmprecomp_cache::CacheError;
use wasmprecomp_codegen::CompileError;
use wasmprecomp_report::{ExitCode, Report};
#[cfg(feature = "run")]
use wasmprecomp_runtime::{wasi::RunError, LoadError};

/// Why a precompile, a build script's [`Builder`](crate::Builder), `run`, `init` or a
/// cache command stopped. [`Error::exit_code`] follows from the variant alone: bad usage
/// or configuration is [`ExitCode::Usage`], a failing file, folder or process after that
/// is [`ExitCode::Io`], a cache kept busy by other runs is [`ExitCode::CacheBusy`], a
/// module that did not compile or run is [`ExitCode::ModuleFailed`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A build script's environment variable is missing.
    #[error("{0} is not set: call the builder from a build script, or set it")]
    MissingEnv(&'static str),
    /// The native target cannot be compiled for.
    #[error(transparent)]
    Target(CompileError),
    /// `cargo metadata` failed.
    #[error("running `cargo metadata`: {0}")]
    Metadata(#[source] cargo_metadata::Error),
    /// A `--package` (or `--exclude`) spec that matches no workspace member.
    #[error("package `{0}` is not a member of the workspace")]
    UnknownPackage(String),
    /// `--exclude` without `--workspace` (as cargo refuses it).
    #[error("--exclude can only be used together with --workspace")]
    ExcludeWithoutWorkspace,
    /// `[workspace.metadata.wasmprecomp]` (or a package's) is not what it must be.
    #[error("{}: {message}", manifest.display())]
    Config { manifest: PathBuf, message: String },
    /// A `--build` for a target that produces components, which this compiler does not
    /// compile.
    #[error("`{wasm_target}` produces WebAssembly components (as cargo-component does); wasmprecomp compiles core modules: build for wasm32-wasip1")]
    ComponentTarget { wasm_target: String },
    /// Nothing to compile.
    #[error("no .wasm artifacts found for target `{wasm_target}` and profile `{profile}`; build them first (e.g. with --build) or pass .wasm paths")]
    NoWasm {
        wasm_target: String,
        profile: String,
    },
    /// The output folder cannot be created.
    #[error("cannot create output folder {}: {source}", path.display())]
    CreateOutputFolder { path: PathBuf, source: io::Error },
    /// The output folder exists but a file cannot be created in it.
    #[error("output folder {} is not writable: {source}", path.display())]
    OutputFolderNotWritable { path: PathBuf, source: io::Error },
    /// A file that does not exist was named.
    #[error("{}: no such file", .0.display())]
    NoSuchFile(PathBuf),
    /// `init` would overwrite a file.
    #[error("{} exists; use --force to overwrite", .0.display())]
    Exists(PathBuf),
    /// No cache folder could be determined.
    #[error("no cache folder: set --cache-dir or WASMPRECOMP_CACHE_DIR")]
    NoCacheDir,
    /// A cache operation failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The remote cache's URL or a setting of it is malformed.
    #[error(transparent)]
    Remote(#[from] wasmprecomp_remote::RemoteError),
    /// Running `cargo build` failed before cargo could report a status.
    #[error("{action}: {source}")]
    Cargo {
        action: &'static str,
        source: io::Error,
    },
    /// `cargo build` ran and failed; its diagnostics already reached the user.
    #[error("`cargo build --target {wasm_target}` failed with exit status {status}")]
    CargoBuild { wasm_target: String, status: i32 },
    /// Modules failed to compile (the others were compiled; the report has them all).
    #[error("{failed} of {total} module(s) failed to compile: {first}")]
    Modules {
        failed: usize,
        total: usize,
        first: String,
        report: Box<Report>,
    },
    /// The module given to `run` did not compile.
    #[cfg(feature = "run")]
    #[error("{0}")]
    RunCompile(String),
    /// `run --fuel` or `--timeout` on an artifact compiled without the checks they need.
    #[cfg(feature = "run")]
    #[error("{0}")]
    RunInterruption(String),
    /// The artifact given to `run` (or compiled for it) cannot be loaded.
    #[cfg(feature = "run")]
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The program could not be run to its end (a trap, a missing import, no `_start`).
    #[cfg(feature = "run")]
    #[error(transparent)]
    Program(#[from] RunError),
    /// The thread that ran the program panicked.
    #[cfg(feature = "run")]
    #[error("the guest thread panicked")]
    ProgramPanicked,
    /// The report cannot be written. The run itself finished: `report` holds every
    /// module's outcome, errors included, for the caller to show.
    #[error("cannot write report {}: {source}", path.display())]
    WriteReport {
        path: PathBuf,
        source: io::Error,
        report: Box<Report>,
    },
    /// The report cannot be serialized.
    #[error("cannot serialize the report: {0}")]
    Serialize(#[from] serde_json::Error),
    /// A file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// A folder cannot be created.
    #[error("cannot create folder {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    /// Another I/O failure, described by `action`.
    #[error("{action}: {source}")]
    Io {
        action: &'static str,
        source: io::Error,
    },
}

impl Error {
    /// The exit code `cargo wasmprecomp` ends with for this error (README "Exit codes").
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::MissingEnv(_)
            | Error::Target(_)
            | Error::UnknownPackage(_)
            | Error::ExcludeWithoutWorkspace
            | Error::Config { .. }
            | Error::ComponentTarget { .. }
            | Error::NoWasm { .. }
            | Error::CreateOutputFolder { .. }
            | Error::OutputFolderNotWritable { .. }
            | Error::NoSuchFile(_)
            | Error::Exists(_)
            | Error::NoCacheDir
            | Error::Remote(_) => ExitCode::Usage,
            // cargo's own complaint (a bad manifest, an unknown flag) is configuration;
            // failing to start it or to read what it said is not.
            Error::Metadata(e) => match e {
                cargo_metadata::Error::CargoMetadata { .. } => ExitCode::Usage,
                _ => ExitCode::Io,
            },
            Error::Cache(e) => match e {
                CacheError::Io { .. } => ExitCode::Io,
                CacheError::Busy { .. } => ExitCode::CacheBusy,
                CacheError::NotADirectory(_)
                | CacheError::ReadOnly(_)
                | CacheError::Off
                | CacheError::InvalidSize(_)
                | CacheError::InvalidKey(_) => ExitCode::Usage,
            },
            Error::CargoBuild { status, .. } => ExitCode::Cargo(*status),
            #[cfg(feature = "run")]
            Error::RunInterruption(_) => ExitCode::Usage,
            Error::Modules { .. } => ExitCode::ModuleFailed,
            #[cfg(feature = "run")]
            Error::RunCompile(_) | Error::Load(_) | Error::Program(_) | Error::ProgramPanicked => {
                ExitCode::ModuleFailed
            }
            Error::Cargo { .. }
            | Error::WriteReport { .. }
            | Error::Serialize(_)
            | Error::Write { .. }
            | Error::CreateDir { .. }
            | Error::Io { .. } => ExitCode::Io,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> io::Error {
        io::Error::new(io::ErrorKind::PermissionDenied, "denied")
    }

    fn example_report() -> Report {
        serde_json::from_str(include_str!("../../docs/report.example.json"))
            .expect("example report")
    }

    #[test]
    fn usage_and_configuration_errors_exit_2() {
        let usage = [
            Error::MissingEnv("OUT_DIR"),
            Error::Target(CompileError::UnsupportedTarget("riscv64".into())),
            Error::Metadata(cargo_metadata::Error::CargoMetadata {
                stderr: "no Cargo.toml".into(),
            }),
            Error::UnknownPackage("nope".into()),
            Error::ExcludeWithoutWorkspace,
            Error::Config {
                manifest: "Cargo.toml".into(),
                message: "bad".into(),
            },
            Error::ComponentTarget {
                wasm_target: "wasm32-wasip2".into(),
            },
            Error::NoWasm {
                wasm_target: "wasm32-wasip1".into(),
                profile: "debug".into(),
            },
            Error::CreateOutputFolder {
                path: "out".into(),
                source: io(),
            },
            Error::OutputFolderNotWritable {
                path: "out".into(),
                source: io(),
            },
            Error::NoSuchFile("x.wasm".into()),
            Error::Exists("build.rs".into()),
            Error::NoCacheDir,
            Error::Cache(CacheError::InvalidSize("2X".into())),
            Error::Cache(CacheError::NotADirectory("cache".into())),
            Error::Cache(CacheError::ReadOnly("cache".into())),
        ];
        for e in usage {
            assert_eq!(e.exit_code(), ExitCode::Usage, "{e}");
            assert_eq!(e.exit_code().code(), 2);
        }
    }

    #[test]
    fn io_failures_are_not_usage_errors() {
        let failures = [
            Error::Metadata(cargo_metadata::Error::Io(io())),
            Error::Metadata(cargo_metadata::Error::NoJson),
            Error::Cache(CacheError::Io {
                path: "cache".into(),
                source: io(),
            }),
            Error::Cargo {
                action: "starting `cargo build`",
                source: io(),
            },
            Error::WriteReport {
                path: "report.json".into(),
                source: io(),
                report: Box::new(example_report()),
            },
            Error::Write {
                path: "x".into(),
                source: io(),
            },
            Error::CreateDir {
                path: "x".into(),
                source: io(),
            },
            Error::Io {
                action: "starting the guest thread",
                source: io(),
            },
        ];
        for e in failures {
            assert_eq!(e.exit_code(), ExitCode::Io, "{e}");
            assert_eq!(e.exit_code().code(), 3);
        }
    }

    #[test]
    fn a_cache_busy_beyond_the_wait_exits_4_neither_usage_nor_io() {
        let e = Error::Cache(CacheError::Busy {
            path: "cache".into(),
            waited: std::time::Duration::from_secs(10),
        });
        assert_eq!(e.exit_code(), ExitCode::CacheBusy);
        assert_eq!(e.exit_code().code(), 4);
        assert!(e.to_string().contains("in use by another process"), "{e}");
    }

    #[test]
    fn modules_that_fail_to_compile_or_run_exit_1() {
        let report = example_report();
        let failed = [
            Error::Modules {
                failed: 1,
                total: 2,
                first: "broken".into(),
                report: Box::new(report),
            },
            #[cfg(feature = "run")]
            Error::RunCompile("invalid module".into()),
            #[cfg(feature = "run")]
            Error::Load(LoadError::Io {
                path: "x.wpc".into(),
                message: "gone".into(),
            }),
            #[cfg(feature = "run")]
            Error::Program(RunError::NoStart),
            #[cfg(feature = "run")]
            Error::ProgramPanicked,
        ];
        for e in failed {
            assert_eq!(e.exit_code(), ExitCode::ModuleFailed, "{e}");
            assert_eq!(e.exit_code().code(), 1);
        }
    }

    #[test]
    fn a_failed_cargo_build_exits_with_cargos_status() {
        let e = Error::CargoBuild {
            wasm_target: "wasm32-wasip1".into(),
            status: 101,
        };
        assert_eq!(e.exit_code(), ExitCode::Cargo(101));
        assert_eq!(e.exit_code().code(), 101);
        assert!(e.to_string().contains("wasm32-wasip1"), "{e}");
    }
}

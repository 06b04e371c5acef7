//! The engine behind `cargo wasmprecomp`, as a library: finds a workspace's WebAssembly,
//! compiles it ahead of time to native code through the per-function cache, and writes
//! the artifacts and the report.
//!
//! Build scripts use [`Builder`]. The `cargo-wasmprecomp` binary parses its command line
//! and calls [`Precompile`], `run` (with the `run` feature), [`init`] and [`maintenance`]. Every failure is an
//! [`Error`], whose [`exit_code`](Error::exit_code) is the tool's.

pub mod build_script;
pub mod compile;
pub mod error;
pub mod init;
pub mod maintenance;
pub mod precompile;
#[cfg(feature = "run")]
pub mod run;
pub mod workspace;

pub use build_script::{BuildOutput, Builder};
pub use compile::{compile_all, CacheSettings, DriverOptions, Input, Progress};
pub use error::Error;
pub use precompile::{Precompile, Precompiled};
pub use wasmprecomp_codegen::{BoundsChecks, Interruption, OptLevel, TargetCpu};
pub use wasmprecomp_remote as remote;
pub use wasmprecomp_report::{self as report, ExitCode, Report};

//! `cargo wasmprecomp`: finds a workspace's WebAssembly, compiles it ahead of time to
//! native code through a per-function cache, and reports what it did.
//!
//! The binary is thin glue over this library; build scripts use [`Builder`].

pub mod build_script;
pub mod cli;
pub mod driver;
pub mod init;
pub mod run;
pub mod summary;
pub mod workspace;

pub use build_script::{BuildError, BuildOutput, Builder};
pub use driver::CacheSettings;
pub use wasmprecomp_codegen::OptLevel;
pub use wasmprecomp_report as report;
pub use wasmprecomp_report::Report;

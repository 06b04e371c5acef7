//! The `build.rs` API: precompile wasm modules for the crate being built.
//!
//! ```no_run
//! // in build.rs's main():
//! let out = wasmprecomp_driver::Builder::new()
//!     .package("my-plugin") // a workspace member to build for wasm32-wasip1
//!     .wasm("assets/extra.wasm") // or a .wasm file
//!     .compile()
//!     .expect("precompiling wasm");
//! for (name, path) in &out.artifacts {
//!     println!("cargo:rustc-env=PLUGIN_{}={}", name.to_uppercase(), path.display());
//! }
//! ```
//!
//! Members are built with a separate target folder under `OUT_DIR`, so the outer cargo's
//! lock on the main target folder cannot deadlock the inner build. Artifacts are compiled
//! for the crate's `TARGET` (not the host, when cross-compiling) and written to
//! `OUT_DIR/wasmprecomp/`.

use crate::compile::{self, CacheSettings, DriverOptions, Input};
use crate::workspace::{self, Selection};
use crate::Error;
use std::path::PathBuf;
use wasmprecomp_codegen::{Isa, OptLevel};
use wasmprecomp_report::{Report, Status};

/// What [`Builder::compile`] produced.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// `(module name, artifact path)` for every input.
    pub artifacts: Vec<(String, PathBuf)>,
    pub report: Report,
}

/// Configures and runs a precompile from a build script.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    wasm: Vec<PathBuf>,
    packages: Vec<String>,
    manifest_path: Option<PathBuf>,
    wasm_target: Option<String>,
    profile: Option<String>,
    out_dir: Option<PathBuf>,
    target: Option<String>,
    opt_level: Option<OptLevel>,
    cache: CacheSettings,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }
    /// A `.wasm` file to precompile.
    pub fn wasm(mut self, path: impl Into<PathBuf>) -> Self {
        self.wasm.push(path.into());
        self
    }
    /// A workspace member to build for the wasm target and precompile.
    pub fn package(mut self, name: impl Into<String>) -> Self {
        self.packages.push(name.into());
        self
    }
    /// The workspace manifest for [`package`](Self::package) (default: the workspace of
    /// the crate being built).
    pub fn manifest_path(mut self, p: impl Into<PathBuf>) -> Self {
        self.manifest_path = Some(p.into());
        self
    }
    /// The wasm target to build packages for (default `wasm32-wasip1`).
    pub fn wasm_target(mut self, t: impl Into<String>) -> Self {
        self.wasm_target = Some(t.into());
        self
    }
    /// The cargo profile for packages (default `release`).
    pub fn profile(mut self, p: impl Into<String>) -> Self {
        self.profile = Some(p.into());
        self
    }
    /// Where artifacts go (default `OUT_DIR/wasmprecomp`).
    pub fn out_dir(mut self, p: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(p.into());
        self
    }
    /// The native target (default: the build script's `TARGET`).
    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.target = Some(t.into());
        self
    }
    pub fn opt_level(mut self, o: OptLevel) -> Self {
        self.opt_level = Some(o);
        self
    }
    /// Cache settings (default: the per-user cache, read-write).
    pub fn cache(mut self, c: CacheSettings) -> Self {
        self.cache = c;
        self
    }

    /// Builds the packages, compiles every module, prints `cargo:rerun-if-changed` for
    /// the inputs and `cargo:warning` for cache trouble, and returns the artifacts.
    pub fn compile(self) -> Result<BuildOutput, Error> {
        let out_base = match self.out_dir.clone() {
            Some(d) => d,
            None => PathBuf::from(std::env::var_os("OUT_DIR").ok_or(Error::MissingEnv("OUT_DIR"))?)
                .join("wasmprecomp"),
        };
        let target = match self.target.clone() {
            Some(t) => Some(t),
            None => std::env::var("TARGET").ok(),
        };
        let isa = Isa::new(target.as_deref(), self.opt_level.unwrap_or_default())
            .map_err(Error::Target)?;
        let mut inputs: Vec<PathBuf> = self.wasm.clone();
        for w in &self.wasm {
            println!("cargo:rerun-if-changed={}", w.display());
        }
        if !self.packages.is_empty() {
            let sel = Selection {
                manifest_path: self.manifest_path.clone(),
                packages: self.packages.clone(),
                workspace: false,
                exclude: vec![],
                profile: self.profile.clone().unwrap_or_else(|| "release".into()),
                target_dir: Some(out_base.join("wasm-build")),
                wasm_target: self
                    .wasm_target
                    .clone()
                    .unwrap_or_else(|| "wasm32-wasip1".into()),
            };
            let meta = workspace::metadata(&sel)?;
            for p in meta.workspace_packages() {
                if self.packages.iter().any(|n| n == p.name.as_str()) {
                    if let Some(dir) = p.manifest_path.parent() {
                        println!("cargo:rerun-if-changed={}", dir.join("src"));
                        println!("cargo:rerun-if-changed={}", p.manifest_path);
                    }
                }
            }
            inputs.extend(workspace::cargo_build(&sel, true, Some("never"))?);
        }
        let opts = DriverOptions {
            isa,
            cache: self.cache.clone(),
            out_dir: out_base,
            jobs: None,
            progress: None,
        };
        let mut warnings = Vec::new();
        let inputs: Vec<Input> = inputs.into_iter().map(|path| Input { path }).collect();
        let report = compile::compile_all(&inputs, &opts, &mut warnings);
        for w in warnings {
            println!("cargo:warning=wasmprecomp cache: {w}");
        }
        if !report.ok() {
            let failed: Vec<_> = report
                .modules
                .iter()
                .filter(|m| m.status != Status::Ok)
                .collect();
            let first = failed
                .first()
                .and_then(|m| m.error.as_ref())
                .map(|e| e.message.clone())
                .unwrap_or_default();
            return Err(Error::Modules {
                failed: failed.len(),
                total: report.modules.len(),
                first,
                report: Box::new(report),
            });
        }
        let artifacts = report
            .modules
            .iter()
            .filter_map(|m| {
                let out = PathBuf::from(m.output.as_ref()?);
                let name = out.file_stem()?.to_string_lossy().to_string();
                Some((name, out))
            })
            .collect();
        Ok(BuildOutput { artifacts, report })
    }
}

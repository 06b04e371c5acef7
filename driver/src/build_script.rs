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
//! lock on the main target folder cannot deadlock the inner build, and with a clean
//! environment: the host's rustflags and the build script's `CARGO_*` variables are
//! removed, the wasm flags come from [`Builder::wasm_rustflags`] or
//! [`WASM_RUSTFLAGS_ENV`]. Artifacts are compiled for the crate's `TARGET` (not the host,
//! when cross-compiling) and written with `report.json` to `OUT_DIR/wasmprecomp/`. Every
//! file the wasm build read is a `cargo:rerun-if-changed`, so the crate never embeds
//! stale code.

use crate::compile::{self, CacheSettings, DriverOptions, Input};
use crate::precompile::check_core_target;
use crate::workspace::{self, CargoBuild, Config, Selection};
use crate::Error;
use std::path::{Path, PathBuf};
use wasmprecomp_codegen::{BoundsChecks, Interruption, Isa, OptLevel, TargetCpu};
use wasmprecomp_report::{Report, Status};

/// Flags for the wasm build of [`Builder::package`] members when
/// [`Builder::wasm_rustflags`] is not called, split on whitespace like `RUSTFLAGS`.
pub const WASM_RUSTFLAGS_ENV: &str = "WASMPRECOMP_WASM_RUSTFLAGS";

/// What [`Builder::compile`] produced.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// `(module name, artifact path)` for every input.
    pub artifacts: Vec<(String, PathBuf)>,
    pub report: Report,
    /// Where the report was written (`report.json` next to the artifacts).
    pub report_path: PathBuf,
    /// The files printed as `cargo:rerun-if-changed`.
    pub rerun_if_changed: Vec<PathBuf>,
    /// The variables printed as `cargo:rerun-if-env-changed`.
    pub rerun_if_env_changed: Vec<String>,
}

/// Configures and runs a precompile from a build script.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    wasm: Vec<PathBuf>,
    packages: Vec<String>,
    manifest_path: Option<PathBuf>,
    wasm_target: Option<String>,
    wasm_rustflags: Option<Vec<String>>,
    profile: Option<String>,
    out_dir: Option<PathBuf>,
    target: Option<String>,
    opt_level: Option<OptLevel>,
    bounds_checks: BoundsChecks,
    interruption: Interruption,
    target_cpu: TargetCpu,
    cache: CacheSettings,
    remote: wasmprecomp_remote::RemoteOverrides,
}

/// What makes cargo run the build script again: collected while compiling, printed
/// whether or not the compile succeeds.
#[derive(Debug, Default)]
struct Rerun {
    files: Vec<PathBuf>,
    env: Vec<String>,
}

impl Rerun {
    fn file(&mut self, p: impl Into<PathBuf>) {
        let p = p.into();
        if !self.files.contains(&p) {
            self.files.push(p);
        }
    }
    fn env(&mut self, name: impl Into<String>) {
        let n = name.into();
        if !self.env.contains(&n) {
            self.env.push(n);
        }
    }
    /// Cargo's configuration files that apply to a build started in `root`: in it and
    /// its ancestors (a missing file is not named: cargo would rerun on every build).
    fn cargo_config(&mut self, root: &Path) {
        for dir in root.ancestors() {
            for name in ["config.toml", "config"] {
                let f = dir.join(".cargo").join(name);
                if f.is_file() {
                    self.file(f);
                }
            }
        }
    }
    fn print(&self) {
        for f in &self.files {
            println!("cargo:rerun-if-changed={}", f.display());
        }
        for e in &self.env {
            println!("cargo:rerun-if-env-changed={e}");
        }
    }
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
    /// A workspace member to build for the wasm target and precompile: a package ID spec
    /// as cargo's `-p` takes it (`name`, `name@version`).
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
    /// The wasm target to build packages for (default: `wasm-target` of the workspace's
    /// `[workspace.metadata.wasmprecomp]`, else `wasm32-wasip1`).
    pub fn wasm_target(mut self, t: impl Into<String>) -> Self {
        self.wasm_target = Some(t.into());
        self
    }
    /// Rustflags for the wasm build of [`package`](Self::package) members (default:
    /// `WASMPRECOMP_WASM_RUSTFLAGS`, split on whitespace, else `rustflags` of the
    /// workspace's `[workspace.metadata.wasmprecomp]`, else none of ours: the wasm
    /// workspace's cargo configuration decides). The host's rustflags never reach it.
    pub fn wasm_rustflags<S: Into<String>>(mut self, flags: impl IntoIterator<Item = S>) -> Self {
        self.wasm_rustflags = Some(flags.into_iter().map(Into::into).collect());
        self
    }
    /// The cargo profile for packages (default `release`).
    pub fn profile(mut self, p: impl Into<String>) -> Self {
        self.profile = Some(p.into());
        self
    }
    /// Where artifacts and `report.json` go (default `OUT_DIR/wasmprecomp`).
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
    /// How memory accesses are kept in bounds (default: guard pages).
    pub fn bounds_checks(mut self, b: BoundsChecks) -> Self {
        self.bounds_checks = b;
        self
    }
    /// The interruption checks compiled code makes (default: none); a store running the
    /// artifacts must be created for the same ones.
    pub fn interruption(mut self, i: Interruption) -> Self {
        self.interruption = i;
        self
    }
    /// The CPU level the code may use (default: the portable baseline); a host running the
    /// artifacts must have its features.
    pub fn target_cpu(mut self, cpu: TargetCpu) -> Self {
        self.target_cpu = cpu;
        self
    }
    /// Cache settings (default: the per-user cache, read-write). A remote set here
    /// ([`CacheSettings::remote`]) is used as it is; otherwise the environment decides
    /// (`WASMPRECOMP_REMOTE_CACHE` and the other `WASMPRECOMP_REMOTE_*` variables).
    pub fn cache(mut self, c: CacheSettings) -> Self {
        self.cache = c;
        self
    }
    /// A remote cache behind the local folder, instead of `WASMPRECOMP_REMOTE_CACHE`:
    /// `http(s)://...` (Bazel remote-cache layout) or `redis(s)://...`.
    pub fn remote_cache(mut self, url: impl Into<String>) -> Self {
        self.remote.url = Some(url.into());
        self
    }
    /// Read from the remote cache and never write to it (also
    /// `WASMPRECOMP_REMOTE_READ_ONLY`).
    pub fn remote_read_only(mut self, read_only: bool) -> Self {
        self.remote.read_only = read_only;
        self
    }

    /// Builds the packages in a clean environment (the host's rustflags and the build
    /// script's `CARGO_*` variables removed), compiles every module, writes the artifacts
    /// and `report.json`, and returns them. Prints `cargo:rerun-if-changed` for every
    /// file the wasm build read (from cargo's dep-info files), the members' manifests,
    /// the workspace's manifest, lockfile and cargo configuration and the `.wasm` inputs,
    /// `cargo:rerun-if-env-changed` for the variables it reads, and `cargo:warning` only
    /// for trouble (the cache could not be used as asked).
    pub fn compile(self) -> Result<BuildOutput, Error> {
        let mut rerun = Rerun::default();
        let r = self.compile_into(&mut rerun);
        rerun.print();
        r
    }

    fn compile_into(&self, rerun: &mut Rerun) -> Result<BuildOutput, Error> {
        for v in [
            WASM_RUSTFLAGS_ENV,
            wasmprecomp_cache::CACHE_DIR_ENV,
            wasmprecomp_cache::CACHE_SIZE_ENV,
        ]
        .into_iter()
        .chain(wasmprecomp_remote::REMOTE_ENV_VARS.iter().copied())
        {
            rerun.env(v);
        }
        let mut cache = self.cache.clone();
        if cache.remote.is_none() && !cache.disabled {
            cache = cache.with_remote_from_env(&self.remote)?;
        }
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
            .map_err(Error::Target)?
            .with_bounds_checks(self.bounds_checks)
            .with_interruption(self.interruption)
            .with_target_cpu(self.target_cpu)
            .map_err(Error::Target)?;
        let mut inputs: Vec<PathBuf> = self.wasm.clone();
        for w in &self.wasm {
            rerun.file(w);
        }
        if !self.packages.is_empty() {
            let mut sel = Selection {
                manifest_path: self.manifest_path.clone(),
                packages: self.packages.clone(),
                workspace: false,
                exclude: vec![],
                profile: self.profile.clone().unwrap_or_else(|| "release".into()),
                target_dir: Some(out_base.join("wasm-build")),
                wasm_target: self.wasm_target.clone(),
                cargo: Default::default(),
            };
            let meta = workspace::metadata(&sel)?;
            let root = meta.workspace_root.clone().into_std_path_buf();
            rerun.file(root.join("Cargo.toml"));
            for p in meta.workspace_packages() {
                rerun.file(p.manifest_path.clone().into_std_path_buf());
            }
            rerun.cargo_config(&root);
            let config = Config::read(&meta)?;
            if sel.wasm_target.is_none() {
                sel.wasm_target = config.wasm_target.clone();
            }
            rerun.env(format!(
                "CARGO_TARGET_{}_RUSTFLAGS",
                sel.wasm_target().to_uppercase().replace(['-', '.'], "_")
            ));
            check_core_target(sel.wasm_target())?;
            let packages = workspace::selected(&sel, &meta, &config)?;
            // The nested build starts in the wasm workspace's root, whose manifest it
            // names, so that workspace's cargo configuration applies.
            sel.manifest_path
                .get_or_insert_with(|| root.join("Cargo.toml"));
            let wasm_rustflags = match &self.wasm_rustflags {
                Some(f) => Some(f.clone()),
                None => std::env::var(WASM_RUSTFLAGS_ENV)
                    .ok()
                    .map(|s| s.split_whitespace().map(str::to_string).collect())
                    .or(config.rustflags.clone()),
            };
            let how = CargoBuild {
                quiet: true,
                color: Some("never".into()),
                clean_env: true,
                wasm_rustflags,
            };
            let built = workspace::cargo_build(&sel, &packages, &how)?;
            let lock = root.join("Cargo.lock");
            if lock.is_file() {
                rerun.file(lock);
            }
            for f in built.read {
                rerun.file(f);
            }
            inputs.extend(built.wasm);
        }
        let opts = DriverOptions {
            isa,
            cache,
            out_dir: out_base.clone(),
            jobs: None,
            progress: None,
        };
        let mut warnings = Vec::new();
        let inputs: Vec<Input> = inputs.into_iter().map(|path| Input { path }).collect();
        let report = compile::compile_all(&inputs, &opts, &mut warnings);
        for w in warnings {
            println!("cargo:warning=wasmprecomp cache: {w}");
        }
        let report_path = out_base.join("report.json");
        crate::precompile::write_report(&report, &report_path)?;
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
        Ok(BuildOutput {
            artifacts,
            report,
            report_path,
            rerun_if_changed: rerun.files.clone(),
            rerun_if_env_changed: rerun.env.clone(),
        })
    }
}

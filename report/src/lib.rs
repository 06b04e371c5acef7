//! The run report of `cargo wasmprecomp`: schema `wasmprecomp-report/2`, documented in
//! `docs/report.md`, the lines of `--message-format json`, and the tool's exit codes.
//!
//! These are plain serde types, so a program that reads `report.json` depends on this
//! crate alone. Fields may be added; renaming or removing one, or a value of one of the
//! enums, needs a new schema version. `docs/report.example.json` is checked against these
//! types byte for byte (`tests/example.rs`).

mod exit;

pub use exit::ExitCode;

use serde::{Deserialize, Serialize};
use std::fmt;

/// The schema identifier written in every report.
pub const SCHEMA: &str = "wasmprecomp-report/2";

/// `as_str` and `Display` giving each value's JSON name (the tests check they agree with
/// serde's).
macro_rules! json_names {
    ($t:ident { $($v:ident => $name:literal),* $(,)? }) => {
        impl $t {
            /// The name the JSON uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $name,)*
                }
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

json_names!(CacheMode { ReadWrite => "read-write", ReadOnly => "read-only", Off => "off" });
json_names!(Status { Ok => "ok", Error => "error" });
json_names!(ModuleCache { Hit => "hit", Miss => "miss", Off => "off" });

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    pub tool_version: String,
    pub target: String,
    pub cpu_features: Vec<String>,
    pub opt_level: String,
    pub cache: CacheReport,
    /// The remote level's counters; absent when no remote cache was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Box<RemoteReport>>,
    pub modules: Vec<ModuleReport>,
    pub totals: Totals,
}

/// The store's own counters for this run: lookups per tier, not functions. A function a
/// manifest serves is no function-tier lookup, and a module-tier hit makes none at all;
/// how each function's code was obtained is in [`FunctionCacheReport`] and [`Totals`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CacheReport {
    /// The cache directory, `null` when the cache is off.
    pub dir: Option<String>,
    pub mode: CacheMode,
    pub module_hits: u64,
    pub module_misses: u64,
    pub function_hits: u64,
    pub function_misses: u64,
    pub manifest_hits: u64,
    pub manifest_misses: u64,
    pub corrupt: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub evictions: u64,
}

/// The remote cache of a run (`--remote-cache`): its configuration, never its
/// credentials, and its counters. Misses include lookups that failed (`errors`) and
/// objects that failed their checks (`corrupt`, `unauthenticated`), which are never used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RemoteReport {
    /// The URL without user name and password.
    pub url: String,
    /// `read-write` or `read-only` (`--remote-read-only`).
    pub mode: CacheMode,
    /// Whether objects are authenticated with a key (`WASMPRECOMP_REMOTE_KEY`).
    pub authenticated: bool,
    pub module_hits: u64,
    pub module_misses: u64,
    pub manifest_hits: u64,
    pub manifest_misses: u64,
    pub function_hits: u64,
    pub function_misses: u64,
    /// Objects that failed their digest, length or format checks.
    pub corrupt: u64,
    /// Objects without a valid authentication tag while a key is set.
    pub unauthenticated: u64,
    /// Failed requests (refused, timed out, an error status).
    pub errors: u64,
    /// Requests sent (a Redis `MGET` or pipeline counts once).
    pub requests: u64,
    pub bytes_down: u64,
    pub bytes_up: u64,
    /// Entries uploaded.
    pub uploads: u64,
    /// Entries not uploaded (refused, failed, or unfinished when the wait at the end ran out).
    pub uploads_dropped: u64,
    /// Time spent waiting for the remote: reads, and the uploads at the end of the run.
    pub wait_ms: f64,
    /// Whether the remote was turned off during the run after consecutive failures.
    pub disabled: bool,
}

/// How the run used the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Default)]
pub enum CacheMode {
    /// `read-write`: hits served, new entries written.
    ReadWrite,
    /// `read-only`: hits served, nothing written (`--cache-read-only`, or a folder that
    /// is not writable).
    ReadOnly,
    /// `off`: no cache (`--no-cache`, or none could be opened).
    #[default]
    Off,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModuleReport {
    /// The input path as given (or as found in the target folder).
    pub input: String,
    /// The artifact path; `null` when the module failed.
    pub output: Option<String>,
    /// The target triple the artifact is for (the report's `target`).
    #[serde(default)]
    pub target: String,
    pub wasm_bytes: u64,
    pub artifact_bytes: u64,
    pub wasm_sha256: String,
    pub status: Status,
    /// Why the module failed; `null` when it compiled.
    pub error: Option<ErrorReport>,
    pub module_cache: ModuleCache,
    /// Defined functions (on a module-tier hit too, where all are served by the cache).
    pub functions: u64,
    pub function_cache: FunctionCacheReport,
    pub timings_ms: Timings,
    /// The functions this module compiled, slowest first (at most 10; empty when it
    /// compiled none: everything served by the cache or reused).
    #[serde(default)]
    pub slowest_functions: Vec<FunctionTime>,
}

/// The compile time of one function.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FunctionTime {
    /// The function's index in its module (imports included).
    pub function: u32,
    /// Its name: from the name section, else `wasm_func_<index>`.
    pub name: String,
    /// The size of its body in the module (locals and operators).
    pub body_bytes: u32,
    /// Milliseconds from its stencil to its machine code (lowering, register allocation,
    /// emission), on one thread.
    pub compile_ms: f64,
}

/// Whether a module compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `ok`: the artifact was written.
    Ok,
    /// `error`: no artifact; `error` says why.
    Error,
}

/// What the module tier did for a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleCache {
    /// `hit`: the whole artifact came from the cache.
    Hit,
    /// `miss`: the module went through the function tier.
    Miss,
    /// `off`: the tier was not used (`--no-module-cache`, `--no-cache`).
    Off,
}

/// A module's failure; each field other than `message` is `null` where unknown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorReport {
    pub message: String,
    /// Byte offset in the module.
    pub offset: Option<u64>,
    /// Function index.
    pub function: Option<u32>,
    /// The WebAssembly proposal the module needs and this compiler does not compile.
    pub proposal: Option<String>,
}

/// Where each defined function's code came from:
/// `functions = served_by_cache + reused_in_run + deduplicated + compiled`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FunctionCacheReport {
    /// Read from the cache: a function-tier entry, the module's manifest, or (every
    /// function) a module-tier hit.
    pub served_by_cache: u64,
    /// Of `served_by_cache`, functions served by the module's manifest (no validation,
    /// stencil or per-function lookup).
    pub from_manifest: u64,
    /// Functions whose stencil an earlier module of the same run had (in input order): that
    /// module looked it up or compiled it, this one reused its code.
    pub reused_in_run: u64,
    /// Functions whose stencil equals an earlier function's in the same module.
    pub deduplicated: u64,
    /// Compiled in this run: not in the cache, or the cache is off.
    pub compiled: u64,
    /// `served_by_cache / (served_by_cache + compiled)`, 0 when both are 0.
    pub hit_rate: f64,
}

/// Milliseconds per step of one module.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Timings {
    pub read: f64,
    pub validate: f64,
    pub stencil: f64,
    pub cache_lookup: f64,
    pub compile: f64,
    pub link: f64,
    pub write: f64,
    /// The module's wall time from read to write. Modules of one run share the function
    /// tier, so their totals overlap: a module's own cost is `work`.
    pub total: f64,
    /// The sum of the module's steps: what this module cost, whatever ran in parallel.
    pub work: f64,
}

/// The modules' counts added up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Totals {
    pub modules: u64,
    pub failed: u64,
    pub functions: u64,
    pub served_by_cache: u64,
    pub reused_in_run: u64,
    pub deduplicated: u64,
    pub compiled: u64,
    /// `served_by_cache / (served_by_cache + compiled)`.
    pub hit_rate: f64,
    pub wall_ms: f64,
}

/// `hits / (hits + misses)`, or 0.
pub fn hit_rate(hits: u64, misses: u64) -> f64 {
    if hits + misses == 0 {
        0.0
    } else {
        hits as f64 / (hits + misses) as f64
    }
}

impl Report {
    /// Recomputes `totals` from `modules` (wall time is kept).
    pub fn compute_totals(&mut self) {
        let mut t = Totals {
            wall_ms: self.totals.wall_ms,
            ..Default::default()
        };
        for m in &self.modules {
            t.modules += 1;
            if m.status != Status::Ok {
                t.failed += 1;
            }
            let f = &m.function_cache;
            t.functions += m.functions;
            t.served_by_cache += f.served_by_cache;
            t.reused_in_run += f.reused_in_run;
            t.deduplicated += f.deduplicated;
            t.compiled += f.compiled;
        }
        t.hit_rate = hit_rate(t.served_by_cache, t.compiled);
        self.totals = t;
    }

    /// Whether every module compiled.
    pub fn ok(&self) -> bool {
        self.modules.iter().all(|m| m.status == Status::Ok)
    }
}

/// One line of `--message-format json`: a JSON object with a `reason`, as cargo's
/// messages have. Readers should skip reasons they do not know.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Message {
    /// `module-finished`, once per module in input order: the module's report.
    ModuleFinished(ModuleReport),
    /// `precompile-finished`, last: whether every module compiled, where the report was
    /// written, and the report.
    PrecompileFinished {
        success: bool,
        report_path: String,
        report: Report,
    },
}

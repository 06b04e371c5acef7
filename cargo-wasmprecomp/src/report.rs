//! The run report: schema `wasmprecomp-report/1` (documented in `docs/report.md`).
//!
//! This module is the schema. Fields may be added; renaming or removing one needs a new
//! schema version.

use serde::{Deserialize, Serialize};

/// The schema identifier written in every report.
pub const SCHEMA: &str = "wasmprecomp-report/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema: String,
    pub tool_version: String,
    pub target: String,
    pub cpu_features: Vec<String>,
    pub opt_level: String,
    pub cache: CacheReport,
    pub modules: Vec<ModuleReport>,
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct CacheReport {
    /// The cache directory, `null` when the cache is off.
    pub dir: Option<String>,
    /// `read-write`, `read-only` or `off`.
    pub mode: String,
    pub module_hits: u64,
    pub module_misses: u64,
    pub function_hits: u64,
    pub function_misses: u64,
    /// Module manifest lookups that found one (added in 0.1: absent in older reports).
    #[serde(default)]
    pub manifest_hits: u64,
    #[serde(default)]
    pub manifest_misses: u64,
    pub corrupt: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub evictions: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModuleReport {
    /// The input path as given (or as found in the target folder).
    pub input: String,
    /// The artifact path; `null` when the module failed.
    pub output: Option<String>,
    pub wasm_bytes: u64,
    pub artifact_bytes: u64,
    pub wasm_sha256: String,
    /// `ok` or `error`.
    pub status: String,
    pub error: Option<ErrorReport>,
    /// `hit`, `miss` or `off`.
    pub module_cache: String,
    /// Defined functions (0 on a module-tier hit: the function tier did not run).
    pub functions: u64,
    pub function_cache: FunctionCacheReport,
    pub timings_ms: Timings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorReport {
    pub message: String,
    pub offset: Option<u64>,
    pub function: Option<u32>,
    pub proposal: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FunctionCacheReport {
    pub hits: u64,
    pub misses: u64,
    /// Functions whose stencil equals an earlier function's in the same module.
    pub deduplicated: u64,
    /// Of the hits, functions served by the module's manifest (no validation, stencil
    /// or per-function lookup).
    #[serde(default)]
    pub from_manifest: u64,
    /// `hits / (hits + misses)`, 0 when both are 0.
    pub hit_rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Timings {
    pub read: f64,
    pub validate: f64,
    pub stencil: f64,
    pub cache_lookup: f64,
    pub compile: f64,
    pub link: f64,
    pub write: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Totals {
    pub modules: u64,
    pub failed: u64,
    pub functions: u64,
    pub function_hits: u64,
    pub function_misses: u64,
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
            if m.status != "ok" {
                t.failed += 1;
            }
            t.functions += m.functions;
            t.function_hits += m.function_cache.hits;
            t.function_misses += m.function_cache.misses;
        }
        t.hit_rate = hit_rate(t.function_hits, t.function_misses);
        self.totals = t;
    }

    /// Whether every module compiled.
    pub fn ok(&self) -> bool {
        self.modules.iter().all(|m| m.status == "ok")
    }

    /// A short human summary table.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let name_w = self
            .modules
            .iter()
            .map(|m| display_name(&m.input).len())
            .max()
            .unwrap_or(6)
            .max(6);
        s.push_str(&format!(
            "{:<name_w$}  {:>9}  {:>8}  {:>8}  {:>10}  status\n",
            "module", "functions", "hit rate", "module", "time (ms)"
        ));
        for m in &self.modules {
            let funcs = if m.module_cache == "hit" {
                "-".to_string()
            } else {
                m.functions.to_string()
            };
            let rate = if m.module_cache == "hit" {
                "-".to_string()
            } else {
                format!("{:.1}%", 100.0 * m.function_cache.hit_rate)
            };
            let status = if m.error.is_none() { "ok" } else { "error" };
            s.push_str(&format!(
                "{:<name_w$}  {:>9}  {:>8}  {:>8}  {:>10.1}  {}\n",
                display_name(&m.input),
                funcs,
                rate,
                m.module_cache,
                m.timings_ms.total,
                status
            ));
        }
        s.push_str(&format!(
            "{} module(s), {} failed; functions: {} hits, {} misses ({:.1}% hit rate); cache {}; {:.0} ms\n",
            self.totals.modules,
            self.totals.failed,
            self.totals.function_hits,
            self.totals.function_misses,
            100.0 * self.totals.hit_rate,
            self.cache.mode,
            self.totals.wall_ms
        ));
        s
    }
}

fn display_name(p: &str) -> String {
    std::path::Path::new(p)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| p.to_string())
}

//! The human summary of a run's report, printed on stderr.

use wasmprecomp_report::{ModuleCache, Report};

/// A short table: one line per module, then the totals.
pub fn summary(report: &Report) -> String {
    let mut s = String::new();
    let name_w = report
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
    for m in &report.modules {
        let hit = m.module_cache == ModuleCache::Hit;
        let funcs = if hit {
            "-".to_string()
        } else {
            m.functions.to_string()
        };
        let rate = if hit {
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
            m.module_cache.as_str(),
            m.timings_ms.total,
            status
        ));
    }
    s.push_str(&format!(
        "{} module(s), {} failed; functions: {} hits, {} misses ({:.1}% hit rate); cache {}; {:.0} ms\n",
        report.totals.modules,
        report.totals.failed,
        report.totals.function_hits,
        report.totals.function_misses,
        100.0 * report.totals.hit_rate,
        report.cache.mode,
        report.totals.wall_ms
    ));
    s
}

fn display_name(p: &str) -> String {
    std::path::Path::new(p)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| p.to_string())
}

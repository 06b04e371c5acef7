//! The human summary of a run's report, printed on stderr. Its words are the report's
//! field names: `served by cache` is `served_by_cache`, `reused in run` is
//! `reused_in_run`, `compiled` is `compiled`.

use wasmprecomp_report::{ModuleReport, Report};

/// A short table: one line per module, then the totals. `verbose` adds each module's
/// step times and the cache folder.
pub fn summary(report: &Report, verbose: bool) -> String {
    let mut s = String::new();
    let name_w = report
        .modules
        .iter()
        .map(|m| display_name(&m.input).len())
        .max()
        .unwrap_or(6)
        .max(6);
    s.push_str(&format!(
        "{:<name_w$}  {:>9}  {:>15}  {:>13}  {:>8}  {:>8}  {:>11}  {:>9}  status\n",
        "module",
        "functions",
        "served by cache",
        "reused in run",
        "compiled",
        "hit rate",
        "module tier",
        "time (ms)"
    ));
    for m in &report.modules {
        let f = &m.function_cache;
        let status = if m.error.is_none() { "ok" } else { "error" };
        s.push_str(&format!(
            "{:<name_w$}  {:>9}  {:>15}  {:>13}  {:>8}  {:>8}  {:>11}  {:>9.1}  {}\n",
            display_name(&m.input),
            m.functions,
            f.served_by_cache,
            f.reused_in_run,
            f.compiled,
            format!("{:.1}%", 100.0 * f.hit_rate),
            m.module_cache.as_str(),
            m.timings_ms.work,
            status
        ));
        if verbose {
            s.push_str(&phases(m));
        }
    }
    let t = &report.totals;
    s.push_str(&format!(
        "{} module(s), {} failed; functions: {} served by cache, {} reused in run, {} compiled ({:.1}% hit rate); cache {}; {:.0} ms\n",
        t.modules,
        t.failed,
        t.served_by_cache,
        t.reused_in_run,
        t.compiled,
        100.0 * t.hit_rate,
        report.cache.mode,
        t.wall_ms
    ));
    if let Some(r) = &report.remote {
        s.push_str(&format!(
            "remote {} ({}): hits {} module, {} manifest, {} function; misses {}; errors {}, corrupt {}, unauthenticated {}; {} requests, {} bytes down, {} bytes up, {} uploads ({} dropped); waited {:.0} ms{}\n",
            r.url,
            r.mode,
            r.module_hits,
            r.manifest_hits,
            r.function_hits,
            r.module_misses + r.manifest_misses + r.function_misses,
            r.errors,
            r.corrupt,
            r.unauthenticated,
            r.requests,
            r.bytes_down,
            r.bytes_up,
            r.uploads,
            r.uploads_dropped,
            r.wait_ms,
            if r.disabled { "; turned off after failures" } else { "" }
        ));
    }
    if verbose {
        let c = &report.cache;
        s.push_str(&format!(
            "cache folder: {}\ncache lookups: module hits {}, module misses {}, manifest hits {}, manifest misses {}, function hits {}, function misses {}, corrupt {}\n",
            c.dir.as_deref().unwrap_or("(none)"),
            c.module_hits,
            c.module_misses,
            c.manifest_hits,
            c.manifest_misses,
            c.function_hits,
            c.function_misses,
            c.corrupt
        ));
    }
    s
}

/// A module's step times (`-v`).
fn phases(m: &ModuleReport) -> String {
    let t = &m.timings_ms;
    format!(
        "    read {:.1}, validate {:.1}, stencil {:.1}, cache lookup {:.1}, compile {:.1}, link {:.1}, write {:.1} ms; deduplicated {}, from manifest {}\n",
        t.read, t.validate, t.stencil, t.cache_lookup, t.compile, t.link, t.write,
        m.function_cache.deduplicated, m.function_cache.from_manifest
    )
}

fn display_name(p: &str) -> String {
    std::path::Path::new(p)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| p.to_string())
}

//! `--report-html PATH`: the report as one self-contained page (no scripts, no network):
//! per module, a bar of where its functions came from and a bar of its step times, then
//! the run's slowest functions to compile and its cache counters. The numbers are the
//! report's, under the report's names.

use wasmprecomp_report::{FunctionTime, ModuleReport, Report};

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A stacked bar: each `(class, label, value)` a segment as wide as its share of `total`.
fn bar(parts: &[(&str, &str, f64)], total: f64) -> String {
    let mut s = String::from("<div class=\"bar\">");
    for (class, label, v) in parts {
        if *v <= 0.0 || total <= 0.0 {
            continue;
        }
        s.push_str(&format!(
            "<span class=\"{class}\" style=\"width:{:.3}%\" title=\"{label}: {v}\"></span>",
            100.0 * v / total
        ));
    }
    s.push_str("</div>");
    s
}

fn name(m: &ModuleReport) -> String {
    std::path::Path::new(&m.input)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| m.input.clone())
}

fn row(m: &ModuleReport) -> String {
    let f = &m.function_cache;
    let t = &m.timings_ms;
    let sources = bar(
        &[
            ("served", "served by cache", f.served_by_cache as f64),
            ("reused", "reused in run", f.reused_in_run as f64),
            ("dedup", "deduplicated", f.deduplicated as f64),
            ("compiled", "compiled", f.compiled as f64),
        ],
        m.functions as f64,
    );
    let steps = [
        ("read", t.read),
        ("validate", t.validate),
        ("stencil", t.stencil),
        ("cache_lookup", t.cache_lookup),
        ("compile", t.compile),
        ("link", t.link),
        ("write", t.write),
    ];
    let parts: Vec<(&str, &str, f64)> = steps.iter().map(|(k, v)| (*k, *k, *v)).collect();
    let times = bar(&parts, t.work);
    let error = m
        .error
        .as_ref()
        .map(|e| format!("<div class=\"error\">{}</div>", esc(&e.message)))
        .unwrap_or_default();
    format!(
        "<tr data-module=\"{input}\"><td class=\"name\" title=\"{input}\">{name}{error}</td>\
<td class=\"status\">{status}</td><td class=\"tier\">{tier}</td>\
<td data-field=\"functions\">{functions}</td><td data-field=\"served_by_cache\">{served}</td>\
<td data-field=\"reused_in_run\">{reused}</td><td data-field=\"deduplicated\">{dedup}</td>\
<td data-field=\"compiled\">{compiled}</td><td data-field=\"hit_rate\">{rate:.1}%</td>\
<td>{sources}</td><td data-field=\"work\">{work:.1}</td><td>{times}</td></tr>\n",
        input = esc(&m.input),
        name = esc(&name(m)),
        status = m.status,
        tier = m.module_cache,
        functions = m.functions,
        served = f.served_by_cache,
        reused = f.reused_in_run,
        dedup = f.deduplicated,
        compiled = f.compiled,
        rate = 100.0 * f.hit_rate,
        work = t.work,
    )
}

/// How many of the run's slowest functions the page lists.
const SLOWEST: usize = 10;

/// The run's slowest functions to compile, slowest first: a table row each, with a bar as
/// long as its share of the slowest one's time.
fn slowest(report: &Report) -> String {
    let mut all: Vec<(&ModuleReport, &FunctionTime)> = report
        .modules
        .iter()
        .flat_map(|m| m.slowest_functions.iter().map(move |f| (m, f)))
        .collect();
    all.sort_by(|a, b| b.1.compile_ms.total_cmp(&a.1.compile_ms));
    all.truncate(SLOWEST);
    let Some(top) = all.first().map(|(_, f)| f.compile_ms) else {
        return "<p id=\"slowest\">No function was compiled in this run.</p>\n".into();
    };
    let rows: String = all
        .iter()
        .map(|(m, f)| {
            format!(
                "<tr data-slow=\"{input}\"><td class=\"name\" data-field=\"slow_module\">{module}</td>\
<td data-field=\"slow_function\">{index}</td><td class=\"name\" data-field=\"slow_name\">{fname}</td>\
<td data-field=\"slow_body_bytes\">{bytes}</td><td data-field=\"slow_compile_ms\">{ms:.2}</td>\
<td>{bar}</td></tr>\n",
                input = esc(&m.input),
                module = esc(&name(m)),
                index = f.function,
                fname = esc(&f.name),
                bytes = f.body_bytes,
                ms = f.compile_ms,
                bar = bar(&[("compile", "compile", f.compile_ms)], top),
            )
        })
        .collect();
    format!(
        "<table id=\"slowest\"><thead><tr><th class=\"name\">module</th><th>function</th>\
<th class=\"name\">name</th><th>body bytes</th><th>compile (ms)</th><th></th></tr></thead>\
<tbody>\n{rows}</tbody></table>\n"
    )
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}\
td.name,th.name{text-align:left}.error{color:#b00;font-size:12px;max-width:40em;text-align:left}\
.bar{display:flex;width:220px;height:14px;background:#eee}.bar span{display:block;height:100%}\
.served{background:#2a9d8f}.reused{background:#8ab17d}.dedup{background:#e9c46a}.compiled{background:#e76f51}\
.read{background:#264653}.validate{background:#287271}.stencil{background:#2a9d8f}.cache_lookup{background:#8ab17d}\
.compile{background:#e76f51}.link{background:#f4a261}.write{background:#e9c46a}\
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}\
dl{display:grid;grid-template-columns:max-content max-content;gap:2px 16px}dd{margin:0;text-align:right}";

/// The page for `report`.
pub fn page(report: &Report) -> String {
    let t = &report.totals;
    let c = &report.cache;
    let rows: String = report.modules.iter().map(row).collect();
    let counters = [
        ("module_hits", c.module_hits),
        ("module_misses", c.module_misses),
        ("manifest_hits", c.manifest_hits),
        ("manifest_misses", c.manifest_misses),
        ("function_hits", c.function_hits),
        ("function_misses", c.function_misses),
        ("corrupt", c.corrupt),
        ("bytes_read", c.bytes_read),
        ("bytes_written", c.bytes_written),
        ("evictions", c.evictions),
    ];
    let cache: String = counters
        .iter()
        .map(|(k, v)| {
            format!(
                "<dt>{}</dt><dd data-field=\"{k}\">{v}</dd>",
                k.replace('_', " ")
            )
        })
        .collect();
    let legend = |items: &[(&str, &str)]| -> String {
        items
            .iter()
            .map(|(class, label)| format!("<span class=\"{class}\"></span>{label}"))
            .collect()
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>wasmprecomp report</title><style>{STYLE}</style></head><body>\n\
<h1>wasmprecomp report</h1>\n<p id=\"summary\">{modules} module(s), {failed} failed; \
functions: <b data-total=\"served_by_cache\">{served}</b> served by cache, \
<b data-total=\"reused_in_run\">{reused}</b> reused in run, \
<b data-total=\"compiled\">{compiled}</b> compiled ({rate:.1}% hit rate); \
{wall:.0} ms; {target}, opt level {opt}; {schema}</p>\n\
<p class=\"legend\">functions:{l1}</p><p class=\"legend\">time:{l2}</p>\n\
<table id=\"modules\"><thead><tr><th class=\"name\">module</th><th>status</th><th>module tier</th>\
<th>functions</th><th>served by cache</th><th>reused in run</th><th>deduplicated</th>\
<th>compiled</th><th>hit rate</th><th>functions by source</th><th>time (ms)</th><th>time by step</th>\
</tr></thead><tbody>\n{rows}</tbody></table>\n\
<h2>Slowest functions to compile</h2>\n{slowest}\
<h2>Cache ({mode}{dir})</h2>\n<dl id=\"cache\">{cache}</dl>\n</body></html>\n",
        modules = t.modules,
        failed = t.failed,
        served = t.served_by_cache,
        reused = t.reused_in_run,
        compiled = t.compiled,
        rate = 100.0 * t.hit_rate,
        wall = t.wall_ms,
        target = esc(&report.target),
        opt = esc(&report.opt_level),
        schema = esc(&report.schema),
        l1 = legend(&[
            ("served", "served by cache"),
            ("reused", "reused in run"),
            ("dedup", "deduplicated"),
            ("compiled", "compiled")
        ]),
        l2 = legend(&[
            ("read", "read"),
            ("validate", "validate"),
            ("stencil", "stencil"),
            ("cache_lookup", "cache lookup"),
            ("compile", "compile"),
            ("link", "link"),
            ("write", "write")
        ]),
        slowest = slowest(report),
        mode = c.mode,
        dir = c.dir.as_deref().map(|d| format!(", {}", esc(d))).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_report_is_escaped() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn bars_split_by_share_and_skip_empty_parts() {
        let b = bar(&[("a", "a", 1.0), ("b", "b", 0.0), ("c", "c", 3.0)], 4.0);
        assert!(b.contains("class=\"a\" style=\"width:25.000%\""), "{b}");
        assert!(!b.contains("class=\"b\""), "{b}");
        assert!(b.contains("class=\"c\" style=\"width:75.000%\""), "{b}");
    }
}

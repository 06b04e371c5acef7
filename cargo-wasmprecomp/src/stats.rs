//! `cache stats` as readable lines, one count per line like `ccache -s`. Each label is
//! the JSON name of its count (`cache stats --json`, and the report's `cache` object)
//! with spaces for underscores.

use std::path::Path;
use wasmprecomp_cache::{CumulativeStats, EntriesSummary, TierSummary};

/// Bytes as a person reads them: `512 B`, `1.5 KiB`, `2.0 GiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn tier(t: &TierSummary) -> String {
    format!("{} entries, {}", t.entries, size(t.bytes))
}

/// A hit count, with its tier's hit rate once there were lookups.
fn hits(hits: u64, misses: u64) -> String {
    if hits + misses == 0 {
        hits.to_string()
    } else {
        format!(
            "{hits}  ({:.1}% hit rate)",
            100.0 * hits as f64 / (hits + misses) as f64
        )
    }
}

/// The lines `cache stats` prints.
pub fn lines(
    dir: &Path,
    mode: &str,
    max_size: Option<u64>,
    cum: &CumulativeStats,
    e: &EntriesSummary,
) -> String {
    let t = &cum.totals;
    let limit = max_size.map_or(String::new(), |m| format!(" of {} limit", size(m)));
    let rows: Vec<(&str, String)> = vec![
        ("dir", dir.display().to_string()),
        ("mode", mode.to_string()),
        ("size", format!("{}{limit}", size(e.total_bytes()))),
        ("modules", tier(&e.modules)),
        ("functions", tier(&e.functions)),
        ("manifests", tier(&e.manifests)),
        ("temp files", e.temp_files.to_string()),
        ("runs", cum.runs.to_string()),
        ("module hits", hits(t.module_hits, t.module_misses)),
        ("module misses", t.module_misses.to_string()),
        ("manifest hits", hits(t.manifest_hits, t.manifest_misses)),
        ("manifest misses", t.manifest_misses.to_string()),
        ("function hits", hits(t.function_hits, t.function_misses)),
        ("function misses", t.function_misses.to_string()),
        ("corrupt", t.corrupt.to_string()),
        ("bytes read", size(t.bytes_read)),
        ("bytes written", size(t.bytes_written)),
        ("evictions", t.evictions.to_string()),
    ];
    aligned(&rows)
}

/// One `label  value` line per row, the values in one column.
fn aligned(rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
    rows.iter().map(|(k, v)| format!("{k:<w$}{v}\n")).collect()
}

/// The remote's configuration lines (`remote url`, ...), or `remote  none`.
pub fn remote_lines(rows: &[(&str, String)]) -> String {
    if rows.is_empty() {
        return aligned(&[("remote", "none".to_string())]);
    }
    aligned(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(2 << 30), "2.0 GiB");
    }

    #[test]
    fn every_counter_has_its_own_line_named_as_in_the_json() {
        let mut cum = CumulativeStats {
            runs: 3,
            ..Default::default()
        };
        cum.totals.function_hits = 30;
        cum.totals.function_misses = 10;
        let text = lines(
            Path::new("/c"),
            "read-write",
            Some(1 << 20),
            &cum,
            &EntriesSummary::default(),
        );
        let json = serde_json::to_value(cum.totals).unwrap();
        for key in json.as_object().unwrap().keys() {
            let label = key.replace('_', " ");
            assert!(
                text.lines().any(|l| l.starts_with(&label)),
                "no `{label}` line in\n{text}"
            );
        }
        assert!(
            text.contains("function hits    30  (75.0% hit rate)"),
            "{text}"
        );
        assert!(text.contains("runs             3\n"), "{text}");
        assert!(
            text.contains("size             0 B of 1.0 MiB limit"),
            "{text}"
        );
    }
}

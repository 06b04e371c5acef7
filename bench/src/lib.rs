//! What the benchmark binaries share: the corpus programs they measure and the median.

/// The Rust corpus's WASI programs, scalar builds then their `-simd` twins.
pub const PROGRAMS: [&str; 16] = [
    "regex-scan",
    "json-roundtrip",
    "sha-digest",
    "nbody",
    "fannkuch",
    "text-stats",
    "markdown",
    "image-filter",
    "regex-scan-simd",
    "json-roundtrip-simd",
    "sha-digest-simd",
    "nbody-simd",
    "fannkuch-simd",
    "text-stats-simd",
    "markdown-simd",
    "image-filter-simd",
];

/// The median of `v` (the upper one of an even count); `v` must not be empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

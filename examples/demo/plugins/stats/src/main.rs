//! A WASI command: word statistics of the shared text.
use std::collections::BTreeMap;

fn main() {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for w in demo_shared::words(demo_shared::TEXT) {
        *counts.entry(w).or_default() += 1;
    }
    let mut top: Vec<_> = counts.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (w, n) in top.iter().take(3) {
        println!("stats: {w} x{n}");
    }
    let joined: String = counts.keys().cloned().collect::<Vec<_>>().join(",");
    println!("stats: {} distinct, checksum {:016x}", counts.len(), demo_shared::checksum(joined.as_bytes()));
}

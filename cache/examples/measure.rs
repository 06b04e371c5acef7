//! Measures the cache's hit path and whether zstd compression would pay off.
//!
//! ```text
//! cargo run --release -p wasmprecomp-cache --example measure --features measure-zstd [-- DIR]
//! ```
//!
//! Stand-in payloads are function-sized slices (100 B to 20 KB, log-uniform)
//! of the `.text` sections of the machine's x86-64 shared libraries, each
//! followed by ~8% of small "metadata" (relocation-like records), which is
//! what a compiled function entry looks like. The entries are written to a
//! fresh cache in DIR (default: a temp dir) and read back in several ways.
//! "Cold" reads drop each entry file from the page cache first with
//! `posix_fadvise(DONTNEED)`, so they include real I/O.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use wasmprecomp_cache::{Cache, CacheConfig, CacheKey, Tier};

const ENTRIES: usize = 4000;
const PASSES: usize = 5;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}
fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The `.text` section of a little-endian ELF64 file, if it has one.
fn elf_text(b: &[u8]) -> Option<&[u8]> {
    if b.get(0..4)? != b"\x7fELF" || *b.get(4)? != 2 || *b.get(5)? != 1 {
        return None;
    }
    let shoff = usize::try_from(u64_at(b, 0x28)?).ok()?;
    let shentsize = usize::try_from(u16_at(b, 0x3a)?).ok()?;
    let shnum = usize::try_from(u16_at(b, 0x3c)?).ok()?;
    let shstrndx = usize::try_from(u16_at(b, 0x3e)?).ok()?;
    let sh = |i: usize| shoff + i * shentsize;
    let strtab = usize::try_from(u64_at(b, sh(shstrndx) + 0x18)?).ok()?;
    for i in 0..shnum {
        let name = usize::try_from(u32_at(b, sh(i))?).ok()?;
        let name_bytes = b.get(strtab + name..strtab + name + 6)?;
        if name_bytes == b".text\0" {
            let off = usize::try_from(u64_at(b, sh(i) + 0x18)?).ok()?;
            let size = usize::try_from(u64_at(b, sh(i) + 0x20)?).ok()?;
            return b.get(off..off + size);
        }
    }
    None
}

/// Machine code from the system's shared libraries (falls back to
/// pseudo-random plus repetitive bytes if none are found).
fn code_corpus() -> Vec<u8> {
    let mut corpus = Vec::new();
    let mut paths: Vec<PathBuf> = fs::read_dir("/usr/lib/x86_64-linux-gnu")
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    for p in paths {
        let is_so = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(".so"));
        if !is_so {
            continue;
        }
        if let Ok(bytes) = fs::read(&p) {
            if let Some(text) = elf_text(&bytes) {
                corpus.extend_from_slice(text);
            }
        }
        if corpus.len() > 64 << 20 {
            break;
        }
    }
    if corpus.len() < 1 << 20 {
        eprintln!("note: few shared libraries found; using synthetic payloads");
        let mut rng = Rng(7);
        corpus = (0..16 << 20)
            .map(|i| if i % 3 == 0 { 0x90 } else { rng.next() as u8 })
            .collect();
    }
    corpus
}

fn payloads(corpus: &[u8]) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    (0..ENTRIES)
        .map(|_| {
            // Log-uniform between 100 B and 20 KB.
            let ln = (100f64).ln() + (rng.below(1_000_000) as f64 / 1e6) * (200f64).ln();
            let len = ln.exp() as usize;
            let code_len = len * 92 / 100;
            let start = rng.below((corpus.len() - code_len) as u64) as usize;
            let mut p = corpus[start..start + code_len].to_vec();
            // Metadata: (offset, kind, symbol) records, like relocations.
            while p.len() < len {
                let off = rng.below(code_len as u64) as u32;
                p.extend_from_slice(&off.to_le_bytes());
                p.push((rng.below(4)) as u8);
                p.extend_from_slice(&(rng.below(64) as u16).to_le_bytes());
            }
            p.truncate(len);
            p
        })
        .collect()
}

fn key(i: usize) -> CacheKey {
    let mut rng = Rng((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut k = [0u8; 32];
    for c in k.chunks_exact_mut(8) {
        c.copy_from_slice(&rng.next().to_le_bytes());
    }
    CacheKey(k)
}

fn entry_path(dir: &Path, k: &CacheKey) -> PathBuf {
    let hex = k.to_hex();
    dir.join("v1/functions").join(&hex[..2]).join(hex)
}

/// Drops the entry files from the page cache.
fn drop_from_page_cache(dir: &Path) {
    use std::os::fd::AsRawFd;
    for i in 0..ENTRIES {
        if let Ok(f) = fs::File::open(entry_path(dir, &key(i))) {
            // Dirty pages cannot be dropped: write them back first.
            let _ = f.sync_data();
            // SAFETY: plain syscall on a valid, open descriptor.
            unsafe {
                libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
            }
        }
    }
}

fn per_entry(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6 / ENTRIES as f64
}

/// Best and median of `PASSES` timed passes, in µs per entry.
fn passes(mut pass: impl FnMut() -> Duration) -> (f64, f64) {
    let mut t: Vec<f64> = (0..PASSES).map(|_| per_entry(pass())).collect();
    t.sort_by(f64::total_cmp);
    (t[0], t[PASSES / 2])
}

fn order() -> Vec<usize> {
    let mut o: Vec<usize> = (0..ENTRIES).collect();
    let mut rng = Rng(99);
    for i in (1..o.len()).rev() {
        o.swap(i, rng.below(i as u64 + 1) as usize);
    }
    o
}

fn hit_pass(cache: &Cache, order: &[usize], decode: &dyn Fn(Vec<u8>) -> usize) -> Duration {
    let start = Instant::now();
    let mut total = 0;
    for &i in order {
        let got = cache.get(Tier::Function, &key(i)).expect("hit");
        total += decode(got);
    }
    let d = start.elapsed();
    assert!(total > 0);
    d
}

fn open(dir: &Path, granularity: Duration) -> Cache {
    Cache::open(&CacheConfig {
        dir: Some(dir.to_path_buf()),
        recency_granularity: granularity,
        max_size: Some(u64::MAX),
        ..CacheConfig::default()
    })
    .expect("open")
}

fn report(label: &str, (best, median): (f64, f64)) {
    println!("| {label} | {best:.2} | {median:.2} |");
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let raw_dir = base.join("raw");
    let _ = fs::remove_dir_all(&raw_dir);

    let corpus = code_corpus();
    let payloads = payloads(&corpus);
    let raw_bytes: usize = payloads.iter().map(Vec::len).sum();
    let mut sorted: Vec<usize> = payloads.iter().map(Vec::len).collect();
    sorted.sort_unstable();
    println!(
        "{ENTRIES} entries, payload median {} B, mean {} B, total {:.1} MiB; corpus {:.1} MiB of .text",
        sorted[ENTRIES / 2],
        raw_bytes / ENTRIES,
        raw_bytes as f64 / (1 << 20) as f64,
        corpus.len() as f64 / (1 << 20) as f64
    );
    let order = order();

    println!("\n| operation (single thread) | best µs/entry | median µs/entry |");
    println!("|---|---|---|");
    let cache = open(&raw_dir, Duration::from_secs(3600));
    let start = Instant::now();
    for (i, p) in payloads.iter().enumerate() {
        cache.put(Tier::Function, &key(i), p);
    }
    println!(
        "| put (first write, creates fan-out folders) | {:.2} | |",
        per_entry(start.elapsed())
    );
    report(
        "put (overwrite existing)",
        passes(|| {
            let start = Instant::now();
            for (i, p) in payloads.iter().enumerate() {
                cache.put(Tier::Function, &key(i), p);
            }
            start.elapsed()
        }),
    );
    report(
        "hit, warm page cache (no recency write)",
        passes(|| hit_pass(&cache, &order, &|v| v.len())),
    );
    report(
        "miss (absent key)",
        passes(|| {
            let start = Instant::now();
            for &i in &order {
                assert!(cache.get(Tier::Function, &key(i + ENTRIES)).is_none());
            }
            start.elapsed()
        }),
    );
    let touching = open(&raw_dir, Duration::ZERO);
    report(
        "hit + mtime refresh on every hit (futimens)",
        passes(|| hit_pass(&touching, &order, &|v| v.len())),
    );
    report(
        "hit, cold (entry dropped from page cache)",
        passes(|| {
            drop_from_page_cache(&raw_dir);
            hit_pass(&cache, &order, &|v| v.len())
        }),
    );
    let start = Instant::now();
    (0..PASSES).for_each(|_| {
        order.par_iter().for_each(|&i| {
            assert!(cache.get(Tier::Function, &key(i)).is_some());
        })
    });
    println!(
        "| hit, warm, {} rayon threads (wall time per hit) | {:.2} | |",
        rayon::current_num_threads(),
        per_entry(start.elapsed()) / PASSES as f64
    );
    let s = cache.stats();
    assert_eq!(s.corrupt, 0);

    #[cfg(feature = "measure-zstd")]
    zstd_section(&base, &payloads, &order, raw_bytes);
    #[cfg(not(feature = "measure-zstd"))]
    println!("\n(build with --features measure-zstd for the compression numbers)");
    module_section(&base, &corpus);
}

const MODULES: usize = 12;
const MODULE_LEN: usize = 2 << 20;

fn module_dir_drop(dir: &Path) {
    use std::os::fd::AsRawFd;
    for i in 0..MODULES {
        let hex = key(i).to_hex();
        let p = dir.join("v1/modules").join(&hex[..2]).join(hex);
        if let Ok(f) = fs::File::open(p) {
            let _ = f.sync_data();
            // SAFETY: plain syscall on a valid, open descriptor.
            unsafe {
                libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
            }
        }
    }
}

/// Module-sized entries (2 MiB each): is compression worth it there?
fn module_section(base: &Path, corpus: &[u8]) {
    let modules: Vec<Vec<u8>> = (0..MODULES)
        .map(|i| {
            let start = (i * 5 * MODULE_LEN) % (corpus.len() - MODULE_LEN);
            corpus[start..start + MODULE_LEN].to_vec()
        })
        .collect();
    let time_hits = |cache: &Cache, decode: &dyn Fn(Vec<u8>) -> usize| {
        let start = Instant::now();
        for i in 0..MODULES {
            let v = cache.get(Tier::Module, &key(i)).expect("module hit");
            assert!(decode(v) > 0);
        }
        start.elapsed().as_secs_f64() * 1e3 / MODULES as f64
    };
    let dir = base.join("modules-raw");
    let _ = fs::remove_dir_all(&dir);
    let cache = open(&dir, Duration::from_secs(3600));
    for (i, m) in modules.iter().enumerate() {
        cache.put(Tier::Module, &key(i), m);
    }
    let warm = (0..PASSES)
        .map(|_| time_hits(&cache, &|v| v.len()))
        .fold(f64::MAX, f64::min);
    let cold = (0..3)
        .map(|_| {
            module_dir_drop(&dir);
            time_hits(&cache, &|v| v.len())
        })
        .fold(f64::MAX, f64::min);
    println!("\n| 2 MiB module entry | ratio | warm hit ms | cold hit ms |");
    println!("|---|---|---|---|");
    println!("| raw | 1.000 | {warm:.3} | {cold:.3} |");
    #[cfg(feature = "measure-zstd")]
    {
        let dir = base.join("modules-zstd");
        let _ = fs::remove_dir_all(&dir);
        let cache = open(&dir, Duration::from_secs(3600));
        let mut compressed = 0usize;
        for (i, m) in modules.iter().enumerate() {
            let c = zstd::bulk::compress(m, 1).expect("compress");
            compressed += c.len();
            cache.put(Tier::Module, &key(i), &c);
        }
        let decode = |v: Vec<u8>| {
            zstd::bulk::decompress(&v, MODULE_LEN)
                .expect("decompress")
                .len()
        };
        let warm = (0..PASSES)
            .map(|_| time_hits(&cache, &decode))
            .fold(f64::MAX, f64::min);
        let cold = (0..3)
            .map(|_| {
                module_dir_drop(&dir);
                time_hits(&cache, &decode)
            })
            .fold(f64::MAX, f64::min);
        println!(
            "| zstd 1 | {:.3} | {warm:.3} | {cold:.3} |",
            compressed as f64 / (MODULES * MODULE_LEN) as f64
        );
        let _ = fs::remove_dir_all(&dir);
    }
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(feature = "measure-zstd")]
fn zstd_section(base: &Path, payloads: &[Vec<u8>], order: &[usize], raw_bytes: usize) {
    let header = 64;
    let raw_files = raw_bytes + ENTRIES * header;
    println!("\n| zstd level | entry bytes vs raw | compress µs/entry | decompress µs/entry | hit+decompress warm µs | hit+decompress cold µs |");
    println!("|---|---|---|---|---|---|");
    for level in [1, 3, 9] {
        // Reused contexts: zstd's best case (a cache would keep one per
        // thread).
        let mut compressor = zstd::bulk::Compressor::new(level).expect("compressor");
        let start = Instant::now();
        let compressed: Vec<Vec<u8>> = payloads
            .iter()
            .map(|p| compressor.compress(p).expect("compress"))
            .collect();
        let compress_us = per_entry(start.elapsed());
        let c_files: usize = compressed.iter().map(|c| c.len() + header).sum();
        let decompressor = std::cell::RefCell::new(zstd::bulk::Decompressor::new().expect("dctx"));
        let (decompress_us, _) = passes(|| {
            let start = Instant::now();
            for (c, p) in compressed.iter().zip(payloads) {
                let d = decompressor
                    .borrow_mut()
                    .decompress(c, p.len())
                    .expect("decompress");
                assert_eq!(d.len(), p.len());
            }
            start.elapsed()
        });
        let dir = base.join(format!("zstd{level}"));
        let _ = fs::remove_dir_all(&dir);
        let cache = open(&dir, Duration::from_secs(3600));
        for (i, c) in compressed.iter().enumerate() {
            cache.put(Tier::Function, &key(i), c);
        }
        let decode = |v: Vec<u8>| {
            decompressor
                .borrow_mut()
                .decompress(&v, 1 << 20)
                .expect("decompress")
                .len()
        };
        let (warm, _) = passes(|| hit_pass(&cache, order, &decode));
        let (cold, _) = passes(|| {
            drop_from_page_cache(&dir);
            hit_pass(&cache, order, &decode)
        });
        println!(
            "| {level} | {:.3} | {compress_us:.2} | {decompress_us:.2} | {warm:.2} | {cold:.2} |",
            c_files as f64 / raw_files as f64
        );
        let _ = fs::remove_dir_all(&dir);
    }
}

//! The cache through the real binary: concurrency, crash safety, corruption, read-only
//! use, portability and order independence.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

mod common;
use common::{bin, copy_dir, ok};

/// The cache's versioned folder.
const VERSION_DIR: &str = "v3";

/// A module of `n` functions; functions `shared_from..` have bodies that other modules
/// share (at other indices), the rest are unique to `tag`.
fn module(tag: u32, n: u32, shared: u32) -> Vec<u8> {
    let mut s = String::from("(module (memory 1) (global $g (mut i32) (i32.const 0))\n");
    // Unique functions first, so shared ones sit at different indices in each module.
    for i in 0..n - shared {
        s.push_str(&format!(
            "(func (param i32) (result i32) local.get 0 i32.const {} i32.mul i32.const {} i32.add global.get $g i32.xor)\n",
            tag * 1000 + i + 1,
            i
        ));
    }
    for i in 0..shared {
        s.push_str(&format!(
            "(func (export \"s{i}\") (param i32) (result i32) (local i32 i64)
               block loop local.get 1 local.get 0 i32.ge_u br_if 1
               local.get 1 i32.const {i} i32.add i32.load offset=16 local.get 1 i32.add local.set 1
               local.get 2 i64.const 3 i64.mul local.set 2 br 0 end end local.get 1)\n"
        ));
    }
    s.push(')');
    wat::parse_str(&s).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    inputs: Vec<PathBuf>,
}

fn fixture(n: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let mut inputs = Vec::new();
    for t in 0..4 {
        let p = root.join(format!("m{t}.wasm"));
        std::fs::write(&p, module(t, n, n / 2)).unwrap();
        inputs.push(p);
    }
    Fixture {
        _dir: dir,
        root,
        inputs,
    }
}

fn compile(inputs: &[PathBuf], cache: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .args(inputs)
        .arg("--cache-dir")
        .arg(cache)
        .arg("--out-dir")
        .arg(out)
        .args(extra)
        .arg("-q")
        .output()
        .unwrap()
}

fn report(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

fn artifacts(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wpc"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The artifacts of a compile without cache: what every cached compile must reproduce.
fn reference_artifacts(f: &Fixture) -> Vec<(String, Vec<u8>)> {
    let reference = f.root.join("ref");
    ok(compile(
        &f.inputs,
        &f.root.join("none"),
        &reference,
        &["--no-cache"],
    ));
    artifacts(&reference)
}

/// Every artifact in `out` equals the reference artifact of the same name.
fn assert_subset_of(want: &[(String, Vec<u8>)], out: &Path, what: &str) {
    for (name, bytes) in artifacts(out) {
        let w = want.iter().find(|(n, _)| *n == name).unwrap();
        assert!(w.1 == bytes, "{name} {what}");
    }
}

fn entries(cache: &Path) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    fn walk(p: &Path, s: &mut BTreeSet<String>, base: &Path) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, s, base);
                } else {
                    let rel = p.strip_prefix(base).unwrap().to_string_lossy().to_string();
                    if rel.contains("/modules/") || rel.contains("/functions/") {
                        s.insert(rel);
                    }
                }
            }
        }
    }
    walk(cache, &mut s, cache);
    s
}

fn verify(cache: &Path) -> serde_json::Value {
    let o = ok(bin()
        .args(["cache", "verify"])
        .arg("--cache-dir")
        .arg(cache)
        .output()
        .unwrap());
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn four_processes_share_one_cache_folder_and_produce_identical_artifacts() {
    let f = fixture(60);
    let want = reference_artifacts(&f);
    let cache = f.root.join("cache");
    for round in 0..3 {
        let mut children = Vec::new();
        for p in 0..4 {
            // Overlapping selections, different orders.
            let mut ins = f.inputs.clone();
            ins.rotate_left(p);
            ins.truncate(3);
            let out = f.root.join(format!("out-{round}-{p}"));
            let child = bin()
                .args(&ins)
                .arg("--cache-dir")
                .arg(&cache)
                .arg("--out-dir")
                .arg(&out)
                .arg("-q")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            children.push((child, out));
        }
        for (c, out) in children {
            ok(c.wait_with_output().unwrap());
            assert_subset_of(&want, &out, "differs from the no-cache compile");
        }
    }
    let v = verify(&cache);
    assert_eq!(v["corrupt_found"], 0, "{v}");
    assert!(v["checked"].as_u64().unwrap() > 0);
}

#[test]
fn killing_a_compile_at_random_moments_never_corrupts_the_cache() {
    let f = fixture(400);
    let want = reference_artifacts(&f);
    let cache = f.root.join("cache");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..20 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_millis(5 + seed % 120);
        let out = f.root.join(format!("kill-{i}"));
        let mut child = bin()
            .args(&f.inputs)
            .arg("--cache-dir")
            .arg(&cache)
            .arg("--out-dir")
            .arg(&out)
            .arg("--no-module-cache")
            .arg("-q")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Whatever was left, artifacts are never half-written.
        if out.exists() {
            assert_subset_of(&want, &out, "is a partial or wrong artifact after kill -9");
        }
    }
    let v = verify(&cache);
    assert_eq!(
        v["corrupt_found"], 0,
        "a killed writer never leaves a visible damaged entry: {v}"
    );
    let out = f.root.join("after");
    ok(compile(&f.inputs, &cache, &out, &["--cache-check"]));
    assert_eq!(artifacts(&out), want);
}

#[test]
fn corrupted_entries_are_counted_misses_and_artifacts_stay_right() {
    let f = fixture(30);
    let cache = f.root.join("cache");
    let first = f.root.join("first");
    ok(compile(&f.inputs, &cache, &first, &[]));
    let want = artifacts(&first);
    let files: Vec<String> = entries(&cache).into_iter().collect();
    let base = &cache;
    let mut damaged = 0;
    for (i, rel) in files.iter().enumerate() {
        let p = base.join(rel);
        match i % 4 {
            0 => {
                let mut b = std::fs::read(&p).unwrap();
                let at = b.len() - 1;
                b[at] ^= 0xff;
                std::fs::write(&p, b).unwrap();
            }
            1 => {
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..b.len() / 2]).unwrap();
            }
            2 => std::fs::write(&p, b"").unwrap(),
            _ => std::fs::write(&p, b"garbage garbage garbage garbage garbage garbage").unwrap(),
        }
        damaged += 1;
    }
    std::fs::write(cache.join(VERSION_DIR).join("unknown-file"), b"?").unwrap();
    let out = f.root.join("second");
    ok(compile(&f.inputs, &cache, &out, &[]));
    assert_eq!(
        artifacts(&out),
        want,
        "damaged entries never produce wrong code"
    );
    let r = report(&out);
    assert!(
        r["cache"]["corrupt"].as_u64().unwrap() >= 4,
        "{}",
        r["cache"]
    );
    assert!(r["cache"]["corrupt"].as_u64().unwrap() <= damaged);
    // Damaged entries were replaced: a third run is all module hits.
    let third = f.root.join("third");
    ok(compile(&f.inputs, &cache, &third, &[]));
    assert_eq!(report(&third)["cache"]["module_hits"], 4);
}

/// The entry files of `tier` (`modules`, `manifests` or `functions`), sorted; not the
/// shared payloads (`<key>.data`) beside some of them.
fn tier_entries(cache: &Path, tier: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let Ok(fans) = std::fs::read_dir(cache.join(VERSION_DIR).join(tier)) else {
        return v;
    };
    for fan in fans.flatten() {
        for e in std::fs::read_dir(fan.path()).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !name.starts_with('.') && !name.ends_with(".data") {
                v.push(e.path());
            }
        }
    }
    v.sort();
    v
}

/// Replaces the entry at `to` with `from` (another entry's file) whose header names `to`'s
/// key (its file name): a copy that every check but the key binding passes.
fn forge(from: &[u8], to: &Path) {
    let hex = to.file_name().unwrap().to_str().unwrap();
    let key: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut b = from.to_vec();
    b[16..48].copy_from_slice(&key);
    std::fs::write(to, b).unwrap();
}

/// Every entry of `tier` gets the next one's file, with its own key written in.
fn forge_all(cache: &Path, tier: &str) -> usize {
    let files = tier_entries(cache, tier);
    let originals: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    for (i, to) in files.iter().enumerate() {
        forge(&originals[(i + 1) % files.len()], to);
    }
    files.len()
}

#[test]
fn entries_copied_over_others_are_counted_corrupt_misses_in_every_tier() {
    // Modules of different shapes, so that each tier has several entries.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let inputs: Vec<PathBuf> = (0..4)
        .map(|t| {
            let p = root.join(format!("m{t}.wasm"));
            std::fs::write(&p, module(t, 12 + 2 * t, 6)).unwrap();
            p
        })
        .collect();
    let reference = root.join("ref");
    ok(compile(
        &inputs,
        &root.join("none"),
        &reference,
        &["--no-cache"],
    ));
    let want = artifacts(&reference);
    let tiers: [(&str, &str, &[&str]); 3] = [
        ("modules", "module_hits", &[]),
        ("manifests", "manifest_hits", &["--no-module-cache"]),
        (
            "functions",
            "function_hits",
            &["--no-module-cache", "--no-manifest"],
        ),
    ];
    for (tier, hits, flags) in tiers {
        let cache = root.join(format!("cache-{tier}"));
        ok(compile(
            &inputs,
            &cache,
            &root.join(format!("{tier}-1")),
            flags,
        ));
        let forged = forge_all(&cache, tier);
        assert!(forged >= 2, "{tier}: {forged} entries");
        // One worker: the modules share their interface's (forged) link, and the first
        // reader drops it as corrupt; two readers at once would both count it.
        let out = root.join(format!("{tier}-2"));
        let one_worker: Vec<&str> = flags.iter().copied().chain(["-j", "1"]).collect();
        ok(compile(&inputs, &cache, &out, &one_worker));
        assert_eq!(artifacts(&out), want, "{tier}: every artifact is right");
        let r = report(&out);
        assert_eq!(r["cache"]["corrupt"], forged, "{tier}: {}", r["cache"]);
        assert_eq!(r["cache"][hits], 0, "{tier}: {}", r["cache"]);
        eprintln!("{tier}: {forged} forged entries, all counted corrupt; artifacts right");
        // The forgeries were replaced: the next run hits them all.
        let out = root.join(format!("{tier}-3"));
        ok(compile(&inputs, &cache, &out, flags));
        assert_eq!(artifacts(&out), want);
        let r = report(&out);
        // The manifest tier also holds each interface's link, read only when a shape
        // has no manifest: every module hits its own.
        let hit = if tier == "manifests" {
            inputs.len()
        } else {
            forged
        };
        assert_eq!(r["cache"][hits], hit, "{tier}: {}", r["cache"]);
        assert_eq!(r["cache"]["corrupt"], 0, "{tier}: {}", r["cache"]);
        // And `cache verify` finds forgeries too.
        assert_eq!(forge_all(&cache, tier), forged);
        let v = verify(&cache);
        assert_eq!(v["corrupt_found"], forged, "{tier}: {v}");
        assert_eq!(v["corrupt_removed"], forged, "{tier}: {v}");
        assert!(tier_entries(&cache, tier).is_empty(), "{tier}: removed");
    }
}

#[test]
fn a_read_only_cache_serves_every_hit_and_writes_nothing() {
    let f = fixture(20);
    let cache = f.root.join("cache");
    ok(compile(&f.inputs, &cache, &f.root.join("o1"), &[]));
    let before = entries(&cache);
    let out = f.root.join("o2");
    ok(compile(
        &f.inputs,
        &cache,
        &out,
        &["--cache-read-only", "--no-module-cache"],
    ));
    let r = report(&out);
    assert_eq!(r["cache"]["mode"], "read-only");
    assert_eq!(r["cache"]["function_misses"], 0);
    assert_eq!(r["cache"]["bytes_written"], 0);
    assert_eq!(entries(&cache), before);
    // A new module: compiled, nothing stored.
    let extra = f.root.join("extra.wasm");
    std::fs::write(&extra, module(9, 10, 0)).unwrap();
    ok(compile(
        &[extra],
        &cache,
        &f.root.join("o3"),
        &["--cache-read-only"],
    ));
    assert_eq!(entries(&cache), before);
}

#[test]
fn a_copied_cache_hits_from_another_checkout_path() {
    let f = fixture(25);
    let cache = f.root.join("cache");
    ok(compile(&f.inputs, &cache, &f.root.join("o1"), &[]));
    // Another machine: the cache folder copied, the modules at another path.
    let other = tempfile::tempdir().unwrap();
    let copied = other.path().join("restored-cache");
    copy_dir(&cache, &copied);
    let checkout = other.path().join("checkout");
    std::fs::create_dir_all(&checkout).unwrap();
    let moved: Vec<PathBuf> = f
        .inputs
        .iter()
        .map(|p| {
            let q = checkout.join(p.file_name().unwrap());
            std::fs::copy(p, &q).unwrap();
            q
        })
        .collect();
    let out = other.path().join("out");
    ok(compile(&moved, &copied, &out, &[]));
    assert_eq!(report(&out)["cache"]["module_hits"], 4);
    let out2 = other.path().join("out2");
    ok(compile(&moved, &copied, &out2, &["--no-module-cache"]));
    let r = report(&out2);
    assert_eq!(r["cache"]["function_misses"], 0);
    assert!(r["cache"]["function_hits"].as_u64().unwrap() > 0);
}

#[test]
fn compile_order_and_parallelism_do_not_change_keys_hits_or_bytes() {
    let f = fixture(40);
    let mut listings = Vec::new();
    let mut outputs = Vec::new();
    let orders: Vec<(Vec<usize>, &str, bool)> = vec![
        (vec![0, 1, 2, 3], "1", false),
        (vec![3, 2, 1, 0], "2", false),
        (vec![2, 0, 3, 1], "2", true), // one module per process
    ];
    for (k, (order, jobs, separate)) in orders.iter().enumerate() {
        let cache = f.root.join(format!("cache{k}"));
        let out = f.root.join(format!("out{k}"));
        let ins: Vec<PathBuf> = order.iter().map(|i| f.inputs[*i].clone()).collect();
        if *separate {
            for i in &ins {
                ok(compile(
                    std::slice::from_ref(i),
                    &cache,
                    &out,
                    &["-j", jobs, "--no-module-cache"],
                ));
            }
        } else {
            ok(compile(
                &ins,
                &cache,
                &out,
                &["-j", jobs, "--no-module-cache"],
            ));
        }
        // The repeat is all hits.
        let rep = f.root.join(format!("rep{k}"));
        ok(compile(
            &ins,
            &cache,
            &rep,
            &["-j", jobs, "--no-module-cache"],
        ));
        let r = report(&rep);
        assert_eq!(r["cache"]["function_misses"], 0, "order {k}: repeat misses");
        listings.push(entries(&cache));
        outputs.push(artifacts(&out));
    }
    assert_eq!(listings[0], listings[1], "same keys whatever the order");
    assert_eq!(listings[0], listings[2], "same keys one module per process");
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn eviction_keeps_the_size_limit() {
    let f = fixture(40);
    let cache = f.root.join("cache");
    ok(compile(&f.inputs, &cache, &f.root.join("o"), &[]));
    let o = ok(bin()
        .args(["cache", "gc", "--max-size", "20K"])
        .arg("--cache-dir")
        .arg(&cache)
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.to_string().contains("evicted") || v.is_object(), "{v}");
    let total: u64 = entries(&cache)
        .iter()
        .map(|r| std::fs::metadata(cache.join(r)).unwrap().len())
        .sum();
    assert!(
        total <= 20 * 1024,
        "cache holds {total} bytes after gc to 20K"
    );
}

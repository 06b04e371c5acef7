//! Behaviour tests on real files in temp dirs.
//!
//! Some tests re-run this test binary as a child process (to have real
//! separate processes, or a process that is not root). The child runs one
//! `helper_*` test selected with `--exact`; without the environment variables
//! the parent sets, those helpers do nothing and pass.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use rayon::prelude::*;
use wasmprecomp_cache::{
    parse_size, Cache, CacheConfig, CacheError, CacheKey, CumulativeStats, Found, Mode, RunStats,
    Tier,
};

// ---------------------------------------------------------------- helpers

/// A deterministic, well-spread key for `n` (splitmix64 stream).
fn key(n: u64) -> CacheKey {
    let mut k = [0u8; 32];
    let mut x = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    for chunk in k.chunks_exact_mut(8) {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    CacheKey(k)
}

/// A payload that depends on `n` and has length `len`.
fn payload(n: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(31).wrapping_add(n * 7) as u8)
        .collect()
}

fn config(dir: &Path) -> CacheConfig {
    CacheConfig {
        dir: Some(dir.to_path_buf()),
        // Explicit, so a WASMPRECOMP_CACHE_SIZE in the environment cannot
        // trigger evictions the tests do not expect.
        max_size: Some(1 << 30),
        lock_timeout: Duration::from_millis(200),
        ..CacheConfig::default()
    }
}

fn open(dir: &Path) -> Cache {
    Cache::open(&config(dir)).expect("open cache")
}

fn entry_path(dir: &Path, tier: Tier, key: &CacheKey) -> PathBuf {
    let hex = key.to_hex();
    dir.join(VERSION_DIR)
        .join(tier.dir_name())
        .join(&hex[..2])
        .join(hex)
}

fn set_mtime(path: &Path, t: SystemTime) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(t))
        .expect("set mtime");
}

fn hours_ago(h: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(h * 3600)
}

fn read_stats_json(dir: &Path) -> CumulativeStats {
    let bytes = fs::read(dir.join(VERSION_DIR).join("stats.json")).expect("stats.json exists");
    serde_json::from_slice(&bytes).expect("stats.json parses")
}

const HEADER: u64 = 64;
/// The versioned folder entries live in.
const VERSION_DIR: &str = "v3";

/// Runs the named `helper_*` test of this binary in a child process.
fn child(test_name: &str) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1"]);
    cmd
}

fn assert_child_ok(out: std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Make sure the child really ran the helper rather than filtering it out.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{what} did not run its helper: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

// ------------------------------------------------------------- basics

#[test]
fn cache_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Cache>();
}

#[test]
fn a_put_entry_comes_back_byte_for_byte_in_both_tiers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    assert_eq!(cache.mode(), Mode::ReadWrite);
    assert_eq!(cache.dir(), Some(dir.path()));
    let k = key(1);
    let module = payload(1, 300_000);
    let function = payload(2, 1234);
    cache.put(Tier::Module, &k, &module);
    cache.put(Tier::Function, &k, &function);
    // The same key in the two tiers is two entries.
    assert_eq!(cache.get(Tier::Module, &k).as_deref(), Some(&module[..]));
    assert_eq!(
        cache.get(Tier::Function, &k).as_deref(),
        Some(&function[..])
    );
    // An empty payload is a valid entry too.
    cache.put(Tier::Function, &key(2), &[]);
    assert_eq!(cache.get(Tier::Function, &key(2)), Some(Vec::new()));
    let s = cache.stats();
    assert_eq!(s.module_hits, 1);
    assert_eq!(s.function_hits, 2);
    assert_eq!(s.bytes_read, 301_234);
    assert_eq!(s.bytes_written, 301_234);
    assert!(cache.warnings().is_empty(), "{:?}", cache.warnings());
    drop(cache);

    // A later run sees the entries; the files are where the layout says.
    let again = open(dir.path());
    assert_eq!(again.get(Tier::Module, &k).as_deref(), Some(&module[..]));
    let len = fs::metadata(entry_path(dir.path(), Tier::Function, &k))
        .expect("entry file")
        .len();
    assert_eq!(len, HEADER + 1234);
}

#[test]
fn a_matching_copy_confirms_a_hit_without_reading_the_payload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    let k = key(1);
    let stored = payload(1, 100_000);
    cache.put(Tier::Module, &k, &stored);
    let copy = dir.path().join("copy");
    let offer = |c: Option<&[u8]>| {
        match c {
            Some(bytes) => fs::write(&copy, bytes).expect("write copy"),
            None => {
                let _ = fs::remove_file(&copy);
            }
        }
        cache.get_or_confirm(Tier::Module, &k, &copy)
    };
    let confirmed = Some(Found::Confirmed {
        len: 100_000,
        head: stored[..4096].to_vec(),
    });

    // An identical copy: confirmed, with its first bytes, and no payload byte read.
    assert_eq!(offer(Some(&stored)), confirmed);
    assert_eq!(
        (cache.stats().module_hits, cache.stats().bytes_read),
        (1, 0)
    );

    // A copy that differs in one byte, has another length, or is absent: the stored
    // payload is read and returned.
    let mut changed = stored.clone();
    changed[77_777] ^= 1;
    for c in [Some(&changed[..]), Some(&stored[1..]), None] {
        assert_eq!(offer(c), Some(Found::Read(stored.clone())));
    }
    let s = cache.stats();
    assert_eq!((s.module_hits, s.bytes_read), (4, 3 * 100_000));

    // A copy shorter than the returned head: all of it comes back.
    cache.put(Tier::Function, &key(3), b"tiny");
    fs::write(&copy, b"tiny").expect("write copy");
    assert_eq!(
        cache.get_or_confirm(Tier::Function, &key(3), &copy),
        Some(Found::Confirmed {
            len: 4,
            head: b"tiny".to_vec()
        })
    );

    // No entry: a miss, whatever the copy.
    fs::write(&copy, &stored).expect("write copy");
    assert_eq!(cache.get_or_confirm(Tier::Module, &key(2), &copy), None);

    // A damaged header is a corrupt miss even with a matching copy.
    let path = entry_path(dir.path(), Tier::Module, &k);
    flip_byte_at(&path, 20);
    assert_eq!(offer(Some(&stored)), None);
    let s = cache.stats();
    assert_eq!((s.module_misses, s.corrupt), (2, 1));
    assert!(!path.exists(), "the damaged entry was removed");

    // A damaged payload with an intact header: a differing copy finds the damage (a
    // corrupt miss); the stored bytes themselves still confirm, because that is exactly
    // what was stored.
    cache.put(Tier::Module, &k, &stored);
    flip_byte_at(&path, HEADER + 5);
    assert_eq!(offer(Some(&stored)), confirmed);
    assert_eq!(offer(None), None);
    assert_eq!(cache.stats().corrupt, 2);
}

/// The file a shared entry keeps its payload in: the entry's path with `.data`.
fn shared_path(dir: &Path, tier: Tier, key: &CacheKey) -> PathBuf {
    let mut p = entry_path(dir, tier, key).into_os_string();
    p.push(".data");
    p.into()
}

/// Files under the versioned folder whose names start with `.tmp-`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else if e.file_name().to_string_lossy().starts_with(".tmp-") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join(VERSION_DIR), &mut out);
    out
}

#[test]
fn put_file_shares_the_written_file_instead_of_copying_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    let k = key(1);
    let artifact = payload(1, 200_000);
    let written = dir.path().join("artifact.tmp");
    fs::write(&written, &artifact).expect("write artifact");
    cache.put_file(Tier::Module, &k, &artifact, &written);

    // The entry file is the header alone, flagged; the payload is the same inode.
    let header = fs::read(entry_path(dir.path(), Tier::Module, &k)).expect("entry");
    assert_eq!(header.len() as u64, HEADER);
    assert_eq!(header[13], 1, "the shared flag");
    assert_eq!(&header[48..56], &200_000u64.to_le_bytes());
    let shared = shared_path(dir.path(), Tier::Module, &k);
    let (a, b) = (
        fs::metadata(&written).expect("artifact"),
        fs::metadata(&shared).expect("shared payload"),
    );
    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));
    assert!(
        temp_files(dir.path()).is_empty(),
        "no temp file left behind"
    );
    // No payload bytes were written, and the hit reads them back from the shared file.
    assert_eq!(cache.stats().bytes_written, 0);
    assert_eq!(cache.get(Tier::Module, &k), Some(artifact.clone()));

    // The caller replaces its file by a rename, as its next write does: the entry keeps
    // the old file and still hits; the copy at the new path no longer confirms it.
    let next = dir.path().join("next.tmp");
    fs::write(&next, payload(2, 200_000)).expect("write next");
    fs::rename(&next, &written).expect("rename over");
    assert_eq!(cache.get(Tier::Module, &k), Some(artifact.clone()));
    // The hit reads the shared file and names it, for a caller that links it in place.
    assert_eq!(
        cache.get_or_confirm(Tier::Module, &k, &written),
        Some(Found::Shared {
            payload: artifact.clone(),
            file: shared.clone()
        })
    );
    // The shared file itself confirms the hit without another read of the payload.
    let before = cache.stats().bytes_read;
    assert_eq!(
        cache.get_or_confirm(Tier::Module, &k, &shared),
        Some(Found::Confirmed {
            len: 200_000,
            head: artifact[..4096].to_vec()
        })
    );
    assert_eq!(cache.stats().bytes_read, before);

    // A hit refreshes the recency of the entry's header, never the shared file's mtime
    // (which is the caller's file's too).
    let header_path = entry_path(dir.path(), Tier::Module, &k);
    set_mtime(&header_path, hours_ago(5));
    set_mtime(&shared, hours_ago(7));
    assert!(cache.get(Tier::Module, &k).is_some());
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).expect("mtime");
    assert!(mtime(&header_path) > hours_ago(1));
    assert!(mtime(&shared) < hours_ago(6));

    // Sharing the same file again (an artifact left as it was) leaves one link and no
    // temp name.
    cache.put_file(Tier::Module, &k, &artifact, &shared);
    assert_eq!(fs::metadata(&shared).expect("shared").nlink(), 1);
    assert!(temp_files(dir.path()).is_empty());
    assert_eq!(cache.get(Tier::Module, &k), Some(artifact));
    assert_eq!(cache.stats().corrupt, 0);
}

#[test]
fn a_shared_file_changed_in_place_or_gone_is_a_corrupt_miss_and_both_files_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    let artifact = payload(3, 50_000);
    // Each damage gets the caller's file and the entry's shared file (one file, two names).
    type Damage = fn(&Path, &Path);
    let damage: [(&str, Damage); 4] = [
        ("a byte changed in place", |written, _| {
            flip_byte_at(written, 40_000)
        }),
        ("truncated", |written, _| {
            OpenOptions::new()
                .write(true)
                .open(written)
                .and_then(|f| f.set_len(49_999))
                .expect("truncate")
        }),
        ("grown", |written, _| {
            OpenOptions::new()
                .append(true)
                .open(written)
                .and_then(|mut f| f.write_all(b"x"))
                .expect("append")
        }),
        ("the shared name removed", |_, shared| {
            fs::remove_file(shared).expect("remove")
        }),
    ];
    for (i, (what, damage)) in damage.iter().enumerate() {
        let k = key(10 + i as u64);
        let written = dir.path().join(format!("artifact-{i}"));
        fs::write(&written, &artifact).expect("write artifact");
        cache.put_file(Tier::Module, &k, &artifact, &written);
        let shared = shared_path(dir.path(), Tier::Module, &k);
        damage(&written, &shared);
        assert!(cache.get(Tier::Module, &k).is_none(), "{what}");
        assert_eq!(cache.stats().corrupt, i as u64 + 1, "{what}");
        assert!(
            !entry_path(dir.path(), Tier::Module, &k).exists() && !shared.exists(),
            "{what}: the entry and its shared file were removed"
        );
        // The caller's file is the caller's: still there.
        assert!(written.exists(), "{what}");
    }
    // The caller removing its own name leaves the entry whole.
    let k = key(19);
    let written = dir.path().join("artifact-removed");
    fs::write(&written, &artifact).expect("write artifact");
    cache.put_file(Tier::Module, &k, &artifact, &written);
    fs::remove_file(&written).expect("caller removes its file");
    assert!(cache.get(Tier::Module, &k).as_deref() == Some(&artifact[..]));
    // A damaged shared file does not confirm a copy of the original bytes either.
    let k = key(20);
    let written = dir.path().join("artifact-confirm");
    fs::write(&written, &artifact).expect("write artifact");
    cache.put_file(Tier::Module, &k, &artifact, &written);
    flip_byte_at(&written, 7);
    let copy = dir.path().join("copy");
    fs::write(&copy, &artifact).expect("copy");
    // The copy holds exactly what was stored, so it confirms the hit; the stored file
    // is damaged, so a lookup without the copy is a corrupt miss.
    assert!(matches!(
        cache.get_or_confirm(Tier::Module, &k, &copy),
        Some(Found::Confirmed { len: 50_000, .. })
    ));
    assert!(cache.get(Tier::Module, &k).is_none());
}

#[test]
fn a_file_that_cannot_be_shared_is_copied_into_the_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    let k = key(30);
    let artifact = payload(30, 10_000);
    // Nothing at the path: the link fails, and the payload is written as by put.
    cache.put_file(Tier::Module, &k, &artifact, &dir.path().join("not-written"));
    let entry = entry_path(dir.path(), Tier::Module, &k);
    assert_eq!(fs::metadata(&entry).expect("entry").len(), HEADER + 10_000);
    assert!(!shared_path(dir.path(), Tier::Module, &k).exists());
    assert_eq!(cache.stats().bytes_written, 10_000);
    assert_eq!(cache.get(Tier::Module, &k), Some(artifact.clone()));
    // The rest of the run copies too, even a file that could be shared.
    let written = dir.path().join("written");
    fs::write(&written, &artifact).expect("write");
    cache.put_file(Tier::Module, &key(31), &artifact, &written);
    assert!(!shared_path(dir.path(), Tier::Module, &key(31)).exists());
    assert_eq!(cache.get(Tier::Module, &key(31)), Some(artifact.clone()));
    // A read-only cache shares nothing and writes nothing.
    let ro = Cache::open(&CacheConfig {
        force_read_only: true,
        ..config(dir.path())
    })
    .expect("open read-only");
    ro.put_file(Tier::Module, &key(32), &artifact, &written);
    assert!(!entry_path(dir.path(), Tier::Module, &key(32)).exists());
    assert!(!shared_path(dir.path(), Tier::Module, &key(32)).exists());
}

#[test]
fn maintenance_treats_an_entry_and_its_shared_file_as_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    let len = 30_000u64;
    for i in 0..4 {
        let written = dir.path().join(format!("artifact-{i}"));
        fs::write(&written, payload(i, len as usize)).expect("write");
        cache.put_file(Tier::Module, &key(i), &payload(i, len as usize), &written);
        set_mtime(
            &entry_path(dir.path(), Tier::Module, &key(i)),
            hours_ago(10 - i),
        );
    }
    // A shared file left without its entry: a fresh one may be mid-write, an old one is
    // left over.
    let orphan = shared_path(dir.path(), Tier::Module, &key(100));
    let stale = shared_path(dir.path(), Tier::Module, &key(101));
    for p in [&orphan, &stale] {
        fs::create_dir_all(p.parent().expect("folder")).expect("folder");
        fs::write(p, b"left over").expect("orphan");
    }
    set_mtime(&stale, hours_ago(3));

    let summary = cache.entries_summary().expect("summary");
    assert_eq!(summary.modules.entries, 4);
    assert_eq!(summary.modules.bytes, 4 * (HEADER + len));
    assert_eq!(summary.temp_files, 2);

    let v = cache.verify().expect("verify");
    assert_eq!((v.checked, v.ok, v.corrupt_found), (4, 4, 0));
    assert_eq!(v.temp_removed, 1);
    assert!(orphan.exists() && !stale.exists());

    // Eviction counts an entry's size with its shared file and removes both; the
    // caller's files stay.
    let report = cache.gc(Some(2 * (HEADER + len)), None).expect("gc");
    assert_eq!(report.removed_entries, 2);
    assert_eq!(report.removed_bytes, 2 * (HEADER + len));
    assert_eq!(report.remaining_bytes, 2 * (HEADER + len));
    for i in 0..4 {
        let kept = i >= 2;
        assert_eq!(entry_path(dir.path(), Tier::Module, &key(i)).exists(), kept);
        assert_eq!(
            shared_path(dir.path(), Tier::Module, &key(i)).exists(),
            kept
        );
        assert!(dir.path().join(format!("artifact-{i}")).exists());
    }
    // A damaged shared entry found by verify goes with its file.
    flip_byte_at(&shared_path(dir.path(), Tier::Module, &key(3)), 100);
    let v = cache.verify().expect("verify");
    assert_eq!((v.corrupt_found, v.corrupt_removed), (1, 1));
    assert!(!shared_path(dir.path(), Tier::Module, &key(3)).exists());
    // Clear removes every file, shared ones and left-over ones included.
    assert_eq!(cache.clear().expect("clear"), 1);
    assert!(!shared_path(dir.path(), Tier::Module, &key(2)).exists());
    assert!(!orphan.exists());
}

#[test]
fn a_key_that_was_never_put_is_a_counted_miss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    cache.put(Tier::Function, &key(1), b"x");
    assert_eq!(cache.get(Tier::Function, &key(2)), None);
    assert_eq!(cache.get(Tier::Module, &key(1)), None);
    let s = cache.stats();
    assert_eq!((s.function_misses, s.module_misses, s.corrupt), (1, 1, 0));
}

#[test]
fn putting_a_key_again_replaces_the_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    cache.put(Tier::Function, &key(1), b"old");
    cache.put(Tier::Function, &key(1), b"new!");
    assert_eq!(
        cache.get(Tier::Function, &key(1)).as_deref(),
        Some(&b"new!"[..])
    );
}

#[test]
fn a_failing_write_becomes_a_warning_and_never_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    // Block one fan-out folder by putting a file where it should be.
    let blocked = key(1);
    let folder = entry_path(dir.path(), Tier::Function, &blocked)
        .parent()
        .expect("parent")
        .to_path_buf();
    fs::create_dir_all(folder.parent().expect("tier dir")).expect("mkdir");
    fs::write(&folder, b"in the way").expect("write");
    cache.put(Tier::Function, &blocked, b"payload");
    assert_eq!(cache.get(Tier::Function, &blocked), None);
    assert_eq!(cache.stats().bytes_written, 0);
    assert_eq!(cache.warnings().len(), 1, "{:?}", cache.warnings());
    // Other keys are unaffected.
    let other = (2..)
        .map(key)
        .find(|k| k.0[0] != blocked.0[0])
        .expect("key");
    cache.put(Tier::Function, &other, b"fine");
    assert_eq!(
        cache.get(Tier::Function, &other).as_deref(),
        Some(&b"fine"[..])
    );
    assert_eq!(cache.mode(), Mode::ReadWrite);
}

#[test]
fn off_mode_misses_everything_and_touches_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache_dir = dir.path().join("cache");
    let cache = Cache::open(&CacheConfig {
        mode: Mode::Off,
        ..config(&cache_dir)
    })
    .expect("open");
    assert_eq!(cache.mode(), Mode::Off);
    assert_eq!(cache.dir(), None);
    cache.put(Tier::Function, &key(1), b"payload");
    assert_eq!(cache.get(Tier::Function, &key(1)), None);
    assert!(matches!(cache.gc(None, None), Err(CacheError::Off)));
    assert!(matches!(cache.verify(), Err(CacheError::Off)));
    let s = cache.finish();
    assert_eq!(s.function_misses, 1);
    assert!(!cache_dir.exists(), "off mode created the directory");
}

#[test]
fn opening_a_path_that_is_a_file_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"hi").expect("write");
    assert!(matches!(
        Cache::open(&config(&file)),
        Err(CacheError::NotADirectory(_))
    ));
    // Also when the file is further up the path.
    assert!(matches!(
        Cache::open(&config(&file.join("below"))),
        Err(CacheError::NotADirectory(_))
    ));
    // And when the versioned folder inside is a file, even one that may be
    // written and executed.
    let outer = dir.path().join("cache");
    fs::create_dir(&outer).expect("mkdir");
    let versioned = outer.join(VERSION_DIR);
    fs::write(&versioned, b"hi").expect("write");
    fs::set_permissions(&versioned, fs::Permissions::from_mode(0o777)).expect("chmod");
    assert!(matches!(
        Cache::open(&config(&outer)),
        Err(CacheError::NotADirectory(_))
    ));
}

#[test]
fn the_on_disk_layout_is_versioned_and_fanned_out_by_first_key_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    let k = key(42);
    cache.put(Tier::Module, &k, b"m");
    let hex = k.to_hex();
    let path = dir
        .path()
        .join(VERSION_DIR)
        .join("modules")
        .join(&hex[..2])
        .join(&hex);
    let bytes = fs::read(&path).expect("entry at the documented path");
    assert_eq!(&bytes[0..8], b"WPCACHE\0");
    assert_eq!(&bytes[8..12], &3u32.to_le_bytes());
    assert_eq!(bytes[12], 0, "tier byte of a module");
    assert_eq!(&bytes[16..48], &k.0);
    assert_eq!(&bytes[48..56], &1u64.to_le_bytes());
    assert_eq!(&bytes[64..], b"m");
    assert!(dir.path().join(VERSION_DIR).join("lock").exists());
    // No temp files are left behind by a successful put.
    let leftovers: Vec<_> = fs::read_dir(path.parent().expect("parent"))
        .expect("read_dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

// ---------------------------------------------------------- corruption

type Damage = fn(&Path, &Path);

fn flip_byte_at(path: &Path, at: u64) {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open");
    let mut b = [0u8; 1];
    f.seek(SeekFrom::Start(at)).expect("seek");
    f.read_exact(&mut b).expect("read");
    f.seek(SeekFrom::Start(at)).expect("seek");
    f.write_all(&[b[0] ^ 0x10]).expect("write");
}

/// Writes `key` into the header of the entry file at `path`: what makes a copied entry
/// look like `key`'s to every check but the checksum.
fn patch_key(path: &Path, key: &CacheKey) {
    let mut f = OpenOptions::new().write(true).open(path).expect("open");
    f.seek(SeekFrom::Start(16)).expect("seek");
    f.write_all(&key.0).expect("write");
}

#[test]
fn every_kind_of_corruption_is_a_counted_miss_and_the_file_is_removed() {
    // Each damage takes the entry path of key(1) (function tier) and the
    // path of a valid entry for key(2) to copy from.
    let damages: Vec<(&str, Damage)> = vec![
        ("flipped payload byte", |p, _| flip_byte_at(p, HEADER + 10)),
        ("flipped last byte", |p, _| {
            let len = fs::metadata(p).expect("meta").len();
            flip_byte_at(p, len - 1)
        }),
        ("flipped checksum byte", |p, _| flip_byte_at(p, 60)),
        ("flipped length byte", |p, _| flip_byte_at(p, 48)),
        ("wrong magic", |p, _| flip_byte_at(p, 0)),
        ("wrong format version", |p, _| flip_byte_at(p, 8)),
        ("wrong tier byte", |p, _| flip_byte_at(p, 12)),
        ("nonzero reserved byte", |p, _| flip_byte_at(p, 14)),
        ("truncated payload", |p, _| {
            let f = OpenOptions::new().write(true).open(p).expect("open");
            let len = f.metadata().expect("meta").len();
            f.set_len(len - 7).expect("truncate");
        }),
        ("truncated inside the header", |p, _| {
            OpenOptions::new()
                .write(true)
                .open(p)
                .and_then(|f| f.set_len(30))
                .expect("truncate");
        }),
        ("header without payload", |p, _| {
            OpenOptions::new()
                .write(true)
                .open(p)
                .and_then(|f| f.set_len(HEADER))
                .expect("truncate");
        }),
        ("trailing bytes", |p, _| {
            OpenOptions::new()
                .append(true)
                .open(p)
                .and_then(|mut f| f.write_all(b"extra"))
                .expect("append");
        }),
        ("zero length", |p, _| {
            File::create(p).expect("truncate to zero");
        }),
        ("garbage", |p, _| {
            fs::write(p, payload(99, 5000)).expect("write garbage");
        }),
        ("another key's entry under this name", |p, other| {
            fs::copy(other, p).expect("copy");
        }),
        (
            "another key's entry with this key written into its header",
            |p, other| {
                fs::copy(other, p).expect("copy");
                patch_key(p, &key(1));
            },
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    let victim = key(1);
    let other = key(2);
    let good = payload(1, 3000);
    cache.put(Tier::Function, &other, &payload(2, 3000));
    let victim_path = entry_path(dir.path(), Tier::Function, &victim);
    let other_path = entry_path(dir.path(), Tier::Function, &other);
    for (i, (what, damage)) in damages.iter().enumerate() {
        cache.put(Tier::Function, &victim, &good);
        assert_eq!(
            cache.get(Tier::Function, &victim).as_deref(),
            Some(&good[..])
        );
        damage(&victim_path, &other_path);
        assert_eq!(cache.get(Tier::Function, &victim), None, "{what}: a miss");
        let s = cache.stats();
        assert_eq!(s.corrupt, i as u64 + 1, "{what}: counted as corrupt");
        assert_eq!(s.function_misses, i as u64 + 1, "{what}: counted as miss");
        assert!(!victim_path.exists(), "{what}: file removed");
    }
    // A module entry copied into the function tier under the same key, once as it is
    // and once with its tier byte changed to match.
    cache.put(Tier::Module, &victim, &good);
    for patch_tier in [false, true] {
        fs::create_dir_all(victim_path.parent().expect("parent")).expect("mkdir");
        fs::copy(entry_path(dir.path(), Tier::Module, &victim), &victim_path).expect("copy");
        if patch_tier {
            let mut f = OpenOptions::new()
                .write(true)
                .open(&victim_path)
                .expect("open");
            f.seek(SeekFrom::Start(12)).expect("seek");
            f.write_all(&[1]).expect("the function tier's byte");
        }
        assert_eq!(cache.get(Tier::Function, &victim), None, "tier mismatch");
        assert!(!victim_path.exists());
    }
    assert_eq!(cache.stats().corrupt, damages.len() as u64 + 2);
    // The undamaged neighbour and the module entry are still fine.
    assert!(cache.get(Tier::Function, &other).is_some());
    assert!(cache.get(Tier::Module, &victim).is_some());
    assert!(!cache.warnings().is_empty(), "corruption is reported");
}

// ------------------------------------------------------------ read-only

#[test]
fn a_forced_read_only_cache_serves_hits_but_never_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rw = open(dir.path());
    rw.put(Tier::Function, &key(1), b"one");
    rw.put(Tier::Function, &key(2), b"two");
    rw.finish();
    let stats_before = fs::read(dir.path().join(VERSION_DIR).join("stats.json")).expect("stats");
    let damaged = entry_path(dir.path(), Tier::Function, &key(2));
    flip_byte_at(&damaged, HEADER);

    let ro = Cache::open(&CacheConfig {
        force_read_only: true,
        ..config(dir.path())
    })
    .expect("open");
    assert_eq!(ro.mode(), Mode::ReadOnly);
    assert_eq!(
        ro.get(Tier::Function, &key(1)).as_deref(),
        Some(&b"one"[..])
    );
    ro.put(Tier::Function, &key(3), b"three");
    assert!(!entry_path(dir.path(), Tier::Function, &key(3)).exists());
    assert_eq!(ro.get(Tier::Function, &key(3)), None);
    // Damage is a miss but the file is not removed by a read-only cache.
    assert_eq!(ro.get(Tier::Function, &key(2)), None);
    assert!(damaged.exists());
    let report = ro.verify().expect("verify works read-only");
    assert_eq!((report.corrupt_found, report.corrupt_removed), (1, 0));
    assert!(matches!(ro.gc(None, None), Err(CacheError::ReadOnly(_))));
    assert!(matches!(ro.clear(), Err(CacheError::ReadOnly(_))));
    let s = ro.finish();
    assert_eq!((s.function_hits, s.function_misses, s.corrupt), (1, 2, 1));
    assert_eq!(s.bytes_written, 0);
    let stats_after = fs::read(dir.path().join(VERSION_DIR).join("stats.json")).expect("stats");
    assert_eq!(stats_before, stats_after, "read-only finish wrote stats");

    // Mode::ReadOnly requested directly behaves the same.
    let ro2 = Cache::open(&CacheConfig {
        mode: Mode::ReadOnly,
        ..config(dir.path())
    })
    .expect("open");
    assert_eq!(ro2.mode(), Mode::ReadOnly);
}

#[test]
fn a_read_only_cache_on_a_missing_directory_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("restored-cache");
    let ro = Cache::open(&CacheConfig {
        mode: Mode::ReadOnly,
        ..config(&missing)
    })
    .expect("open");
    assert_eq!(ro.get(Tier::Module, &key(1)), None);
    ro.finish();
    assert!(!missing.exists());
}

/// Makes `path` and everything below it read-only (files 0o444, folders
/// 0o555), readable by everyone.
fn make_tree_read_only(path: &Path) {
    let meta = fs::symlink_metadata(path).expect("meta");
    if meta.is_dir() {
        for e in fs::read_dir(path).expect("read_dir") {
            make_tree_read_only(&e.expect("entry").path());
        }
        fs::set_permissions(path, fs::Permissions::from_mode(0o555)).expect("chmod dir");
    } else {
        fs::set_permissions(path, fs::Permissions::from_mode(0o444)).expect("chmod file");
    }
}

fn make_tree_writable(path: &Path) {
    let meta = fs::symlink_metadata(path).expect("meta");
    if meta.is_dir() {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod dir");
        for e in fs::read_dir(path).expect("read_dir") {
            make_tree_writable(&e.expect("entry").path());
        }
    } else {
        fs::set_permissions(path, fs::Permissions::from_mode(0o644)).expect("chmod file");
    }
}

const UNWRITABLE_ENV: &str = "WASMPRECOMP_CACHE_TEST_UNWRITABLE_DIR";

/// The checks run against a directory this process cannot write to.
fn check_unwritable_dir_is_used_read_only(dir: &Path) {
    let cache = Cache::open(&config(dir)).expect("open must not fail");
    assert_eq!(cache.mode(), Mode::ReadOnly, "falls back to read-only");
    assert!(
        cache.warnings().iter().any(|w| w.contains("read-only")),
        "{:?}",
        cache.warnings()
    );
    assert_eq!(
        cache.get(Tier::Function, &key(1)).as_deref(),
        Some(&payload(1, 2000)[..]),
        "still serves hits"
    );
    assert_eq!(
        cache.get(Tier::Module, &key(2)).as_deref(),
        Some(&payload(2, 50_000)[..])
    );
    cache.put(Tier::Function, &key(3), b"new");
    assert_eq!(cache.get(Tier::Function, &key(3)), None, "writes skipped");
    let s = cache.finish();
    assert_eq!((s.function_hits, s.module_hits, s.bytes_written), (1, 1, 0));
}

/// Child side of `an_unwritable_directory_is_used_read_only`.
#[test]
fn helper_unwritable_dir_child_runs_only_when_spawned() {
    if let Some(dir) = std::env::var_os(UNWRITABLE_ENV) {
        check_unwritable_dir_is_used_read_only(Path::new(&dir));
    }
}

fn running_as_root(probe_dir: &Path) -> bool {
    let probe = probe_dir.join(".uid-probe");
    fs::write(&probe, b"").expect("probe");
    let uid = fs::metadata(&probe).expect("meta").uid();
    let _ = fs::remove_file(&probe);
    uid == 0
}

/// True when user `nobody` can reach and run `exe`.
fn others_can_execute(exe: &Path) -> bool {
    let mut p = Some(exe);
    while let Some(path) = p {
        match fs::metadata(path) {
            Ok(m) if m.mode() & 0o001 != 0 => {}
            _ => return false,
        }
        p = path.parent();
    }
    fs::metadata(exe).is_ok_and(|m| m.mode() & 0o004 != 0)
}

/// A directory that cannot be written (a restored CI cache, a read-only
/// mount) is opened read-only and still serves hits.
///
/// Permission bits do not stop root, and these tests run as root on CI. So
/// when we are root, the checks run in a child process of this test binary
/// that drops to user `nobody` (uid/gid 65534) before exec; the chmod 0o555
/// then really applies. When not root, the checks run in-process. If the
/// binary cannot be run as `nobody` (e.g. its folder is private, or setuid is
/// not permitted), the test says so and only the in-process part runs.
#[test]
fn an_unwritable_directory_is_used_read_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cache");
    let rw = open(&dir);
    rw.put(Tier::Function, &key(1), &payload(1, 2000));
    rw.put(Tier::Module, &key(2), &payload(2, 50_000));
    rw.finish();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).expect("chmod tmp");
    make_tree_read_only(&dir);

    if !running_as_root(tmp.path()) {
        check_unwritable_dir_is_used_read_only(&dir);
    } else {
        // Run a copy of this test binary as `nobody` from a folder it can reach.
        let exe = std::env::current_exe().expect("exe");
        let copy = tmp.path().join("child-exe");
        fs::copy(&exe, &copy).expect("copy test binary");
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).expect("chmod copy");
        assert!(
            others_can_execute(&copy),
            "{} must be executable by nobody",
            copy.display()
        );
        use std::os::unix::process::CommandExt;
        let out = Command::new(&copy)
            .args([
                "--exact",
                "helper_unwritable_dir_child_runs_only_when_spawned",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(UNWRITABLE_ENV, &dir)
            .gid(65534)
            .uid(65534)
            .output()
            .expect("run the read-only check as nobody");
        assert_child_ok(out, "read-only child running as nobody");
    }
    make_tree_writable(&dir);
}

// ------------------------------------------------------------ eviction

#[test]
fn gc_keeps_the_size_limit_and_the_most_recently_used_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    let entry_len = HEADER + 1000;
    for i in 0..10 {
        cache.put(Tier::Function, &key(i), &payload(i, 1000));
        // Entry 0 is the oldest, entry 9 the newest, all older than the
        // recency granularity (1 hour).
        set_mtime(
            &entry_path(dir.path(), Tier::Function, &key(i)),
            hours_ago(20 - i),
        );
    }
    drop(cache);
    let cache = open(dir.path());
    // Using the two oldest entries makes them the most recently used.
    assert!(cache.get(Tier::Function, &key(0)).is_some());
    assert!(cache.get(Tier::Function, &key(1)).is_some());
    let report = cache.gc(Some(5 * entry_len), None).expect("gc");
    assert_eq!(report.scanned_entries, 10);
    assert_eq!(report.removed_entries, 5);
    assert_eq!(report.removed_bytes, 5 * entry_len);
    assert_eq!(report.remaining_entries, 5);
    assert!(report.remaining_bytes <= 5 * entry_len);
    let kept: Vec<u64> = (0..10)
        .filter(|&i| entry_path(dir.path(), Tier::Function, &key(i)).exists())
        .collect();
    assert_eq!(kept, vec![0, 1, 7, 8, 9]);
    assert_eq!(cache.stats().evictions, 5);
    let summary = cache.entries_summary().expect("summary");
    assert_eq!(summary.functions.entries, 5);
    assert_eq!(summary.total_bytes(), 5 * entry_len);
    // gc records its evictions and the exact size right away...
    let stored = read_stats_json(dir.path());
    assert_eq!(stored.totals.evictions, 5);
    assert_eq!(stored.approx_size_bytes, Some(5 * entry_len));
    // ...and finish does not count them a second time.
    let s = cache.finish();
    assert_eq!(s.evictions, 5);
    assert_eq!(read_stats_json(dir.path()).totals.evictions, 5);
}

#[test]
fn gc_removes_entries_unused_for_longer_than_the_given_age() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    for i in 0..6 {
        cache.put(Tier::Module, &key(i), &payload(i, 100));
        set_mtime(
            &entry_path(dir.path(), Tier::Module, &key(i)),
            hours_ago(i * 24),
        );
    }
    let report = cache
        .gc(None, Some(Duration::from_secs(3 * 24 * 3600 - 60)))
        .expect("gc");
    assert_eq!(report.removed_entries, 3, "the 3, 4 and 5 day old entries");
    let kept: Vec<u64> = (0..6)
        .filter(|&i| entry_path(dir.path(), Tier::Module, &key(i)).exists())
        .collect();
    assert_eq!(kept, vec![0, 1, 2]);
}

#[test]
fn hits_refresh_recency_only_when_it_is_older_than_the_granularity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    cache.put(Tier::Function, &key(1), b"a");
    cache.put(Tier::Function, &key(2), b"b");
    let p1 = entry_path(dir.path(), Tier::Function, &key(1));
    let p2 = entry_path(dir.path(), Tier::Function, &key(2));
    let ten_minutes_ago = SystemTime::now() - Duration::from_secs(600);
    set_mtime(&p1, hours_ago(5));
    set_mtime(&p2, ten_minutes_ago);
    assert!(cache.get(Tier::Function, &key(1)).is_some());
    assert!(cache.get(Tier::Function, &key(2)).is_some());
    let m1 = fs::metadata(&p1).and_then(|m| m.modified()).expect("mtime");
    let m2 = fs::metadata(&p2).and_then(|m| m.modified()).expect("mtime");
    assert!(m1 > hours_ago(1), "old entry refreshed by the hit");
    assert_eq!(m2, ten_minutes_ago, "recent entry left alone");

    // A read-only cache never touches mtimes.
    set_mtime(&p1, hours_ago(5));
    let ro = Cache::open(&CacheConfig {
        force_read_only: true,
        ..config(dir.path())
    })
    .expect("open");
    assert!(ro.get(Tier::Function, &key(1)).is_some());
    let m1 = fs::metadata(&p1).and_then(|m| m.modified()).expect("mtime");
    assert!(m1 < hours_ago(4));
}

#[test]
fn finish_evicts_least_recently_used_entries_once_the_limit_is_passed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let entry_len = HEADER + 1000;
    let limit = 10 * entry_len;
    let cfg = CacheConfig {
        max_size: Some(limit),
        ..config(dir.path())
    };
    // Under the limit: nothing is evicted.
    let cache = Cache::open(&cfg).expect("open");
    for i in 0..8 {
        cache.put(Tier::Function, &key(i), &payload(i, 1000));
    }
    assert_eq!(cache.finish().evictions, 0);
    assert_eq!(
        read_stats_json(dir.path()).approx_size_bytes,
        Some(8 * entry_len)
    );

    // Past the limit: the oldest go, down to 90% of the limit.
    let cache = Cache::open(&cfg).expect("open");
    for i in 8..20 {
        cache.put(Tier::Function, &key(i), &payload(i, 1000));
    }
    for i in 0..20 {
        set_mtime(
            &entry_path(dir.path(), Tier::Function, &key(i)),
            hours_ago(30 - i),
        );
    }
    let s = cache.finish();
    assert_eq!(s.evictions, 11, "20 entries down to 9 (90% of 10)");
    let kept: Vec<u64> = (0..20)
        .filter(|&i| entry_path(dir.path(), Tier::Function, &key(i)).exists())
        .collect();
    assert_eq!(kept, (11..20).collect::<Vec<_>>());
    let stored = read_stats_json(dir.path());
    assert_eq!(stored.totals.evictions, 11);
    assert_eq!(stored.approx_size_bytes, Some(9 * entry_len));
}

#[test]
fn finish_skips_eviction_while_another_run_holds_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = CacheConfig {
        max_size: Some(1000),
        ..config(dir.path())
    };
    let other_run = Cache::open(&cfg).expect("open");
    let cache = Cache::open(&cfg).expect("open");
    for i in 0..5 {
        cache.put(Tier::Function, &key(i), &payload(i, 1000));
    }
    let (s, warnings) = cache.finish_with_warnings();
    assert_eq!(s.evictions, 0, "could not get the exclusive lock: skipped");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        other_run.entries_summary().expect("sum").functions.entries,
        5
    );
    // Once the other run is gone, the next finish catches up.
    drop(other_run);
    let next = Cache::open(&cfg).expect("open");
    assert_eq!(next.finish().evictions, 5);
}

// ---------------------------------------------------------- concurrency

#[test]
fn many_threads_can_put_and_get_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    // Disjoint keys from a rayon pool.
    (0..400u64).into_par_iter().for_each(|i| {
        let p = payload(i, 100 + (i as usize * 37) % 5000);
        cache.put(Tier::Function, &key(i), &p);
        assert_eq!(cache.get(Tier::Function, &key(i)).as_deref(), Some(&p[..]));
    });
    // Many threads racing on the same few keys: every get sees either
    // nothing or the whole, right payload.
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let cache = &cache;
            s.spawn(move || {
                for round in 0..40u64 {
                    let i = 1000 + (round * 3 + t) % 10;
                    let p = payload(i, 4000);
                    if round % 3 != 2 {
                        cache.put(Tier::Module, &key(i), &p);
                    }
                    if let Some(got) = cache.get(Tier::Module, &key(i)) {
                        assert_eq!(got, p);
                    }
                }
            });
        }
    });
    let s = cache.stats();
    assert_eq!(s.corrupt, 0);
    assert_eq!(s.function_hits, 400);
    assert_eq!(s.module_hits + s.module_misses, 8 * 40);
    for i in 1000..1010 {
        assert!(cache.get(Tier::Module, &key(i)).is_some());
    }
    assert!(cache.warnings().is_empty(), "{:?}", cache.warnings());
}

#[test]
fn two_caches_on_one_directory_share_entries_and_statistics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = open(dir.path());
    let b = open(dir.path());
    a.put(Tier::Function, &key(1), b"from a");
    assert_eq!(
        b.get(Tier::Function, &key(1)).as_deref(),
        Some(&b"from a"[..])
    );
    b.put(Tier::Module, &key(2), b"from b");
    assert_eq!(
        a.get(Tier::Module, &key(2)).as_deref(),
        Some(&b"from b"[..])
    );
    assert_eq!(a.get(Tier::Module, &key(3)), None);
    let sa = a.finish();
    let sb = b.finish();
    let stored = read_stats_json(dir.path());
    assert_eq!(stored.runs, 2);
    let mut sum = RunStats::default();
    sum.add(&sa);
    sum.add(&sb);
    assert_eq!(stored.totals, sum);
}

#[test]
fn maintenance_waits_for_running_builds_and_then_reports_busy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let build = open(dir.path());
    build.put(Tier::Function, &key(1), b"x");
    let maint = Cache::open(&CacheConfig {
        lock_timeout: Duration::from_millis(100),
        ..config(dir.path())
    })
    .expect("open");
    let started = Instant::now();
    assert!(matches!(
        maint.gc(Some(0), None),
        Err(CacheError::Busy { .. })
    ));
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(matches!(maint.clear(), Err(CacheError::Busy { .. })));
    assert!(
        build.get(Tier::Function, &key(1)).is_some(),
        "nothing removed"
    );
    drop(build);
    assert_eq!(maint.clear().expect("clear once alone"), 1);
}

#[test]
fn opening_while_gc_holds_the_lock_waits_then_continues_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    open(dir.path()).put(Tier::Function, &key(1), b"x");
    let lock = File::options()
        .read(true)
        .write(true)
        .open(dir.path().join(VERSION_DIR).join("lock"))
        .expect("lock file");
    fs4::FileExt::lock(&lock).expect("exclusive lock");
    let cache = Cache::open(&CacheConfig {
        lock_timeout: Duration::from_millis(50),
        ..config(dir.path())
    })
    .expect("open never fails on a busy lock");
    assert_eq!(cache.mode(), Mode::ReadWrite);
    assert!(cache.get(Tier::Function, &key(1)).is_some());
    assert!(
        cache.warnings().iter().any(|w| w.contains("locked")),
        "{:?}",
        cache.warnings()
    );
    fs4::FileExt::unlock(&lock).expect("unlock");
}

const MULTI_DIR_ENV: &str = "WASMPRECOMP_CACHE_TEST_MULTI_DIR";
const MULTI_ID_ENV: &str = "WASMPRECOMP_CACHE_TEST_MULTI_ID";
const MULTI_KEYS: u64 = 150;

/// Child side of `several_processes_can_use_one_directory_at_once`: puts and
/// gets an overlapping key range from a thread pool.
#[test]
fn helper_multi_process_child_runs_only_when_spawned() {
    let Some(dir) = std::env::var_os(MULTI_DIR_ENV) else {
        return;
    };
    let id: u64 = std::env::var(MULTI_ID_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("child id");
    let cache = open(Path::new(&dir));
    assert_eq!(cache.mode(), Mode::ReadWrite);
    (0..MULTI_KEYS).into_par_iter().for_each(|n| {
        // Each process walks the keys in a different order so they collide.
        let i = (n + id * 37) % MULTI_KEYS;
        let tier = match i % 10 {
            0 => Tier::Module,
            _ => Tier::Function,
        };
        let p = payload(i, 200 + (i as usize * 131) % 20_000);
        match cache.get(tier, &key(i)) {
            Some(got) => assert_eq!(got, p, "wrong bytes for key {i}"),
            None => cache.put(tier, &key(i), &p),
        }
    });
    let (s, warnings) = cache.finish_with_warnings();
    assert_eq!(s.corrupt, 0);
    assert_eq!(s.hits() + s.misses(), MULTI_KEYS);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn several_processes_can_use_one_directory_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let procs = 4;
    let children: Vec<_> = (0..procs)
        .map(|id| {
            child("helper_multi_process_child_runs_only_when_spawned")
                .env(MULTI_DIR_ENV, dir.path())
                .env(MULTI_ID_ENV, id.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    for c in children {
        assert_child_ok(c.wait_with_output().expect("wait"), "child process");
    }
    let stored = read_stats_json(dir.path());
    assert_eq!(stored.runs, procs);
    assert_eq!(
        stored.totals.hits() + stored.totals.misses(),
        procs * MULTI_KEYS,
        "no finish lost its update"
    );
    assert_eq!(stored.totals.corrupt, 0);
    let cache = open(dir.path());
    let report = cache.verify().expect("verify");
    assert_eq!(report.checked, MULTI_KEYS);
    assert_eq!(report.ok, MULTI_KEYS);
}

// ---------------------------------------------------------- statistics

#[test]
fn cumulative_statistics_accumulate_across_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run1 = open(dir.path());
    assert_eq!(run1.cumulative_stats(), CumulativeStats::default());
    for i in 0..3 {
        assert!(run1.get(Tier::Function, &key(i)).is_none());
        run1.put(Tier::Function, &key(i), &payload(i, 10));
    }
    run1.finish();
    let run2 = open(dir.path());
    for i in 0..3 {
        assert!(run2.get(Tier::Function, &key(i)).is_some());
    }
    assert!(run2.get(Tier::Module, &key(9)).is_none());
    run2.finish();
    // A run that did nothing does not count as a run.
    open(dir.path()).finish();

    let run4 = open(dir.path());
    let c = run4.cumulative_stats();
    assert_eq!(c.runs, 2);
    assert_eq!(c.totals.function_misses, 3);
    assert_eq!(c.totals.function_hits, 3);
    assert_eq!(c.totals.module_misses, 1);
    assert_eq!(c.totals.bytes_written, 30);
    assert_eq!(c.totals.bytes_read, 30);
    assert_eq!(c.approx_size_bytes, Some(3 * (HEADER + 10)));

    // The file uses exactly the documented field names.
    let json: serde_json::Value = serde_json::from_slice(
        &fs::read(dir.path().join(VERSION_DIR).join("stats.json")).expect("read"),
    )
    .expect("json");
    let mut fields: Vec<&str> = json["totals"]
        .as_object()
        .expect("totals object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "bytes_read",
            "bytes_written",
            "corrupt",
            "evictions",
            "function_hits",
            "function_misses",
            "manifest_hits",
            "manifest_misses",
            "module_hits",
            "module_misses"
        ]
    );
}

#[test]
fn a_garbage_stats_file_starts_statistics_over_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    fs::write(
        dir.path().join(VERSION_DIR).join("stats.json"),
        b"{not json",
    )
    .expect("write");
    assert_eq!(cache.cumulative_stats(), CumulativeStats::default());
    cache.put(Tier::Function, &key(1), b"x");
    let (_, warnings) = cache.finish_with_warnings();
    assert!(warnings.iter().any(|w| w.contains("stats")), "{warnings:?}");
    assert_eq!(read_stats_json(dir.path()).runs, 1);
}

#[test]
fn entries_summary_counts_entries_and_bytes_per_tier() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    cache.put(Tier::Module, &key(1), &payload(1, 1000));
    for i in 0..3 {
        cache.put(Tier::Function, &key(10 + i), &payload(i, 100));
    }
    let s = cache.entries_summary().expect("summary");
    assert_eq!(s.modules.entries, 1);
    assert_eq!(s.modules.bytes, HEADER + 1000);
    assert_eq!(s.functions.entries, 3);
    assert_eq!(s.functions.bytes, 3 * (HEADER + 100));
    assert_eq!(s.total_entries(), 4);
    assert_eq!(s.temp_files, 0);
}

// ------------------------------------------------------ verify and clear

#[test]
fn verify_finds_and_removes_entries_copied_over_others_with_their_keys_patched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    for tier in [Tier::Module, Tier::Function, Tier::Manifest] {
        cache.put(tier, &key(1), &payload(1, 2000));
        cache.put(tier, &key(2), &payload(2, 2000));
        let forged = entry_path(dir.path(), tier, &key(2));
        fs::copy(entry_path(dir.path(), tier, &key(1)), &forged).expect("copy");
        patch_key(&forged, &key(2));
    }
    let report = cache.verify().expect("verify");
    assert_eq!(report.checked, 6, "{report:?}");
    assert_eq!(report.ok, 3, "{report:?}");
    assert_eq!(report.corrupt_found, 3, "{report:?}");
    assert_eq!(report.corrupt_removed, 3, "{report:?}");
    for tier in [Tier::Module, Tier::Function, Tier::Manifest] {
        assert!(!entry_path(dir.path(), tier, &key(2)).exists());
        assert_eq!(cache.get(tier, &key(1)), Some(payload(1, 2000)));
    }
}

#[test]
fn verify_finds_and_removes_garbage_truncated_flipped_entries_and_stale_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    for i in 0..5 {
        cache.put(Tier::Function, &key(i), &payload(i, 500));
    }
    cache.put(Tier::Module, &key(100), &payload(100, 500));
    // Garbage under a valid entry name.
    let garbage = entry_path(dir.path(), Tier::Function, &key(200));
    fs::create_dir_all(garbage.parent().expect("parent")).expect("mkdir");
    fs::write(&garbage, b"this is not an entry").expect("write");
    // A truncated entry.
    cache.put(Tier::Function, &key(201), &payload(201, 500));
    let truncated = entry_path(dir.path(), Tier::Function, &key(201));
    OpenOptions::new()
        .write(true)
        .open(&truncated)
        .and_then(|f| f.set_len(300))
        .expect("truncate");
    // A bit flip in a module entry's payload.
    cache.put(Tier::Module, &key(202), &payload(202, 500));
    let flipped = entry_path(dir.path(), Tier::Module, &key(202));
    flip_byte_at(&flipped, HEADER + 250);
    // A valid entry in the wrong fan-out folder.
    cache.put(Tier::Function, &key(203), &payload(203, 500));
    let right = entry_path(dir.path(), Tier::Function, &key(203));
    let hex = key(203).to_hex();
    let wrong_fan = if &hex[..2] == "00" { "01" } else { "00" };
    let misplaced = dir
        .path()
        .join(VERSION_DIR)
        .join("functions")
        .join(wrong_fan)
        .join(&hex);
    fs::create_dir_all(misplaced.parent().expect("parent")).expect("mkdir");
    fs::rename(&right, &misplaced).expect("move");
    // Temp files: one abandoned two hours ago, one in flight.
    let folder = garbage.parent().expect("parent");
    let stale = folder.join(".tmp-99999-1-abc");
    let fresh = folder.join(".tmp-99999-2-def");
    fs::write(&stale, b"partial").expect("write");
    fs::write(&fresh, b"partial").expect("write");
    set_mtime(&stale, hours_ago(2));
    // A stats.json temp file abandoned by a process that died mid-write.
    let stale_stats = dir.path().join(VERSION_DIR).join("stats.json.tmp-99999-7");
    fs::write(&stale_stats, b"{").expect("write");
    set_mtime(&stale_stats, hours_ago(2));
    // Things that are not the cache's.
    let unknown_file = folder.join("notes.txt");
    fs::write(&unknown_file, b"mine").expect("write");
    let unknown_dir = dir.path().join(VERSION_DIR).join("functions/not-a-fan-out");
    fs::create_dir_all(&unknown_dir).expect("mkdir");

    let report = cache.verify().expect("verify");
    assert_eq!(report.checked, 6 + 4);
    assert_eq!(report.ok, 6);
    assert_eq!(report.corrupt_found, 4);
    assert_eq!(report.corrupt_removed, 4);
    assert_eq!(report.temp_removed, 2);
    assert_eq!(report.unknown_files, 2);
    for p in [
        &garbage,
        &truncated,
        &flipped,
        &misplaced,
        &stale,
        &stale_stats,
    ] {
        assert!(!p.exists(), "{} should be gone", p.display());
    }
    for p in [&fresh, &unknown_file, &unknown_dir] {
        assert!(p.exists(), "{} should be left alone", p.display());
    }
    let again = cache.verify().expect("verify");
    assert_eq!(
        (
            again.checked,
            again.ok,
            again.corrupt_found,
            again.temp_removed
        ),
        (6, 6, 0, 0)
    );
}

#[test]
fn clear_removes_every_entry_and_keeps_statistics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = open(dir.path());
    for i in 0..4 {
        cache.put(Tier::Function, &key(i), b"f");
        cache.put(Tier::Module, &key(i), b"m");
    }
    cache.finish();
    let cache = open(dir.path());
    assert_eq!(cache.clear().expect("clear"), 8);
    assert_eq!(cache.entries_summary().expect("summary").total_entries(), 0);
    assert!(cache.get(Tier::Function, &key(0)).is_none());
    let stored = read_stats_json(dir.path());
    assert_eq!(stored.runs, 1, "history kept");
    assert_eq!(stored.approx_size_bytes, Some(0));
}

// ------------------------------------------------------------- sizes

#[test]
fn parse_size_understands_the_documented_forms() {
    assert_eq!(parse_size("500M").ok(), Some(500 * 1024 * 1024));
    assert_eq!(parse_size("2G").ok(), Some(2 * 1024 * 1024 * 1024));
    assert_eq!(parse_size("1024K").ok(), Some(1024 * 1024));
    assert_eq!(parse_size("4096").ok(), Some(4096));
    assert!(matches!(parse_size("2Q"), Err(CacheError::InvalidSize(_))));
}

// ------------------------------------------------------------ hit cost

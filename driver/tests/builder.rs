//! The build-script `Builder` against a real wasm workspace, run with the environment
//! cargo gives a build script: the host's flags stay out of the wasm build, the wasm
//! flags come from the builder, and every file the wasm build read is a rerun trigger.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use wasmprecomp_driver::{Builder, CacheSettings};

/// The tests set process-wide variables, as cargo does for a build script.
static ENV: Mutex<()> = Mutex::new(());

fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, s).unwrap();
}

/// A wasm workspace: `plug` (a WASI command) uses the path dependency `common`.
/// `plug_src` is the command's `main.rs`.
fn fixture(root: &Path, plug_src: &str) {
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"common\", \"plug\"]\n",
    );
    write(
        &root.join("common/Cargo.toml"),
        "[package]\nname = \"common\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        &root.join("common/src/lib.rs"),
        "pub fn answer() -> u32 { 42 }\n",
    );
    write(
        &root.join("plug/Cargo.toml"),
        "[package]\nname = \"plug\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncommon = { path = \"../common\" }\n\n[lints.rust]\nunexpected_cfgs = { level = \"warn\", check-cfg = [\"cfg(plug_flag)\"] }\n",
    );
    write(&root.join("plug/src/main.rs"), plug_src);
}

const PLUG: &str = "fn main() { println!(\"{}\", common::answer()); }\n";

/// Sets the variables cargo sets for a build script of a host package whose flags
/// (here a linker argument wasm's linker refuses) must not reach the wasm build.
fn as_a_build_script(out_dir: &Path) -> Vec<&'static str> {
    let host_flag = "-Clink-arg=-Wl,--as-needed";
    let vars: [(&str, String); 9] = [
        ("CARGO_ENCODED_RUSTFLAGS", host_flag.to_string()),
        ("RUSTFLAGS", host_flag.to_string()),
        ("OUT_DIR", out_dir.display().to_string()),
        ("TARGET", "x86_64-unknown-linux-gnu".to_string()),
        ("HOST", "x86_64-unknown-linux-gnu".to_string()),
        ("CARGO_PKG_NAME", "host".to_string()),
        ("CARGO_MANIFEST_DIR", out_dir.display().to_string()),
        ("CARGO_CFG_TARGET_ARCH", "x86_64".to_string()),
        ("CARGO_FEATURE_DEFAULT", "1".to_string()),
    ];
    for (k, v) in &vars {
        std::env::set_var(k, v);
    }
    vars.iter().map(|(k, _)| *k).collect()
}

fn unset(vars: &[&str]) {
    for k in vars {
        std::env::remove_var(k);
    }
}

fn builder(root: &Path, d: &Path) -> Builder {
    Builder::new()
        .manifest_path(root.join("Cargo.toml"))
        .package("plug")
        .cache(CacheSettings {
            dir: Some(d.join("cache")),
            ..Default::default()
        })
}

#[test]
fn the_hosts_rustflags_and_build_script_variables_do_not_reach_the_wasm_build() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    std::env::remove_var("WASMPRECOMP_WASM_RUSTFLAGS");
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root, PLUG);
    let out_dir = d.path().join("out");
    let set = as_a_build_script(&out_dir);
    let r = builder(&root, d.path()).compile();
    unset(&set);
    let out = r.expect("the wasm build does not see the host's linker flags");
    assert_eq!(out.artifacts.len(), 1, "{:?}", out.artifacts);
    assert_eq!(out.artifacts[0].0, "plug");
    assert!(out.artifacts[0].1.starts_with(out_dir.join("wasmprecomp")));
    // The report is in OUT_DIR, next to the artifacts.
    assert_eq!(out.report_path, out_dir.join("wasmprecomp/report.json"));
    let written: wasmprecomp_driver::Report =
        serde_json::from_slice(&std::fs::read(&out.report_path).unwrap()).unwrap();
    assert_eq!(written.modules.len(), 1);
    assert_eq!(written.modules[0].output, out.report.modules[0].output);
    assert_eq!(
        written.modules[0].wasm_sha256,
        out.report.modules[0].wasm_sha256
    );
}

#[test]
fn the_wasm_build_takes_its_flags_from_the_builder_or_its_variable() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    // Compiles only with the flag set.
    fixture(
        &root,
        "#[cfg(not(plug_flag))]\ncompile_error!(\"built without --cfg plug_flag\");\nfn main() {}\n",
    );
    let out_dir = d.path().join("out");
    let set = as_a_build_script(&out_dir);
    std::env::remove_var("WASMPRECOMP_WASM_RUSTFLAGS");
    let without = builder(&root, d.path()).compile();
    let with_option = builder(&root, d.path())
        .wasm_rustflags(["--cfg", "plug_flag"])
        .compile();
    std::env::set_var("WASMPRECOMP_WASM_RUSTFLAGS", "--cfg plug_flag");
    let with_variable = builder(&root, d.path()).compile();
    std::env::remove_var("WASMPRECOMP_WASM_RUSTFLAGS");
    unset(&set);
    assert!(without.is_err(), "the fixture needs the flag");
    with_option.expect("Builder::wasm_rustflags reaches the wasm build");
    let out = with_variable.expect("WASMPRECOMP_WASM_RUSTFLAGS reaches the wasm build");
    assert!(
        out.rerun_if_env_changed
            .iter()
            .any(|v| v == "WASMPRECOMP_WASM_RUSTFLAGS"),
        "{:?}",
        out.rerun_if_env_changed
    );
}

#[test]
fn every_file_the_wasm_build_read_and_the_workspace_configuration_trigger_a_rerun() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    std::env::remove_var("WASMPRECOMP_WASM_RUSTFLAGS");
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root, PLUG);
    write(&root.join(".cargo/config.toml"), "[build]\n");
    let out_dir = d.path().join("out");
    let set = as_a_build_script(&out_dir);
    let r = builder(&root, d.path()).compile();
    unset(&set);
    let out = r.expect("compiles");
    let root = root.canonicalize().unwrap();
    let named: Vec<PathBuf> = out
        .rerun_if_changed
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let has = |p: PathBuf| {
        assert!(
            named.contains(&p),
            "{} not among {:?}",
            p.display(),
            out.rerun_if_changed
        )
    };
    // The path dependency's source: read by the wasm build, named in cargo's dep-info.
    has(root.join("common/src/lib.rs"));
    has(root.join("plug/src/main.rs"));
    has(root.join("Cargo.toml"));
    has(root.join("Cargo.lock"));
    has(root.join(".cargo/config.toml"));
    has(root.join("common/Cargo.toml"));
    has(root.join("plug/Cargo.toml"));
    assert!(
        out.rerun_if_changed.iter().all(|p| p.exists()),
        "a missing file would rerun the script on every build: {:?}",
        out.rerun_if_changed
    );
}

/// A redis-server on a free loopback port with a password and nothing persisted; killed
/// when dropped. Missing, it fails the test with what to install.
struct Redis {
    _dir: tempfile::TempDir,
    port: u16,
    child: std::process::Child,
}

impl Redis {
    fn start(password: &str) -> Redis {
        let exe = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .expect("`redis-server` is not installed: `apt-get install -y redis-server`");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut child = std::process::Command::new(exe)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                password,
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server");
        let t = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(child.try_wait().unwrap().is_none(), "redis-server exited");
            assert!(t.elapsed().as_secs() < 15, "redis-server never listened");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Redis {
            _dir: dir,
            port,
            child,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_builder_takes_its_remote_cache_from_the_environment() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    std::env::remove_var("WASMPRECOMP_WASM_RUSTFLAGS");
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ws");
    fixture(&root, PLUG);
    let password = "b-pw-71";
    let redis = Redis::start(password);
    let set = as_a_build_script(&d.path().join("out"));
    // The URL without credentials: the password comes from the token variable.
    std::env::set_var(
        "WASMPRECOMP_REMOTE_CACHE",
        format!("redis://127.0.0.1:{}/0", redis.port),
    );
    std::env::set_var("WASMPRECOMP_REMOTE_TOKEN", password);
    let run = |machine: &str| {
        let m = d.path().join(machine);
        builder(&root, &m)
            .out_dir(m.join("out"))
            .compile()
            .expect("compiles")
    };
    // Machine A fills the remote; machine B (an empty folder) is served by it.
    let a = run("a");
    let ra = a.report.remote.as_deref().expect("a remote section");
    assert!(ra.url.starts_with("redis://127.0.0.1:"), "{}", ra.url);
    assert_eq!((ra.module_misses, ra.errors), (1, 0), "{ra:?}");
    assert!(ra.uploads > 0 && ra.uploads_dropped == 0, "{ra:?}");
    let b = run("b");
    let rb = b.report.remote.as_deref().expect("a remote section");
    assert_eq!((rb.module_hits, rb.errors), (1, 0), "{rb:?}");
    assert_eq!(b.report.totals.compiled, 0);
    assert_eq!(
        std::fs::read(&a.artifacts[0].1).unwrap(),
        std::fs::read(&b.artifacts[0].1).unwrap()
    );
    // Read-only from the environment: served, nothing written.
    std::env::set_var("WASMPRECOMP_REMOTE_READ_ONLY", "true");
    let c = run("c");
    let rc = c.report.remote.as_deref().expect("a remote section");
    assert_eq!((rc.module_hits, rc.uploads), (1, 0), "{rc:?}");
    assert_eq!(rc.mode, wasmprecomp_report::CacheMode::ReadOnly);
    // Every variable the remote reads reruns the build script.
    for v in [
        "WASMPRECOMP_REMOTE_CACHE",
        "WASMPRECOMP_REMOTE_TOKEN",
        "WASMPRECOMP_REMOTE_KEY",
        "WASMPRECOMP_REMOTE_READ_ONLY",
        "WASMPRECOMP_REMOTE_CA",
    ] {
        assert!(
            c.rerun_if_env_changed.iter().any(|e| e == v),
            "{v} not among {:?}",
            c.rerun_if_env_changed
        );
    }
    // A malformed URL in the environment is an error, not a silent local build.
    std::env::set_var("WASMPRECOMP_REMOTE_CACHE", "ftp://127.0.0.1/x");
    let e = builder(&root, &d.path().join("e"))
        .out_dir(d.path().join("e/out"))
        .compile()
        .expect_err("a malformed remote URL");
    assert!(e.to_string().contains("ftp"), "{e}");
    for v in [
        "WASMPRECOMP_REMOTE_CACHE",
        "WASMPRECOMP_REMOTE_TOKEN",
        "WASMPRECOMP_REMOTE_READ_ONLY",
    ] {
        std::env::remove_var(v);
    }
    unset(&set);
}

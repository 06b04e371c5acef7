//! The real thing: the Rust programs of the shared corpus (`../shared/corpus`, built for
//! `wasm32-wasip1`), compiled by wasmprecomp and run on its WASI.
//!
//! - Every module of the Rust corpus compiles and loads.
//! - Each WASI command prints the checksum line of the "Reference runs" table of
//!   `shared/corpus/MANIFEST.md` (engine-independent: a wrong result of generated code
//!   changes it).
//! - Its whole output equals that of the same program built natively for x86-64 and run
//!   with the same arguments, at the default scale and at scale 1 (passed as `argv[1]`):
//!   the checked-in copies in `tests/corpus-native/`, which on x86-64 hosts are checked
//!   against the native build itself (`WASMPRECOMP_BLESS=1` rewrites them from it). Under
//!   emulation the test starts no process (a process forked by an emulated multi-threaded
//!   program can deadlock in qemu-user before it reaches `exec`).
//! - The two builds of `kernels-cdylib` (wasip1 and unknown-unknown) return, export by
//!   export, bit for bit what its native x86-64 build returns: a checked-in table, which
//!   on x86-64 hosts is checked against the native library itself (loaded with `dlopen`).
//! - The `-simd` modules run on every target (on aarch64 under qemu, compiled with NEON)
//!   and must print what the native build of their program prints.
//!
//! Where the corpus comes from: `$WASMPRECOMP_CORPUS_DIR` when set (a directory made by
//! `shared/corpus/build-rust-corpus.sh`); otherwise `target/corpus`, which the first test
//! builds with that script when a module is missing (about 40 s on 2 cores; needs the
//! `wasm32-wasip1` and `wasm32-unknown-unknown` rustup targets, which the script adds).
//! The native programs are built once into `target/corpus-native` (`cargo build
//! --release --locked`, about 70 s).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use wasmprecomp_runtime::wasi::{self, WasiCtx};
use wasmprecomp_runtime::{Linker, Module, Store, Val};
use wasmprecomp_tests::{compile_bytes, run_wasi};

/// The expected checksum lines, copied from the "Reference runs (rust, WASI commands under
/// Node v20.20.2)" table of `shared/corpus/MANIFEST.md` (default scale, no arguments).
/// [`reference_table_matches_the_manifest`] checks this copy against the manifest.
const REFERENCE: &[(&str, &str)] = &[
    ("regex-scan", "regex-scan checksum: 7d2463d98d9c6bae"),
    (
        "json-roundtrip",
        "json-roundtrip checksum: e931fe35abe15b81",
    ),
    ("sha-digest", "sha-digest checksum: 2914e9f21f1fa58c"),
    ("nbody", "nbody checksum: 5b45bc0de2053a86"),
    ("fannkuch", "fannkuch checksum: b2ea6aaad22fe453"),
    ("text-stats", "text-stats checksum: 95e31bb97c528da5"),
    ("markdown", "markdown checksum: 4d99bad48e04e1e5"),
    ("image-filter", "image-filter checksum: 6907aa686587d199"),
    ("nbody-edit", "nbody checksum: 162937fea94bf2f6"),
    (
        "text-stats-edit-text",
        "text-stats checksum: 95e31bb97c528da5",
    ),
    ("regex-scan-simd", "regex-scan checksum: 7d2463d98d9c6bae"),
    (
        "json-roundtrip-simd",
        "json-roundtrip checksum: e931fe35abe15b81",
    ),
    ("sha-digest-simd", "sha-digest checksum: 2914e9f21f1fa58c"),
    ("nbody-simd", "nbody checksum: 5b45bc0de2053a86"),
    ("fannkuch-simd", "fannkuch checksum: b2ea6aaad22fe453"),
    ("text-stats-simd", "text-stats checksum: 95e31bb97c528da5"),
    ("markdown-simd", "markdown checksum: 4d99bad48e04e1e5"),
    (
        "image-filter-simd",
        "image-filter checksum: 6907aa686587d199",
    ),
];

fn reference_line(name: &str) -> &'static str {
    REFERENCE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| panic!("no reference line for {name}"))
}

/// Every module `build-rust-corpus.sh` writes.
const MODULES: &[&str] = &[
    "regex-scan",
    "json-roundtrip",
    "sha-digest",
    "nbody",
    "fannkuch",
    "text-stats",
    "markdown",
    "image-filter",
    "kernels-cdylib",
    "kernels-cdylib-unknown",
    "nbody-edit",
    "text-stats-edit-text",
    "regex-scan-simd",
    "json-roundtrip-simd",
    "sha-digest-simd",
    "nbody-simd",
    "fannkuch-simd",
    "text-stats-simd",
    "markdown-simd",
    "image-filter-simd",
];

fn shared_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

fn run_checked(cmd: &mut Command, what: &str) {
    let t = Instant::now();
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    assert!(status.success(), "{what} failed ({status})");
    eprintln!("{what}: done in {:.1} s", t.elapsed().as_secs_f64());
}

/// The corpus directory, built on first use (see the crate docs).
fn corpus_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let complete = |d: &Path| {
            MODULES
                .iter()
                .all(|m| d.join(format!("{m}.wasm")).is_file())
        };
        if let Some(d) = std::env::var_os("WASMPRECOMP_CORPUS_DIR") {
            let d = PathBuf::from(d);
            assert!(
                complete(&d),
                "WASMPRECOMP_CORPUS_DIR={} lacks some of {MODULES:?} (.wasm); build it with \
                 shared/corpus/build-rust-corpus.sh DIR",
                d.display()
            );
            return d;
        }
        let d = target_dir().join("corpus");
        assert!(
            NATIVE_RUNS_HERE || complete(&d),
            "{} lacks some of {MODULES:?} (.wasm): the x86-64 run of this test builds it \
             (no process is started under emulation)",
            d.display()
        );
        if !complete(&d) {
            let script = shared_corpus().join("build-rust-corpus.sh");
            eprintln!(
                "building the Rust wasm corpus into {} with {} (about 40 s on 2 cores; \
                 once: set WASMPRECOMP_CORPUS_DIR to use another build)",
                d.display(),
                script.display()
            );
            run_checked(
                Command::new("bash")
                    .arg(&script)
                    .arg(&d)
                    .env("CARGO_TARGET_DIR", target_dir().join("corpus-wasm-build")),
                "build-rust-corpus.sh",
            );
        }
        d
    })
}

/// The directory of the natively built corpus programs, built on first use.
fn native_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = target_dir().join("corpus-native");
        let bin = target.join("release");
        let bins = &MODULES[..8];
        if !bins.iter().all(|b| bin.join(b).is_file())
            || !bin.join("libkernels_cdylib.so").is_file()
        {
            eprintln!(
                "building the corpus programs natively into {} (about 70 s on 2 cores, once)",
                target.display()
            );
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "--release", "--locked", "--manifest-path"])
                .arg(shared_corpus().join("rust-workspace/Cargo.toml"))
                .env("CARGO_TARGET_DIR", &target)
                .env("CARGO_BUILD_JOBS", "1");
            for b in bins {
                cmd.args(["-p", b]);
            }
            cmd.args(["-p", "kernels-cdylib"]);
            run_checked(&mut cmd, "native build of the corpus");
        }
        bin
    })
}

/// Compiled modules, each compiled once per test process.
fn module(name: &str) -> Module {
    static CACHE: OnceLock<std::sync::Mutex<Vec<(String, Module)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some((_, m)) = cache.lock().unwrap().iter().find(|(n, _)| n == name) {
        return m.clone();
    }
    let path = corpus_dir().join(format!("{name}.wasm"));
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let t = Instant::now();
    let m = compile_bytes(&wasm);
    eprintln!(
        "{name}: compiled {} bytes of wasm in {:.2} s",
        wasm.len(),
        t.elapsed().as_secs_f64()
    );
    cache.lock().unwrap().push((name.to_string(), m.clone()));
    m
}

/// Runs a corpus command on our runtime; returns its stdout.
fn run_ours(name: &str, args: &[&str]) -> String {
    let m = module(name);
    let mut ctx = WasiCtx::new();
    ctx.arg(name);
    for a in args {
        ctx.arg(*a);
    }
    let out = ctx.capture_stdout();
    let err = ctx.capture_stderr();
    let t = Instant::now();
    let (r, _) = run_wasi(&m, ctx);
    let stderr = String::from_utf8_lossy(&err.lock().unwrap()).into_owned();
    let stdout = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    match r {
        Ok(0) => {}
        Ok(code) => {
            panic!("{name} {args:?} exited with {code}\nstdout:\n{stdout}\nstderr:\n{stderr}")
        }
        Err(e) => panic!("{name} {args:?} failed: {e}\nstdout:\n{stdout}\nstderr:\n{stderr}"),
    }
    eprintln!(
        "{name} {args:?}: ran in {:.2} s on wasmprecomp",
        t.elapsed().as_secs_f64()
    );
    stdout
}

/// Runs the native build of a corpus program; returns its stdout.
fn run_native(name: &str, args: &[&str]) -> String {
    let exe = native_dir().join(name);
    let t = Instant::now();
    let out = Command::new(&exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "native {name} {args:?}: {}",
        out.status
    );
    eprintln!(
        "{name} {args:?}: ran in {:.2} s natively",
        t.elapsed().as_secs_f64()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the native x86-64 builds can run here. Elsewhere (aarch64 under qemu-user) no
/// process is spawned at all: a process forked by an emulated multi-threaded test can
/// deadlock in the emulator before it reaches `exec`.
const NATIVE_RUNS_HERE: bool = cfg!(target_arch = "x86_64");

/// What the native x86-64 build of `program` prints for `args`: the checked-in copy in
/// `tests/corpus-native/`, which on x86-64 hosts is checked against the native build itself
/// (`WASMPRECOMP_BLESS=1` rewrites it from that build instead).
fn native_output(program: &str, args: &[&str]) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus-native")
        .join(match args {
            [] => format!("{program}.txt"),
            _ => format!("{program}.{}.txt", args.join(".")),
        });
    let bless = std::env::var_os("WASMPRECOMP_BLESS").is_some_and(|v| !v.is_empty() && v != "0");
    if NATIVE_RUNS_HERE && bless {
        let out = run_native(program, args);
        std::fs::write(&file, &out).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        return out;
    }
    let recorded = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record it on x86-64 with WASMPRECOMP_BLESS=1 cargo test --release \
             -p wasmprecomp-tests --test corpus",
            file.display()
        )
    });
    if NATIVE_RUNS_HERE {
        assert_eq!(
            run_native(program, args),
            recorded,
            "{}: not what the native build prints; rewrite it with WASMPRECOMP_BLESS=1",
            file.display()
        );
    }
    recorded
}

fn checksum_line(out: &str) -> &str {
    out.lines()
        .rev()
        .find(|l| l.contains(" checksum: "))
        .unwrap_or("<no checksum line>")
}

/// Runs `name` at the default scale (checked against the manifest and the native build)
/// and at scale 1 (checked against the native build). A `-simd` build is compared with
/// the native build of its program.
fn check_program(name: &str) {
    let expected = reference_line(name);
    let program = name.strip_suffix("-simd").unwrap_or(name);
    let ours = run_ours(name, &[]);
    assert_eq!(
        checksum_line(&ours),
        expected,
        "{name}: checksum differs from MANIFEST.md; whole output:\n{ours}"
    );
    let native = native_output(program, &[]);
    assert_eq!(ours, native, "{name}: output differs from the native build");
    let ours1 = run_ours(name, &["1"]);
    let native1 = native_output(program, &["1"]);
    assert_eq!(
        ours1, native1,
        "{name} 1: output differs from the native build"
    );
}

#[test]
fn regex_scan() {
    check_program("regex-scan");
}

#[test]
fn json_roundtrip() {
    check_program("json-roundtrip");
}

#[test]
fn sha_digest() {
    check_program("sha-digest");
}

#[test]
fn nbody() {
    check_program("nbody");
}

#[test]
fn fannkuch() {
    check_program("fannkuch");
}

#[test]
fn text_stats() {
    check_program("text-stats");
}

#[test]
fn markdown() {
    check_program("markdown");
}

#[test]
fn image_filter() {
    check_program("image-filter");
}

#[test]
fn regex_scan_simd() {
    check_program("regex-scan-simd");
}

#[test]
fn json_roundtrip_simd() {
    check_program("json-roundtrip-simd");
}

#[test]
fn sha_digest_simd() {
    check_program("sha-digest-simd");
}

#[test]
fn nbody_simd() {
    check_program("nbody-simd");
}

#[test]
fn fannkuch_simd() {
    check_program("fannkuch-simd");
}

#[test]
fn text_stats_simd() {
    check_program("text-stats-simd");
}

#[test]
fn markdown_simd() {
    check_program("markdown-simd");
}

#[test]
fn image_filter_simd() {
    check_program("image-filter-simd");
}

/// The edit scenario: one changed constant, a different checksum (no native build of it).
#[test]
fn nbody_edit() {
    let out = run_ours("nbody-edit", &[]);
    assert_eq!(
        checksum_line(&out),
        reference_line("nbody-edit"),
        "whole output:\n{out}"
    );
}

/// The other edit scenario: a changed string constant, the same checksum.
#[test]
fn text_stats_edit_text() {
    let out = run_ours("text-stats-edit-text", &[]);
    assert_eq!(
        checksum_line(&out),
        reference_line("text-stats-edit-text"),
        "whole output:\n{out}"
    );
}

#[test]
fn reference_table_matches_the_manifest() {
    let path = shared_corpus().join("MANIFEST.md");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{} not found: nothing to compare", path.display());
        return;
    };
    let section = text
        .split("## Reference runs")
        .nth(1)
        .expect("MANIFEST.md has a Reference runs section");
    let mut rows = Vec::new();
    for line in section.lines().take_while(|l| !l.starts_with("## ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | module | args | `checksum line` | time |
        if cells.len() >= 5 && cells[3].starts_with('`') {
            rows.push((cells[1].to_string(), cells[3].trim_matches('`').to_string()));
        }
    }
    let ours: Vec<(String, String)> = REFERENCE
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(rows, ours);
}

/// One value of each kernel export for some arguments, on a wasmprecomp instance.
fn kernel_results(store: &mut Store, inst: wasmprecomp_runtime::Instance) -> Vec<(String, Val)> {
    let mut out = Vec::new();
    for (name, args) in kernel_calls() {
        let f = store
            .get_func(inst, name)
            .unwrap_or_else(|| panic!("export {name}"));
        let r = store
            .call(f, &args)
            .unwrap_or_else(|e| panic!("{name}{args:?}: {e}"));
        out.push((format!("{name}{args:?}"), r[0]));
    }
    // Hashes of a guest buffer filled by the guest.
    let alloc = store.get_func(inst, "corpus_alloc").expect("corpus_alloc");
    let p = store.call(alloc, &[Val::I32(100_000)]).expect("alloc")[0];
    let fill = store.get_func(inst, "fill_random").expect("fill_random");
    store
        .call(fill, &[p, Val::I32(100_000), Val::I64(42)])
        .expect("fill_random");
    for name in ["fnv1a64", "crc32"] {
        let f = store.get_func(inst, name).expect(name);
        let r = store.call(f, &[p, Val::I32(100_000)]).expect(name);
        out.push((name.to_string(), r[0]));
    }
    out
}

fn kernel_calls() -> Vec<(&'static str, Vec<Val>)> {
    vec![
        ("nbody_energy", vec![Val::I32(20_000)]),
        ("fannkuch_checksum", vec![Val::I32(8)]),
        ("spectral_norm", vec![Val::I32(120)]),
        ("mandelbrot_fnv", vec![Val::I32(160)]),
        ("matmul_frobenius", vec![Val::I32(40), Val::I64(7)]),
    ]
}

/// The same calls on the native build of `kernels-cdylib` (loaded with `dlopen`).
#[cfg(target_arch = "x86_64")]
fn native_kernel_results() -> Vec<(String, Val)> {
    use std::ffi::{c_void, CString};
    let lib = native_dir().join("libkernels_cdylib.so");
    let path = CString::new(lib.to_string_lossy().into_owned()).expect("path");
    // SAFETY: loading a library built from the corpus workspace; its initializers are
    // those of a Rust cdylib.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!handle.is_null(), "dlopen {}", lib.display());
    let sym = |name: &str| -> *mut c_void {
        let n = CString::new(name).expect("name");
        // SAFETY: a valid handle and symbol name.
        let p = unsafe { libc::dlsym(handle, n.as_ptr()) };
        assert!(!p.is_null(), "dlsym {name}");
        p
    };
    let mut out = Vec::new();
    // SAFETY (all transmutes below): the signatures are those of the `extern "C"`
    // functions in kernels-cdylib/src/lib.rs.
    unsafe {
        for (name, args) in kernel_calls() {
            let a = |i: usize| match args[i] {
                Val::I32(v) => v as u32 as u64,
                Val::I64(v) => v as u64,
                _ => unreachable!(),
            };
            let p = sym(name);
            let r = match name {
                "nbody_energy" | "spectral_norm" => {
                    let f: extern "C" fn(u32) -> f64 = std::mem::transmute(p);
                    Val::F64(f(a(0) as u32).to_bits())
                }
                "fannkuch_checksum" => {
                    let f: extern "C" fn(u32) -> i64 = std::mem::transmute(p);
                    Val::I64(f(a(0) as u32))
                }
                "mandelbrot_fnv" => {
                    let f: extern "C" fn(u32) -> u64 = std::mem::transmute(p);
                    Val::I64(f(a(0) as u32) as i64)
                }
                "matmul_frobenius" => {
                    let f: extern "C" fn(u32, u64) -> f64 = std::mem::transmute(p);
                    Val::F64(f(a(0) as u32, a(1)).to_bits())
                }
                other => panic!("no native signature for {other}"),
            };
            out.push((format!("{name}{args:?}"), r));
        }
        let mut buf = vec![0u8; 100_000];
        let fill: extern "C" fn(*mut u8, usize, u64) = std::mem::transmute(sym("fill_random"));
        fill(buf.as_mut_ptr(), buf.len(), 42);
        let fnv: extern "C" fn(*const u8, usize) -> u64 = std::mem::transmute(sym("fnv1a64"));
        out.push((
            "fnv1a64".into(),
            Val::I64(fnv(buf.as_ptr(), buf.len()) as i64),
        ));
        let crc: extern "C" fn(*const u8, usize) -> u32 = std::mem::transmute(sym("crc32"));
        out.push((
            "crc32".into(),
            Val::I32(crc(buf.as_ptr(), buf.len()) as i32),
        ));
    }
    out
}

/// Runs `f` on a thread with a big stack (compiled code uses the caller's stack).
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("thread panicked")
}

#[test]
fn kernels_cdylib_matches_native() {
    let unknown = module("kernels-cdylib-unknown");
    let wasip1 = module("kernels-cdylib");
    let ours_unknown = on_big_stack(move || {
        let mut store = Store::new();
        store.set_max_wasm_stack(8 << 20);
        let inst = Linker::new()
            .instantiate(&mut store, &unknown)
            .expect("instantiate");
        kernel_results(&mut store, inst)
    });
    let ours_wasip1 = on_big_stack(move || {
        let mut store = Store::new();
        store.set_max_wasm_stack(8 << 20);
        let ctx = Arc::new(WasiCtx::new());
        let mut linker = Linker::new();
        wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
        let inst = linker
            .instantiate(&mut store, &wasip1)
            .expect("instantiate");
        let mem = store.get_memory(inst, "memory").expect("memory");
        ctx.set_memory(&store, mem);
        if let Some(init) = store.get_func(inst, "_initialize") {
            store.call(init, &[]).expect("_initialize");
        }
        kernel_results(&mut store, inst)
    });
    let reference: Vec<(String, Val)> = KERNEL_REFERENCE
        .iter()
        .map(|(n, v)| (n.to_string(), *v))
        .collect();
    // The checked-in table is the native build's: checked wherever that build can be
    // loaded into this process (the host's own architecture, x86-64 for the corpus).
    #[cfg(target_arch = "x86_64")]
    {
        let native = native_kernel_results();
        assert_eq!(
            native, reference,
            "KERNEL_REFERENCE is not what the native build returns: {native:?}"
        );
    }
    assert_eq!(ours_unknown, reference, "unknown-unknown build vs native");
    assert_eq!(ours_wasip1, reference, "wasip1 build vs native");
}

/// What the native x86-64 build of `kernels-cdylib` returns for [`kernel_calls`] and the
/// two buffer hashes (checked against the native build itself on x86-64 hosts).
const KERNEL_REFERENCE: &[(&str, Val)] = &[
    ("nbody_energy[I32(20000)]", Val::F64(13818632139871207048)),
    ("fannkuch_checksum[I32(8)]", Val::I64(94489282128)),
    ("spectral_norm[I32(120)]", Val::F64(4608417403547327976)),
    ("mandelbrot_fnv[I32(160)]", Val::I64(-4142318873141543246)),
    (
        "matmul_frobenius[I32(40), I64(7)]",
        Val::F64(4626735086962314463),
    ),
    ("fnv1a64", Val::I64(-1428196411542125810)),
    ("crc32", Val::I32(-1788058085)),
];

#[test]
fn every_corpus_module_compiles_and_loads() {
    for name in MODULES {
        let m = module(name);
        assert!(m.meta().functions.len() > 50, "{name}");
    }
}

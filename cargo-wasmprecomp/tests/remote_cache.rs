//! The remote cache through the real binary, against real servers on 127.0.0.1 that the
//! tests start themselves from temporary folders: nginx with WebDAV `PUT` (the Bazel
//! remote-cache HTTP layout needs nothing more) and redis-server. A server binary that
//! is missing fails the test with what to install (`.ci/run` installs both).
//!
//! - Two machines: machine A (its own cache folder and checkout) compiles the Rust
//!   corpus through the remote; machine B (an empty folder, another checkout path) gets
//!   every module from the remote, byte for byte, in at most two requests a module; with
//!   the module tier off every function is served (manifests, then the function tier
//!   alone, in batches); B's folder is backfilled. The URL carries a password that
//!   appears nowhere in the output, the report or the cache folders.
//! - Faults: a closed port, a server answering 401/403/500/507, a read-only server, a
//!   slow server (through an in-test proxy that delays), dropped connections, a server
//!   stopped in the middle of a run, damaged objects (written into nginx's folder or set
//!   in Redis) and objects with a wrong authentication tag: every run exits 0 with the
//!   artifacts of a run without remote, and counts what happened.
//! - Four processes sharing one remote and one local folder at once, twice.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

mod common;
use common::{bin, ok};

/// The programs of the Rust corpus (`shared/corpus`), built for wasm32-wasip1.
const CORPUS: &[&str] = &[
    "regex-scan",
    "json-roundtrip",
    "sha-digest",
    "nbody",
    "fannkuch",
    "text-stats",
    "markdown",
    "image-filter",
];

const PASSWORD: &str = "pw-Zq81-secret";
const TOKEN: &str = "tok-Hw72-secret";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The corpus folder: `$WASMPRECOMP_CORPUS_DIR`, else `target/corpus`, built with
/// `shared/corpus/build-rust-corpus.sh` when a module is missing (as the corpus test does).
fn corpus() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let complete = |d: &Path| CORPUS.iter().all(|m| d.join(format!("{m}.wasm")).is_file());
        if let Some(d) = std::env::var_os("WASMPRECOMP_CORPUS_DIR") {
            let d = PathBuf::from(d);
            assert!(complete(&d), "WASMPRECOMP_CORPUS_DIR lacks corpus modules");
            return d;
        }
        let d = workspace().join("target/corpus");
        if !complete(&d) {
            let script = workspace().join("../shared/corpus/build-rust-corpus.sh");
            let st = Command::new("bash")
                .arg(&script)
                .arg(&d)
                .env(
                    "CARGO_TARGET_DIR",
                    workspace().join("target/corpus-wasm-build"),
                )
                .status()
                .expect("run build-rust-corpus.sh");
            assert!(st.success(), "build-rust-corpus.sh failed");
        }
        d
    })
}

/// The path of a server binary, or a failure saying what to install.
fn server_binary(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{name}` is not installed: `apt-get install -y {package}` (the remote cache tests start their own {name} on 127.0.0.1)");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{what} exited before listening: {st}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "{what} never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A certificate authority and a server certificate it signed for 127.0.0.1, as PEM
/// files in a temporary folder (generated afresh by each test that asks).
struct Tls {
    _dir: tempfile::TempDir,
    /// The authority's certificate: what a client is told to trust.
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Tls {
    fn new() -> Tls {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let file = |name: &str, text: String| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        Tls {
            ca: file("ca.pem", ca.pem()),
            cert: file("server.pem", cert.pem()),
            key: file("server-key.pem", key.serialize_pem()),
            _dir: dir,
        }
    }
}

/// An nginx on a free port serving `<dir>/data` with WebDAV PUT under `/`, basic auth
/// under `/auth/` (user `ci`, [`PASSWORD`]), fixed statuses under `/s401/` ... `/s507/`,
/// and `/ro/`: the objects of `/shared/`, read-only (writes get 403).
struct Nginx {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Nginx {
    fn start() -> Nginx {
        Nginx::start_with(None)
    }

    /// An nginx that speaks only HTTPS, with the server certificate and key of `tls`.
    fn start_tls(tls: &Tls) -> Nginx {
        Nginx::start_with(Some(tls))
    }

    fn start_with(tls: Option<&Tls>) -> Nginx {
        let exe = server_binary("nginx", "nginx");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        std::fs::create_dir_all(dir.path().join("data/shared")).unwrap();
        std::fs::write(
            dir.path().join("htpasswd"),
            format!("ci:{{PLAIN}}{PASSWORD}\n"),
        )
        .unwrap();
        let ssl = match tls {
            Some(t) => format!(
                " ssl;\n    ssl_certificate {};\n    ssl_certificate_key {}",
                t.cert.display(),
                t.key.display()
            ),
            None => String::new(),
        };
        let conf = format!(
            r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port}{ssl};
    root {d}/data;
    location / {{ dav_methods PUT; create_full_put_path on; }}
    location /auth/ {{
      auth_basic "cache"; auth_basic_user_file {d}/htpasswd;
      dav_methods PUT; create_full_put_path on;
    }}
    location /bearer/ {{
      if ($http_authorization != "Bearer {TOKEN}") {{ return 401; }}
      dav_methods PUT; create_full_put_path on;
    }}
    location /ro/ {{ alias {d}/data/shared/; limit_except GET HEAD {{ deny all; }} }}
    location /s401/ {{ return 401; }}
    location /s403/ {{ return 403; }}
    location /s500/ {{ return 500; }}
    location /s507/ {{ return 507; }}
  }}
}}
"#
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new(exe)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        wait_for_port(port, "nginx", &mut child);
        Nginx { dir, port, child }
    }

    fn url(&self, prefix: &str) -> String {
        format!("http://127.0.0.1:{}/{prefix}", self.port)
    }

    fn https_url(&self, prefix: &str) -> String {
        format!("https://127.0.0.1:{}/{prefix}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A redis-server on a free port, nothing persisted, with a password when given.
struct Redis {
    _dir: tempfile::TempDir,
    port: u16,
    password: Option<String>,
    /// `redis` or `rediss`.
    scheme: &'static str,
    child: Child,
}

impl Redis {
    fn start(password: Option<&str>) -> Redis {
        Redis::start_with(password, None)
    }

    /// A redis-server that speaks only TLS (no client certificates asked for).
    fn start_tls(password: &str, tls: &Tls) -> Redis {
        Redis::start_with(Some(password), Some(tls))
    }

    fn start_with(password: Option<&str>, tls: Option<&Tls>) -> Redis {
        let exe = server_binary("redis-server", "redis-server");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = Command::new(exe);
        cmd.args(["--bind", "127.0.0.1"]);
        match tls {
            None => {
                cmd.args(["--port", &port.to_string()]);
            }
            Some(t) => {
                cmd.args(["--port", "0", "--tls-port", &port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(&t.cert)
                    .arg("--tls-key-file")
                    .arg(&t.key)
                    .arg("--tls-ca-cert-file")
                    .arg(&t.ca)
                    .args(["--tls-auth-clients", "no"]);
            }
        }
        cmd.args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = password {
            cmd.args(["--requirepass", p]);
        }
        let mut child = cmd.spawn().expect("start redis-server");
        wait_for_port(port, "redis-server", &mut child);
        Redis {
            _dir: dir,
            port,
            password: password.map(str::to_string),
            scheme: if tls.is_some() { "rediss" } else { "redis" },
            child,
        }
    }

    fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("{}://:{p}@127.0.0.1:{}/0", self.scheme, self.port),
            None => format!("{}://127.0.0.1:{}/0", self.scheme, self.port),
        }
    }

    /// Runs redis-cli with `args` (and `stdin`), returning its stdout.
    fn cli(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let exe = server_binary("redis-cli", "redis-tools");
        let mut cmd = Command::new(exe);
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(p) = &self.password {
            cmd.args(["-a", p, "--no-auth-warning"]);
        }
        let mut child = cmd
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(b) = stdin {
            input.write_all(b).unwrap();
        }
        drop(input);
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "redis-cli {args:?} failed");
        o.stdout
    }

    fn keys(&self) -> Vec<String> {
        String::from_utf8(self.cli(&["--raw", "KEYS", "wasmprecomp/*"], None))
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a proxy in front of a server does to each connection.
#[derive(Clone, Copy)]
enum Fault {
    /// Waits this long before forwarding anything.
    Delay(Duration),
    /// Accepts and closes at once.
    Drop,
}

/// A TCP proxy on a free port to `target`, injecting `fault`; stops when dropped.
struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(target: u16, fault: Fault) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(300);
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((client, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                match fault {
                    Fault::Drop => drop(client),
                    Fault::Delay(d) => {
                        std::thread::spawn(move || {
                            std::thread::sleep(d);
                            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                                return;
                            };
                            pipe(client, server);
                        });
                    }
                }
            }
        });
        Proxy { port, stop }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies both ways until either side closes.
fn pipe(a: TcpStream, b: TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let (mut a, mut b) = (a, b);
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}

/// One compile: `inputs` into `out` with the cache folder `cache` and the remote `url`.
fn run(inputs: &[PathBuf], cache: &Path, out: &Path, url: Option<&str>, extra: &[&str]) -> Output {
    run_with(inputs, cache, out, url, extra, &[])
}

/// [`run`] with the environment variables `env` set.
fn run_with(
    inputs: &[PathBuf],
    cache: &Path,
    out: &Path,
    url: Option<&str>,
    extra: &[&str],
    env: &[(&str, &Path)],
) -> Output {
    let mut c = bin();
    c.arg("--cache-dir").arg(cache).arg("--out-dir").arg(out);
    for v in [
        "WASMPRECOMP_REMOTE_CACHE",
        "WASMPRECOMP_REMOTE_TOKEN",
        "WASMPRECOMP_REMOTE_KEY",
        "WASMPRECOMP_REMOTE_READ_ONLY",
        "WASMPRECOMP_REMOTE_TIMEOUT",
        "WASMPRECOMP_REMOTE_CONNECT_TIMEOUT",
        "WASMPRECOMP_REMOTE_CA",
        // Checking recompiles every hit, which reads manifests a module hit never needs:
        // the request counts below are those of normal runs.
        "WASMPRECOMP_CACHE_CHECK",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    if let Some(u) = url {
        c.arg("--remote-cache").arg(u);
    }
    c.args(extra).args(inputs).output().unwrap()
}

fn report(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

fn remote(r: &serde_json::Value, field: &str) -> u64 {
    r["remote"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("no remote.{field} in {}", r["remote"]))
}

/// The inputs copied into `dir` (a checkout of its own).
fn checkout(dir: &Path, from: &[PathBuf]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    from.iter()
        .map(|p| {
            let to = dir.join(p.file_name().unwrap());
            std::fs::copy(p, &to).unwrap();
            to
        })
        .collect()
}

fn corpus_inputs() -> Vec<PathBuf> {
    CORPUS
        .iter()
        .map(|m| corpus().join(format!("{m}.wasm")))
        .collect()
}

/// Small modules that compile fast, for the fault tests.
fn small_inputs(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..3)
        .map(|m| {
            let mut s = String::from("(module (memory 1)\n");
            for i in 0..40 {
                s.push_str(&format!(
                    "(func (export \"f{i}\") (param i32) (result i32) local.get 0 i32.const {} i32.mul i32.const {} i32.add i32.load)\n",
                    m * 100 + i + 1,
                    i
                ));
            }
            s.push(')');
            let p = dir.join(format!("small{m}.wasm"));
            std::fs::write(&p, wat::parse_str(&s).unwrap()).unwrap();
            p
        })
        .collect()
}

/// Every artifact in `a` equals the one of the same name in `b`.
fn same_artifacts(inputs: &[PathBuf], a: &Path, b: &Path) {
    for i in inputs {
        let name = format!("{}.wpc", i.file_stem().unwrap().to_string_lossy());
        let (x, y) = (std::fs::read(a.join(&name)), std::fs::read(b.join(&name)));
        assert!(
            x.is_ok() && x.as_ref().ok() == y.as_ref().ok(),
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// No file under `dir` contains `needle`.
fn nowhere_in(dir: &Path, needle: &str) {
    for e in walk(dir) {
        let bytes = std::fs::read(&e).unwrap_or_default();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{} contains the password",
            e.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn no_password(o: &Output) {
    for (what, s) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(
            !String::from_utf8_lossy(s).contains(PASSWORD),
            "the password is in {what}"
        );
    }
}

/// Machine A fills the remote; machines B, C and D, each with an empty folder and
/// another checkout, are served by it.
fn two_machines(url: &str, objects: impl Fn() -> usize) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a_in = checkout(&t.join("a/src"), &corpus_inputs());
    let a = ok(run(
        &a_in,
        &t.join("a/cache"),
        &t.join("a/out"),
        Some(url),
        &["--message-format", "json"],
    ));
    no_password(&a);
    let ra = report(&t.join("a/out"));
    let n = CORPUS.len() as u64;
    assert_eq!(remote(&ra, "module_misses"), n);
    assert!(
        remote(&ra, "uploads") > 0 && remote(&ra, "uploads_dropped") == 0,
        "{}",
        ra["remote"]
    );
    assert!(objects() > 0, "nothing reached the server");

    // B: every module from the remote, byte for byte, in at most 2 requests each.
    let b_in = checkout(&t.join("b/elsewhere/src"), &corpus_inputs());
    let b = ok(run(
        &b_in,
        &t.join("b/cache"),
        &t.join("b/out"),
        Some(url),
        &[],
    ));
    no_password(&b);
    let rb = report(&t.join("b/out"));
    assert_eq!(remote(&rb, "module_hits"), n, "{}", rb["remote"]);
    assert!(remote(&rb, "requests") <= 2 * n, "{}", rb["remote"]);
    assert_eq!(rb["totals"]["compiled"], 0);
    for m in rb["modules"].as_array().unwrap() {
        assert_eq!(m["module_cache"], "hit");
    }
    same_artifacts(&b_in, &t.join("a/out"), &t.join("b/out"));
    // B's folder was backfilled: with the remote gone, B still hits every module.
    let gone = format!("http://127.0.0.1:{}/", free_port());
    ok(run(
        &b_in,
        &t.join("b/cache"),
        &t.join("b/out2"),
        Some(&gone),
        &[],
    ));
    let rb2 = report(&t.join("b/out2"));
    assert_eq!(rb2["cache"]["module_hits"], n);

    // C: module tier off, manifests on: every function served, at most 3 requests a module.
    let c = ok(run(
        &b_in,
        &t.join("c/cache"),
        &t.join("c/out"),
        Some(url),
        &["--no-module-cache"],
    ));
    no_password(&c);
    let rc = report(&t.join("c/out"));
    assert_eq!(rc["totals"]["compiled"], 0, "{}", rc["totals"]);
    assert_eq!(remote(&rc, "manifest_hits"), n, "{}", rc["remote"]);
    assert!(remote(&rc, "requests") <= 3 * n, "{}", rc["remote"]);
    same_artifacts(&b_in, &t.join("a/out"), &t.join("c/out"));

    // D: the function tier alone: every function served, fetched in batches.
    let d = ok(run(
        &b_in,
        &t.join("d/cache"),
        &t.join("d/out"),
        Some(url),
        &["--no-module-cache", "--no-manifest"],
    ));
    no_password(&d);
    let rd = report(&t.join("d/out"));
    assert_eq!(rd["totals"]["compiled"], 0, "{}", rd["totals"]);
    assert_eq!(rd["totals"]["hit_rate"], 1.0);
    let fh = remote(&rd, "function_hits");
    assert!(fh > 1000, "{}", rd["remote"]);
    same_artifacts(&b_in, &t.join("a/out"), &t.join("d/out"));
    let shown = url.replace(PASSWORD, "***");
    eprintln!(
        "{shown}: A {} requests; B {} requests for {n} modules; C {}; D {} requests for {fh} functions",
        remote(&ra, "requests"),
        remote(&rb, "requests"),
        remote(&rc, "requests"),
        remote(&rd, "requests")
    );
    for dir in ["a", "b", "c", "d"] {
        nowhere_in(&t.join(dir), PASSWORD);
    }
    let stats = ok(bin()
        .args(["cache", "stats", "--cache-dir"])
        .arg(t.join("b/cache"))
        .args(["--remote-cache", url])
        .output()
        .unwrap());
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("remote credentials") && l.ends_with(" url")),
        "{text}"
    );
    no_password(&stats);
}

#[test]
fn two_machines_share_the_corpus_through_nginx() {
    let ng = Nginx::start();
    let url = ng
        .url("auth/ci-cache")
        .replace("http://", &format!("http://ci:{PASSWORD}@"));
    let data = ng.data();
    two_machines(&url, || walk(&data.join("auth")).len());
    // The same folder without the password is refused: every run still succeeds.
    let tmp = tempfile::tempdir().unwrap();
    let ins = small_inputs(&tmp.path().join("src"));
    let o = ok(run(
        &ins,
        &tmp.path().join("cache"),
        &tmp.path().join("out"),
        Some(&ng.url("auth/ci-cache")),
        &[],
    ));
    assert!(remote(&report(&tmp.path().join("out")), "errors") > 0);
    assert!(String::from_utf8_lossy(&o.stderr).contains("HTTP 401"));
}

#[test]
fn two_machines_share_the_corpus_through_redis() {
    let r = Redis::start(Some(PASSWORD));
    let url = r.url();
    two_machines(&url, || r.keys().len());
}

/// A reference compile without any remote.
fn reference(inputs: &[PathBuf], t: &Path) -> PathBuf {
    let out = t.join("reference");
    ok(run(inputs, &t.join("reference-cache"), &out, None, &[]));
    out
}

/// A run against `url` with an empty folder: exit 0, the reference's artifacts; returns
/// the report's remote section and stderr.
fn survives(
    inputs: &[PathBuf],
    t: &Path,
    name: &str,
    url: &str,
    extra: &[&str],
) -> (serde_json::Value, String) {
    let out = t.join(name);
    let o = ok(run(
        inputs,
        &t.join(format!("{name}-cache")),
        &out,
        Some(url),
        extra,
    ));
    same_artifacts(inputs, &t.join("reference"), &out);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let remote_warnings = stderr
        .lines()
        .filter(|l| l.starts_with("warning: remote cache"))
        .count();
    assert!(remote_warnings <= 2, "{name}: warnings repeat:\n{stderr}");
    (report(&out)["remote"].clone(), stderr)
}

#[test]
fn a_remote_that_fails_never_fails_the_build() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ins = small_inputs(&t.join("src"));
    reference(&ins, t);
    let ng = Nginx::start();
    let closed = free_port();
    for (name, url) in [
        ("closed-http", format!("http://127.0.0.1:{closed}/c")),
        ("closed-redis", format!("redis://127.0.0.1:{closed}")),
        ("s401", ng.url("s401")),
        ("s403", ng.url("s403")),
        ("s500", ng.url("s500")),
        ("s507", ng.url("s507")),
    ] {
        let t0 = Instant::now();
        let (r, stderr) = survives(&ins, t, name, &url, &[]);
        assert!(r["errors"].as_u64().unwrap() >= 3, "{name}: {r}");
        assert_eq!(r["disabled"], true, "{name}: {r}");
        assert!(stderr.contains("warning: remote cache"), "{name}: {stderr}");
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{name} took {:?}",
            t0.elapsed()
        );
    }
    // Dropped connections, and a server slower than the request timeout.
    let drop = Proxy::start(ng.port, Fault::Drop);
    let (r, _) = survives(
        &ins,
        t,
        "dropped",
        &format!("http://127.0.0.1:{}/d", drop.port),
        &[],
    );
    assert_eq!(r["disabled"], true, "{r}");
    let slow = Proxy::start(ng.port, Fault::Delay(Duration::from_secs(3)));
    let t0 = Instant::now();
    let (r, _) = survives(
        &ins,
        t,
        "slow",
        &format!("http://127.0.0.1:{}/d", slow.port),
        &["--remote-timeout", "300ms"],
    );
    assert!(r["errors"].as_u64().unwrap() >= 1, "{r}");
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "the slow server held the run {:?}",
        t0.elapsed()
    );
    // A slow server within the timeout is used.
    let slowish = Proxy::start(ng.port, Fault::Delay(Duration::from_millis(50)));
    let (r, _) = survives(
        &ins,
        t,
        "slowish",
        &format!("http://127.0.0.1:{}/d", slowish.port),
        &[],
    );
    assert_eq!(r["errors"], 0, "{r}");
    assert!(r["uploads"].as_u64().unwrap() > 0, "{r}");
}

#[test]
fn a_read_only_server_serves_reads_and_refuses_writes_without_failing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ins = small_inputs(&t.join("src"));
    reference(&ins, t);
    let ng = Nginx::start();
    // Fill /shared/ with the first two modules; /ro/ serves the same folder read-only.
    ok(run(
        &ins[..2],
        &t.join("seed-cache"),
        &t.join("seed"),
        Some(&ng.url("shared")),
        &[],
    ));
    let (r, stderr) = survives(&ins, t, "ro", &ng.url("ro"), &[]);
    assert_eq!(r["module_hits"], 2, "{r}");
    assert!(r["errors"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(r["uploads"], 0, "{r}");
    assert_eq!(r["disabled"], false, "reads still work: {r}");
    assert!(stderr.contains("refuses writes"), "{stderr}");
    // --remote-read-only never writes: the server's folder stays as it was.
    let before = walk(&ng.data()).len();
    let (r, _) = survives(
        &ins,
        t,
        "read-only-flag",
        &ng.url("other"),
        &["--remote-read-only"],
    );
    assert_eq!(r["mode"], "read-only");
    assert_eq!(r["uploads"], 0);
    assert_eq!(walk(&ng.data()).len(), before);
}

#[test]
fn damaged_and_unauthenticated_objects_are_misses_never_code() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ins = small_inputs(&t.join("src"));
    reference(&ins, t);

    // nginx: objects flipped, truncated or emptied in its folder.
    let ng = Nginx::start();
    let url = ng.url("c");
    ok(run(
        &ins,
        &t.join("seed-cache"),
        &t.join("seed"),
        Some(&url),
        &["--no-module-cache"],
    ));
    ok(run(
        &ins,
        &t.join("seed2-cache"),
        &t.join("seed2"),
        Some(&url),
        &[],
    ));
    // Each run replaces what it found damaged, so the objects are damaged before each.
    let damage = || {
        let files = walk(&ng.data().join("c"));
        assert!(files.len() > 3);
        for (i, f) in files.iter().enumerate() {
            let mut b = std::fs::read(f).unwrap();
            match i % 3 {
                0 => *b.last_mut().unwrap() ^= 0x40,
                1 => b.truncate(b.len() / 2),
                _ => b.clear(),
            }
            std::fs::write(f, b).unwrap();
        }
        files
    };
    let files = damage();
    let (r, _) = survives(&ins, t, "damaged-http", &url, &[]);
    assert!(r["corrupt"].as_u64().unwrap() > 0, "{r}");
    damage();
    let (r, _) = survives(
        &ins,
        t,
        "damaged-http-functions",
        &url,
        &["--no-module-cache", "--no-manifest"],
    );
    assert!(r["corrupt"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["function_hits"], 0, "{r}");

    // Redis: every value replaced by another object's bytes, cut short.
    let redis = Redis::start(None);
    let rurl = redis.url();
    ok(run(
        &ins,
        &t.join("rseed-cache"),
        &t.join("rseed"),
        Some(&rurl),
        &[],
    ));
    let keys = redis.keys();
    assert!(!keys.is_empty());
    let other = std::fs::read(&files[0]).unwrap_or_default();
    for k in &keys {
        redis.cli(
            &["-x", "SET", k],
            Some(&[other.as_slice(), b"tail"].concat()),
        );
    }
    let (r, _) = survives(&ins, t, "damaged-redis", &rurl, &[]);
    assert!(r["corrupt"].as_u64().unwrap() > 0, "{r}");

    // Authentication: objects tagged with one key are misses for another, and for a
    // reader with a key, untagged objects are misses too.
    let r2 = Redis::start(None);
    let tagged = |name: &str, url: &str, key: &str| {
        let out = t.join(name);
        let mut c = bin();
        c.env("WASMPRECOMP_REMOTE_KEY", key)
            .arg("--cache-dir")
            .arg(t.join(format!("{name}-cache")))
            .arg("--out-dir")
            .arg(&out)
            .arg("--remote-cache")
            .arg(url)
            .args(&ins);
        let o = ok(c.output().unwrap());
        assert!(!String::from_utf8_lossy(&o.stderr).contains(key));
        same_artifacts(&ins, &t.join("reference"), &out);
        report(&out)["remote"].clone()
    };
    let n = ins.len() as u64;
    let url2 = r2.url();
    tagged("tag-seed", &url2, "key-one");
    let good = tagged("tag-good", &url2, "key-one");
    assert_eq!(good["module_hits"], n, "{good}");
    assert_eq!(good["authenticated"], true);
    let bad = tagged("tag-bad", &url2, "key-two");
    assert_eq!(bad["module_hits"], 0, "{bad}");
    assert!(bad["unauthenticated"].as_u64().unwrap() >= n, "{bad}");
    let untagged = url2.replace("/0", "/1");
    let (plain, _) = survives(&ins, t, "untagged-seed", &untagged, &[]);
    assert_eq!(plain["authenticated"], false);
    let r3 = tagged("untagged-read", &untagged, "key-one");
    assert_eq!(r3["module_hits"], 0, "{r3}");
    assert!(r3["unauthenticated"].as_u64().unwrap() >= n, "{r3}");
}

#[test]
fn a_server_stopped_in_the_middle_of_a_run_costs_only_time() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ins = corpus_inputs()[..4].to_vec();
    reference(&ins, t);
    for server in ["redis", "nginx"] {
        let (mut redis, mut nginx) = (None, None);
        let url = if server == "redis" {
            let r = Redis::start(None);
            let u = r.url();
            redis = Some(r);
            u
        } else {
            let n = Nginx::start();
            let u = n.url("c");
            nginx = Some(n);
            u
        };
        let out = t.join(format!("stopped-{server}"));
        let mut c = bin();
        c.arg("--cache-dir")
            .arg(t.join(format!("stopped-{server}-cache")))
            .arg("--out-dir")
            .arg(&out)
            .arg("--remote-cache")
            .arg(&url)
            .args(&ins)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = c.spawn().unwrap();
        // Stop the server once the run has uploaded something.
        let t0 = Instant::now();
        loop {
            let n = match (&redis, &nginx) {
                (Some(r), _) => r.keys().len(),
                (_, Some(n)) => walk(&n.data()).len(),
                _ => 0,
            };
            if n > 0 || t0.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(redis.take());
        drop(nginx.take());
        ok(child.wait_with_output().unwrap());
        same_artifacts(&ins, &t.join("reference"), &out);
        let r = report(&out)["remote"].clone();
        assert!(r["uploads"].as_u64().unwrap() > 0, "{server}: {r}");
    }
}

#[test]
fn four_processes_share_one_remote_and_one_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ins = small_inputs(&t.join("src"));
    reference(&ins, t);
    let ng = Nginx::start();
    let redis = Redis::start(None);
    for (server, url) in [("nginx", ng.url("c")), ("redis", redis.url())] {
        for round in 0..2 {
            let children: Vec<(PathBuf, Child)> = (0..4)
                .map(|p| {
                    let out = t.join(format!("{server}-{round}-{p}"));
                    let mut c = bin();
                    c.arg("--cache-dir")
                        .arg(t.join(format!("{server}-shared-cache")))
                        .arg("--out-dir")
                        .arg(&out)
                        .arg("--remote-cache")
                        .arg(&url)
                        .args(&ins)
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped());
                    (out, c.spawn().unwrap())
                })
                .collect();
            for (out, child) in children {
                let o = child.wait_with_output().unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                same_artifacts(&ins, &t.join("reference"), &out);
                assert_eq!(report(&out)["remote"]["errors"], 0);
            }
        }
    }
}

#[test]
fn a_malformed_remote_url_is_a_usage_error_that_hides_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    let ins = small_inputs(&tmp.path().join("src"));
    for url in [
        format!("ftp://u:{PASSWORD}@host/x"),
        format!("http//u:{PASSWORD}@host"),
        format!("redis://u:{PASSWORD}@host/notadb"),
    ] {
        let o = run(
            &ins,
            &tmp.path().join("cache"),
            &tmp.path().join("out"),
            Some(&url),
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{url}");
        no_password(&o);
        assert!(String::from_utf8_lossy(&o.stderr).contains("remote cache URL"));
    }
    let mut c = bin();
    c.env("WASMPRECOMP_REMOTE_CACHE", "http://127.0.0.1:1/")
        .env("WASMPRECOMP_REMOTE_TIMEOUT", "soon")
        .args(&ins)
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .arg("--out-dir")
        .arg(tmp.path().join("out"));
    assert_eq!(c.output().unwrap().status.code(), Some(2));
}

#[test]
fn init_remote_writes_a_workflow_that_shares_the_remote_and_reads_only_on_pull_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = tmp.path().join("Cargo.toml");
    std::fs::write(&manifest, "[workspace]\nmembers = []\n").unwrap();
    ok(bin()
        .args(["init", "--remote", "--manifest-path"])
        .arg(&manifest)
        .output()
        .unwrap());
    let wf = std::fs::read_to_string(tmp.path().join(".github/workflows/wasmprecomp.yml")).unwrap();
    for needed in [
        "WASMPRECOMP_REMOTE_CACHE: ${{ secrets.WASMPRECOMP_REMOTE_CACHE }}",
        "WASMPRECOMP_REMOTE_TOKEN: ${{ secrets.WASMPRECOMP_REMOTE_TOKEN }}",
        "WASMPRECOMP_REMOTE_READ_ONLY: ${{ github.event_name == 'pull_request' }}",
    ] {
        assert!(wf.contains(needed), "no `{needed}` in\n{wf}");
    }
    assert!(
        !wf.contains("actions/cache/restore") && !wf.contains("WASMPRECOMP_CACHE_DIR"),
        "{wf}"
    );
}

#[test]
fn a_token_from_the_environment_authenticates_and_is_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ins = small_inputs(&t.join("src"));
    let ng = Nginx::start();
    let redis = Redis::start(Some(TOKEN));
    let redis_url = format!("redis://127.0.0.1:{}/0", redis.port);
    for (name, url) in [("bearer", ng.url("bearer/c")), ("redis-token", redis_url)] {
        for round in 0..2 {
            let out = t.join(format!("{name}-{round}"));
            let mut c = bin();
            c.env("WASMPRECOMP_REMOTE_TOKEN", TOKEN)
                .env("WASMPRECOMP_REMOTE_CACHE", &url)
                .arg("--cache-dir")
                .arg(t.join(format!("{name}-{round}-cache")))
                .arg("--out-dir")
                .arg(&out)
                .args(&ins);
            let o = ok(c.output().unwrap());
            for s in [&o.stdout, &o.stderr] {
                assert!(!String::from_utf8_lossy(s).contains(TOKEN));
            }
            let r = report(&out)["remote"].clone();
            assert_eq!(r["errors"], 0, "{name}: {r}");
            if round == 1 {
                assert_eq!(r["module_hits"], ins.len() as u64, "{name}: {r}");
            }
            nowhere_in(&out, TOKEN);
        }
    }
    // Without the token the same server refuses, and the build still succeeds.
    let o = ok(run(
        &ins,
        &t.join("none-cache"),
        &t.join("none"),
        Some(&ng.url("bearer/c")),
        &[],
    ));
    assert!(String::from_utf8_lossy(&o.stderr).contains("HTTP 401"));
}

#[test]
fn tls_remotes_are_verified_against_the_configured_authority() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ins = small_inputs(&t.join("src"));
    reference(&ins, t);
    let tls = Tls::new();
    let ng = Nginx::start_tls(&tls);
    let redis = Redis::start_tls(PASSWORD, &tls);
    let ca: &[(&str, &Path)] = &[("WASMPRECOMP_REMOTE_CA", &tls.ca)];
    for (name, url) in [("https", ng.https_url("c")), ("rediss", redis.url())] {
        assert!(url.starts_with(&format!("{name}://")), "{url}");
        // Without the authority the server's certificate is refused: a warning, a
        // local build, nothing uploaded.
        let (r, stderr) = survives(&ins, t, &format!("{name}-untrusted"), &url, &[]);
        assert!(r["errors"].as_u64().unwrap() > 0, "{name}: {r}");
        assert_eq!(r["uploads"], 0, "{name}: {r}");
        assert!(
            stderr.to_lowercase().contains("certificate"),
            "{name}: no word of the certificate in:\n{stderr}"
        );
        // With it: machine A fills the remote, machine B is served every module.
        for (machine, hits) in [("a", 0), ("b", ins.len() as u64)] {
            let out = t.join(format!("{name}-{machine}"));
            let o = ok(run_with(
                &ins,
                &t.join(format!("{name}-{machine}-cache")),
                &out,
                Some(&url),
                &[],
                ca,
            ));
            no_password(&o);
            same_artifacts(&ins, &t.join("reference"), &out);
            let r = report(&out)["remote"].clone();
            assert_eq!(r["errors"], 0, "{name} {machine}: {r}");
            assert_eq!(r["module_hits"], hits, "{name} {machine}: {r}");
            if machine == "a" {
                assert!(r["uploads"].as_u64().unwrap() > 0, "{name}: {r}");
            } else {
                assert_eq!(report(&out)["totals"]["compiled"], 0);
            }
        }
        let mut stats = bin();
        stats
            .args(["cache", "stats", "--cache-dir"])
            .arg(t.join(format!("{name}-b-cache")))
            .args(["--remote-cache", &url])
            .env("WASMPRECOMP_REMOTE_CA", &tls.ca);
        let text = String::from_utf8(ok(stats.output().unwrap()).stdout).unwrap();
        assert!(
            text.lines()
                .any(|l| l.starts_with("remote tls roots")
                    && l.ends_with(&tls.ca.display().to_string())),
            "{text}"
        );
    }
    // A file that holds no certificate is a usage error naming the variable and file.
    let bogus = t.join("not-a-ca.pem");
    std::fs::write(&bogus, "no certificate here\n").unwrap();
    let o = run_with(
        &ins,
        &t.join("bogus-cache"),
        &t.join("bogus"),
        Some(&ng.https_url("c")),
        &[],
        &[("WASMPRECOMP_REMOTE_CA", &bogus)],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("WASMPRECOMP_REMOTE_CA") && stderr.contains("not-a-ca.pem"),
        "{stderr}"
    );
}

//! Sandbox-escape attempts through WASI: each is refused with an errno, and nothing
//! outside the preopened directory is read, created or changed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use wasmprecomp_runtime::wasi::{self, errno, rights, DirAccess, WasiCtx};
use wasmprecomp_runtime::{Instance, Linker, Store, Val};
use wasmprecomp_tests::compile;

/// The WASI functions the guest below forwards to, with their parameter types.
const FUNCS: &[(&str, &str)] = &[
    ("path_open", "iiiiiIIii"),
    ("fd_read", "iiii"),
    ("fd_write", "iiii"),
    ("fd_close", "i"),
    ("fd_renumber", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("path_symlink", "iiiii"),
    ("path_create_directory", "iii"),
    ("path_remove_directory", "iii"),
    ("path_unlink_file", "iii"),
    ("path_rename", "iiiiii"),
    ("path_link", "iiiiiii"),
    ("path_filestat_get", "iiiii"),
    ("path_readlink", "iiiiii"),
];

/// A module that exports each of [`FUNCS`] as it imports it.
fn guest_wat() -> String {
    let mut w = String::from("(module\n");
    let ty = |c: char| if c == 'I' { "i64" } else { "i32" };
    for (name, params) in FUNCS {
        let p: Vec<&str> = params.chars().map(ty).collect();
        w += &format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) (result i32)))\n",
            p.join(" ")
        );
    }
    w += "(memory (export \"memory\") 1)\n";
    for (name, params) in FUNCS {
        let p: Vec<&str> = params.chars().map(ty).collect();
        let gets: String = (0..p.len()).map(|i| format!("local.get {i} ")).collect();
        w += &format!(
            "(func (export \"{name}\") (param {}) (result i32) {gets} call ${name})\n",
            p.join(" ")
        );
    }
    w + ")"
}

const O_CREAT: i32 = 1;
const O_TRUNC: i32 = 8;
const FOLLOW: i32 = 1;
/// The descriptor of the first preopen.
const ROOT: i32 = 3;

/// A guest instance with WASI over `ctx`, and a bump allocator for strings in its memory.
struct Guest {
    store: Store,
    inst: Instance,
    next: usize,
}

impl Guest {
    fn new(ctx: WasiCtx) -> Guest {
        let ctx = Arc::new(ctx);
        let m = compile(&guest_wat());
        let mut store = Store::new();
        let mut linker = Linker::new();
        wasi::add_to_linker(&mut linker, &mut store, ctx);
        let inst = linker.instantiate(&mut store, &m).expect("instantiate");
        Guest {
            store,
            inst,
            next: 1024,
        }
    }

    /// Writes `s` into guest memory; its (pointer, length).
    fn put(&mut self, s: &[u8]) -> (Val, Val) {
        if self.next + s.len() > 60_000 {
            self.next = 1024;
        }
        let at = self.next;
        let m = self.store.get_memory(self.inst, "memory").unwrap();
        self.store.memory_data_mut(m)[at..at + s.len()].copy_from_slice(s);
        self.next += s.len() + 8;
        (Val::I32(at as i32), Val::I32(s.len() as i32))
    }

    fn call(&mut self, name: &str, args: &[Val]) -> i32 {
        let f = self.store.get_func(self.inst, name).unwrap();
        self.store.call(f, args).expect("call")[0].unwrap_i32()
    }

    fn u32_at(&self, at: usize) -> u32 {
        let m = self.store.get_memory(self.inst, "memory").unwrap();
        let b = &self.store.memory_data(m)[at..at + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// `path_open`: the new descriptor or the errno.
    fn open(
        &mut self,
        dir: i32,
        path: &str,
        oflags: i32,
        base: u64,
        lookup: i32,
    ) -> Result<i32, i32> {
        self.open_with(dir, path, oflags, base, base, lookup)
    }

    /// A directory, with `inheriting` for what is opened through it.
    fn open_dir(&mut self, dir: i32, path: &str, inheriting: u64) -> Result<i32, i32> {
        self.open_with(
            dir,
            path,
            2,
            rights::DIRECTORY & !rights::MODIFY,
            inheriting,
            0,
        )
    }

    fn open_with(
        &mut self,
        dir: i32,
        path: &str,
        oflags: i32,
        base: u64,
        inheriting: u64,
        lookup: i32,
    ) -> Result<i32, i32> {
        let (p, l) = self.put(path.as_bytes());
        let args = [
            Val::I32(dir),
            Val::I32(lookup),
            p,
            l,
            Val::I32(oflags),
            Val::I64(base as i64),
            Val::I64(inheriting as i64),
            Val::I32(0),
            Val::I32(16),
        ];
        match self.call("path_open", &args) {
            0 => Ok(self.u32_at(16) as i32),
            e => Err(e),
        }
    }

    fn read_all(&mut self, fd: i32) -> Result<Vec<u8>, i32> {
        // One iovec at 32: 512 bytes at 512.
        let m = self.store.get_memory(self.inst, "memory").unwrap();
        let mem = self.store.memory_data_mut(m);
        mem[32..36].copy_from_slice(&512u32.to_le_bytes());
        mem[36..40].copy_from_slice(&512u32.to_le_bytes());
        let r = self.call(
            "fd_read",
            &[Val::I32(fd), Val::I32(32), Val::I32(1), Val::I32(48)],
        );
        if r != 0 {
            return Err(r);
        }
        let n = self.u32_at(48) as usize;
        let m = self.store.get_memory(self.inst, "memory").unwrap();
        Ok(self.store.memory_data(m)[512..512 + n].to_vec())
    }

    /// Calls a `path_*` function whose arguments are a directory and one path.
    fn on_path(&mut self, name: &str, dir: i32, path: &str) -> i32 {
        let (p, l) = self.put(path.as_bytes());
        self.call(name, &[Val::I32(dir), p, l])
    }

    fn symlink(&mut self, target: &str, dir: i32, path: &str) -> i32 {
        let (t, tl) = self.put(target.as_bytes());
        let (p, l) = self.put(path.as_bytes());
        self.call("path_symlink", &[t, tl, Val::I32(dir), p, l])
    }

    fn rename(&mut self, dir: i32, from: &str, to: &str) -> i32 {
        let (f, fl) = self.put(from.as_bytes());
        let (t, tl) = self.put(to.as_bytes());
        self.call("path_rename", &[Val::I32(dir), f, fl, Val::I32(dir), t, tl])
    }

    fn stat(&mut self, dir: i32, path: &str, lookup: i32) -> i32 {
        let (p, l) = self.put(path.as_bytes());
        self.call(
            "path_filestat_get",
            &[Val::I32(dir), Val::I32(lookup), p, l, Val::I32(128)],
        )
    }
}

/// A scratch folder holding `sandbox/` (preopened) and `outside/secret` beside it.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let root =
            std::env::temp_dir().join(format!("wasmprecomp-sandbox-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("sandbox/sub")).unwrap();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        std::fs::write(root.join("outside/secret"), b"secret").unwrap();
        std::fs::write(root.join("sandbox/sub/file"), b"inside").unwrap();
        Scratch { root }
    }
    fn sandbox(&self) -> PathBuf {
        self.root.join("sandbox")
    }
    fn outside(&self) -> PathBuf {
        self.root.join("outside")
    }
    fn guest(&self, access: DirAccess) -> Guest {
        let mut ctx = WasiCtx::new();
        ctx.preopen_dir(self.sandbox(), "/sandbox", access).unwrap();
        Guest::new(ctx)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn dot_dot_past_the_preopen_is_refused() {
    let s = Scratch::new("dotdot");
    let mut g = s.guest(DirAccess::ReadWrite);
    for path in [
        "..",
        "../outside/secret",
        "sub/../../outside/secret",
        "sub/../..",
        "./../sandbox",
    ] {
        assert_eq!(
            g.open(ROOT, path, 0, rights::FD_READ, FOLLOW),
            Err(errno::NOTCAPABLE),
            "{path}"
        );
        assert_eq!(g.stat(ROOT, path, FOLLOW), errno::NOTCAPABLE, "{path}");
    }
    assert_eq!(
        g.on_path("path_create_directory", ROOT, "../made"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        g.on_path("path_unlink_file", ROOT, "../outside/secret"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        g.on_path("path_remove_directory", ROOT, "sub/../../outside"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        g.rename(ROOT, "../outside/secret", "stolen"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        g.rename(ROOT, "sub/file", "../outside/planted"),
        errno::NOTCAPABLE
    );
    assert_eq!(entries(&s.root), ["outside", "sandbox"]);
    assert_eq!(entries(&s.outside()), ["secret"]);
    // `..` that stays inside is fine.
    let fd = g
        .open(ROOT, "sub/../sub/file", 0, rights::FD_READ, FOLLOW)
        .unwrap();
    assert_eq!(g.read_all(fd).unwrap(), b"inside");
}

#[test]
fn absolute_paths_are_refused() {
    let s = Scratch::new("absolute");
    let mut g = s.guest(DirAccess::ReadWrite);
    let secret = s.outside().join("secret");
    for path in ["/", "/etc/passwd", secret.to_str().unwrap(), "//sub/file"] {
        assert_eq!(
            g.open(ROOT, path, 0, rights::FD_READ, FOLLOW),
            Err(errno::NOTCAPABLE),
            "{path}"
        );
        assert_eq!(g.stat(ROOT, path, 0), errno::NOTCAPABLE, "{path}");
    }
    let planted = s.outside().join("planted");
    assert_eq!(
        g.open(
            ROOT,
            planted.to_str().unwrap(),
            O_CREAT,
            rights::FD_WRITE,
            0
        ),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(entries(&s.outside()), ["secret"]);
}

#[test]
fn symlinks_out_of_the_preopen_are_never_followed() {
    let s = Scratch::new("symlinks");
    let sb = s.sandbox();
    std::os::unix::fs::symlink("../outside", sb.join("rel")).unwrap();
    std::os::unix::fs::symlink(s.outside().join("secret"), sb.join("abs")).unwrap();
    std::os::unix::fs::symlink("../outside/missing", sb.join("dangling")).unwrap();
    std::os::unix::fs::symlink("loop2", sb.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", sb.join("loop2")).unwrap();
    std::os::unix::fs::symlink("sub/file", sb.join("inner")).unwrap();
    let mut g = s.guest(DirAccess::ReadWrite);
    for path in ["rel/secret", "abs", "rel", "rel/"] {
        assert_eq!(
            g.open(ROOT, path, 0, rights::FD_READ, FOLLOW),
            Err(errno::NOTCAPABLE),
            "{path}"
        );
        assert_eq!(g.stat(ROOT, path, FOLLOW), errno::NOTCAPABLE, "{path}");
    }
    // Creating through a dangling symlink that points out creates nothing.
    assert_eq!(
        g.open(ROOT, "dangling", O_CREAT, rights::FD_WRITE, FOLLOW),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        g.on_path("path_create_directory", ROOT, "rel/made"),
        errno::NOTCAPABLE
    );
    let loop_errno = g.open(ROOT, "loop1", 0, rights::FD_READ, FOLLOW);
    assert_eq!(loop_errno, Err(errno::LOOP));
    // Without following, the links themselves are what is named.
    assert_eq!(g.open(ROOT, "abs", 0, rights::FD_READ, 0), Err(errno::LOOP));
    assert_eq!(g.stat(ROOT, "abs", 0), 0);
    // Links the guest makes may point out, but are not followed out either; absolute
    // targets are refused.
    assert_eq!(g.symlink("../outside/secret", ROOT, "mine"), 0);
    assert_eq!(
        g.open(ROOT, "mine", 0, rights::FD_READ, FOLLOW),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        g.symlink(s.outside().join("secret").to_str().unwrap(), ROOT, "mine2"),
        errno::NOTCAPABLE
    );
    // A hard link may not reach out through a symlink.
    let (o, ol) = g.put(b"rel/secret");
    let (n, nl) = g.put(b"linked");
    let r = g.call(
        "path_link",
        &[
            Val::I32(ROOT),
            Val::I32(FOLLOW),
            o,
            ol,
            Val::I32(ROOT),
            n,
            nl,
        ],
    );
    assert_eq!(r, errno::NOTCAPABLE);
    assert!(!sb.join("linked").exists());
    assert_eq!(entries(&s.outside()), ["secret"]);
    // Symlinks that stay inside work.
    let fd = g.open(ROOT, "inner", 0, rights::FD_READ, FOLLOW).unwrap();
    assert_eq!(g.read_all(fd).unwrap(), b"inside");
}

#[test]
fn a_concurrent_rename_never_lets_a_path_out() {
    let s = Scratch::new("race");
    // `mv` moves between the sandbox and outside while the guest resolves `mv/../secret`:
    // inside, that is `sandbox/secret` (absent); if `..` were taken after the move, it
    // would be `outside/secret`.
    std::fs::create_dir(s.sandbox().join("mv")).unwrap();
    // `swap` is a regular file one moment, a symlink to the secret the next.
    std::fs::write(s.sandbox().join("swap"), b"inside").unwrap();
    std::os::unix::fs::symlink("../outside/secret", s.sandbox().join("swap-link")).unwrap();
    let mut g = s.guest(DirAccess::ReadWrite);
    let stop = Arc::new(AtomicBool::new(false));
    let (inside, outside, sb) = (s.sandbox().join("mv"), s.outside().join("mv"), s.sandbox());
    let st = stop.clone();
    let mover = std::thread::spawn(move || {
        let mut n = 0u64;
        while !st.load(Ordering::Relaxed) {
            let _ = std::fs::rename(&inside, &outside);
            let _ = std::fs::rename(&outside, &inside);
            let _ = std::fs::rename(sb.join("swap"), sb.join("swap-file"));
            let _ = std::fs::rename(sb.join("swap-link"), sb.join("swap"));
            let _ = std::fs::rename(sb.join("swap"), sb.join("swap-link"));
            let _ = std::fs::rename(sb.join("swap-file"), sb.join("swap"));
            n += 1;
        }
        n
    });
    let (mut opened_inside, mut attempts) = (0, 0);
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(2) {
        attempts += 1;
        match g.open(ROOT, "mv/../secret", 0, rights::FD_READ, FOLLOW) {
            Err(e) => assert!(
                [errno::NOENT, errno::NOTCAPABLE, errno::AGAIN].contains(&e),
                "{e}"
            ),
            Ok(fd) => panic!("mv/../secret opened (fd {fd}): {:?}", g.read_all(fd)),
        }
        if let Ok(fd) = g.open(ROOT, "swap", 0, rights::FD_READ, FOLLOW) {
            assert_eq!(
                g.read_all(fd).unwrap(),
                b"inside",
                "read through a swapped-in symlink"
            );
            opened_inside += 1;
            assert_eq!(g.call("fd_close", &[Val::I32(fd)]), 0);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let moves = mover.join().unwrap();
    assert!(moves > 100, "the renames ran ({moves} rounds)");
    assert!(
        attempts > 100 && opened_inside > 0,
        "{attempts} attempts, {opened_inside} opens"
    );
}

#[test]
fn rights_cannot_be_escalated_through_path_open() {
    let s = Scratch::new("rights");
    // A read-only preopen: nothing may be created, written, renamed or removed.
    let mut g = s.guest(DirAccess::ReadOnly);
    let all = u64::MAX;
    assert_eq!(
        g.open(ROOT, "sub/file", 0, rights::FD_WRITE, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(g.open(ROOT, "sub/file", 0, all, 0), Err(errno::NOTCAPABLE));
    assert_eq!(
        g.open(ROOT, "new", O_CREAT, rights::FD_READ, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        g.open(ROOT, "sub/file", O_TRUNC, rights::FD_READ, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        g.on_path("path_create_directory", ROOT, "d"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        g.on_path("path_unlink_file", ROOT, "sub/file"),
        errno::NOTCAPABLE
    );
    assert_eq!(
        g.on_path("path_remove_directory", ROOT, "sub"),
        errno::NOTCAPABLE
    );
    assert_eq!(g.rename(ROOT, "sub/file", "moved"), errno::NOTCAPABLE);
    assert_eq!(g.symlink("sub/file", ROOT, "l"), errno::NOTCAPABLE);
    // A directory opened through it cannot hand on more than it got.
    let every = rights::DIRECTORY | rights::FILE;
    assert_eq!(g.open(ROOT, "sub", 2, every, 0), Err(errno::NOTCAPABLE));
    let sub = g.open_dir(ROOT, "sub", every).unwrap();
    assert_eq!(
        g.open(sub, "file", 0, rights::FD_WRITE, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        g.on_path("path_unlink_file", sub, "file"),
        errno::NOTCAPABLE
    );
    // Reading still works, and the host tree is unchanged.
    let fd = g.open(ROOT, "sub/file", 0, rights::FD_READ, 0).unwrap();
    assert_eq!(g.read_all(fd).unwrap(), b"inside");
    assert_eq!(
        std::fs::read(s.sandbox().join("sub/file")).unwrap(),
        b"inside"
    );
    assert_eq!(entries(&s.sandbox()), ["sub"]);

    // Read-write: a descriptor opened for reading cannot write or regain the right.
    let mut g = s.guest(DirAccess::ReadWrite);
    let fd = g.open(ROOT, "sub/file", 0, rights::FD_READ, 0).unwrap();
    let (p, l) = g.put(b"x");
    let m = g.store.get_memory(g.inst, "memory").unwrap();
    let iov = [p.unwrap_i32().to_le_bytes(), l.unwrap_i32().to_le_bytes()].concat();
    g.store.memory_data_mut(m)[64..72].copy_from_slice(&iov);
    let write = |g: &mut Guest, fd: i32| {
        g.call(
            "fd_write",
            &[Val::I32(fd), Val::I32(64), Val::I32(1), Val::I32(80)],
        )
    };
    assert_eq!(write(&mut g, fd), errno::NOTCAPABLE);
    let widen = [Val::I32(fd), Val::I64(all as i64), Val::I64(0)];
    assert_eq!(g.call("fd_fdstat_set_rights", &widen), errno::NOTCAPABLE);
    assert_eq!(write(&mut g, fd), errno::NOTCAPABLE);
    // A directory whose inheriting rights were dropped cannot open for writing.
    let d = g
        .open_dir(ROOT, "sub", rights::DIRECTORY | rights::FILE)
        .unwrap();
    let drop_write = [
        Val::I32(d),
        Val::I64((rights::DIRECTORY & !rights::MODIFY) as i64),
        Val::I64((rights::FILE & !rights::FD_WRITE) as i64),
    ];
    assert_eq!(g.call("fd_fdstat_set_rights", &drop_write), 0);
    assert_eq!(
        g.open(d, "file", 0, rights::FD_WRITE, 0),
        Err(errno::NOTCAPABLE)
    );
    assert_eq!(
        std::fs::read(s.sandbox().join("sub/file")).unwrap(),
        b"inside"
    );
}

#[test]
fn a_closed_descriptor_is_never_usable_again() {
    let s = Scratch::new("reuse");
    let mut g = s.guest(DirAccess::ReadWrite);
    let fd = g.open(ROOT, "sub/file", 0, rights::FD_READ, 0).unwrap();
    assert_eq!(g.call("fd_close", &[Val::I32(fd)]), 0);
    assert_eq!(g.read_all(fd), Err(errno::BADF));
    assert_eq!(g.call("fd_close", &[Val::I32(fd)]), errno::BADF);
    assert_eq!(g.open(fd, "file", 0, rights::FD_READ, 0), Err(errno::BADF));
    // Renumbered away: the old number is closed.
    let a = g.open(ROOT, "sub/file", 0, rights::FD_READ, 0).unwrap();
    let b = g.open_dir(ROOT, "sub", 0).unwrap();
    assert_eq!(g.call("fd_renumber", &[Val::I32(a), Val::I32(b)]), 0);
    assert_eq!(g.read_all(a), Err(errno::BADF));
    assert_eq!(g.read_all(b).unwrap(), b"inside");
    assert_eq!(
        g.call("fd_renumber", &[Val::I32(a), Val::I32(b)]),
        errno::BADF
    );
    // Closing the preopen takes the sandbox away for good.
    assert_eq!(g.call("fd_close", &[Val::I32(ROOT)]), 0);
    assert_eq!(
        g.open(ROOT, "sub/file", 0, rights::FD_READ, 0),
        Err(errno::BADF)
    );
    assert_eq!(g.on_path("path_create_directory", ROOT, "d"), errno::BADF);
    // A new descriptor may take the number, but names only what was opened as it.
    let mut ctx = WasiCtx::new();
    ctx.preopen_dir(s.sandbox().join("sub"), "/sub", DirAccess::ReadOnly)
        .unwrap();
    let mut g = Guest::new(ctx);
    assert_eq!(g.call("fd_close", &[Val::I32(ROOT)]), 0);
    assert_eq!(
        g.open(ROOT, "file", 0, rights::FD_READ, 0),
        Err(errno::BADF)
    );
}

//! Finding a workspace's `.wasm` artifacts: from `cargo build`'s JSON messages, or in the
//! target folder of an earlier build.

use crate::Error;
use cargo_metadata::{Message, Metadata, MetadataCommand, Package, TargetKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The wasm target when neither the command line, the builder nor the workspace's
/// `[workspace.metadata.wasmprecomp]` names one.
pub const DEFAULT_WASM_TARGET: &str = "wasm32-wasip1";

/// Which packages and profile to look at.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub manifest_path: Option<PathBuf>,
    /// Package ID specs (`name`, `name@version`, `url#name@version`), as cargo's `-p`.
    pub packages: Vec<String>,
    pub workspace: bool,
    /// Package ID specs to leave out (with `workspace`, as cargo's `--exclude`).
    pub exclude: Vec<String>,
    /// Cargo profile name (`dev`, `release`, or a custom one).
    pub profile: String,
    pub target_dir: Option<PathBuf>,
    /// `None`: the workspace's configured one, else [`DEFAULT_WASM_TARGET`].
    pub wasm_target: Option<String>,
    /// Passed through to cargo.
    pub cargo: CargoFlags,
}

/// Cargo's own flags, passed through to `cargo build` (and, where cargo takes them, to
/// `cargo metadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CargoFlags {
    pub locked: bool,
    pub offline: bool,
    pub frozen: bool,
    /// `--features` values, as given (comma- or space-separated lists).
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
}

impl CargoFlags {
    /// The flags for `cargo metadata` (which takes no feature flags with `--no-deps`
    /// that change the members).
    fn resolution(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (on, flag) in [
            (self.locked, "--locked"),
            (self.offline, "--offline"),
            (self.frozen, "--frozen"),
        ] {
            if on {
                v.push(flag.to_string());
            }
        }
        v
    }

    /// The flags for `cargo build`.
    pub fn args(&self) -> Vec<String> {
        let mut v = self.resolution();
        for f in &self.features {
            v.push("--features".into());
            v.push(f.clone());
        }
        if self.all_features {
            v.push("--all-features".into());
        }
        if self.no_default_features {
            v.push("--no-default-features".into());
        }
        v
    }
}

impl Selection {
    /// The folder cargo puts this profile's outputs in (`dev` -> `debug`).
    pub fn profile_dir(&self) -> &str {
        match self.profile.as_str() {
            "dev" | "test" => "debug",
            "bench" => "release",
            p => p,
        }
    }

    /// The wasm target in effect.
    pub fn wasm_target(&self) -> &str {
        self.wasm_target.as_deref().unwrap_or(DEFAULT_WASM_TARGET)
    }
}

/// Runs `cargo metadata`.
pub fn metadata(sel: &Selection) -> Result<Metadata, Error> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(m) = &sel.manifest_path {
        cmd.manifest_path(m);
    }
    cmd.other_options(sel.cargo.resolution());
    cmd.exec().map_err(Error::Metadata)
}

/// The target folder: `--target-dir`, else `CARGO_TARGET_DIR` (cargo metadata honours it),
/// else the workspace's.
pub fn target_dir(sel: &Selection, meta: &Metadata) -> PathBuf {
    sel.target_dir
        .clone()
        .unwrap_or_else(|| meta.target_directory.clone().into_std_path_buf())
}

/// `[workspace.metadata.wasmprecomp]` of a workspace's root manifest, with the members
/// that say `[package.metadata.wasmprecomp] wasm = true` added to `members`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The wasm members: what `--build` builds, and a scan looks at, when no package is
    /// selected (`members`).
    pub members: Vec<String>,
    /// The wasm target (`wasm-target`).
    pub wasm_target: Option<String>,
    /// Rustflags for the wasm build (`rustflags`, a list).
    pub rustflags: Option<Vec<String>>,
}

impl Config {
    /// Reads the configuration from `cargo metadata`'s answer. A value of the wrong type
    /// is [`Error::Config`].
    pub fn read(meta: &Metadata) -> Result<Config, Error> {
        let manifest = meta.workspace_root.join("Cargo.toml").into_std_path_buf();
        let bad = |message: String| Error::Config {
            manifest: manifest.clone(),
            message,
        };
        let mut c = Config::default();
        let table = &meta.workspace_metadata["wasmprecomp"];
        if !table.is_null() && !table.is_object() {
            return Err(bad(
                "`workspace.metadata.wasmprecomp` must be a table".into()
            ));
        }
        let strings = |key: &str| -> Result<Option<Vec<String>>, Error> {
            match &table[key] {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<Vec<String>>>()
                    .map(Some)
                    .ok_or_else(|| {
                        bad(format!(
                            "`workspace.metadata.wasmprecomp.{key}` must be a list of strings"
                        ))
                    }),
                _ => Err(bad(format!(
                    "`workspace.metadata.wasmprecomp.{key}` must be a list of strings"
                ))),
            }
        };
        c.members = strings("members")?.unwrap_or_default();
        c.rustflags = strings("rustflags")?;
        c.wasm_target = match &table["wasm-target"] {
            serde_json::Value::Null => None,
            serde_json::Value::String(t) => Some(t.clone()),
            _ => {
                return Err(bad(
                    "`workspace.metadata.wasmprecomp.wasm-target` must be a string".into(),
                ))
            }
        };
        let members = meta.workspace_packages();
        for m in &c.members {
            if !members.iter().any(|p| p.name.as_str() == m) {
                return Err(bad(format!(
                    "`workspace.metadata.wasmprecomp.members` names `{m}`, which is not a member of the workspace"
                )));
            }
        }
        for p in members {
            match &p.metadata["wasmprecomp"]["wasm"] {
                serde_json::Value::Null | serde_json::Value::Bool(false) => {}
                serde_json::Value::Bool(true) => {
                    if !c.members.iter().any(|m| m == p.name.as_str()) {
                        c.members.push(p.name.to_string());
                    }
                }
                _ => {
                    return Err(Error::Config {
                        manifest: p.manifest_path.clone().into_std_path_buf(),
                        message: "`package.metadata.wasmprecomp.wasm` must be true or false".into(),
                    })
                }
            }
        }
        Ok(c)
    }
}

/// A package ID spec as cargo's `-p` takes it: `name`, `name@version`, `name:version`,
/// or a URL with `#name@version`, `#name` or `#version`.
fn spec_matches(spec: &str, p: &Package) -> bool {
    let (url, frag) = match spec.split_once('#') {
        Some((u, f)) => (Some(u), f),
        None => (None, spec),
    };
    let (name, version) = match frag.split_once(['@', ':']) {
        Some((n, v)) if url.is_none() || !n.is_empty() => (n, Some(v)),
        _ => match url {
            // `url#1.2.3`: the name is the URL's last segment.
            Some(u) if frag.starts_with(|c: char| c.is_ascii_digit()) => {
                (u.rsplit('/').next().unwrap_or(u), Some(frag))
            }
            _ => (frag, None),
        },
    };
    if name != p.name.as_str() {
        return false;
    }
    if let Some(v) = version {
        // A partial version (`1`, `1.2`) matches every version it is a prefix of.
        let have = p.version.to_string();
        if have != v && !have.starts_with(&format!("{v}.")) {
            return false;
        }
    }
    match url {
        Some(u) => {
            let dir = p.manifest_path.parent().map(|d| d.as_str().to_string());
            let path = u.strip_prefix("path+").unwrap_or(u);
            let path = path.strip_prefix("file://").unwrap_or(path);
            dir.as_deref() == Some(path) || u.rsplit('/').next() == Some(p.name.as_str())
        }
        None => true,
    }
}

/// The members a selection names, by cargo's rules: `-p` specs (each must match a
/// member); `--workspace` less `--exclude`; otherwise the configured wasm members, else
/// cargo's default members (the package of the manifest cargo was pointed at, or the
/// workspace's `default-members`, or every member of a virtual workspace).
pub fn selected<'m>(
    sel: &Selection,
    meta: &'m Metadata,
    config: &Config,
) -> Result<Vec<&'m Package>, Error> {
    let members = meta.workspace_packages();
    if !sel.exclude.is_empty() && !sel.workspace {
        return Err(Error::ExcludeWithoutWorkspace);
    }
    if !sel.packages.is_empty() {
        let mut out: Vec<&Package> = Vec::new();
        for spec in &sel.packages {
            let found: Vec<&&Package> = members.iter().filter(|p| spec_matches(spec, p)).collect();
            if found.is_empty() {
                return Err(Error::UnknownPackage(spec.clone()));
            }
            for p in found {
                if !out.iter().any(|o| o.id == p.id) {
                    out.push(p);
                }
            }
        }
        return Ok(out);
    }
    if sel.workspace {
        for spec in &sel.exclude {
            if !members.iter().any(|p| spec_matches(spec, p)) {
                return Err(Error::UnknownPackage(spec.clone()));
            }
        }
        return Ok(members
            .into_iter()
            .filter(|p| !sel.exclude.iter().any(|e| spec_matches(e, p)))
            .collect());
    }
    if !config.members.is_empty() {
        return Ok(members
            .into_iter()
            .filter(|p| config.members.iter().any(|m| m == p.name.as_str()))
            .collect());
    }
    if meta.workspace_default_members.is_available() {
        Ok(meta.workspace_default_packages())
    } else {
        Ok(members)
    }
}

/// The `.wasm` files an earlier build left in the target folder for the selected
/// members' binary and cdylib targets.
pub fn existing_wasm(sel: &Selection, meta: &Metadata, packages: &[&Package]) -> Vec<PathBuf> {
    let dir = target_dir(sel, meta)
        .join(sel.wasm_target())
        .join(sel.profile_dir());
    let mut out = Vec::new();
    for p in packages {
        for t in &p.targets {
            let name = if t.kind.iter().any(|k| matches!(k, TargetKind::Bin)) {
                format!("{}.wasm", t.name)
            } else if t.kind.iter().any(|k| matches!(k, TargetKind::CDyLib)) {
                format!("{}.wasm", t.name.replace('-', "_"))
            } else {
                continue;
            };
            let f = dir.join(name);
            if f.is_file() && !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

/// How [`cargo_build`] runs cargo, beyond the selection.
#[derive(Debug, Clone, Default)]
pub struct CargoBuild {
    /// `--quiet`.
    pub quiet: bool,
    /// `--color`, when set.
    pub color: Option<String>,
    /// Run cargo with the environment of the process that called a build script's
    /// builder cleaned: the host's rustflags and the build script's `CARGO_*` variables
    /// removed (see [`build_script_env`]), and cargo started in the wasm workspace's root
    /// so its `.cargo/config.toml` is the one read.
    pub clean_env: bool,
    /// Flags for the wasm build (`CARGO_ENCODED_RUSTFLAGS`); `None` leaves cargo's own
    /// sources (config files, `RUSTFLAGS` unless cleaned) in charge.
    pub wasm_rustflags: Option<Vec<String>>,
}

/// What a `cargo build` for the wasm target produced.
#[derive(Debug, Clone, Default)]
pub struct Built {
    /// The `.wasm` files of the compiler-artifact messages, sorted.
    pub wasm: Vec<PathBuf>,
    /// Every file the build read, from cargo's dep-info files next to those artifacts
    /// (sources of the packages and their path dependencies), sorted.
    pub read: Vec<PathBuf>,
}

/// Variables cargo sets for a build script (or that configure the host's compile) which
/// must not reach a nested `cargo build` for another target: the host's rustflags would
/// be applied to the wasm build, and the package variables describe the wrong package.
pub fn build_script_env<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    const EXACT: &[&str] = &[
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_TARGET_DIR",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "RUSTC_LINKER",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "DEP_",
    ];
    names
        .into_iter()
        .filter(|n| EXACT.contains(n) || PREFIXES.iter().any(|p| n.starts_with(p)))
        .map(str::to_string)
        .collect()
}

/// `CARGO_ENCODED_RUSTFLAGS` for `flags`: cargo's separator is the unit separator.
pub fn encode_rustflags(flags: &[String]) -> String {
    flags.join("\x1f")
}

/// Runs `cargo build --target <wasm target>` for `packages` (resolved by [`selected`])
/// with JSON messages and returns the `.wasm` files of the compiler-artifact messages and
/// the files the build read. Diagnostics are
/// rendered to stderr as usual; a failed build is [`Error::CargoBuild`] with cargo's
/// status.
pub fn cargo_build(
    sel: &Selection,
    packages: &[&Package],
    how: &CargoBuild,
) -> Result<Built, Error> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--target")
        .arg(sel.wasm_target())
        .arg("--message-format=json-render-diagnostics")
        .arg("--profile")
        .arg(&sel.profile);
    if let Some(m) = &sel.manifest_path {
        cmd.arg("--manifest-path").arg(m);
    }
    // The selection is resolved already, by the same rules in both modes.
    for p in packages {
        cmd.arg("-p").arg(format!("{}@{}", p.name, p.version));
    }
    cmd.args(sel.cargo.args());
    if let Some(t) = &sel.target_dir {
        cmd.arg("--target-dir").arg(t);
    }
    if how.quiet {
        cmd.arg("--quiet");
    }
    if let Some(c) = &how.color {
        cmd.arg("--color").arg(c);
    }
    if how.clean_env {
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect();
        for n in build_script_env(names.iter().map(String::as_str)) {
            cmd.env_remove(n);
        }
        if let Some(root) = sel
            .manifest_path
            .as_deref()
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
        {
            cmd.current_dir(root);
        }
    }
    if let Some(flags) = &how.wasm_rustflags {
        cmd.env("CARGO_ENCODED_RUSTFLAGS", encode_rustflags(flags));
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let cargo_err = |action| move |source| Error::Cargo { action, source };
    let mut child = cmd.spawn().map_err(cargo_err("starting `cargo build`"))?;
    let stdout = child.stdout.take().ok_or_else(|| Error::Cargo {
        action: "reading `cargo build`'s output",
        source: std::io::Error::other("its stdout is not piped"),
    })?;
    let mut out = Built::default();
    for msg in Message::parse_stream(std::io::BufReader::new(stdout)) {
        let msg = msg.map_err(cargo_err("reading cargo's JSON messages"))?;
        if let Message::CompilerArtifact(a) = msg {
            for f in a.filenames {
                let p = f.into_std_path_buf();
                if p.extension().is_some_and(|e| e == "wasm") && !out.wasm.contains(&p) {
                    out.wasm.push(p);
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(cargo_err("waiting for `cargo build`"))?;
    if !status.success() {
        return Err(Error::CargoBuild {
            wasm_target: sel.wasm_target().to_string(),
            status: status.code().unwrap_or(101),
        });
    }
    out.wasm.sort();
    for w in &out.wasm {
        // A missing or unreadable dep-info file leaves the sources unknown; the caller
        // still knows the manifests.
        if let Ok(text) = std::fs::read_to_string(w.with_extension("d")) {
            out.read.extend(parse_dep_info(&text));
        }
    }
    out.read.sort();
    out.read.dedup();
    Ok(out)
}

/// The prerequisites of every rule in a Makefile-style dep-info file as cargo writes
/// them (`target: dep dep ...`, spaces in paths escaped with a backslash).
pub fn parse_dep_info(text: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in text.lines() {
        // The target ends at the first unescaped `: `.
        let Some(colon) = find_rule_colon(line) else {
            continue;
        };
        let mut cur = String::new();
        let mut chars = line[colon + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if matches!(chars.peek(), Some(' ') | Some('\\') | Some('#')) => {
                    cur.extend(chars.next());
                }
                ' ' | '\t' => {
                    if !cur.is_empty() {
                        out.push(PathBuf::from(std::mem::take(&mut cur)));
                    }
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out.push(PathBuf::from(cur));
        }
    }
    out
}

/// Where a dep-info rule's target ends: the first `:` followed by a space or the end of
/// the line and not escaped.
fn find_rule_colon(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    (0..b.len()).find(|&i| {
        b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ') && (i == 0 || b[i - 1] != b'\\')
    })
}

/// Whether a path names a wasm module by extension.
pub fn is_wasm(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "wasm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_prerequisites_are_read_with_escaped_spaces() {
        let text = "/t/release/plug.wasm: /w/plug/src/main.rs /w/my\\ lib/src/lib.rs\n\n/w/plug/src/main.rs:\n";
        assert_eq!(
            parse_dep_info(text),
            vec![
                PathBuf::from("/w/plug/src/main.rs"),
                PathBuf::from("/w/my lib/src/lib.rs"),
            ]
        );
    }

    #[test]
    fn the_build_scripts_variables_and_host_flags_are_removed_and_the_users_are_kept() {
        let removed = build_script_env([
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTFLAGS",
            "CARGO_PKG_NAME",
            "CARGO_CFG_TARGET_OS",
            "CARGO_FEATURE_STD",
            "CARGO_MANIFEST_DIR",
            "OUT_DIR",
            "TARGET",
            "DEP_Z_INCLUDE",
            "CARGO",
            "CARGO_HOME",
            "CARGO_MAKEFLAGS",
            "CARGO_NET_OFFLINE",
            "CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS",
            "PATH",
            "RUSTC",
        ]);
        assert_eq!(
            removed,
            [
                "CARGO_ENCODED_RUSTFLAGS",
                "RUSTFLAGS",
                "CARGO_PKG_NAME",
                "CARGO_CFG_TARGET_OS",
                "CARGO_FEATURE_STD",
                "CARGO_MANIFEST_DIR",
                "OUT_DIR",
                "TARGET",
                "DEP_Z_INCLUDE",
            ]
        );
    }

    #[test]
    fn encoded_rustflags_are_separated_as_cargo_reads_them() {
        let flags = ["--cfg".to_string(), "a b".to_string()];
        assert_eq!(encode_rustflags(&flags), "--cfg\u{1f}a b");
    }
}

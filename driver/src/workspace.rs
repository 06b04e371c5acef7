//! Finding a workspace's `.wasm` artifacts: from `cargo build`'s JSON messages, or in the
//! target folder of an earlier build.

use crate::Error;
use cargo_metadata::{Message, Metadata, MetadataCommand, Package, TargetKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Which packages and profile to look at.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub manifest_path: Option<PathBuf>,
    pub packages: Vec<String>,
    pub workspace: bool,
    pub exclude: Vec<String>,
    /// Cargo profile name (`dev`, `release`, or a custom one).
    pub profile: String,
    pub target_dir: Option<PathBuf>,
    pub wasm_target: String,
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
}

/// Runs `cargo metadata`.
pub fn metadata(sel: &Selection) -> Result<Metadata, Error> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(m) = &sel.manifest_path {
        cmd.manifest_path(m);
    }
    cmd.exec().map_err(Error::Metadata)
}

/// The target folder: `--target-dir`, else `CARGO_TARGET_DIR` (cargo metadata honours it),
/// else the workspace's.
pub fn target_dir(sel: &Selection, meta: &Metadata) -> PathBuf {
    sel.target_dir
        .clone()
        .unwrap_or_else(|| meta.target_directory.clone().into_std_path_buf())
}

fn selected<'m>(sel: &Selection, meta: &'m Metadata) -> Result<Vec<&'m Package>, Error> {
    let members = meta.workspace_packages();
    if !sel.packages.is_empty() {
        let mut out = Vec::new();
        for name in &sel.packages {
            match members.iter().find(|p| p.name.as_str() == name) {
                Some(p) => out.push(*p),
                None => return Err(Error::UnknownPackage(name.clone())),
            }
        }
        return Ok(out);
    }
    Ok(members
        .into_iter()
        .filter(|p| !sel.exclude.iter().any(|e| e == p.name.as_str()))
        .collect())
}

/// The `.wasm` files an earlier build left in the target folder for the selected
/// members' binary and cdylib targets.
pub fn existing_wasm(sel: &Selection, meta: &Metadata) -> Result<Vec<PathBuf>, Error> {
    let dir = target_dir(sel, meta)
        .join(&sel.wasm_target)
        .join(sel.profile_dir());
    let mut out = Vec::new();
    for p in selected(sel, meta)? {
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
    Ok(out)
}

/// Runs `cargo build --target <wasm target>` with JSON messages and returns the `.wasm`
/// files of the compiler-artifact messages. Diagnostics are rendered to stderr as usual;
/// a failed build is [`Error::CargoBuild`] with cargo's status.
pub fn cargo_build(
    sel: &Selection,
    quiet: bool,
    color: Option<&str>,
) -> Result<Vec<PathBuf>, Error> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--target")
        .arg(&sel.wasm_target)
        .arg("--message-format=json-render-diagnostics")
        .arg("--profile")
        .arg(&sel.profile);
    if let Some(m) = &sel.manifest_path {
        cmd.arg("--manifest-path").arg(m);
    }
    for p in &sel.packages {
        cmd.arg("-p").arg(p);
    }
    if sel.workspace {
        cmd.arg("--workspace");
    }
    for e in &sel.exclude {
        cmd.arg("--exclude").arg(e);
    }
    if let Some(t) = &sel.target_dir {
        cmd.arg("--target-dir").arg(t);
    }
    if quiet {
        cmd.arg("--quiet");
    }
    if let Some(c) = color {
        cmd.arg("--color").arg(c);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let cargo_err = |action| move |source| Error::Cargo { action, source };
    let mut child = cmd.spawn().map_err(cargo_err("starting `cargo build`"))?;
    let stdout = child.stdout.take().ok_or_else(|| Error::Cargo {
        action: "reading `cargo build`'s output",
        source: std::io::Error::other("its stdout is not piped"),
    })?;
    let mut out = Vec::new();
    for msg in Message::parse_stream(std::io::BufReader::new(stdout)) {
        let msg = msg.map_err(cargo_err("reading cargo's JSON messages"))?;
        if let Message::CompilerArtifact(a) = msg {
            for f in a.filenames {
                let p = f.into_std_path_buf();
                if p.extension().is_some_and(|e| e == "wasm") && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(cargo_err("waiting for `cargo build`"))?;
    if !status.success() {
        return Err(Error::CargoBuild {
            wasm_target: sel.wasm_target.clone(),
            status: status.code().unwrap_or(101),
        });
    }
    out.sort();
    Ok(out)
}

/// Whether a path names a wasm module by extension.
pub fn is_wasm(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "wasm")
}

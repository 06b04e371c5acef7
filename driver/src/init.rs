//! `cargo wasmprecomp init`: writes the CI workflow and build.rs snippet templates.

use crate::compile::write_atomic;
use crate::Error;
use std::path::{Path, PathBuf};

/// The GitHub Actions workflow template.
pub const WORKFLOW: &str = include_str!("../templates/github-workflow.yml");
/// The GitHub Actions workflow template of `init --remote`: a shared remote cache (URL
/// and token from repository secrets, read-only on pull requests) instead of a restored
/// cache folder.
pub const WORKFLOW_REMOTE: &str = include_str!("../templates/github-workflow-remote.yml");
/// The build.rs snippet template.
pub const BUILD_RS: &str = include_str!("../templates/build.rs");

/// The table `init` adds to a workspace's root manifest.
pub const WORKSPACE_CONFIG: &str = r#"
[workspace.metadata.wasmprecomp]
# The members that build to WebAssembly: what `cargo wasmprecomp --build` builds (and a
# scan looks at) when no package is selected. Empty: cargo's default members.
members = []
# The wasm target (default wasm32-wasip1) and rustflags for the wasm build.
# wasm-target = "wasm32-wasip1"
# rustflags = []
"#;

fn fill(t: &str) -> String {
    t.replace("{{TOOL_VERSION}}", env!("CARGO_PKG_VERSION"))
}

/// One template file and what became of it.
#[derive(Debug)]
pub struct Template {
    pub path: PathBuf,
    /// `Ok` when written; [`Error::Exists`] when left alone without `force`.
    pub written: Result<(), Error>,
}

/// Writes the templates into the root of the workspace of `manifest_path` (default: the
/// workspace around the current folder, else the current folder). A file that exists is
/// left alone unless `force`; the others are still written. `remote`: the workflow uses a
/// remote cache ([`WORKFLOW_REMOTE`]) rather than a restored folder.
pub fn init(
    manifest_path: Option<&Path>,
    force: bool,
    remote: bool,
) -> Result<Vec<Template>, Error> {
    let root: PathBuf = match manifest_path {
        Some(m) => m
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".")),
        None => {
            let mut cmd = cargo_metadata::MetadataCommand::new();
            cmd.no_deps();
            match cmd.exec() {
                Ok(m) => m.workspace_root.into_std_path_buf(),
                Err(_) => std::env::current_dir().map_err(|source| Error::Io {
                    action: "reading the current folder",
                    source,
                })?,
            }
        }
    };
    let files = [
        (
            root.join(".github/workflows/wasmprecomp.yml"),
            fill(if remote { WORKFLOW_REMOTE } else { WORKFLOW }),
        ),
        (root.join("wasmprecomp-build.rs.example"), fill(BUILD_RS)),
    ];
    let mut done: Vec<Template> = files
        .into_iter()
        .map(|(path, content)| {
            let written = write_template(&path, &content, force);
            Template { path, written }
        })
        .collect();
    let manifest = root.join("Cargo.toml");
    if let Some(written) = add_workspace_config(&manifest) {
        done.push(Template {
            path: manifest,
            written,
        });
    }
    Ok(done)
}

/// Appends [`WORKSPACE_CONFIG`] to a workspace's root manifest that has a `[workspace]`
/// table and no such configuration yet (`None`: nothing to do).
fn add_workspace_config(manifest: &Path) -> Option<Result<(), Error>> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let is_workspace = text.lines().any(|l| l.trim() == "[workspace]");
    if !is_workspace || text.contains("workspace.metadata.wasmprecomp") {
        return None;
    }
    let sep = if text.ends_with('\n') { "" } else { "\n" };
    let new = format!("{text}{sep}{WORKSPACE_CONFIG}");
    Some(
        write_atomic(manifest, new.as_bytes()).map_err(|source| Error::Write {
            path: manifest.to_path_buf(),
            source,
        }),
    )
}

fn write_template(path: &Path, content: &str, force: bool) -> Result<(), Error> {
    if path.exists() && !force {
        return Err(Error::Exists(path.to_path_buf()));
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|source| Error::CreateDir {
            path: d.to_path_buf(),
            source,
        })?;
    }
    write_atomic(path, content.as_bytes()).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

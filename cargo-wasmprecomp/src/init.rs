//! `cargo wasmprecomp init`: writes the CI workflow and build.rs snippet templates.

use crate::cli::{exit, InitArgs};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// The GitHub Actions workflow template.
pub const WORKFLOW: &str = include_str!("../../templates/github-workflow.yml");
/// The build.rs snippet template.
pub const BUILD_RS: &str = include_str!("../../templates/build.rs");

fn fill(t: &str) -> String {
    t.replace("{{TOOL_VERSION}}", env!("CARGO_PKG_VERSION"))
}

/// Writes the templates into the workspace root; never overwrites without `--force`.
pub fn init(a: InitArgs) -> Result<i32> {
    let root: PathBuf = match &a.manifest_path {
        Some(m) => m
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".")),
        None => {
            let mut cmd = cargo_metadata::MetadataCommand::new();
            cmd.no_deps();
            match cmd.exec() {
                Ok(m) => m.workspace_root.into_std_path_buf(),
                Err(_) => std::env::current_dir().context("current folder")?,
            }
        }
    };
    let files = [
        (
            root.join(".github/workflows/wasmprecomp.yml"),
            fill(WORKFLOW),
        ),
        (root.join("wasmprecomp-build.rs.example"), fill(BUILD_RS)),
    ];
    let mut code = exit::OK;
    for (path, content) in files {
        if path.exists() && !a.force {
            eprintln!("error: {} exists; use --force to overwrite", path.display());
            code = exit::USAGE;
            continue;
        }
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        crate::driver::write_atomic(&path, content.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(code)
}

//! `cargo wasmprecomp run`: runs a WASI command module.

use crate::cli::RunArgs;
use anyhow::Result;

pub fn run(a: RunArgs) -> Result<i32> {
    let _ = a;
    Err(crate::cli::Exit(crate::cli::exit::USAGE, "run: not yet available".into()).into())
}

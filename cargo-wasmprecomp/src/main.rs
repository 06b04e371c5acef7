//! `cargo wasmprecomp`: parses the command line and hands the work to
//! `wasmprecomp-driver`; every error's exit code is the driver's.

// The doc comments of the command-line types are clap's help text, which names
// placeholders such as `<target-dir>` the way `--help` shows them.
#![allow(rustdoc::invalid_html_tags)]

mod cli;
mod commands;
mod html;
mod progress;
mod stats;
mod summary;

use clap::{CommandFactory, Parser};

// Compiles allocate and free many large buffers; mimalloc reuses their pages instead of
// returning them to the kernel, which cut the function-tier hit path markedly (see
// docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // With transparent huge pages on (`always`, as many distributions ship), the first
    // touch of each 2 MiB of the allocator's arenas zeroes all of it, and a compaction
    // stall can cost far more: an edit's rebuild took up to 0.27 s of system time for
    // 5 ms of work, a cold compile used 1.9x the memory. The setting is per process and
    // the runtime does not touch it (a host program decides for itself).
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli::CargoCli::Wasmprecomp(cli) = cli::CargoCli::parse();
    if cli.cmd.is_none() {
        if let Some((word, close)) = cli::mistyped_subcommand(&cli.build.wasm) {
            let hint = close.map_or(String::new(), |s| format!("\n\n\tDid you mean `{s}`?"));
            let mut cargo = cli::CargoCli::command();
            cargo.build();
            let mut cmd = cargo
                .find_subcommand("wasmprecomp")
                .cloned()
                .unwrap_or(cargo);
            cmd.error(
                clap::error::ErrorKind::InvalidSubcommand,
                format!("no such subcommand: `{word}`{hint}"),
            )
            .exit();
        }
    }
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::ExitCode::from(code.code().clamp(0, 255) as u8)
}

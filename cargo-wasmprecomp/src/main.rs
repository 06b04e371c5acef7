use clap::Parser;

// Compiles allocate and free many large buffers; mimalloc reuses their pages instead of
// returning them to the kernel, which cut the function-tier hit path markedly (see
// docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cargo_wasmprecomp::cli::CargoCli::Wasmprecomp(cli) =
        cargo_wasmprecomp::cli::CargoCli::parse();
    match cargo_wasmprecomp::cli::run(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            let code = e
                .downcast_ref::<cargo_wasmprecomp::cli::Exit>()
                .map(|x| x.0)
                .unwrap_or(cargo_wasmprecomp::cli::exit::USAGE);
            eprintln!("error: {e:#}");
            ExitCode::from(code.clamp(0, 255) as u8)
        }
    }
}

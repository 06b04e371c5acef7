//! The exit statuses of `cargo wasmprecomp`, as the README's "Exit codes" documents them.

/// How a `cargo wasmprecomp` run ends. [`ExitCode::code`] is the process status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// `0`: every module compiled, or the command succeeded.
    Ok,
    /// `1`: at least one module failed to compile (the others were still compiled and
    /// reported), or the program given to `run` could not be loaded or trapped.
    ModuleFailed,
    /// `2`: bad usage or configuration: an unknown flag, target or package, no wasm
    /// found, an unwritable output folder, a template that exists without `--force`.
    Usage,
    /// `3`: an I/O failure after the configuration was accepted: the report, a template
    /// or a cache file could not be written or read, or cargo could not be started.
    Io,
    /// `4`: a cache command that needs the cache to itself (`cache gc`, `cache clear`)
    /// found it in use by other runs for longer than it waits; try again later.
    CacheBusy,
    /// `--build`'s `cargo build` failed: cargo's own status, passed through.
    Cargo(i32),
    /// `run`: the program's own exit status, passed through.
    Program(i32),
}

impl ExitCode {
    /// The process exit status.
    pub const fn code(self) -> i32 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::ModuleFailed => 1,
            ExitCode::Usage => 2,
            ExitCode::Io => 3,
            ExitCode::CacheBusy => 4,
            ExitCode::Cargo(status) | ExitCode::Program(status) => status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn the_tools_own_codes_are_the_documented_numbers() {
        assert_eq!(ExitCode::Ok.code(), 0);
        assert_eq!(ExitCode::ModuleFailed.code(), 1);
        assert_eq!(ExitCode::Usage.code(), 2);
        assert_eq!(ExitCode::Io.code(), 3);
        assert_eq!(ExitCode::CacheBusy.code(), 4);
    }

    #[test]
    fn cargo_and_program_statuses_pass_through() {
        assert_eq!(ExitCode::Cargo(101).code(), 101);
        assert_eq!(ExitCode::Program(33).code(), 33);
    }
}

//! Errors a user can cause by handing us a module.

use thiserror::Error;

/// Why a module could not be compiled. Every variant a user can cause carries the byte
/// offset in the wasm file and, where it applies, the function index and proposal name.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The bytes are not a well-formed module (bad magic, truncated, bad encoding).
    #[error("malformed module at byte offset {offset:#x}{}: {message}", func_suffix(*function))]
    Malformed {
        message: String,
        offset: u64,
        function: Option<u32>,
    },
    /// The module is well-formed but does not validate.
    #[error("invalid module at byte offset {offset:#x}{}: {message}", func_suffix(*function))]
    Invalid {
        message: String,
        offset: u64,
        function: Option<u32>,
    },
    /// The module uses a WebAssembly proposal this compiler does not compile.
    #[error("unsupported WebAssembly proposal `{proposal}` used at byte offset {offset:#x}{}: {message}", func_suffix(*function))]
    Unsupported {
        proposal: String,
        message: String,
        offset: u64,
        function: Option<u32>,
    },
    /// The module exceeds an implementation limit of this compiler.
    #[error("implementation limit exceeded at byte offset {offset:#x}{}: {message}", func_suffix(*function))]
    Limit {
        message: String,
        offset: u64,
        function: Option<u32>,
    },
    /// The requested target cannot be compiled for.
    #[error("unsupported target `{0}`: wasmprecomp compiles for x86_64 and aarch64 Linux (x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, and their musl variants)")]
    UnsupportedTarget(String),
    /// The requested CPU level does not exist for the target, or cannot be resolved.
    #[error("unsupported target CPU `{cpu}` for target `{target}`: {reason}")]
    UnsupportedTargetCpu {
        cpu: String,
        target: String,
        reason: String,
    },
    /// A bug in the compiler; please report it with the module.
    #[error("internal compiler error{}: {message}", func_suffix(*function))]
    Internal {
        message: String,
        function: Option<u32>,
    },
}

fn func_suffix(f: Option<u32>) -> String {
    match f {
        Some(i) => format!(" in function {i}"),
        None => String::new(),
    }
}

impl CompileError {
    /// The byte offset in the wasm input, when known.
    pub fn offset(&self) -> Option<u64> {
        match self {
            CompileError::Malformed { offset, .. }
            | CompileError::Invalid { offset, .. }
            | CompileError::Unsupported { offset, .. }
            | CompileError::Limit { offset, .. } => Some(*offset),
            _ => None,
        }
    }
    /// The function index (imports included), when known.
    pub fn function(&self) -> Option<u32> {
        match self {
            CompileError::Malformed { function, .. }
            | CompileError::Invalid { function, .. }
            | CompileError::Unsupported { function, .. }
            | CompileError::Limit { function, .. }
            | CompileError::Internal { function, .. } => *function,
            _ => None,
        }
    }
    /// The unsupported proposal's name, when that is the problem.
    pub fn proposal(&self) -> Option<&str> {
        match self {
            CompileError::Unsupported { proposal, .. } => Some(proposal),
            _ => None,
        }
    }
    /// The message without location decoration.
    pub fn message(&self) -> String {
        match self {
            CompileError::Malformed { message, .. }
            | CompileError::Invalid { message, .. }
            | CompileError::Unsupported { message, .. }
            | CompileError::Limit { message, .. }
            | CompileError::Internal { message, .. } => message.clone(),
            CompileError::UnsupportedTarget(_) | CompileError::UnsupportedTargetCpu { .. } => {
                self.to_string()
            }
        }
    }
}

/// An internal error (a compiler bug) with no function attached yet; the pipeline adds
/// the function index where it knows it.
pub fn internal(msg: &str) -> CompileError {
    CompileError::Internal {
        message: msg.to_string(),
        function: None,
    }
}

//! wasmprecomp's runtime: loads precompiled artifacts and runs them. Needs no compiler.
//!
//! ```no_run
//! use wasmprecomp_runtime::{Module, Store, Linker, Val};
//! // SAFETY: app.wpc is this application's own build output, written by wasmprecomp.
//! let module = unsafe { Module::from_file("app.wpc")? };
//! let mut store = Store::new();
//! let linker = Linker::new();
//! let instance = linker.instantiate(&mut store, &module)?;
//! let f = store.get_func(instance, "add").unwrap();
//! let r = store.call(f, &[Val::I32(1), Val::I32(2)])?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Loading is `unsafe` ([`Module::from_file`], [`Module::from_bytes`]): an artifact is
//! native code, which runs as it is once the module is instantiated, so it must come from
//! wasmprecomp's compiler, unmodified. The load's checks catch a version, target or CPU
//! that does not fit and accidental damage (a checksum over the whole file, and metadata
//! validated before anything in it is used), not a crafted file.
//! [`Module::from_bytes_without_checksum`] skips the checksum for embedders who check the
//! bytes' integrity their own way.
//!
//! Traps come back as [`Trap`] errors with the trap kind and the wasm byte offset.
//! Compiled code runs on the calling thread's stack, using at most
//! [`StoreData::set_max_wasm_stack`] bytes of it (default 1 MiB); the thread needs that
//! much plus room for host functions.
//!
//! Host functions come from Rust closures ([`Func::wrap`], [`Linker::func_wrap`]) or work
//! on [`Val`]s ([`StoreData::new_func`]); [`Func::typed`] gives a [`TypedFunc`] whose calls
//! take and return Rust values. A store bounds what its code may do: fuel and epoch
//! deadlines ([`Store::with_interruption`], for modules compiled with the same
//! [`Interruption`]) stop it with a trap, and a [`ResourceLimiter`] ([`StoreLimits`])
//! refuses memory and table growth and instantiations over its limits.
//!
//! Handles ([`Func`], [`Memory`], [`Table`], [`Global`], [`Instance`]) belong to the store
//! that created them: using one with another store panics, and no safe call reaches
//! another store's state.
//!
//! The runtime runs on x86-64 and aarch64 Linux, and loads artifacts compiled for the
//! architecture it runs on.

#![warn(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!("wasmprecomp-runtime runs on x86-64 and aarch64 Linux only");

mod entry;
mod fault;
mod linker;
mod module;
mod store;
pub mod wasi;

pub use linker::Linker;
pub use module::Module;
use store::StoreId;
pub use store::{
    Caller, Engine, Extern, Func, FuncTypeError, Global, HostFunc, HostResult, Instance, IntoFunc,
    Memory, ResourceLimiter, Store, StoreData, StoreLimits, Table, TypedFunc, WasmTy, WasmTyList,
    WithCaller, MAX_TYPED_ARITY,
};
pub use wasmprecomp_artifact::{FuncType, GlobalType, Interruption, TrapKind, ValType};

use thiserror::Error;

/// A value passed to or returned from WebAssembly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    I32(i32),
    I64(i64),
    /// Raw bits, so NaN payloads survive.
    F32(u32),
    F64(u64),
    FuncRef(Option<Func>),
    /// An opaque host value; `None` is the null reference.
    ExternRef(Option<u64>),
    /// A 128-bit vector; lane 0 is the least significant bits.
    V128(u128),
}

impl Val {
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::V128(_) => ValType::V128,
        }
    }
    /// The value's bits as a 16-byte value-array slot holds them.
    pub(crate) fn to_bits(self) -> u128 {
        match self {
            Val::I32(v) => v as u32 as u128,
            Val::I64(v) => v as u64 as u128,
            Val::F32(v) => v as u128,
            Val::F64(v) => v as u128,
            Val::FuncRef(f) => f.map(|f| f.addr() as u128).unwrap_or(0),
            Val::ExternRef(e) => e.map(|v| v.wrapping_add(1) as u128).unwrap_or(0),
            Val::V128(v) => v,
        }
    }
    /// The value of type `t` whose slot holds `bits`, in the store `store`.
    ///
    /// # Safety
    ///
    /// For `FuncRef`, `bits` must be 0 or the address of a function reference that the
    /// store `store` owns (what `Func::from_raw` requires).
    pub(crate) unsafe fn from_bits(t: ValType, wide: u128, store: StoreId) -> Val {
        let bits = wide as u64;
        match t {
            ValType::I32 => Val::I32(bits as u32 as i32),
            ValType::I64 => Val::I64(bits as i64),
            ValType::F32 => Val::F32(bits as u32),
            ValType::F64 => Val::F64(bits),
            ValType::FuncRef => Val::FuncRef((bits != 0).then(|| {
                // SAFETY: the caller's promise.
                unsafe { Func::from_raw(store, bits as usize) }
            })),
            ValType::ExternRef => Val::ExternRef((bits != 0).then(|| bits.wrapping_sub(1))),
            ValType::V128 => Val::V128(wide),
        }
    }
    /// The default (zero) value of a type.
    pub fn default_for(t: ValType) -> Val {
        match t {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
            ValType::V128 => Val::V128(0),
        }
    }
    pub fn unwrap_i32(&self) -> i32 {
        match self {
            Val::I32(v) => *v,
            other => panic!("expected i32, found {other:?}"),
        }
    }
    pub fn unwrap_i64(&self) -> i64 {
        match self {
            Val::I64(v) => *v,
            other => panic!("expected i64, found {other:?}"),
        }
    }
}

/// Why an artifact could not be loaded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LoadError {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    /// Not an ELF file, or one without an artifact's sections.
    #[error("not a wasmprecomp artifact: {0}")]
    NotAnArtifact(String),
    /// An artifact for another format version, target, CPU or flags.
    #[error("artifact does not match this runtime: {0}")]
    Mismatch(String),
    /// The artifact's bytes are not the ones the compiler sealed: damaged since.
    #[error("artifact is damaged: its checksum is {computed:016x}, but it records {stored:016x}; compile the module again")]
    Checksum { stored: u64, computed: u64 },
    /// The metadata does not decode or does not hold together; `field` names the part.
    #[error("invalid artifact metadata: {field}: {problem}")]
    Metadata { field: String, problem: String },
    #[error("cannot map code memory: {0}")]
    Map(String),
}

impl From<wasmprecomp_artifact::MetaError> for LoadError {
    fn from(e: wasmprecomp_artifact::MetaError) -> LoadError {
        LoadError::Metadata {
            field: e.field,
            problem: e.problem,
        }
    }
}

/// A trap: compiled code stopped, or a host function failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", self.describe())]
pub struct Trap {
    pub kind: TrapKind,
    /// Module-relative byte offset of the trapping instruction, when known.
    pub wasm_offset: Option<u32>,
    /// Index of the function that trapped, when known.
    pub func: Option<u32>,
    /// Details (host errors).
    pub message: Option<String>,
    /// Set when a WASI program called `proc_exit`.
    pub exit_code: Option<i32>,
}

impl Trap {
    pub fn new(kind: TrapKind) -> Trap {
        Trap {
            kind,
            wasm_offset: None,
            func: None,
            message: None,
            exit_code: None,
        }
    }
    /// A host function's failure with a message.
    pub fn host(message: impl Into<String>) -> Trap {
        Trap {
            message: Some(message.into()),
            ..Trap::new(TrapKind::HostError)
        }
    }
    /// A request to end the program with `code` (WASI `proc_exit`).
    pub fn exit(code: i32) -> Trap {
        Trap {
            exit_code: Some(code),
            message: Some(format!("program exited with code {code}")),
            ..Trap::new(TrapKind::HostError)
        }
    }
    fn describe(&self) -> String {
        let mut s = match &self.message {
            Some(m) => m.clone(),
            None => format!("wasm trap: {}", self.kind.message()),
        };
        if let Some(f) = self.func {
            s.push_str(&format!(" in function {f}"));
        }
        if let Some(o) = self.wasm_offset {
            s.push_str(&format!(" at wasm offset {o:#x}"));
        }
        s
    }
}

/// A fuel or epoch call on a store not configured for it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{what} interruption is not enabled in this store: create it with Store::with_interruption and compile the module with --interruption {what}")]
pub struct InterruptionError {
    /// `fuel` or `epoch`.
    pub what: &'static str,
}

/// Why instantiation failed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InstantiateError {
    /// An import is missing or has the wrong type.
    #[error("unlinkable: {0}")]
    Link(String),
    /// A segment did not fit or the start function trapped.
    #[error("instantiation trapped: {0}")]
    Trap(Trap),
    /// An implementation limit (e.g. a memory could not be reserved), or one of the
    /// store's [`ResourceLimiter`] refused.
    #[error("resource limit: {0}")]
    Resource(String),
    /// The module was compiled with other interruption checks than the store runs.
    #[error("the module was compiled with interruption `{module}` but the store runs `{store}`: compile it with --interruption {store}, or create the store with Store::with_interruption for `{module}`")]
    Interruption {
        module: Interruption,
        store: Interruption,
    },
}

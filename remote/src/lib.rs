//! A shared remote level behind the local [`wasmprecomp_cache::Cache`], on servers teams
//! already run: an HTTP cache with the Bazel remote-cache layout (bazel-remote, or any
//! WebDAV-capable server such as nginx with `dav_methods PUT`) and Redis.
//!
//! Like the local cache it knows nothing of WebAssembly: it moves the same opaque
//! payloads under the same 32-byte keys and tiers.
//!
//! - [`RemoteConfig`] is the configuration (a URL, credentials, timeouts, read-only, an
//!   optional authentication key), read from the environment by [`RemoteConfig::resolve`].
//! - [`Remote`] is one run's connection to the server: verified reads (one object per
//!   request, or a batch of them), uploads in the background, counters and warnings.
//!   A server that fails never fails the caller: each failure is counted, the first
//!   one is a warning, and after [`RemoteConfig::max_failures`] consecutive failures the
//!   remote is off for the rest of the run.
//! - [`Tiered`] puts the two levels together: local first, the remote on a local miss,
//!   a remote hit stored locally (backfill), new entries to both.
//!
//! See `README.md` in this crate for the object layout, the request counts and the
//! threat model.

#![warn(missing_docs)]

use std::fmt;
use std::time::Duration;

mod backend;
mod config;
mod http;
mod object;
mod redis_backend;
mod remote;
mod tiered;

pub use config::{parse_duration, RemoteConfig, RemoteOverrides, Scheme};
pub use remote::{Remote, RemoteStats};
pub use tiered::Tiered;

/// Environment variable with the remote cache's URL (`--remote-cache`).
pub const REMOTE_CACHE_ENV: &str = "WASMPRECOMP_REMOTE_CACHE";
/// Environment variable with a token sent as `Authorization: Bearer` (HTTP) or as the
/// password (Redis), when the URL carries no credentials.
pub const REMOTE_TOKEN_ENV: &str = "WASMPRECOMP_REMOTE_TOKEN";
/// Environment variable with the secret that authenticates every object (HMAC-SHA256).
pub const REMOTE_KEY_ENV: &str = "WASMPRECOMP_REMOTE_KEY";
/// Environment variable that makes the remote read-only when `true` or `1`
/// (`--remote-read-only`).
pub const REMOTE_READ_ONLY_ENV: &str = "WASMPRECOMP_REMOTE_READ_ONLY";
/// Environment variable with the connect timeout (`--remote-connect-timeout`).
pub const REMOTE_CONNECT_TIMEOUT_ENV: &str = "WASMPRECOMP_REMOTE_CONNECT_TIMEOUT";
/// Environment variable with the timeout of one request (`--remote-timeout`).
pub const REMOTE_TIMEOUT_ENV: &str = "WASMPRECOMP_REMOTE_TIMEOUT";
/// Environment variable with the longest wait for unfinished uploads at the end of a run.
pub const REMOTE_UPLOAD_WAIT_ENV: &str = "WASMPRECOMP_REMOTE_UPLOAD_WAIT";
/// A PEM file of the certificate authorities that `https://` and `rediss://` remotes are
/// verified against, in place of the default roots (Mozilla's for HTTPS, the system's
/// for Redis): for a server whose certificate a private CA signed.
pub const REMOTE_CA_ENV: &str = "WASMPRECOMP_REMOTE_CA";
/// Every variable the remote's configuration reads, for build scripts to rerun on.
pub const REMOTE_ENV_VARS: &[&str] = &[
    REMOTE_CACHE_ENV,
    REMOTE_TOKEN_ENV,
    REMOTE_KEY_ENV,
    REMOTE_READ_ONLY_ENV,
    REMOTE_CONNECT_TIMEOUT_ENV,
    REMOTE_TIMEOUT_ENV,
    REMOTE_UPLOAD_WAIT_ENV,
    REMOTE_CA_ENV,
];

/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default timeout of one request (a whole batch for Redis).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The default longest wait for unfinished uploads at the end of a run.
pub const DEFAULT_UPLOAD_WAIT: Duration = Duration::from_secs(30);
/// Consecutive failures after which the remote is off for the rest of the run.
pub const DEFAULT_MAX_FAILURES: u32 = 3;

/// A configuration the remote cannot be used with. Messages never contain the URL's
/// credentials or the token.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL does not parse or names no supported scheme.
    #[error("remote cache URL {url}: {reason}")]
    Url {
        /// The URL without its credentials (or `<unparsable>`).
        url: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// A setting (a timeout, a flag) has a value that does not parse.
    #[error("{name}: {reason}")]
    Setting {
        /// The variable or flag.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// Replaces every occurrence of each secret in `s` (say, a message from a library that
/// quotes the URL) with `***`.
pub(crate) fn redact(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_string();
    for sec in secrets.iter().filter(|s| s.len() >= 2) {
        out = out.replace(sec.as_str(), "***");
    }
    out
}

/// A failure of one request, as the health accounting sees it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub kind: FailureKind,
    /// What happened, already free of secrets.
    pub message: String,
}

/// What a failure means for the rest of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The server could not be reached or did not answer in time, or answered with a
    /// server error: counts toward turning the remote off.
    Unavailable,
    /// The server refuses writes (read-only, full, not allowed): uploads stop, reads go on.
    WritesRefused,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

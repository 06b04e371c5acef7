//! The Bazel remote-cache HTTP layout over `ureq`: `GET`, `HEAD` and `PUT` on
//! `<base>/ac/<sha256>` and `<base>/cas/<sha256>`. The protocol has no batch request, so
//! a batch is sent as parallel requests over a pool of kept-alive connections.

use crate::backend::Backend;
use crate::object::Name;
use crate::{redact, Failure, FailureKind, RemoteConfig};
use base64::Engine;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Requests of one batch in flight at once.
const PARALLEL: usize = 16;
/// The largest object read (a module artifact is far smaller).
const MAX_OBJECT: u64 = 1 << 30;

pub(crate) struct Http {
    agent: ureq::Agent,
    /// The URL without credentials and without a trailing slash.
    base: String,
    /// The `Authorization` header's value, if any.
    auth: Option<String>,
    secrets: Vec<String>,
    requests: AtomicU64,
}

impl Http {
    pub fn new(c: &RemoteConfig) -> Http {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(c.connect_timeout))
            .timeout_global(Some(c.request_timeout))
            // Status codes are answers to interpret, not transport errors.
            .http_status_as_error(false)
            .max_idle_connections_per_host(PARALLEL)
            .max_idle_connections(PARALLEL)
            .user_agent(concat!("wasmprecomp/", env!("CARGO_PKG_VERSION")));
        // A configured CA replaces the default roots (Mozilla's); it parsed when the
        // configuration was made.
        let config = match &c.ca {
            Some((_, pem)) => {
                let certs: Vec<_> = ureq::tls::parse_pem(pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                        _ => None,
                    })
                    .collect();
                config.tls_config(
                    ureq::tls::TlsConfig::builder()
                        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                        .build(),
                )
            }
            None => config,
        }
        .build();
        let user = crate::config::percent_decode(c.url.username()).unwrap_or_default();
        let pass = c
            .url
            .password()
            .map(|p| crate::config::percent_decode(p).unwrap_or_default());
        let auth = if !user.is_empty() || pass.is_some() {
            let both = format!("{user}:{}", pass.unwrap_or_default());
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(both)
            ))
        } else {
            c.token.as_ref().map(|t| format!("Bearer {t}"))
        };
        let mut secrets = c.secrets();
        if let Some(a) = &auth {
            secrets.push(a.clone());
        }
        Http {
            agent: config.into(),
            base: c.display.trim_end_matches('/').to_string(),
            auth,
            secrets,
            requests: AtomicU64::new(0),
        }
    }

    fn url(&self, name: &Name) -> String {
        format!("{}/{}", self.base, name.path())
    }

    fn failure(&self, what: &str, e: &ureq::Error) -> Failure {
        Failure {
            kind: FailureKind::Unavailable,
            message: redact(&format!("{what}: {e}"), &self.secrets),
        }
    }

    fn status_failure(&self, what: &str, status: u16, write: bool) -> Failure {
        // A server that refuses writes (not allowed, full, read-only) may still serve
        // reads; anything else counts against the server.
        let refused = write && matches!(status, 401 | 403 | 405 | 413 | 507);
        Failure {
            kind: if refused {
                FailureKind::WritesRefused
            } else {
                FailureKind::Unavailable
            },
            message: format!("{what}: HTTP {status}"),
        }
    }

    fn get(&self, name: &Name) -> Result<Option<Vec<u8>>, Failure> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self.agent.get(self.url(name));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let what = format!("GET {}", name.path());
        let mut resp = req.call().map_err(|e| self.failure(&what, &e))?;
        match resp.status().as_u16() {
            200 => resp
                .body_mut()
                .with_config()
                .limit(MAX_OBJECT)
                .read_to_vec()
                .map(Some)
                .map_err(|e| self.failure(&what, &e)),
            404 => Ok(None),
            s => Err(self.status_failure(&what, s, false)),
        }
    }

    fn head(&self, name: &Name) -> Result<bool, Failure> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self.agent.head(self.url(name));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let what = format!("HEAD {}", name.path());
        let resp = req.call().map_err(|e| self.failure(&what, &e))?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            s => Err(self.status_failure(&what, s, false)),
        }
    }

    fn put(&self, name: &Name, bytes: &[u8]) -> Result<(), Failure> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self
            .agent
            .put(self.url(name))
            .header("Content-Type", "application/octet-stream");
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let what = format!("PUT {}", name.path());
        let resp = req.send(bytes).map_err(|e| self.failure(&what, &e))?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            s => Err(self.status_failure(&what, s, true)),
        }
    }
}

/// Runs `f` on every item, at most [`PARALLEL`] at once; one result per item, in order.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(items.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                out.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| unreachable!("every item was run")))
        .collect()
}

impl Backend for Http {
    fn get_many(&self, names: &[Name]) -> Vec<Result<Option<Vec<u8>>, Failure>> {
        parallel(names, |n| self.get(n))
    }

    fn put_many(&self, objects: &[(Name, &[u8])]) -> Vec<Result<(), Failure>> {
        // In order: a blob is stored before the record that names it.
        objects.iter().map(|(n, b)| self.put(n, b)).collect()
    }

    fn exists_many(&self, names: &[Name]) -> Vec<Result<bool, Failure>> {
        parallel(names, |n| self.head(n))
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

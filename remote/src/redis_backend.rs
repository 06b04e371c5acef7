//! Redis over the `redis` crate: `MGET` for a batch of reads, a pipeline of `EXISTS`
//! for presence and a pipeline of `SET` for writes, each batch one round trip (split
//! into chunks so that no single reply grows without bound).

use crate::backend::Backend;
use crate::object::Name;
use crate::{redact, Failure, FailureKind, RemoteConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Keys per `MGET` or pipeline.
const CHUNK: usize = 256;
/// Bytes of values per write pipeline (a chunk ends early when it reaches this).
const CHUNK_BYTES: usize = 8 << 20;

pub(crate) struct Redis {
    client: Result<redis::Client, Failure>,
    connect_timeout: Duration,
    request_timeout: Duration,
    /// Idle connections, taken by one batch at a time.
    idle: Mutex<Vec<redis::Connection>>,
    secrets: Vec<String>,
    requests: AtomicU64,
}

/// The key of an object: the HTTP layout's path under a prefix of its own.
fn key(name: &Name) -> String {
    format!("wasmprecomp/{}", name.path())
}

impl Redis {
    pub fn new(c: &RemoteConfig) -> Redis {
        let secrets = c.secrets();
        let client = (|| {
            let mut info = redis::IntoConnectionInfo::into_connection_info(c.url.as_str())?;
            if c.url.password().is_none() {
                if let Some(t) = &c.token {
                    let settings = info.redis_settings().clone().set_password(t);
                    info = info.set_redis_settings(settings);
                }
            }
            match &c.ca {
                // A configured CA replaces the system's roots.
                Some((_, pem)) if c.scheme == crate::Scheme::Rediss => {
                    redis::Client::build_with_tls(
                        info,
                        redis::TlsCertificates {
                            client_tls: None,
                            root_cert: Some(pem.clone()),
                        },
                    )
                }
                _ => redis::Client::open(info),
            }
        })()
        .map_err(|e| Failure {
            kind: FailureKind::Unavailable,
            message: redact(&format!("redis client: {e}"), &secrets),
        });
        Redis {
            client,
            connect_timeout: c.connect_timeout,
            request_timeout: c.request_timeout,
            idle: Mutex::new(Vec::new()),
            secrets,
            requests: AtomicU64::new(0),
        }
    }

    fn failure(&self, what: &str, e: &redis::RedisError) -> Failure {
        // A read-only replica, a full server (maxmemory with noeviction) or a user
        // without write permission refuses writes; reads may still work.
        let refused = matches!(e.code(), Some("READONLY" | "OOM" | "NOPERM"));
        Failure {
            kind: if refused {
                FailureKind::WritesRefused
            } else {
                FailureKind::Unavailable
            },
            message: redact(&format!("{what}: {e}"), &self.secrets),
        }
    }

    /// Runs `f` on a connection (an idle one, or a new one); a connection whose command
    /// failed is dropped, the others go back to the idle list.
    fn with_connection<R>(
        &self,
        what: &str,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<R>,
    ) -> Result<R, Failure> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut con = match idle {
            Some(c) => c,
            None => {
                // Connecting (and AUTH) is not counted as a request, as an HTTP
                // connection is not.
                let con = client
                    .get_connection_with_timeout(self.connect_timeout)
                    .map_err(|e| self.failure("connect", &e))?;
                con.set_read_timeout(Some(self.request_timeout))
                    .and_then(|()| con.set_write_timeout(Some(self.request_timeout)))
                    .map_err(|e| self.failure("connect", &e))?;
                con
            }
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        match f(&mut con) {
            Ok(r) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(con);
                Ok(r)
            }
            Err(e) => Err(self.failure(what, &e)),
        }
    }
}

/// Every item of a failed chunk fails with the chunk's failure.
fn spread<T>(r: Result<Vec<T>, Failure>, n: usize, out: &mut Vec<Result<T, Failure>>) {
    match r {
        Ok(v) if v.len() == n => out.extend(v.into_iter().map(Ok)),
        Ok(v) => out.extend((0..n).map(|_| {
            Err(Failure {
                kind: FailureKind::Unavailable,
                message: format!("redis answered {} values for {n} keys", v.len()),
            })
        })),
        Err(f) => out.extend((0..n).map(|_| Err(f.clone()))),
    }
}

impl Backend for Redis {
    fn get_many(&self, names: &[Name]) -> Vec<Result<Option<Vec<u8>>, Failure>> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(CHUNK) {
            let keys: Vec<String> = chunk.iter().map(key).collect();
            let r = self.with_connection("MGET", |con| {
                redis::cmd("MGET")
                    .arg(&keys)
                    .query::<Vec<Option<Vec<u8>>>>(con)
            });
            spread(r, chunk.len(), &mut out);
        }
        out
    }

    fn put_many(&self, objects: &[(Name, &[u8])]) -> Vec<Result<(), Failure>> {
        let mut out = Vec::with_capacity(objects.len());
        let mut rest = objects;
        while !rest.is_empty() {
            // A chunk of at most CHUNK objects and about CHUNK_BYTES (at least one).
            let mut n = 0;
            let mut bytes = 0;
            while n < rest.len().min(CHUNK) && (n == 0 || bytes + rest[n].1.len() <= CHUNK_BYTES) {
                bytes += rest[n].1.len();
                n += 1;
            }
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let r = self.with_connection("SET", |con| {
                let mut p = redis::pipe();
                for (name, b) in chunk {
                    p.cmd("SET").arg(key(name)).arg(*b).ignore();
                }
                p.query::<()>(con)
            });
            spread(r.map(|()| vec![(); chunk.len()]), chunk.len(), &mut out);
        }
        out
    }

    fn exists_many(&self, names: &[Name]) -> Vec<Result<bool, Failure>> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(CHUNK) {
            let r = self.with_connection("EXISTS", |con| {
                let mut p = redis::pipe();
                for name in chunk {
                    p.cmd("EXISTS").arg(key(name));
                }
                p.query::<Vec<bool>>(con)
            });
            spread(r, chunk.len(), &mut out);
        }
        out
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

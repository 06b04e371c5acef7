//! One run's use of a remote: verified reads, background uploads, health and counters.

use crate::backend::Backend;
use crate::object::{self, Name, Record, Rejected};
use crate::{http, redact, redis_backend, Failure, FailureKind, RemoteConfig};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;
use wasmprecomp_cache::{CacheKey, Tier};

/// Names of one read batch (per request for Redis, in flight together for HTTP); the
/// health is checked between batches, so a remote that goes off mid-run stops there.
const READ_BATCH: usize = 256;
/// Upload threads for HTTP (each sends one object at a time); Redis uses one, sending
/// pipelines.
const HTTP_UPLOADERS: usize = 4;
/// Queued upload bytes beyond which new uploads are dropped (counted), so a slow server
/// cannot make a run hold every compiled function in memory.
const QUEUE_LIMIT: usize = 256 << 20;

/// This run's remote counters. `*_misses` include lookups that failed (also counted in
/// `errors`) and objects that were rejected (`corrupt`, `unauthenticated`); byte counts
/// are object bytes on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RemoteStats {
    /// Module-tier lookups served by the remote.
    pub module_hits: u64,
    /// Module-tier lookups the remote did not serve.
    pub module_misses: u64,
    /// Manifest lookups served by the remote.
    pub manifest_hits: u64,
    /// Manifest lookups the remote did not serve.
    pub manifest_misses: u64,
    /// Function-tier lookups served by the remote.
    pub function_hits: u64,
    /// Function-tier lookups the remote did not serve.
    pub function_misses: u64,
    /// Objects that failed their checks (digest, length, key, format): misses, never used.
    pub corrupt: u64,
    /// Objects without a valid authentication tag while a key is set: misses, never used.
    pub unauthenticated: u64,
    /// Failed requests (refused, timed out, an HTTP or Redis error).
    pub errors: u64,
    /// Requests sent (a Redis pipeline or `MGET` is one).
    pub requests: u64,
    /// Bytes received.
    pub bytes_down: u64,
    /// Bytes sent.
    pub bytes_up: u64,
    /// Entries uploaded.
    pub uploads: u64,
    /// Entries not uploaded: refused, failed, or still queued when the wait at the end
    /// of the run ran out.
    pub uploads_dropped: u64,
    /// Time the run waited for the remote: reads, and the uploads at its end.
    pub wait_ms: f64,
    /// Whether the remote was turned off during the run (too many consecutive failures).
    pub disabled: bool,
}

/// Health, counters and warnings, shared with the upload threads.
struct Shared {
    display: String,
    secrets: Vec<String>,
    key: Option<Vec<u8>>,
    max_failures: u32,
    consecutive: AtomicU32,
    off: AtomicBool,
    writes_off: AtomicBool,
    hits: [AtomicU64; 3],
    misses: [AtomicU64; 3],
    corrupt: AtomicU64,
    unauthenticated: AtomicU64,
    errors: AtomicU64,
    bytes_down: AtomicU64,
    bytes_up: AtomicU64,
    uploads: AtomicU64,
    uploads_dropped: AtomicU64,
    wait_ns: AtomicU64,
    warnings: Mutex<(Vec<String>, HashSet<&'static str>)>,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn tier_index(t: Tier) -> usize {
    match t {
        Tier::Module => 0,
        Tier::Function => 1,
        Tier::Manifest => 2,
    }
}

impl Shared {
    fn warn_once(&self, tag: &'static str, msg: impl FnOnce() -> String) {
        let mut w = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if w.1.insert(tag) {
            let m = redact(&msg(), &self.secrets);
            w.0.push(m);
        }
    }

    fn succeeded(&self) {
        self.consecutive.store(0, Ordering::Relaxed);
    }

    fn failed(&self, f: &Failure) {
        add(&self.errors, 1);
        match f.kind {
            FailureKind::WritesRefused => {
                if !self.writes_off.swap(true, Ordering::Relaxed) {
                    self.warn_once("writes-refused", || {
                        format!(
                            "remote cache {} refuses writes ({f}); no more uploads this run",
                            self.display
                        )
                    });
                }
            }
            FailureKind::Unavailable => {
                let n = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
                self.warn_once("failure", || {
                    format!(
                        "remote cache {}: {f}; the build goes on without it (failures are counted in the report)",
                        self.display
                    )
                });
                if n >= self.max_failures && !self.off.swap(true, Ordering::Relaxed) {
                    self.warn_once("off", || {
                        format!(
                            "remote cache {} is off for the rest of this run after {n} consecutive failures",
                            self.display
                        )
                    });
                }
            }
        }
    }

    fn available(&self) -> bool {
        !self.off.load(Ordering::Relaxed)
    }

    fn writable(&self) -> bool {
        self.available() && !self.writes_off.load(Ordering::Relaxed)
    }

    fn waited(&self, since: Instant) {
        add(&self.wait_ns, since.elapsed().as_nanos() as u64);
    }
}

/// One entry waiting to be uploaded.
struct Job {
    tier: Tier,
    key: CacheKey,
    payload: Vec<u8>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    bytes: usize,
    /// Jobs taken by a worker and not finished yet.
    running: usize,
    closed: bool,
    workers: usize,
}

/// A connection to a remote cache for one run. Reads block the caller (in batches
/// where the caller has many keys); writes are queued and sent by background threads
/// while the run goes on; [`Remote::finish`] waits for them, up to
/// [`RemoteConfig::upload_wait`].
pub struct Remote {
    config: RemoteConfig,
    backend: Arc<dyn Backend>,
    shared: Arc<Shared>,
    queue: Arc<(Mutex<Queue>, Condvar)>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Prepares the remote described by `config`. Nothing is sent yet: a server that
    /// cannot be reached shows in the first request (counted, warned about once).
    pub fn open(config: &RemoteConfig) -> Remote {
        let backend: Arc<dyn Backend> = if config.scheme.is_redis() {
            Arc::new(redis_backend::Redis::new(config))
        } else {
            Arc::new(http::Http::new(config))
        };
        Remote {
            config: config.clone(),
            backend,
            shared: Arc::new(Shared {
                display: config.display.clone(),
                secrets: config.secrets(),
                key: config.key.clone(),
                max_failures: config.max_failures.max(1),
                consecutive: AtomicU32::new(0),
                off: AtomicBool::new(false),
                writes_off: AtomicBool::new(false),
                hits: Default::default(),
                misses: Default::default(),
                corrupt: AtomicU64::new(0),
                unauthenticated: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                bytes_down: AtomicU64::new(0),
                bytes_up: AtomicU64::new(0),
                uploads: AtomicU64::new(0),
                uploads_dropped: AtomicU64::new(0),
                wait_ns: AtomicU64::new(0),
                warnings: Mutex::new(Default::default()),
            }),
            queue: Arc::new((Mutex::new(Queue::default()), Condvar::new())),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    /// Whether the remote is still in use (not turned off by failures).
    pub fn available(&self) -> bool {
        self.shared.available()
    }

    /// Looks up one entry: its record, and its blob when the payload is large (one or
    /// two requests). `None` on a miss, a failure or an object that fails its checks.
    pub fn get(&self, tier: Tier, key: &CacheKey) -> Option<Vec<u8>> {
        self.get_many(tier, std::slice::from_ref(key))
            .pop()
            .flatten()
    }

    /// Looks up many entries of one tier in batches: one `MGET` per batch on Redis, a
    /// batch of parallel requests on HTTP (then one more batch for large payloads).
    /// One answer per key, in order, each checked as [`Remote::get`]'s.
    pub fn get_many(&self, tier: Tier, keys: &[CacheKey]) -> Vec<Option<Vec<u8>>> {
        let t = Instant::now();
        let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(keys.len());
        let s = &*self.shared;
        let secret = s.key.as_deref();
        for chunk in keys.chunks(READ_BATCH) {
            if !s.available() {
                out.extend(chunk.iter().map(|_| None));
                continue;
            }
            let names: Vec<Name> = chunk.iter().map(|k| object::record_name(tier, k)).collect();
            let records = self.backend.get_many(&names);
            // (index in `out`, digest, length) of the payloads stored as blobs.
            let mut blobs: Vec<(usize, [u8; 32], u64)> = Vec::new();
            for (k, r) in chunk.iter().zip(records) {
                let i = out.len();
                out.push(None);
                match r {
                    Ok(Some(bytes)) => {
                        s.succeeded();
                        add(&s.bytes_down, bytes.len() as u64);
                        match object::decode(tier, k, &bytes, secret) {
                            Ok(Record::Inline(p)) => out[i] = Some(p),
                            Ok(Record::Cas { digest, len }) => blobs.push((i, digest, len)),
                            Err(r) => self.rejected(r),
                        }
                    }
                    Ok(None) => s.succeeded(),
                    Err(f) => s.failed(&f),
                }
            }
            if !blobs.is_empty() && s.available() {
                let names: Vec<Name> = blobs.iter().map(|b| Name::Cas(b.1)).collect();
                for ((i, digest, len), r) in blobs.iter().zip(self.backend.get_many(&names)) {
                    match r {
                        Ok(Some(blob)) => {
                            s.succeeded();
                            add(&s.bytes_down, blob.len() as u64);
                            if object::check_blob(&blob, digest, *len) {
                                out[*i] = Some(blob);
                            } else {
                                self.rejected(Rejected::Corrupt);
                            }
                        }
                        // A record without its blob: the blob was evicted or lost.
                        Ok(None) => s.succeeded(),
                        Err(f) => s.failed(&f),
                    }
                }
            }
        }
        let hits = out.iter().filter(|o| o.is_some()).count() as u64;
        add(&s.hits[tier_index(tier)], hits);
        add(&s.misses[tier_index(tier)], keys.len() as u64 - hits);
        s.waited(t);
        out
    }

    fn rejected(&self, r: Rejected) {
        let s = &*self.shared;
        match r {
            Rejected::Corrupt => {
                add(&s.corrupt, 1);
                s.warn_once("corrupt", || {
                    format!(
                        "remote cache {}: a damaged object (digest, length or format) was treated as a miss",
                        s.display
                    )
                });
            }
            Rejected::Unauthenticated => {
                add(&s.unauthenticated, 1);
                s.warn_once("unauthenticated", || {
                    format!(
                        "remote cache {}: an object without a valid authentication tag was treated as a miss",
                        s.display
                    )
                });
            }
        }
    }

    /// Queues an entry for upload and returns at once; background threads send it.
    /// Nothing happens when the remote is read-only, refuses writes or is off.
    pub fn put(&self, tier: Tier, key: &CacheKey, payload: &[u8]) {
        if self.config.read_only || !self.shared.writable() {
            return;
        }
        let (lock, cv) = &*self.queue;
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        if q.closed || q.bytes + payload.len() > QUEUE_LIMIT {
            add(&self.shared.uploads_dropped, 1);
            return;
        }
        q.bytes += payload.len();
        q.jobs.push_back(Job {
            tier,
            key: *key,
            payload: payload.to_vec(),
        });
        let wanted = if self.config.scheme.is_redis() {
            1
        } else {
            HTTP_UPLOADERS
        };
        if q.workers < wanted.min(q.jobs.len() + q.running) {
            q.workers += 1;
            let (backend, shared, queue) = (
                self.backend.clone(),
                self.shared.clone(),
                self.queue.clone(),
            );
            let batch = if self.config.scheme.is_redis() { 64 } else { 1 };
            let spawned = std::thread::Builder::new()
                .name("remote-upload".into())
                .spawn(move || upload_worker(&*backend, &shared, &queue, batch));
            if spawned.is_err() {
                q.workers -= 1;
            }
        }
        cv.notify_one();
    }

    /// The counters so far.
    pub fn stats(&self) -> RemoteStats {
        let s = &*self.shared;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RemoteStats {
            module_hits: l(&s.hits[0]),
            module_misses: l(&s.misses[0]),
            function_hits: l(&s.hits[1]),
            function_misses: l(&s.misses[1]),
            manifest_hits: l(&s.hits[2]),
            manifest_misses: l(&s.misses[2]),
            corrupt: l(&s.corrupt),
            unauthenticated: l(&s.unauthenticated),
            errors: l(&s.errors),
            requests: self.backend.requests(),
            bytes_down: l(&s.bytes_down),
            bytes_up: l(&s.bytes_up),
            uploads: l(&s.uploads),
            uploads_dropped: l(&s.uploads_dropped),
            wait_ms: l(&s.wait_ns) as f64 / 1e6,
            disabled: !s.available(),
        }
    }

    /// Ends the run: waits for the queued and running uploads, at most
    /// [`RemoteConfig::upload_wait`] (those left are dropped and counted), and returns
    /// the counters and the warnings (each kind once, none with a secret in it).
    pub fn finish(self) -> (RemoteStats, Vec<String>) {
        let t = Instant::now();
        let deadline = t + self.config.upload_wait;
        let (lock, cv) = &*self.queue;
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        q.closed = true;
        cv.notify_all();
        while !q.jobs.is_empty() || q.running > 0 {
            let now = Instant::now();
            if now >= deadline || q.workers == 0 {
                break;
            }
            q = cv
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let left = q.jobs.len() + q.running;
        if left > 0 {
            add(&self.shared.uploads_dropped, left as u64);
            q.jobs.clear();
            // Workers still in a request finish it on their own (each request is bounded
            // by the request timeout) and then find the queue closed and empty.
            q.running = 0;
            let wait = self.config.upload_wait;
            self.shared.warn_once("upload-wait", || {
                format!(
                    "remote cache {}: {left} uploads not finished after {wait:?}; dropped",
                    self.shared.display
                )
            });
        }
        drop(q);
        self.shared.waited(t);
        let stats = self.stats();
        let warnings = self
            .shared
            .warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone();
        (stats, warnings)
    }
}

/// An upload thread: takes up to `batch` jobs at a time until the queue is closed and
/// empty.
fn upload_worker(
    backend: &dyn Backend,
    shared: &Shared,
    queue: &(Mutex<Queue>, Condvar),
    batch: usize,
) {
    let (lock, cv) = queue;
    loop {
        let jobs: Vec<Job> = {
            let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
            while q.jobs.is_empty() && !q.closed {
                q = cv.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            if q.jobs.is_empty() {
                q.workers -= 1;
                cv.notify_all();
                return;
            }
            let n = batch.min(q.jobs.len());
            let jobs: Vec<Job> = q.jobs.drain(..n).collect();
            q.bytes -= jobs.iter().map(|j| j.payload.len()).sum::<usize>();
            q.running += n;
            jobs
        };
        let n = jobs.len();
        upload(backend, shared, jobs);
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        q.running = q.running.saturating_sub(n);
        cv.notify_all();
    }
}

/// Sends jobs: the blobs the server lacks, then every record (a record is never stored
/// before the blob it names).
fn upload(backend: &dyn Backend, shared: &Shared, jobs: Vec<Job>) {
    if !shared.writable() {
        add(&shared.uploads_dropped, jobs.len() as u64);
        return;
    }
    let secret = shared.key.as_deref();
    let records: Vec<(Name, Vec<u8>)> = jobs
        .iter()
        .map(|j| {
            (
                object::record_name(j.tier, &j.key),
                object::encode(j.tier, &j.key, &j.payload, secret),
            )
        })
        .collect();
    let large: Vec<(Name, &[u8])> = jobs
        .iter()
        .filter(|j| j.payload.len() > object::INLINE_LIMIT)
        .map(|j| (Name::Cas(object::sha256(&j.payload)), j.payload.as_slice()))
        .collect();
    let mut failed_blob = false;
    if !large.is_empty() {
        let names: Vec<Name> = large.iter().map(|b| b.0).collect();
        let present = backend.exists_many(&names);
        let missing: Vec<(Name, &[u8])> = large
            .iter()
            .zip(&present)
            .filter(|(_, p)| !matches!(p, Ok(true)))
            .map(|(b, _)| *b)
            .collect();
        for r in backend.put_many(&missing) {
            match r {
                Ok(()) => shared.succeeded(),
                Err(f) => {
                    failed_blob = true;
                    shared.failed(&f);
                }
            }
        }
        add(
            &shared.bytes_up,
            missing.iter().map(|b| b.1.len() as u64).sum(),
        );
        if failed_blob {
            // Records naming blobs that may be missing would be misses for everyone.
            add(&shared.uploads_dropped, jobs.len() as u64);
            return;
        }
    }
    let objects: Vec<(Name, &[u8])> = records.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    for ((_, bytes), r) in objects.iter().zip(backend.put_many(&objects)) {
        match r {
            Ok(()) => {
                shared.succeeded();
                add(&shared.uploads, 1);
                add(&shared.bytes_up, bytes.len() as u64);
            }
            Err(f) => {
                shared.failed(&f);
                add(&shared.uploads_dropped, 1);
            }
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Wake idle upload threads so they end with the queue closed.
        let (lock, cv) = &*self.queue;
        lock.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        cv.notify_all();
    }
}

//! The local folder and the remote as one cache: local first, the remote on a local
//! miss, remote hits stored locally, new entries to both.

use crate::Remote;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use wasmprecomp_cache::{Cache, CacheKey, Found, Tier};

/// Prefetched answers (`None`: a miss on both levels) by tier and key.
type Known = HashMap<(Tier, CacheKey), Option<Vec<u8>>>;

/// Both levels for one run. Every method may be called from many threads at once.
///
/// - A get asks the local cache; on a miss, the remote ([`Remote::get`], one or two
///   requests), and a remote hit is stored in the local cache (backfill) before it is
///   returned.
/// - [`Tiered::prefetch`] resolves many keys of a tier at once (the local ones in
///   parallel, the rest from the remote in batches), so that the gets that follow for
///   those keys send no request.
/// - A put stores locally and queues the upload.
pub struct Tiered<'a> {
    local: Option<&'a Cache>,
    remote: Option<&'a Remote>,
    /// Answers found by [`Tiered::prefetch`], each handed out once.
    known: Mutex<Known>,
}

impl<'a> Tiered<'a> {
    /// The two levels; either may be absent.
    pub fn new(local: Option<&'a Cache>, remote: Option<&'a Remote>) -> Tiered<'a> {
        Tiered {
            local,
            remote,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The remote level, if there is one.
    pub fn remote(&self) -> Option<&'a Remote> {
        self.remote
    }

    fn take_known(&self, tier: Tier, key: &CacheKey) -> Option<Option<Vec<u8>>> {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(tier, *key))
    }

    fn backfill(&self, tier: Tier, key: &CacheKey, payload: &[u8]) {
        if let Some(l) = self.local {
            l.put(tier, key, payload);
        }
    }

    fn remote_get(&self, tier: Tier, key: &CacheKey) -> Option<Vec<u8>> {
        let p = self.remote?.get(tier, key)?;
        self.backfill(tier, key, &p);
        Some(p)
    }

    /// The payload under `key`: from a prefetch, the local cache or the remote.
    pub fn get(&self, tier: Tier, key: &CacheKey) -> Option<Vec<u8>> {
        // Only a remote prefetches, so without one there is nothing known to take.
        if self.remote.is_some() {
            if let Some(known) = self.take_known(tier, key) {
                return known;
            }
        }
        if let Some(p) = self.local.and_then(|l| l.get(tier, key)) {
            return Some(p);
        }
        self.remote_get(tier, key)
    }

    /// [`Cache::get_or_confirm`] on the local cache; on a miss, the remote's payload as
    /// [`Found::Read`].
    pub fn get_or_confirm(&self, tier: Tier, key: &CacheKey, copy: &Path) -> Option<Found> {
        if let Some(f) = self.local.and_then(|l| l.get_or_confirm(tier, key, copy)) {
            return Some(f);
        }
        self.remote_get(tier, key).map(Found::Read)
    }

    /// Resolves `keys` ahead of their gets: local lookups in parallel, then one batched
    /// remote lookup for the local misses, whose hits are backfilled. Without a remote
    /// (or with one that is off) it does nothing and the gets look up as usual.
    pub fn prefetch(&self, tier: Tier, keys: &[CacheKey]) {
        let Some(remote) = self.remote.filter(|r| r.available()) else {
            return;
        };
        let local: Vec<Option<Vec<u8>>> = match self.local {
            Some(l) => keys.par_iter().map(|k| l.get(tier, k)).collect(),
            None => vec![None; keys.len()],
        };
        let missing: Vec<CacheKey> = keys
            .iter()
            .zip(&local)
            .filter(|(_, p)| p.is_none())
            .map(|(k, _)| *k)
            .collect();
        let fetched = remote.get_many(tier, &missing);
        missing.par_iter().zip(&fetched).for_each(|(k, p)| {
            if let Some(p) = p {
                self.backfill(tier, k, p);
            }
        });
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let mut fetched = fetched.into_iter();
        for (k, l) in keys.iter().zip(local) {
            let v = match l {
                Some(p) => Some(p),
                None => fetched.next().flatten(),
            };
            known.insert((tier, *k), v);
        }
    }

    /// Stores `payload` locally and queues it for the remote.
    pub fn put(&self, tier: Tier, key: &CacheKey, payload: &[u8]) {
        if let Some(l) = self.local {
            l.put(tier, key, payload);
        }
        if let Some(r) = self.remote {
            r.put(tier, key, payload);
        }
    }

    /// [`Tiered::put`] of a payload that the file at `file` holds: the local cache may
    /// share the file ([`Cache::put_file`]); the remote gets the bytes.
    pub fn put_file(&self, tier: Tier, key: &CacheKey, payload: &[u8], file: &Path) {
        if let Some(l) = self.local {
            l.put_file(tier, key, payload, file);
        }
        if let Some(r) = self.remote {
            r.put(tier, key, payload);
        }
    }
}

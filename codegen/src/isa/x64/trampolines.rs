//! Per-signature trampolines between the host's value-array convention and compiled code.
//!
//! Their boundary registers are the artifact's register protocol
//! ([`wasmprecomp_artifact::abi::x86_64`]); the registers they use inside are their own.

use super::abi::{self, ArgLoc};
use super::asm::{regs::*, *};
use wasmprecomp_artifact::abi::{contains, x86_64 as protocol};
use wasmprecomp_artifact::{FuncType, HOSTCTX_CALLBACK, VMCTX_RAISE};

/// Where the array-to-wasm trampoline keeps the value array and the code address across
/// the call: registers the callee preserves.
const KEPT_VALUES: Gpr = RBX;
const KEPT_CODE: Gpr = R12;
/// Where the trampolines copy stack arguments through, while register arguments are live.
const STACK_TEMP: Gpr = RAX;

// What the code below assumes of the protocol.
const _: () = {
    assert!(contains(&protocol::CALLEE_SAVED, KEPT_VALUES.0));
    assert!(contains(&protocol::CALLEE_SAVED, KEPT_CODE.0));
    assert!(!contains(&protocol::INT_PARAMS, STACK_TEMP.0) && STACK_TEMP.0 != protocol::VMCTX);
    // The VM context is passed on untouched, and the wasm-to-host trampoline hands its own
    // context to the callback untouched.
    assert!(protocol::ARRAY_VMCTX == protocol::VMCTX);
    assert!(protocol::HOST_CALLBACK_CTX == protocol::VMCTX);
};

fn m(base: Gpr, disp: i32) -> Amode {
    Amode::base_disp(base, disp)
}

fn reg_of(loc: &ArgLoc) -> Option<(bool, u8)> {
    match loc {
        ArgLoc::Reg(p) => Some((p.class() == regalloc2::RegClass::Float, p.hw_enc() as u8)),
        ArgLoc::Stack(_) => None,
    }
}

/// `fn(vmctx, code, values)` (System V, in the protocol's `ARRAY_*` registers): calls
/// `code` with arguments read from `values` (8 bytes each) and writes the results back to
/// `values`.
pub fn array_to_wasm(ty: &FuncType) -> Vec<u8> {
    let mut a = Asm::new();
    a.push(RBP);
    a.mov_rr(Size::S64, RBP, RSP);
    a.push(KEPT_VALUES);
    a.push(KEPT_CODE);
    a.mov_rr(Size::S64, KEPT_VALUES, Gpr(protocol::ARRAY_VALUES));
    a.mov_rr(Size::S64, KEPT_CODE, Gpr(protocol::ARRAY_CODE));
    let (locs, nstack) = abi::param_locs(&ty.params);
    let stack_bytes = (nstack * 8 + 15) & !15;
    if stack_bytes > 0 {
        a.alu_ri(AluOp::Sub, Size::S64, RSP, stack_bytes as i32);
    }
    for (i, loc) in locs.iter().enumerate() {
        if let ArgLoc::Stack(k) = loc {
            a.load(
                LoadKind::I64,
                Size::S64,
                STACK_TEMP,
                m(KEPT_VALUES, 8 * i as i32),
            );
            a.store(Size::S64, m(RSP, 8 * *k as i32), STACK_TEMP);
        }
    }
    for (i, loc) in locs.iter().enumerate() {
        if let Some((float, r)) = reg_of(loc) {
            if float {
                a.movsd_load(Xmm(r), m(KEPT_VALUES, 8 * i as i32));
            } else {
                a.load(
                    LoadKind::I64,
                    Size::S64,
                    Gpr(r),
                    m(KEPT_VALUES, 8 * i as i32),
                );
            }
        }
    }
    if ty.results.len() > 1 {
        a.mov_rr(Size::S64, Gpr(protocol::RESULTS_AREA), KEPT_VALUES);
    }
    a.call_r(KEPT_CODE);
    if ty.results.len() == 1 {
        if ty.results[0].is_float() {
            a.movsd_store(m(KEPT_VALUES, 0), Xmm(protocol::FLOAT_RESULT));
        } else {
            a.store(Size::S64, m(KEPT_VALUES, 0), Gpr(protocol::INT_RESULT));
        }
    }
    a.lea(RSP, m(RBP, -16));
    a.pop(KEPT_CODE);
    a.pop(KEPT_VALUES);
    a.pop(RBP);
    a.ret();
    a.finish()
}

/// A function with signature `ty` in the compiled-code convention whose VM context is a
/// host-function context: it stores the arguments to a value array, calls the context's
/// callback, and returns the results from the array. Returns the code and the offset of
/// the trap site (return address of the raise call) used when the callback fails.
pub fn wasm_to_host(ty: &FuncType) -> (Vec<u8>, u32) {
    let mut a = Asm::new();
    a.push(RBP);
    a.mov_rr(Size::S64, RBP, RSP);
    a.push(Gpr(protocol::VMCTX));
    a.push(Gpr(protocol::RESULTS_AREA));
    let n = ty.params.len().max(ty.results.len()).max(1) as i32;
    let bytes = (n * 8 + 15) & !15;
    a.alu_ri(AluOp::Sub, Size::S64, RSP, bytes);
    let (locs, _) = abi::param_locs(&ty.params);
    for (i, loc) in locs.iter().enumerate() {
        let dst = m(RSP, 8 * i as i32);
        match loc {
            ArgLoc::Reg(_) => {
                let (float, r) = reg_of(loc).unwrap_or((false, 0));
                if float {
                    a.movsd_store(dst, Xmm(r));
                } else {
                    a.store(Size::S64, dst, Gpr(r));
                }
            }
            ArgLoc::Stack(k) => {
                a.load(
                    LoadKind::I64,
                    Size::S64,
                    STACK_TEMP,
                    m(RBP, 16 + 8 * *k as i32),
                );
                a.store(Size::S64, dst, STACK_TEMP);
            }
        }
    }
    a.mov_rr(Size::S64, Gpr(protocol::HOST_CALLBACK_VALUES), RSP);
    a.call_m(m(Gpr(protocol::HOST_CALLBACK_CTX), HOSTCTX_CALLBACK as i32));
    let status = Gpr(protocol::HOST_CALLBACK_STATUS);
    a.test_rr(Size::S32, status, status);
    let trap = a.new_label();
    a.jcc(Cond::NE, trap);
    if ty.results.len() == 1 {
        if ty.results[0].is_float() {
            a.movsd_load(Xmm(protocol::FLOAT_RESULT), m(RSP, 0));
        } else {
            a.load(
                LoadKind::I64,
                Size::S64,
                Gpr(protocol::INT_RESULT),
                m(RSP, 0),
            );
        }
    } else if ty.results.len() > 1 {
        a.load(LoadKind::I64, Size::S64, RCX, m(RBP, -16));
        for i in 0..ty.results.len() as i32 {
            a.load(LoadKind::I64, Size::S64, RAX, m(RSP, 8 * i));
            a.store(Size::S64, m(RCX, 8 * i), RAX);
        }
    }
    a.mov_rr(Size::S64, RSP, RBP);
    a.pop(RBP);
    a.ret();
    a.bind(trap);
    a.load(
        LoadKind::I64,
        Size::S64,
        Gpr(protocol::RAISE_VMCTX),
        m(RBP, -8),
    );
    a.call_m(m(Gpr(protocol::RAISE_VMCTX), VMCTX_RAISE as i32));
    let site = a.offset();
    a.int3();
    (a.finish(), site)
}

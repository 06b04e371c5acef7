//! Per-signature trampolines between the host's value-array convention and compiled code.
//!
//! Their boundary registers are the artifact's register protocol
//! ([`wasmprecomp_artifact::abi::x86_64`]); the registers they use inside are their own.

use super::abi::{self, ArgLoc};
use super::asm::{regs::*, *};
use wasmprecomp_artifact::abi::{contains, x86_64 as protocol};
use wasmprecomp_artifact::{FuncType, ValType, HOSTCTX_CALLBACK, VMCTX_RAISE};

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

/// Bytes of one value-array slot.
const SLOT: i32 = protocol::VALUE_SLOT as i32;

/// Moves a value of type `t` from register `r` (its class's register number) to `dst`.
fn store_reg(a: &mut Asm, t: ValType, dst: Amode, r: u8) {
    match t {
        ValType::V128 => a.movdqu_store(dst, Xmm(r)),
        t if t.is_float() => a.movsd_store(dst, Xmm(r)),
        _ => a.store(Size::S64, dst, Gpr(r)),
    }
}

/// Moves a value of type `t` from `src` to register `r`.
fn load_reg(a: &mut Asm, t: ValType, r: u8, src: Amode) {
    match t {
        ValType::V128 => a.vec_m(VecOp::Movdqu, Xmm(r), src),
        t if t.is_float() => a.movsd_load(Xmm(r), src),
        _ => a.load(LoadKind::I64, Size::S64, Gpr(r), src),
    }
}

/// Copies a value of type `t` between memory locations through [`STACK_TEMP`].
fn copy(a: &mut Asm, t: ValType, dst: Amode, src: Amode) {
    for half in 0..(t.area_bytes() / 8) as i32 {
        let (mut s, mut d) = (src, dst);
        s.disp += 8 * half;
        d.disp += 8 * half;
        a.load(LoadKind::I64, Size::S64, STACK_TEMP, s);
        a.store(Size::S64, d, STACK_TEMP);
    }
}

/// `fn(vmctx, code, values)` (System V, in the protocol's `ARRAY_*` registers): calls
/// `code` with arguments read from `values` ([`protocol::VALUE_SLOT`] bytes each) and
/// writes the results back to `values`. Several results come back through a results
/// area on the trampoline's stack.
pub fn array_to_wasm(ty: &FuncType) -> Vec<u8> {
    let mut a = Asm::new();
    a.push(RBP);
    a.mov_rr(Size::S64, RBP, RSP);
    a.push(KEPT_VALUES);
    a.push(KEPT_CODE);
    a.mov_rr(Size::S64, KEPT_VALUES, Gpr(protocol::ARRAY_VALUES));
    a.mov_rr(Size::S64, KEPT_CODE, Gpr(protocol::ARRAY_CODE));
    let (locs, nstack) = abi::param_locs(&ty.params);
    let many = ty.results.len() > 1;
    let (res_offs, res_bytes) = abi::area_offsets(if many { &ty.results } else { &[] });
    let area = (nstack * 8) as i32;
    let stack_bytes = (nstack * 8 + res_bytes + 15) & !15;
    if stack_bytes > 0 {
        a.alu_ri(AluOp::Sub, Size::S64, RSP, stack_bytes as i32);
    }
    let slot = |i: usize| m(KEPT_VALUES, SLOT * i as i32);
    for (i, (loc, t)) in locs.iter().zip(&ty.params).enumerate() {
        if let ArgLoc::Stack(k) = loc {
            copy(&mut a, *t, m(RSP, 8 * *k as i32), slot(i));
        }
    }
    for (i, (loc, t)) in locs.iter().zip(&ty.params).enumerate() {
        if let ArgLoc::Reg(p) = loc {
            load_reg(&mut a, *t, p.hw_enc() as u8, slot(i));
        }
    }
    if many {
        a.lea(Gpr(protocol::RESULTS_AREA), m(RSP, area));
    }
    a.call_r(KEPT_CODE);
    if let [t] = ty.results[..] {
        let r = abi::result_reg(t).hw_enc() as u8;
        store_reg(&mut a, t, slot(0), r);
    }
    for (i, (t, off)) in ty.results.iter().zip(&res_offs).enumerate() {
        copy(&mut a, *t, slot(i), m(RSP, area + *off as i32));
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
    let bytes = (n * SLOT + 15) & !15;
    a.alu_ri(AluOp::Sub, Size::S64, RSP, bytes);
    let (locs, _) = abi::param_locs(&ty.params);
    for (i, (loc, t)) in locs.iter().zip(&ty.params).enumerate() {
        let dst = m(RSP, SLOT * i as i32);
        match loc {
            ArgLoc::Reg(p) => store_reg(&mut a, *t, dst, p.hw_enc() as u8),
            ArgLoc::Stack(k) => copy(&mut a, *t, dst, m(RBP, 16 + 8 * *k as i32)),
        }
    }
    a.mov_rr(Size::S64, Gpr(protocol::HOST_CALLBACK_VALUES), RSP);
    a.call_m(m(Gpr(protocol::HOST_CALLBACK_CTX), HOSTCTX_CALLBACK as i32));
    let status = Gpr(protocol::HOST_CALLBACK_STATUS);
    a.test_rr(Size::S32, status, status);
    let trap = a.new_label();
    a.jcc(Cond::NE, trap);
    if let [t] = ty.results[..] {
        let r = abi::result_reg(t).hw_enc() as u8;
        load_reg(&mut a, t, r, m(RSP, 0));
    } else if ty.results.len() > 1 {
        let (offs, _) = abi::area_offsets(&ty.results);
        a.load(LoadKind::I64, Size::S64, RCX, m(RBP, -16));
        for (i, (t, off)) in ty.results.iter().zip(&offs).enumerate() {
            copy(&mut a, *t, m(RCX, *off as i32), m(RSP, SLOT * i as i32));
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

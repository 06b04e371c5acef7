//! Per-signature trampolines between the host's value-array convention and compiled code.
//!
//! Their boundary registers are the artifact's register protocol
//! ([`wasmprecomp_artifact::abi::aarch64`]); the registers they use inside are their own.

use super::abi::{self, ArgLoc};
use super::asm::{regs::*, *};
use super::lower::area_op as reg_op;
use wasmprecomp_artifact::abi::{aarch64 as protocol, contains};
use wasmprecomp_artifact::{FuncType, ValType, HOSTCTX_CALLBACK, VMCTX_RAISE};

/// Where the array-to-wasm trampoline keeps the value array and the code address across
/// the call: registers the callee preserves.
const KEPT_VALUES: Gpr = Gpr(19);
const KEPT_CODE: Gpr = Gpr(20);

// What the code below assumes of the protocol.
const _: () = {
    assert!(contains(&protocol::CALLEE_SAVED, KEPT_VALUES.0));
    assert!(contains(&protocol::CALLEE_SAVED, KEPT_CODE.0));
    // The VM context is passed on untouched, and the wasm-to-host trampoline hands its own
    // context to the callback untouched.
    assert!(protocol::ARRAY_VMCTX == protocol::VMCTX);
    assert!(protocol::HOST_CALLBACK_CTX == protocol::VMCTX);
    // Scratch registers carry nothing across any boundary.
    assert!(!contains(&protocol::INT_PARAMS, protocol::IP0));
    assert!(!contains(&protocol::INT_PARAMS, protocol::IP1));
};

/// Bytes of one value-array slot.
const SLOT: i64 = protocol::VALUE_SLOT as i64;

/// `op rt, [base, #off]` for any offset (through `ip1` when no immediate form holds it).
fn mem(a: &mut Asm, op: MemOp, rt: u8, base: Gpr, off: i64) {
    if Asm::uoff_fits(op, off) || Asm::soff_fits(off) {
        a.mem(op, rt, base, off);
    } else {
        a.mov_imm(Size::S64, IP1, off as u64);
        a.mem_reg(op, rt, base, IP1, Extend::Lsl, false);
    }
}

/// `sp -= bytes` (or `+=` with `add`).
fn adjust_sp(a: &mut Asm, op: AluOp, bytes: u64) {
    if add_imm_fits(bytes) {
        a.alu_ri(op, Size::S64, SP, SP, bytes);
    } else {
        a.mov_imm(Size::S64, IP1, bytes);
        a.alu_ext(op, SP, SP, IP1, Extend::Lsl);
    }
}

/// Copies a value of type `t` between memory locations through `ip0`.
fn copy(a: &mut Asm, t: ValType, dst: Gpr, doff: i64, src: Gpr, soff: i64) {
    for half in 0..(t.area_bytes() / 8) as i64 {
        mem(a, MemOp::Ldr64, IP0.0, src, soff + 8 * half);
        mem(a, MemOp::Str64, IP0.0, dst, doff + 8 * half);
    }
}

/// `fn(vmctx, code, values)` (AAPCS64, in the protocol's `ARRAY_*` registers): calls
/// `code` with arguments read from `values` ([`protocol::VALUE_SLOT`] bytes each) and
/// writes the results back to `values`. Several results come back through a results
/// area on the trampoline's stack.
pub fn array_to_wasm(ty: &FuncType) -> Vec<u8> {
    let mut a = Asm::new();
    a.stp_pre(FP, LR, SP, -32);
    a.mov_sp(FP, SP);
    a.stp(KEPT_VALUES, KEPT_CODE, SP, 16);
    a.mov(Size::S64, KEPT_VALUES, Gpr(protocol::ARRAY_VALUES));
    a.mov(Size::S64, KEPT_CODE, Gpr(protocol::ARRAY_CODE));
    let (locs, nstack) = abi::param_locs(&ty.params);
    let many = ty.results.len() > 1;
    let (res_offs, res_bytes) = abi::area_offsets(if many { &ty.results } else { &[] });
    let area = (nstack * 8) as i64;
    let stack_bytes = (nstack * 8 + res_bytes + 15) & !15;
    if stack_bytes > 0 {
        adjust_sp(&mut a, AluOp::Sub, stack_bytes as u64);
    }
    let slot = |i: usize| SLOT * i as i64;
    for (i, (loc, t)) in locs.iter().zip(&ty.params).enumerate() {
        match loc {
            ArgLoc::Stack(k) => copy(&mut a, *t, SP, 8 * *k as i64, KEPT_VALUES, slot(i)),
            ArgLoc::Reg(p) => {
                let rt = p.hw_enc() as u8;
                mem(&mut a, reg_op(*t, false), rt, KEPT_VALUES, slot(i));
            }
        }
    }
    if many {
        let ra = Gpr(protocol::RESULTS_AREA);
        if add_imm_fits(area as u64) {
            a.alu_ri(AluOp::Add, Size::S64, ra, SP, area as u64);
        } else {
            a.mov_imm(Size::S64, IP1, area as u64);
            a.alu_ext(AluOp::Add, ra, SP, IP1, Extend::Lsl);
        }
    }
    a.blr(KEPT_CODE);
    if let [t] = ty.results[..] {
        let rt = abi::result_reg(t).hw_enc() as u8;
        mem(&mut a, reg_op(t, true), rt, KEPT_VALUES, 0);
    }
    for (i, (t, off)) in ty.results.iter().zip(&res_offs).enumerate() {
        copy(&mut a, *t, KEPT_VALUES, slot(i), SP, area + *off as i64);
    }
    a.mov_sp(SP, FP);
    a.ldp(KEPT_VALUES, KEPT_CODE, SP, 16);
    a.ldp_post(FP, LR, SP, 32);
    a.ret();
    a.finish().expect("a trampoline has no branches")
}

/// A function with signature `ty` in the compiled-code convention whose VM context is a
/// host-function context: it stores the arguments to a value array, calls the context's
/// callback, and returns the results from the array. Returns the code and the offset of
/// the trap site (return address of the raise call) used when the callback fails.
///
/// Its frame has the shape the runtime reads to find the calling instance: the frame
/// record, then the host context at `[fp - 8]` and the results-area register at
/// `[fp - 16]`, then the value array.
pub fn wasm_to_host(ty: &FuncType) -> (Vec<u8>, u32) {
    let mut a = Asm::new();
    a.stp_pre(FP, LR, SP, -16);
    a.mov_sp(FP, SP);
    a.stp_pre(Gpr(protocol::RESULTS_AREA), Gpr(protocol::VMCTX), SP, -16);
    let n = ty.params.len().max(ty.results.len()).max(1) as i64;
    let bytes = (n * SLOT + 15) & !15;
    adjust_sp(&mut a, AluOp::Sub, bytes as u64);
    let (locs, _) = abi::param_locs(&ty.params);
    for (i, (loc, t)) in locs.iter().zip(&ty.params).enumerate() {
        let dst = SLOT * i as i64;
        match loc {
            ArgLoc::Reg(p) => mem(&mut a, reg_op(*t, true), p.hw_enc() as u8, SP, dst),
            ArgLoc::Stack(k) => copy(&mut a, *t, SP, dst, FP, 16 + 8 * *k as i64),
        }
    }
    a.mov_sp(Gpr(protocol::HOST_CALLBACK_VALUES), SP);
    a.mem(
        MemOp::Ldr64,
        IP0.0,
        Gpr(protocol::HOST_CALLBACK_CTX),
        HOSTCTX_CALLBACK as i64,
    );
    a.blr(IP0);
    let trap = a.new_label();
    a.cbz(Size::S32, true, Gpr(protocol::HOST_CALLBACK_STATUS), trap);
    if let [t] = ty.results[..] {
        let rt = abi::result_reg(t).hw_enc() as u8;
        mem(&mut a, reg_op(t, false), rt, SP, 0);
    } else if ty.results.len() > 1 {
        let (offs, _) = abi::area_offsets(&ty.results);
        let area = Gpr(protocol::RESULTS_AREA);
        a.mem(MemOp::Ldr64, area.0, FP, -16);
        for (i, (t, off)) in ty.results.iter().zip(&offs).enumerate() {
            copy(&mut a, *t, area, *off as i64, SP, SLOT * i as i64);
        }
    }
    a.mov_sp(SP, FP);
    a.ldp_post(FP, LR, SP, 16);
    a.ret();
    a.bind(trap);
    let vm = Gpr(protocol::RAISE_VMCTX);
    a.mem(MemOp::Ldr64, vm.0, FP, -8);
    a.mem(MemOp::Ldr64, IP0.0, vm, VMCTX_RAISE as i64);
    a.blr(IP0);
    let site = a.offset();
    a.udf();
    (a.finish().expect("the trampoline's branch is short"), site)
}

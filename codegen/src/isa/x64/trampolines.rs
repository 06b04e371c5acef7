//! Per-signature trampolines between the host's value-array convention and compiled code.

use super::abi::{self, ArgLoc};
use super::asm::{regs::*, *};
use wasmprecomp_artifact::{FuncType, HOSTCTX_CALLBACK, VMCTX_RAISE};

fn m(base: Gpr, disp: i32) -> Amode {
    Amode::base_disp(base, disp)
}

fn reg_of(loc: &ArgLoc) -> Option<(bool, u8)> {
    match loc {
        ArgLoc::Reg(p) => Some((p.class() == regalloc2::RegClass::Float, p.hw_enc() as u8)),
        ArgLoc::Stack(_) => None,
    }
}

/// `fn(vmctx: rdi, code: rsi, values: rdx)` (System V): calls `code` with arguments read
/// from `values` (8 bytes each) and writes the results back to `values`.
pub fn array_to_wasm(ty: &FuncType) -> Vec<u8> {
    let mut a = Asm::new();
    a.push(RBP);
    a.mov_rr(Size::S64, RBP, RSP);
    a.push(RBX);
    a.push(R12);
    a.mov_rr(Size::S64, RBX, RDX);
    a.mov_rr(Size::S64, R12, RSI);
    let (locs, nstack) = abi::param_locs(&ty.params);
    let stack_bytes = (nstack * 8 + 15) & !15;
    if stack_bytes > 0 {
        a.alu_ri(AluOp::Sub, Size::S64, RSP, stack_bytes as i32);
    }
    for (i, loc) in locs.iter().enumerate() {
        if let ArgLoc::Stack(k) = loc {
            a.load(LoadKind::I64, Size::S64, RAX, m(RBX, 8 * i as i32));
            a.store(Size::S64, m(RSP, 8 * *k as i32), RAX);
        }
    }
    for (i, loc) in locs.iter().enumerate() {
        if let Some((float, r)) = reg_of(loc) {
            if float {
                a.movsd_load(Xmm(r), m(RBX, 8 * i as i32));
            } else {
                a.load(LoadKind::I64, Size::S64, Gpr(r), m(RBX, 8 * i as i32));
            }
        }
    }
    if ty.results.len() > 1 {
        a.mov_rr(Size::S64, RAX, RBX);
    }
    a.call_r(R12);
    if ty.results.len() == 1 {
        if ty.results[0].is_float() {
            a.movsd_store(m(RBX, 0), Xmm(0));
        } else {
            a.store(Size::S64, m(RBX, 0), RAX);
        }
    }
    a.lea(RSP, m(RBP, -16));
    a.pop(R12);
    a.pop(RBX);
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
    a.push(RDI);
    a.push(RAX);
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
                a.load(LoadKind::I64, Size::S64, RAX, m(RBP, 16 + 8 * *k as i32));
                a.store(Size::S64, dst, RAX);
            }
        }
    }
    a.mov_rr(Size::S64, RSI, RSP);
    a.call_m(m(RDI, HOSTCTX_CALLBACK as i32));
    a.test_rr(Size::S32, RAX, RAX);
    let trap = a.new_label();
    a.jcc(Cond::NE, trap);
    if ty.results.len() == 1 {
        if ty.results[0].is_float() {
            a.movsd_load(Xmm(0), m(RSP, 0));
        } else {
            a.load(LoadKind::I64, Size::S64, RAX, m(RSP, 0));
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
    a.load(LoadKind::I64, Size::S64, RDI, m(RBP, -8));
    a.call_m(m(RDI, VMCTX_RAISE as i32));
    let site = a.offset();
    a.int3();
    (a.finish(), site)
}

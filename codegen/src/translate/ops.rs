//! The semantics of every non-control operator, ISA-neutral: what is popped and pushed,
//! what folds, which [`Lower`] hook runs with which operands, which operators become
//! libcalls and with their arguments in which order.
//!
//! Operators are visited through wasmparser's `VisitOperator`: every operator of a
//! proposal this compiler compiles has its method written out below, so a new one is a
//! compile error until it is handled; operators of other proposals are refused (module
//! validation rejects them first, naming the proposal).

use super::bytes::ByteMap;
use super::{internal, Translator};
use crate::compiled::RelocKind;
use crate::error::CompileError;
use crate::lower::{
    CmpRhs, Compare, ConvertOp, DivOp, FloatBinOp, FloatCC, FloatUnaryOp, IntBinOp, IntCC,
    IntUnaryOp, Lower, MemKind, MemOffset, ShiftOp, TrapInfo, Val,
};
use crate::stencil::ConstClass;
use crate::vcode::BlockId;
use wasmparser::{VisitOperator, VisitSimdOperator};
use wasmprecomp_artifact::{Libcall, TrapKind, ValType};

type R = Result<(), CompileError>;

use ValType::{ExternRef, FuncRef, F32, F64, I32, I64};

impl<B: Lower> Translator<'_, '_, B> {
    pub(super) fn trap_here(&self, kind: TrapKind) -> TrapInfo {
        TrapInfo {
            kind,
            offset: self.offset,
        }
    }

    /// The class of constant slot `slot`, used by the operator being translated, which
    /// must be one of `expected`.
    fn slot_class(&self, slot: u64, expected: &[ConstClass]) -> Result<ConstClass, CompileError> {
        usize::try_from(slot)
            .ok()
            .and_then(|s| self.stencil.refs.consts.get(s))
            .copied()
            .filter(|c| expected.contains(c))
            .ok_or_else(|| internal("constant slot of the wrong class or out of range"))
    }

    /// An `i32.const`/`i64.const`: a constant, or a constant slot whose value is written
    /// at link time.
    fn int_const(&mut self, ty: ValType, bits: u64) -> R {
        if !self.stencil.refs.is_const_site(self.offset) {
            self.push(Val::Const(ty, bits));
            return Ok(());
        }
        let expected: &[ConstClass] = if ty == I32 {
            &[ConstClass::I32]
        } else {
            &[ConstClass::I64Unsigned32, ConstClass::I64Signed32]
        };
        let class = self.slot_class(bits, expected)?;
        self.push(Val::Slot(ty, bits as u32, class));
        Ok(())
    }

    /// The offset of the load or store being translated.
    pub(super) fn mem_offset(
        &self,
        memarg: &wasmparser::MemArg,
    ) -> Result<MemOffset, CompileError> {
        if !self.stencil.refs.is_const_site(self.offset) {
            return Ok(MemOffset::Imm(memarg.offset));
        }
        self.slot_class(memarg.offset, &[ConstClass::Offset])?;
        Ok(MemOffset::Slot(memarg.offset as u32))
    }

    fn int_bin(&mut self, op: IntBinOp, ty: ValType) -> R {
        let b = self.pop()?;
        let a = self.pop()?;
        let map = match (a, b) {
            (Val::Reg(..), Val::Reg(..)) => self
                .byte_map(a)
                .zip(self.byte_map(b))
                .and_then(|(a, b)| a.with(op, b)),
            (Val::Reg(..), Val::Const(_, c)) => self.byte_map(a).and_then(|a| a.with_const(op, c)),
            (Val::Const(_, c), Val::Reg(..)) => self.byte_map(b).and_then(|b| b.with_const(op, c)),
            _ => None,
        };
        if let Some(swap) = map.filter(|m| m.is_byte_swap()) {
            let src = Val::Reg(swap.src, ty);
            let r = self
                .isa
                .int_unary(&mut self.ctx, IntUnaryOp::ByteSwap, ty, src);
            self.push_reg(r, ty);
            return Ok(());
        }
        let r = self.isa.int_bin(&mut self.ctx, op, ty, a, b);
        if let Some(map) = map {
            self.byte_maps.insert(r, map);
        }
        self.push_reg(r, ty);
        Ok(())
    }

    /// Where the bytes of integer value `v` come from: itself, unless shifts, masks and
    /// `or`s of whole bytes made it (see `bytes.rs`).
    fn byte_map(&self, v: Val) -> Option<ByteMap> {
        match v {
            Val::Reg(r, ty @ (I32 | I64)) => Some(
                self.byte_maps
                    .get(&r)
                    .copied()
                    .unwrap_or_else(|| ByteMap::identity(r, if ty == I64 { 8 } else { 4 })),
            ),
            _ => None,
        }
    }

    fn shift(&mut self, op: ShiftOp, ty: ValType) -> R {
        let b = self.pop()?;
        let a = self.pop()?;
        let mask = if ty == I64 { 63 } else { 31 };
        let b = match b {
            Val::Const(t, bits) => Val::Const(t, bits & mask),
            other => other,
        };
        let map = match b {
            Val::Const(_, count) => self.byte_map(a).and_then(|a| a.shift(op, count)),
            _ => None,
        };
        let r = self.isa.shift(&mut self.ctx, op, ty, a, b);
        if let Some(map) = map {
            self.byte_maps.insert(r, map);
        }
        self.push_reg(r, ty);
        Ok(())
    }

    fn div_rem(&mut self, op: DivOp, ty: ValType) -> R {
        let b = self.pop()?;
        let a = self.pop()?;
        let trap = self.trap_here(TrapKind::IntegerDivideByZero);
        let r = self.isa.div_rem(&mut self.ctx, op, ty, a, b, trap);
        self.push_reg(r, ty);
        Ok(())
    }

    fn int_unary(&mut self, op: IntUnaryOp, ty: ValType) -> R {
        let a = self.pop()?;
        let r = self.isa.int_unary(&mut self.ctx, op, ty, a);
        self.push_reg(r, ty);
        Ok(())
    }

    fn float_unary(&mut self, op: FloatUnaryOp, ty: ValType) -> R {
        let a = self.pop()?;
        let r = self.isa.float_unary(&mut self.ctx, op, ty, a);
        self.push_reg(r, ty);
        Ok(())
    }

    fn convert_op(&mut self, op: ConvertOp) -> R {
        let a = self.pop()?;
        let r = self.isa.convert(&mut self.ctx, op, a);
        self.push_reg(r, op.result());
        Ok(())
    }

    /// Pushes a lazy comparison: a branch on it compares and jumps directly; any other
    /// use materializes it as 0/1. Constant operands fold.
    fn compare(&mut self, ty: ValType, cc: IntCC) -> R {
        let b = self.pop()?;
        let a = self.pop()?;
        if let (Val::Const(_, x), Val::Const(_, y)) = (a, b) {
            self.push(Val::Const(I32, cc.eval(x, y, ty == I64) as u64));
            return Ok(());
        }
        let c = self.isa.compare(&mut self.ctx, ty, cc, a, b);
        self.push(Val::Cmp(c));
        Ok(())
    }

    /// `eqz` (and `ref.is_null`, on the 64-bit reference): inverts a pending comparison,
    /// folds a constant, otherwise compares with zero.
    fn eqz(&mut self, ty: ValType) -> R {
        let a = self.pop()?;
        let is64 = ty != I32;
        let v = match a {
            Val::Cmp(c) => Val::Cmp(Compare {
                cc: c.cc.invert(),
                ..c
            }),
            Val::Const(_, x) => {
                let zero = if is64 { x == 0 } else { x as u32 == 0 };
                Val::Const(I32, zero as u64)
            }
            Val::Reg(..) | Val::Slot(..) => Val::Cmp(Compare {
                is64,
                cc: IntCC::Eq,
                lhs: self.isa.materialize(&mut self.ctx, a),
                rhs: CmpRhs::Imm(0),
            }),
        };
        self.push(v);
        Ok(())
    }

    /// `i32.wrap_i64`: an i32 in a register has undefined upper bits (see
    /// [`LowerBase::materialize`]), so wrapping moves nothing.
    fn wrap(&mut self) -> R {
        let v = self.pop()?;
        match v {
            Val::Reg(r, _) => self.push_reg(r, I32),
            Val::Const(_, bits) => self.push(Val::Const(I32, bits as u32 as u64)),
            Val::Slot(..) => {
                let r = self.isa.materialize(&mut self.ctx, v);
                self.push_reg(r, I32)
            }
            // An i32 already (i64 operands never produce one).
            Val::Cmp(_) => self.push(v),
        }
        Ok(())
    }

    fn float_compare(&mut self, ty: ValType, cc: FloatCC) -> R {
        let b = self.pop()?;
        let a = self.pop()?;
        let r = self.isa.float_compare(&mut self.ctx, ty, cc, a, b);
        self.push_reg(r, I32);
        Ok(())
    }

    fn float_bin(&mut self, op: FloatBinOp, ty: ValType) -> R {
        let b = self.pop()?;
        let a = self.pop()?;
        let r = self.isa.float_bin(&mut self.ctx, op, ty, a, b);
        self.push_reg(r, ty);
        Ok(())
    }

    fn trunc(&mut self, src: ValType, dst: ValType, signed: bool, sat: bool) -> R {
        let trap = self.trap_here(TrapKind::IntegerOverflow);
        self.convert_op(ConvertOp::FloatToInt {
            src,
            dst,
            signed,
            sat,
            trap,
        })
    }

    fn convert(&mut self, src: ValType, dst: ValType, signed: bool) -> R {
        self.convert_op(ConvertOp::IntToFloat { src, dst, signed })
    }

    fn select(&mut self) -> R {
        let c = self.pop()?;
        let b = self.pop()?;
        let a = self.pop()?;
        let ty = a.ty();
        let r = self.isa.select(&mut self.ctx, ty, c, a, b);
        self.push_reg(r, ty);
        Ok(())
    }

    /// The memory a load or store names, and the register holding its base.
    pub(super) fn heap(&self) -> Result<(crate::lower::VmRef, regalloc2::VReg), CompileError> {
        // Memory reference 0: multiple memories are not compiled.
        let mem = self.memory(0)?;
        let base = *self
            .heap_bases
            .first()
            .ok_or_else(|| internal("memory access without a memory reference"))?;
        Ok((mem, base))
    }

    fn load(&mut self, kind: MemKind, memarg: wasmparser::MemArg) -> R {
        let (mem, base) = self.heap()?;
        let offset = self.mem_offset(&memarg)?;
        let addr = self.pop()?;
        let trap = self.trap_here(TrapKind::MemoryOutOfBounds);
        let r = self
            .isa
            .load(&mut self.ctx, kind, mem, base, addr, offset, trap);
        self.push_reg(r, kind.ty());
        Ok(())
    }

    pub(super) fn store(&mut self, kind: MemKind, memarg: wasmparser::MemArg) -> R {
        let (mem, base) = self.heap()?;
        let offset = self.mem_offset(&memarg)?;
        let value = self.pop()?;
        let addr = self.pop()?;
        let trap = self.trap_here(TrapKind::MemoryOutOfBounds);
        self.isa
            .store(&mut self.ctx, kind, mem, base, addr, value, offset, trap);
        Ok(())
    }

    fn call(&mut self, function_index: u32) -> R {
        let (sig, callee) = self.callee(function_index)?;
        let args = self.pop_n(sig.params.len())?;
        let results = self.isa.call(&mut self.ctx, &sig, callee, &args);
        for (r, t) in results.into_iter().zip(&sig.results) {
            self.push_reg(r, *t);
        }
        Ok(())
    }

    fn call_indirect(&mut self, type_index: u32, table_index: u32) -> R {
        let sig = self.func_type(type_index)?;
        let (table, _) = self.table(table_index)?;
        let index = self.pop()?;
        let trap = self.trap_here(TrapKind::UndefinedElement);
        let funcref = self
            .isa
            .call_indirect_check(&mut self.ctx, table, type_index, index, trap);
        let callee = self.funcref_callee(funcref);
        let args = self.pop_n(sig.params.len())?;
        let results = self.isa.call(&mut self.ctx, &sig, callee, &args);
        for (r, t) in results.into_iter().zip(&sig.results) {
            self.push_reg(r, *t);
        }
        Ok(())
    }

    /// Calls runtime function `lc` with `args` as the one list of libcalls
    /// (`wasmprecomp_artifact::foreach_libcall!`) declares it: the argument count is
    /// checked, a status result is raised as a host error at this operator, and a value
    /// result is returned.
    fn runtime_call(
        &mut self,
        lc: Libcall,
        args: &[regalloc2::VReg],
    ) -> Result<Option<regalloc2::VReg>, CompileError> {
        if args.len() != lc.params().len() {
            return Err(internal("libcall arguments differ from its signature"));
        }
        let result = !lc.results().is_empty();
        let r = self.isa.libcall(&mut self.ctx, lc, args, result);
        if !lc.traps() {
            return Ok(r);
        }
        let status = r.ok_or_else(|| internal("trapping libcall without its status"))?;
        let trap = self.trap_here(TrapKind::HostError);
        self.isa.trap_if_nonzero(&mut self.ctx, status, trap);
        Ok(None)
    }

    /// A bulk memory or table operation: the relocated entity indices, then the three
    /// operands popped from the stack (in stack order), to a trapping libcall.
    fn bulk(&mut self, lc: Libcall, indices: &[(RelocKind, u32)]) -> R {
        let ops = self.pop_n(3)?;
        self.bulk_with(lc, indices, &ops)
    }

    /// [`Self::bulk`] with its three operands given.
    fn bulk_with(&mut self, lc: Libcall, indices: &[(RelocKind, u32)], ops: &[Val]) -> R {
        let mut args: Vec<regalloc2::VReg> = indices
            .iter()
            .map(|(k, i)| self.isa.reloc_imm(&mut self.ctx, *k, *i))
            .collect();
        for v in ops {
            args.push(self.reg(*v));
        }
        self.runtime_call(lc, &args).map(|_| ())
    }

    /// `memory.copy`. Lengths of 1 to [`INLINE_COPY_MAX`] bytes within memory 0 are copied
    /// in line (most copies a compiler emits are a few bytes: the libcall's entry cost
    /// more than the copy); others, and a length of 0 (whose addresses are still checked),
    /// go to the libcall.
    ///
    /// The inline copy loads every chunk before it stores any (the ranges may overlap),
    /// and reads the destination's last byte before the first store: an out-of-bounds
    /// source or destination traps at a load, before any byte is written, as the libcall
    /// does. Chunks overlap instead of being cut to the exact length, so a length in a
    /// range takes one straight sequence.
    fn memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> R {
        let indices = [
            (RelocKind::MemoryIndex, dst_mem),
            (RelocKind::MemoryIndex, src_mem),
        ];
        let ops = self.pop_n(3)?;
        if dst_mem != 0 || src_mem != 0 {
            return self.bulk_with(Libcall::MemoryCopy, &indices, &ops);
        }
        let (dst, src, len) = (ops[0], ops[1], ops[2]);
        if let Val::Const(_, n) = len {
            let n = n as u32 as u64;
            if !(1..=INLINE_COPY_MAX).contains(&n) {
                return self.bulk_with(Libcall::MemoryCopy, &indices, &ops);
            }
            return self.copy_chunks(dst, src, &const_copy_chunks(n));
        }
        let (d, s, n) = (self.reg(dst), self.reg(src), self.reg(len));
        let b = |t: &mut Self| t.ctx.builder.new_block(&[]);
        let (d1, b1, d2, b4, d3, b9, b17, slow, join) = (
            b(self),
            b(self),
            b(self),
            b(self),
            b(self),
            b(self),
            b(self),
            b(self),
            b(self),
        );
        let reg = |v| Val::Reg(v, I32);
        let imm = |x: u64| Val::Const(I32, x);
        // One branch to the libcall, when the length is not 1 to INLINE_COPY_MAX (one
        // unsigned comparison of len - 1) or an address plus the length could wrap around
        // 2^32 (the tail chunks' addresses are 32-bit sums; so close to the top, the
        // libcall traps unless the memory is the full 4 GiB).
        let last = self
            .isa
            .int_bin(&mut self.ctx, IntBinOp::Sub, I32, reg(n), imm(1));
        let both = self
            .isa
            .int_bin(&mut self.ctx, IntBinOp::Or, I32, reg(s), reg(d));
        let c = self.isa.compare(
            &mut self.ctx,
            I32,
            IntCC::GtU,
            reg(last),
            imm(INLINE_COPY_MAX - 1),
        );
        let high = self.isa.select(
            &mut self.ctx,
            I32,
            Val::Cmp(c),
            imm(u32::MAX as u64),
            reg(both),
        );
        let top = u32::MAX as u64 - INLINE_COPY_MAX;
        let c = self
            .isa
            .compare(&mut self.ctx, I32, IntCC::GtU, reg(high), imm(top));
        self.isa.brif(&mut self.ctx, Val::Cmp(c), slow, d1);
        let (src, dst) = (reg(s), reg(d));
        // The ranges of lengths, each tested (but the last) and copied by the chunks of
        // one width that cover every length in it: (test, body, lengths below, width).
        let ranges: [(Option<BlockId>, BlockId, u64, u8); 4] = [
            (Some(d1), b1, 4, 1),
            (Some(d2), b4, 9, 4),
            (Some(d3), b9, 17, 8),
            (None, b17, INLINE_COPY_MAX + 1, 16),
        ];
        for (i, &(test, body, below, width)) in ranges.iter().enumerate() {
            if let Some(test) = test {
                self.ctx.builder.switch_to(test);
                let c = self
                    .isa
                    .compare(&mut self.ctx, I32, IntCC::LtU, reg(n), imm(below));
                let next = ranges[i + 1].0.unwrap_or(ranges[i + 1].1);
                self.isa.brif(&mut self.ctx, Val::Cmp(c), body, next);
            }
            self.ctx.builder.switch_to(body);
            let chunks = if width == 1 {
                // 1 to 3 bytes: the first, the middle and the last byte.
                let half = self
                    .isa
                    .shift(&mut self.ctx, ShiftOp::ShrU, I32, reg(n), imm(1));
                vec![
                    (1, ChunkAt::Imm(0)),
                    (1, ChunkAt::Reg(half)),
                    (1, ChunkAt::Reg(last)),
                ]
            } else {
                // A chunk at the start and one ending at the end (16 bytes: vectors).
                let k =
                    self.isa
                        .int_bin(&mut self.ctx, IntBinOp::Sub, I32, reg(n), imm(width as u64));
                vec![(width, ChunkAt::Imm(0)), (width, ChunkAt::Reg(k))]
            };
            self.copy_chunks(dst, src, &chunks)?;
            self.isa.jump(&mut self.ctx, join, vec![]);
        }
        self.ctx.builder.switch_to(slow);
        self.bulk_with(Libcall::MemoryCopy, &indices, &[dst, src, reg(n)])?;
        self.isa.jump(&mut self.ctx, join, vec![]);
        self.ctx.builder.switch_to(join);
        Ok(())
    }

    /// Copies `chunks` (bytes, where) from `src` to `dst` in memory 0: every load, a read
    /// of the destination's last byte, then the stores from the last chunk back to the
    /// first (`chunks` must be in order of their end: the last reaches the highest
    /// address).
    fn copy_chunks(&mut self, dst: Val, src: Val, chunks: &[(u8, ChunkAt)]) -> R {
        let (mem, base) = self.heap()?;
        let trap = self.trap_here(TrapKind::MemoryOutOfBounds);
        // A chunk's address and static offset.
        let at = |t: &mut Self, addr: Val, where_: ChunkAt| match where_ {
            ChunkAt::Imm(k) => (addr, k),
            ChunkAt::Reg(k) => {
                let a = t
                    .isa
                    .int_bin(&mut t.ctx, IntBinOp::Add, I32, addr, Val::Reg(k, I32));
                (Val::Reg(a, I32), 0)
            }
        };
        let kind = |bytes: u8| match bytes {
            16 => MemKind::V128,
            8 => int(8, false, I64),
            _ => int(bytes, false, I32),
        };
        if chunks.iter().any(|&(bytes, _)| bytes == 16) {
            self.ctx.builder.use_vectors();
        }
        let mut loaded = Vec::with_capacity(chunks.len());
        for &(bytes, where_) in chunks {
            let (addr, k) = at(self, src, where_);
            let offset = MemOffset::Imm(k);
            let v = self
                .isa
                .load(&mut self.ctx, kind(bytes), mem, base, addr, offset, trap);
            loaded.push(v);
        }
        let targets: Vec<(Val, u64)> = chunks.iter().map(|&(_, w)| at(self, dst, w)).collect();
        // A store wider than a byte that crosses the end of the memory may write its
        // bytes below the end before it faults on some ISAs (aarch64 permits it): the
        // destination's last byte is read first, which traps if it is out of bounds.
        if let (Some(&(bytes, _)), Some(&(addr, k))) = (chunks.last(), targets.last()) {
            if bytes > 1 {
                let last = MemOffset::Imm(k + bytes as u64 - 1);
                self.isa
                    .load(&mut self.ctx, kind(1), mem, base, addr, last, trap);
            }
        }
        for ((&(bytes, _), v), (addr, k)) in chunks.iter().zip(loaded).zip(targets).rev() {
            let ty = kind(bytes).ty();
            self.isa.store(
                &mut self.ctx,
                kind(bytes),
                mem,
                base,
                addr,
                Val::Reg(v, ty),
                MemOffset::Imm(k),
                trap,
            );
        }
        Ok(())
    }

    /// A libcall returning an i32 that is pushed (`memory.grow`, `table.grow`).
    fn value_libcall(&mut self, lc: Libcall, args: &[regalloc2::VReg]) -> R {
        let r = self
            .runtime_call(lc, args)?
            .ok_or_else(|| internal("libcall without its result"))?;
        self.push_reg(r, I32);
        Ok(())
    }

    fn global_get(&mut self, global_index: u32) -> R {
        let (g, ty) = self.global(global_index)?;
        let r = self.isa.global_get(&mut self.ctx, g, ty);
        self.push_reg(r, ty);
        Ok(())
    }

    fn global_set(&mut self, global_index: u32) -> R {
        let (g, ty) = self.global(global_index)?;
        let v = self.pop()?;
        self.isa.global_set(&mut self.ctx, g, ty, v);
        Ok(())
    }

    fn memory_size(&mut self, mem: u32) -> R {
        let m = self.memory(mem)?;
        let r = self.isa.memory_size(&mut self.ctx, m);
        self.push_reg(r, I32);
        Ok(())
    }

    fn memory_grow(&mut self, mem: u32) -> R {
        let delta = self.pop()?;
        let rd = self.reg(delta);
        let mi = self
            .isa
            .reloc_imm(&mut self.ctx, RelocKind::MemoryIndex, mem);
        self.value_libcall(Libcall::MemoryGrow, &[mi, rd])
    }

    fn table_get(&mut self, table: u32) -> R {
        let (t, elem) = self.table(table)?;
        let i = self.pop()?;
        let trap = self.trap_here(TrapKind::TableOutOfBounds);
        let r = self.isa.table_get(&mut self.ctx, t, i, trap);
        self.push_reg(r, elem);
        Ok(())
    }

    fn table_set(&mut self, table: u32) -> R {
        let (t, _) = self.table(table)?;
        let v = self.pop()?;
        let i = self.pop()?;
        let trap = self.trap_here(TrapKind::TableOutOfBounds);
        self.isa.table_set(&mut self.ctx, t, i, v, trap);
        Ok(())
    }

    fn table_size(&mut self, table: u32) -> R {
        let (t, _) = self.table(table)?;
        let r = self.isa.table_size(&mut self.ctx, t);
        self.push_reg(r, I32);
        Ok(())
    }

    fn table_grow(&mut self, table: u32) -> R {
        let n = self.pop()?;
        let init = self.pop()?;
        let ti = self
            .isa
            .reloc_imm(&mut self.ctx, RelocKind::TableIndex, table);
        let ri = self.reg(init);
        let rn = self.reg(n);
        self.value_libcall(Libcall::TableGrow, &[ti, ri, rn])
    }

    fn drop_segment(&mut self, lc: Libcall, kind: RelocKind, index: u32) -> R {
        let i = self.isa.reloc_imm(&mut self.ctx, kind, index);
        self.runtime_call(lc, &[i]).map(|_| ())
    }

    fn ref_func(&mut self, function_index: u32) -> R {
        let r = self.isa.ref_func(&mut self.ctx, function_index);
        self.push_reg(r, FuncRef);
        Ok(())
    }

    fn ref_null(&mut self, hty: wasmparser::HeapType) -> R {
        let t = if hty == wasmparser::HeapType::EXTERN {
            ExternRef
        } else {
            FuncRef
        };
        self.push(Val::Const(t, 0));
        Ok(())
    }
}

/// The longest `memory.copy` copied in line.
const INLINE_COPY_MAX: u64 = 32;

/// Where a chunk of an inline copy starts: a static offset from the address, or a
/// register holding one (added to it as an i32).
#[derive(Clone, Copy)]
enum ChunkAt {
    Imm(u64),
    Reg(regalloc2::VReg),
}

/// The chunks (bytes, offset) that copy exactly `n` bytes (1 to [`INLINE_COPY_MAX`]), in
/// order of their end: chunks of the widest of 16, 8, 4, 2 and 1 bytes that fits in `n`,
/// then, unless they cover it exactly, one more of that width ending at `n` (overlapping
/// the one before it).
fn const_copy_chunks(n: u64) -> Vec<(u8, ChunkAt)> {
    let width = match n {
        16.. => 16,
        8.. => 8,
        4.. => 4,
        2.. => 2,
        _ => 1,
    };
    let mut chunks: Vec<(u8, ChunkAt)> = (0..n / width)
        .map(|i| (width as u8, ChunkAt::Imm(i * width)))
        .collect();
    if !n.is_multiple_of(width) {
        chunks.push((width as u8, ChunkAt::Imm(n - width)));
    }
    chunks
}

fn int(bytes: u8, signed: bool, ty: ValType) -> MemKind {
    MemKind::Int { bytes, signed, ty }
}

/// Methods for the operators of proposals this compiler does not compile.
macro_rules! refuse_ops {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $( refuse_ops!(@one $proposal $op $visit $($($arg: $argty),*)?); )*
    };
    // Written out in `impl VisitOperator for Translator`.
    (@one mvp $($rest:tt)*) => {};
    (@one sign_extension $($rest:tt)*) => {};
    (@one saturating_float_to_int $($rest:tt)*) => {};
    (@one bulk_memory $($rest:tt)*) => {};
    (@one reference_types $($rest:tt)*) => {};
    (@one $proposal:ident $op:ident $visit:ident $($arg:ident: $argty:ty),*) => {
        fn $visit(&mut self $(, $arg: $argty)*) -> Self::Output {
            $(let _ = $arg;)*
            Err(internal(concat!(
                "operator ", stringify!($op), " of the `", stringify!($proposal),
                "` proposal, which is not compiled, passed validation"
            )))
        }
    };
}

#[rustfmt::skip]
impl<'a, B: Lower> VisitOperator<'a> for Translator<'_, '_, B> {
    type Output = R;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = R>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(refuse_ops);

    // Control (translate/mod.rs).
    fn visit_unreachable(&mut self) -> R { self.unreachable() }
    fn visit_nop(&mut self) -> R { Ok(()) }
    fn visit_block(&mut self, blockty: wasmparser::BlockType) -> R { self.block(blockty) }
    fn visit_loop(&mut self, blockty: wasmparser::BlockType) -> R { self.loop_(blockty) }
    fn visit_if(&mut self, blockty: wasmparser::BlockType) -> R { self.if_(blockty) }
    fn visit_else(&mut self) -> R { self.else_() }
    fn visit_end(&mut self) -> R { self.end() }
    fn visit_br(&mut self, relative_depth: u32) -> R { self.br(relative_depth) }
    fn visit_br_if(&mut self, relative_depth: u32) -> R { self.br_if(relative_depth) }
    fn visit_br_table(&mut self, targets: wasmparser::BrTable<'a>) -> R { self.br_table(targets) }
    fn visit_return(&mut self) -> R { self.return_() }
    fn visit_local_get(&mut self, local_index: u32) -> R { self.local_get(local_index) }
    fn visit_local_set(&mut self, local_index: u32) -> R { self.local_set(local_index) }
    fn visit_local_tee(&mut self, local_index: u32) -> R { self.local_tee(local_index) }
    fn visit_drop(&mut self) -> R { self.pop().map(|_| ()) }

    // Calls.
    fn visit_call(&mut self, function_index: u32) -> R { self.call(function_index) }
    fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> R { self.call_indirect(type_index, table_index) }

    // Parametric and references.
    fn visit_select(&mut self) -> R { self.select() }
    fn visit_typed_select(&mut self, _ty: wasmparser::ValType) -> R { self.select() }
    fn visit_typed_select_multi(&mut self, _tys: Vec<wasmparser::ValType>) -> R { self.select() }
    fn visit_ref_null(&mut self, hty: wasmparser::HeapType) -> R { self.ref_null(hty) }
    fn visit_ref_is_null(&mut self) -> R { self.eqz(I64) }
    fn visit_ref_func(&mut self, function_index: u32) -> R { self.ref_func(function_index) }

    // Globals.
    fn visit_global_get(&mut self, global_index: u32) -> R { self.global_get(global_index) }
    fn visit_global_set(&mut self, global_index: u32) -> R { self.global_set(global_index) }

    // Constants.
    fn visit_i32_const(&mut self, value: i32) -> R { self.int_const(I32, value as u32 as u64) }
    fn visit_i64_const(&mut self, value: i64) -> R { self.int_const(I64, value as u64) }
    fn visit_f32_const(&mut self, value: wasmparser::Ieee32) -> R { self.push(Val::Const(F32, value.bits() as u64)); Ok(()) }
    fn visit_f64_const(&mut self, value: wasmparser::Ieee64) -> R { self.push(Val::Const(F64, value.bits())); Ok(()) }

    // Integer arithmetic.
    fn visit_i32_add(&mut self) -> R { self.int_bin(IntBinOp::Add, I32) }
    fn visit_i64_add(&mut self) -> R { self.int_bin(IntBinOp::Add, I64) }
    fn visit_i32_sub(&mut self) -> R { self.int_bin(IntBinOp::Sub, I32) }
    fn visit_i64_sub(&mut self) -> R { self.int_bin(IntBinOp::Sub, I64) }
    fn visit_i32_mul(&mut self) -> R { self.int_bin(IntBinOp::Mul, I32) }
    fn visit_i64_mul(&mut self) -> R { self.int_bin(IntBinOp::Mul, I64) }
    fn visit_i32_and(&mut self) -> R { self.int_bin(IntBinOp::And, I32) }
    fn visit_i64_and(&mut self) -> R { self.int_bin(IntBinOp::And, I64) }
    fn visit_i32_or(&mut self) -> R { self.int_bin(IntBinOp::Or, I32) }
    fn visit_i64_or(&mut self) -> R { self.int_bin(IntBinOp::Or, I64) }
    fn visit_i32_xor(&mut self) -> R { self.int_bin(IntBinOp::Xor, I32) }
    fn visit_i64_xor(&mut self) -> R { self.int_bin(IntBinOp::Xor, I64) }
    fn visit_i32_div_s(&mut self) -> R { self.div_rem(DivOp::DivS, I32) }
    fn visit_i32_div_u(&mut self) -> R { self.div_rem(DivOp::DivU, I32) }
    fn visit_i32_rem_s(&mut self) -> R { self.div_rem(DivOp::RemS, I32) }
    fn visit_i32_rem_u(&mut self) -> R { self.div_rem(DivOp::RemU, I32) }
    fn visit_i64_div_s(&mut self) -> R { self.div_rem(DivOp::DivS, I64) }
    fn visit_i64_div_u(&mut self) -> R { self.div_rem(DivOp::DivU, I64) }
    fn visit_i64_rem_s(&mut self) -> R { self.div_rem(DivOp::RemS, I64) }
    fn visit_i64_rem_u(&mut self) -> R { self.div_rem(DivOp::RemU, I64) }
    fn visit_i32_shl(&mut self) -> R { self.shift(ShiftOp::Shl, I32) }
    fn visit_i64_shl(&mut self) -> R { self.shift(ShiftOp::Shl, I64) }
    fn visit_i32_shr_s(&mut self) -> R { self.shift(ShiftOp::ShrS, I32) }
    fn visit_i64_shr_s(&mut self) -> R { self.shift(ShiftOp::ShrS, I64) }
    fn visit_i32_shr_u(&mut self) -> R { self.shift(ShiftOp::ShrU, I32) }
    fn visit_i64_shr_u(&mut self) -> R { self.shift(ShiftOp::ShrU, I64) }
    fn visit_i32_rotl(&mut self) -> R { self.shift(ShiftOp::Rotl, I32) }
    fn visit_i64_rotl(&mut self) -> R { self.shift(ShiftOp::Rotl, I64) }
    fn visit_i32_rotr(&mut self) -> R { self.shift(ShiftOp::Rotr, I32) }
    fn visit_i64_rotr(&mut self) -> R { self.shift(ShiftOp::Rotr, I64) }
    fn visit_i32_clz(&mut self) -> R { self.int_unary(IntUnaryOp::Clz, I32) }
    fn visit_i64_clz(&mut self) -> R { self.int_unary(IntUnaryOp::Clz, I64) }
    fn visit_i32_ctz(&mut self) -> R { self.int_unary(IntUnaryOp::Ctz, I32) }
    fn visit_i64_ctz(&mut self) -> R { self.int_unary(IntUnaryOp::Ctz, I64) }
    fn visit_i32_popcnt(&mut self) -> R { self.int_unary(IntUnaryOp::Popcnt, I32) }
    fn visit_i64_popcnt(&mut self) -> R { self.int_unary(IntUnaryOp::Popcnt, I64) }

    // Integer comparisons.
    fn visit_i32_eqz(&mut self) -> R { self.eqz(I32) }
    fn visit_i64_eqz(&mut self) -> R { self.eqz(I64) }
    fn visit_i32_eq(&mut self) -> R { self.compare(I32, IntCC::Eq) }
    fn visit_i32_ne(&mut self) -> R { self.compare(I32, IntCC::Ne) }
    fn visit_i32_lt_s(&mut self) -> R { self.compare(I32, IntCC::LtS) }
    fn visit_i32_lt_u(&mut self) -> R { self.compare(I32, IntCC::LtU) }
    fn visit_i32_gt_s(&mut self) -> R { self.compare(I32, IntCC::GtS) }
    fn visit_i32_gt_u(&mut self) -> R { self.compare(I32, IntCC::GtU) }
    fn visit_i32_le_s(&mut self) -> R { self.compare(I32, IntCC::LeS) }
    fn visit_i32_le_u(&mut self) -> R { self.compare(I32, IntCC::LeU) }
    fn visit_i32_ge_s(&mut self) -> R { self.compare(I32, IntCC::GeS) }
    fn visit_i32_ge_u(&mut self) -> R { self.compare(I32, IntCC::GeU) }
    fn visit_i64_eq(&mut self) -> R { self.compare(I64, IntCC::Eq) }
    fn visit_i64_ne(&mut self) -> R { self.compare(I64, IntCC::Ne) }
    fn visit_i64_lt_s(&mut self) -> R { self.compare(I64, IntCC::LtS) }
    fn visit_i64_lt_u(&mut self) -> R { self.compare(I64, IntCC::LtU) }
    fn visit_i64_gt_s(&mut self) -> R { self.compare(I64, IntCC::GtS) }
    fn visit_i64_gt_u(&mut self) -> R { self.compare(I64, IntCC::GtU) }
    fn visit_i64_le_s(&mut self) -> R { self.compare(I64, IntCC::LeS) }
    fn visit_i64_le_u(&mut self) -> R { self.compare(I64, IntCC::LeU) }
    fn visit_i64_ge_s(&mut self) -> R { self.compare(I64, IntCC::GeS) }
    fn visit_i64_ge_u(&mut self) -> R { self.compare(I64, IntCC::GeU) }

    // Wrapping and extension.
    fn visit_i32_wrap_i64(&mut self) -> R { self.wrap() }
    fn visit_i64_extend_i32_s(&mut self) -> R { self.convert_op(ConvertOp::ExtendI32 { signed: true }) }
    fn visit_i64_extend_i32_u(&mut self) -> R { self.convert_op(ConvertOp::ExtendI32 { signed: false }) }
    fn visit_i32_extend8_s(&mut self) -> R { self.int_unary(IntUnaryOp::SignExtend(8), I32) }
    fn visit_i32_extend16_s(&mut self) -> R { self.int_unary(IntUnaryOp::SignExtend(16), I32) }
    fn visit_i64_extend8_s(&mut self) -> R { self.int_unary(IntUnaryOp::SignExtend(8), I64) }
    fn visit_i64_extend16_s(&mut self) -> R { self.int_unary(IntUnaryOp::SignExtend(16), I64) }
    fn visit_i64_extend32_s(&mut self) -> R { self.int_unary(IntUnaryOp::SignExtend(32), I64) }

    // Float arithmetic.
    fn visit_f32_add(&mut self) -> R { self.float_bin(FloatBinOp::Add, F32) }
    fn visit_f64_add(&mut self) -> R { self.float_bin(FloatBinOp::Add, F64) }
    fn visit_f32_sub(&mut self) -> R { self.float_bin(FloatBinOp::Sub, F32) }
    fn visit_f64_sub(&mut self) -> R { self.float_bin(FloatBinOp::Sub, F64) }
    fn visit_f32_mul(&mut self) -> R { self.float_bin(FloatBinOp::Mul, F32) }
    fn visit_f64_mul(&mut self) -> R { self.float_bin(FloatBinOp::Mul, F64) }
    fn visit_f32_div(&mut self) -> R { self.float_bin(FloatBinOp::Div, F32) }
    fn visit_f64_div(&mut self) -> R { self.float_bin(FloatBinOp::Div, F64) }
    fn visit_f32_min(&mut self) -> R { self.float_bin(FloatBinOp::Min, F32) }
    fn visit_f64_min(&mut self) -> R { self.float_bin(FloatBinOp::Min, F64) }
    fn visit_f32_max(&mut self) -> R { self.float_bin(FloatBinOp::Max, F32) }
    fn visit_f64_max(&mut self) -> R { self.float_bin(FloatBinOp::Max, F64) }
    fn visit_f32_copysign(&mut self) -> R { self.float_bin(FloatBinOp::Copysign, F32) }
    fn visit_f64_copysign(&mut self) -> R { self.float_bin(FloatBinOp::Copysign, F64) }
    fn visit_f32_abs(&mut self) -> R { self.float_unary(FloatUnaryOp::Abs, F32) }
    fn visit_f64_abs(&mut self) -> R { self.float_unary(FloatUnaryOp::Abs, F64) }
    fn visit_f32_neg(&mut self) -> R { self.float_unary(FloatUnaryOp::Neg, F32) }
    fn visit_f64_neg(&mut self) -> R { self.float_unary(FloatUnaryOp::Neg, F64) }
    fn visit_f32_sqrt(&mut self) -> R { self.float_unary(FloatUnaryOp::Sqrt, F32) }
    fn visit_f64_sqrt(&mut self) -> R { self.float_unary(FloatUnaryOp::Sqrt, F64) }
    fn visit_f32_ceil(&mut self) -> R { self.float_unary(FloatUnaryOp::Ceil, F32) }
    fn visit_f64_ceil(&mut self) -> R { self.float_unary(FloatUnaryOp::Ceil, F64) }
    fn visit_f32_floor(&mut self) -> R { self.float_unary(FloatUnaryOp::Floor, F32) }
    fn visit_f64_floor(&mut self) -> R { self.float_unary(FloatUnaryOp::Floor, F64) }
    fn visit_f32_trunc(&mut self) -> R { self.float_unary(FloatUnaryOp::Trunc, F32) }
    fn visit_f64_trunc(&mut self) -> R { self.float_unary(FloatUnaryOp::Trunc, F64) }
    fn visit_f32_nearest(&mut self) -> R { self.float_unary(FloatUnaryOp::Nearest, F32) }
    fn visit_f64_nearest(&mut self) -> R { self.float_unary(FloatUnaryOp::Nearest, F64) }

    // Float comparisons.
    fn visit_f32_eq(&mut self) -> R { self.float_compare(F32, FloatCC::Eq) }
    fn visit_f32_ne(&mut self) -> R { self.float_compare(F32, FloatCC::Ne) }
    fn visit_f32_lt(&mut self) -> R { self.float_compare(F32, FloatCC::Lt) }
    fn visit_f32_gt(&mut self) -> R { self.float_compare(F32, FloatCC::Gt) }
    fn visit_f32_le(&mut self) -> R { self.float_compare(F32, FloatCC::Le) }
    fn visit_f32_ge(&mut self) -> R { self.float_compare(F32, FloatCC::Ge) }
    fn visit_f64_eq(&mut self) -> R { self.float_compare(F64, FloatCC::Eq) }
    fn visit_f64_ne(&mut self) -> R { self.float_compare(F64, FloatCC::Ne) }
    fn visit_f64_lt(&mut self) -> R { self.float_compare(F64, FloatCC::Lt) }
    fn visit_f64_gt(&mut self) -> R { self.float_compare(F64, FloatCC::Gt) }
    fn visit_f64_le(&mut self) -> R { self.float_compare(F64, FloatCC::Le) }
    fn visit_f64_ge(&mut self) -> R { self.float_compare(F64, FloatCC::Ge) }

    // Conversions.
    fn visit_f32_demote_f64(&mut self) -> R { self.convert_op(ConvertOp::Demote) }
    fn visit_f64_promote_f32(&mut self) -> R { self.convert_op(ConvertOp::Promote) }
    fn visit_f32_convert_i32_s(&mut self) -> R { self.convert(I32, F32, true) }
    fn visit_f32_convert_i32_u(&mut self) -> R { self.convert(I32, F32, false) }
    fn visit_f32_convert_i64_s(&mut self) -> R { self.convert(I64, F32, true) }
    fn visit_f32_convert_i64_u(&mut self) -> R { self.convert(I64, F32, false) }
    fn visit_f64_convert_i32_s(&mut self) -> R { self.convert(I32, F64, true) }
    fn visit_f64_convert_i32_u(&mut self) -> R { self.convert(I32, F64, false) }
    fn visit_f64_convert_i64_s(&mut self) -> R { self.convert(I64, F64, true) }
    fn visit_f64_convert_i64_u(&mut self) -> R { self.convert(I64, F64, false) }
    fn visit_i32_trunc_f32_s(&mut self) -> R { self.trunc(F32, I32, true, false) }
    fn visit_i32_trunc_f32_u(&mut self) -> R { self.trunc(F32, I32, false, false) }
    fn visit_i32_trunc_f64_s(&mut self) -> R { self.trunc(F64, I32, true, false) }
    fn visit_i32_trunc_f64_u(&mut self) -> R { self.trunc(F64, I32, false, false) }
    fn visit_i64_trunc_f32_s(&mut self) -> R { self.trunc(F32, I64, true, false) }
    fn visit_i64_trunc_f32_u(&mut self) -> R { self.trunc(F32, I64, false, false) }
    fn visit_i64_trunc_f64_s(&mut self) -> R { self.trunc(F64, I64, true, false) }
    fn visit_i64_trunc_f64_u(&mut self) -> R { self.trunc(F64, I64, false, false) }
    fn visit_i32_trunc_sat_f32_s(&mut self) -> R { self.trunc(F32, I32, true, true) }
    fn visit_i32_trunc_sat_f32_u(&mut self) -> R { self.trunc(F32, I32, false, true) }
    fn visit_i32_trunc_sat_f64_s(&mut self) -> R { self.trunc(F64, I32, true, true) }
    fn visit_i32_trunc_sat_f64_u(&mut self) -> R { self.trunc(F64, I32, false, true) }
    fn visit_i64_trunc_sat_f32_s(&mut self) -> R { self.trunc(F32, I64, true, true) }
    fn visit_i64_trunc_sat_f32_u(&mut self) -> R { self.trunc(F32, I64, false, true) }
    fn visit_i64_trunc_sat_f64_s(&mut self) -> R { self.trunc(F64, I64, true, true) }
    fn visit_i64_trunc_sat_f64_u(&mut self) -> R { self.trunc(F64, I64, false, true) }
    fn visit_i32_reinterpret_f32(&mut self) -> R { self.convert_op(ConvertOp::Reinterpret { from: F32 }) }
    fn visit_i64_reinterpret_f64(&mut self) -> R { self.convert_op(ConvertOp::Reinterpret { from: F64 }) }
    fn visit_f32_reinterpret_i32(&mut self) -> R { self.convert_op(ConvertOp::Reinterpret { from: I32 }) }
    fn visit_f64_reinterpret_i64(&mut self) -> R { self.convert_op(ConvertOp::Reinterpret { from: I64 }) }

    // Memory.
    fn visit_i32_load(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(4, false, I32), memarg) }
    fn visit_i64_load(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(8, false, I64), memarg) }
    fn visit_f32_load(&mut self, memarg: wasmparser::MemArg) -> R { self.load(MemKind::F32, memarg) }
    fn visit_f64_load(&mut self, memarg: wasmparser::MemArg) -> R { self.load(MemKind::F64, memarg) }
    fn visit_i32_load8_s(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(1, true, I32), memarg) }
    fn visit_i32_load8_u(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(1, false, I32), memarg) }
    fn visit_i32_load16_s(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(2, true, I32), memarg) }
    fn visit_i32_load16_u(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(2, false, I32), memarg) }
    fn visit_i64_load8_s(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(1, true, I64), memarg) }
    fn visit_i64_load8_u(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(1, false, I64), memarg) }
    fn visit_i64_load16_s(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(2, true, I64), memarg) }
    fn visit_i64_load16_u(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(2, false, I64), memarg) }
    fn visit_i64_load32_s(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(4, true, I64), memarg) }
    fn visit_i64_load32_u(&mut self, memarg: wasmparser::MemArg) -> R { self.load(int(4, false, I64), memarg) }
    fn visit_i32_store(&mut self, memarg: wasmparser::MemArg) -> R { self.store(int(4, false, I32), memarg) }
    fn visit_i64_store(&mut self, memarg: wasmparser::MemArg) -> R { self.store(int(8, false, I64), memarg) }
    fn visit_f32_store(&mut self, memarg: wasmparser::MemArg) -> R { self.store(MemKind::F32, memarg) }
    fn visit_f64_store(&mut self, memarg: wasmparser::MemArg) -> R { self.store(MemKind::F64, memarg) }
    fn visit_i32_store8(&mut self, memarg: wasmparser::MemArg) -> R { self.store(int(1, false, I32), memarg) }
    fn visit_i32_store16(&mut self, memarg: wasmparser::MemArg) -> R { self.store(int(2, false, I32), memarg) }
    fn visit_i64_store8(&mut self, memarg: wasmparser::MemArg) -> R { self.store(int(1, false, I64), memarg) }
    fn visit_i64_store16(&mut self, memarg: wasmparser::MemArg) -> R { self.store(int(2, false, I64), memarg) }
    fn visit_i64_store32(&mut self, memarg: wasmparser::MemArg) -> R { self.store(int(4, false, I64), memarg) }
    fn visit_memory_size(&mut self, mem: u32) -> R { self.memory_size(mem) }
    fn visit_memory_grow(&mut self, mem: u32) -> R { self.memory_grow(mem) }

    // Bulk memory.
    fn visit_memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> R { self.memory_copy(dst_mem, src_mem) }
    fn visit_memory_fill(&mut self, mem: u32) -> R { self.bulk(Libcall::MemoryFill, &[(RelocKind::MemoryIndex, mem)]) }
    fn visit_memory_init(&mut self, data_index: u32, mem: u32) -> R {
        self.bulk(Libcall::MemoryInit, &[(RelocKind::MemoryIndex, mem), (RelocKind::DataIndex, data_index)])
    }
    fn visit_data_drop(&mut self, data_index: u32) -> R { self.drop_segment(Libcall::DataDrop, RelocKind::DataIndex, data_index) }

    // Tables.
    fn visit_table_get(&mut self, table: u32) -> R { self.table_get(table) }
    fn visit_table_set(&mut self, table: u32) -> R { self.table_set(table) }
    fn visit_table_size(&mut self, table: u32) -> R { self.table_size(table) }
    fn visit_table_grow(&mut self, table: u32) -> R { self.table_grow(table) }
    fn visit_table_fill(&mut self, table: u32) -> R { self.bulk(Libcall::TableFill, &[(RelocKind::TableIndex, table)]) }
    fn visit_table_copy(&mut self, dst_table: u32, src_table: u32) -> R {
        self.bulk(Libcall::TableCopy, &[(RelocKind::TableIndex, dst_table), (RelocKind::TableIndex, src_table)])
    }
    fn visit_table_init(&mut self, elem_index: u32, table: u32) -> R {
        self.bulk(Libcall::TableInit, &[(RelocKind::TableIndex, table), (RelocKind::ElemIndex, elem_index)])
    }
    fn visit_elem_drop(&mut self, elem_index: u32) -> R { self.drop_segment(Libcall::ElemDrop, RelocKind::ElemIndex, elem_index) }
}

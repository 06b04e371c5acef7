//! ISA-neutral translation of a stencil's body into VCode, once for every ISA.
//!
//! - `mod.rs` (this file): control flow, locals in SSA form, the operand stack and
//!   unreachable code.
//! - `ops.rs`: the semantics of every other operator (stack discipline, constant folding,
//!   calls, libcall decisions and argument order, tables, bulk memory), visited with
//!   wasmparser's `VisitOperator`, so an operator not handled is a compile error.
//! - `env.rs`: what a stencil reference means in the VM context.
//!
//! The ISA sees only the [`Lower`] hooks, never a wasm operator or the operand stack.
//!
//! Locals become SSA values with block parameters placed only where needed: a pre-pass
//! records, for each `block`/`loop`/`if`, the locals assigned anywhere inside it that are
//! live at its join point (or loop header); only those travel as block parameters there.
//! A local not assigned inside a construct has one value throughout it; one assigned but
//! dead at the join is written again before anything reads it.

mod bytes;
mod env;
mod interrupt;
mod ops;
mod scan;
mod simd;

use crate::error::CompileError;
use crate::lower::{class_of, Lower, LowerCtx, Val};
use crate::stencil::FunctionStencil;
use crate::vcode::{BlockId, VCode, VCodeBuilder};
use regalloc2::{RegClass, VReg};
use wasmparser::{BinaryReader, BlockType, FunctionBody};
use wasmprecomp_artifact::{Interruption, TrapKind, ValType};

pub(crate) use crate::error::internal;

#[derive(Debug)]
enum FrameKind {
    Function,
    Block,
    Loop {
        header: BlockId,
    },
    If {
        else_block: BlockId,
        /// Block parameters as they were at the `if`, for the else arm.
        params: Vec<Val>,
        /// The values at the `if` of the locals assigned inside it, for the else arm.
        locals: Vec<(u32, Val)>,
        has_else: bool,
    },
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// Join block (not used by loops and the function frame).
    end: Option<BlockId>,
    params: Vec<ValType>,
    results: Vec<ValType>,
    /// Operand stack height below the construct's parameters.
    height: usize,
    /// Locals assigned inside the construct and live at its join point / loop header:
    /// passed there.
    assigned: std::rc::Rc<[u32]>,
    /// Whether the construct was reachable when entered.
    live: bool,
}

fn block_sig(
    stencil: &FunctionStencil,
    bt: BlockType,
) -> Result<(Vec<ValType>, Vec<ValType>), CompileError> {
    Ok(match bt {
        BlockType::Empty => (vec![], vec![]),
        BlockType::Type(t) => (vec![], vec![conv_valtype(t)?]),
        BlockType::FuncType(i) => {
            let t = stencil
                .refs
                .types
                .get(i as usize)
                .ok_or_else(|| internal("bad block type reference"))?;
            (t.params.clone(), t.results.clone())
        }
    })
}

pub fn conv_valtype(t: wasmparser::ValType) -> Result<ValType, CompileError> {
    use wasmparser::ValType as V;
    Ok(match t {
        V::I32 => ValType::I32,
        V::I64 => ValType::I64,
        V::F32 => ValType::F32,
        V::F64 => ValType::F64,
        V::V128 => ValType::V128,
        V::Ref(r) if r.is_func_ref() => ValType::FuncRef,
        V::Ref(r) if r.is_extern_ref() => ValType::ExternRef,
        _ => return Err(internal("unsupported value type")),
    })
}

/// Maximum number of locals per function (as wasmparser's validator).
const MAX_LOCALS: u64 = 50_000;

/// Translation state for one function. The ISA hooks see only `ctx`.
pub(crate) struct Translator<'s, 'b, B: Lower> {
    isa: &'b mut B,
    ctx: LowerCtx<'s, B::Inst>,
    stencil: &'s FunctionStencil,
    stack: Vec<Val>,
    locals: Vec<Val>,
    local_types: Vec<ValType>,
    frames: Vec<Frame>,
    reachable: bool,
    assigned: Vec<scan::ConstructLocals>,
    next_construct: usize,
    /// Stencil-relative offset of the operator being translated.
    offset: u32,
    /// The base of each memory reference, read in the entry block.
    heap_bases: Vec<VReg>,
    /// Which interruption checks the code makes.
    interruption: Interruption,
    /// Fuel consumed by the current straight-line run, not yet charged.
    fuel_pending: u64,
    /// Trap blocks of interruption checks, filled after the function's code.
    cold_traps: Vec<(BlockId, TrapKind, u32)>,
    /// Where the bytes of each integer value made by shifts, masks and `or`s of whole
    /// bytes come from (see `bytes.rs`).
    byte_maps: std::collections::HashMap<VReg, bytes::ByteMap>,
}

/// Translates a stencil into VCode for the ISA behind `isa`, with the checks
/// `interruption` asks for (none: the code has no trace of them).
pub fn translate<B: Lower>(
    stencil: &FunctionStencil,
    isa: &mut B,
    interruption: Interruption,
) -> Result<VCode<B::Inst>, CompileError> {
    let body = stencil.body();
    let rd = |e: wasmparser::BinaryReaderError| CompileError::Malformed {
        message: e.message().to_string(),
        offset: e.offset(),
        function: None,
    };
    let fb = FunctionBody::new(BinaryReader::new(body, 0));
    let mut local_types: Vec<ValType> = stencil.sig.params.clone();
    let mut total = 0u64;
    for l in fb.get_locals_reader().map_err(rd)? {
        let (n, t) = l.map_err(rd)?;
        total += n as u64;
        if total > MAX_LOCALS {
            return Err(CompileError::Limit {
                message: format!("more than {MAX_LOCALS} locals"),
                offset: 0,
                function: None,
            });
        }
        let t = conv_valtype(t)?;
        local_types.extend(std::iter::repeat_n(t, n as usize));
    }
    let assigned = scan::join_locals(body).map_err(rd)?;

    let mut builder = VCodeBuilder::new();
    let entry = builder.new_block(&[]);
    builder.switch_to(entry);
    let vmctx = builder.new_vreg(RegClass::Int);
    let mut t = Translator::<B> {
        isa,
        ctx: LowerCtx {
            builder,
            sig: &stencil.sig,
            vmctx,
            ret_area: None,
        },
        stencil,
        stack: Vec::new(),
        locals: Vec::new(),
        local_types,
        frames: Vec::new(),
        reachable: true,
        assigned,
        next_construct: 0,
        offset: 0,
        heap_bases: Vec::new(),
        interruption,
        fuel_pending: 0,
        cold_traps: Vec::new(),
        byte_maps: Default::default(),
    };
    if mentions_v128(stencil, &t.local_types) {
        t.ctx.builder.use_vectors();
    }
    let params = t.isa.args(&mut t.ctx);
    for i in 0..stencil.refs.memories.len() as u32 {
        let mem = t.memory(i)?;
        let base = t.isa.heap_base(&mut t.ctx, mem);
        t.heap_bases.push(base);
    }
    for (i, ty) in t.local_types.iter().enumerate() {
        t.locals.push(match params.get(i) {
            Some(r) => Val::Reg(*r, *ty),
            None => Val::Const(*ty, 0),
        });
    }
    t.frames.push(Frame {
        kind: FrameKind::Function,
        end: None,
        params: vec![],
        results: stencil.sig.results.clone(),
        height: 0,
        assigned: std::rc::Rc::from(Vec::new()),
        live: true,
    });

    let mut reader = fb.get_operators_reader().map_err(rd)?;
    t.offset = reader.original_position() as u32;
    t.interruption_checks()?;
    while !reader.eof() {
        t.offset = reader.original_position() as u32;
        if t.reachable {
            if t.interruption().fuel {
                let op = reader.clone().read().map_err(rd)?;
                t.fuel_before(&op);
            }
            reader.visit_operator(&mut t).map_err(rd)??;
        } else {
            reader
                .visit_operator(&mut scan::Dead(&mut t))
                .map_err(rd)??;
        }
        if t.frames.is_empty() {
            break;
        }
    }
    if !t.frames.is_empty() || t.ctx.builder.current().is_some() {
        return Err(internal("function body did not end properly"));
    }
    t.finish_cold_traps();
    Ok(t.ctx.builder.finish())
}

/// Whether a `v128` can reach the function other than through a SIMD operator (which
/// marks the VCode itself): its signature, locals, callees, block types or globals.
fn mentions_v128(stencil: &FunctionStencil, locals: &[ValType]) -> bool {
    let v = |ts: &[ValType]| ts.contains(&ValType::V128);
    let sig = |t: &wasmprecomp_artifact::FuncType| v(&t.params) || v(&t.results);
    let refs = &stencil.refs;
    sig(&stencil.sig)
        || v(locals)
        || refs.types.iter().any(sig)
        || refs.funcs.iter().any(|f| sig(&f.ty))
        || refs.globals.iter().any(|g| g.ty.ty == ValType::V128)
}

impl<B: Lower> Translator<'_, '_, B> {
    fn pop(&mut self) -> Result<Val, CompileError> {
        self.stack
            .pop()
            .ok_or_else(|| internal("operand stack underflow"))
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Val>, CompileError> {
        if self.stack.len() < n {
            return Err(internal("operand stack underflow"));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn push(&mut self, v: Val) {
        self.stack.push(v)
    }

    fn push_reg(&mut self, r: VReg, t: ValType) {
        if t == ValType::V128 {
            self.ctx.builder.use_vectors();
        }
        self.stack.push(Val::Reg(r, t))
    }

    fn reg(&mut self, v: Val) -> VReg {
        self.isa.materialize(&mut self.ctx, v)
    }

    fn materialize_all(&mut self, vals: &[Val]) -> Vec<VReg> {
        vals.iter()
            .map(|v| self.isa.materialize(&mut self.ctx, *v))
            .collect()
    }

    fn top(&self, n: usize) -> Result<Vec<Val>, CompileError> {
        if self.stack.len() < n {
            return Err(internal("operand stack underflow"));
        }
        Ok(self.stack[self.stack.len() - n..].to_vec())
    }

    /// The locals of the next construct: all it assigns, and those passed at its join.
    fn next_assigned(&mut self) -> scan::ConstructLocals {
        let a = self
            .assigned
            .get(self.next_construct)
            .cloned()
            .unwrap_or_default();
        self.next_construct += 1;
        a
    }

    /// A join block whose parameters are values of `tys` then the locals `assigned`; the
    /// `i32` ones are marked narrow (see [`VCodeBuilder::set_narrow`]).
    fn join_block(&mut self, tys: &[ValType], assigned: &[u32]) -> BlockId {
        let locals = assigned.iter().map(|l| self.local_types[*l as usize]);
        let types: Vec<ValType> = tys.iter().copied().chain(locals).collect();
        let classes: Vec<RegClass> = types.iter().map(|t| class_of(*t)).collect();
        let block = self.ctx.builder.new_block(&classes);
        for (i, t) in types.iter().enumerate() {
            if *t == ValType::I32 {
                let v = self.ctx.builder.block_params(block)[i];
                self.ctx.builder.set_narrow(v);
            }
        }
        block
    }

    /// Branch arguments for jumping to a frame with `vals` as its values.
    fn branch_args(&mut self, vals: &[Val], assigned: &[u32]) -> Vec<VReg> {
        let mut args = self.materialize_all(vals);
        for l in assigned.iter() {
            let v = self.locals[*l as usize];
            args.push(self.isa.materialize(&mut self.ctx, v));
        }
        args
    }

    /// Emits the terminator that branches to the frame at `depth`.
    fn branch_to(&mut self, depth: u32) -> Result<(), CompileError> {
        let idx = self
            .frames
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| internal("bad branch depth"))?;
        let f = &self.frames[idx];
        match f.kind {
            FrameKind::Function => {
                let n = f.results.len();
                let vals = self.top(n)?;
                self.isa.ret(&mut self.ctx, vals);
            }
            FrameKind::Loop { header } => {
                let n = f.params.len();
                let assigned = f.assigned.clone();
                let vals = self.top(n)?;
                let args = self.branch_args(&vals, &assigned);
                self.isa.jump(&mut self.ctx, header, args);
            }
            FrameKind::Block | FrameKind::If { .. } => {
                let n = f.results.len();
                let end = f.end.ok_or_else(|| internal("frame without join block"))?;
                let assigned = f.assigned.clone();
                let vals = self.top(n)?;
                let args = self.branch_args(&vals, &assigned);
                self.isa.jump(&mut self.ctx, end, args);
            }
        }
        Ok(())
    }

    /// Enters the join block of a frame that ended: results on the stack, assigned locals
    /// from its parameters.
    fn enter_join(
        &mut self,
        end: BlockId,
        height: usize,
        nresults: usize,
        results: &[ValType],
        assigned: &[u32],
    ) {
        self.ctx.builder.switch_to(end);
        self.stack.truncate(height);
        let params = self.ctx.builder.block_params(end).to_vec();
        for (i, t) in results.iter().enumerate() {
            self.stack.push(Val::Reg(params[i], *t));
        }
        for (j, l) in assigned.iter().enumerate() {
            let t = self.local_types[*l as usize];
            self.locals[*l as usize] = Val::Reg(params[nresults + j], t);
        }
        self.reachable = true;
    }

    /// `block`, `loop` or `if` in unreachable code: only its nesting matters.
    fn enter_dead(&mut self) -> Result<(), CompileError> {
        let assigned = self.next_assigned().passed;
        self.frames.push(Frame {
            kind: FrameKind::Block,
            end: None,
            params: vec![],
            results: vec![],
            height: self.stack.len(),
            assigned,
            live: false,
        });
        Ok(())
    }

    fn unreachable(&mut self) -> Result<(), CompileError> {
        let off = self.offset;
        self.isa.trap(&mut self.ctx, TrapKind::Unreachable, off);
        self.reachable = false;
        Ok(())
    }

    fn block(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        let (params, results) = block_sig(self.stencil, blockty)?;
        let assigned = self.next_assigned().passed;
        let end = self.join_block(&results, &assigned);
        self.frames.push(Frame {
            kind: FrameKind::Block,
            end: Some(end),
            height: self.stack.len() - params.len().min(self.stack.len()),
            params,
            results,
            assigned,
            live: true,
        });
        Ok(())
    }

    fn loop_(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        let (params, results) = block_sig(self.stencil, blockty)?;
        // A local assigned in the loop but dead at its header keeps its value from
        // before the loop: the body writes it before reading it.
        let assigned = self.next_assigned().passed;
        let header = self.join_block(&params, &assigned);
        let vals = self.pop_n(params.len())?;
        let args = self.branch_args(&vals, &assigned);
        self.isa.jump(&mut self.ctx, header, args);
        self.ctx.builder.switch_to(header);
        let hp = self.ctx.builder.block_params(header).to_vec();
        for (i, t) in params.iter().enumerate() {
            self.stack.push(Val::Reg(hp[i], *t));
        }
        for (j, l) in assigned.iter().enumerate() {
            let t = self.local_types[*l as usize];
            self.locals[*l as usize] = Val::Reg(hp[params.len() + j], t);
        }
        self.interruption_checks()?;
        self.frames.push(Frame {
            kind: FrameKind::Loop { header },
            end: None,
            height: self.stack.len() - params.len(),
            params,
            results,
            assigned,
            live: true,
        });
        Ok(())
    }

    fn if_(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        let (params, results) = block_sig(self.stencil, blockty)?;
        let scan::ConstructLocals {
            assigned: all,
            passed: assigned,
        } = self.next_assigned();
        let cond = self.pop()?;
        let end = self.join_block(&results, &assigned);
        let then_b = self.ctx.builder.new_block(&[]);
        let else_b = self.ctx.builder.new_block(&[]);
        let pvals = self.top(params.len())?;
        // Every local the `if` assigns, not only those passed at the join: the else arm
        // may read one that the join does not need.
        let lvals = all.iter().map(|l| (*l, self.locals[*l as usize])).collect();
        self.isa.brif(&mut self.ctx, cond, then_b, else_b);
        self.ctx.builder.switch_to(then_b);
        self.frames.push(Frame {
            kind: FrameKind::If {
                else_block: else_b,
                params: pvals,
                locals: lvals,
                has_else: false,
            },
            end: Some(end),
            height: self.stack.len() - params.len(),
            params,
            results,
            assigned,
            live: true,
        });
        Ok(())
    }

    fn else_(&mut self) -> Result<(), CompileError> {
        let reachable = self.reachable;
        let f = self
            .frames
            .last()
            .ok_or_else(|| internal("else outside if"))?;
        if !f.live {
            return Ok(());
        }
        if reachable {
            self.branch_to(0)?;
        }
        let f = self
            .frames
            .last_mut()
            .ok_or_else(|| internal("else outside if"))?;
        let FrameKind::If {
            else_block,
            params,
            locals,
            has_else,
        } = &mut f.kind
        else {
            return Err(internal("else outside if"));
        };
        *has_else = true;
        let else_block = *else_block;
        let params = params.clone();
        let saved = locals.clone();
        let height = f.height;
        self.stack.truncate(height);
        self.stack.extend_from_slice(&params);
        for (l, v) in saved {
            self.locals[l as usize] = v;
        }
        self.ctx.builder.switch_to(else_block);
        self.reachable = true;
        Ok(())
    }

    fn end(&mut self) -> Result<(), CompileError> {
        let f = self
            .frames
            .pop()
            .ok_or_else(|| internal("unbalanced end"))?;
        if !f.live {
            return Ok(());
        }
        match f.kind {
            FrameKind::Function => {
                if self.reachable {
                    let vals = self.top(f.results.len())?;
                    self.isa.ret(&mut self.ctx, vals);
                }
                self.reachable = false;
            }
            FrameKind::Loop { .. } => {
                // Falling out of a loop continues in the same block.
            }
            FrameKind::Block | FrameKind::If { .. } => {
                let end = f.end.ok_or_else(|| internal("frame without join block"))?;
                if self.reachable {
                    let vals = self.top(f.results.len())?;
                    let args = self.branch_args(&vals, &f.assigned);
                    self.isa.jump(&mut self.ctx, end, args);
                }
                if let FrameKind::If {
                    else_block,
                    params,
                    locals,
                    has_else: false,
                } = &f.kind
                {
                    // No else arm: the else edge passes the parameters through.
                    self.ctx.builder.switch_to(*else_block);
                    for (l, v) in locals {
                        self.locals[*l as usize] = *v;
                    }
                    let args = self.branch_args(params, &f.assigned);
                    self.isa.jump(&mut self.ctx, end, args);
                }
                if self.ctx.builder.num_preds(end) > 0 {
                    let n = f.results.len();
                    self.enter_join(end, f.height, n, &f.results, &f.assigned);
                } else {
                    self.reachable = false;
                    self.stack.truncate(f.height);
                }
            }
        }
        Ok(())
    }

    fn br(&mut self, relative_depth: u32) -> Result<(), CompileError> {
        self.branch_to(relative_depth)?;
        self.reachable = false;
        Ok(())
    }

    fn br_if(&mut self, relative_depth: u32) -> Result<(), CompileError> {
        let cond = self.pop()?;
        let taken = self.ctx.builder.new_block(&[]);
        let cont = self.ctx.builder.new_block(&[]);
        self.isa.brif(&mut self.ctx, cond, taken, cont);
        self.ctx.builder.switch_to(taken);
        self.branch_to(relative_depth)?;
        self.ctx.builder.switch_to(cont);
        Ok(())
    }

    fn br_table(&mut self, targets: wasmparser::BrTable) -> Result<(), CompileError> {
        let index = self.pop()?;
        let mut depths: Vec<u32> = Vec::new();
        let mut table = Vec::with_capacity(targets.len() as usize);
        let rd = |e: wasmparser::BinaryReaderError| internal(e.message());
        for t in targets.targets() {
            let t = t.map_err(rd)?;
            let i = match depths.iter().position(|d| *d == t) {
                Some(i) => i,
                None => {
                    depths.push(t);
                    depths.len() - 1
                }
            };
            table.push(i as u32);
        }
        let d = targets.default();
        let default = match depths.iter().position(|x| *x == d) {
            Some(i) => i,
            None => {
                depths.push(d);
                depths.len() - 1
            }
        } as u32;
        let edges: Vec<BlockId> = depths
            .iter()
            .map(|_| self.ctx.builder.new_block(&[]))
            .collect();
        self.isa
            .br_table(&mut self.ctx, index, &edges, table, default);
        for (e, d) in edges.iter().zip(depths) {
            self.ctx.builder.switch_to(*e);
            self.branch_to(d)?;
        }
        self.reachable = false;
        Ok(())
    }

    fn return_(&mut self) -> Result<(), CompileError> {
        let depth = self.frames.len() as u32 - 1;
        self.branch_to(depth)?;
        self.reachable = false;
        Ok(())
    }

    fn local_get(&mut self, local_index: u32) -> Result<(), CompileError> {
        let v = *self
            .locals
            .get(local_index as usize)
            .ok_or_else(|| internal("bad local"))?;
        self.push(v);
        Ok(())
    }

    fn local_set(&mut self, local_index: u32) -> Result<(), CompileError> {
        let v = self.pop()?;
        *self
            .locals
            .get_mut(local_index as usize)
            .ok_or_else(|| internal("bad local"))? = v;
        Ok(())
    }

    fn local_tee(&mut self, local_index: u32) -> Result<(), CompileError> {
        let v = *self
            .stack
            .last()
            .ok_or_else(|| internal("stack underflow"))?;
        *self
            .locals
            .get_mut(local_index as usize)
            .ok_or_else(|| internal("bad local"))? = v;
        Ok(())
    }
}

//! ISA-independent translation of a stencil's body: control flow, locals in SSA form, the
//! operand stack and unreachable code. Every other operator goes to the ISA's [`Backend`].
//!
//! Locals become SSA values with block parameters placed only where needed: a pre-pass
//! records, for each `block`/`loop`/`if`, the locals assigned anywhere inside it; only
//! those travel as block parameters to its join point (or loop header). A local not
//! assigned inside a construct has one value throughout it.

use crate::error::CompileError;
use crate::stencil::FunctionStencil;
use crate::vcode::{BlockId, MachInst, VCode, VCodeBuilder};
use regalloc2::{RegClass, VReg};
use wasmparser::{BinaryReader, BlockType, FunctionBody, Operator};
use wasmprecomp_artifact::{TrapKind, ValType};

/// A value on the operand stack or in a local: a virtual register, a constant not yet
/// materialized (so backends can fold it into an immediate), or an integer comparison not
/// yet turned into 0/1 (so a branch can use the comparison directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    Reg(VReg, ValType),
    Const(ValType, u64),
    Cmp(Compare),
}

impl Val {
    pub fn ty(self) -> ValType {
        match self {
            Val::Reg(_, t) | Val::Const(t, _) => t,
            Val::Cmp(_) => ValType::I32,
        }
    }
}

/// Integer comparison conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntCC {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

impl IntCC {
    /// The condition that holds exactly when `self` does not.
    pub fn invert(self) -> IntCC {
        use IntCC::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            LtS => GeS,
            GeS => LtS,
            LtU => GeU,
            GeU => LtU,
            GtS => LeS,
            LeS => GtS,
            GtU => LeU,
            LeU => GtU,
        }
    }
    /// The condition with operands swapped (`a < b` == `b > a`).
    pub fn swap(self) -> IntCC {
        use IntCC::*;
        match self {
            Eq => Eq,
            Ne => Ne,
            LtS => GtS,
            GtS => LtS,
            LtU => GtU,
            GtU => LtU,
            LeS => GeS,
            GeS => LeS,
            LeU => GeU,
            GeU => LeU,
        }
    }
    /// Evaluates the condition on constants of the given width.
    pub fn eval(self, a: u64, b: u64, is64: bool) -> bool {
        use IntCC::*;
        let (ua, ub) = if is64 {
            (a, b)
        } else {
            (a as u32 as u64, b as u32 as u64)
        };
        let (sa, sb) = if is64 {
            (a as i64, b as i64)
        } else {
            (a as u32 as i32 as i64, b as u32 as i32 as i64)
        };
        match self {
            Eq => ua == ub,
            Ne => ua != ub,
            LtS => sa < sb,
            LtU => ua < ub,
            GtS => sa > sb,
            GtU => ua > ub,
            LeS => sa <= sb,
            LeU => ua <= ub,
            GeS => sa >= sb,
            GeU => ua >= ub,
        }
    }
}

/// `lhs cc rhs` on 32- or 64-bit integers, where `rhs` is a register or an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compare {
    pub is64: bool,
    pub cc: IntCC,
    pub lhs: VReg,
    pub rhs: CmpRhs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpRhs {
    Reg(VReg),
    Imm(i32),
}

pub fn class_of(t: ValType) -> RegClass {
    if t.is_float() {
        RegClass::Float
    } else {
        RegClass::Int
    }
}

/// Translation state shared with the backend.
pub struct Ctx<'s, I> {
    pub builder: VCodeBuilder<I>,
    pub stack: Vec<Val>,
    pub stencil: &'s FunctionStencil,
    pub vmctx: VReg,
    /// Where multiple results are written (hidden argument), when the function has them.
    pub ret_area: Option<VReg>,
}

impl<I: MachInst> Ctx<'_, I> {
    pub fn pop(&mut self) -> Result<Val, CompileError> {
        self.stack
            .pop()
            .ok_or_else(|| internal("operand stack underflow"))
    }
    pub fn pop_n(&mut self, n: usize) -> Result<Vec<Val>, CompileError> {
        if self.stack.len() < n {
            return Err(internal("operand stack underflow"));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }
    pub fn push(&mut self, v: Val) {
        self.stack.push(v)
    }
    pub fn push_reg(&mut self, r: VReg, t: ValType) {
        self.stack.push(Val::Reg(r, t))
    }
}

pub fn internal(msg: &str) -> CompileError {
    CompileError::Internal {
        message: msg.to_string(),
        function: None,
    }
}

/// What an ISA provides to the translator.
pub trait Backend {
    type Inst: MachInst;
    /// Emits the entry instructions; returns the VM context and the parameters.
    fn lower_args(&mut self, ctx: &mut Ctx<Self::Inst>) -> Vec<VReg>;
    /// Puts a value in a register.
    fn materialize(&mut self, ctx: &mut Ctx<Self::Inst>, v: Val) -> VReg;
    /// Lowers a non-control operator (calls included), popping and pushing `ctx.stack`.
    fn lower_op(
        &mut self,
        ctx: &mut Ctx<Self::Inst>,
        op: &Operator,
        offset: u32,
    ) -> Result<(), CompileError>;
    fn jump(&mut self, ctx: &mut Ctx<Self::Inst>, target: BlockId, args: Vec<VReg>);
    fn brif(&mut self, ctx: &mut Ctx<Self::Inst>, cond: Val, taken: BlockId, not_taken: BlockId);
    /// `targets` are distinct; `table` and `default` index into them.
    fn br_table(
        &mut self,
        ctx: &mut Ctx<Self::Inst>,
        index: Val,
        targets: &[BlockId],
        table: Vec<u32>,
        default: u32,
    );
    fn ret(&mut self, ctx: &mut Ctx<Self::Inst>, results: Vec<Val>);
    fn trap(&mut self, ctx: &mut Ctx<Self::Inst>, kind: TrapKind, offset: u32);
}

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
        /// Assigned locals' values at the `if`, for the else arm.
        locals: Vec<Val>,
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
    /// Locals assigned inside the construct: passed at its join point / loop header.
    assigned: std::rc::Rc<[u32]>,
    /// Whether the construct was reachable when entered.
    live: bool,
}

/// For each `block`/`loop`/`if` in order of appearance, the locals assigned inside it.
fn assigned_locals(body: &[u8]) -> Result<Vec<std::rc::Rc<[u32]>>, wasmparser::BinaryReaderError> {
    let fb = FunctionBody::new(BinaryReader::new(body, 0));
    let mut reader = fb.get_operators_reader()?;
    let mut out: Vec<std::rc::Rc<[u32]>> = Vec::new();
    // (index in `out`, assigned locals)
    let mut stack: Vec<(usize, Vec<u32>)> = vec![(usize::MAX, Vec::new())];
    while !reader.eof() {
        match reader.read()? {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                out.push(std::rc::Rc::from(Vec::new()));
                stack.push((out.len() - 1, Vec::new()));
            }
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                if let Some(top) = stack.last_mut() {
                    top.1.push(local_index);
                }
            }
            // The function's own `end` (the bottom entry) has nothing to record.
            Operator::End if stack.len() > 1 => {
                let (i, mut set) = stack.pop().unwrap_or_default();
                set.sort_unstable();
                set.dedup();
                if let Some(parent) = stack.last_mut() {
                    parent.1.extend_from_slice(&set);
                }
                out[i] = std::rc::Rc::from(set);
            }
            _ => {}
        }
    }
    Ok(out)
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
        V::Ref(r) if r.is_func_ref() => ValType::FuncRef,
        V::Ref(r) if r.is_extern_ref() => ValType::ExternRef,
        _ => return Err(internal("unsupported value type")),
    })
}

/// Maximum number of locals per function (as wasmparser's validator).
const MAX_LOCALS: u64 = 50_000;

struct Translator<'s, B: Backend> {
    ctx: Ctx<'s, B::Inst>,
    locals: Vec<Val>,
    local_types: Vec<ValType>,
    frames: Vec<Frame>,
    reachable: bool,
    assigned: Vec<std::rc::Rc<[u32]>>,
    next_construct: usize,
}

/// Translates a stencil into VCode for backend `B`.
pub fn translate<B: Backend>(
    stencil: &FunctionStencil,
    backend: &mut B,
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
    let assigned = assigned_locals(body).map_err(rd)?;

    let mut builder = VCodeBuilder::new();
    let entry = builder.new_block(&[]);
    builder.switch_to(entry);
    let vmctx = builder.new_vreg(RegClass::Int);
    let mut t = Translator::<B> {
        ctx: Ctx {
            builder,
            stack: Vec::new(),
            stencil,
            vmctx,
            ret_area: None,
        },
        locals: Vec::new(),
        local_types,
        frames: Vec::new(),
        reachable: true,
        assigned,
        next_construct: 0,
    };
    let params = backend.lower_args(&mut t.ctx);
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
    while !reader.eof() {
        let (op, off) = reader.read_with_offset().map_err(rd)?;
        t.op(backend, &op, off as u32)?;
        if t.frames.is_empty() {
            break;
        }
    }
    if !t.frames.is_empty() || t.ctx.builder.current().is_some() {
        return Err(internal("function body did not end properly"));
    }
    Ok(t.ctx.builder.finish())
}

impl<'s, B: Backend> Translator<'s, B> {
    fn materialize_all(&mut self, b: &mut B, vals: &[Val]) -> Vec<VReg> {
        vals.iter()
            .map(|v| b.materialize(&mut self.ctx, *v))
            .collect()
    }

    fn top(&self, n: usize) -> Result<Vec<Val>, CompileError> {
        if self.ctx.stack.len() < n {
            return Err(internal("operand stack underflow"));
        }
        Ok(self.ctx.stack[self.ctx.stack.len() - n..].to_vec())
    }

    fn next_assigned(&mut self) -> std::rc::Rc<[u32]> {
        let a = self
            .assigned
            .get(self.next_construct)
            .cloned()
            .unwrap_or_else(|| std::rc::Rc::from(Vec::new()));
        self.next_construct += 1;
        a
    }

    fn join_classes(&self, tys: &[ValType], assigned: &[u32]) -> Vec<RegClass> {
        tys.iter()
            .map(|t| class_of(*t))
            .chain(
                assigned
                    .iter()
                    .map(|l| class_of(self.local_types[*l as usize])),
            )
            .collect()
    }

    /// Branch arguments for jumping to frame `depth` with `vals` as its values.
    fn branch_args(&mut self, b: &mut B, vals: &[Val], assigned: &[u32]) -> Vec<VReg> {
        let mut args = self.materialize_all(b, vals);
        for l in assigned.iter() {
            let v = self.locals[*l as usize];
            args.push(b.materialize(&mut self.ctx, v));
        }
        args
    }

    /// Emits the terminator that branches to the frame at `depth`.
    fn branch_to(&mut self, b: &mut B, depth: u32) -> Result<(), CompileError> {
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
                b.ret(&mut self.ctx, vals);
            }
            FrameKind::Loop { header } => {
                let n = f.params.len();
                let assigned = f.assigned.clone();
                let vals = self.top(n)?;
                let args = self.branch_args(b, &vals, &assigned);
                b.jump(&mut self.ctx, header, args);
            }
            FrameKind::Block | FrameKind::If { .. } => {
                let n = f.results.len();
                let end = f.end.ok_or_else(|| internal("frame without join block"))?;
                let assigned = f.assigned.clone();
                let vals = self.top(n)?;
                let args = self.branch_args(b, &vals, &assigned);
                b.jump(&mut self.ctx, end, args);
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
        self.ctx.stack.truncate(height);
        let params = self.ctx.builder.block_params(end).to_vec();
        for (i, t) in results.iter().enumerate() {
            self.ctx.stack.push(Val::Reg(params[i], *t));
        }
        for (j, l) in assigned.iter().enumerate() {
            let t = self.local_types[*l as usize];
            self.locals[*l as usize] = Val::Reg(params[nresults + j], t);
        }
        self.reachable = true;
    }

    fn op(&mut self, b: &mut B, op: &Operator, off: u32) -> Result<(), CompileError> {
        use Operator as O;
        if !self.reachable {
            match op {
                O::Block { .. } | O::Loop { .. } | O::If { .. } => {
                    let assigned = self.next_assigned();
                    self.frames.push(Frame {
                        kind: FrameKind::Block,
                        end: None,
                        params: vec![],
                        results: vec![],
                        height: self.ctx.stack.len(),
                        assigned,
                        live: false,
                    });
                    return Ok(());
                }
                O::Else | O::End => {}
                _ => return Ok(()),
            }
        }
        match *op {
            O::Unreachable => {
                b.trap(&mut self.ctx, TrapKind::Unreachable, off);
                self.reachable = false;
            }
            O::Nop => {}
            O::Block { blockty } => {
                let (params, results) = block_sig(self.ctx.stencil, blockty)?;
                let assigned = self.next_assigned();
                let classes = self.join_classes(&results, &assigned);
                let end = self.ctx.builder.new_block(&classes);
                self.frames.push(Frame {
                    kind: FrameKind::Block,
                    end: Some(end),
                    height: self.ctx.stack.len() - params.len().min(self.ctx.stack.len()),
                    params,
                    results,
                    assigned,
                    live: true,
                });
            }
            O::Loop { blockty } => {
                let (params, results) = block_sig(self.ctx.stencil, blockty)?;
                let assigned = self.next_assigned();
                let classes = self.join_classes(&params, &assigned);
                let header = self.ctx.builder.new_block(&classes);
                let vals = self.ctx.pop_n(params.len())?;
                let args = self.branch_args(b, &vals, &assigned);
                b.jump(&mut self.ctx, header, args);
                self.ctx.builder.switch_to(header);
                let hp = self.ctx.builder.block_params(header).to_vec();
                for (i, t) in params.iter().enumerate() {
                    self.ctx.stack.push(Val::Reg(hp[i], *t));
                }
                for (j, l) in assigned.iter().enumerate() {
                    let t = self.local_types[*l as usize];
                    self.locals[*l as usize] = Val::Reg(hp[params.len() + j], t);
                }
                self.frames.push(Frame {
                    kind: FrameKind::Loop { header },
                    end: None,
                    height: self.ctx.stack.len() - params.len(),
                    params,
                    results,
                    assigned,
                    live: true,
                });
            }
            O::If { blockty } => {
                let (params, results) = block_sig(self.ctx.stencil, blockty)?;
                let assigned = self.next_assigned();
                let cond = self.ctx.pop()?;
                let classes = self.join_classes(&results, &assigned);
                let end = self.ctx.builder.new_block(&classes);
                let then_b = self.ctx.builder.new_block(&[]);
                let else_b = self.ctx.builder.new_block(&[]);
                let pvals = self.top(params.len())?;
                let lvals = assigned.iter().map(|l| self.locals[*l as usize]).collect();
                b.brif(&mut self.ctx, cond, then_b, else_b);
                self.ctx.builder.switch_to(then_b);
                self.frames.push(Frame {
                    kind: FrameKind::If {
                        else_block: else_b,
                        params: pvals,
                        locals: lvals,
                        has_else: false,
                    },
                    end: Some(end),
                    height: self.ctx.stack.len() - params.len(),
                    params,
                    results,
                    assigned,
                    live: true,
                });
            }
            O::Else => {
                let reachable = self.reachable;
                let f = self
                    .frames
                    .last()
                    .ok_or_else(|| internal("else outside if"))?;
                if !f.live {
                    return Ok(());
                }
                if reachable {
                    self.branch_to(b, 0)?;
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
                let assigned = f.assigned.clone();
                self.ctx.stack.truncate(height);
                self.ctx.stack.extend_from_slice(&params);
                for (l, v) in assigned.iter().zip(saved) {
                    self.locals[*l as usize] = v;
                }
                self.ctx.builder.switch_to(else_block);
                self.reachable = true;
            }
            O::End => {
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
                            b.ret(&mut self.ctx, vals);
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
                            let args = self.branch_args(b, &vals, &f.assigned);
                            b.jump(&mut self.ctx, end, args);
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
                            let mut args = self.materialize_all(b, params);
                            for v in locals.clone() {
                                args.push(b.materialize(&mut self.ctx, v));
                            }
                            b.jump(&mut self.ctx, end, args);
                        }
                        if self.ctx.builder.num_preds(end) > 0 {
                            let n = f.results.len();
                            self.enter_join(end, f.height, n, &f.results, &f.assigned);
                        } else {
                            self.reachable = false;
                            self.ctx.stack.truncate(f.height);
                        }
                    }
                }
            }
            O::Br { relative_depth } => {
                self.branch_to(b, relative_depth)?;
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let cond = self.ctx.pop()?;
                let taken = self.ctx.builder.new_block(&[]);
                let cont = self.ctx.builder.new_block(&[]);
                b.brif(&mut self.ctx, cond, taken, cont);
                self.ctx.builder.switch_to(taken);
                self.branch_to(b, relative_depth)?;
                self.ctx.builder.switch_to(cont);
            }
            O::BrTable { ref targets } => {
                let index = self.ctx.pop()?;
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
                b.br_table(&mut self.ctx, index, &edges, table, default);
                for (e, d) in edges.iter().zip(depths) {
                    self.ctx.builder.switch_to(*e);
                    self.branch_to(b, d)?;
                }
                self.reachable = false;
            }
            O::Return => {
                let depth = self.frames.len() as u32 - 1;
                self.branch_to(b, depth)?;
                self.reachable = false;
            }
            O::Drop => {
                self.ctx.pop()?;
            }
            O::LocalGet { local_index } => {
                let v = *self
                    .locals
                    .get(local_index as usize)
                    .ok_or_else(|| internal("bad local"))?;
                self.ctx.push(v);
            }
            O::LocalSet { local_index } => {
                let v = self.ctx.pop()?;
                *self
                    .locals
                    .get_mut(local_index as usize)
                    .ok_or_else(|| internal("bad local"))? = v;
            }
            O::LocalTee { local_index } => {
                let v = *self
                    .ctx
                    .stack
                    .last()
                    .ok_or_else(|| internal("stack underflow"))?;
                *self
                    .locals
                    .get_mut(local_index as usize)
                    .ok_or_else(|| internal("bad local"))? = v;
            }
            _ => {
                b.lower_op(&mut self.ctx, op, off)?;
            }
        }
        Ok(())
    }
}

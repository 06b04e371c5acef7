//! VCode: machine instructions on virtual registers, in blocks, ready for `regalloc2`.
//!
//! Instructions are ISA-specific (`I`); blocks, block parameters, operands and the
//! [`regalloc2::Function`] implementation are not. The builder fills one block at a time
//! (blocks are created ahead of use and filled later), then [`VCodeBuilder::finish`] lays
//! blocks out in fill order and drops blocks that were never filled.

use crate::error::CompileError;
use regalloc2::{Block, InstRange, Operand, PReg, PRegSet, RegClass, VReg};

/// A register operand of an instruction: the virtual register lowering gave it and, once
/// [`VCode::apply_allocations`] ran, the physical register the allocator chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg {
    vreg: VReg,
    preg: PReg,
}

impl Reg {
    pub fn new(vreg: VReg) -> Reg {
        Reg {
            vreg,
            preg: PReg::invalid(),
        }
    }
    pub fn vreg(self) -> VReg {
        self.vreg
    }
    /// The allocated register. Panics before allocation (a bug in the backend).
    pub fn preg(self) -> PReg {
        assert!(
            self.preg != PReg::invalid(),
            "operand read before allocation"
        );
        self.preg
    }
}

/// How an instruction uses one of its register operands (regalloc2's constraints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandKind {
    /// Read, in any register, at the start of the instruction.
    Use,
    /// Read, in a register that no def of the instruction reuses.
    UseAtEnd,
    /// Written, in any register.
    Def,
    /// Written into the register of operand `n` (two-address forms).
    ReuseDef(usize),
    /// Read in the given register.
    FixedUse(PReg),
    /// Written in the given register.
    FixedDef(PReg),
}

/// What the register allocator needs to know about an instruction.
pub trait MachInst {
    fn is_branch(&self) -> bool;
    fn is_ret(&self) -> bool;
    /// Visits every register operand with its constraint, always in the same order: this
    /// is the only place an instruction's operand order is written. The allocator's
    /// operand list, and the allocations applied back, follow it.
    fn visit_operands(&mut self, visit: &mut dyn FnMut(&mut Reg, OperandKind));
    /// Whether the instruction only computes its results from its operands: no memory
    /// access, no trap, no clobber, no result in a fixed register, and no later instruction reads
    /// anything of it but its results (flags it sets are read, if at all, only by a
    /// branch that also names its result as an operand). Such an instruction with no
    /// use of its results is removed when lowering ends.
    fn is_pure(&self) -> bool;
    /// An instruction without operands or code, put in place of a removed one.
    fn nop() -> Self;
}

fn operand(r: &Reg, kind: OperandKind) -> Operand {
    let v = r.vreg;
    match kind {
        OperandKind::Use => Operand::reg_use(v),
        OperandKind::UseAtEnd => Operand::reg_use_at_end(v),
        OperandKind::Def => Operand::reg_def(v),
        OperandKind::ReuseDef(i) => Operand::reg_reuse_def(v, i),
        OperandKind::FixedUse(p) => Operand::reg_fixed_use(v, p),
        OperandKind::FixedDef(p) => Operand::reg_fixed_def(v, p),
    }
}

/// A block being built, identified by creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockId(pub u32);

#[derive(Debug, Default, Clone)]
struct BlockData {
    params: Vec<VReg>,
    /// Instruction range once filled.
    range: Option<(u32, u32)>,
    succs: Vec<BlockId>,
    /// Arguments passed to each successor (same order as `succs`).
    args: Vec<Vec<VReg>>,
    num_preds: u32,
}

/// Builds a [`VCode`].
pub struct VCodeBuilder<I> {
    insts: Vec<I>,
    operand_ranges: Vec<(u32, u32)>,
    operands: Vec<Operand>,
    clobbers: Vec<(u32, PRegSet)>,
    blocks: Vec<BlockData>,
    fill_order: Vec<BlockId>,
    current: Option<BlockId>,
    current_start: u32,
    num_vregs: u32,
    outgoing: u32,
    vectors: bool,
    /// The instruction that defines each vreg (its index), `u32::MAX` for a vreg no
    /// instruction defines (a block parameter) or not defined yet.
    defs: Vec<u32>,
    /// Which vregs are narrow block parameters (see [`set_narrow`](Self::set_narrow)).
    narrow: Vec<bool>,
}

impl<I: MachInst> Default for VCodeBuilder<I> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I: MachInst> VCodeBuilder<I> {
    pub fn new() -> Self {
        VCodeBuilder {
            insts: Vec::new(),
            operand_ranges: Vec::new(),
            operands: Vec::new(),
            clobbers: Vec::new(),
            blocks: Vec::new(),
            fill_order: Vec::new(),
            current: None,
            current_start: 0,
            num_vregs: 0,
            outgoing: 0,
            vectors: false,
            defs: Vec::new(),
            narrow: Vec::new(),
        }
    }

    /// Marks the function as holding 128-bit vectors in float-class registers, so its
    /// float-class spill slots are 16 bytes (8 otherwise).
    pub fn use_vectors(&mut self) {
        self.vectors = true;
    }

    /// Reserves `bytes` at the bottom of the frame for outgoing stack arguments and
    /// result areas (the frame holds the largest reservation).
    pub fn reserve_outgoing(&mut self, bytes: u32) {
        self.outgoing = self.outgoing.max(bytes);
    }

    pub fn new_vreg(&mut self, class: RegClass) -> VReg {
        let v = VReg::new(self.num_vregs as usize, class);
        self.num_vregs += 1;
        v
    }

    /// Creates a block with parameters of the given classes.
    pub fn new_block(&mut self, param_classes: &[RegClass]) -> BlockId {
        let params = param_classes.iter().map(|c| self.new_vreg(*c)).collect();
        self.blocks.push(BlockData {
            params,
            ..Default::default()
        });
        BlockId(self.blocks.len() as u32 - 1)
    }

    /// Marks block parameter `v` as holding a 32-bit integer (an `i32`) in its wider
    /// register, so that an ISA can keep a promise about the rest of the register on
    /// every edge into its block.
    pub fn set_narrow(&mut self, v: VReg) {
        if self.narrow.len() <= v.vreg() {
            self.narrow.resize(v.vreg() + 1, false);
        }
        self.narrow[v.vreg()] = true;
    }

    /// Whether `v` is a block parameter marked with [`set_narrow`](Self::set_narrow).
    pub fn is_narrow(&self, v: VReg) -> bool {
        self.narrow.get(v.vreg()).copied().unwrap_or(false)
    }

    pub fn block_params(&self, b: BlockId) -> &[VReg] {
        &self.blocks[b.0 as usize].params
    }

    pub fn num_preds(&self, b: BlockId) -> u32 {
        self.blocks[b.0 as usize].num_preds
    }

    /// Starts filling `b`. The previous block must have been terminated.
    pub fn switch_to(&mut self, b: BlockId) {
        debug_assert!(self.current.is_none(), "previous block not terminated");
        debug_assert!(
            self.blocks[b.0 as usize].range.is_none(),
            "block filled twice"
        );
        self.current = Some(b);
        self.current_start = self.insts.len() as u32;
        self.fill_order.push(b);
    }

    pub fn current(&self) -> Option<BlockId> {
        self.current
    }

    /// Appends an instruction to the current block; its operands come from
    /// [`MachInst::visit_operands`].
    pub fn push(&mut self, mut inst: I) {
        let start = self.operands.len() as u32;
        let ops = &mut self.operands;
        inst.visit_operands(&mut |r, kind| ops.push(operand(r, kind)));
        let index = self.insts.len() as u32;
        for op in &self.operands[start as usize..] {
            if op.kind() == regalloc2::OperandKind::Def {
                let v = op.vreg().vreg();
                if self.defs.len() <= v {
                    self.defs.resize(v + 1, u32::MAX);
                }
                self.defs[v] = index;
            }
        }
        self.operand_ranges
            .push((start, self.operands.len() as u32));
        self.insts.push(inst);
    }

    /// Replaces the last instruction of the current block with `inst`, which must define
    /// the same registers; its operands are collected anew.
    pub fn replace_last(&mut self, inst: I) {
        debug_assert!(self.last_in_block().is_some(), "no instruction to replace");
        if let Some((start, _)) = self.operand_ranges.pop() {
            self.operands.truncate(start as usize);
            self.insts.pop();
        }
        self.push(inst);
    }

    /// The instruction that defines `v`, once pushed; `None` for a block parameter.
    pub fn def_of(&self, v: VReg) -> Option<&I> {
        let i = *self.defs.get(v.vreg())?;
        self.insts.get(i as usize)
    }

    /// The last instruction appended to the current block, if it has any.
    pub fn last_in_block(&self) -> Option<&I> {
        let start = self.current_start as usize;
        self.current?;
        self.insts.get(start..)?.last()
    }

    /// Like [`push`](Self::push) for an instruction that clobbers registers.
    pub fn push_clobbers(&mut self, inst: I, clobbers: PRegSet) {
        self.clobbers.push((self.insts.len() as u32, clobbers));
        self.push(inst);
    }

    /// Appends the terminator of the current block and ends it. `succs[i]` receives
    /// `args[i]`.
    pub fn terminate(&mut self, inst: I, succs: &[(BlockId, Vec<VReg>)]) {
        self.push(inst);
        let b = self.current.take().expect("no current block");
        let end = self.insts.len() as u32;
        for (s, _) in succs {
            self.blocks[s.0 as usize].num_preds += 1;
        }
        let data = &mut self.blocks[b.0 as usize];
        data.range = Some((self.current_start, end));
        data.succs = succs.iter().map(|(s, _)| *s).collect();
        data.args = succs.iter().map(|(_, a)| a.clone()).collect();
    }

    /// Lays out the filled blocks in fill order.
    pub fn finish(mut self) -> VCode<I> {
        self.remove_unused();
        let mut layout = vec![u32::MAX; self.blocks.len()];
        for (i, b) in self.fill_order.iter().enumerate() {
            layout[b.0 as usize] = i as u32;
        }
        let n = self.fill_order.len();
        let mut block_ranges = Vec::with_capacity(n);
        let mut block_succs = Vec::with_capacity(n);
        let mut block_preds = vec![Vec::new(); n];
        let mut block_params = Vec::with_capacity(n);
        let mut branch_args = Vec::with_capacity(n);
        for (i, b) in self.fill_order.iter().enumerate() {
            let d = &self.blocks[b.0 as usize];
            let (s, e) = d.range.expect("filled block without terminator");
            block_ranges.push(InstRange::new(
                regalloc2::Inst::new(s as usize),
                regalloc2::Inst::new(e as usize),
            ));
            let succs: Vec<Block> = d
                .succs
                .iter()
                .map(|s| Block::new(layout[s.0 as usize] as usize))
                .collect();
            for s in &succs {
                block_preds[s.index()].push(Block::new(i));
            }
            block_succs.push(succs);
            block_params.push(d.params.clone());
            branch_args.push(d.args.clone());
        }
        // Instructions are already in fill order: blocks were filled one after another.
        let mut clobbers = vec![PRegSet::empty(); self.insts.len()];
        for (i, c) in self.clobbers {
            clobbers[i as usize] = c;
        }
        VCode {
            insts: self.insts,
            operand_ranges: self.operand_ranges,
            operands: self.operands,
            clobbers,
            block_ranges,
            block_succs,
            block_preds,
            block_params,
            branch_args,
            num_vregs: self.num_vregs as usize,
            outgoing: self.outgoing,
            vectors: self.vectors,
        }
    }
}

/// Machine instructions on virtual registers, in laid-out blocks.
pub struct VCode<I> {
    pub insts: Vec<I>,
    operand_ranges: Vec<(u32, u32)>,
    operands: Vec<Operand>,
    clobbers: Vec<PRegSet>,
    block_ranges: Vec<InstRange>,
    block_succs: Vec<Vec<Block>>,
    block_preds: Vec<Vec<Block>>,
    block_params: Vec<Vec<VReg>>,
    branch_args: Vec<Vec<Vec<VReg>>>,
    num_vregs: usize,
    outgoing: u32,
    vectors: bool,
}

impl<I> VCode<I> {
    pub fn num_blocks(&self) -> usize {
        self.block_ranges.len()
    }
    pub fn block_range(&self, b: usize) -> InstRange {
        self.block_ranges[b]
    }
    pub fn succs(&self, b: usize) -> &[Block] {
        &self.block_succs[b]
    }
    /// Bytes the frame reserves for outgoing stack arguments and result areas.
    pub fn outgoing_bytes(&self) -> u32 {
        self.outgoing
    }
    /// Whether float-class values may be 128-bit vectors: spill slots of that class are
    /// then two 8-byte slots.
    pub fn has_vectors(&self) -> bool {
        self.vectors
    }
}

impl<I: MachInst> VCodeBuilder<I> {
    /// Replaces each [pure](MachInst::is_pure) instruction whose results no instruction
    /// and no branch argument uses with [`MachInst::nop`], keeping its index. Latest
    /// first, so an instruction whose only users were removed goes too: the pieces of a
    /// byte swap written out, a shift folded into an address's scaled index.
    fn remove_unused(&mut self) {
        use regalloc2::OperandKind::{Def, Use};
        let mut uses = vec![0u32; self.num_vregs as usize];
        let used = self.operands.iter().filter(|op| op.kind() == Use);
        for v in used.map(|op| op.vreg()) {
            uses[v.vreg()] += 1;
        }
        for v in self.blocks.iter().flat_map(|b| b.args.iter().flatten()) {
            uses[v.vreg()] += 1;
        }
        for i in (0..self.insts.len()).rev() {
            let (start, end) = self.operand_ranges[i];
            let ops = &self.operands[start as usize..end as usize];
            let live = |op: &Operand| op.kind() == Def && uses[op.vreg().vreg()] > 0;
            if !self.insts[i].is_pure() || ops.iter().any(live) {
                continue;
            }
            for op in ops.iter().filter(|op| op.kind() == Use) {
                uses[op.vreg().vreg()] -= 1;
            }
            self.insts[i] = I::nop();
            self.operand_ranges[i] = (start, start);
        }
    }
}

impl<I: MachInst> VCode<I> {
    /// Writes the allocator's choice into every register operand, so emission reads
    /// named fields. Every operand has a register constraint, so every allocation is a
    /// register.
    pub fn apply_allocations(&mut self, out: &regalloc2::Output) {
        for (i, inst) in self.insts.iter_mut().enumerate() {
            let allocs = out.inst_allocs(regalloc2::Inst::new(i));
            let mut k = 0;
            inst.visit_operands(&mut |r, _| {
                r.preg = allocs[k]
                    .as_reg()
                    .expect("register operands are allocated to registers");
                k += 1;
            });
        }
    }
}

impl<I: MachInst> regalloc2::Function for VCode<I> {
    fn num_insts(&self) -> usize {
        self.insts.len()
    }
    fn num_blocks(&self) -> usize {
        self.block_ranges.len()
    }
    fn entry_block(&self) -> Block {
        Block::new(0)
    }
    fn block_insns(&self, block: Block) -> InstRange {
        self.block_ranges[block.index()]
    }
    fn block_succs(&self, block: Block) -> &[Block] {
        &self.block_succs[block.index()]
    }
    fn block_preds(&self, block: Block) -> &[Block] {
        &self.block_preds[block.index()]
    }
    fn block_params(&self, block: Block) -> &[VReg] {
        &self.block_params[block.index()]
    }
    fn is_ret(&self, insn: regalloc2::Inst) -> bool {
        self.insts[insn.index()].is_ret()
    }
    fn is_branch(&self, insn: regalloc2::Inst) -> bool {
        self.insts[insn.index()].is_branch()
    }
    fn branch_blockparams(&self, block: Block, _insn: regalloc2::Inst, succ_idx: usize) -> &[VReg] {
        &self.branch_args[block.index()][succ_idx]
    }
    fn inst_operands(&self, insn: regalloc2::Inst) -> &[Operand] {
        let (s, e) = self.operand_ranges[insn.index()];
        &self.operands[s as usize..e as usize]
    }
    fn inst_clobbers(&self, insn: regalloc2::Inst) -> PRegSet {
        self.clobbers[insn.index()]
    }
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    fn spillslot_size(&self, regclass: RegClass) -> usize {
        match regclass {
            RegClass::Vector => 2,
            RegClass::Float if self.vectors => 2,
            _ => 1,
        }
    }
}

/// The registers of `regs` (general-purpose, by hardware encoding, in that order) that
/// the allocation `ra` uses anywhere: in an operand or a move. An emitter saves the
/// callee-saved ones among them in its prologue.
pub fn used_int_regs(ra: &regalloc2::Output, regs: &[u8]) -> Vec<u8> {
    let mut used = [false; 64];
    let mut note = |a: &regalloc2::Allocation| {
        if let Some(r) = a.as_reg() {
            if r.class() == RegClass::Int {
                used[r.hw_enc()] = true;
            }
        }
    };
    ra.allocs.iter().for_each(&mut note);
    for (_, regalloc2::Edit::Move { from, to }) in &ra.edits {
        note(from);
        note(to);
    }
    regs.iter().copied().filter(|r| used[*r as usize]).collect()
}

/// For each block, the block control reaches from it without executing anything: itself,
/// or, for a block that is a bare jump (`is_jump`, and no moves), the destination of that
/// jump, followed through such blocks. The entry block and blocks on a cycle of bare
/// jumps stay themselves.
pub fn forwarding<I: MachInst>(
    vcode: &VCode<I>,
    ra: &regalloc2::Output,
    is_jump: impl Fn(&I) -> bool,
) -> Vec<usize> {
    use regalloc2::{Edit, InstOrEdit};
    let n = vcode.num_blocks();
    let bare = |b: usize| {
        b != 0
            && ra
                .block_insts_and_edits(vcode, regalloc2::Block::new(b))
                .all(|ie| match ie {
                    InstOrEdit::Inst(i) => is_jump(&vcode.insts[i.index()]),
                    InstOrEdit::Edit(Edit::Move { from, to }) => from == to,
                })
    };
    let is_bare: Vec<bool> = (0..n).map(bare).collect();
    (0..n)
        .map(|b| {
            let mut d = b;
            for _ in 0..n {
                if !is_bare[d] {
                    return d;
                }
                d = vcode.succs(d)[0].index();
            }
            // A cycle of bare jumps: an infinite loop, kept as it is.
            b
        })
        .collect()
}

/// Runs the register allocator on `vcode`, applies its allocations to the instructions
/// and hands the result to `emit`.
///
/// With the `check-regalloc` feature the input's SSA form is validated and regalloc2's
/// checker proves the allocation (every use reads the value its vreg holds); a failure is
/// an internal error. Debug builds validate SSA too.
pub fn allocate<I: MachInst, R>(
    vcode: &mut VCode<I>,
    env: &regalloc2::MachineEnv,
    algorithm: regalloc2::Algorithm,
    emit: impl FnOnce(&VCode<I>, &regalloc2::Output) -> R,
) -> Result<R, CompileError> {
    let opts = regalloc2::RegallocOptions {
        verbose_log: false,
        validate_ssa: cfg!(debug_assertions) || cfg!(feature = "check-regalloc"),
        algorithm,
    };
    // The allocator's working memory is reused across the functions a thread compiles
    // instead of being allocated afresh per function.
    thread_local! {
        static CTX: std::cell::RefCell<regalloc2::Ctx> = std::cell::RefCell::new(regalloc2::Ctx::default());
    }
    CTX.with(|ctx| {
        let mut ctx = ctx.borrow_mut();
        let out = regalloc2::run_with_ctx(&*vcode, env, &opts, &mut ctx).map_err(|e| {
            CompileError::Internal {
                message: format!("register allocation failed: {e}"),
                function: None,
            }
        })?;
        #[cfg(feature = "check-regalloc")]
        {
            let mut checker = regalloc2::checker::Checker::new(&*vcode, env);
            checker.prepare(out);
            checker.run().map_err(|e| CompileError::Internal {
                message: format!("register allocation checker: {e:?}"),
                function: None,
            })?;
        }
        vcode.apply_allocations(out);
        Ok(emit(vcode, out))
    })
}

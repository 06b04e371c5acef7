//! Interruption checks (see [`Interruption`]): fuel accounting around control operators,
//! and the fuel and epoch checks at function entry and loop headers, in terms of the
//! ordinary [`Lower`] hooks. The store state's fields are read through the VM context's
//! store pointer; a failed check branches to a trap block laid out after the function's
//! code, so the check costs one compare and one not-taken branch.

use super::Translator;
use crate::error::CompileError;
use crate::lower::{IntBinOp, IntCC, Lower, Val};
use wasmparser::Operator;
use wasmprecomp_artifact::{
    Interruption, TrapKind, ValType, STORE_EPOCH, STORE_EPOCH_DEADLINE, STORE_FUEL, VMCTX_STORE,
};

/// The fuel an operator costs (as Wasmtime counts it: structure and `nop`/`drop` are
/// free).
fn fuel_cost(op: &Operator) -> u64 {
    use Operator::*;
    match op {
        Nop | Drop | Block { .. } | Loop { .. } | End | Else | Unreachable | Return => 0,
        _ => 1,
    }
}

/// Whether an operator ends a straight-line run: the fuel consumed so far is charged
/// before it.
fn ends_run(op: &Operator) -> bool {
    use Operator::*;
    matches!(
        op,
        Unreachable
            | Return
            | Call { .. }
            | CallIndirect { .. }
            | ReturnCall { .. }
            | ReturnCallIndirect { .. }
            | Br { .. }
            | BrIf { .. }
            | BrTable { .. }
            | Loop { .. }
            | If { .. }
            | Else
            | End
    )
}

impl<B: Lower> Translator<'_, '_, B> {
    pub(super) fn interruption(&self) -> Interruption {
        self.interruption
    }

    /// Counts `op`'s fuel and, before an operator that ends a straight-line run, charges
    /// what the run consumed. Called before each reachable operator when fuel is on.
    pub(super) fn fuel_before(&mut self, op: &Operator) {
        self.fuel_pending += fuel_cost(op);
        if ends_run(op) {
            self.charge_fuel();
        }
    }

    /// Subtracts the fuel consumed since the last charge from the store's fuel.
    fn charge_fuel(&mut self) {
        let pending = std::mem::take(&mut self.fuel_pending);
        if pending == 0 || !self.reachable {
            return;
        }
        let store = self.store_ptr();
        let fuel = self.isa.load_ptr(&mut self.ctx, store, STORE_FUEL as i32);
        let left = self.isa.int_bin(
            &mut self.ctx,
            IntBinOp::Sub,
            ValType::I64,
            Val::Reg(fuel, ValType::I64),
            Val::Const(ValType::I64, pending),
        );
        self.isa
            .store_ptr(&mut self.ctx, store, STORE_FUEL as i32, left);
    }

    fn store_ptr(&mut self) -> regalloc2::VReg {
        let vmctx = self.ctx.vmctx;
        self.isa.load_ptr(&mut self.ctx, vmctx, VMCTX_STORE as i32)
    }

    /// The checks of function entry and loop headers: out of fuel, epoch deadline reached.
    pub(super) fn interruption_checks(&mut self) -> Result<(), CompileError> {
        let i = self.interruption;
        if !i.fuel && !i.epoch {
            return Ok(());
        }
        let store = self.store_ptr();
        if i.fuel {
            let fuel = self.isa.load_ptr(&mut self.ctx, store, STORE_FUEL as i32);
            let out = self.isa.compare(
                &mut self.ctx,
                ValType::I64,
                IntCC::LeS,
                Val::Reg(fuel, ValType::I64),
                Val::Const(ValType::I64, 0),
            );
            self.cold_trap(Val::Cmp(out), TrapKind::OutOfFuel);
        }
        if i.epoch {
            let counter = self.isa.load_ptr(&mut self.ctx, store, STORE_EPOCH as i32);
            let epoch = self.isa.load_ptr(&mut self.ctx, counter, 0);
            let deadline = self
                .isa
                .load_ptr(&mut self.ctx, store, STORE_EPOCH_DEADLINE as i32);
            let reached = self.isa.compare(
                &mut self.ctx,
                ValType::I64,
                IntCC::GeU,
                Val::Reg(epoch, ValType::I64),
                Val::Reg(deadline, ValType::I64),
            );
            self.cold_trap(Val::Cmp(reached), TrapKind::Interrupt);
        }
        Ok(())
    }

    /// Branches to a trap of `kind` at the current operator when `cond` holds, and goes on
    /// in a fresh block otherwise. The trap block is filled after the function's code.
    fn cold_trap(&mut self, cond: Val, kind: TrapKind) {
        let trap = self.ctx.builder.new_block(&[]);
        let cont = self.ctx.builder.new_block(&[]);
        self.isa.brif(&mut self.ctx, cond, trap, cont);
        self.cold_traps.push((trap, kind, self.offset));
        self.ctx.builder.switch_to(cont);
    }

    /// Fills the trap blocks of the checks, after every other block.
    pub(super) fn finish_cold_traps(&mut self) {
        for (block, kind, offset) in std::mem::take(&mut self.cold_traps) {
            self.ctx.builder.switch_to(block);
            self.isa.trap(&mut self.ctx, kind, offset);
        }
    }
}

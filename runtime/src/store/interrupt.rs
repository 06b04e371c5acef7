//! Interruption: the engine's epoch counter, and a store's fuel and epoch deadline, which
//! code compiled with the matching [`Interruption`] checks at function entry and loop
//! headers (the fields' layout is `artifact`'s `STORE_FUEL`, `STORE_EPOCH_DEADLINE` and
//! `STORE_EPOCH`).

use super::StoreData;
use crate::InterruptionError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wasmprecomp_artifact::Interruption;

/// The epoch counter stores share: a host thread calls [`Engine::increment_epoch`] (a
/// timer, say) and code compiled with epoch interruption in every store created with
/// this engine traps with [`TrapKind::Interrupt`](crate::TrapKind::Interrupt) at its next
/// check once the epoch reaches its store's deadline. Cheap to clone; clones share the
/// counter, and an `Engine` may move to and be used from any thread.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    epoch: Arc<AtomicU64>,
}

impl Engine {
    /// An engine whose epoch is 0.
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Advances the epoch by one. Safe from any thread, while stores run.
    pub fn increment_epoch(&self) {
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// The current epoch.
    pub fn current_epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// The counter compiled code reads, alive as long as any clone of this engine.
    pub(crate) fn counter(&self) -> *const AtomicU64 {
        Arc::as_ptr(&self.epoch)
    }
}

impl StoreData {
    /// The interruption checks this store runs code with: a module instantiates in it only
    /// when compiled with the same ones.
    pub fn interruption(&self) -> Interruption {
        self.inner().interruption
    }

    /// The engine whose epoch this store's deadline counts in.
    pub fn engine(&self) -> &Engine {
        &self.inner().engine
    }

    fn require(&self, fuel: bool) -> Result<(), InterruptionError> {
        let i = self.interruption();
        if (fuel && !i.fuel) || (!fuel && !i.epoch) {
            return Err(InterruptionError {
                what: if fuel { "fuel" } else { "epoch" },
            });
        }
        Ok(())
    }

    /// Sets the fuel left to `fuel` units (at most `i64::MAX`). A new store has none:
    /// its code traps with [`TrapKind::OutOfFuel`](crate::TrapKind::OutOfFuel) at the
    /// first check until fuel is set.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<(), InterruptionError> {
        self.require(true)?;
        self.inner_mut().fuel = fuel.min(i64::MAX as u64) as i64;
        Ok(())
    }

    /// The fuel left. Code charges a straight-line run's fuel before the control operator
    /// that ends it and checks at function entry and loop headers, so a run may take the
    /// count below zero; that reads as 0.
    pub fn get_fuel(&self) -> Result<u64, InterruptionError> {
        self.require(true)?;
        Ok(self.inner().fuel.max(0) as u64)
    }

    /// Sets the deadline to `ticks` epochs after the engine's current one: code traps
    /// with [`TrapKind::Interrupt`](crate::TrapKind::Interrupt) at its next check once the
    /// epoch has reached it. A new store's deadline is the engine's epoch when it was
    /// created, so set one before calling in.
    pub fn set_epoch_deadline(&mut self, ticks: u64) -> Result<(), InterruptionError> {
        self.require(false)?;
        let now = self.inner().engine.current_epoch();
        self.inner_mut().epoch_deadline = now.saturating_add(ticks);
        Ok(())
    }
}

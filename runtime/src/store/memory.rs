//! Linear memories: the descriptor compiled code reads, the reservation behind it, and
//! the host API.

use super::{Slot, StoreData, StoreInner};
use std::ptr::NonNull;
use wasmprecomp_artifact::{TrapKind, MEMORY_RESERVATION, VMMEMORY_BASE, VMMEMORY_LEN};

pub(crate) const PAGE: u64 = 65536;
pub(crate) const MAX_PAGES: u64 = 65536;

indexed_handle! {
    /// A linear memory of a store.
    Memory
}

/// A memory descriptor as compiled code reads it.
#[repr(C)]
pub(crate) struct VMMemory {
    pub base: *mut u8,
    /// In bytes.
    pub len: u64,
}

const _: () = {
    assert!(std::mem::offset_of!(VMMemory, base) == VMMEMORY_BASE as usize);
    assert!(std::mem::offset_of!(VMMemory, len) == VMMEMORY_LEN as usize);
};

/// A memory: address space reserved for all 4 GiB a 32-bit address reaches plus the
/// guard region ([`MEMORY_RESERVATION`]), whatever its maximum, so its base never moves and
/// code compiled with guard-page bounds checks faults on any access past its current size
/// (see `fault.rs`); committed up to its current size.
pub(crate) struct MemoryInstance {
    /// The descriptor compiled code reads; only this memory writes it.
    vm: Slot<VMMemory>,
    /// Start of the reservation (the descriptor's base), kept here to unmap it.
    base: *mut u8,
    reserved: usize,
    max_pages: u64,
}

impl MemoryInstance {
    /// A memory whose descriptor it owns.
    pub(crate) fn new_host(min: u64, max: Option<u64>) -> Result<MemoryInstance, String> {
        let vm = Slot::owned(VMMemory {
            base: std::ptr::null_mut(),
            len: 0,
        });
        MemoryInstance::new(vm, min, max)
    }

    /// A memory whose descriptor is the VM-context slot `vm`.
    ///
    /// # Safety
    ///
    /// `vm` must be valid for reads and writes for as long as the returned memory is used,
    /// and written by nothing but this memory (compiled code only reads it).
    pub(crate) unsafe fn in_vmctx(
        vm: NonNull<VMMemory>,
        min: u64,
        max: Option<u64>,
    ) -> Result<MemoryInstance, String> {
        // SAFETY: the caller's promise.
        MemoryInstance::new(unsafe { Slot::in_vmctx(vm) }, min, max)
    }

    fn new(vm: Slot<VMMemory>, min: u64, max: Option<u64>) -> Result<MemoryInstance, String> {
        let max_pages = max.unwrap_or(MAX_PAGES).min(MAX_PAGES);
        if min > max_pages {
            return Err(format!("memory minimum {min} exceeds its maximum"));
        }
        let reserved = MEMORY_RESERVATION as usize;
        let base = {
            // SAFETY: a fresh anonymous reservation; pages become accessible only through
            // mprotect in `grow_to`.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    reserved,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(format!(
                    "cannot reserve {reserved} bytes for a memory: {}",
                    std::io::Error::last_os_error()
                ));
            }
            p as *mut u8
        };
        // SAFETY: the slot is valid and only this memory writes it.
        unsafe { *vm.as_ptr() = VMMemory { base, len: 0 } };
        let m = MemoryInstance {
            vm,
            base,
            reserved,
            max_pages,
        };
        if !m.grow_to(min) {
            return Err("cannot commit the memory's initial pages".into());
        }
        Ok(m)
    }

    /// The descriptor's address, for the VM contexts that import the memory.
    pub(crate) fn descriptor(&self) -> *mut VMMemory {
        self.vm.as_ptr()
    }

    fn len(&self) -> u64 {
        // SAFETY: the slot is valid while the memory lives.
        unsafe { (*self.vm.as_ptr()).len }
    }

    pub(crate) fn pages(&self) -> u64 {
        self.len() / PAGE
    }

    /// The maximum in pages, when the memory has one below the implementation limit.
    pub(crate) fn max(&self) -> Option<u64> {
        (self.max_pages < MAX_PAGES).then_some(self.max_pages)
    }

    /// Whether `addr` lies in the memory's reservation.
    pub(crate) fn reserves(&self, addr: usize) -> bool {
        let base = self.base as usize;
        addr >= base && addr - base < self.reserved
    }

    fn grow_to(&self, pages: u64) -> bool {
        if pages > self.max_pages {
            return false;
        }
        let old = self.len() as usize;
        let new = (pages * PAGE) as usize;
        if new > old {
            // SAFETY: `old..new` lies within our reservation (`pages <= max_pages`).
            let r = unsafe {
                libc::mprotect(
                    self.base.add(old) as *mut libc::c_void,
                    new - old,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if r != 0 {
                return false;
            }
        }
        // SAFETY: the slot is valid and only this memory writes it.
        unsafe { (*self.vm.as_ptr()).len = new as u64 };
        true
    }

    /// Grows by `delta` pages; the old size in pages.
    pub(crate) fn grow(&self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        self.grow_to(new).then_some(old)
    }

    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: base..base+len is committed read-write memory this instance owns.
        unsafe { std::slice::from_raw_parts(self.base, self.len() as usize) }
    }

    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; `&mut self` makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len() as usize) }
    }

    /// `memory.fill`.
    pub(crate) fn fill(&mut self, dst: u32, val: u8, len: u32) -> Result<(), TrapKind> {
        let m = self.data_mut();
        let (d, n) = (dst as usize, len as usize);
        if d + n > m.len() {
            return Err(TrapKind::MemoryOutOfBounds);
        }
        m[d..d + n].fill(val);
        Ok(())
    }

    /// Copies `bytes[src..src + len]` to `dst` (`memory.init`, active data segments).
    pub(crate) fn init(
        &mut self,
        dst: u32,
        bytes: &[u8],
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        let m = self.data_mut();
        let (d, s, n) = (dst as usize, src as usize, len as usize);
        if s + n > bytes.len() || d + n > m.len() {
            return Err(TrapKind::MemoryOutOfBounds);
        }
        m[d..d + n].copy_from_slice(&bytes[s..s + n]);
        Ok(())
    }
}

impl Drop for MemoryInstance {
    fn drop(&mut self) {
        // SAFETY: unmapping our own reservation; the store drops only when no code of it
        // runs.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.reserved);
        }
    }
}

impl StoreInner {
    /// Adds `m`; its handle.
    pub(crate) fn push_memory(&mut self, m: MemoryInstance) -> Memory {
        self.memories.push(m);
        Memory {
            store: self.id,
            index: self.memories.len() as u32 - 1,
        }
    }

    /// The memory `m` names.
    #[track_caller]
    pub(crate) fn memory(&self, m: Memory) -> &MemoryInstance {
        self.check(m);
        &self.memories[m.index as usize]
    }

    #[track_caller]
    pub(crate) fn memory_mut(&mut self, m: Memory) -> &mut MemoryInstance {
        self.check(m);
        &mut self.memories[m.index as usize]
    }

    /// `memory.copy` between two memories of this store (the same one or two). The
    /// handles come from one of its instances, so they are not checked again.
    pub(crate) fn memory_copy(
        &mut self,
        dm: Memory,
        sm: Memory,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        debug_assert!(dm.store == self.id && sm.store == self.id);
        let (di, si) = (dm.index as usize, sm.index as usize);
        let (d, s, n) = (dst as usize, src as usize, len as usize);
        if d + n > self.memories[di].data().len() || s + n > self.memories[si].data().len() {
            return Err(TrapKind::MemoryOutOfBounds);
        }
        if di == si {
            self.memories[di].data_mut().copy_within(s..s + n, d);
        } else {
            let (dm, sm) = super::pair_mut(&mut self.memories, di, si);
            dm.data_mut()[d..d + n].copy_from_slice(&sm.data()[s..s + n]);
        }
        Ok(())
    }
}

impl StoreData {
    /// Creates a host memory of `min` pages, growable to `max`, when the store's limiter
    /// allows a memory of `min` pages.
    pub fn new_memory(&mut self, min: u64, max: Option<u64>) -> Result<Memory, String> {
        if !self.inner_mut().memory_growing(0, min, max) {
            return Err(format!(
                "a memory of {min} pages is refused by the store's resource limiter"
            ));
        }
        let m = MemoryInstance::new_host(min, max)?;
        Ok(self.inner_mut().push_memory(m))
    }

    /// The bytes of a memory. The slice borrows the store, so it cannot outlive a grow
    /// (or a call, which may grow the memory):
    ///
    /// ```compile_fail
    /// let mut store = wasmprecomp_runtime::Store::new();
    /// let m = store.new_memory(1, None).unwrap();
    /// let bytes = store.memory_data(m);
    /// store.memory_grow(m, 1);
    /// let _ = bytes[0];
    /// ```
    ///
    /// # Panics
    ///
    /// When `m` comes from another store (as every method here that takes a handle).
    #[track_caller]
    pub fn memory_data(&self, m: Memory) -> &[u8] {
        self.inner().memory(m).data()
    }

    #[track_caller]
    pub fn memory_data_mut(&mut self, m: Memory) -> &mut [u8] {
        self.inner_mut().memory_mut(m).data_mut()
    }

    /// The size of a memory in pages.
    #[track_caller]
    pub fn memory_pages(&self, m: Memory) -> u64 {
        self.inner().memory(m).pages()
    }

    /// Grows a memory when its maximum and the store's limiter allow; returns the old
    /// size in pages.
    #[track_caller]
    pub fn memory_grow(&mut self, m: Memory, delta: u64) -> Option<u64> {
        self.inner_mut().grow_memory(m, delta)
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn host_memories_grow_up_to_their_maximum() {
        let mut store = Store::new();
        let m = store.new_memory(1, Some(2)).unwrap();
        assert_eq!(store.memory_data(m).len(), 65536);
        assert_eq!(store.memory_grow(m, 1), Some(1));
        assert_eq!(store.memory_grow(m, 1), None);
        store.memory_data_mut(m)[65536 * 2 - 1] = 7;
        assert_eq!(store.memory_pages(m), 2);
    }

    /// A store, and a memory of another store.
    fn foreign_memory() -> (Store, crate::Memory) {
        let mut a = Store::new();
        let m = a.new_memory(1, None).unwrap();
        (Store::new(), m)
    }

    #[test]
    #[should_panic(expected = "Memory handle used with a store other than the one that created it")]
    fn memory_data_of_another_stores_memory_panics() {
        let (b, m) = foreign_memory();
        let _ = b.memory_data(m);
    }

    #[test]
    #[should_panic(expected = "Memory handle used with a store other than the one that created it")]
    fn memory_data_mut_of_another_stores_memory_panics() {
        let (mut b, m) = foreign_memory();
        let _ = b.memory_data_mut(m);
    }

    #[test]
    #[should_panic(expected = "Memory handle used with a store other than the one that created it")]
    fn memory_pages_of_another_stores_memory_panics() {
        let (b, m) = foreign_memory();
        b.memory_pages(m);
    }

    #[test]
    #[should_panic(expected = "Memory handle used with a store other than the one that created it")]
    fn growing_another_stores_memory_panics() {
        let (mut b, m) = foreign_memory();
        b.memory_grow(m, 1);
    }
}

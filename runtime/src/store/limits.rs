//! Resource limits: a per-store [`ResourceLimiter`] asked before every memory and table
//! grows (in `memory.grow`, `table.grow`, the host API and instantiation), and
//! [`StoreLimits`], the limiter for fixed ceilings.

use super::StoreData;

/// Decides whether a store's memories and tables may grow, and how many instances,
/// memories and tables the store may hold. Installed with [`StoreData::set_limiter`].
///
/// A refused `memory.grow` or `table.grow` returns -1 to the guest, as for any failed
/// growth; a refused initial size, or counts over the limits, fail instantiation with
/// [`InstantiateError::Resource`](crate::InstantiateError::Resource).
pub trait ResourceLimiter {
    /// Whether a memory may grow from `current` to `desired` bytes; `maximum` is the
    /// memory's own maximum, when it declares one. A memory being created asks with
    /// `current` 0 and its initial size as `desired`.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// Whether a table may grow from `current` to `desired` elements; `maximum` as for
    /// memories, and a table being created asks like one.
    fn table_growing(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool;

    /// How many instances the store may hold.
    fn instances(&self) -> usize {
        usize::MAX
    }

    /// How many memories (defined by instances or created by the host) the store may hold.
    fn memories(&self) -> usize {
        usize::MAX
    }

    /// How many tables the store may hold.
    fn tables(&self) -> usize {
        usize::MAX
    }
}

/// A limiter with fixed ceilings: bytes per memory, elements per table, and counts of
/// instances, memories and tables (every one unlimited unless set).
///
/// ```
/// use wasmprecomp_runtime::{Store, StoreLimits};
/// let mut store = Store::new();
/// store.set_limiter(StoreLimits::new().memory_size(1 << 20).instances(4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    memory_size: usize,
    table_elements: u64,
    instances: usize,
    memories: usize,
    tables: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            memory_size: usize::MAX,
            table_elements: u64::MAX,
            instances: usize::MAX,
            memories: usize::MAX,
            tables: usize::MAX,
        }
    }
}

impl StoreLimits {
    /// No limits.
    pub fn new() -> StoreLimits {
        StoreLimits::default()
    }
    /// Each memory at most `bytes` bytes.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.memory_size = bytes;
        self
    }
    /// Each table at most `elements` elements.
    pub fn table_elements(mut self, elements: u64) -> Self {
        self.table_elements = elements;
        self
    }
    /// At most `n` instances.
    pub fn instances(mut self, n: usize) -> Self {
        self.instances = n;
        self
    }
    /// At most `n` memories.
    pub fn memories(mut self, n: usize) -> Self {
        self.memories = n;
        self
    }
    /// At most `n` tables.
    pub fn tables(mut self, n: usize) -> Self {
        self.tables = n;
        self
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> bool {
        desired <= self.memory_size
    }
    fn table_growing(&mut self, _current: u64, desired: u64, _max: Option<u64>) -> bool {
        desired <= self.table_elements
    }
    fn instances(&self) -> usize {
        self.instances
    }
    fn memories(&self) -> usize {
        self.memories
    }
    fn tables(&self) -> usize {
        self.tables
    }
}

/// Bytes per WebAssembly page.
const PAGE: u64 = 65536;

fn bytes(pages: u64) -> usize {
    pages.saturating_mul(PAGE).try_into().unwrap_or(usize::MAX)
}

impl super::StoreInner {
    /// Whether the limiter lets a memory grow from `current` to `desired` pages.
    pub(crate) fn memory_growing(&mut self, current: u64, desired: u64, max: Option<u64>) -> bool {
        match &mut self.limiter {
            Some(l) => l.memory_growing(bytes(current), bytes(desired), max.map(bytes)),
            None => true,
        }
    }

    /// Whether the limiter lets a table grow from `current` to `desired` elements.
    pub(crate) fn table_growing(&mut self, current: u64, desired: u64, max: Option<u64>) -> bool {
        match &mut self.limiter {
            Some(l) => l.table_growing(current, desired, max),
            None => true,
        }
    }

    /// Grows memory `m` by `delta` pages when its maximum and the limiter allow; the old
    /// size in pages.
    pub(crate) fn grow_memory(&mut self, m: super::Memory, delta: u64) -> Option<u64> {
        let mem = self.memory(m);
        let (cur, max) = (mem.pages(), mem.max());
        if delta > 0 && !self.memory_growing(cur, cur.saturating_add(delta), max) {
            return None;
        }
        self.memory(m).grow(delta)
    }

    /// Grows table `t` by `delta` elements set to `init` when its maximum and the limiter
    /// allow; the old size.
    pub(crate) fn grow_table(&mut self, t: super::Table, delta: u64, init: u64) -> Option<u64> {
        let tab = self.table(t);
        let (cur, max) = (tab.elems.len() as u64, tab.max);
        if delta > 0 && !self.table_growing(cur, cur.saturating_add(delta), max) {
            return None;
        }
        self.table_mut(t).grow(delta, init)
    }

    /// The limiter's counts: (instances, memories, tables).
    pub(crate) fn count_limits(&self) -> (usize, usize, usize) {
        match &self.limiter {
            Some(l) => (l.instances(), l.memories(), l.tables()),
            None => (usize::MAX, usize::MAX, usize::MAX),
        }
    }
}

impl StoreData {
    /// Installs `limiter`, asked from now on before every memory or table grows and at
    /// every instantiation. Replaces an earlier one.
    pub fn set_limiter(&mut self, limiter: impl ResourceLimiter + 'static) {
        self.inner_mut().limiter = Some(Box::new(limiter));
    }
}

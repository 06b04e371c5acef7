//! The VM context: the per-instance block of memory compiled code reaches everything
//! instance-specific through, and the other structures compiled code reads directly.
//!
//! Compiled code receives a pointer to its instance's VM context as its first argument.
//! The layout depends only on the module's counts ([`VmLayout::new`]), so code generation
//! and the runtime agree on it without sharing anything else.
//!
//! ```text
//! VM context
//!   +0   *StoreState                (shared by all instances of a store)
//!   +8   raise-trap entry point      (runtime; called by trap stubs, never returns)
//!   +16  *const [libcall; N]         (runtime functions for bulk memory/table ops)
//!   +24  runtime-private (the runtime's index of the instance)
//!   +32  funcs:    [VMFuncRef; num_funcs]    (24 bytes each; imports resolved at instantiation)
//!        memories: [16 bytes; num_memories]  (defined: VMMemory inline; imported: *VMMemory)
//!        tables:   [16 bytes; num_tables]    (defined: VMTable inline;  imported: *VMTable)
//!        globals:  [16 bytes; num_globals]   (defined: value inline;    imported: *value)
//!        sig ids:  [8 bytes; num_types]      (store-wide canonical signature id, low 32 bits)
//! ```

/// Offset of the store pointer in a VM context (and in a host-function context).
pub const VMCTX_STORE: u32 = 0;
/// Offset of the raise-trap entry point in a VM context (and in a host-function context).
pub const VMCTX_RAISE: u32 = 8;
/// Offset of the pointer to the libcall table (see [`Libcall`](crate::Libcall)).
pub const VMCTX_LIBCALLS: u32 = 16;
/// Offset of the runtime-private word; compiled code never reads it.
pub const VMCTX_INSTANCE: u32 = 24;
/// Size of the fixed header.
pub const VMCTX_HEADER_SIZE: u32 = 32;

/// A function reference: what `call_indirect`, tables and imports use.
/// `{ code: *const u8, vmctx: *mut u8, sig: u32 (+pad) }`.
pub const FUNCREF_SIZE: u32 = 24;
pub const FUNCREF_CODE: u32 = 0;
pub const FUNCREF_VMCTX: u32 = 8;
pub const FUNCREF_SIG: u32 = 16;

/// `VMMemory { base: *mut u8, len: u64 /* bytes */ }`.
pub const VMMEMORY_BASE: u32 = 0;
pub const VMMEMORY_LEN: u32 = 8;
/// `VMTable { base: *mut u64, len: u64 /* elements */ }`; each element is 8 bytes:
/// a `*const VMFuncRef` (0 = null) or an externref value (0 = null).
pub const VMTABLE_BASE: u32 = 0;
pub const VMTABLE_LEN: u32 = 8;

/// Host-function context: same header as a VM context (store, raise), then the callback
/// `extern "C" fn(ctx: *mut HostFuncCtx, values: *mut u128) -> u32` (value arrays of 16-byte slots) (0 = ok, else trap).
pub const HOSTCTX_CALLBACK: u32 = 32;

/// Store state read by compiled code and by the runtime's entry/raise routines.
pub const STORE_STACK_LIMIT: u32 = 0;
pub const STORE_ENTRY_SP: u32 = 8;
pub const STORE_TRAP_PC: u32 = 16;
/// The store's remaining fuel, an `i64` (code compiled with fuel interruption subtracts
/// what it consumes and traps at a check when the result is zero or below).
pub const STORE_FUEL: u32 = 24;
/// The epoch at which code compiled with epoch interruption traps, a `u64`.
pub const STORE_EPOCH_DEADLINE: u32 = 32;
/// Pointer to the engine's epoch counter, a `u64` other threads increment.
pub const STORE_EPOCH: u32 = 40;

/// How compiled code can be interrupted: a compile option, recorded in the artifact's
/// flags (and so in every cache key), that a store must be configured for.
///
/// With `fuel`, every operator but `nop`, `drop`, `block`, `loop`, `end`, `else`,
/// `unreachable` and `return` costs one unit: the cost of each straight-line run of
/// operators is subtracted from [`STORE_FUEL`] before the control operator (branch, call,
/// `if`, `else`, `end`, `loop`, `return`, `unreachable`) that ends it, and at function
/// entry and at each loop header code traps with `OutOfFuel` when the fuel left is zero or
/// below. With `epoch`, code traps with `Interrupt` at function entry and at each loop
/// header when the counter at [`STORE_EPOCH`] has reached [`STORE_EPOCH_DEADLINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interruption {
    pub fuel: bool,
    pub epoch: bool,
}

impl Interruption {
    /// No interruption checks: the default, whose code is what it was before fuel and
    /// epochs existed.
    pub const NONE: Interruption = Interruption {
        fuel: false,
        epoch: false,
    };

    /// The flag recorded in an artifact's flags (`interruption=fuel`, `=epoch` or
    /// `=fuel+epoch`), or `None` for no interruption, which records nothing.
    pub fn flag(self) -> Option<&'static str> {
        match (self.fuel, self.epoch) {
            (false, false) => None,
            (true, false) => Some("interruption=fuel"),
            (false, true) => Some("interruption=epoch"),
            (true, true) => Some("interruption=fuel+epoch"),
        }
    }

    /// The interruption an artifact's comma-separated `flags` record, or `None` when one
    /// of them names an interruption this format does not know.
    pub fn from_flags(flags: &str) -> Option<Interruption> {
        let mut found = Interruption::NONE;
        for f in flags.split(',') {
            let Some(v) = f.strip_prefix("interruption=") else {
                continue;
            };
            found = Interruption::parse(v)?;
        }
        Some(found)
    }

    /// Parses `none`, `fuel`, `epoch` or `fuel+epoch`.
    pub fn parse(s: &str) -> Option<Interruption> {
        let (fuel, epoch) = match s {
            "none" => (false, false),
            "fuel" => (true, false),
            "epoch" => (false, true),
            "fuel+epoch" | "epoch+fuel" => (true, true),
            _ => return None,
        };
        Some(Interruption { fuel, epoch })
    }

    /// `none`, `fuel`, `epoch` or `fuel+epoch`.
    pub fn name(self) -> &'static str {
        self.flag()
            .and_then(|f| f.strip_prefix("interruption="))
            .unwrap_or("none")
    }
}

impl std::fmt::Display for Interruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Counts that determine a VM context's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VmCounts {
    pub funcs: u32,
    pub memories: u32,
    pub tables: u32,
    pub globals: u32,
    pub types: u32,
}

/// Offsets of everything in a VM context for one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmLayout {
    pub counts: VmCounts,
    funcs: u32,
    memories: u32,
    tables: u32,
    globals: u32,
    sigs: u32,
    size: u32,
}

impl VmLayout {
    /// The layout for `counts`, or `None` when it does not fit in 32-bit offsets (the
    /// arithmetic is checked: metadata can claim any counts).
    pub fn new(counts: VmCounts) -> Option<VmLayout> {
        let after = |start: u32, n: u32, size: u32| start.checked_add(n.checked_mul(size)?);
        let funcs = VMCTX_HEADER_SIZE;
        let memories = after(funcs, counts.funcs, FUNCREF_SIZE)?;
        let tables = after(memories, counts.memories, 16)?;
        let globals = after(tables, counts.tables, 16)?;
        let sigs = after(globals, counts.globals, 16)?;
        let size = after(sigs, counts.types, 8)?;
        Some(VmLayout {
            counts,
            funcs,
            memories,
            tables,
            globals,
            sigs,
            size,
        })
    }
    pub fn func_ref(&self, index: u32) -> u32 {
        self.funcs + index * FUNCREF_SIZE
    }
    pub fn memory(&self, index: u32) -> u32 {
        self.memories + index * 16
    }
    pub fn table(&self, index: u32) -> u32 {
        self.tables + index * 16
    }
    pub fn global(&self, index: u32) -> u32 {
        self.globals + index * 16
    }
    pub fn sig_id(&self, type_index: u32) -> u32 {
        self.sigs + type_index * 8
    }
    /// Total size in bytes (a multiple of 8).
    pub fn size(&self) -> u32 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_regions_do_not_overlap() {
        let l = VmLayout::new(VmCounts {
            funcs: 3,
            memories: 2,
            tables: 2,
            globals: 5,
            types: 4,
        })
        .expect("fits");
        assert_eq!(l.func_ref(0), VMCTX_HEADER_SIZE);
        assert_eq!(l.memory(0), l.func_ref(3));
        assert_eq!(l.table(0), l.memory(2));
        assert_eq!(l.global(0), l.table(2));
        assert_eq!(l.sig_id(0), l.global(5));
        assert_eq!(l.size(), l.sig_id(4));
    }

    #[test]
    fn interruption_flags_read_back_as_written() {
        for s in ["none", "fuel", "epoch", "fuel+epoch"] {
            let i = Interruption::parse(s).expect("known");
            assert_eq!(i.name(), s);
            let flags = match i.flag() {
                Some(f) => format!("opt_level=speed,{f}"),
                None => "opt_level=speed".to_string(),
            };
            assert_eq!(Interruption::from_flags(&flags), Some(i));
        }
        assert_eq!(Interruption::from_flags("interruption=gas"), None);
    }

    #[test]
    fn counts_whose_layout_overflows_have_no_layout() {
        let huge = VmCounts {
            globals: 449_050_039,
            ..VmCounts::default()
        };
        assert_eq!(VmLayout::new(huge), None);
        let max = VmCounts {
            funcs: u32::MAX,
            ..VmCounts::default()
        };
        assert_eq!(VmLayout::new(max), None);
    }
}

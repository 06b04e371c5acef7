//! The runtime functions compiled code calls through the table at
//! [`VMCTX_LIBCALLS`](crate::VMCTX_LIBCALLS), written once.
//!
//! [`foreach_libcall!`] is the one list. This crate generates [`Libcall`] (the table
//! index codegen relocates against) and each libcall's signature from it; the runtime
//! generates its table of functions from it, and its build fails when a function's Rust
//! signature differs from the list's.
//!
//! Every libcall takes the VM context first and uses the System V C calling convention;
//! the parameters after the VM context are integers in registers.

use crate::ValType;

/// Calls `$mac!` with the list of libcalls, in table order. Each entry reads
///
/// ```text
/// /// docs
/// Variant = index => rust_name(param: Kind, ...) -> Result;
/// ```
///
/// `Kind` is `I32` (passed as `u32`) or `I64` (passed as `u64`). `Result` is `I32` (a
/// value), `status` (an `I32` that is 0 on success and non-zero after the libcall recorded
/// a trap in the store, which compiled code then raises), or absent (no result).
#[macro_export]
macro_rules! foreach_libcall {
    ($mac:ident) => {
        $mac! {
            /// Grows memory `mem` by `delta` pages; the old size in pages, or `u32::MAX`.
            MemoryGrow = 0 => memory_grow(mem: I32, delta: I32) -> I32;
            /// `memory.copy` from `src_mem` to `dst_mem`.
            MemoryCopy = 1 => memory_copy(dst_mem: I32, src_mem: I32, dst: I32, src: I32, len: I32) -> status;
            /// `memory.fill` of memory `mem` with the low byte of `val`.
            MemoryFill = 2 => memory_fill(mem: I32, dst: I32, val: I32, len: I32) -> status;
            /// `memory.init` of memory `mem` from data segment `data`.
            MemoryInit = 3 => memory_init(mem: I32, data: I32, dst: I32, src: I32, len: I32) -> status;
            /// `data.drop` of data segment `data`.
            DataDrop = 4 => data_drop(data: I32);
            /// Grows table `table` by `delta` elements set to `init`; the old size, or
            /// `u32::MAX`.
            TableGrow = 5 => table_grow(table: I32, init: I64, delta: I32) -> I32;
            /// `table.fill` of table `table` with `val`.
            TableFill = 6 => table_fill(table: I32, dst: I32, val: I64, len: I32) -> status;
            /// `table.copy` from `src_table` to `dst_table`.
            TableCopy = 7 => table_copy(dst_table: I32, src_table: I32, dst: I32, src: I32, len: I32) -> status;
            /// `table.init` of table `table` from element segment `elem`.
            TableInit = 8 => table_init(table: I32, elem: I32, dst: I32, src: I32, len: I32) -> status;
            /// `elem.drop` of element segment `elem`.
            ElemDrop = 9 => elem_drop(elem: I32);
        }
    };
}

/// A libcall's signature after the leading VM context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibcallSignature {
    /// Parameter kinds, in order (each `I32` or `I64`).
    pub params: &'static [ValType],
    /// Result kinds: empty or one `I32`.
    pub results: &'static [ValType],
    /// Whether the result is a status that asks compiled code to raise a trap.
    pub traps: bool,
}

macro_rules! define_libcalls {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $index:literal => $name:ident ( $($param:ident : $kind:ident),* ) $(-> $res:ident)? ;
    )*) => {
        /// A runtime function compiled code calls; the discriminant is its index in the
        /// libcall table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        pub enum Libcall {
            $( $(#[$doc])* $variant = $index, )*
        }

        /// Number of entries in the libcall table.
        pub const NUM_LIBCALLS: u32 = [$(Libcall::$variant),*].len() as u32;

        impl Libcall {
            /// Every libcall, in table order: `ALL[i] as u32 == i`.
            pub const ALL: [Libcall; NUM_LIBCALLS as usize] = [$(Libcall::$variant),*];

            /// The runtime function's name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Libcall::$variant => stringify!($name), )*
                }
            }

            /// The signature after the leading VM context.
            pub const fn signature(self) -> LibcallSignature {
                match self {
                    $( Libcall::$variant => LibcallSignature {
                        params: &[$(define_libcalls!(@kind $kind)),*],
                        results: define_libcalls!(@results $($res)?),
                        traps: define_libcalls!(@traps $($res)?),
                    }, )*
                }
            }
        }
    };
    (@kind I32) => { ValType::I32 };
    (@kind I64) => { ValType::I64 };
    (@results I32) => { &[ValType::I32] };
    (@results status) => { &[ValType::I32] };
    (@results) => { &[] };
    (@traps I32) => { false };
    (@traps status) => { true };
    (@traps) => { false };
}

foreach_libcall!(define_libcalls);

impl Libcall {
    /// Parameter kinds after the leading VM context.
    pub const fn params(self) -> &'static [ValType] {
        self.signature().params
    }

    /// Result kinds: empty or one `I32`.
    pub const fn results(self) -> &'static [ValType] {
        self.signature().results
    }

    /// Whether the result is a status: non-zero means the libcall recorded a trap in the
    /// store and compiled code must raise it.
    pub const fn traps(self) -> bool {
        self.signature().traps
    }
}

// The table index is the discriminant: the list must be written in index order.
const _: () = {
    let mut i = 0;
    while i < Libcall::ALL.len() {
        assert!(
            Libcall::ALL[i] as usize == i,
            "foreach_libcall! must list libcalls in index order"
        );
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;
    use ValType::{I32, I64};

    fn sig(
        params: &'static [ValType],
        results: &'static [ValType],
        traps: bool,
    ) -> LibcallSignature {
        LibcallSignature {
            params,
            results,
            traps,
        }
    }

    /// The table is part of the artifact format: indices and signatures change only with
    /// `FORMAT_VERSION`.
    #[test]
    fn libcall_indices_and_signatures_are_pinned_by_the_format() {
        use Libcall::*;
        let expected = [
            (MemoryGrow, "memory_grow", sig(&[I32, I32], &[I32], false)),
            (MemoryCopy, "memory_copy", sig(&[I32; 5], &[I32], true)),
            (MemoryFill, "memory_fill", sig(&[I32; 4], &[I32], true)),
            (MemoryInit, "memory_init", sig(&[I32; 5], &[I32], true)),
            (DataDrop, "data_drop", sig(&[I32], &[], false)),
            (
                TableGrow,
                "table_grow",
                sig(&[I32, I64, I32], &[I32], false),
            ),
            (
                TableFill,
                "table_fill",
                sig(&[I32, I32, I64, I32], &[I32], true),
            ),
            (TableCopy, "table_copy", sig(&[I32; 5], &[I32], true)),
            (TableInit, "table_init", sig(&[I32; 5], &[I32], true)),
            (ElemDrop, "elem_drop", sig(&[I32], &[], false)),
        ];
        assert_eq!(NUM_LIBCALLS as usize, expected.len());
        for (index, (lc, name, signature)) in expected.into_iter().enumerate() {
            assert_eq!(lc as usize, index, "{lc:?}");
            assert_eq!(Libcall::ALL[index], lc);
            assert_eq!(lc.name(), name);
            assert_eq!(lc.signature(), signature, "{lc:?}");
            assert_eq!(lc.params(), signature.params);
            assert_eq!(lc.results(), signature.results);
            assert_eq!(lc.traps(), signature.traps);
        }
    }
}

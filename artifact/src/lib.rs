//! The artifact format shared by the wasmprecomp compiler and runtime.
//!
//! An artifact is an ELF relocatable-style object laid out with `object`'s ELF definitions:
//! `.text` holds the machine code (one symbol per function and per trampoline), and the
//! section [`META_SECTION`] holds a [`ModuleMeta`] encoded with [`ModuleMeta::encode`],
//! starting at file offset [`META_OFFSET`] (so [`header_from_prefix`] can read the header
//! from an artifact's first bytes). The runtime
//! maps `.text` as it is: every reference inside it is already resolved (direct calls are
//! `rel32` within `.text`; everything instance-specific is reached through the VM context,
//! whose layout [`VmLayout`] computes from the module's counts alone).
//!
//! This crate is the contract between code generation and the runtime: the VM-context
//! layout, the register protocol between compiled code and the runtime ([`abi`], one
//! module per architecture), the metadata encoding with its validation
//! ([`ModuleMeta::validate`]) and the artifact checksum ([`seal`]) live here and nowhere
//! else.

pub mod abi;
mod checksum;
mod cpu;
mod encode;
mod libcall;
mod meta;
mod validate;
mod vm;

pub use checksum::{artifact_checksum, seal, stored_checksum, CHECKSUM_OFFSET};
pub use cpu::host_has_cpu_feature;
pub use encode::{DecodeError, Reader, Writer};
pub use libcall::{Libcall, LibcallSignature, NUM_LIBCALLS};
pub use meta::*;
pub use validate::MetaError;
pub use vm::*;

/// Magic bytes at the start of the metadata section.
pub const META_MAGIC: [u8; 8] = *b"WPCMETA\0";
/// Version of the metadata encoding and of the VM-context/ABI contract. Bump on any change.
pub const FORMAT_VERSION: u32 = 5;
/// Bytes of inaccessible address space the runtime reserves after the 4 GiB a 32-bit
/// memory can address, so that code compiled with guard-page bounds checks may access
/// `address + offset` unchecked for any static offset up to this size.
pub const GUARD_BYTES: u64 = 2 << 30;
/// The address space the runtime reserves for every 32-bit memory.
pub const MEMORY_RESERVATION: u64 = (4 << 30) + GUARD_BYTES;

/// Name of the ELF section carrying [`ModuleMeta`].
pub const META_SECTION: &str = ".wasmprecomp.meta";
/// File offset of the [`META_SECTION`] in every artifact: right after the 64-byte ELF
/// header.
pub const META_OFFSET: usize = 64;

/// The header of the artifact whose first bytes are `prefix` (the ELF header and the
/// start of the metadata section; a few hundred bytes suffice), or `None` when they do
/// not look like an artifact's. A cheap structural read for callers that already trust the
/// file (such as one whose cache checksum matched); the runtime checks every section.
pub fn header_from_prefix(prefix: &[u8]) -> Option<ArtifactHeader> {
    if prefix.get(..4)? != b"\x7fELF" {
        return None;
    }
    ModuleMeta::decode_header(prefix.get(META_OFFSET..)?).ok()
}

/// Recommended file extension of artifacts (`module.wasm` -> `module.wpc`).
pub const ARTIFACT_EXTENSION: &str = "wpc";

//! Loading an artifact: header check, metadata, executable code mapping.

use crate::LoadError;
use std::path::Path;
use std::sync::Arc;
use wasmprecomp_artifact::{
    self as art, Interruption, ModuleMeta, VmLayout, FORMAT_VERSION, META_OFFSET, META_SECTION,
};

/// Executable memory holding an artifact's `.text`.
pub(crate) struct CodeMemory {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is immutable (read + execute) after construction and freed only
// on drop, so it may move to another thread.
unsafe impl Send for CodeMemory {}
// SAFETY: as above: shared access only reads it.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    pub(crate) fn new(text: &[u8]) -> Result<CodeMemory, LoadError> {
        let page = 4096;
        let len = text.len().max(1).div_ceil(page) * page;
        // SAFETY: a fresh anonymous private mapping; we only write inside it before
        // switching it to read+execute.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return Err(LoadError::Map(std::io::Error::last_os_error().to_string()));
            }
            std::ptr::copy_nonoverlapping(text.as_ptr(), p as *mut u8, text.len());
            if libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC) != 0 {
                let e = std::io::Error::last_os_error();
                libc::munmap(p, len);
                return Err(LoadError::Map(e.to_string()));
            }
            #[cfg(target_arch = "aarch64")]
            sync_instruction_cache(p as *const u8, text.len());
            Ok(CodeMemory {
                ptr: p as *mut u8,
                len,
            })
        }
    }
    pub(crate) fn base(&self) -> *const u8 {
        self.ptr
    }
    pub(crate) fn contains(&self, pc: usize) -> bool {
        let b = self.ptr as usize;
        pc >= b && pc < b + self.len
    }
}

/// Makes the instructions just written to `start..start + len` visible to instruction
/// fetch, as aarch64 requires (its instruction cache is not coherent with data writes):
/// cleans the data cache to the point of unification and invalidates the instruction
/// cache over the range, line by line with the line sizes `CTR_EL0` gives, each step
/// skipped when `CTR_EL0` says the hardware needs none (`IDC`, `DIC`), then `isb`. This
/// is the sequence of compiler-rt's `__clear_cache` for aarch64, written here so the
/// runtime does not depend on which C runtime provides that builtin. The maintenance
/// operations reach every core of the inner shareable domain; the `isb` covers this
/// thread, and another thread reaches the code only after receiving the module from
/// this one.
#[cfg(target_arch = "aarch64")]
fn sync_instruction_cache(start: *const u8, len: usize) {
    use std::arch::asm;
    let ctr: u64;
    // SAFETY: reads `CTR_EL0`, which Linux lets user space read.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    let (begin, end) = (start as usize, start as usize + len);
    if ctr & (1 << 28) == 0 {
        let line = 4usize << ((ctr >> 16) & 0xf);
        let mut a = begin & !(line - 1);
        while a < end {
            // SAFETY: cleaning a data cache line of mapped, readable code memory only
            // writes its contents back.
            unsafe { asm!("dc cvau, {}", in(reg) a, options(nostack, preserves_flags)) };
            a += line;
        }
    }
    // SAFETY: a barrier has no operands.
    unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    if ctr & (1 << 29) == 0 {
        let line = 4usize << (ctr & 0xf);
        let mut a = begin & !(line - 1);
        while a < end {
            // SAFETY: invalidating instruction cache lines of mapped code memory only
            // makes the next fetch read memory.
            unsafe { asm!("ic ivau, {}", in(reg) a, options(nostack, preserves_flags)) };
            a += line;
        }
    }
    // SAFETY: barriers have no operands.
    unsafe { asm!("dsb ish", "isb", options(nostack, preserves_flags)) };
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping we created; no code runs from it any more because
        // every store holding instances of the module keeps the module alive.
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.len);
        }
    }
}

pub(crate) struct ModuleInner {
    /// Validated when the module was loaded.
    pub meta: ModuleMeta,
    /// The VM-context layout of `meta`'s counts.
    pub layout: VmLayout,
    pub code: CodeMemory,
    /// The interruption checks its code makes (from the header's flags).
    pub interruption: Interruption,
}

/// A loaded artifact, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("functions", &self.inner.meta.functions.len())
            .finish()
    }
}

/// The target this runtime was built for, as a target triple.
const HOST_TARGET: &str = env!("WASMPRECOMP_RUNTIME_TARGET");

/// Whether code compiled for `target` (an artifact's target triple) runs on this host:
/// the same architecture, both Linux. The error names both targets.
fn check_target(target: &str) -> Result<(), String> {
    let arch = target.split('-').next().unwrap_or("");
    let host_linux = cfg!(target_os = "linux");
    if arch == std::env::consts::ARCH && target.contains("linux") && host_linux {
        return Ok(());
    }
    Err(format!(
        "artifact compiled for {target} cannot run on this host ({HOST_TARGET}); compile the module with `--target {HOST_TARGET}`"
    ))
}

impl Module {
    /// Loads an artifact file: [`Module::from_bytes`] of its contents.
    ///
    /// # Safety
    ///
    /// The file must be an artifact as [`Module::from_bytes`] requires: written by
    /// wasmprecomp's compiler and not modified since.
    pub unsafe fn from_file(path: impl AsRef<Path>) -> Result<Module, LoadError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| LoadError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        // SAFETY: the file is such an artifact (this function's contract).
        unsafe { Module::from_bytes(&bytes) }
    }

    /// Loads an artifact from memory. Refuses artifacts for another format version,
    /// target or CPU, with unknown flags, whose bytes do not match their checksum (damage
    /// anywhere, code included), or whose metadata does not decode or hold together
    /// ([`ModuleMeta::validate`]: every index, count, offset and length); the error names
    /// what is wrong. Nothing in the bytes is used before it is checked.
    ///
    /// # Safety
    ///
    /// An artifact is native code: once the module is instantiated, safe calls run the
    /// machine code in `bytes` as it is. So `bytes` must be an artifact that wasmprecomp's
    /// compiler wrote and nothing modified since: the output of your own build, or of a
    /// cache only the compiler writes to; never a file from a source you would not run a
    /// native program from. The checks made here are consistency checks, not a security
    /// boundary: an artifact for another format version, target, CPU or flags is refused,
    /// and so is accidental damage, but a file made or altered to pass them runs
    /// whatever it holds.
    pub unsafe fn from_bytes(bytes: &[u8]) -> Result<Module, LoadError> {
        // SAFETY: the caller's promise, which is this function's.
        unsafe { Module::load(bytes, true) }
    }

    /// [`Module::from_bytes`] without the checksum over the whole artifact, for embedders
    /// who verify the bytes' integrity their own way (a signature, a digest of their
    /// own). Every other check is made: the header, and the metadata before anything in
    /// it is used, so a damaged header or metadata is refused rather than trusted. Damage
    /// to the code or data segments is not noticed.
    ///
    /// # Safety
    ///
    /// As for [`Module::from_bytes`], and more so: with no checksum, damaged code runs as
    /// it is, so the caller must have checked that `bytes` are what the compiler wrote.
    pub unsafe fn from_bytes_without_checksum(bytes: &[u8]) -> Result<Module, LoadError> {
        // SAFETY: the caller's promise, which is this function's.
        unsafe { Module::load(bytes, false) }
    }

    /// The load: header, checksum when `checksum`, metadata, code.
    ///
    /// # Safety
    ///
    /// As for [`Module::from_bytes`].
    unsafe fn load(bytes: &[u8], checksum: bool) -> Result<Module, LoadError> {
        use object::{Object, ObjectSection};
        let file = object::File::parse(bytes)
            .map_err(|e| LoadError::NotAnArtifact(format!("not an ELF file: {e}")))?;
        let meta_section = file
            .section_by_name(META_SECTION)
            .ok_or_else(|| LoadError::NotAnArtifact(format!("no {META_SECTION} section")))?;
        // The checksum sits at a fixed file offset, inside the metadata's header.
        if meta_section.file_range().map(|r| r.0) != Some(META_OFFSET as u64) {
            return Err(LoadError::NotAnArtifact(format!(
                "the {META_SECTION} section is not at file offset {META_OFFSET}"
            )));
        }
        let meta_data = meta_section
            .data()
            .map_err(|e| LoadError::NotAnArtifact(e.to_string()))?;
        let header = ModuleMeta::decode_header(meta_data)?;
        if header.format_version != FORMAT_VERSION {
            return Err(LoadError::Mismatch(format!(
                "artifact format version {} (this runtime reads version {FORMAT_VERSION}); recompile the module",
                header.format_version
            )));
        }
        if checksum {
            // Both exist: the header that just decoded holds the checksum.
            let stored = art::stored_checksum(bytes).unwrap_or(0);
            let computed = art::artifact_checksum(bytes).unwrap_or(!stored);
            if stored != computed {
                return Err(LoadError::Checksum { stored, computed });
            }
        }
        check_target(&header.target).map_err(LoadError::Mismatch)?;
        for f in &header.cpu_features {
            if !wasmprecomp_artifact::host_has_cpu_feature(f) {
                return Err(LoadError::Mismatch(format!(
                    "artifact needs CPU feature `{f}`, which this CPU lacks; compile it for a lower `--target-cpu` (`baseline` runs on every CPU of the architecture)"
                )));
            }
        }
        let interruption = match Interruption::from_flags(&header.flags) {
            Some(i) if known_flags(&header.flags) => i,
            _ => {
                return Err(LoadError::Mismatch(format!(
                    "artifact has unknown flags `{}`",
                    header.flags
                )))
            }
        };
        let meta = ModuleMeta::decode(meta_data)?;
        let text = file
            .section_by_name(".text")
            .ok_or_else(|| LoadError::NotAnArtifact("no .text section".into()))?
            .data()
            .map_err(|e| LoadError::NotAnArtifact(e.to_string()))?;
        let layout = meta.validate(text.len())?;
        let code = CodeMemory::new(text)?;
        if std::env::var_os("WASMPRECOMP_PERF_MAP").is_some() {
            write_perf_map(&file, code.base());
        }
        Ok(Module {
            inner: Arc::new(ModuleInner {
                meta,
                layout,
                code,
                interruption,
            }),
        })
    }

    /// The interruption checks the module's code makes: a store must run the same ones
    /// ([`Store::with_interruption`](crate::Store::with_interruption)).
    pub fn interruption(&self) -> Interruption {
        self.inner.interruption
    }

    /// The module's metadata.
    pub fn meta(&self) -> &ModuleMeta {
        &self.inner.meta
    }

    /// Exported names and kinds.
    pub fn exports(&self) -> impl Iterator<Item = (&str, art::ExternKind)> {
        self.inner
            .meta
            .exports
            .iter()
            .map(|e| (e.name.as_str(), e.kind))
    }
}

/// Appends the addresses of the artifact's function symbols (its functions and
/// trampolines, all in `.text`) to `/tmp/perf-<pid>.map` so `perf report` can name
/// compiled code (enabled by `WASMPRECOMP_PERF_MAP`). Failures are ignored: it is a
/// profiling aid.
fn write_perf_map(file: &object::File, base: *const u8) {
    use object::{Object, ObjectSymbol};
    use std::io::Write;
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let mut out = String::new();
    for s in file.symbols() {
        let Ok(name) = s.name() else { continue };
        out.push_str(&format!(
            "{:x} {:x} {name}\n",
            (base as usize).wrapping_add(s.address() as usize),
            s.size(),
        ));
    }
    let _ = f.write_all(out.as_bytes());
}

/// Whether every flag of an artifact is one this runtime runs: the optimization level,
/// either bounds-checking strategy (memories are always reserved for guard pages), and any
/// interruption ([`Interruption::from_flags`] reads which).
fn known_flags(flags: &str) -> bool {
    flags.split(',').all(|f| {
        matches!(
            f,
            "opt_level=none" | "opt_level=speed" | "bounds_checks=explicit" | "bounds_checks=guard"
        ) || f.starts_with("interruption=")
    }) && flags.contains("opt_level=")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target triple of the other supported architecture than this host's.
    fn other_target() -> &'static str {
        if std::env::consts::ARCH == "aarch64" {
            "x86_64-unknown-linux-gnu"
        } else {
            "aarch64-unknown-linux-gnu"
        }
    }

    #[test]
    fn an_artifact_for_this_hosts_architecture_on_linux_is_accepted() {
        let arch = std::env::consts::ARCH;
        assert_eq!(check_target(&format!("{arch}-unknown-linux-gnu")), Ok(()));
        assert_eq!(check_target(&format!("{arch}-unknown-linux-musl")), Ok(()));
        assert!(HOST_TARGET.starts_with(arch), "{HOST_TARGET}");
    }

    #[test]
    fn an_artifact_for_another_architecture_is_refused_naming_both_targets() {
        let e = check_target(other_target()).unwrap_err();
        assert!(e.contains(other_target()), "{e}");
        assert!(e.contains(HOST_TARGET), "{e}");
    }

    #[test]
    fn an_artifact_for_another_system_is_refused() {
        let arch = std::env::consts::ARCH;
        for os in ["apple-darwin", "pc-windows-msvc"] {
            let t = format!("{arch}-{os}");
            let e = check_target(&t).unwrap_err();
            assert!(e.contains(&t) && e.contains(HOST_TARGET), "{e}");
        }
    }

    #[test]
    fn code_memory_holds_the_bytes_it_was_given() {
        let text: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let code = CodeMemory::new(&text).unwrap();
        assert!(code.contains(code.base() as usize + 4999));
        // SAFETY: the mapping is readable and at least `text.len()` bytes long.
        let mapped = unsafe { std::slice::from_raw_parts(code.base(), text.len()) };
        assert_eq!(mapped, &text[..]);
    }
}

//! The link: compiled stencils and their parameters in, a module's ELF artifact out.

use crate::compiled::{CodeRef, RelocKind};
use crate::elf;
use crate::error::CompileError;
use crate::isa::Isa;
use crate::module::ModuleInfo;
use crate::pipeline::map_items;
use crate::stencil::Parameters;
use std::collections::HashMap;
use std::ops::Range;
use wasmprecomp_artifact::{self as art, VmCounts, VmLayout};

/// What the link needs of one defined function besides its code.
pub(crate) struct FunctionLink<'p> {
    pub params: &'p Parameters,
}

fn layout_of(meta: &art::ModuleMeta) -> Result<VmLayout, CompileError> {
    VmLayout::new(VmCounts {
        funcs: meta.functions.len() as u32,
        memories: meta.num_memories(),
        tables: meta.num_tables(),
        globals: meta.num_globals(),
        types: meta.types.len() as u32,
    })
    .ok_or_else(|| CompileError::Limit {
        message: "the module's VM context does not fit in 32-bit offsets".into(),
        offset: 0,
        function: None,
    })
}

/// Links a module's compiled functions into its artifact.
///
/// `functions[i]` is defined function `i`: its parameters, and `code_of(i)` its compiled
/// stencil. Lays out `.text` (each function 16-byte aligned, in index order), patches every
/// relocation with the function's parameters (direct calls, VM-context offsets, real
/// indices for libcalls), maps trap sites to module offsets, adds the per-signature
/// trampolines, writes the ELF file and seals it with its checksum. `wasm_sha256` and
/// `wasm_blake3` are the digests of the module's bytes that its header records.
pub(crate) fn link<'a>(
    info: ModuleInfo,
    wasm_sha256: &[u8; 32],
    wasm_blake3: &[u8; 32],
    isa: &Isa,
    functions: &[FunctionLink<'_>],
    code_of: &dyn Fn(usize) -> CodeRef<'a>,
) -> Result<Vec<u8>, CompileError> {
    // Taken, not cloned: the metadata holds the data segments, which are most of a
    // data-heavy module's bytes.
    let mut meta = info.meta;
    let names = info.names;
    let layout = layout_of(&meta)?;
    let nimp = meta.num_imported_funcs;
    let codes: Vec<CodeRef<'a>> = (0..functions.len()).map(code_of).collect();
    // The layout first, from the code's lengths: the metadata (code table, trap sites,
    // trampolines) comes before `.text` in the file, which is then filled in place.
    let align16 = |at: usize| at.next_multiple_of(16);
    let mut text_len = 0usize;
    let mut starts = Vec::with_capacity(functions.len());
    meta.code.reserve(functions.len());
    for c in &codes {
        text_len = align16(text_len);
        starts.push(text_len as u32);
        meta.code.push(art::FunctionCode {
            text_offset: text_len as u32,
            len: c.code.len() as u32,
        });
        text_len += c.code.len();
    }
    let too_large = || CompileError::Limit {
        message: "the module's code is larger than 4 GiB".into(),
        offset: 0,
        function: None,
    };
    if u32::try_from(text_len).is_err() {
        return Err(too_large());
    }
    let chunks = chunks(&codes);
    // Trap sites, mapped to module offsets chunk by chunk (a large module has tens of
    // thousands), in `.text` order; the trampolines' follow.
    let mut traps: Vec<art::TrapSite> = map_items(chunks.clone(), chunks.len() > 1, |_, range| {
        let n = range.clone().map(|i| codes[i].traps().len()).sum();
        let mut traps = Vec::with_capacity(n);
        for i in range {
            let mut offsets = functions[i].params.module_offsets();
            traps.extend(codes[i].traps().map(|t| art::TrapSite {
                text_offset: starts[i] + t.code_offset,
                kind: t.kind,
                wasm_offset: offsets.get(t.wasm_offset),
            }));
        }
        traps
    })
    .concat();
    traps.reserve(meta.types.len());
    // Trampolines, shared between structurally equal types.
    let mut tramp_of: HashMap<&art::FuncType, art::Trampolines> = HashMap::new();
    let mut tramp_code = Vec::new();
    let mut tramp_syms = Vec::new();
    for (ti, ty) in meta.types.iter().enumerate() {
        if let Some(t) = tramp_of.get(ty) {
            meta.trampolines.push(*t);
            continue;
        }
        let a2w_code = isa.array_to_wasm_trampoline(ty);
        let a2w = align16(text_len);
        let w2h = align16(a2w + a2w_code.len());
        let (w2h_code, site) = isa.wasm_to_host_trampoline(ty);
        text_len = w2h + w2h_code.len();
        let (a2w, w2h) = (a2w as u32, w2h as u32);
        traps.push(art::TrapSite {
            text_offset: w2h + site,
            kind: art::TrapKind::HostError,
            wasm_offset: 0,
        });
        let t = art::Trampolines {
            array_to_wasm: a2w,
            wasm_to_host: w2h,
        };
        tramp_syms.push((format!("array_to_wasm_type{ti}"), a2w, w2h - a2w));
        tramp_syms.push((format!("wasm_to_host_type{ti}"), w2h, w2h_code.len() as u32));
        tramp_code.push((a2w, a2w_code));
        tramp_code.push((w2h, w2h_code));
        tramp_of.insert(ty, t);
        meta.trampolines.push(t);
    }
    if u32::try_from(text_len).is_err() {
        return Err(too_large());
    }
    traps.sort_by_key(|t| t.text_offset);
    meta.traps = traps;
    meta.header = art::ArtifactHeader {
        format_version: art::FORMAT_VERSION,
        codegen_version: crate::isa::CODEGEN_VERSION.to_string(),
        target: isa.triple().to_string(),
        cpu_features: isa.cpu_features(),
        flags: isa.flags(),
        wasm_sha256: *wasm_sha256,
        wasm_blake3: *wasm_blake3,
    };

    let mut symbols: Vec<elf::FuncSymbol> = meta
        .code
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = names[nimp as usize + i].as_bytes();
            (name, c.text_offset as u64, c.len as u64)
        })
        .collect();
    symbols.extend(
        tramp_syms
            .iter()
            .map(|(name, off, len)| (name.as_bytes(), *off as u64, *len as u64)),
    );
    let symbol_bytes: usize = symbols.iter().map(|(n, ..)| n.len() + 1 + 24).sum();
    let mut file = elf::ElfWriter::new(meta.encoded_len_hint() + text_len + symbol_bytes + 1024);
    meta.encode_into(file.meta());
    let text = file.text(text_len, isa.code_fill());
    for (at, code) in &tramp_code {
        text[*at as usize..*at as usize + code.len()].copy_from_slice(code);
    }
    // Each chunk's code is copied and patched in its own part of `.text`: every
    // relocation patches a field inside its own function.
    let mut parts = Vec::with_capacity(chunks.len());
    let mut rest = &mut text[..];
    let mut at = 0usize;
    for range in chunks {
        let last = range.end - 1;
        let (start, end) = (
            starts[range.start] as usize,
            starts[last] as usize + codes[last].code.len(),
        );
        let (part, tail) = std::mem::take(&mut rest)[start - at..].split_at_mut(end - start);
        parts.push((range, part));
        (rest, at) = (tail, end);
    }
    let several = parts.len() > 1;
    let filled = map_items(parts, several, |_, (range, part)| {
        let base = starts[range.start];
        for i in range {
            let at = (starts[i] - base) as usize;
            let code = &mut part[at..at + codes[i].code.len()];
            fill_function(
                code,
                &codes[i],
                functions[i].params,
                i,
                &starts,
                nimp,
                &layout,
                isa,
            )?;
        }
        Ok(())
    });
    // The first failure in function order is the one reported.
    filled.into_iter().collect::<Result<(), CompileError>>()?;
    let mut artifact = file.finish(isa.elf_machine(), &symbols);
    if !art::seal(&mut artifact) {
        return Err(crate::error::internal(
            "artifact too short to hold its checksum",
        ));
    }
    Ok(artifact)
}

/// About how many bytes of code one task of the link's parallel parts covers: a module
/// with less is linked on the calling thread (handing work to the pool costs two thread
/// wake-ups, tens of microseconds).
const CHUNK_CODE_BYTES: usize = 64 << 10;

/// The defined functions in runs of consecutive ones with about [`CHUNK_CODE_BYTES`] of
/// code each; none empty.
fn chunks(codes: &[CodeRef<'_>]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, c) in codes.iter().enumerate() {
        bytes += c.code.len();
        if bytes >= CHUNK_CODE_BYTES {
            out.push(start..i + 1);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < codes.len() {
        out.push(start..codes.len());
    }
    out
}

/// Copies defined function `index`'s compiled code into `text` (its bytes in `.text`,
/// which start at `starts[index]`) and patches each relocation with the function's
/// parameters: direct calls with the callee's place, VM-context offsets, real indices
/// and constant slot values.
#[allow(clippy::too_many_arguments)]
fn fill_function(
    text: &mut [u8],
    code: &CodeRef<'_>,
    params: &Parameters,
    index: usize,
    starts: &[u32],
    nimp: u32,
    layout: &VmLayout,
    isa: &Isa,
) -> Result<(), CompileError> {
    text.copy_from_slice(code.code);
    let own_start = starts[index] as i64;
    for r in code.relocs() {
        let unknown = || CompileError::Internal {
            message: "relocation names an unknown reference".into(),
            function: Some(params.func_index),
        };
        let at = r.offset as usize;
        let Some(kind) = r.kind.ref_kind() else {
            // A constant slot: its class (in the stencil) made the code right for every
            // value that fits the field.
            let v = *params.consts.get(r.index as usize).ok_or_else(unknown)?;
            let value = (v as i64).wrapping_add(r.addend as i64);
            if !(i32::MIN as i64..=u32::MAX as i64).contains(&value)
                || !isa.patch(text, at, r.kind, value)
            {
                return Err(CompileError::Internal {
                    message: "constant slot value does not fit its field".into(),
                    function: Some(params.func_index),
                });
            }
            continue;
        };
        let real = *params.refs[kind as usize]
            .get(r.index as usize)
            .ok_or_else(unknown)?;
        let value: i64 = match r.kind {
            // `text` starts at the function: the callee's place relative to it.
            RelocKind::CallFunc => {
                let target = real
                    .checked_sub(nimp)
                    .ok_or_else(|| CompileError::Internal {
                        message: "direct call to an imported function".into(),
                        function: Some(params.func_index),
                    })?;
                *starts.get(target as usize).ok_or_else(unknown)? as i64 - own_start
            }
            RelocKind::VmFuncRef => layout.func_ref(real) as i64,
            RelocKind::VmMemory => layout.memory(real) as i64,
            RelocKind::VmTable => layout.table(real) as i64,
            RelocKind::VmGlobal => layout.global(real) as i64,
            RelocKind::VmSigId => layout.sig_id(real) as i64,
            RelocKind::MemoryIndex
            | RelocKind::TableIndex
            | RelocKind::DataIndex
            | RelocKind::ElemIndex => real as i64,
            RelocKind::Const => return Err(unknown()),
        } + r.addend as i64;
        if !isa.patch(text, at, r.kind, value) {
            return Err(CompileError::Limit {
                message: format!(
                    "a relocation's value {value:#x} does not fit its field (the module's code or VM context is too large for {})",
                    isa.triple()
                ),
                offset: 0,
                function: Some(params.func_index),
            });
        }
    }
    Ok(())
}

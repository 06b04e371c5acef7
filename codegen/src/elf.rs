//! The artifact's ELF64 file, laid out directly with `object`'s ELF definitions.
//!
//! An artifact has a fixed shape: `.text`, the metadata section, one local `STT_FUNC`
//! symbol per function and trampoline, and the string tables. `object`'s general writer
//! deduplicates and suffix-merges symbol names by sorting them, which on a module with a
//! few hundred long mangled names cost more than all the rest of writing the file
//! (about a sixth of relinking a module after a one-function edit). This writer lays the same
//! sections out in one pass, each name stored once as given.

use object::elf;
use object::endian::{LittleEndian as LE, U16, U32, U64};
use object::pod::bytes_of;

/// A function symbol: name, offset in `.text`, size.
pub(crate) type FuncSymbol<'a> = (&'a [u8], u64, u64);

const SHSTRTAB: &[u8] = b"\0.text\0.wasmprecomp.meta\0.symtab\0.strtab\0.shstrtab\0";
/// Offsets of the section names in [`SHSTRTAB`].
const NAME_TEXT: u32 = 1;
const NAME_META: u32 = 7;
const NAME_SYMTAB: u32 = 25;
const NAME_STRTAB: u32 = 33;
const NAME_SHSTRTAB: u32 = 41;
const SECTIONS: usize = 6;
const TEXT_INDEX: u16 = 1;
const STRTAB_INDEX: u32 = 4;
const SHSTRTAB_INDEX: u16 = 5;
const EHDR_LEN: usize = std::mem::size_of::<elf::FileHeader64<LE>>();
/// The metadata section follows the ELF header directly (and is 8-byte aligned there).
const META_OFFSET: usize = wasmprecomp_artifact::META_OFFSET;
const _: () = assert!(META_OFFSET == EHDR_LEN && META_OFFSET.is_multiple_of(8));
const SHDR_LEN: usize = std::mem::size_of::<elf::SectionHeader64<LE>>();
const SYM_LEN: usize = std::mem::size_of::<elf::Sym64<LE>>();

fn align(v: usize, a: usize) -> usize {
    v.div_ceil(a) * a
}

fn pad_to(out: &mut Vec<u8>, at: usize) {
    out.resize(at, 0);
}

/// The part of a name before any NUL byte (a string table entry ends at the first NUL).
fn symbol_name(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == 0) {
        Some(end) => &name[..end],
        None => name,
    }
}

#[allow(clippy::too_many_arguments)]
fn section(
    name: u32,
    kind: elf::SectionType,
    flags: elf::SectionFlags,
    offset: usize,
    size: usize,
    link: u32,
    info: u32,
    addralign: u64,
    entsize: u64,
) -> elf::SectionHeader64<LE> {
    elf::SectionHeader64 {
        sh_name: U32::new(LE, name),
        sh_type: U32::new(LE, kind),
        sh_flags: U64::new(LE, flags),
        sh_addr: U64::new(LE, 0),
        sh_offset: U64::new(LE, offset as u64),
        sh_size: U64::new(LE, size as u64),
        sh_link: U32::new(LE, link),
        sh_info: U32::new(LE, info),
        sh_addralign: U64::new(LE, addralign),
        sh_entsize: U64::new(LE, entsize),
    }
}

/// An x86-64 relocatable ELF file holding `text` (16-byte aligned), `meta` as the
/// `.wasmprecomp.meta` section and `symbols`, all local functions in `.text`.
#[cfg(test)]
pub(crate) fn write(
    machine: elf::Machine,
    text: &[u8],
    meta: &[u8],
    symbols: &[FuncSymbol],
) -> Vec<u8> {
    let mut w = ElfWriter::new(0);
    w.meta().extend_from_slice(meta);
    w.text(text.len(), 0).copy_from_slice(text);
    w.finish(machine, symbols)
}

/// An artifact file built in one buffer, in file order: the metadata first, at
/// [`META_OFFSET`], so that its header (which holds the wasm's sha256) can be read from
/// the first bytes of an artifact without parsing the rest; `.text` next, 16-byte
/// aligned, filled where it lies in the file; then the symbols, string tables and
/// section headers, and the ELF header last, over the zeros it starts as.
///
/// Building in place spares the copies of the metadata and the code that assembling the
/// file from finished parts costs: megabytes for a large module, each copy on fresh
/// pages, which are most of what relinking after an edit costs.
pub(crate) struct ElfWriter {
    out: Vec<u8>,
    /// Once `.text` is reserved: the metadata's length, where `.text` starts, its length.
    text: Option<(usize, usize, usize)>,
}

impl ElfWriter {
    /// A file of about `capacity` bytes (the buffer grows if it is more).
    pub(crate) fn new(capacity: usize) -> ElfWriter {
        let mut out = Vec::with_capacity(capacity.max(META_OFFSET));
        out.resize(META_OFFSET, 0);
        ElfWriter { out, text: None }
    }

    /// The buffer the metadata section's bytes are appended to. Only before
    /// [`ElfWriter::text`].
    pub(crate) fn meta(&mut self) -> &mut Vec<u8> {
        debug_assert!(self.text.is_none(), "metadata after .text");
        &mut self.out
    }

    /// Ends the metadata and reserves `.text`: `len` bytes, each `fill` until written
    /// through the slice returned (and by later calls, which return the same bytes).
    pub(crate) fn text(&mut self, len: usize, fill: u8) -> &mut [u8] {
        let (_, at, len) = self.reserve_text(len, fill);
        &mut self.out[at..at + len]
    }

    /// [`ElfWriter::text`]'s reservation, made on the first call: the metadata's length,
    /// where `.text` starts, its length.
    fn reserve_text(&mut self, len: usize, fill: u8) -> (usize, usize, usize) {
        let out = &mut self.out;
        *self.text.get_or_insert_with(|| {
            let meta_len = out.len() - META_OFFSET;
            let at = align(out.len(), 16);
            out.resize(at, 0);
            out.resize(at + len, fill);
            (meta_len, at, len)
        })
    }

    /// Adds `symbols`, the string tables and the headers, and returns the file.
    pub(crate) fn finish(mut self, machine: elf::Machine, symbols: &[FuncSymbol]) -> Vec<u8> {
        let (meta_len, text_at, text_len) = self.reserve_text(0, 0);
        let meta_at = META_OFFSET;
        let symtab_at = align(text_at + text_len, 8);
        let symtab_len = SYM_LEN * (symbols.len() + 1);
        let strtab_at = symtab_at + symtab_len;
        let names: Vec<&[u8]> = symbols.iter().map(|(n, ..)| symbol_name(n)).collect();
        let strtab_len = 1 + names.iter().map(|n| n.len() + 1).sum::<usize>();
        let shstrtab_at = strtab_at + strtab_len;
        let shdrs_at = align(shstrtab_at + SHSTRTAB.len(), 8);
        let total = shdrs_at + SHDR_LEN * SECTIONS;
        let out = &mut self.out;
        out.reserve_exact(total - out.len());
        pad_to(out, symtab_at);

        // Symbol 0 is the null symbol; names follow the leading NUL of the string table.
        out.extend_from_slice(&[0; SYM_LEN]);
        let mut name_at = 1u32;
        for ((_, value, size), name) in symbols.iter().zip(&names) {
            let sym = elf::Sym64::<LE> {
                st_name: U32::new(LE, name_at),
                st_info: elf::SymbolInfo::new(elf::STB_LOCAL, elf::STT_FUNC),
                st_other: elf::STV_DEFAULT.into(),
                st_shndx: U16::new(LE, elf::SymbolSection(TEXT_INDEX)),
                st_value: U64::new(LE, *value),
                st_size: U64::new(LE, *size),
            };
            out.extend_from_slice(bytes_of(&sym));
            name_at += name.len() as u32 + 1;
        }
        out.push(0);
        for name in &names {
            out.extend_from_slice(name);
            out.push(0);
        }
        out.extend_from_slice(SHSTRTAB);
        pad_to(out, shdrs_at);

        let local_symbols = (symbols.len() + 1) as u32;
        let headers = [
            section(0, elf::SHT_NULL, elf::SectionFlags(0), 0, 0, 0, 0, 0, 0),
            section(
                NAME_TEXT,
                elf::SHT_PROGBITS,
                elf::SHF_ALLOC | elf::SHF_EXECINSTR,
                text_at,
                text_len,
                0,
                0,
                16,
                0,
            ),
            section(
                NAME_META,
                elf::SHT_PROGBITS,
                elf::SHF_ALLOC,
                meta_at,
                meta_len,
                0,
                0,
                8,
                0,
            ),
            section(
                NAME_SYMTAB,
                elf::SHT_SYMTAB,
                elf::SectionFlags(0),
                symtab_at,
                symtab_len,
                STRTAB_INDEX,
                local_symbols,
                8,
                SYM_LEN as u64,
            ),
            section(
                NAME_STRTAB,
                elf::SHT_STRTAB,
                elf::SectionFlags(0),
                strtab_at,
                strtab_len,
                0,
                0,
                1,
                0,
            ),
            section(
                NAME_SHSTRTAB,
                elf::SHT_STRTAB,
                elf::SectionFlags(0),
                shstrtab_at,
                SHSTRTAB.len(),
                0,
                0,
                1,
                0,
            ),
        ];
        for h in &headers {
            out.extend_from_slice(bytes_of(h));
        }
        debug_assert_eq!(out.len(), total);
        let header = elf::FileHeader64::<LE> {
            e_ident: elf::Ident {
                magic: elf::ELFMAG,
                class: elf::ELFCLASS64,
                data: elf::ELFDATA2LSB,
                version: elf::EV_CURRENT,
                os_abi: elf::ELFOSABI_NONE,
                abi_version: 0,
                padding: [0; 7],
            },
            e_type: U16::new(LE, elf::ET_REL),
            e_machine: U16::new(LE, machine),
            e_version: U32::new(LE, elf::EV_CURRENT.0.into()),
            e_entry: U64::new(LE, 0),
            e_phoff: U64::new(LE, 0),
            e_shoff: U64::new(LE, shdrs_at as u64),
            e_flags: U32::new(LE, elf::FileFlags(0)),
            e_ehsize: U16::new(LE, EHDR_LEN as u16),
            e_phentsize: U16::new(LE, 0),
            e_phnum: U16::new(LE, 0),
            e_shentsize: U16::new(LE, SHDR_LEN as u16),
            e_shnum: U16::new(LE, SECTIONS as u16),
            e_shstrndx: U16::new(LE, elf::SymbolSection(SHSTRTAB_INDEX)),
        };
        out[..EHDR_LEN].copy_from_slice(bytes_of(&header));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

    #[test]
    fn the_file_reads_back_with_its_sections_and_symbols() {
        let text: Vec<u8> = (0..100u8).collect();
        let meta = b"WPCMETA\0 and more".to_vec();
        let symbols: Vec<FuncSymbol> = vec![
            (b"first", 0, 40),
            (b"_ZN5nbody4main17h0123456789abcdefE", 48, 50),
            (b"with\0nul", 98, 2),
        ];
        let bytes = write(elf::EM_X86_64, &text, &meta, &symbols);
        let f = object::File::parse(&bytes[..]).expect("parses");
        assert_eq!(f.architecture(), object::Architecture::X86_64);
        let t = f.section_by_name(".text").expect(".text");
        assert_eq!(t.data().expect("data"), &text[..]);
        assert_eq!(t.kind(), SectionKind::Text);
        assert_eq!(t.align(), 16);
        let m = f
            .section_by_name(wasmprecomp_artifact::META_SECTION)
            .expect("meta");
        assert_eq!(m.data().expect("data"), &meta[..]);
        assert_eq!(m.align(), 8);
        assert_eq!(
            m.file_range(),
            Some((META_OFFSET as u64, meta.len() as u64))
        );
        let syms: Vec<(String, u64, u64, SymbolKind)> = f
            .symbols()
            .map(|s| {
                (
                    s.name().expect("name").to_string(),
                    s.address(),
                    s.size(),
                    s.kind(),
                )
            })
            .collect();
        assert_eq!(
            syms,
            vec![
                ("first".into(), 0, 40, SymbolKind::Text),
                (
                    "_ZN5nbody4main17h0123456789abcdefE".into(),
                    48,
                    50,
                    SymbolKind::Text
                ),
                ("with".into(), 98, 2, SymbolKind::Text),
            ]
        );
        for s in f.symbols() {
            assert_eq!(s.section_index(), Some(t.index()));
            assert!(s.is_local());
        }
    }

    #[test]
    fn a_file_without_symbols_or_metadata_is_still_well_formed() {
        let bytes = write(elf::EM_X86_64, &[0xc3], &[], &[]);
        let f = object::File::parse(&bytes[..]).expect("parses");
        assert_eq!(f.symbols().count(), 0);
        assert_eq!(
            f.section_by_name(".text")
                .expect(".text")
                .data()
                .expect("data"),
            &[0xc3]
        );
    }
}

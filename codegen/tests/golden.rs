//! Golden lowering tests: what the backend produces for small wasm modules, pinned.
//!
//! Each `tests/golden/<case>.wat` is compiled the way the module pipeline compiles it
//! (validation, one stencil per defined function, `Isa::compile` at `OptLevel::Speed`) and
//! every compiled stencil is rendered as text: its disassembly through iced-x86 (Intel
//! syntax, code offsets, encoded bytes), its relocations by kind and stencil reference, and
//! its trap sites with the wasm operator they stand for. The text must equal the checked-in
//! `tests/golden/<case>.expected`; `WASMPRECOMP_BLESS=1` rewrites those files instead (see
//! `tests/golden/README.md`).

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Register};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use wasmprecomp_codegen::stencil::{self, FunctionStencil, Parameters, RefKind};
use wasmprecomp_codegen::{
    module, BoundsChecks, CompiledStencil, Interruption, Isa, OptLevel, TargetCpu,
};

/// The target the goldens are written for, whatever the host.
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// Set to rewrite the expected files from the current output.
const BLESS_VAR: &str = "WASMPRECOMP_BLESS";
/// The suite covers every operator family in at least this many cases; fewer means some
/// went missing.
const MIN_CASES: usize = 40;
const WAT: &str = "wat";
/// Cases compiled with explicit bounds checks instead of guard pages.
const EXPLICIT_PREFIX: &str = "explicit_";
/// Cases compiled with fuel and epoch interruption checks.
const INTERRUPT_PREFIX: &str = "interrupt_";
/// Cases compiled for `--target-cpu x86-64-v2` and `x86-64-v3`.
const V2_PREFIX: &str = "v2_";
const V3_PREFIX: &str = "v3_";
const EXPECTED: &str = "expected";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn blessing() -> bool {
    std::env::var_os(BLESS_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The case names (file stems) of the files in `dir` with extension `ext`, sorted.
fn stems(dir: &Path, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .expect("file name is UTF-8")
                .to_string()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_golden_case_compiles_to_its_expected_disassembly() {
    let dir = golden_dir();
    let bless = blessing();
    let cases = stems(&dir, WAT);
    let expected = stems(&dir, EXPECTED);
    let mut failures = Vec::new();

    for orphan in expected.iter().filter(|e| !cases.contains(e)) {
        let path = dir.join(format!("{orphan}.{EXPECTED}"));
        if bless {
            std::fs::remove_file(&path)
                .unwrap_or_else(|e| panic!("removing {}: {e}", path.display()));
        } else {
            failures.push(format!(
                "{orphan}: {} has no {orphan}.{WAT} beside it (remove it, or bless)",
                path.display()
            ));
        }
    }

    let guard = Isa::new(Some(TARGET), OptLevel::Speed).expect("x86-64 Linux is supported");
    let explicit = guard.clone().with_bounds_checks(BoundsChecks::Explicit);
    let interrupt = guard.clone().with_interruption(Interruption {
        fuel: true,
        epoch: true,
    });
    let v2 = guard.clone().with_target_cpu(TargetCpu::X86_64V2).unwrap();
    let v3 = guard.clone().with_target_cpu(TargetCpu::X86_64V3).unwrap();
    for case in &cases {
        let wat_path = dir.join(format!("{case}.{WAT}"));
        let exp_path = dir.join(format!("{case}.{EXPECTED}"));
        // Cases named `explicit_*` are compiled with explicit bounds checks, `interrupt_*`
        // with fuel and epoch checks, `v2_*` and `v3_*` for those CPU levels.
        let isa = if case.starts_with(EXPLICIT_PREFIX) {
            &explicit
        } else if case.starts_with(INTERRUPT_PREFIX) {
            &interrupt
        } else if case.starts_with(V2_PREFIX) {
            &v2
        } else if case.starts_with(V3_PREFIX) {
            &v3
        } else {
            &guard
        };
        let actual = match render_case(isa, &wat_path) {
            Ok(text) => text,
            Err(e) => {
                failures.push(format!("{case}: {e}"));
                continue;
            }
        };
        if bless {
            std::fs::write(&exp_path, &actual)
                .unwrap_or_else(|e| panic!("writing {}: {e}", exp_path.display()));
            continue;
        }
        match std::fs::read_to_string(&exp_path) {
            Ok(want) if want == actual => {}
            Ok(want) => failures.push(format!(
                "{case}: output differs from {} (- expected, + actual):\n{}",
                exp_path.display(),
                diff(&want, &actual)
            )),
            Err(e) => failures.push(format!(
                "{case}: cannot read {} ({e}); create it with {BLESS_VAR}=1",
                exp_path.display()
            )),
        }
    }

    assert!(
        cases.len() >= MIN_CASES,
        "only {} golden cases in {}; at least {MIN_CASES} are expected",
        cases.len(),
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed; if the change is intended, rerun with \
         `{BLESS_VAR}=1 cargo test -p wasmprecomp-codegen --test golden` and review the \
         diff of tests/golden/.\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// The golden text of one case: a header, then every defined function in index order.
fn render_case(isa: &Isa, wat_path: &Path) -> Result<String, String> {
    let case = wat_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let wasm = wat::parse_file(wat_path).map_err(|e| e.to_string())?;
    let info = module::parse_and_validate(&wasm).map_err(|e| format!("validation failed: {e}"))?;
    let mut out = format!(
        ";; Golden output for {case}.{WAT} ({TARGET}, opt-level {}).\n\
         ;; Regenerate: {BLESS_VAR}=1 cargo test -p wasmprecomp-codegen --test golden\n",
        isa.opt_level().name()
    );
    for i in 0..info.bodies.len() as u32 {
        let (st, params) = stencil::build(&info, &wasm, i)
            .map_err(|e| format!("building the stencil of defined function {i}: {e}"))?;
        let compiled = isa
            .compile(&st)
            .map_err(|e| format!("compiling defined function {i}: {e}"))?;
        // Equal stencils must compile to equal code, also on a thread that has compiled
        // other functions since.
        if isa.compile(&st).ok().as_ref() != Some(&compiled) {
            return Err(format!(
                "defined function {i} compiled to different code the second time"
            ));
        }
        let name = &info.names[params.func_index as usize];
        out.push('\n');
        render_function(&mut out, name, &st, &params, &compiled);
    }
    Ok(out)
}

fn ref_name(k: RefKind) -> &'static str {
    match k {
        RefKind::Func => "func",
        RefKind::Type => "type",
        RefKind::Global => "global",
        RefKind::Table => "table",
        RefKind::Memory => "memory",
        RefKind::Data => "data",
        RefKind::Elem => "elem",
    }
}

/// The wasm operator at each byte offset of the stencil body, by its variant name.
fn operators(st: &FunctionStencil) -> BTreeMap<u64, String> {
    let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(st.body(), 0));
    let mut ops = body
        .get_operators_reader()
        .expect("stencil body has operators");
    let mut out = BTreeMap::new();
    while !ops.eof() {
        let (op, at) = ops.read_with_offset().expect("stencil body decodes");
        let text = format!("{op:?}");
        let end = text.find([' ', '{', '(']).unwrap_or(text.len());
        out.insert(at, text[..end].to_string());
    }
    out
}

/// One function: header, disassembly with relocations and trap sites on the instructions
/// they belong to, and jump tables as data.
fn render_function(
    out: &mut String,
    name: &str,
    st: &FunctionStencil,
    params: &Parameters,
    c: &CompiledStencil,
) {
    let _ = writeln!(
        out,
        "function {} {name}: {} ({} bytes, {} relocations, {} trap sites)",
        params.func_index,
        st.sig,
        c.code.len(),
        c.relocs.len(),
        c.traps.len()
    );
    let ops = operators(st);
    let reloc_text = |r: &wasmprecomp_codegen::compiled::Reloc| {
        let addend = match r.addend {
            0 => String::new(),
            a => format!("{a:+}"),
        };
        let Some(k) = r.kind.ref_kind() else {
            let value = params
                .consts
                .get(r.index as usize)
                .map_or_else(|| "?".to_string(), |v| format!("{v:#x}"));
            return format!(
                "reloc {:?} const#{}{addend} (value {value})",
                r.kind, r.index
            );
        };
        let real = params.refs[k as usize]
            .get(r.index as usize)
            .map_or_else(|| "?".to_string(), |i| i.to_string());
        format!(
            "reloc {:?} {}#{}{addend} (module {} {real})",
            r.kind,
            ref_name(k),
            r.index,
            ref_name(k)
        )
    };
    let trap_text = |t: &wasmprecomp_codegen::compiled::StencilTrap| {
        let op = ops
            .get(&u64::from(t.wasm_offset))
            .map_or(String::new(), |o| format!(" {o}"));
        format!("trap {:?} at wasm +{:#x}{op}", t.kind, t.wasm_offset)
    };

    // The code ends where the data begins: at the lowest RIP-relative target. A `lea`
    // addresses a jump table; any other instruction a 16-byte constant of the constant
    // pool. Padding before the data decodes as int3.
    let mut tables: Vec<(usize, bool)> = Vec::new();
    let mut insts = Vec::new();
    let mut decoder = Decoder::with_ip(64, &c.code, 0, DecoderOptions::NONE);
    let mut inst = Instruction::default();
    while decoder.can_decode() {
        let at = decoder.position();
        if tables.first().is_some_and(|t| at >= t.0) {
            break;
        }
        decoder.decode_out(&mut inst);
        if inst.is_ip_rel_memory_operand() && inst.memory_base() == Register::RIP {
            let target = inst.ip_rel_memory_address() as usize;
            if !tables.iter().any(|t| t.0 == target) {
                tables.push((target, inst.mnemonic() == iced_x86::Mnemonic::Lea));
                tables.sort();
            }
        }
        insts.push(inst);
    }

    let mut fmt = IntelFormatter::new();
    let o = fmt.options_mut();
    o.set_space_after_operand_separator(true);
    o.set_hex_prefix("0x");
    o.set_hex_suffix("");
    o.set_uppercase_hex(false);
    o.set_branch_leading_zeros(false);
    o.set_show_branch_size(false);
    o.set_rip_relative_addresses(false);
    o.set_signed_immediate_operands(true);

    let mut relocs_seen = vec![false; c.relocs.len()];
    let mut traps_seen = vec![false; c.traps.len()];
    let mut text = String::new();
    for inst in &insts {
        let (start, end) = (inst.ip() as usize, inst.next_ip() as usize);
        text.clear();
        if inst.is_invalid() {
            text.push_str("(bad)");
        } else {
            fmt.format(inst, &mut text);
        }
        let mut notes = Vec::new();
        if inst.is_ip_rel_memory_operand() && inst.memory_base() == Register::RIP {
            notes.push(if inst.mnemonic() == iced_x86::Mnemonic::Lea {
                "jump table".to_string()
            } else {
                format!("constant {:#x}", inst.ip_rel_memory_address())
            });
        }
        for (i, r) in c.relocs.iter().enumerate() {
            if (start..end).contains(&(r.offset as usize)) {
                relocs_seen[i] = true;
                notes.push(reloc_text(r));
            }
        }
        // A trap site is the return address of a trap stub's call, or the start of a
        // memory access whose fault on a guard page traps.
        for (i, t) in c.traps.iter().enumerate() {
            let at = t.code_offset as usize;
            let returns_here = at == end && inst.mnemonic() == iced_x86::Mnemonic::Call;
            if returns_here {
                traps_seen[i] = true;
                notes.push(trap_text(t));
            } else if at == start && !traps_seen[i] {
                traps_seen[i] = true;
                notes.push(format!("fault {}", trap_text(t)));
            }
        }
        let bytes = hex(&c.code[start..end]);
        let line = format!("  {start:04x}: {bytes:<22} {text}");
        if notes.is_empty() {
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "{line:<72} ; {}", notes.join("; "));
        }
    }

    // Each entry is the offset of its target from the table's start; a constant is shown
    // as its bytes and as 32-bit lanes.
    for (n, &(t, is_table)) in tables.iter().enumerate() {
        let end = tables.get(n + 1).map_or(c.code.len(), |t| t.0);
        if !is_table {
            let b = &c.code[t..end.min(t + 16)];
            let lanes: Vec<String> = b
                .chunks(4)
                .map(|w| format!("{:#x}", u32::from_le_bytes(w.try_into().unwrap_or([0; 4]))))
                .collect();
            let _ = writeln!(
                out,
                "  constant at {t:#x}: {} (i32x4 {})",
                hex(b),
                lanes.join(" ")
            );
            continue;
        }
        let _ = writeln!(out, "  jump table at {t:#x}:");
        for at in (t..end).step_by(4) {
            let Some(b) = c.code.get(at..at + 4) else {
                let _ = writeln!(
                    out,
                    "  {at:04x}: {:<22} (truncated entry)",
                    hex(&c.code[at..])
                );
                break;
            };
            let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let target = t as i64 + v as i64;
            let _ = writeln!(
                out,
                "  {at:04x}: {:<22} dd {} -> {target:#x}",
                hex(b),
                signed_hex(v)
            );
        }
    }

    // Anything not attached to an instruction is listed, so that no part of the compiled
    // stencil escapes the comparison.
    for (i, r) in c.relocs.iter().enumerate() {
        if !relocs_seen[i] {
            let _ = writeln!(out, "  unattached {:#x}: {}", r.offset, reloc_text(r));
        }
    }
    for (i, t) in c.traps.iter().enumerate() {
        if !traps_seen[i] {
            let _ = writeln!(out, "  unattached {:#x}: {}", t.code_offset, trap_text(t));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signed_hex(v: i32) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

/// A line diff of `want` and `got` in unified style (`-` expected, `+` actual) with three
/// lines of context around each change.
fn diff(want: &str, got: &str) -> String {
    let a: Vec<&str> = want.lines().collect();
    let b: Vec<&str> = got.lines().collect();
    // Longest common subsequence table, from the end.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // Edit script: (tag, line number in the expected file, in the actual output, text);
    // at a change, removed lines come before added ones.
    let mut script: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            script.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            script.push(('-', i, j, a[i]));
            i += 1;
        } else {
            script.push(('+', i, j, b[j]));
            j += 1;
        }
    }
    // Show each change with CONTEXT lines around it; a gap starts a new hunk.
    const CONTEXT: usize = 3;
    let mut shown = vec![false; script.len()];
    for (k, (tag, ..)) in script.iter().enumerate() {
        if *tag != ' ' {
            let to = (k + CONTEXT).min(script.len() - 1);
            shown[k.saturating_sub(CONTEXT)..=to].fill(true);
        }
    }
    let mut out = String::new();
    for (k, (tag, want_line, got_line, line)) in script.iter().enumerate() {
        if !shown[k] {
            continue;
        }
        if k == 0 || !shown[k - 1] {
            let _ = writeln!(
                out,
                "@@ expected line {}, actual line {} @@",
                want_line + 1,
                got_line + 1
            );
        }
        let _ = writeln!(out, "{tag}{line}");
    }
    out
}

#[test]
fn a_golden_diff_shows_each_change_with_its_context_and_line_numbers() {
    let want = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n";
    let got = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
    assert_eq!(
        diff(want, got),
        "@@ expected line 1, actual line 1 @@\n a\n-b\n+B\n c\n d\n e\n\
         @@ expected line 9, actual line 9 @@\n i\n j\n k\n+l\n"
    );
    assert_eq!(diff(want, want), "");
}

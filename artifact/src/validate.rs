//! What a runtime checks of decoded metadata before it trusts any of it.
//!
//! [`ModuleMeta::validate`] checks every index, count, offset and length against what it
//! refers to, and computes the VM-context layout with checked arithmetic, so that a
//! runtime that instantiates the module indexes nothing out of range and writes nothing
//! outside the VM context, whatever the metadata bytes were. It cannot tell metadata that
//! is consistent but disagrees with the code (a function's type swapped for another
//! valid one); that is what the artifact checksum ([`seal`](crate::seal)) is for.

use crate::meta::*;
use crate::vm::{VmCounts, VmLayout};
use std::collections::{HashMap, HashSet};
use thiserror::Error;

/// A part of the metadata that does not decode or does not hold together, named by its
/// field (`exports[3].index`, `data[0].memory`, `globals`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
pub struct MetaError {
    /// The field, with the index of its item where there is one.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl MetaError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> MetaError {
        MetaError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Largest number of pages a 32-bit memory can have (4 GiB).
pub const MAX_MEMORY_PAGES: u64 = 65536;
/// Code and trampolines start on this alignment in `.text`.
pub const CODE_ALIGN: u32 = 16;

type Check = Result<(), MetaError>;

fn fail<T>(field: impl Into<String>, problem: impl Into<String>) -> Result<T, MetaError> {
    Err(MetaError::new(field, problem))
}

/// `index` names one of `count` things of `what`.
fn in_range(field: impl FnOnce() -> String, what: &str, index: u32, count: usize) -> Check {
    if (index as usize) < count {
        Ok(())
    } else {
        fail(
            field(),
            format!("{what} index {index} out of range ({count} {what}s)"),
        )
    }
}

fn check_limits(field: &str, l: &Limits, max_allowed: u64) -> Check {
    if l.min > max_allowed {
        return fail(field, format!("minimum {} exceeds {max_allowed}", l.min));
    }
    if let Some(max) = l.max {
        if max > max_allowed {
            return fail(field, format!("maximum {max} exceeds {max_allowed}"));
        }
        if l.min > max {
            return fail(field, format!("minimum {} exceeds maximum {max}", l.min));
        }
    }
    Ok(())
}

fn is_ref(t: ValType) -> bool {
    matches!(t, ValType::FuncRef | ValType::ExternRef)
}

fn check_table(field: &str, t: &TableType) -> Check {
    if !is_ref(t.elem) {
        return fail(
            field,
            format!("a table of {} (not a reference type)", t.elem),
        );
    }
    check_limits(field, &t.limits, u32::MAX as u64)
}

fn check_memory(field: &str, m: &MemoryType) -> Check {
    check_limits(field, &m.limits, MAX_MEMORY_PAGES)
}

/// What a constant expression may refer to.
struct ConstScope<'a> {
    /// The types of the globals it may read.
    globals: &'a [GlobalType],
    funcs: usize,
}

impl ConstScope<'_> {
    fn global(&self, field: &str, g: u32) -> Result<ValType, MetaError> {
        match self.globals.get(g as usize) {
            Some(t) => Ok(t.ty),
            None => fail(
                field,
                format!(
                    "global.get of global {g}, but only {} globals are visible here",
                    self.globals.len()
                ),
            ),
        }
    }

    /// The type of `e`'s value.
    fn type_of(&self, field: &str, e: &ConstExpr) -> Result<ValType, MetaError> {
        Ok(match e {
            ConstExpr::I32(_) => ValType::I32,
            ConstExpr::I64(_) => ValType::I64,
            ConstExpr::F32(_) => ValType::F32,
            ConstExpr::F64(_) => ValType::F64,
            ConstExpr::V128(_) => ValType::V128,
            ConstExpr::RefNull(t) => {
                if !is_ref(*t) {
                    return fail(field, format!("ref.null of {t}"));
                }
                *t
            }
            ConstExpr::RefFunc(f) => {
                in_range(|| field.to_string(), "function", *f, self.funcs)?;
                ValType::FuncRef
            }
            ConstExpr::GlobalGet(g) => self.global(field, *g)?,
            ConstExpr::Ops(ops) => {
                let mut stack = Vec::new();
                for op in ops {
                    let binary = match op {
                        ConstOp::I32(_) => {
                            stack.push(ValType::I32);
                            None
                        }
                        ConstOp::I64(_) => {
                            stack.push(ValType::I64);
                            None
                        }
                        ConstOp::GlobalGet(g) => {
                            stack.push(self.global(field, *g)?);
                            None
                        }
                        ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => Some(ValType::I32),
                        ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => Some(ValType::I64),
                    };
                    if let Some(t) = binary {
                        let (b, a) = (stack.pop(), stack.pop());
                        if a != Some(t) || b != Some(t) {
                            return fail(field, format!("{op:?} needs two {t} operands"));
                        }
                        stack.push(t);
                    }
                }
                match stack[..] {
                    [t] => t,
                    _ => return fail(field, format!("leaves {} values, not one", stack.len())),
                }
            }
        })
    }

    /// `e` is a constant expression of type `want`.
    fn check(&self, field: &str, e: &ConstExpr, want: ValType) -> Check {
        let t = self.type_of(field, e)?;
        if t != want {
            return fail(field, format!("has type {t}, expected {want}"));
        }
        Ok(())
    }
}

fn count_u32(field: &str, n: usize) -> Result<u32, MetaError> {
    u32::try_from(n).or_else(|_| fail(field, format!("{n} items exceed the format's limit")))
}

impl ModuleMeta {
    /// Checks that the metadata holds together and fits a `.text` of `text_len` bytes:
    /// every index names something that exists (and of the right type), every count
    /// agrees with what it counts, constant expressions are well typed, code and
    /// trampoline offsets lie in `.text` in the order the compiler lays them out, trap
    /// sites are sorted, and the VM context's layout fits in 32-bit offsets. Returns that
    /// layout. The first problem found is the error, naming its field.
    pub fn validate(&self, text_len: usize) -> Result<VmLayout, MetaError> {
        let text_len = match u32::try_from(text_len) {
            Ok(n) => n,
            Err(_) => return fail(".text", format!("{text_len} bytes exceed 4 GiB")),
        };
        let ntypes = self.types.len();
        // Entities by module index, imports first.
        let mut func_imports = Vec::new();
        let mut tables = Vec::new();
        let mut memories = 0usize;
        let mut globals = Vec::new();
        for (i, imp) in self.imports.iter().enumerate() {
            let f = || format!("imports[{i}]");
            match &imp.kind {
                ImportKind::Func(t) => {
                    in_range(|| format!("imports[{i}].type"), "type", *t, ntypes)?;
                    func_imports.push(*t);
                }
                ImportKind::Table(t) => {
                    check_table(&f(), t)?;
                    tables.push(*t);
                }
                ImportKind::Memory(m) => {
                    check_memory(&f(), m)?;
                    memories += 1;
                }
                ImportKind::Global(g) => globals.push(*g),
            }
        }
        for (field, declared, found) in [
            (
                "num_imported_funcs",
                self.num_imported_funcs,
                func_imports.len(),
            ),
            (
                "num_imported_tables",
                self.num_imported_tables,
                tables.len(),
            ),
            (
                "num_imported_memories",
                self.num_imported_memories,
                memories,
            ),
            (
                "num_imported_globals",
                self.num_imported_globals,
                globals.len(),
            ),
        ] {
            if declared as usize != found {
                return fail(field, format!("{declared}, but the imports hold {found}"));
            }
        }
        let nfuncs = self.functions.len();
        if self.code.len().checked_add(func_imports.len()) != Some(nfuncs) {
            return fail(
                "code",
                format!(
                    "{} defined functions and {} imported ones, but {nfuncs} functions",
                    self.code.len(),
                    func_imports.len()
                ),
            );
        }
        for (i, t) in self.functions.iter().enumerate() {
            in_range(|| format!("functions[{i}]"), "type", *t, ntypes)?;
            if let Some(imported) = func_imports.get(i) {
                if imported != t {
                    return fail(
                        format!("functions[{i}]"),
                        format!("type {t}, but its import has type {imported}"),
                    );
                }
            }
        }
        for (i, t) in self.tables.iter().enumerate() {
            check_table(&format!("tables[{i}]"), t)?;
            tables.push(*t);
        }
        for (i, m) in self.memories.iter().enumerate() {
            check_memory(&format!("memories[{i}]"), m)?;
            memories += 1;
        }
        for (i, g) in self.globals.iter().enumerate() {
            // An initializer reads imported and earlier globals only.
            let scope = ConstScope {
                globals: &globals,
                funcs: nfuncs,
            };
            scope.check(&format!("globals[{i}].init"), &g.init, g.ty.ty)?;
            globals.push(g.ty);
        }
        let scope = ConstScope {
            globals: &globals,
            funcs: nfuncs,
        };
        let mut names = HashSet::new();
        for (i, e) in self.exports.iter().enumerate() {
            let (what, count) = match e.kind {
                ExternKind::Func => ("function", nfuncs),
                ExternKind::Table => ("table", tables.len()),
                ExternKind::Memory => ("memory", memories),
                ExternKind::Global => ("global", globals.len()),
            };
            in_range(|| format!("exports[{i}].index"), what, e.index, count)?;
            if !names.insert(e.name.as_str()) {
                return fail(
                    format!("exports[{i}].name"),
                    format!("`{}` exported twice", e.name),
                );
            }
        }
        if let Some(s) = self.start {
            in_range(|| "start".to_string(), "function", s, nfuncs)?;
            let ty = &self.types[self.functions[s as usize] as usize];
            if !ty.params.is_empty() || !ty.results.is_empty() {
                return fail("start", format!("function {s} has type {ty}, not () -> ()"));
            }
        }
        for (i, e) in self.elements.iter().enumerate() {
            if !is_ref(e.ty) {
                return fail(
                    format!("elements[{i}].type"),
                    format!("{} is not a reference type", e.ty),
                );
            }
            if let SegmentMode::Active { index, offset } = &e.mode {
                in_range(
                    || format!("elements[{i}].table"),
                    "table",
                    *index,
                    tables.len(),
                )?;
                let table = tables[*index as usize].elem;
                if table != e.ty {
                    return fail(
                        format!("elements[{i}].type"),
                        format!("a segment of {} for a table of {table}", e.ty),
                    );
                }
                scope.check(&format!("elements[{i}].offset"), offset, ValType::I32)?;
            }
            count_u32(&format!("elements[{i}].items"), e.items.len())?;
            for (k, item) in e.items.iter().enumerate() {
                scope.check(&format!("elements[{i}].items[{k}]"), item, e.ty)?;
            }
        }
        for (i, d) in self.data.iter().enumerate() {
            match &d.mode {
                SegmentMode::Active { index, offset } => {
                    in_range(|| format!("data[{i}].memory"), "memory", *index, memories)?;
                    scope.check(&format!("data[{i}].offset"), offset, ValType::I32)?;
                }
                SegmentMode::Passive => {}
                SegmentMode::Declared => {
                    return fail(
                        format!("data[{i}].mode"),
                        "a data segment cannot be declared",
                    )
                }
            }
            count_u32(&format!("data[{i}].bytes"), d.bytes.len())?;
        }
        // Functions in index order, each aligned, none overlapping the one before.
        let mut code_end = 0u32;
        for (i, c) in self.code.iter().enumerate() {
            let end = c.text_offset.checked_add(c.len).filter(|e| *e <= text_len);
            let Some(end) = end else {
                return fail(
                    format!("code[{i}]"),
                    format!(
                        "{} bytes at {:#x} do not fit in .text ({text_len:#x} bytes)",
                        c.len, c.text_offset
                    ),
                );
            };
            if !c.text_offset.is_multiple_of(CODE_ALIGN) || c.text_offset < code_end {
                return fail(
                    format!("code[{i}].text_offset"),
                    format!(
                        "{:#x} is not {CODE_ALIGN}-byte aligned after the previous function's end {code_end:#x}",
                        c.text_offset
                    ),
                );
            }
            code_end = end;
        }
        self.check_trampolines(code_end, text_len)?;
        let mut prev = 0u32;
        for (i, t) in self.traps.iter().enumerate() {
            if t.text_offset > text_len || t.text_offset < prev {
                return fail(
                    format!("traps[{i}].text_offset"),
                    format!("{:#x} is out of order or outside .text", t.text_offset),
                );
            }
            prev = t.text_offset;
        }
        let counts = VmCounts {
            funcs: count_u32("functions", nfuncs)?,
            memories: count_u32("memories", memories)?,
            tables: count_u32("tables", tables.len())?,
            globals: count_u32("globals", globals.len())?,
            types: count_u32("types", ntypes)?,
        };
        VmLayout::new(counts).ok_or_else(|| {
            MetaError::new(
                "counts",
                format!("the VM context of {counts:?} does not fit in 32-bit offsets"),
            )
        })
    }

    /// One pair of trampolines per type: after the code, aligned, a type structurally
    /// equal to an earlier one sharing that one's, the others in type order, the
    /// array-to-wasm trampoline first.
    fn check_trampolines(&self, code_end: u32, text_len: u32) -> Check {
        if self.trampolines.len() != self.types.len() {
            return fail(
                "trampolines",
                format!(
                    "{} trampoline pairs for {} types",
                    self.trampolines.len(),
                    self.types.len()
                ),
            );
        }
        let mut first: HashMap<&FuncType, Trampolines> = HashMap::new();
        let mut next = code_end;
        for (i, (ty, t)) in self.types.iter().zip(&self.trampolines).enumerate() {
            if let Some(shared) = first.get(ty) {
                if shared != t {
                    return fail(
                        format!("trampolines[{i}]"),
                        "differ from those of an equal earlier type",
                    );
                }
                continue;
            }
            let placed =
                |at: u32, after: u32| at.is_multiple_of(CODE_ALIGN) && at >= after && at < text_len;
            if !placed(t.array_to_wasm, next) {
                return fail(
                    format!("trampolines[{i}].array_to_wasm"),
                    format!("{:#x} is misplaced", t.array_to_wasm),
                );
            }
            if !placed(t.wasm_to_host, t.array_to_wasm + 1) {
                return fail(
                    format!("trampolines[{i}].wasm_to_host"),
                    format!("{:#x} is misplaced", t.wasm_to_host),
                );
            }
            next = t.wasm_to_host + 1;
            first.insert(ty, *t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT_LEN: usize = 200;

    fn ty(params: &[ValType], results: &[ValType]) -> FuncType {
        FuncType {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }

    fn limits(min: u64, max: Option<u64>) -> Limits {
        Limits { min, max }
    }

    fn import(name: &str, kind: ImportKind) -> Import {
        Import {
            module: "env".into(),
            name: name.into(),
            kind,
        }
    }

    fn export(name: &str, kind: ExternKind, index: u32) -> Export {
        Export {
            name: name.into(),
            kind,
            index,
        }
    }

    /// A module with something of every kind, laid out as the compiler lays one out.
    fn valid() -> ModuleMeta {
        use ValType::*;
        let i32_global = GlobalType {
            ty: I32,
            mutable: false,
        };
        ModuleMeta {
            types: vec![ty(&[], &[]), ty(&[I32], &[I32]), ty(&[], &[])],
            imports: vec![
                import("f", ImportKind::Func(1)),
                import(
                    "t",
                    ImportKind::Table(TableType {
                        elem: FuncRef,
                        limits: limits(1, None),
                    }),
                ),
                import(
                    "m",
                    ImportKind::Memory(MemoryType {
                        limits: limits(1, Some(2)),
                    }),
                ),
                import("g", ImportKind::Global(i32_global)),
            ],
            functions: vec![1, 0, 1],
            num_imported_funcs: 1,
            num_imported_tables: 1,
            num_imported_memories: 1,
            num_imported_globals: 1,
            tables: vec![TableType {
                elem: ExternRef,
                limits: limits(2, Some(10)),
            }],
            memories: vec![MemoryType {
                limits: limits(0, None),
            }],
            globals: vec![
                Global {
                    ty: GlobalType {
                        ty: I32,
                        mutable: true,
                    },
                    init: ConstExpr::GlobalGet(0),
                },
                Global {
                    ty: GlobalType {
                        ty: I64,
                        mutable: false,
                    },
                    init: ConstExpr::Ops(vec![ConstOp::I64(1), ConstOp::I64(2), ConstOp::I64Add]),
                },
            ],
            exports: vec![
                export("f", ExternKind::Func, 2),
                export("t", ExternKind::Table, 1),
                export("m", ExternKind::Memory, 0),
                export("g", ExternKind::Global, 2),
            ],
            start: Some(1),
            elements: vec![
                ElementSegment {
                    mode: SegmentMode::Active {
                        index: 0,
                        offset: ConstExpr::Ops(vec![
                            ConstOp::GlobalGet(0),
                            ConstOp::I32(1),
                            ConstOp::I32Add,
                        ]),
                    },
                    ty: FuncRef,
                    items: vec![ConstExpr::RefFunc(2), ConstExpr::RefNull(FuncRef)],
                },
                ElementSegment {
                    mode: SegmentMode::Passive,
                    ty: ExternRef,
                    items: vec![ConstExpr::RefNull(ExternRef)],
                },
                ElementSegment {
                    mode: SegmentMode::Declared,
                    ty: FuncRef,
                    items: vec![ConstExpr::RefFunc(1)],
                },
            ],
            data: vec![
                DataSegment {
                    mode: SegmentMode::Active {
                        index: 1,
                        offset: ConstExpr::I32(8),
                    },
                    bytes: vec![1, 2, 3],
                },
                DataSegment {
                    mode: SegmentMode::Passive,
                    bytes: vec![4],
                },
            ],
            code: vec![
                FunctionCode {
                    text_offset: 0,
                    len: 20,
                },
                FunctionCode {
                    text_offset: 32,
                    len: 8,
                },
            ],
            trampolines: vec![
                Trampolines {
                    array_to_wasm: 48,
                    wasm_to_host: 96,
                },
                Trampolines {
                    array_to_wasm: 128,
                    wasm_to_host: 160,
                },
                Trampolines {
                    array_to_wasm: 48,
                    wasm_to_host: 96,
                },
            ],
            traps: vec![
                TrapSite {
                    text_offset: 10,
                    kind: TrapKind::Unreachable,
                    wasm_offset: 5,
                },
                TrapSite {
                    text_offset: 170,
                    kind: TrapKind::HostError,
                    wasm_offset: 0,
                },
            ],
            ..Default::default()
        }
    }

    type Case = (&'static str, fn(&mut ModuleMeta));

    /// Each change of `valid()` is refused, naming its field.
    fn refused(cases: &[Case]) {
        for (field, change) in cases {
            let mut m = valid();
            change(&mut m);
            match m.validate(TEXT_LEN) {
                Err(e) => assert_eq!(e.field, *field, "{e}"),
                Ok(_) => panic!("a change of {field} must be refused"),
            }
        }
    }

    #[test]
    fn a_consistent_module_validates_and_gets_its_layout() {
        let layout = valid().validate(TEXT_LEN).expect("valid");
        assert_eq!(
            layout.counts,
            VmCounts {
                funcs: 3,
                memories: 2,
                tables: 2,
                globals: 3,
                types: 3,
            }
        );
    }

    #[test]
    fn an_export_index_out_of_range_is_refused_by_name() {
        refused(&[
            ("exports[0].index", |m| m.exports[0].index = u32::MAX),
            ("exports[1].index", |m| m.exports[1].index = 2),
            ("exports[2].index", |m| m.exports[2].index = 2),
            ("exports[3].index", |m| m.exports[3].index = 3),
            ("exports[3].name", |m| m.exports[3].name = "f".into()),
        ]);
    }

    #[test]
    fn an_import_type_index_out_of_range_is_refused_by_name() {
        refused(&[
            ("imports[0].type", |m| {
                m.imports[0].kind = ImportKind::Func(3)
            }),
            ("functions[0]", |m| m.imports[0].kind = ImportKind::Func(0)),
        ]);
    }

    #[test]
    fn constant_expressions_name_only_what_exists_with_the_right_type() {
        refused(&[
            ("globals[0].init", |m| {
                m.globals[0].init = ConstExpr::GlobalGet(1)
            }),
            ("globals[0].init", |m| {
                m.globals[0].init = ConstExpr::GlobalGet(u32::MAX)
            }),
            ("globals[0].init", |m| m.globals[0].init = ConstExpr::I64(1)),
            ("globals[1].init", |m| {
                m.globals[1].init = ConstExpr::Ops(vec![ConstOp::I64Add])
            }),
            ("elements[0].items[0]", |m| {
                m.elements[0].items[0] = ConstExpr::RefFunc(3)
            }),
            ("elements[0].items[1]", |m| {
                m.elements[0].items[1] = ConstExpr::I32(7)
            }),
            ("elements[1].items[0]", |m| {
                m.elements[1].items[0] = ConstExpr::RefNull(ValType::FuncRef)
            }),
            ("elements[0].offset", |m| {
                m.elements[0].mode = SegmentMode::Active {
                    index: 0,
                    offset: ConstExpr::GlobalGet(2),
                }
            }),
        ]);
    }

    #[test]
    fn a_segment_for_a_missing_memory_or_table_is_refused_by_name() {
        refused(&[
            ("data[0].memory", |m| {
                m.data[0].mode = SegmentMode::Active {
                    index: 2,
                    offset: ConstExpr::I32(0),
                }
            }),
            ("elements[0].table", |m| {
                m.elements[0].mode = SegmentMode::Active {
                    index: u32::MAX,
                    offset: ConstExpr::I32(0),
                }
            }),
            ("elements[0].type", |m| {
                m.elements[0].mode = SegmentMode::Active {
                    index: 1,
                    offset: ConstExpr::I32(0),
                }
            }),
            ("data[1].mode", |m| m.data[1].mode = SegmentMode::Declared),
        ]);
    }

    #[test]
    fn counts_that_disagree_with_what_they_count_are_refused_by_name() {
        refused(&[
            ("num_imported_globals", |m| {
                m.num_imported_globals = 449_050_039
            }),
            ("num_imported_funcs", |m| m.num_imported_funcs = 0),
            ("num_imported_tables", |m| m.num_imported_tables = 2),
            ("num_imported_memories", |m| {
                m.num_imported_memories = u32::MAX
            }),
            ("code", |m| m.functions.push(0)),
            ("functions[2]", |m| m.functions[2] = 3),
            ("trampolines", |m| {
                m.trampolines.pop();
            }),
        ]);
    }

    #[test]
    fn limits_and_element_types_outside_the_format_are_refused_by_name() {
        refused(&[
            ("memories[0]", |m| {
                m.memories[0].limits = limits(MAX_MEMORY_PAGES + 1, None)
            }),
            ("memories[0]", |m| m.memories[0].limits = limits(3, Some(2))),
            ("tables[0]", |m| m.tables[0].elem = ValType::I32),
            ("tables[0]", |m| m.tables[0].limits = limits(1 << 40, None)),
            ("imports[2]", |m| {
                m.imports[2].kind = ImportKind::Memory(MemoryType {
                    limits: limits(0, Some(1 << 20)),
                })
            }),
        ]);
    }

    #[test]
    fn a_start_function_must_exist_and_take_nothing() {
        refused(&[
            ("start", |m| m.start = Some(3)),
            ("start", |m| m.start = Some(2)),
        ]);
    }

    #[test]
    fn code_and_trampolines_must_lie_in_text_in_layout_order() {
        refused(&[
            ("code[1]", |m| m.code[1].len = u32::MAX),
            ("code[1].text_offset", |m| m.code[1].text_offset = 16),
            ("code[1].text_offset", |m| m.code[1].text_offset = 40),
            ("code[1]", |m| m.code[1].text_offset = 208),
            ("trampolines[0].array_to_wasm", |m| {
                m.trampolines[0].array_to_wasm = 32
            }),
            ("trampolines[1].array_to_wasm", |m| {
                m.trampolines[1].array_to_wasm = 96
            }),
            ("trampolines[1].wasm_to_host", |m| {
                m.trampolines[1].wasm_to_host = 200
            }),
            ("trampolines[2]", |m| m.trampolines[2].wasm_to_host = 160),
            ("traps[1].text_offset", |m| m.traps[1].text_offset = 9),
            ("traps[1].text_offset", |m| m.traps[1].text_offset = 201),
        ]);
    }

    #[test]
    fn a_text_section_over_4_gib_is_refused() {
        let e = valid().validate(1 << 32).expect_err("too large");
        assert_eq!(e.field, ".text");
    }
}

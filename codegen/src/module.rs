//! Reading and validating a module: everything outside function bodies, plus the location
//! of each body.

use crate::error::CompileError;
use std::ops::Range;
use wasmparser::{
    BinaryReader, BinaryReaderError, ElementItems, ElementKind, ExternalKind, FuncToValidate,
    FunctionBody, Parser, Payload, TypeRef, ValidPayload, Validator, ValidatorResources,
    WasmFeatures,
};
use wasmprecomp_artifact as art;

/// The proposals this compiler compiles: WebAssembly 2.0 (128-bit SIMD included), plus
/// relaxed SIMD and extended constant expressions.
pub const SUPPORTED_FEATURES: WasmFeatures = WasmFeatures::WASM1
    .union(WasmFeatures::SIMD)
    .union(WasmFeatures::RELAXED_SIMD)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::EXTENDED_CONST);

/// Proposals we recognise and reject by name: the proposal's own feature, and the
/// features it needs besides to validate. The first two are refused only by targets that
/// do not compile them (see [`crate::isa::Isa::wasm_features`]).
const UNSUPPORTED: &[(&str, WasmFeatures, WasmFeatures)] = &[
    ("simd", WasmFeatures::SIMD, WasmFeatures::empty()),
    (
        "relaxed-simd",
        WasmFeatures::RELAXED_SIMD,
        WasmFeatures::SIMD,
    ),
    ("threads", WasmFeatures::THREADS, WasmFeatures::empty()),
    ("tail-call", WasmFeatures::TAIL_CALL, WasmFeatures::empty()),
    (
        "multi-memory",
        WasmFeatures::MULTI_MEMORY,
        WasmFeatures::empty(),
    ),
    (
        "exception-handling",
        WasmFeatures::EXCEPTIONS,
        WasmFeatures::empty(),
    ),
    (
        "legacy-exception-handling",
        WasmFeatures::LEGACY_EXCEPTIONS,
        WasmFeatures::EXCEPTIONS,
    ),
    ("memory64", WasmFeatures::MEMORY64, WasmFeatures::empty()),
    (
        "function-references",
        WasmFeatures::FUNCTION_REFERENCES,
        WasmFeatures::TAIL_CALL,
    ),
    (
        "gc",
        WasmFeatures::GC,
        WasmFeatures::FUNCTION_REFERENCES.union(WasmFeatures::TAIL_CALL),
    ),
    (
        "custom-page-sizes",
        WasmFeatures::CUSTOM_PAGE_SIZES,
        WasmFeatures::empty(),
    ),
    (
        "wide-arithmetic",
        WasmFeatures::WIDE_ARITHMETIC,
        WasmFeatures::empty(),
    ),
    (
        "stack-switching",
        WasmFeatures::STACK_SWITCHING,
        WasmFeatures::EXCEPTIONS.union(WasmFeatures::FUNCTION_REFERENCES),
    ),
    (
        "shared-everything-threads",
        WasmFeatures::SHARED_EVERYTHING_THREADS,
        WasmFeatures::THREADS,
    ),
];

/// A parsed module: metadata for the artifact plus where each function body is.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    /// Metadata without code, trampolines or traps (filled by the linker).
    pub meta: art::ModuleMeta,
    /// Each function's name (imports included): from the name section, else an import's
    /// `module::name`, else `wasm_func_<index>`. The artifact's symbols carry them.
    pub names: Vec<String>,
    /// Byte range of each defined function's body (locals + operators) in the input.
    pub bodies: Vec<Range<usize>>,
    /// Module-relative byte offset of the code section, for error messages.
    pub code_section: Option<Range<usize>>,
    /// The data count section's value, when the module has one (`memory.init` and
    /// `data.drop` validate only with it).
    pub data_count: Option<u32>,
}

impl ModuleInfo {
    pub fn num_funcs(&self) -> u32 {
        self.meta.functions.len() as u32
    }
    pub fn num_imported_funcs(&self) -> u32 {
        self.meta.num_imported_funcs
    }
    /// Which function (imports included) holds byte `offset`, if any.
    pub fn function_at(&self, offset: u64) -> Option<u32> {
        let off = offset as usize;
        let i = self.bodies.partition_point(|r| r.end <= off);
        let r = self.bodies.get(i)?;
        // A body is preceded by its LEB128 size (up to 5 bytes): those bytes count too.
        if off + 5 >= r.start {
            return Some(self.meta.num_imported_funcs + i as u32);
        }
        None
    }
}

fn valtype(t: wasmparser::ValType) -> Result<art::ValType, String> {
    use wasmparser::ValType as V;
    Ok(match t {
        V::I32 => art::ValType::I32,
        V::I64 => art::ValType::I64,
        V::F32 => art::ValType::F32,
        V::F64 => art::ValType::F64,
        V::Ref(r) => reftype(r)?,
        V::V128 => art::ValType::V128,
    })
}

fn reftype(r: wasmparser::RefType) -> Result<art::ValType, String> {
    if r.is_func_ref() {
        Ok(art::ValType::FuncRef)
    } else if r.is_extern_ref() {
        Ok(art::ValType::ExternRef)
    } else {
        Err(format!("reference type {r}"))
    }
}

/// Converts a constant expression. `Err` holds a description of what is unsupported.
pub fn const_expr(e: &wasmparser::ConstExpr) -> Result<art::ConstExpr, CompileError> {
    use wasmparser::Operator as O;
    let mut ops = Vec::new();
    let mut reader = e.get_operators_reader();
    let mut simple = None;
    let mut count = 0;
    while !reader.eof() {
        let op = reader.read().map_err(malformed)?;
        let c = match op {
            O::I32Const { value } => {
                simple = Some(art::ConstExpr::I32(value));
                Some(art::ConstOp::I32(value))
            }
            O::I64Const { value } => {
                simple = Some(art::ConstExpr::I64(value));
                Some(art::ConstOp::I64(value))
            }
            O::F32Const { value } => {
                simple = Some(art::ConstExpr::F32(value.bits()));
                None
            }
            O::F64Const { value } => {
                simple = Some(art::ConstExpr::F64(value.bits()));
                None
            }
            O::V128Const { value } => {
                simple = Some(art::ConstExpr::V128(value.i128() as u128));
                None
            }
            O::RefNull { hty } => {
                let t = if hty == wasmparser::HeapType::EXTERN {
                    art::ValType::ExternRef
                } else {
                    art::ValType::FuncRef
                };
                simple = Some(art::ConstExpr::RefNull(t));
                None
            }
            O::RefFunc { function_index } => {
                simple = Some(art::ConstExpr::RefFunc(function_index));
                None
            }
            O::GlobalGet { global_index } => {
                simple = Some(art::ConstExpr::GlobalGet(global_index));
                Some(art::ConstOp::GlobalGet(global_index))
            }
            O::I32Add => Some(art::ConstOp::I32Add),
            O::I32Sub => Some(art::ConstOp::I32Sub),
            O::I32Mul => Some(art::ConstOp::I32Mul),
            O::I64Add => Some(art::ConstOp::I64Add),
            O::I64Sub => Some(art::ConstOp::I64Sub),
            O::I64Mul => Some(art::ConstOp::I64Mul),
            O::End => continue,
            _ => {
                return Err(CompileError::Unsupported {
                    proposal: "extended-const".into(),
                    message: format!("unsupported constant expression operator {op:?}"),
                    offset: reader.original_position(),
                    function: None,
                })
            }
        };
        count += 1;
        if let Some(c) = c {
            ops.push(c);
        }
    }
    if count == 1 {
        if let Some(s) = simple {
            return Ok(s);
        }
    }
    Ok(art::ConstExpr::Ops(ops))
}

/// Parses `wasm` and validates it fully with every proposal this compiler compiles for
/// some target ([`SUPPORTED_FEATURES`]). Errors name the offset, the function and, for
/// proposals we do not compile, the proposal.
pub fn parse_and_validate(wasm: &[u8]) -> Result<ModuleInfo, CompileError> {
    let (info, funcs) = parse_and_validate_module(wasm, SUPPORTED_FEATURES)?;
    for (i, f) in funcs.into_iter().enumerate() {
        validate_body(&info, wasm, f, i as u32)
            .map_err(|e| classify(wasm, SUPPORTED_FEATURES, e))?;
    }
    Ok(info)
}

/// A function body's validator, to run with [`validate_body`].
pub type BodyValidator = FuncToValidate<ValidatorResources>;

/// Parses `wasm` and validates everything but the function bodies with `features` (the
/// target's, a subset of [`SUPPORTED_FEATURES`]), whose validators are returned (in
/// order) so they can run in parallel.
pub fn parse_and_validate_module(
    wasm: &[u8],
    features: WasmFeatures,
) -> Result<(ModuleInfo, Vec<BodyValidator>), CompileError> {
    // Parse first so validation errors can be attributed to a function.
    let parsed = parse(wasm);
    let mut validator = Validator::new_with_features(features);
    let mut funcs = Vec::new();
    // The parser must know the features too: they decide how some fields are encoded
    // (e.g. memory limits are 64-bit only with memory64).
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let checked = payload.and_then(|p| {
            validator.payload(&p).map(|v| match v {
                ValidPayload::Func(f, _) => Some(f),
                _ => None,
            })
        });
        match checked {
            Ok(Some(f)) => funcs.push(f),
            Ok(None) => {}
            Err(e) => {
                let function = parsed.as_ref().ok().and_then(|m| m.function_at(e.offset()));
                return Err(classify(wasm, features, invalid(e, function)));
            }
        }
    }
    Ok((parsed?, funcs))
}

/// Validates defined function `defined_index`'s body.
///
/// A failure is [`CompileError::Invalid`], not yet classified: many bodies can fail at
/// once (every function that uses a proposal we do not compile), so the caller passes the
/// one it reports (the first in module order) to [`classify`].
pub fn validate_body(
    info: &ModuleInfo,
    wasm: &[u8],
    f: BodyValidator,
    defined_index: u32,
) -> Result<(), CompileError> {
    let range = info.bodies[defined_index as usize].clone();
    let body = FunctionBody::new(BinaryReader::new(&wasm[range.clone()], range.start as u64));
    f.into_validator(Default::default())
        .validate(&body)
        .map_err(|e| invalid(e, Some(info.num_imported_funcs() + defined_index)))
}

fn invalid(e: BinaryReaderError, function: Option<u32>) -> CompileError {
    CompileError::Invalid {
        message: one_line(e.message()),
        offset: e.offset(),
        function,
    }
}

/// Classifies a validation failure under `features`: [`CompileError::Unsupported`] naming
/// the proposal when the module's sections and the failing function's body validate with
/// that proposal enabled, otherwise the failure as it is.
///
/// The work is bounded and independent of how many functions fail or use the proposal:
/// at most one pass over the module's sections per candidate proposal (their function
/// bodies are skipped, not validated), plus the failing body.
pub fn classify(wasm: &[u8], features: WasmFeatures, e: CompileError) -> CompileError {
    let CompileError::Invalid {
        message,
        offset,
        function,
    } = e
    else {
        return e;
    };
    let all = features
        .union(WasmFeatures::all())
        .difference(WasmFeatures::COMPONENT_MODEL);
    if !validates_with(wasm, all, function) {
        return CompileError::Invalid {
            message,
            offset,
            function,
        };
    }
    let refused = || {
        UNSUPPORTED
            .iter()
            .filter(|(_, own, _)| !features.contains(*own))
    };
    let alone = refused()
        .find(|(_, own, with)| validates_with(wasm, features.union(*own).union(*with), function));
    let proposal = match alone {
        Some((name, _, _)) => name.to_string(),
        // No one proposal suffices: name each without which the module does not validate
        // (one more pass over the sections per proposal).
        None => {
            let needed: Vec<&str> = refused()
                .filter(|(_, own, _)| !validates_with(wasm, all.difference(*own), function))
                .map(|(name, _, _)| *name)
                .collect();
            if needed.is_empty() {
                "several proposals".to_string()
            } else {
                needed.join(", ")
            }
        }
    };
    CompileError::Unsupported {
        proposal,
        message,
        offset,
        function,
    }
}

/// Whether the module's sections, and the body of `function` (imports included) when
/// given, validate with `features`. Other bodies are not validated.
fn validates_with(wasm: &[u8], features: WasmFeatures, function: Option<u32>) -> bool {
    let mut validator = Validator::new_with_features(features);
    let mut parser = Parser::new(0);
    parser.set_features(features);
    let mut imported = 0u32;
    let mut defined = 0u32;
    for payload in parser.parse_all(wasm) {
        let Ok(payload) = payload else {
            return false;
        };
        if let Payload::ImportSection(imports) = &payload {
            imported += imports
                .clone()
                .into_imports()
                .filter(|i| matches!(i, Ok(imp) if matches!(imp.ty, TypeRef::Func(_) | TypeRef::FuncExact(_))))
                .count() as u32;
        }
        let body = match (&payload, validator.payload(&payload)) {
            (_, Err(_)) => return false,
            (Payload::CodeSectionEntry(body), Ok(ValidPayload::Func(f, _))) => {
                let this = imported + defined;
                defined += 1;
                (Some(this) == function).then(|| (f, body.clone()))
            }
            _ => None,
        };
        if let Some((f, body)) = body {
            if f.into_validator(Default::default())
                .validate(&body)
                .is_err()
            {
                return false;
            }
        }
    }
    true
}

/// wasmparser messages may span lines (e.g. bad magic); keep ours on one line.
pub fn one_line(m: &str) -> String {
    m.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn malformed(e: BinaryReaderError) -> CompileError {
    CompileError::Malformed {
        message: one_line(e.message()),
        offset: e.offset(),
        function: None,
    }
}

fn unsupported(what: String, offset: u64) -> CompileError {
    CompileError::Unsupported {
        proposal: "gc".into(),
        message: what,
        offset,
        function: None,
    }
}

/// Parses the module structure without validating it.
pub fn parse(wasm: &[u8]) -> Result<ModuleInfo, CompileError> {
    let mut meta = art::ModuleMeta::default();
    let mut bodies = Vec::new();
    let mut code_section = None;
    let mut data_count = None;
    let mut names: Vec<Option<String>> = Vec::new();
    let mut name_map: Vec<(u32, String)> = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(malformed)?;
        match payload {
            Payload::TypeSection(r) => {
                for rg in r {
                    let rg = rg.map_err(malformed)?;
                    for st in rg.types() {
                        let f = match &st.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => f,
                            _ => return Err(unsupported("non-function type".into(), 0)),
                        };
                        let params = f
                            .params()
                            .iter()
                            .map(|t| valtype(*t))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|m| unsupported(m, 0))?;
                        let results = f
                            .results()
                            .iter()
                            .map(|t| valtype(*t))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|m| unsupported(m, 0))?;
                        meta.types.push(art::FuncType { params, results });
                    }
                }
            }
            Payload::ImportSection(r) => {
                for imp in r.into_imports_with_offsets() {
                    let (off, imp) = imp.map_err(malformed)?;
                    let kind = match imp.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            meta.functions.push(t);
                            meta.num_imported_funcs += 1;
                            art::ImportKind::Func(t)
                        }
                        TypeRef::Table(t) => {
                            meta.num_imported_tables += 1;
                            art::ImportKind::Table(table_type(&t, off)?)
                        }
                        TypeRef::Memory(m) => {
                            meta.num_imported_memories += 1;
                            art::ImportKind::Memory(art::MemoryType {
                                limits: art::Limits {
                                    min: m.initial,
                                    max: m.maximum,
                                },
                            })
                        }
                        TypeRef::Global(g) => {
                            meta.num_imported_globals += 1;
                            art::ImportKind::Global(art::GlobalType {
                                ty: valtype(g.content_type).map_err(|m| unsupported(m, off))?,
                                mutable: g.mutable,
                            })
                        }
                        TypeRef::Tag(_) => {
                            return Err(CompileError::Unsupported {
                                proposal: "exception-handling".into(),
                                message: "tag import".into(),
                                offset: off,
                                function: None,
                            })
                        }
                    };
                    meta.imports.push(art::Import {
                        module: imp.module.to_string(),
                        name: imp.name.to_string(),
                        kind,
                    });
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    meta.functions.push(t.map_err(malformed)?);
                }
            }
            Payload::TableSection(r) => {
                for t in r.into_iter_with_offsets() {
                    let (off, t) = t.map_err(malformed)?;
                    meta.tables.push(table_type(&t.ty, off)?);
                }
            }
            Payload::MemorySection(r) => {
                for m in r {
                    let m = m.map_err(malformed)?;
                    meta.memories.push(art::MemoryType {
                        limits: art::Limits {
                            min: m.initial,
                            max: m.maximum,
                        },
                    });
                }
            }
            Payload::GlobalSection(r) => {
                for g in r.into_iter_with_offsets() {
                    let (off, g) = g.map_err(malformed)?;
                    let ty = art::GlobalType {
                        ty: valtype(g.ty.content_type).map_err(|m| unsupported(m, off))?,
                        mutable: g.ty.mutable,
                    };
                    let init = const_expr(&g.init_expr)?;
                    meta.globals.push(art::Global { ty, init });
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.map_err(malformed)?;
                    let kind = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => art::ExternKind::Func,
                        ExternalKind::Table => art::ExternKind::Table,
                        ExternalKind::Memory => art::ExternKind::Memory,
                        ExternalKind::Global => art::ExternKind::Global,
                        ExternalKind::Tag => {
                            return Err(CompileError::Unsupported {
                                proposal: "exception-handling".into(),
                                message: "tag export".into(),
                                offset: 0,
                                function: None,
                            })
                        }
                    };
                    meta.exports.push(art::Export {
                        name: e.name.to_string(),
                        kind,
                        index: e.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => meta.start = Some(func),
            Payload::ElementSection(r) => {
                for e in r {
                    let e = e.map_err(malformed)?;
                    let mode = match e.kind {
                        ElementKind::Passive => art::SegmentMode::Passive,
                        ElementKind::Declared => art::SegmentMode::Declared,
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => art::SegmentMode::Active {
                            index: table_index.unwrap_or(0),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let (ty, items) = match e.items {
                        ElementItems::Functions(r) => {
                            let mut v = Vec::new();
                            for f in r {
                                v.push(art::ConstExpr::RefFunc(f.map_err(malformed)?));
                            }
                            (art::ValType::FuncRef, v)
                        }
                        ElementItems::Expressions(rt, r) => {
                            let ty = reftype(rt).map_err(|m| unsupported(m, 0))?;
                            let mut v = Vec::new();
                            for x in r {
                                v.push(const_expr(&x.map_err(malformed)?)?);
                            }
                            (ty, v)
                        }
                    };
                    meta.elements.push(art::ElementSegment { mode, ty, items });
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    let d = d.map_err(malformed)?;
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => art::SegmentMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => art::SegmentMode::Active {
                            index: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    meta.data.push(art::DataSegment {
                        mode,
                        bytes: d.data.to_vec(),
                    });
                }
            }
            Payload::DataCountSection { count, .. } => data_count = Some(count),
            Payload::CodeSectionStart {
                unchecked_range: range,
                ..
            } => code_section = Some(range.start as usize..range.end as usize),
            Payload::CodeSectionEntry(body) => {
                let r = body.range();
                bodies.push(r.start as usize..r.end as usize);
            }
            Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(reader) = c.as_known() {
                    // A malformed name section is ignored, as the spec asks.
                    for n in reader.into_iter().flatten() {
                        if let wasmparser::Name::Function(map) = n {
                            for naming in map.into_iter().flatten() {
                                name_map.push((naming.index, naming.name.to_string()));
                            }
                        }
                    }
                }
            }
            Payload::TagSection(r) => {
                return Err(CompileError::Unsupported {
                    proposal: "exception-handling".into(),
                    message: "tag section".into(),
                    offset: r.range().start,
                    function: None,
                })
            }
            _ => {}
        }
    }
    names.resize(meta.functions.len(), None);
    for (i, n) in name_map {
        if let Some(slot) = names.get_mut(i as usize) {
            *slot = Some(n);
        }
    }
    // Imported functions are named after their import.
    let mut fi = 0;
    for imp in &meta.imports {
        if let art::ImportKind::Func(_) = imp.kind {
            if names[fi].is_none() {
                names[fi] = Some(format!("{}::{}", imp.module, imp.name));
            }
            fi += 1;
        }
    }
    let names = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| n.unwrap_or_else(|| format!("wasm_func_{i}")))
        .collect();
    if bodies.len() + meta.num_imported_funcs as usize != meta.functions.len() {
        return Err(CompileError::Malformed {
            message: "function and code section have inconsistent lengths".into(),
            offset: code_section.as_ref().map(|r| r.start as u64).unwrap_or(0),
            function: None,
        });
    }
    Ok(ModuleInfo {
        meta,
        names,
        bodies,
        code_section,
        data_count,
    })
}

fn table_type(t: &wasmparser::TableType, off: u64) -> Result<art::TableType, CompileError> {
    Ok(art::TableType {
        elem: reftype(t.element_type).map_err(|m| unsupported(m, off))?,
        limits: art::Limits {
            min: t.initial,
            max: t.maximum,
        },
    })
}

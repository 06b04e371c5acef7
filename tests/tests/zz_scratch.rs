#[test]
fn dump() {
    let path = std::env::var("WASM").unwrap();
    let w = std::fs::read(&path).unwrap();
    let mut fi = 0;
    for p in wasmparser::Parser::new(0).parse_all(&w) {
        match p.unwrap() {
            wasmparser::Payload::TypeSection(s) => for (i, t) in s.into_iter_err_on_gc_types().enumerate() { println!("type {i}: {:?}", t.unwrap()); },
            wasmparser::Payload::FunctionSection(s) => for (i, t) in s.into_iter().enumerate() { println!("func {i}: type {}", t.unwrap()); },
            wasmparser::Payload::GlobalSection(s) => for (i, g) in s.into_iter().enumerate() { let g = g.unwrap(); let ops: Vec<_> = g.init_expr.get_operators_reader().into_iter().map(|o| format!("{:?}", o.unwrap())).collect(); println!("global {i}: {:?} = {ops:?}", g.ty); },
            wasmparser::Payload::ExportSection(s) => for e in s { let e = e.unwrap(); println!("export {:?} {:?} {}", e.name, e.kind, e.index); },
            wasmparser::Payload::MemorySection(s) => for m in s { println!("memory {:?}", m.unwrap()); },
            wasmparser::Payload::TableSection(s) => for m in s { println!("table {:?}", m.unwrap().ty); },
            wasmparser::Payload::StartSection { func, .. } => println!("start {func}"),
            wasmparser::Payload::DataSection(s) => for d in s { let d = d.unwrap(); println!("data len {}", d.data.len()); },
            wasmparser::Payload::ElementSection(s) => for d in s { let d = d.unwrap(); let _ = d; println!("elem"); },
            wasmparser::Payload::CodeSectionEntry(b) => {
                println!("== code {fi}");
                fi += 1;
                for l in b.get_locals_reader().unwrap() { println!("  local {:?}", l.unwrap()); }
                let mut depth = 1;
                let mut r = b.get_operators_reader().unwrap();
                while !r.eof() {
                    let (op, off) = r.read_with_offset().unwrap();
                    if matches!(op, wasmparser::Operator::End | wasmparser::Operator::Else) { depth -= 1; }
                    println!("{off:6} {}{:?}", "  ".repeat(depth), op);
                    if matches!(op, wasmparser::Operator::Block{..} | wasmparser::Operator::Loop{..} | wasmparser::Operator::If{..} | wasmparser::Operator::Else) { depth += 1; }
                }
            }
            _ => {}
        }
    }
}

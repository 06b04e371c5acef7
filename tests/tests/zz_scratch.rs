#[test]
fn dump() {
    for seed in 0..8u64 {
        let mut s = seed;
        let data: Vec<u8> = (0..8000).map(|_| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 33) as u8 }).collect();
        let w = wasmprecomp_tests::differential::generate(&data).unwrap();
        let mut funcs = 0; let mut exports = vec![]; let mut body = 0;
        for p in wasmparser::Parser::new(0).parse_all(&w) {
            match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(b) => { funcs += 1; body += b.range().end - b.range().start; }
                wasmparser::Payload::ExportSection(s) => for e in s { let e = e.unwrap(); exports.push(format!("{}:{:?}", e.name, e.kind)); },
                _ => {}
            }
        }
        println!("seed {seed}: {} bytes, {funcs} funcs, body {body}, exports {exports:?}", w.len());
    }
}

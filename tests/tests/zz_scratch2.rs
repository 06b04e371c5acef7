use wasmprecomp_tests::differential::check;
#[test]
fn probe() {
    let p = std::env::var("WAT").unwrap();
    let w = wat::parse_file(&p).unwrap();
    println!("RESULT: {:?}", check(&w));
}

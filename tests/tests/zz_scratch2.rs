use wasmprecomp_tests::differential::check;
fn t(name: &str, wat: &str) {
    let w = wat::parse_str(wat).unwrap();
    println!("{name}: {:?}", check(&w));
}
#[test]
fn probe() {
    t("isnull", r#"(module (func (export "f") (param externref i64) (result i32) local.get 0 ref.is_null))"#);
    t("sel", r#"(module (func (export "f") (param externref i64) (result i64)
        i64.const 5 i64.const 1821410813371112142 i64.const 100383397158471559 f64.convert_i64_u i64.trunc_sat_f64_u i64.rotr local.get 0 ref.is_null select))"#);
    t("rot", r#"(module (func (export "f") (param externref i64) (result i64)
        i64.const 1821410813371112142 i64.const 100383397158471559 f64.convert_i64_u i64.trunc_sat_f64_u i64.rotr))"#);
    t("cvt", r#"(module (func (export "f") (param externref i64) (result i64)
        i64.const 100383397158471559 f64.convert_i64_u i64.trunc_sat_f64_u))"#);
}

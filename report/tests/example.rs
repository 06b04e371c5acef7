//! The checked-in example in `docs/report.example.json` against the schema types.

use wasmprecomp_report::{CacheMode, Message, ModuleCache, Report, Status, SCHEMA};

const EXAMPLE: &str = include_str!("../../docs/report.example.json");

fn example() -> Report {
    serde_json::from_str(EXAMPLE).expect("the example parses as the schema")
}

#[test]
fn the_example_round_trips_byte_for_byte() {
    let r = example();
    assert_eq!(r.schema, SCHEMA);
    let back = serde_json::to_string_pretty(&r).expect("serializes");
    assert_eq!(back, EXAMPLE, "field names, order and values are unchanged");
}

#[test]
fn the_example_holds_each_kind_of_module() {
    let r = example();
    assert_eq!(r.cache.mode, CacheMode::ReadWrite);
    let ok: Vec<_> = r
        .modules
        .iter()
        .filter(|m| m.status == Status::Ok)
        .collect();
    assert!(!ok.is_empty());
    for m in &ok {
        assert_eq!(m.module_cache, ModuleCache::Miss);
        assert!(m.error.is_none() && m.output.is_some());
    }
    let failed = r
        .modules
        .iter()
        .find(|m| m.status == Status::Error)
        .expect("a failed module");
    assert!(failed.error.is_some() && failed.output.is_none());
    assert!(!r.ok());
}

#[test]
fn the_example_shows_each_source_of_code() {
    let t = &example().totals;
    assert!(
        t.served_by_cache > 0 && t.reused_in_run > 0 && t.compiled > 0,
        "{t:?}"
    );
}

#[test]
fn every_function_has_exactly_one_source_in_the_example() {
    for m in &example().modules {
        let f = &m.function_cache;
        assert_eq!(
            m.functions,
            f.served_by_cache + f.reused_in_run + f.deduplicated + f.compiled,
            "{}",
            m.input
        );
        let t = &m.timings_ms;
        let steps = t.read + t.validate + t.stencil + t.cache_lookup + t.compile + t.link + t.write;
        assert!(
            (t.work - steps).abs() < 1e-6,
            "{}: work is the steps' sum",
            m.input
        );
    }
}

#[test]
fn the_examples_totals_are_what_its_modules_add_up_to() {
    let mut r = example();
    let want = r.totals.clone();
    r.totals.modules = 0;
    r.totals.failed = 0;
    r.totals.functions = 0;
    r.totals.served_by_cache = 0;
    r.totals.reused_in_run = 0;
    r.totals.compiled = 0;
    r.compute_totals();
    assert_eq!(r.totals, want);
}

/// Each value serializes to, parses from and displays as its documented name.
fn check_names<T>(pairs: &[(T, &str)])
where
    T: serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Display
        + PartialEq
        + std::fmt::Debug,
{
    for (v, name) in pairs {
        let quoted = format!("\"{name}\"");
        assert_eq!(serde_json::to_string(v).unwrap(), quoted);
        assert_eq!(&serde_json::from_str::<T>(&quoted).unwrap(), v);
        assert_eq!(v.to_string(), *name);
    }
}

#[test]
fn enum_values_are_the_documented_names() {
    check_names(&[(Status::Ok, "ok"), (Status::Error, "error")]);
    check_names(&[
        (ModuleCache::Hit, "hit"),
        (ModuleCache::Miss, "miss"),
        (ModuleCache::Off, "off"),
    ]);
    check_names(&[
        (CacheMode::ReadWrite, "read-write"),
        (CacheMode::ReadOnly, "read-only"),
        (CacheMode::Off, "off"),
    ]);
}

#[test]
fn a_value_outside_the_schema_is_rejected() {
    let bad = EXAMPLE.replacen("\"status\": \"ok\"", "\"status\": \"fine\"", 1);
    assert_ne!(bad, EXAMPLE);
    assert!(serde_json::from_str::<Report>(&bad).is_err());
    let bad = EXAMPLE.replacen("\"mode\": \"read-write\"", "\"mode\": \"rw\"", 1);
    assert_ne!(bad, EXAMPLE);
    assert!(serde_json::from_str::<Report>(&bad).is_err());
}

#[test]
fn a_report_of_the_first_schema_is_refused_not_misread() {
    // Schema 1 counted functions reused from another module as cache hits.
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    for m in v["modules"].as_array_mut().unwrap() {
        let f = m["function_cache"].as_object_mut().unwrap();
        let served = f.remove("served_by_cache").unwrap();
        f.insert("hits".into(), served);
    }
    assert!(serde_json::from_value::<Report>(v).is_err());
}

#[test]
fn message_lines_carry_their_reason() {
    let r = example();
    let line = serde_json::to_value(Message::ModuleFinished(r.modules[0].clone())).unwrap();
    assert_eq!(line["reason"], "module-finished");
    assert_eq!(line["input"], r.modules[0].input.as_str());
    let last = Message::PrecompileFinished {
        success: r.ok(),
        report_path: "report.json".into(),
        report: r.clone(),
    };
    let text = serde_json::to_string(&last).unwrap();
    assert!(!text.contains('\n'), "one line");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["reason"], "precompile-finished");
    assert_eq!(v["success"], false);
    let back: Message = serde_json::from_str(&text).unwrap();
    assert!(
        matches!(back, Message::PrecompileFinished { report, .. } if report.modules == r.modules)
    );
}

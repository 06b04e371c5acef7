//! The checked-in example in `docs/report.example.json` against the schema types.

use wasmprecomp_report::{CacheMode, ModuleCache, Report, Status, SCHEMA};

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
    let ok = &r.modules[0];
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(ok.module_cache, ModuleCache::Miss);
    assert!(ok.error.is_none() && ok.output.is_some());
    let failed = &r.modules[1];
    assert_eq!(failed.status, Status::Error);
    assert!(failed.error.is_some() && failed.output.is_none());
    assert!(!r.ok());
}

#[test]
fn the_examples_totals_are_what_its_modules_add_up_to() {
    let mut r = example();
    let want = r.totals.clone();
    r.totals.modules = 0;
    r.totals.failed = 0;
    r.totals.functions = 0;
    r.totals.function_misses = 0;
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
fn a_report_from_before_manifests_still_parses() {
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    let cache = v["cache"].as_object_mut().unwrap();
    cache.remove("manifest_hits");
    cache.remove("manifest_misses");
    for m in v["modules"].as_array_mut().unwrap() {
        m["function_cache"]
            .as_object_mut()
            .unwrap()
            .remove("from_manifest");
    }
    let r: Report = serde_json::from_value(v).expect("older report parses");
    assert_eq!(r.cache.manifest_hits, 0);
    assert_eq!(r.modules[0].function_cache.from_manifest, 0);
}

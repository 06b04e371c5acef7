//! `--report-html`: the page rendered by a real browser (headless Chromium) shows the
//! report's modules and numbers; a screenshot is left in `target/` for a person to see.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::bin;

/// Chromium's binary, if installed (`.ci/run` installs Debian's `chromium`).
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn write_wat(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, wat::parse_str(wat).unwrap()).unwrap();
    p
}

/// The text of every element carrying `data-field="field"` in `html`, in order.
fn fields<'a>(html: &'a str, field: &str) -> Vec<&'a str> {
    attr(html, "data-field", field)
}

/// The text of every element carrying `name="value"` in `html`, in order.
fn attr<'a>(html: &'a str, name: &str, value: &str) -> Vec<&'a str> {
    let key = format!("{name}=\"{value}\">");
    html.match_indices(&key)
        .map(|(i, _)| {
            let rest = &html[i + key.len()..];
            &rest[..rest.find('<').unwrap_or(rest.len())]
        })
        .collect()
}

#[test]
fn the_html_report_renders_every_module_with_the_reports_numbers() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (.ci/run installs it)"
        );
        eprintln!("chromium is not installed: the page is not rendered here");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let good = write_wat(
        d.path(),
        "good.wasm",
        r#"(module (func (export "a") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
                   (func (export "b") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))"#,
    );
    let other = write_wat(
        d.path(),
        "other<&>.wasm",
        r#"(module (func (export "a") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
                   (func (export "c") (param i32) (result i32) local.get 0 i32.const 3 i32.sub))"#,
    );
    let broken = d.path().join("broken.wasm");
    std::fs::write(&broken, b"not wasm").unwrap();
    let out = d.path().join("out");
    let page = d.path().join("report.html");
    let o = bin()
        .args([&good, &other, &broken])
        .arg("--no-cache")
        .arg("--out-dir")
        .arg(&out)
        .arg("--report-html")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();

    let profile = d.path().join("chromium-profile");
    let headless = |extra: &[&str]| {
        Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("running chromium")
    };
    let dom = headless(&["--dump-dom"]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8(dom.stdout).unwrap();
    let modules = report["modules"].as_array().unwrap();
    assert_eq!(
        dom.matches("<tr data-module=").count(),
        modules.len(),
        "{dom}"
    );
    for field in [
        "functions",
        "served_by_cache",
        "reused_in_run",
        "deduplicated",
        "compiled",
    ] {
        let want: Vec<String> = modules
            .iter()
            .map(|m| {
                let v = if field == "functions" {
                    &m[field]
                } else {
                    &m["function_cache"][field]
                };
                v.to_string()
            })
            .collect();
        assert_eq!(fields(&dom, field), want, "{field}");
    }
    for (m, shown) in modules.iter().zip(fields(&dom, "work")) {
        let want = format!("{:.1}", m["timings_ms"]["work"].as_f64().unwrap());
        assert_eq!(shown, want);
    }
    // Each module lists the functions it compiled (not the one it reused), and the page
    // lists the run's slowest of them, slowest first, with the report's numbers.
    let compiled: Vec<u64> = modules
        .iter()
        .map(|m| m["function_cache"]["compiled"].as_u64().unwrap())
        .collect();
    assert_eq!(compiled, [2, 1, 0]);
    let mut slow: Vec<&serde_json::Value> = Vec::new();
    for (m, n) in modules.iter().zip(&compiled) {
        let listed = m["slowest_functions"].as_array().unwrap();
        assert_eq!(listed.len() as u64, *n, "{m}");
        let times: Vec<f64> = listed
            .iter()
            .map(|f| f["compile_ms"].as_f64().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
        assert!(times.iter().all(|t| *t > 0.0), "{times:?}");
        slow.extend(listed);
    }
    slow.sort_by(|a, b| {
        b["compile_ms"]
            .as_f64()
            .unwrap()
            .total_cmp(&a["compile_ms"].as_f64().unwrap())
    });
    let names: Vec<String> = slow
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields(&dom, "slow_name"), names, "slowest functions");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["wasm_func_0", "wasm_func_1", "wasm_func_1"]);
    let indices: Vec<String> = slow.iter().map(|f| f["function"].to_string()).collect();
    assert_eq!(fields(&dom, "slow_function"), indices);
    let ms: Vec<String> = slow
        .iter()
        .map(|f| format!("{:.2}", f["compile_ms"].as_f64().unwrap()))
        .collect();
    assert_eq!(fields(&dom, "slow_compile_ms"), ms);
    let bytes: Vec<String> = slow.iter().map(|f| f["body_bytes"].to_string()).collect();
    assert_eq!(fields(&dom, "slow_body_bytes"), bytes);
    assert!(bytes.iter().all(|b| b != "0"), "{bytes:?}");

    // The run's totals and the cache counters.
    let totals = &report["totals"];
    for field in ["served_by_cache", "reused_in_run", "compiled"] {
        assert_eq!(
            attr(&dom, "data-total", field),
            [totals[field].to_string()],
            "{field}"
        );
    }
    assert_eq!(
        totals["reused_in_run"], 1,
        "the page shows a reuse: {totals}"
    );
    assert_eq!(
        fields(&dom, "module_misses"),
        [report["cache"]["module_misses"].to_string()]
    );
    // A module's name is text, not markup; the failure is shown.
    assert!(dom.contains("other&lt;&amp;&gt;.wasm"), "{dom}");
    assert!(dom.contains("class=\"error\""), "{dom}");

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/html-report.png");
    let _ = std::fs::remove_file(&shot);
    let o = headless(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1400,900",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

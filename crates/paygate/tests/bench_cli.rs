//! `paygate bench --quick`, the real binary, as CI runs it: every scenario on SQLite and on
//! PostgreSQL (paygate started as its own process, sandbox mode), plus the baseline made with
//! wechatpay-axios-plugin, completes with no error; the report has every row with its bound and
//! ratio, the memory rows, and the chart. The figures of a quick debug run mean nothing and are
//! not checked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Stdio;

use support::serve::paygate_command;

#[test]
fn every_scenario_completes_without_error_on_both_databases() {
    // The baseline runs interop/bench_direct.mjs with the pinned SDK.
    let _ = support::interop::node();
    let out_dir = tempfile::tempdir().unwrap();
    let output = paygate_command()
        .args(["bench", "--quick", "--database", "sqlite,postgres", "--out"])
        .arg(out_dir.path())
        .env("PAYGATE_BENCH_POSTGRES_URL", test_support::db::admin_url())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "paygate bench --quick failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let results = std::fs::read_to_string(out_dir.path().join("RESULTS.md")).unwrap();
    let rows: Vec<&str> = results
        .lines()
        .filter(|l| l.starts_with("| ") && l.matches(" | ").count() == 12)
        .skip(1)
        .collect();
    for database in ["sqlite", "postgres"] {
        for scenario in [
            "| create order | ",
            "| GET /healthz (no database) | ",
            "| status poll GET /pay/wechat/status | ",
            "| callback intake (TRANSACTION.SUCCESS → paid + outbox) | ",
            "| notification delivery (to the site, signature checked) | ",
            "| refund (create; then final in the simulator)",
        ] {
            assert!(
                rows.iter()
                    .any(|r| r.starts_with(scenario) && r.contains(&format!(" | {database} | "))),
                "no {scenario} row on {database}:\n{results}"
            );
        }
        // Closed loop, then open loop at three rates.
        let creates = rows
            .iter()
            .filter(|r| {
                r.starts_with("| create order | ") && r.contains(&format!(" | {database} | "))
            })
            .count();
        assert_eq!(creates, 4, "{results}");
        assert!(
            results.contains(&format!(
                "checkout pages open on GET /pay/events | {database} |"
            )),
            "{results}"
        );
        assert!(
            results.contains(&format!("| idle, after start | {database} |")),
            "{results}"
        );
    }
    assert!(
        results.contains("| create order directly with wechatpay-axios-plugin"),
        "{results}"
    );
    for row in &rows {
        let cells: Vec<&str> = row.split(" | ").collect();
        // requests, errors, …, bound, ratio
        assert_eq!(cells[4], "0", "a row with errors: {row}");
        assert_ne!(cells[3], "0", "a row with no requests: {row}");
        if !row.starts_with("| GET /healthz") {
            assert!(cells[6].contains('('), "a row without its bound: {row}");
            assert!(cells[7].ends_with('%'), "a row without its ratio: {row}");
        }
    }
    assert!(results.contains("RSA-2048 signatures/s"), "{results}");
    assert!(results.contains("fsyncs/s on the data dir"), "{results}");
    let chart = std::fs::read_to_string(out_dir.path().join("chart.svg")).unwrap();
    assert!(
        chart.starts_with("<svg ") && chart.matches("<polyline").count() == 4,
        "{chart}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.path().join("RESULTS.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["quick"], true);
}

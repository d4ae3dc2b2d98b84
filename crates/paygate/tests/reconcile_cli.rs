//! `paygate reconcile --date D` and `paygate reconcile show --date D` beside a running `paygate
//! serve` in sandbox mode: the command plans the day, the server's worker reads the simulator's
//! bills and reconciles them, the command shows its progress (plain lines on stderr when not on a
//! terminal) and prints the report (the trade bill's totals and the account bill's figures); a day
//! never run is said to be so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use gateway::domain::{BillDay, Timestamp};
use reqwest::Method as Http;
use serde_json::{Value, json};
use support::serve::{
    Paygate, ServeOptions, checkout_token, create_site, http, paygate_run, signed_ok,
};
use test_support::wait::eventually;

#[tokio::test]
async fn the_operator_reconciles_a_day_and_reads_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let keys = create_site(dir.path(), "shop");
    let body = json!({"out_trade_no": "order_reconcile_01", "channel": "alipay", "method": "qr",
        "description": "对账", "amount_total": 10_000})
    .to_string();
    let order = signed_ok(&pg, &keys, Http::POST, "/v1/orders", &body).await;
    let r = http()
        .post(format!(
            "{}/sandbox/pay?token={}",
            pg.url,
            checkout_token(&order)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", pg.log());
    eventually(Duration::from_secs(20), "the order to be paid", || async {
        let v = signed_ok(&pg, &keys, Http::GET, "/v1/orders/order_reconcile_01", "").await;
        (v["status"] == "paid").then_some(())
    })
    .await;

    let today = BillDay::of(Timestamp::now()).to_string();
    let out = paygate_run(
        &[
            "reconcile",
            "--date",
            &today,
            "--channel",
            "alipay",
            "--json",
            "--wait",
            "60",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{}", pg.log());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &report[0];
    assert_eq!(run["channel"], "alipay", "{report}");
    assert_eq!(run["status"], "complete", "{report}");
    assert_eq!(
        (run["payments"].clone(), run["payments_fen"].clone()),
        (json!(1), json!(10_000))
    );
    assert_eq!(run["matched"], 1);
    assert_eq!(run["fees_fen"], 60, "0.6 % of 100.00");
    assert_eq!(run["net_fen"], 10_000 - 60);
    assert_eq!(run["discrepancies"], json!([]));
    // The account bill moved what the trade bill lists: the payment in, its fee out.
    assert_eq!(
        run["funds"],
        json!({"movements": 2, "income_fen": 10_000, "expense_fen": 60, "net_fen": 10_000 - 60,
            "payments_fen": 10_000, "refunds_fen": 0, "fees_fen": 60, "other_fen": 0})
    );
    assert_eq!(
        (run["lines_read"].clone(), run["lines_total"].clone()),
        (json!(1), json!(1))
    );
    // Not a terminal: no bar, but plain progress lines on stderr, ending with the run's own; stdout
    // is the report alone (parsed above).
    let account = run["account"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("\nalipay {account}: complete, 1 line read\n")),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );

    // Without --json the report is text, and the progress still goes to stderr.
    let again = paygate_run(
        &[
            "reconcile",
            "--date",
            &today,
            "--channel",
            "alipay",
            "--wait",
            "60",
        ],
        dir.path(),
    );
    let (out, err) = (
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr),
    );
    assert!(again.status.success(), "{err}");
    assert!(
        err.contains(&format!("alipay {account}: complete, 1 line read")),
        "{err}"
    );
    assert!(!out.contains("line read"), "{out}");
    assert!(
        out.contains("complete") && out.contains("matched 1"),
        "{out}"
    );

    let shown = paygate_run(&["reconcile", "show", "--date", &today], dir.path());
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success());
    assert!(
        text.contains("alipay")
            && text.contains("complete")
            && text.contains("matched 1")
            && text.contains("account bill: 2 movements, in 10000 fen, out 60 fen, net 9940 fen"),
        "{text}"
    );

    let before = paygate_run(&["reconcile", "show", "--date", "2020-01-01"], dir.path());
    assert!(String::from_utf8_lossy(&before.stdout).contains("2020-01-01: not reconciled yet"));
    let bad = paygate_run(&["reconcile", "--date", "2026-02-30"], dir.path());
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
    pg.stop();
}

//! The operator's order and refund commands (`paygate order list | show`, `paygate refund create |
//! list | show`) beside a real running `paygate serve` in sandbox mode, on SQLite and on
//! PostgreSQL: an order paid in the simulator, a customer-service refund that the CLI only stores
//! and the running server sends, records and notifies the site of, and the refusals the CLI gives
//! on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use gateway::config::{Flags, Settings};
use gateway::domain::{
    Amount, Channel, Currency, Description, ExpireMinutes, Method, NewOrder, NewRefund,
    OrderRequest, OrderStatus, OutRefundNo, OutTradeNo, PayMethod, Payer, RefundRequest,
    RefundStatus, SiteName, Timestamp, UpstreamFields,
};
use gateway::store::{InsertOutcome, NewSite, RefundFinish, ReserveOutcome, Transition};
use reqwest::Method as Http;
use serde_json::{Value, json};
use support::serve::{
    Paygate, ServeOptions, SiteKeys, checkout_token, http, paygate_command, signed_ok, site_keys,
};
use test_support::db::{Backend, ThrowawayDb};
use test_support::receiver::Receiver;
use test_support::wait::eventually;

/// Where the CLI and the server find their data: the data dir (master key, sandbox state) and,
/// on PostgreSQL, the database URL with `--sandbox`.
struct Data<'a> {
    dir: &'a Path,
    extra: Vec<String>,
}

impl Data<'_> {
    fn run(&self, args: &[&str]) -> Output {
        paygate_command()
            .args(args)
            .arg("--data-dir")
            .arg(self.dir)
            .args(&self.extra)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run paygate")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "paygate {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn ok_json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
    }

    /// The command fails (exit 1) with one line on stderr holding `needle`.
    fn fails_with(&self, args: &[&str], needle: &str) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        // Logs share stderr; the refusal itself is one line.
        let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: one error line: {stderr}");
        assert!(errors[0].contains(needle), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }
}

/// Creates a WeChat Pay Native order of 29.90 and has the simulator's payer pay it.
async fn paid_order(pg: &Paygate, keys: &SiteKeys, no: &str) {
    let body = json!({
        "out_trade_no": no, "channel": "wechat", "method": "native",
        "description": "VIP月卡", "amount_total": 2990,
    })
    .to_string();
    let order = signed_ok(pg, keys, Http::POST, "/v1/orders", &body).await;
    let token = checkout_token(&order);
    let r = http()
        .post(format!("{}/sandbox/pay?token={token}", pg.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", pg.log());
    let path = format!("/v1/orders/{no}");
    eventually(Duration::from_secs(20), "the order to be paid", || async {
        let v = signed_ok(pg, keys, Http::GET, &path, "").await;
        (v["status"] == "paid").then_some(())
    })
    .await;
}

/// Nothing the operator commands print is a key.
fn assert_no_secret(keys: &SiteKeys, text: &str) {
    assert!(!text.contains(&keys.sk), "the SK was printed: {text}");
    assert!(!text.contains("sk_test_"), "an SK was printed: {text}");
}

/// The whole story, on the database `data` names, with `serve` started on it.
async fn an_operator_refund_goes_out_through_the_running_server(data: &Data<'_>, pg: &Paygate) {
    let receiver = Receiver::start(vec![]);
    let keys = site_keys(&data.run(&[
        "site",
        "create",
        "--name",
        "shop",
        "--notify-url",
        &receiver.url("/notify"),
        "--json",
    ]));
    let site = keys.site_id.as_str();
    let no = "order_refund_cli_01";
    paid_order(pg, &keys, no).await;

    // Refused before anything is stored.
    for bad in ["12.345", "-1", "0", "1e3", "12.", ".5"] {
        data.fails_with(
            &["refund", "create", no, "--site", site, "--amount", bad],
            "--amount",
        );
    }
    data.fails_with(
        &["refund", "create", no, "--site", site, "--amount", "29.91"],
        "refund_exceeds_paid",
    );
    data.fails_with(
        &[
            "refund",
            "create",
            "order_nobody_has",
            "--site",
            site,
            "--amount",
            "1",
        ],
        "has no order order_nobody_has",
    );
    let none = data.ok_json(&["refund", "list", "--site", site, "--json"]);
    assert_eq!(none, json!([]), "a refused refund stores nothing");

    let created = data.ok_json(&[
        "refund",
        "create",
        no,
        "--site",
        site,
        "--amount",
        "12.30",
        "--reason",
        "客服退款",
        "--json",
    ]);
    assert_eq!(created["status"], "succeeded", "{created}\n{}", pg.log());
    assert_eq!(created["amount"], "12.30");
    assert_eq!(created["amount_fen"], 1230);
    assert_eq!(created["out_trade_no"], no);
    assert_eq!(created["reason"], "客服退款");
    assert!(created["channel_refund_id"].is_string(), "{created}");
    let out_refund_no = created["out_refund_no"].as_str().unwrap().to_owned();
    assert!(out_refund_no.starts_with("op_"), "{out_refund_no}");

    // Only 17.60 is left.
    let refused = data.fails_with(
        &["refund", "create", no, "--site", site, "--amount", "17.61"],
        "refund_exceeds_paid",
    );
    assert!(refused.contains("17.60"), "{refused}");

    // The site hears of it.
    let notified = eventually(
        Duration::from_secs(20),
        "the REFUND.SUCCESS notification to be delivered",
        || async {
            let list = data.ok_json(&["notify", "list", "--site", site, "--json"]);
            list.as_array()
                .unwrap()
                .iter()
                .find(|e| e["event_type"] == "REFUND.SUCCESS" && e["status"] == "delivered")
                .cloned()
        },
    )
    .await;
    assert_eq!(notified["out_trade_no"], no);
    let got = receiver
        .seen()
        .into_iter()
        .map(|n| n.json())
        .find(|n| n.to_string().contains(&out_refund_no));
    assert!(got.is_some(), "the site got no notification of the refund");

    // The order, listed and shown.
    let list = data.ok_json(&["order", "list", "--site", site, "--json"]);
    assert_eq!(list[0]["out_trade_no"], no, "{list}");
    assert_eq!(list[0]["status"], "paid");
    assert_eq!(list[0]["amount"], "29.90");
    assert_eq!(list[0]["refunded"], "12.30");
    assert_eq!(list[0]["refundable_fen"], 1760);
    let lines = data.ok(&["order", "list", "--since", "1h"]);
    let line = lines.lines().find(|l| l.contains(no)).expect(&lines);
    for part in [site, "wechat.native", "paid", "29.90", "refunded 12.30"] {
        assert!(line.contains(part), "{part:?} missing: {line}");
    }
    let later = data.ok_json(&["order", "list", "--since", "2999-01-01T00:00:00Z", "--json"]);
    assert_eq!(later, json!([]));
    let none = data.ok_json(&["order", "list", "--status", "closed", "--json"]);
    assert_eq!(none, json!([]));

    let shown = data.ok_json(&["order", "show", no, "--site", site, "--json"]);
    assert_eq!(shown["status"], "paid", "{shown}");
    assert_eq!(shown["refunds"][0]["out_refund_no"], out_refund_no.as_str());
    assert_eq!(shown["refunds"][0]["status"], "succeeded");
    let history: Vec<_> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(history.last().map(String::as_str), Some("paid"), "{shown}");
    let events: Vec<_> = shown["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"], "{shown}");
    assert_eq!(
        shown["notifications"][1]["out_refund_no"],
        out_refund_no.as_str()
    );
    assert_eq!(shown["anomalies"], json!([]));
    let text = data.ok(&["order", "show", no, "--site", site]);
    for part in [
        "wechat.native",
        "29.90",
        "refunded:    12.30",
        &out_refund_no,
        "REFUND.SUCCESS",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    assert!(!text.contains("ABNORMAL"), "{text}");

    // The refund, listed and shown.
    let refunds = data.ok_json(&["refund", "list", "--status", "succeeded", "--json"]);
    assert_eq!(
        refunds[0]["out_refund_no"],
        out_refund_no.as_str(),
        "{refunds}"
    );
    let one = data.ok_json(&["refund", "show", &out_refund_no, "--site", site, "--json"]);
    assert_eq!(one, created_with_later_fields(&created, &one));
    let text = data.ok(&["refund", "show", &out_refund_no, "--site", site]);
    assert!(
        text.contains("succeeded") && text.contains("12.30"),
        "{text}"
    );
    data.fails_with(
        &["refund", "show", "op_nothing", "--site", site],
        "has no refund op_nothing",
    );

    // The same number and content again is the same refund, not a second one.
    let again = data.ok_json(&[
        "refund",
        "create",
        no,
        "--site",
        site,
        "--amount",
        "12.30",
        "--reason",
        "客服退款",
        "--out-refund-no",
        &out_refund_no,
        "--json",
    ]);
    assert_eq!(again["status"], "succeeded");
    data.fails_with(
        &[
            "refund",
            "create",
            no,
            "--site",
            site,
            "--amount",
            "1",
            "--out-refund-no",
            &out_refund_no,
        ],
        "out_refund_no_conflict",
    );

    // `--no-wait` returns with the refund stored, still processing; the server sends it anyway.
    let quick = data.ok(&[
        "refund",
        "create",
        no,
        "--site",
        site,
        "--amount",
        "0.01",
        "--out-refund-no",
        "op_quick",
        "--no-wait",
    ]);
    assert!(
        quick.contains("still processing") && quick.contains("paygate refund show"),
        "{quick}"
    );
    eventually(
        Duration::from_secs(20),
        "the quick refund to succeed",
        || async {
            let one = data.ok_json(&["refund", "show", "op_quick", "--site", site, "--json"]);
            (one["status"] == "succeeded").then_some(())
        },
    )
    .await;

    for args in [
        vec!["order", "list"],
        vec!["order", "list", "--json"],
        vec!["order", "show", no, "--site", site],
        vec!["order", "show", no, "--site", site, "--json"],
        vec!["refund", "list"],
        vec!["refund", "list", "--json"],
    ] {
        assert_no_secret(&keys, &data.ok(&args));
    }
}

/// `refund show --json` is `create --json`'s answer, but for what changed since (nothing here
/// but `updated_at`, the same unless the record was touched again).
fn created_with_later_fields(created: &Value, shown: &Value) -> Value {
    let mut v = created.clone();
    v["updated_at"] = shown["updated_at"].clone();
    v
}

#[tokio::test]
async fn an_operator_refund_is_sent_by_the_running_server_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let data = Data {
        dir: dir.path(),
        extra: Vec::new(),
    };
    an_operator_refund_goes_out_through_the_running_server(&data, &pg).await;
    pg.stop();
}

#[tokio::test]
async fn an_operator_refund_is_sent_by_the_running_server_on_postgres() {
    let db = ThrowawayDb::create(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let extra = vec![
        "--database-url".to_owned(),
        db.url().to_owned(),
        "--sandbox".to_owned(),
    ];
    let mut options = ServeOptions::new(dir.path()).fast_workers();
    for a in &extra {
        options = options.arg(a.clone());
    }
    let pg = Paygate::start(options);
    let data = Data {
        dir: dir.path(),
        extra,
    };
    an_operator_refund_goes_out_through_the_running_server(&data, &pg).await;
    pg.stop();
    drop(db);
}

#[test]
fn amounts_that_are_not_plain_yuan_are_refused_before_any_data_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("never");
    let data = Data {
        dir: &dir,
        extra: Vec::new(),
    };
    for bad in [
        "12.345",
        "-1",
        "0",
        "0.00",
        "1e3",
        "12.",
        ".5",
        "",
        "1,000",
        "21474836.48",
    ] {
        let err = data.fails_with(
            &[
                "refund",
                "create",
                "order_0001",
                "--site",
                "s_x",
                "--amount",
                bad,
            ],
            "--amount",
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let err = data.fails_with(
        &[
            "refund",
            "create",
            "order_0001",
            "--site",
            "s_x",
            "--amount",
            "12.345",
        ],
        "12.30",
    );
    assert!(err.contains("12.345"), "{err}");
    assert!(!dir.exists(), "a refused command created the data dir");
}

fn settings(dir: &Path) -> Settings {
    Settings::load_with(
        Flags {
            data_dir: Some(dir.to_owned()),
            ..Flags::default()
        },
        &|_| None,
    )
    .unwrap()
}

#[tokio::test]
async fn an_abnormal_refund_stands_out_wherever_it_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let store = gateway::app::open_store(&settings(dir.path()))
        .await
        .unwrap();
    let native = PayMethod::new(Channel::Wechat, Method::Native).unwrap();
    let site = store
        .create_site(
            NewSite {
                name: SiteName::parse("shop").unwrap(),
                notify_url: None,
                enabled_methods: BTreeSet::from([native]),
                allow_private_targets: false,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let order_of = |no: &str| OrderRequest {
        out_trade_no: OutTradeNo::parse(no).unwrap(),
        pay_method: native.into(),
        amount: Amount::parse(2990).unwrap(),
        currency: Currency::Cny,
        description: Description::parse("VIP月卡").unwrap(),
        attach: None,
        notify_url: None,
        return_url: None,
        payer: Payer::default(),
        expire_minutes: ExpireMinutes::default(),
        profit_sharing: false,
    };
    let mut orders = Vec::new();
    for no in ["order_abnormal_01", "order_unpaid_01"] {
        let new = NewOrder::prepare(site.id.clone(), order_of(no), Timestamp::now());
        let InsertOutcome::Inserted(order) = store.insert_order_if_absent(&new).await.unwrap()
        else {
            panic!("order existed");
        };
        orders.push(order);
    }
    store
        .transition(&Transition {
            order_id: orders[0].id,
            from: OrderStatus::Created,
            to: OrderStatus::Paid,
            reason: "test".to_owned(),
            upstream: UpstreamFields::default(),
            at: Timestamp::now(),
        })
        .await
        .unwrap();
    let paid = store
        .find_order(&site.id, &orders[0].out_trade_no)
        .await
        .unwrap()
        .unwrap();
    let request = RefundRequest {
        out_refund_no: OutRefundNo::parse("r_abnormal_1").unwrap(),
        amount: Amount::parse(500).unwrap(),
        reason: None,
        notify_url: None,
    };
    let ReserveOutcome::Reserved(refund) = store
        .reserve_refund(
            &NewRefund::prepare(&paid, request, Timestamp::now()),
            Timestamp::now(),
        )
        .await
        .unwrap()
    else {
        panic!("not reserved");
    };
    store
        .finish_refund(&RefundFinish {
            refund_id: refund.id,
            to: RefundStatus::Abnormal,
            channel_refund_id: Some("50300000001".to_owned()),
            error: None,
            at: Timestamp::now(),
        })
        .await
        .unwrap();
    store.close().await;

    let data = Data {
        dir: dir.path(),
        extra: Vec::new(),
    };
    let site_id = site.id.as_str();
    let abnormal = data.ok_json(&["refund", "list", "--status", "abnormal", "--json"]);
    assert_eq!(abnormal[0]["out_refund_no"], "r_abnormal_1", "{abnormal}");
    assert_eq!(abnormal[0]["out_trade_no"], "order_abnormal_01");
    assert_eq!(
        data.ok_json(&["refund", "list", "--status", "processing", "--json"]),
        json!([])
    );
    let hint =
        "ABNORMAL — the money did not reach the payer; settle it in the channel's merchant portal";
    let text = data.ok(&["refund", "list"]);
    assert!(text.contains(hint), "{text}");
    let text = data.ok(&["order", "show", "order_abnormal_01", "--site", site_id]);
    assert!(
        text.contains(hint) && text.contains("r_abnormal_1"),
        "{text}"
    );
    let text = data.ok(&["refund", "show", "r_abnormal_1", "--site", site_id]);
    assert!(text.contains(hint), "{text}");

    // What the operator may not refund, said in one line.
    data.fails_with(
        &[
            "refund",
            "create",
            "order_unpaid_01",
            "--site",
            site_id,
            "--amount",
            "1",
        ],
        "order_not_refundable",
    );
    // The abnormal refund's 5.00 stays reserved.
    let refused = data.fails_with(
        &[
            "refund",
            "create",
            "order_abnormal_01",
            "--site",
            site_id,
            "--amount",
            "24.91",
        ],
        "refund_exceeds_paid",
    );
    assert!(refused.contains("24.90"), "{refused}");
    data.fails_with(
        &[
            "refund",
            "create",
            "order_abnormal_01",
            "--site",
            "s_nobody",
            "--amount",
            "1",
        ],
        "no such site",
    );
}

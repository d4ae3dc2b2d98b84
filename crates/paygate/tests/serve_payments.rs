//! Payments, notifications and order checks against the real binary in sandbox mode, with the background schedules scaled down
//! (`PAYGATE_NOTIFY_SCHEDULE_SCALE=0.001`, `PAYGATE_COMPENSATION_SCHEDULE_SCALE=0.001`,
//! `PAYGATE_WORKERS_POLL_INTERVAL=50ms`) and a site's receiver (axum) in the test:
//!
//! 1. Pay in the simulator → its real callback reaches paygate → the order is paid with its
//!    transaction_id, and the site gets exactly one notification whose signature verifies in Rust
//!    and with the README's Node.js snippet.
//! 2. 500, 500, then 200 → three attempts, delivered. A site down past the last retry → failed;
//!    `paygate notify resend` (the CLI, beside the running server) → delivered.
//! 3. The simulator drops the callback → the order is paid by active query; the site is notified.
//!
//! And: SIGTERM with a delivery in flight → the delivery finishes, paygate exits 0 promptly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use gateway::config::{Flags, Settings};
use gateway::domain::{JobSubject, OutTradeNo, SecretKey, SiteId};
use reqwest::Method;
use serde_json::{Value, json};
use support::serve::{
    Paygate, ServeOptions, SiteKeys, checkout_token, create_site, create_site_notifying, get_json,
    http, node_accepts, paygate_run, signed, signed_ok,
};
use test_support::db::Database;
use test_support::receiver::{Answer, Received, Receiver};
use test_support::wait::eventually;

/// Creates a WeChat Pay Native order with `attach` (`POST /v1/orders`; seed 000's route has no
/// attach); returns the answer.
async fn create_order(pg: &Paygate, keys: &SiteKeys, out_trade_no: &str) -> Value {
    let body = json!({
        "out_trade_no": out_trade_no,
        "channel": "wechat",
        "method": "native",
        "description": "VIP月卡",
        "amount_total": 2990,
        "attach": "uid=42",
    })
    .to_string();
    let v = signed_ok(pg, keys, Method::POST, "/v1/orders", &body).await;
    assert_eq!(v["status"], "pending", "{v}");
    v
}

/// `POST /sandbox/pay?token=…`: the simulator's payer pays; returns what the simulator said.
async fn pay(pg: &Paygate, order: &Value) -> Value {
    let token = checkout_token(order);
    let r = http()
        .post(format!("{}/sandbox/pay?token={token}", pg.url))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{v}\n{}", pg.log());
    assert_eq!(v["paid"], true, "{v}");
    v["simulator"].clone()
}

async fn get_signed(pg: &Paygate, keys: &SiteKeys, path: &str) -> Value {
    let r = signed(&http(), &pg.url, keys, Method::GET, path, "")
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "GET {path}: {v}\n{}", pg.log());
    v
}

/// `GET /v1/orders/{no}` once the order is paid.
async fn paid_order(pg: &Paygate, keys: &SiteKeys, no: &str) -> Value {
    let path = format!("/v1/orders/{no}");
    eventually(Duration::from_secs(20), "the order to be paid", || async {
        let v = get_signed(pg, keys, &path).await;
        (v["status"] == "paid").then_some(v)
    })
    .await
}

/// The order's one notification event, once it is no longer pending.
async fn settled_notification(pg: &Paygate, keys: &SiteKeys, no: &str) -> Value {
    let path = format!("/v1/orders/{no}/notifications");
    eventually(
        Duration::from_secs(30),
        "the notification to settle",
        || async {
            let v = get_signed(pg, keys, &path).await;
            let list = v["notifications"].as_array().unwrap();
            assert!(list.len() <= 1, "one event per final transition: {v}");
            list.first().filter(|n| n["status"] != "pending").cloned()
        },
    )
    .await
}

/// The Rust verifier (what a Rust site would run) and the README's Node.js snippet both accept it.
fn assert_signed_by(sk: &str, n: &Received) {
    let key = SecretKey::parse(sk).unwrap();
    assert!(
        gateway::notify::verify_notification(
            &key,
            n.header("x-1pass-ts"),
            n.header("x-1pass-nonce"),
            n.header("x-1pass-sign"),
            &n.body,
        ),
        "Rust verification failed"
    );
    assert!(node_accepts(sk, n), "verify_notification.mjs refused it");
    // And not with another key.
    let other = SecretKey::generate(gateway::domain::Mode::Sandbox);
    assert!(!node_accepts(other.expose(), n));
}

fn attempt_statuses(event: &Value) -> Vec<Value> {
    event["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["http_status"].clone())
        .collect()
}

#[tokio::test]
async fn a_payment_in_the_simulator_reaches_the_site_once_correctly_signed() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(vec![]);
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let keys = create_site_notifying(dir.path(), "shop", &receiver.url("/notify"));
    let order = create_order(&pg, &keys, "order_accept1_0001").await;

    let paid_upstream = pay(&pg, &order).await;
    let transaction_id = paid_upstream["transaction_id"].as_str().unwrap().to_owned();
    let got = paid_order(&pg, &keys, "order_accept1_0001").await;
    assert_eq!(got["transaction_id"], transaction_id.as_str(), "{got}");
    assert!(got["paid_at"].is_string(), "{got}");

    // The simulator's callback is what did it: it reached paygate and was accepted (204).
    let info = get_json(&format!("{}/sandbox/info", pg.url)).await;
    let sim_url = info["sim_url"].as_str().unwrap();
    let callbacks = get_json(&format!("{sim_url}/sim/callbacks?channel=wechat")).await;
    let text = callbacks.to_string();
    assert!(
        text.contains("\"delivered\"") && text.contains("/callbacks/wechat/"),
        "{callbacks}"
    );

    let event = settled_notification(&pg, &keys, "order_accept1_0001").await;
    assert_eq!(event["status"], "delivered", "{event}");
    // Exactly one. Notifications are sent only by background jobs: once none is left (the order's
    // check ended when it was paid, the delivery's once it was delivered), nothing more can come.
    let db = Database::at(&format!(
        "sqlite://{}?mode=rw",
        dir.path().join("paygate.db").display()
    ));
    eventually(
        Duration::from_secs(10),
        "no background job left",
        || async { (db.count("SELECT COUNT(*) FROM jobs").await == 0).then_some(()) },
    )
    .await;
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1, "exactly one notification");
    let n = &seen[0];
    let body = n.json();
    assert_eq!(body["event_id"], event["event_id"]);
    assert_eq!(
        n.header("x-1pass-event-id"),
        event["event_id"].as_str().unwrap()
    );
    assert_eq!(body["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(body["out_trade_no"], "order_accept1_0001");
    assert_eq!(body["transaction_id"], transaction_id.as_str());
    assert_eq!(body["trade_state"], "SUCCESS");
    assert_eq!(body["amount"], json!({"total": 2990, "currency": "CNY"}));
    assert_eq!(body["attach"], "uid=42");
    assert_eq!(body["site_id"], keys.site_id.as_str());
    assert_signed_by(&keys.sk, n);
    pg.stop();
}

#[tokio::test]
async fn retries_on_the_scaled_schedule_until_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(vec![Answer::status(500), Answer::status(500)]);
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let keys = create_site_notifying(dir.path(), "flaky shop", &receiver.url("/notify"));
    let order = create_order(&pg, &keys, "order_accept2_0001").await;
    pay(&pg, &order).await;

    let event = settled_notification(&pg, &keys, "order_accept2_0001").await;
    assert_eq!(event["status"], "delivered", "{event}");
    assert_eq!(
        attempt_statuses(&event),
        [json!(500), json!(500), json!(200)]
    );
    let attempts = event["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["error"], "HTTP 500");
    // The receiver is on loopback, a non-public address: what it answered is the operator's to
    // read (`paygate notify show`), not the site's.
    assert!(attempts[0]["response_excerpt"].is_null(), "{event}");
    let out = paygate_run(
        &[
            "notify",
            "show",
            event["event_id"].as_str().unwrap(),
            "--json",
        ],
        dir.path(),
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let excerpt = shown["attempt_log"][0]["response_excerpt"]
        .as_str()
        .unwrap_or_default();
    assert!(excerpt.contains("bad day"), "{shown}");
    // The receiver saw the same three, the same event each time, spaced at least by the scaled
    // schedule (15 s × 0.001 = 15 ms).
    let seen = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(seen.len(), 3);
    let ids: Vec<Value> = seen.iter().map(|n| n.json()["event_id"].clone()).collect();
    assert!(ids.iter().all(|id| *id == event["event_id"]), "{ids:?}");
    for pair in seen.windows(2) {
        assert!(pair[1].at - pair[0].at >= Duration::from_millis(15));
    }
    for n in &seen {
        assert_signed_by(&keys.sk, n);
    }
    pg.stop();
}

#[tokio::test]
async fn a_site_down_past_the_last_retry_fails_then_a_cli_resend_delivers() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: every attempt is a refused connection.
    let down = Receiver::start(vec![]);
    let addr = down.addr;
    let url = down.url("/notify");
    down.shut_down();
    // The schedule from the environment too: 15s, 15s, 30s scaled → 15, 15, 30 ms; 4 attempts.
    let pg = Paygate::start(
        ServeOptions::new(dir.path())
            .fast_workers()
            .env("PAYGATE_NOTIFY_SCHEDULE", "15s,15s,30s"),
    );
    let keys = create_site_notifying(dir.path(), "down shop", &url);
    let order = create_order(&pg, &keys, "order_accept2_0002").await;
    pay(&pg, &order).await;

    let event = settled_notification(&pg, &keys, "order_accept2_0002").await;
    assert_eq!(event["status"], "failed", "{event}");
    assert_eq!(attempt_statuses(&event), vec![Value::Null; 4], "{event}");
    // The site learns that its loopback target was not reached, not how (no port scanning through
    // paygate); the operator sees the refused connection.
    assert!(
        event["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("non-public address"),
        "{event}"
    );
    let event_id = event["event_id"].as_str().unwrap().to_owned();
    let out = paygate_run(&["notify", "show", &event_id, "--json"], dir.path());
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = shown["attempt_log"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("connect"), "{shown}");

    // The site is back; the operator re-sends from the command line while serve runs.
    let receiver = Receiver::start_at(addr, vec![]);
    let out = paygate_run(&["notify", "resend", &event_id], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(seen[0].json()["event_id"], event_id.as_str());
    assert_signed_by(&keys.sk, &seen[0]);

    let path = "/v1/orders/order_accept2_0002/notifications";
    let delivered = eventually(
        Duration::from_secs(10),
        "delivered after resend",
        || async {
            let v = get_signed(&pg, &keys, path).await;
            let n = v["notifications"][0].clone();
            (n["status"] == "delivered").then_some(n)
        },
    )
    .await;
    assert_eq!(delivered["attempts"].as_array().unwrap().len(), 5);
    assert_eq!(delivered["attempts"][4]["http_status"], 200);

    let out = paygate_run(&["notify", "show", &event_id, "--json"], dir.path());
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["status"], "delivered", "{shown}");
    pg.stop();
}

#[tokio::test]
async fn a_dropped_callback_is_made_up_for_by_an_active_query() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(vec![]);
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let keys = create_site_notifying(dir.path(), "quiet channel", &receiver.url("/notify"));
    let info = get_json(&format!("{}/sandbox/info", pg.url)).await;
    let sim_url = info["sim_url"].as_str().unwrap().to_owned();
    let faults: Value = http()
        .post(format!("{sim_url}/sim/faults"))
        .json(&json!({"drop_callbacks": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["drop_callbacks"], true, "{faults}");

    let order = create_order(&pg, &keys, "order_accept3_0001").await;
    let paid_upstream = pay(&pg, &order).await;
    // No API read in between (reads do not query the channel for a pending order anyway): the
    // site hears of the payment from the order check alone.
    let seen = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(
        seen[0].json()["transaction_id"],
        paid_upstream["transaction_id"]
    );
    assert_signed_by(&keys.sk, &seen[0]);
    let got = paid_order(&pg, &keys, "order_accept3_0001").await;
    assert_eq!(
        got["transaction_id"], paid_upstream["transaction_id"],
        "{got}"
    );
    let metrics = http()
        .get(pg.metrics_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("paygate_order_checks_total{outcome=\"paid\"} 1")),
        "{metrics}"
    );

    // No callback reached paygate: the simulator dropped it.
    let callbacks = get_json(&format!("{sim_url}/sim/callbacks?channel=wechat")).await;
    let text = callbacks.to_string();
    assert!(
        text.contains("\"dropped\"") && !text.contains("\"delivered\""),
        "{callbacks}"
    );

    let event = settled_notification(&pg, &keys, "order_accept3_0001").await;
    assert_eq!(event["status"], "delivered", "{event}");
    assert_eq!(receiver.seen().len(), 1);
    pg.stop();
}

#[tokio::test]
async fn a_new_order_is_first_checked_at_the_schedules_first_step_not_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // The schedule as shipped: the first check comes a minute after creation.
    let pg = Paygate::start(ServeOptions::new(dir.path()));
    let keys = create_site(dir.path(), "shop");
    create_order(&pg, &keys, "order_first_check_01").await;

    let settings = Settings::load_with(
        Flags {
            data_dir: Some(dir.path().to_owned()),
            ..Flags::default()
        },
        &|_| None,
    )
    .unwrap();
    let store = gateway::app::open_store(&settings).await.unwrap();
    let site = SiteId::parse(&keys.site_id).unwrap();
    let no = OutTradeNo::parse("order_first_check_01").unwrap();
    let order = store.find_order(&site, &no).await.unwrap().unwrap();
    let job = store
        .find_job(&JobSubject::Order(order.id))
        .await
        .unwrap()
        .unwrap();
    // Due then, never run: a job due at creation would have run at once, only to wait.
    assert_eq!(job.due_at, order.created_at.plus(Duration::from_secs(60)));
    assert_eq!(job.attempt, 0);
    store.close().await;
    pg.stop();
}

#[tokio::test]
async fn sigterm_with_a_delivery_in_flight_finishes_it_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(vec![Answer::slow(200, Duration::from_secs(2))]);
    let pg = Paygate::start(ServeOptions::new(dir.path()).fast_workers());
    let keys = create_site_notifying(dir.path(), "slow shop", &receiver.url("/notify"));
    let order = create_order(&pg, &keys, "order_shutdown_001").await;
    pay(&pg, &order).await;
    // The delivery is in flight: the site has the request and takes its time to answer.
    receiver.wait_for(1, Duration::from_secs(20)).await;
    // The server still answers while the workers run.
    let health = http()
        .get(format!("{}/healthz", pg.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let (took, log) = pg.stop_timed();
    assert!(
        took < Duration::from_secs(8),
        "stopped after {took:?}\n{log}"
    );
    // It waited for the site's (slow) answer rather than dropping the attempt.
    assert!(
        took >= Duration::from_secs(1),
        "stopped after {took:?}\n{log}"
    );
    assert!(log.contains("workers stopping"), "{log}");
    assert!(log.contains("workers stopped"), "{log}");

    // The attempt in flight was finished and recorded before the exit, not left to a lease.
    let out = paygate_run(&["notify", "list", "--json"], dir.path());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let event = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["out_trade_no"] == "order_shutdown_001")
        .expect("the event")
        .clone();
    assert_eq!(event["status"], "delivered", "{event}");
    assert_eq!(event["attempts"], 1, "{event}");
    assert_eq!(receiver.seen().len(), 1);
}

//! Refunds against the real binary in sandbox mode, killed with SIGKILL at the two moments that
//! matter: right after a refund request was accepted (stored, its amount reserved, nothing sent),
//! and between the channel's refund call and paygate recording its answer. After a restart each
//! refund ends `succeeded`, the channel holds it exactly once, and the site has one event for it.
//! On SQLite and on PostgreSQL, for WeChat Pay and Alipay.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::serve::{
    Paygate, ServeOptions, SiteKeys, checkout_token, http, paygate_command, signed, signed_ok,
    site_keys,
};
use test_support::db::{Backend, ThrowawayDb};

/// Where the serve under test keeps its data: the data dir, and for PostgreSQL a throwaway
/// database (a sandbox only with `--sandbox`).
struct Data {
    dir: tempfile::TempDir,
    pg: Option<ThrowawayDb>,
}

impl Data {
    async fn new(backend: Backend) -> Self {
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(ThrowawayDb::create(Backend::Postgres).await),
        };
        Self {
            dir: tempfile::tempdir().unwrap(),
            pg,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db_args(&self) -> Vec<String> {
        self.pg.as_ref().map_or_else(Vec::new, |pg| {
            vec![
                "--database-url".to_owned(),
                pg.url().to_owned(),
                "--sandbox".to_owned(),
            ]
        })
    }

    /// `serve` on this data, reached by the channels at one public URL whatever its port (as in a
    /// deployment; nothing answers there, so every outcome is learnt by query), with the
    /// order-check schedule (which refund checks follow) scaled by `schedule_scale`.
    fn serve(&self, failpoint: Option<&str>, schedule_scale: &str) -> Paygate {
        let mut options = ServeOptions::new(self.path())
            .env("PAYGATE_PUBLIC_URL", "http://paygate.test")
            .env("PAYGATE_COMPENSATION_SCHEDULE_SCALE", schedule_scale)
            .env("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0.001")
            .env("PAYGATE_WORKERS_POLL_INTERVAL", "50ms");
        for arg in self.db_args() {
            options = options.arg(arg);
        }
        if let Some(failpoint) = failpoint {
            options = options.env("PAYGATE_FAILPOINT", failpoint);
        }
        Paygate::start(options)
    }

    fn create_site(&self) -> SiteKeys {
        let out = paygate_command()
            .args([
                "site",
                "create",
                "--name",
                "refunds",
                "--json",
                "--data-dir",
            ])
            .arg(self.path())
            .args(self.db_args())
            .output()
            .unwrap();
        site_keys(&out)
    }

    /// The amounts the simulator refunded for the channel's one order (each channel holds one
    /// order in this test), sorted.
    fn upstream_refunds(&self, channel: &str) -> Vec<i64> {
        let state = self.path().join("sim");
        let mut amounts: Vec<i64> = if channel == "wechat" {
            test_support::sim::wechat_refunds(&state)
                .values()
                .map(|r| r["refund"].as_i64().unwrap())
                .collect()
        } else {
            test_support::sim::alipay_trades(&state)
                .values()
                .flat_map(|t| t["refunds"].as_array().cloned().unwrap_or_default())
                .map(|r| r["amount_fen"].as_i64().unwrap())
                .collect()
        };
        amounts.sort_unstable();
        amounts
    }
}

/// While the test kills paygate: a refund is first checked 6 s after it was requested, well after
/// the kill (a check that still comes in the next run is one more way back, not a loss).
const SLOW: &str = "0.1";
/// After the last restart: checks 3 s, 6 s, then every 15 s.
const FAST: &str = "0.05";

struct Paid {
    out_trade_no: String,
    channel: &'static str,
}

async fn paid_order(pg: &Paygate, keys: &SiteKeys, no: &str, channel: &'static str) -> Paid {
    let method = if channel == "wechat" { "native" } else { "qr" };
    let body = json!({"out_trade_no": no, "channel": channel, "method": method,
        "description": "VIP月卡", "amount_total": 2990})
    .to_string();
    let order = signed_ok(pg, keys, Method::POST, "/v1/orders", &body).await;
    let token = checkout_token(&order);
    let paid = http()
        .post(format!("{}/sandbox/pay?token={token}", pg.url))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200, "{}", pg.log());
    eventually("the payment recorded", || async {
        get(pg, keys, &format!("/v1/orders/{no}")).await["status"] == "paid"
    })
    .await;
    Paid {
        out_trade_no: no.to_owned(),
        channel,
    }
}

async fn get(pg: &Paygate, keys: &SiteKeys, path: &str) -> Value {
    signed_ok(pg, keys, Method::GET, path, "").await
}

/// Sends a refund request that will hang in paygate; the task ends when paygate is killed.
fn hanging_refund(
    pg: &Paygate,
    keys: &SiteKeys,
    order: &Paid,
    no: &str,
    fen: i64,
) -> tokio::task::JoinHandle<()> {
    let body = json!({"out_refund_no": no, "amount": fen}).to_string();
    let request = signed(
        &http(),
        &pg.url,
        keys,
        Method::POST,
        &format!("/v1/orders/{}/refunds", order.out_trade_no),
        &body,
    );
    tokio::spawn(async move {
        let _ = request.send().await;
    })
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sigkill_around_refunds_loses_and_doubles_nothing(backend: Backend) {
    let data = Data::new(backend).await;
    let pg = data.serve(None, SLOW);
    let keys = data.create_site();
    let orders = [
        paid_order(&pg, &keys, "order_refund_crash_w", "wechat").await,
        paid_order(&pg, &keys, "order_refund_crash_a", "alipay").await,
    ];
    pg.stop();

    // 1. Killed right after the requests were accepted: stored and reserved, nothing sent.
    let pg = data.serve(Some("hang_after_refund_reserved"), SLOW);
    let mut hanging = Vec::new();
    for order in &orders {
        let no = format!("r1_{}", order.channel);
        hanging.push(hanging_refund(&pg, &keys, order, &no, 1000));
        eventually("the refund accepted", || async {
            let r = signed(
                &http(),
                &pg.url,
                &keys,
                Method::GET,
                &format!("/v1/refunds/{no}"),
                "",
            )
            .send()
            .await
            .unwrap();
            r.status() == 200
        })
        .await;
        assert_eq!(
            get(&pg, &keys, &format!("/v1/refunds/{no}")).await["status"],
            "processing"
        );
    }
    for order in &orders {
        assert_eq!(
            data.upstream_refunds(order.channel),
            Vec::<i64>::new(),
            "nothing sent yet"
        );
    }
    assert!(
        hanging.iter().all(|t| !t.is_finished()),
        "the requests hang at the failpoint"
    );
    pg.kill();
    for task in hanging {
        let _ = task.await;
    }

    // 2. Killed between the channel's answer and paygate recording it.
    let pg = data.serve(Some("hang_after_upstream_refund"), SLOW);
    let mut hanging = Vec::new();
    for order in &orders {
        hanging.push(hanging_refund(
            &pg,
            &keys,
            order,
            &format!("r2_{}", order.channel),
            500,
        ));
        eventually("the refund made upstream", || async {
            data.upstream_refunds(order.channel).contains(&500)
        })
        .await;
    }
    assert_eq!(
        get(&pg, &keys, "/v1/refunds/r2_alipay").await["status"],
        "processing"
    );
    pg.kill();
    for task in hanging {
        let _ = task.await;
    }

    // 3. After a restart, every refund ends, once.
    let pg = data.serve(None, FAST);
    for order in &orders {
        for no in [
            format!("r1_{}", order.channel),
            format!("r2_{}", order.channel),
        ] {
            eventually(&format!("{no} succeeded"), || async {
                get(&pg, &keys, &format!("/v1/refunds/{no}")).await["status"] == "succeeded"
            })
            .await;
        }
        assert_eq!(
            data.upstream_refunds(order.channel),
            [500, 1000],
            "refunded upstream exactly once each"
        );
        let view = get(&pg, &keys, &format!("/v1/orders/{}", order.out_trade_no)).await;
        assert_eq!(view["status"], "paid", "{view}");
        assert_eq!(view["refunded_amount"], 1500, "{view}");
        let events = get(
            &pg,
            &keys,
            &format!("/v1/orders/{}/notifications", order.out_trade_no),
        )
        .await;
        let refund_events: Vec<&Value> = events["notifications"]
            .as_array()
            .unwrap_or_else(|| panic!("{events}"))
            .iter()
            .filter(|e| e["event_type"] == "REFUND.SUCCESS")
            .collect();
        assert_eq!(refund_events.len(), 2, "one event per refund: {events}");
    }
    pg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_around_refunds_on_sqlite() {
    sigkill_around_refunds_loses_and_doubles_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_around_refunds_on_postgres() {
    sigkill_around_refunds_loses_and_doubles_nothing(Backend::Postgres).await;
}

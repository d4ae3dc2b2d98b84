//! The seed's example and a crash after the upstream create, against the real binary in sandbox
//! mode:
//!
//! 1. The seed's Node.js example (`interop/seed000_example.mjs`), unchanged but for the host and the
//!    literal `ak_xxx`/`sk_xxx`, gets the seed's response fields and a real sandbox `code_url`.
//! 2. paygate SIGKILLed after WeChat Pay accepted an order and before answering: a retried create
//!    returns the same order, a GET reports it, and WeChat Pay holds one order for it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::serve::{
    Paygate, ServeOptions, checkout_token, create_site, get_json, http, signed, signed_ok,
    sim_wechat_orders,
};

#[test]
fn the_seed_node_example_creates_an_order() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()));
    let keys = create_site(dir.path(), "seed example");

    let example =
        std::fs::read_to_string(support::interop_dir().join("seed000_example.mjs")).unwrap();
    assert_eq!(example.matches("http://127.0.0.1:8080").count(), 1);
    let script = example
        .replace("http://127.0.0.1:8080", &pg.url)
        .replace("'ak_xxx'", &format!("'{}'", keys.ak))
        .replace("'sk_xxx'", &format!("'{}'", keys.sk));
    let script_dir = tempfile::tempdir().unwrap();
    let path = script_dir.path().join("seed000_example.mjs");
    std::fs::write(&path, script).unwrap();

    let out = std::process::Command::new("node")
        .arg(&path)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .expect("node (Node.js 18+) must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node failed: {}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr),
        pg.log()
    );
    let result: Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    let mut fields: Vec<&str> = result
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "checkout_url",
            "code_url",
            "out_trade_no",
            "prepay_id",
            "status"
        ],
        "{result}"
    );
    assert!(
        result["out_trade_no"]
            .as_str()
            .unwrap()
            .starts_with("order_")
    );
    assert!(
        result["code_url"]
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl"),
        "{result}"
    );
    assert_eq!(result["status"], "pending");
    assert!(
        result["checkout_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/pay/wechat/checkout?token=ck_", pg.url))
    );
}

#[tokio::test]
async fn a_crash_after_the_upstream_create_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // As in a deployment, the public URL (in the notify_url sent upstream) stays the same across
    // restarts, though each start listens on a new port: WeChat Pay only treats a repeated create
    // as the same order when every parameter is the same.
    let options = || ServeOptions::new(dir.path()).env("PAYGATE_PUBLIC_URL", "http://paygate.test");
    // A first start without the failpoint creates the keys, so the one with it is quick.
    let pg = Paygate::start(options());
    let keys = create_site(dir.path(), "crash");
    pg.stop();

    let pg = Paygate::start(options().env("PAYGATE_FAILPOINT", "hang_after_upstream_create"));
    let body =
        json!({"out_trade_no": "order_crash_0001", "description": "VIP月卡", "amount_total": 2990})
            .to_string();
    let hanging = {
        let request = signed(
            &http(),
            &pg.url,
            &keys,
            reqwest::Method::POST,
            "/pay/wechat/native",
            &body,
        );
        tokio::spawn(async move { request.send().await })
    };
    // WeChat Pay (the simulator) has the order once paygate hangs after creating it upstream.
    let deadline = Instant::now() + Duration::from_secs(30);
    let upstream = loop {
        let orders = sim_wechat_orders(dir.path());
        if let Some((key, order)) = orders.into_iter().next() {
            break (key, order);
        }
        assert!(Instant::now() < deadline, "no upstream order\n{}", pg.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !hanging.is_finished(),
        "the create should hang at the failpoint"
    );
    pg.kill();
    let _ = hanging.await;

    let pg = Paygate::start(options());
    let order = signed_ok(
        &pg,
        &keys,
        reqwest::Method::POST,
        "/pay/wechat/native",
        &body,
    )
    .await;
    assert_eq!(
        order["code_url"], upstream.1["prepay"]["code_url"],
        "{order}"
    );
    assert_eq!(order["status"], "pending");

    let token = checkout_token(&order);
    let got = get_json(&format!("{}/pay/wechat/status?token={token}", pg.url)).await;
    assert_eq!(got["status"], "pending", "{got}");

    let orders = sim_wechat_orders(dir.path());
    assert_eq!(
        orders.len(),
        1,
        "one upstream order: {:?}",
        orders.keys().collect::<Vec<_>>()
    );
    assert!(orders.contains_key(&upstream.0));
}

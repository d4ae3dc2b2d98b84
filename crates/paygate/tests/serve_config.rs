//! `paygate serve` configured: a bad setting is a clear error, and with a real channel configured
//! (a standalone `paygate sim` standing in for WeChat Pay) there is no sandbox route.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::serve::{Paygate, ServeOptions, http, paygate_command};

#[test]
fn a_bad_setting_names_itself_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = paygate_command()
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env("PAYGATE_LISTEN", "not-an-address")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`listen`") && err.contains("PAYGATE_LISTEN"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let config = dir.path().join("paygate.toml");
    std::fs::write(
        &config,
        "[wechat]\nmchid = \"1900000001\"\nappid = \"wx1\"\nmerchant_serial = \"S\"\n\
         merchant_key_file = \"missing.pem\"\napiv3_key = \"secret-never-shown\"\n",
    )
    .unwrap();
    let out = paygate_command()
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("wechat.merchant_key_file"), "{err}");
    assert!(!err.contains("secret-never-shown"), "{err}");
}

#[test]
fn with_a_real_channel_configured_there_is_no_sandbox() {
    let sim = support::Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let config = support::wechat_live_config(&sim, dir.path());
    let data = dir.path().join("data");
    let pg = Paygate::start(
        ServeOptions::new(&data)
            .arg("--config")
            .arg(config.display().to_string()),
    );
    assert!(!pg.log().contains("SANDBOX MODE"), "{}", pg.log());
    // `Sim::post_json` runs its own runtime, so the async part has its own, after it.
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(no_sandbox_routes_and_the_channel_is_used(&pg, &data));
}

async fn no_sandbox_routes_and_the_channel_is_used(pg: &Paygate, data: &std::path::Path) {
    for (method, path) in [
        (reqwest::Method::POST, "/sandbox/pay?token=ck_x"),
        (reqwest::Method::GET, "/sandbox/info"),
    ] {
        let r = http()
            .request(method, format!("{}{path}", pg.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    // The configured channel is really used: a site's order reaches the standalone simulator.
    let keys = support::serve::create_site(data, "real");
    assert!(keys.ak.starts_with("ak_live_") && keys.sk.starts_with("sk_live_"));
    let body = serde_json::json!({"out_trade_no": "order_real_0001", "description": "x", "amount_total": 100}).to_string();
    let v = support::serve::signed_ok(
        pg,
        &keys,
        reqwest::Method::POST,
        "/pay/wechat/native",
        &body,
    )
    .await;
    assert!(
        v["code_url"]
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl")
    );
}

#[test]
fn metrics_are_served_on_their_own_listener_behind_an_optional_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = "scrape-token-0123456789";
    let pg = Paygate::start(
        ServeOptions::new(&dir.path().join("data")).env("PAYGATE_METRICS_TOKEN", token),
    );
    let metrics_url = pg.metrics_url();
    assert!(
        metrics_url.starts_with("http://127.0.0.1:"),
        "{metrics_url}"
    );
    assert!(!pg.log().contains(token), "the token is never printed");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let api = http()
            .get(format!("{}/metrics", pg.url))
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), 404, "not on the API's listener");
        let anonymous = http().get(&metrics_url).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        let wrong = http()
            .get(&metrics_url)
            .bearer_auth("scrape-token-0123456788")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        let scrape = http()
            .get(&metrics_url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(scrape.status(), 200);
        assert!(scrape.text().await.unwrap().contains("# TYPE"));
    });
    pg.stop();

    let pg = Paygate::start(
        ServeOptions::new(&dir.path().join("data")).env("PAYGATE_METRICS_LISTEN", "off"),
    );
    pg.wait_for_log("paygate metrics off");
    pg.stop();
}

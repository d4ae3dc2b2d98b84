//! `paygate serve` with no channel configured: sandbox mode, its keys and state across restarts,
//! `/sandbox/pay`, and the site commands beside a running server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::serve::{
    Paygate, ServeOptions, checkout_token as token, create_native, create_site, get_json, http,
    paygate_run, signed, sim_wechat_orders,
};

#[tokio::test]
async fn first_start_is_a_marked_sandbox_with_a_private_master_key_and_a_demo_site() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()));
    // The demo site's block ends with the example's command line.
    let log = pg.wait_for_log("seed000_example.mjs");
    assert!(log.contains("SANDBOX MODE — NO REAL MONEY MOVES"), "{log}");
    assert!(log.contains("site_id:"), "{log}");
    assert_eq!(
        log.lines().filter(|l| l.starts_with("[stdout]")).count(),
        1,
        "one stdout line only:\n{log}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let info: Value = get_json(&format!("{}/sandbox/info", pg.url)).await;
    assert_eq!(info["sandbox"], true);
    assert!(
        info["sim_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}

#[tokio::test]
async fn a_restart_keeps_keys_sandbox_merchant_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()));
    let keys = create_site(dir.path(), "shop");
    let order = create_native(&pg, &keys, "order_restart_001").await;
    let info1: Value = get_json(&format!("{}/sandbox/info", pg.url)).await;
    pg.stop();

    let pg = Paygate::start(ServeOptions::new(dir.path()));
    assert!(
        !pg.log().contains("Demo site created"),
        "no second demo site"
    );
    let info2: Value = get_json(&format!("{}/sandbox/info", pg.url)).await;
    assert_eq!(
        info1["wechat_mchid"], info2["wechat_mchid"],
        "same sandbox merchant"
    );
    assert_eq!(info1["alipay_app_id"], info2["alipay_app_id"]);
    // The site's SK (sealed under the master key) still verifies, and the order is still there.
    let again = create_native(&pg, &keys, "order_restart_001").await;
    assert_eq!(again["code_url"], order["code_url"]);
    let status: Value = get_json(&format!(
        "{}/pay/wechat/status?token={}",
        pg.url,
        token(&order)
    ))
    .await;
    assert_eq!(status["status"], "pending", "{status}");
}

#[tokio::test]
async fn sandbox_pay_makes_the_simulator_pay_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()));
    let keys = create_site(dir.path(), "shop");
    let order = create_native(&pg, &keys, "order_sandbox_pay_1").await;

    let r = http()
        .post(format!("{}/sandbox/pay?token={}", pg.url, token(&order)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let paid: Value = r.json().await.unwrap();
    assert_eq!(paid["paid"], true, "{paid}");
    assert_eq!(paid["simulator"]["trade_state"], "SUCCESS", "{paid}");
    let upstream_no = paid["upstream_order_no"].as_str().unwrap();
    let in_sim = sim_wechat_orders(dir.path());
    let (_, sim_order) = in_sim
        .iter()
        .find(|(k, _)| k.ends_with(&format!("||{upstream_no}")))
        .expect("the simulator has the order");
    assert_eq!(sim_order["state"], "SUCCESS");

    let r = http()
        .post(format!(
            "{}/sandbox/pay?token=ck_unknownunknownunknown",
            pg.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "order_not_found");
}

#[tokio::test]
async fn site_commands_work_while_serve_runs() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Paygate::start(ServeOptions::new(dir.path()));
    let keys = create_site(dir.path(), "beside serve");
    assert!(
        keys.site_id.starts_with("site_")
            && keys.ak.starts_with("ak_")
            && keys.sk.starts_with("sk_")
    );
    // The running server knows the new site at once.
    create_native(&pg, &keys, "order_cli_0001").await;

    let out = paygate_run(&["site", "list", "--json"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = list.as_array().unwrap();
    assert_eq!(listed.len(), 2, "demo site and ours: {list}");
    assert!(listed.iter().any(|s| s["site_id"] == keys.site_id.as_str()));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&keys.sk),
        "list shows no SK"
    );

    let out = paygate_run(&["site", "rotate-key", &keys.site_id], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_sk = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(new_sk.starts_with("sk_") && new_sk != keys.sk);
    // The old SK stops working; the new one works.
    let body = json!({"out_trade_no": "order_cli_0002", "description": "x", "amount_total": 1})
        .to_string();
    let r = signed(
        &http(),
        &pg.url,
        &keys,
        reqwest::Method::POST,
        "/pay/wechat/native",
        &body,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
    let rotated = support::serve::SiteKeys { sk: new_sk, ..keys };
    create_native(&pg, &rotated, "order_cli_0002").await;

    let out = paygate_run(&["site", "rotate-key", "site_doesnotexist"], dir.path());
    assert!(!out.status.success());
}

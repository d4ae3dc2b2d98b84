//! Signing: seed 000's scheme, plus the timestamp window and single-use nonces. Each failure has
//! its own code.

use std::time::Duration;

use serde_json::json;

use crate::api_tests;
use crate::support::app::{Signing, TestApp, fresh_nonce, unix_now};

fn unix_ms() -> i64 {
    gateway::domain::Timestamp::now().as_millis()
}

/// Waits for the wall clock (the server's clock too) to reach `ms`.
async fn sleep_until_ms(ms: i64) {
    let wait = u64::try_from(ms - unix_ms()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

fn order(no: &str) -> String {
    json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990}).to_string()
}

/// The answer to a replayed request, on every signed route.
const REPLAY: &str = r#"{"error":"nonce_reused","message":"nonce was already used"}"#;

fn with_nonce(nonce: &str) -> Signing {
    Signing {
        nonce: Some(nonce.to_owned()),
        ..Signing::default()
    }
}

api_tests! {
    async fn a_correctly_signed_request_is_accepted(app: TestApp) {
        let r = app.signed("POST", "/pay/wechat/native", &order("order_auth_ok1")).await;
        r.assert_ok();
    }

    async fn each_missing_header_is_named(app: TestApp) {
        for header in ["X-1Pass-AK", "X-1Pass-Ts", "X-1Pass-Nonce", "X-1Pass-Sign"] {
            let signing = Signing { omit: vec![header], ..Signing::default() };
            let r = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_01"), signing).await;
            r.assert_error(401, "missing_auth_header");
            assert_eq!(r.json["field"], header, "{}", r.text);
        }
    }

    async fn an_unknown_access_key_is_refused(app: TestApp) {
        let signing = Signing { ak: Some("ak_nobody_has_this_key_00".into()), ..Signing::default() };
        let r = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_02"), signing).await;
        r.assert_error(401, "unknown_access_key");
    }

    async fn a_wrong_secret_key_is_an_invalid_signature(app: TestApp) {
        let signing = Signing { sk: Some("sk_not_the_right_secret_key_at_all".into()), ..Signing::default() };
        let r = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_03"), signing).await;
        r.assert_error(401, "invalid_signature");
    }

    async fn the_query_string_is_part_of_the_signed_path(app: TestApp) {
        let signing = Signing::default();
        let r = app.signed_as(&app.site, "POST", "/pay/wechat/native?x=1", &order("order_auth_04"), signing).await;
        // The query is part of the signed path, so a request signed with it verifies…
        r.assert_ok();
        // …and a signature made without the query does not.
        let ts = unix_now().to_string();
        let nonce = fresh_nonce();
        let body = order("order_auth_05");
        let sign = crate::support::app::seed_sign(app.site.secret_key.expose(), &ts, &nonce, "POST", "/pay/wechat/native", body.as_bytes());
        let resp = app.http.post(format!("{}/pay/wechat/native?x=1", app.base))
            .header("X-1Pass-AK", app.site.access_key.as_str())
            .header("X-1Pass-Ts", ts)
            .header("X-1Pass-Nonce", nonce)
            .header("X-1Pass-Sign", sign)
            .body(body)
            .send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "invalid_signature");
    }

    async fn stale_and_future_timestamps_are_refused(app: TestApp) {
        // A second or more passes on a loaded machine between taking the time here and the
        // server taking it: a future timestamp just past the window would drift back into it.
        for ts in [unix_now() - 301, unix_now() + 330, 1_706_601_234] {
            let signing = Signing { ts: Some(ts.to_string()), ..Signing::default() };
            let r = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_06"), signing).await;
            r.assert_error(401, "stale_timestamp");
        }
        let signing = Signing { ts: Some((unix_now() - 250).to_string()), ..Signing::default() };
        let r = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_07"), signing).await;
        r.assert_ok();
    }

    async fn a_malformed_timestamp_or_nonce_is_refused(app: TestApp) {
        let signing = Signing { ts: Some("yesterday".into()), ..Signing::default() };
        let r = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_08"), signing).await;
        r.assert_error(401, "invalid_auth_header");
        let signing = Signing { nonce: Some("short".into()), ..Signing::default() };
        let r = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_09"), signing).await;
        r.assert_error(401, "invalid_auth_header");
    }

    async fn a_replayed_nonce_is_refused(app: TestApp) {
        let nonce = fresh_nonce();
        let signing = Signing { nonce: Some(nonce.clone()), ..Signing::default() };
        let first = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_10"), signing.clone()).await;
        first.assert_ok();
        let replay = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_10"), signing).await;
        replay.assert_error(401, "nonce_reused");
    }

    async fn a_replayed_create_is_answered_as_a_replay_on_any_other_route(app: TestApp) {
        // Creation uses its nonce up in the order's own transaction, the other signed routes in
        // the signature check: a replay gets the same answer, byte for byte, from all of them.
        let v1_body = json!({"out_trade_no": "order_auth_replay_v1", "channel": "wechat", "method": "native",
            "description": "x", "amount_total": 1}).to_string();
        let requests = [
            ("POST", "/pay/wechat/native", order("order_auth_replay")),
            ("POST", "/v1/orders", v1_body),
            ("GET", "/v1/orders/order_auth_replay", String::new()),
        ];
        for (method, path, body) in requests {
            let nonce = fresh_nonce();
            app.signed_as(&app.site, method, path, &body, with_nonce(&nonce)).await.assert_ok();
            let replay = app.signed_as(&app.site, method, path, &body, with_nonce(&nonce)).await;
            replay.assert_error(401, "nonce_reused");
            assert_eq!(replay.text, REPLAY, "{method} {path}");
        }
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 2);
    }

    async fn the_same_signed_create_sent_eight_times_at_once_makes_one_order(app: TestApp) {
        let app = std::sync::Arc::new(app);
        // The very same request: one timestamp, one nonce, one signature.
        let signing = Signing { ts: Some(unix_now().to_string()), ..with_nonce(&fresh_nonce()) };
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (app, signing) = (app.clone(), signing.clone());
                tokio::spawn(async move {
                    app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_burst"), signing).await
                })
            })
            .collect();
        let (mut created, mut replays) = (0, 0);
        for task in tasks {
            let r = task.await.unwrap();
            if r.status == 200 {
                assert_eq!(r.json["status"], "pending", "{}", r.text);
                created += 1;
            } else {
                assert_eq!((r.status, r.text.as_str()), (401, REPLAY));
                replays += 1;
            }
        }
        assert_eq!((created, replays), (1, 7));
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 1);
        assert_eq!(app.sim_wechat_orders(), 1);
    }

    async fn a_create_retried_with_a_fresh_nonce_finds_its_order_and_uses_the_nonce_up(app: TestApp) {
        let first = app.signed("POST", "/pay/wechat/native", &order("order_auth_retry")).await;
        let first = first.assert_ok().clone();
        let retry = fresh_nonce();
        let again = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_retry"), with_nonce(&retry)).await;
        assert_eq!(again.assert_ok(), &first);
        // The retry wrote no order, but its nonce is used up all the same.
        let replay = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_retry"), with_nonce(&retry)).await;
        assert_eq!((replay.status, replay.text.as_str()), (401, REPLAY));
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 1);
        assert_eq!(app.sim_wechat_orders(), 1);
    }

    async fn a_refused_create_uses_its_nonce_up(app: TestApp) {
        // Refused for its body, for a description Alipay cannot sign, for a method the site may
        // not use, for an order number taken by other content: a replay is told it is one.
        app.signed("POST", "/pay/wechat/native", &order("order_auth_taken")).await.assert_ok();
        let wechat_only = crate::support::new_site(&app.db.store, "wechat only").await;
        let refused = [
            (&app.site, "/pay/wechat/native", json!({"out_trade_no": "order_auth_r1", "description": "x", "amount_total": 0}), 400, "invalid_amount"),
            (&app.site, "/pay/wechat/native", json!({"out_trade_no": "order_auth_r2"}), 400, "missing_fields"),
            (&app.site, "/v1/orders", json!({"out_trade_no": "order_auth_r3", "method": "any", "description": "VIP&月卡", "amount_total": 1}), 400, "alipay_invalid_characters"),
            (&wechat_only, "/v1/orders", json!({"out_trade_no": "order_auth_r4", "channel": "alipay", "method": "qr",
                "description": "x", "amount_total": 1}), 400, "payment_not_configured"),
            (&app.site, "/pay/wechat/native", json!({"out_trade_no": "order_auth_taken", "description": "other", "amount_total": 2990}), 409, "out_trade_no_conflict"),
        ];
        for (site, path, body, status, code) in refused {
            let (body, nonce) = (body.to_string(), fresh_nonce());
            app.signed_as(site, "POST", path, &body, with_nonce(&nonce)).await.assert_error(status, code);
            let replay = app.signed_as(site, "POST", path, &body, with_nonce(&nonce)).await;
            assert_eq!((replay.status, replay.text.as_str()), (401, REPLAY), "{code}");
        }
        assert_eq!(app.db.count("SELECT COUNT(*) FROM orders").await, 1);
    }

    async fn a_nonce_reused_at_the_far_edge_of_the_window_is_refused(app: TestApp) {
        // With a one-second window, a request stamped `ts` is accepted from second ts-1 until just
        // before second ts+2 (the server's clock is rounded down to seconds): almost three seconds,
        // more than twice the window. Use the nonce at the start of that span and again near its end.
        let app = TestApp::spawn_tuned(app.kill(), |s| s.signature_window = Duration::from_secs(1)).await;
        sleep_until_ms(unix_ms() / 1000 * 1000 + 1000).await;
        let second = unix_ms() / 1000;
        let signing = Signing { ts: Some((second + 1).to_string()), nonce: Some(fresh_nonce()), ..Signing::default() };
        let first = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_edge"), signing.clone()).await;
        first.assert_ok();
        // 2.5 s after the first use, still within the timestamp's span (it ends at second+3).
        sleep_until_ms((second + 2) * 1000 + 500).await;
        let replay = app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_edge"), signing).await;
        replay.assert_error(401, "nonce_reused");
    }

    async fn a_forged_request_does_not_burn_the_nonce(app: TestApp) {
        let nonce = fresh_nonce();
        let forged = Signing { nonce: Some(nonce.clone()), sk: Some("sk_forged_secret_key_123456".into()), ..Signing::default() };
        app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_11"), forged).await
            .assert_error(401, "invalid_signature");
        let real = Signing { nonce: Some(nonce), ..Signing::default() };
        app.signed_as(&app.site, "POST", "/pay/wechat/native", &order("order_auth_11"), real).await.assert_ok();
    }

    async fn a_disabled_site_is_forbidden(app: TestApp) {
        let now = gateway::domain::Timestamp::now();
        let audit = gateway::domain::AuditEntry::new(now, gateway::domain::Actor::Cli, gateway::domain::AuditAction::SiteDisable);
        app.db.store.set_site_status(&app.site.id, gateway::domain::SiteStatus::Disabled, now, &audit).await.unwrap();
        let r = app.signed("POST", "/pay/wechat/native", &order("order_auth_12")).await;
        r.assert_error(403, "site_disabled");
    }

    async fn query_strings_are_signed_raw(app: TestApp) {
        app.create_order(&json!({"out_trade_no": "order_auth_13", "channel": "wechat", "method": "native",
            "description": "x", "amount_total": 1})).await.assert_ok();
        // GET with a query string: signed over `path?raw_query`, percent-escapes as sent.
        let r = app.signed("GET", "/v1/orders/order_auth_13?expand=a%2Cb&x=1", "").await;
        assert_eq!(r.assert_ok()["out_trade_no"], "order_auth_13");
    }

    async fn the_seed_node_example_signs_as_paygate_verifies(app: TestApp) {
        // Seed 000's Node.js example, unchanged but for the host. Without Node.js the test fails,
        // as every interoperability test does: passing without having run it would prove nothing.
        let node = test_support::snippets::node();
        let script = format!(r#"
const crypto = require('crypto');

async function createPaymentOrder(ak, sk, orderData) {{
    const ts = Math.floor(Date.now() / 1000).toString();
    const nonce = crypto.randomBytes(16).toString('hex');
    const body = JSON.stringify(orderData);

    // 签名方式与 /token 完全一致
    const bodyHash = crypto.createHash('sha256').update(body).digest('hex');
    const canonical = `${{ts}}\n${{nonce}}\nPOST\n/pay/wechat/native\n${{bodyHash}}`;
    const sign = crypto.createHmac('sha256', sk)
        .update(canonical).digest('base64url');

    const resp = await fetch('{base}/pay/wechat/native', {{
        method: 'POST',
        headers: {{
            'Content-Type': 'application/json',
            'X-1Pass-AK': ak, 'X-1Pass-Ts': ts,
            'X-1Pass-Nonce': nonce, 'X-1Pass-Sign': sign,
        }},
        body,
    }});
    return await resp.json();
}}

(async () => {{
const result = await createPaymentOrder('{ak}', '{sk}', {{
    out_trade_no: 'order_' + Date.now(),
    description: 'VIP月卡',
    amount_total: 2990,
}});
console.log(JSON.stringify(result));
}})();
"#, base = app.base, ak = app.site.access_key.as_str(), sk = app.site.secret_key.expose());
        app.get("/healthz").await.assert_ok();
        let out = tokio::process::Command::new(&node).arg("-e").arg(script).output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{stdout} {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(v["status"], "pending", "{v}");
        assert!(v["code_url"].as_str().unwrap().starts_with("weixin://wxpay/bizpayurl?pr="), "{v}");
        assert!(v["checkout_url"].as_str().unwrap().contains("/pay/wechat/checkout?token=ck_"), "{v}");
        assert!(v.as_object().unwrap().contains_key("prepay_id"));
    }
}

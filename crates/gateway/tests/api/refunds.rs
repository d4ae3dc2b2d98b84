//! Refunds through the merchant API: asked for, read back, listed with their order, on both
//! channels against the simulator, which keeps its own account of what was refunded.

use std::sync::Arc;
use std::time::Duration;

use gateway::domain::{OrderStatus, Site};
use serde_json::{Value, json};

use crate::api_tests;
use crate::support::app::{
    Reply, Signing, TestApp, fresh_nonce, sandbox_keys, seed_sign, unix_now,
};

const CHANNELS: [&str; 2] = ["wechat", "alipay"];

/// An order of 100.00 on `channel` (WeChat Native or Alipay QR), created by `site` and paid in the
/// simulator; answers its checkout token once paygate has recorded the payment.
async fn paid_order(app: &TestApp, site: &Site, no: &str, channel: &str) -> String {
    let method = if channel == "wechat" { "native" } else { "qr" };
    let body = json!({"out_trade_no": no, "channel": channel, "method": method,
        "description": "VIP年卡", "amount_total": 10000});
    let created = app.create_order_as(site, &body).await;
    let token = created.assert_ok()["checkout_url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    if channel == "wechat" {
        app.sim_wechat_pay(site, no).await;
    } else {
        let order = app.stored(site, no).await;
        let url = format!(
            "{}/sim/alipay/trades/{}/pay?app_id={}",
            app.sim.base_url,
            order.upstream_order_no.as_str(),
            sandbox_keys().alipay_app_id
        );
        let resp = app.http.post(url).send().await.unwrap();
        assert!(resp.status().is_success(), "{:?}", resp.text().await);
    }
    for _ in 0..200 {
        if app.stored_status(site, no).await == OrderStatus::Paid {
            return token;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} was never recorded as paid");
}

/// `POST /v1/orders/{no}/refunds` as `site`, with a raw body.
async fn refund_raw(app: &TestApp, site: &Site, no: &str, body: &str) -> Reply {
    let path = format!("/v1/orders/{no}/refunds");
    app.signed_as(site, "POST", &path, body, Signing::default())
        .await
}

async fn refund_as(app: &TestApp, site: &Site, no: &str, body: &Value) -> Reply {
    refund_raw(app, site, no, &body.to_string()).await
}

async fn refund(app: &TestApp, no: &str, out_refund_no: &str, amount: i64) -> Reply {
    let body = json!({"out_refund_no": out_refund_no, "amount": amount});
    refund_as(app, &app.site, no, &body).await
}

/// `GET /v1/refunds/{out_refund_no}` as `site`.
async fn get_refund_as(app: &TestApp, site: &Site, out_refund_no: &str) -> Reply {
    let path = format!("/v1/refunds/{out_refund_no}");
    app.signed_as(site, "GET", &path, "", Signing::default())
        .await
}

/// Polls the refund until it has ended (WeChat Pay answers with its callback, a moment later).
async fn settled(app: &TestApp, out_refund_no: &str) -> Value {
    for _ in 0..200 {
        let r = get_refund_as(app, &app.site, out_refund_no).await;
        if r.assert_ok()["status"] != "processing" {
            return r.json;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("refund {out_refund_no} never ended");
}

/// `n` refunds of `amount` of order `no`, sent all at once (numbered `{prefix}_{i}`), each signed
/// and sent from its own task.
async fn refunds_at_once(
    app: &TestApp,
    no: &str,
    prefix: &str,
    n: usize,
    amount: i64,
) -> Vec<Reply> {
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let path = format!("/v1/orders/{no}/refunds");
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (http, start) = (app.http.clone(), start.clone());
            let url = format!("{}{path}", app.base);
            let ak = app.site.access_key.as_str().to_owned();
            let sk = app.site.secret_key.expose().to_owned();
            let body =
                json!({"out_refund_no": format!("{prefix}_{i:02}"), "amount": amount}).to_string();
            let path = path.clone();
            tokio::spawn(async move {
                let (ts, nonce) = (unix_now().to_string(), fresh_nonce());
                let sign = seed_sign(&sk, &ts, &nonce, "POST", &path, body.as_bytes());
                let req = http
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("X-1Pass-AK", ak)
                    .header("X-1Pass-Ts", ts)
                    .header("X-1Pass-Nonce", nonce)
                    .header("X-1Pass-Sign", sign)
                    .body(body);
                start.wait().await;
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let text = resp.text().await.unwrap();
                let json = serde_json::from_str(&text).unwrap_or(Value::Null);
                Reply {
                    status,
                    json,
                    text,
                    headers,
                }
            })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    replies
}

/// What the simulator itself refunded of order `no`: (how many refunds, their sum in fen), counting
/// WeChat Pay refunds that are not closed and Alipay's `refunded_fen`.
async fn sim_refunded(app: &TestApp, no: &str, channel: &str) -> (usize, i64) {
    let upstream = app.stored(&app.site, no).await.upstream_order_no;
    if channel == "wechat" {
        let state = test_support::sim::state(app.sim_dir.path(), "wechat.json");
        let refunds: Vec<&Value> = state["refunds"]
            .as_object()
            .map(|m| m.values().collect())
            .unwrap_or_default();
        let of_order: Vec<&Value> = refunds
            .into_iter()
            .filter(|r| r["out_trade_no"] == upstream.as_str() && r["status"] != "CLOSED")
            .collect();
        (
            of_order.len(),
            of_order.iter().map(|r| r["refund"].as_i64().unwrap()).sum(),
        )
    } else {
        let url = format!(
            "{}/sim/alipay/trades/{}?app_id={}",
            app.sim.base_url,
            upstream.as_str(),
            sandbox_keys().alipay_app_id
        );
        let trade: Value = app
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let count = trade["refunds"].as_array().map_or(0, Vec::len);
        (count, trade["refunded_fen"].as_i64().unwrap_or(-1))
    }
}

/// The sum of the order's stored refunds that hold their amount (all but `failed`).
async fn stored_refund_sum(app: &TestApp, no: &str) -> i64 {
    app.db
        .count(&format!(
            "SELECT CAST(COALESCE(SUM(r.amount_fen), 0) AS BIGINT) FROM refunds r JOIN orders o ON o.id = r.order_id \
             WHERE o.out_trade_no = '{no}' AND o.site_id = '{}' AND r.status <> 'failed'",
            app.site.id.as_str()
        ))
        .await
}

api_tests! {
    async fn an_order_refunded_in_two_parts_is_refunded_and_nothing_more_can_be(app: TestApp) {
        for channel in CHANNELS {
            let no = format!("order_rf_full_{channel}");
            let token = paid_order(&app, &app.site, &no, channel).await;

            let first = refund(&app, &no, &format!("rf_{channel}_1"), 3000).await;
            let v = first.assert_ok();
            assert_eq!(v["out_refund_no"], format!("rf_{channel}_1"));
            assert_eq!(v["out_trade_no"], no.as_str());
            assert_eq!(v["amount"], 3000);
            assert_ne!(v["status"], "failed", "{v}");
            assert!(v["created_at"].as_str().unwrap().ends_with('Z'), "{v}");
            let v = settled(&app, &format!("rf_{channel}_1")).await;
            assert_eq!(v["status"], "succeeded", "{v}");
            assert!(v["succeeded_at"].is_string(), "{v}");
            assert!(v["channel_refund_id"].is_string(), "{v}");
            assert_eq!(v["failure_reason"], Value::Null);

            // Partly refunded: still paid, with what reached the payer.
            let order = app.get_order(&no).await;
            let o = order.assert_ok();
            assert_eq!((o["status"].as_str(), o["refunded_amount"].as_i64()), (Some("paid"), Some(3000)), "{o}");

            refund(&app, &no, &format!("rf_{channel}_2"), 7000).await.assert_ok();
            let v = settled(&app, &format!("rf_{channel}_2")).await;
            assert_eq!(v["status"], "succeeded", "{v}");

            let order = app.get_order(&no).await;
            let o = order.assert_ok();
            assert_eq!(o["status"], "refunded", "{o}");
            assert_eq!(o["refunded_amount"], 10000);
            let listed: Vec<(&str, i64, &str)> = o["refunds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["out_refund_no"].as_str().unwrap(), r["amount"].as_i64().unwrap(), r["status"].as_str().unwrap()))
                .collect();
            let (one, two) = (format!("rf_{channel}_1"), format!("rf_{channel}_2"));
            assert_eq!(listed, [(one.as_str(), 3000, "succeeded"), (two.as_str(), 7000, "succeeded")]);
            assert_eq!(o["refunds"][0]["out_trade_no"], no.as_str());

            // The 1Pass status route agrees.
            let status = app.get(&format!("/pay/{channel}/status?token={token}")).await;
            assert_eq!(status.assert_ok()["status"], "refunded");

            // Nothing is left: a further 0.01 is refused, and nothing is stored for it.
            let more = refund(&app, &no, &format!("rf_{channel}_3"), 1).await;
            more.assert_error(409, "refund_exceeds_paid");
            get_refund_as(&app, &app.site, &format!("rf_{channel}_3")).await.assert_error(404, "refund_not_found");
            assert_eq!(sim_refunded(&app, &no, channel).await, (2, 10000));
        }
    }

    async fn ended_refunds_are_counted_with_their_amount_and_time(app: TestApp) {
        paid_order(&app, &app.site, "order_refund_metrics", "alipay").await;
        let r = refund(&app, "order_refund_metrics", "r_metrics", 1234).await;
        assert_eq!(r.assert_ok()["status"], "succeeded", "Alipay answers at once");
        let m = app.metrics().await;
        for line in [
            "paygate_refunds_total{channel=\"alipay\",outcome=\"succeeded\"}",
            "paygate_refunded_fen_total{channel=\"alipay\",outcome=\"succeeded\"}",
            "paygate_refund_seconds_to_final_count{channel=\"alipay\",outcome=\"succeeded\"}",
            "paygate_upstream_calls_total{channel=\"alipay\",operation=\"refund\",outcome=\"ok\"}",
        ] {
            assert!(m.contains(line), "{line} missing from\n{m}");
        }
    }

    async fn concurrent_refunds_never_exceed_what_was_paid(app: TestApp) {
        for channel in CHANNELS {
            let no = format!("order_rf_race_{channel}");
            paid_order(&app, &app.site, &no, channel).await;
            let replies = refunds_at_once(&app, &no, &format!("race_{channel}"), 20, 1000).await;
            let taken: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
            let refused: Vec<&Reply> = replies.iter().filter(|r| r.status != 200).collect();
            assert_eq!(taken.len(), 10, "{replies:#?}");
            for r in &taken {
                assert_ne!(r.json["status"], "failed", "{}", r.text);
            }
            for r in &refused {
                r.assert_error(409, "refund_exceeds_paid");
            }
            assert_eq!(stored_refund_sum(&app, &no).await, 10000);
            for r in &taken {
                let v = settled(&app, r.json["out_refund_no"].as_str().unwrap()).await;
                assert_eq!(v["status"], "succeeded", "{v}");
            }
            assert_eq!(stored_refund_sum(&app, &no).await, 10000);
            let order = app.get_order(&no).await;
            let o = order.assert_ok();
            assert_eq!((o["status"].as_str(), o["refunded_amount"].as_i64()), (Some("refunded"), Some(10000)), "{o}");
            assert_eq!(o["refunds"].as_array().map(Vec::len), Some(10));
            // The channel's own account agrees: ten refunds of 10.00, 100.00 in all.
            assert_eq!(sim_refunded(&app, &no, channel).await, (10, 10000), "{channel}");
        }
    }

    async fn the_same_refund_number_is_the_same_refund_and_other_content_conflicts(app: TestApp) {
        paid_order(&app, &app.site, "order_rf_idem_1", "wechat").await;
        paid_order(&app, &app.site, "order_rf_idem_2", "wechat").await;
        let body = json!({"out_refund_no": "rf_idem", "amount": 1500, "reason": "商品已售完"});
        let first = refund_as(&app, &app.site, "order_rf_idem_1", &body).await;
        let first = first.assert_ok().clone();
        assert_eq!(first["reason"], "商品已售完");
        let again = refund_as(&app, &app.site, "order_rf_idem_1", &body).await;
        let again = again.assert_ok();
        assert_eq!(again["created_at"], first["created_at"]);
        assert_eq!((again["out_refund_no"].as_str(), again["amount"].as_i64()), (Some("rf_idem"), Some(1500)));
        // Once it has ended too.
        settled(&app, "rf_idem").await;
        let later = refund_as(&app, &app.site, "order_rf_idem_1", &body).await;
        assert_eq!(later.assert_ok()["created_at"], first["created_at"]);
        assert_eq!(later.json["status"], "succeeded");

        for (other, order) in [
            (json!({"out_refund_no": "rf_idem", "amount": 1501, "reason": "商品已售完"}), "order_rf_idem_1"),
            (json!({"out_refund_no": "rf_idem", "amount": 1500, "reason": "另一个理由"}), "order_rf_idem_1"),
            (json!({"out_refund_no": "rf_idem", "amount": 1500}), "order_rf_idem_1"),
            (body.clone(), "order_rf_idem_2"),
        ] {
            refund_as(&app, &app.site, order, &other).await.assert_error(409, "out_refund_no_conflict");
        }
        // One refund stored, one sent.
        assert_eq!(stored_refund_sum(&app, "order_rf_idem_1").await, 1500);
        assert_eq!(stored_refund_sum(&app, "order_rf_idem_2").await, 0);
        assert_eq!(sim_refunded(&app, "order_rf_idem_1", "wechat").await, (1, 1500));
        let order = app.get_order("order_rf_idem_1").await;
        assert_eq!(order.assert_ok()["refunds"].as_array().map(Vec::len), Some(1));
    }

    async fn invalid_refund_requests_are_refused_naming_the_field(app: TestApp) {
        paid_order(&app, &app.site, "order_rf_bad", "wechat").await;
        let no = "order_rf_bad";
        for amount in [json!(0), json!(-100), json!(10.5), json!(1000.0), json!("1000"), json!(true)] {
            let r = refund_as(&app, &app.site, no, &json!({"out_refund_no": "rf_bad_1", "amount": amount})).await;
            r.assert_error(400, "invalid_amount");
            assert_eq!(r.json["field"], "amount", "{amount}: {}", r.text);
        }
        let r = refund_as(&app, &app.site, no, &json!({"amount": 100})).await;
        r.assert_error(400, "missing_fields");
        assert!(r.text.contains("out_refund_no"), "{}", r.text);
        let r = refund_as(&app, &app.site, no, &json!({"out_refund_no": "rf_bad_2"})).await;
        r.assert_error(400, "missing_fields");
        assert!(r.text.contains("amount"), "{}", r.text);
        for bad in ["退款1", "rf bad", "rf/bad", &"r".repeat(65)] {
            let r = refund_as(&app, &app.site, no, &json!({"out_refund_no": bad, "amount": 100})).await;
            r.assert_error(400, "invalid_field");
            assert_eq!(r.json["field"], "out_refund_no", "{bad}: {}", r.text);
        }
        for reason in [json!(""), json!("a\u{202e}b"), json!("退".repeat(81)), json!(7)] {
            let r = refund_as(&app, &app.site, no, &json!({"out_refund_no": "rf_bad_3", "amount": 100, "reason": reason})).await;
            assert_eq!((r.status, r.json["field"].as_str()), (400, Some("reason")), "{}", r.text);
        }
        let r = refund_as(&app, &app.site, no, &json!({"out_refund_no": "rf_bad_4", "amount": 100, "notify_url": "ftp://x"})).await;
        r.assert_error(400, "invalid_notify_url");
        refund_raw(&app, &app.site, no, r#"{"out_refund_no":"rf_bad_5","amount":100,"amount":10000}"#)
            .await
            .assert_error(400, "duplicate_key");
        refund_raw(&app, &app.site, no, r#"{"out_refund_no":"rf_bad_6","amount":100"#)
            .await
            .assert_error(400, "invalid_json");
        // None of these stored or sent anything.
        assert_eq!(stored_refund_sum(&app, no).await, 0);
        assert_eq!(sim_refunded(&app, no, "wechat").await, (0, 0));

        // An order never paid cannot be refunded; an unknown one is not found.
        let pending = json!({"out_trade_no": "order_rf_pending", "channel": "wechat", "method": "native",
            "description": "x", "amount_total": 10000});
        app.create_order(&pending).await.assert_ok();
        refund(&app, "order_rf_pending", "rf_pending", 100).await.assert_error(409, "order_not_refundable");
        refund(&app, "order_rf_nowhere", "rf_nowhere", 100).await.assert_error(404, "order_not_found");
        refund(&app, "bad", "rf_nowhere", 100).await.assert_error(404, "order_not_found");
        get_refund_as(&app, &app.site, "rf_pending").await.assert_error(404, "refund_not_found");
        get_refund_as(&app, &app.site, "no%20such").await.assert_error(404, "refund_not_found");
        let order = app.get_order("order_rf_pending").await;
        let o = order.assert_ok();
        assert_eq!((o["refunded_amount"].as_i64(), o["refunds"].as_array().map(Vec::len)), (Some(0), Some(0)));
    }

    async fn another_site_can_neither_refund_nor_see_the_refunds(app: TestApp) {
        let b = app.another_site("site b").await;
        paid_order(&app, &app.site, "order_rf_shared", "wechat").await;
        refund(&app, "order_rf_shared", "rf_shared", 2000).await.assert_ok();

        refund_as(&app, &b, "order_rf_shared", &json!({"out_refund_no": "rf_b", "amount": 100}))
            .await
            .assert_error(404, "order_not_found");
        get_refund_as(&app, &b, "rf_shared").await.assert_error(404, "refund_not_found");
        app.get_order_as(&b, "order_rf_shared").await.assert_error(404, "order_not_found");
        assert_eq!(stored_refund_sum(&app, "order_rf_shared").await, 2000);

        // B's own order of the same number, refunded under the same refund number: another refund.
        paid_order(&app, &b, "order_rf_shared", "alipay").await;
        let body = json!({"out_refund_no": "rf_shared", "amount": 500});
        let theirs = refund_as(&app, &b, "order_rf_shared", &body).await;
        assert_eq!(theirs.assert_ok()["status"], "succeeded", "{}", theirs.text);
        let theirs = get_refund_as(&app, &b, "rf_shared").await;
        assert_eq!(theirs.assert_ok()["amount"], 500);
        let ours = settled(&app, "rf_shared").await;
        assert_eq!((ours["amount"].as_i64(), ours["status"].as_str()), (Some(2000), Some("succeeded")));
        let b_order = app.get_order_as(&b, "order_rf_shared").await;
        let listed = &b_order.assert_ok()["refunds"];
        assert_eq!((listed.as_array().map(Vec::len), listed[0]["amount"].as_i64()), (Some(1), Some(500)));
        let a_order = app.get_order("order_rf_shared").await;
        let listed = &a_order.assert_ok()["refunds"];
        assert_eq!((listed.as_array().map(Vec::len), listed[0]["amount"].as_i64()), (Some(1), Some(2000)));
    }

    async fn an_order_past_its_refund_window_is_refused_before_anything_is_reserved(app: TestApp) {
        for channel in CHANNELS {
            let no = format!("order_rf_old_{channel}");
            paid_order(&app, &app.site, &no, channel).await;
            let year_and_more = 400_i64 * 86_400_000;
            app.db
                .execute(&format!(
                    "UPDATE orders SET paid_at = paid_at - {year_and_more} WHERE out_trade_no = '{no}'"
                ))
                .await;
            let r = refund(&app, &no, &format!("rf_old_{channel}"), 100).await;
            r.assert_error(409, "refund_window_passed");
            assert_eq!(stored_refund_sum(&app, &no).await, 0);
            let reserved = app
                .db
                .count(&format!("SELECT refund_reserved_fen FROM orders WHERE out_trade_no = '{no}'"))
                .await;
            assert_eq!(reserved, 0);
            assert_eq!(sim_refunded(&app, &no, channel).await, (0, 0));
            get_refund_as(&app, &app.site, &format!("rf_old_{channel}")).await.assert_error(404, "refund_not_found");
        }
    }
    async fn amounts_other_than_whole_fen_within_bounds_are_refused_and_one_fen_is_refunded(app: TestApp) {
        let no = "order_rf_amounts";
        paid_order(&app, &app.site, no, "wechat").await;
        // Exponents, a negative zero, past WeChat Pay's 32 bits, past i64, past u64.
        for amount in ["1e3", "-0", "2147483648", "9223372036854775807", "18446744073709551616", "1e400"] {
            let body = format!(r#"{{"out_refund_no":"rf_amount","amount":{amount}}}"#);
            let r = refund_raw(&app, &app.site, no, &body).await;
            assert_eq!(r.status, 400, "{amount}: {}", r.text);
            assert!(["invalid_amount", "invalid_json"].contains(&r.json["error"].as_str().unwrap_or_default()), "{amount}: {}", r.text);
        }
        assert_eq!(stored_refund_sum(&app, no).await, 0);
        // The smallest refund, under the longest number.
        let longest = "r".repeat(64);
        let one = refund(&app, no, &longest, 1).await;
        assert_eq!((one.assert_ok()["amount"].as_i64(), one.json["out_refund_no"].as_str()), (Some(1), Some(longest.as_str())));
        assert_eq!(settled(&app, &longest).await["status"], "succeeded");
        assert_eq!(sim_refunded(&app, no, "wechat").await, (1, 1));
    }

    async fn a_replayed_refund_request_is_refused_and_an_oversized_one_is_never_read(app: TestApp) {
        let no = "order_rf_replay";
        paid_order(&app, &app.site, no, "alipay").await;
        let path = format!("/v1/orders/{no}/refunds");
        let body = json!({"out_refund_no": "rf_replay", "amount": 100}).to_string();
        let signing = || Signing { nonce: Some("nonce_rf_replay_0123456789abcdef".to_owned()), ..Signing::default() };
        app.signed_as(&app.site, "POST", &path, &body, signing()).await.assert_ok();
        app.signed_as(&app.site, "POST", &path, &body, signing())
            .await
            .assert_error(401, "nonce_reused");

        let huge = json!({"out_refund_no": "rf_huge", "amount": 100, "reason": "退".repeat(40_000)}).to_string();
        refund_raw(&app, &app.site, no, &huge).await.assert_error(413, "payload_too_large");
        assert_eq!(stored_refund_sum(&app, no).await, 100);
        assert_eq!(sim_refunded(&app, no, "alipay").await, (1, 100));
    }
}

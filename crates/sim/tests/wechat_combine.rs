//! Combined orders (合单): order, query, pay with one callback, close rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::*;

fn combine_body(m: &Merchant, no: &str, notify_url: &str) -> Value {
    let sub = |suffix: &str, total: i64| {
        json!({"mchid": m.mchid, "attach": "深圳分店", "out_trade_no": format!("{no}{suffix}"),
               "description": "腾讯充值中心-QQ会员充值", "amount": {"total_amount": total, "currency": "CNY"}})
    };
    json!({
        "combine_appid": APPID, "combine_mchid": m.mchid, "combine_out_trade_no": no,
        "sub_orders": [sub("a", 10), sub("b", 20)],
        "combine_payer_info": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, "notify_url": notify_url,
    })
}

#[tokio::test]
async fn combined_order_pays_all_sub_orders_and_notifies_once() {
    let t = TestSim::start().await;
    let m = t.register("1900000501", "public_key").await;
    let mut rx = receiver(vec![200]).await;
    let n = no("cmb");
    let body = combine_body(&m, &n, &rx.url);
    let r = t
        .call(&m, "POST", "/v3/combine-transactions/jsapi", Some(&body))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    verify_signed(&r.headers, &r.bytes, &m.platform_public);
    let again = t
        .call(&m, "POST", "/v3/combine-transactions/jsapi", Some(&body))
        .await;
    assert_eq!(r.json(), again.json());
    let mut one_sub = body.clone();
    one_sub["sub_orders"] = json!([body["sub_orders"][0]]);
    one_sub["combine_out_trade_no"] = json!(no("cmb"));
    let bad = t
        .call(&m, "POST", "/v3/combine-transactions/jsapi", Some(&one_sub))
        .await;
    assert_eq!((bad.status, bad.code().as_str()), (400, "PARAM_ERROR"));

    let q = t
        .call(
            &m,
            "GET",
            &format!("/v3/combine-transactions/out-trade-no/{n}"),
            None,
        )
        .await;
    assert_eq!(q.json()["sub_orders"][1]["trade_state"], "NOTPAY");
    let (s, _) = t
        .control(
            "POST",
            &format!("/sim/wechat/combine/{n}/pay?mchid={}", m.mchid),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let got = rx.next().await;
    verify_signed(&got.headers, got.body.as_bytes(), &m.platform_public);
    let env: Value = serde_json::from_str(&got.body).unwrap();
    let res = &env["resource"];
    let plain = decrypt(
        APIV3_KEY,
        res["nonce"].as_str().unwrap(),
        "transaction",
        res["ciphertext"].as_str().unwrap(),
    );
    let combined: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(combined["combine_out_trade_no"], n.as_str());
    assert_eq!(combined["sub_orders"][0]["trade_state"], "SUCCESS");
    assert_eq!(combined["sub_orders"][1]["amount"]["payer_amount"], 20);

    let close = json!({"combine_appid": APPID, "sub_orders": body["sub_orders"]});
    let r = t
        .call(
            &m,
            "POST",
            &format!("/v3/combine-transactions/out-trade-no/{n}/close"),
            Some(&close),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "ORDERPAID"));

    let open = no("cmb");
    t.call(
        &m,
        "POST",
        "/v3/combine-transactions/native",
        Some(&combine_body(&m, &open, &rx.url)),
    )
    .await;
    let r = t
        .call(
            &m,
            "POST",
            &format!("/v3/combine-transactions/out-trade-no/{open}/close"),
            Some(&close),
        )
        .await;
    assert_eq!(r.status, 204);
    let q = t
        .call(
            &m,
            "GET",
            &format!("/v3/combine-transactions/out-trade-no/{open}"),
            None,
        )
        .await;
    assert_eq!(q.json()["sub_orders"][0]["trade_state"], "CLOSED");
    let r = t
        .call(
            &m,
            "GET",
            "/v3/combine-transactions/out-trade-no/nosuch1",
            None,
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "ORDER_NOT_EXIST"));
    t.sim.shutdown().await.unwrap();
}

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
    let open_body = combine_body(&m, &open, &rx.url);
    t.call(
        &m,
        "POST",
        "/v3/combine-transactions/native",
        Some(&open_body),
    )
    .await;
    let close_path = format!("/v3/combine-transactions/out-trade-no/{open}/close");
    // The close lists the combined order's own sub-orders, all of them.
    let r = t.call(&m, "POST", &close_path, Some(&close)).await;
    assert_eq!((r.status, r.code().as_str()), (400, "PARAM_ERROR"));
    let mut fewer = json!({"combine_appid": APPID, "sub_orders": open_body["sub_orders"]});
    fewer["sub_orders"].as_array_mut().unwrap().pop();
    let r = t.call(&m, "POST", &close_path, Some(&fewer)).await;
    assert_eq!((r.status, r.code().as_str()), (400, "PARAM_ERROR"));
    let close = json!({"combine_appid": APPID, "sub_orders": open_body["sub_orders"]});
    let r = t.call(&m, "POST", &close_path, Some(&close)).await;
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

/// A service provider's combined order for its sub-merchants `subs` (one sub-order each).
fn partner_combine_body(sp: &Merchant, no: &str, notify_url: &str, subs: &[&str]) -> Value {
    let sub_orders: Vec<Value> = subs
        .iter()
        .enumerate()
        .map(|(i, sub)| {
            json!({"mchid": sp.mchid, "sub_mchid": sub, "attach": "分店", "out_trade_no": format!("{no}s{i}"),
                   "description": "商品", "amount": {"total_amount": 10 * (i as i64 + 1), "currency": "CNY"}})
        })
        .collect();
    json!({
        "combine_appid": APPID, "combine_mchid": sp.mchid, "combine_out_trade_no": no,
        "sub_orders": sub_orders, "notify_url": notify_url,
    })
}

#[tokio::test]
async fn a_service_provider_combines_for_its_bound_sub_merchants_only() {
    let t = TestSim::start().await;
    let sp = t.register("1900007300", "public_key").await;
    let subs = ["1900007301", "1900007302"];
    for sub in subs {
        let (s, _) = t
            .control(
                "POST",
                "/sim/wechat/sub-merchants",
                Some(json!({"sp_mchid": sp.mchid, "sub_mchid": sub})),
            )
            .await;
        assert_eq!(s, 200);
    }
    let mut rx = receiver(vec![200]).await;
    let create = |body: Value| {
        let (t, sp) = (&t, &sp);
        async move {
            t.call(sp, "POST", "/v3/combine-transactions/native", Some(&body))
                .await
        }
    };

    // A sub-merchant not bound to the provider: the whole combined order is refused.
    let unbound = partner_combine_body(&sp, &no("cmb"), &rx.url, &[subs[0], "1900007399"]);
    let r = create(unbound).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "NO_AUTH"),
        "{:?}",
        r.json()
    );
    // A sub-order without a sub-merchant beside sub-merchants', or naming another mchid.
    let mut mixed = partner_combine_body(&sp, &no("cmb"), &rx.url, &subs);
    mixed["sub_orders"][1]
        .as_object_mut()
        .unwrap()
        .remove("sub_mchid");
    let r = create(mixed).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "PARAM_ERROR"),
        "{:?}",
        r.json()
    );
    let mut other_mchid = partner_combine_body(&sp, &no("cmb"), &rx.url, &subs);
    other_mchid["sub_orders"][0]["mchid"] = json!(subs[0]);
    let r = create(other_mchid).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "PARAM_ERROR"),
        "{:?}",
        r.json()
    );

    let n = no("cmb");
    let r = create(partner_combine_body(&sp, &n, &rx.url, &subs)).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    // Each sub-order is held as its sub-merchant's: the partner query finds it under it alone.
    let query = |sub: &str| {
        format!(
            "/v3/pay/partner/transactions/out-trade-no/{n}s1?sp_mchid={}&sub_mchid={sub}",
            sp.mchid
        )
    };
    let held = t.call(&sp, "GET", &query(subs[1]), None).await;
    assert_eq!(held.status, 200, "{:?}", held.json());
    assert_eq!(held.json()["sub_mchid"], subs[1]);
    let elsewhere = t.call(&sp, "GET", &query(subs[0]), None).await;
    assert_eq!(elsewhere.status, 404, "{:?}", elsewhere.json());

    let (s, _) = t
        .control(
            "POST",
            &format!("/sim/wechat/combine/{n}/pay?mchid={}", sp.mchid),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let got = rx.next().await;
    verify_signed(&got.headers, got.body.as_bytes(), &sp.platform_public);
    let env: Value = serde_json::from_str(&got.body).unwrap();
    let res = &env["resource"];
    let plain = decrypt(
        APIV3_KEY,
        res["nonce"].as_str().unwrap(),
        "transaction",
        res["ciphertext"].as_str().unwrap(),
    );
    let combined: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(combined["combine_mchid"], sp.mchid.as_str());
    for (i, sub) in subs.iter().enumerate() {
        let s = &combined["sub_orders"][i];
        assert_eq!(
            (s["mchid"].as_str(), s["sub_mchid"].as_str()),
            (Some(sp.mchid.as_str()), Some(*sub))
        );
        assert_eq!(s["trade_state"], "SUCCESS");
    }

    // Closing lists the sub-orders as they were made, each with its sub-merchant.
    let open = no("cmb");
    let body = partner_combine_body(&sp, &open, &rx.url, &subs);
    assert_eq!(create(body.clone()).await.status, 200);
    let close_path = format!("/v3/combine-transactions/out-trade-no/{open}/close");
    let mut without = json!({"combine_appid": APPID, "sub_orders": body["sub_orders"]});
    without["sub_orders"][0]
        .as_object_mut()
        .unwrap()
        .remove("sub_mchid");
    let r = t.call(&sp, "POST", &close_path, Some(&without)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "PARAM_ERROR"),
        "{:?}",
        r.json()
    );
    let close = json!({"combine_appid": APPID, "sub_orders": body["sub_orders"]});
    let r = t.call(&sp, "POST", &close_path, Some(&close)).await;
    assert_eq!(r.status, 204);
    let q = t
        .call(
            &sp,
            "GET",
            &format!("/v3/combine-transactions/out-trade-no/{open}"),
            None,
        )
        .await;
    assert_eq!(q.json()["sub_orders"][1]["trade_state"], "CLOSED");
    t.sim.shutdown().await.unwrap();
}

//! A service provider ordering for its sub-merchants: the binding (受理关系) every partner call
//! checks, and the partner shape of notifications.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::*;

const NOTIFY: &str = "https://merchant.example.com/notify";
const SUB: &str = "1900007001";
const SUB_APPID: &str = "wxsub0000000000001";

fn partner_body(sp: &Merchant, sub_mchid: &str, no: &str, notify_url: &str) -> Value {
    json!({
        "sp_appid": APPID, "sp_mchid": sp.mchid, "sub_mchid": sub_mchid, "description": "d",
        "out_trade_no": no, "notify_url": notify_url, "amount": {"total": 300},
    })
}

async fn partner_order(t: &TestSim, sp: &Merchant, kind: &str, body: &Value) -> Resp {
    let mut body = body.clone();
    match kind {
        "jsapi" => body["payer"] = json!({"sp_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}),
        "h5" => {
            body["scene_info"] =
                json!({"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}});
        }
        _ => {}
    }
    t.call(
        sp,
        "POST",
        &format!("/v3/pay/partner/transactions/{kind}"),
        Some(&body),
    )
    .await
}

fn assert_no_binding(r: &Resp) {
    assert_eq!(
        (r.status, r.code().as_str(), r.json()["message"].as_str()),
        (403, "NO_AUTH", Some("受理关系不存在")),
        "{:?}",
        r.json()
    );
}

#[tokio::test]
async fn binding_a_sub_merchant_is_idempotent_and_adds_appids() {
    let t = TestSim::start().await;
    let sp = t.register("1900007100", "public_key").await;
    let bind =
        |appids: Value| json!({"sp_mchid": sp.mchid, "sub_mchid": SUB, "sub_appids": appids});
    let (s, v) = t
        .control(
            "POST",
            "/sim/wechat/sub-merchants",
            Some(bind(json!([SUB_APPID]))),
        )
        .await;
    assert_eq!((s, v["sub_appids"].clone()), (200, json!([SUB_APPID])));
    let (s, again) = t
        .control(
            "POST",
            "/sim/wechat/sub-merchants",
            Some(bind(json!([SUB_APPID]))),
        )
        .await;
    assert_eq!((s, again), (200, v));
    let (_, more) = t
        .control(
            "POST",
            "/sim/wechat/sub-merchants",
            Some(bind(json!(["wxsub0000000000002"]))),
        )
        .await;
    assert_eq!(more["sub_appids"], json!([SUB_APPID, "wxsub0000000000002"]));

    let (s, v) = t
        .control(
            "POST",
            "/sim/wechat/sub-merchants",
            Some(json!({"sp_mchid": "1900007199", "sub_mchid": SUB})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("NOT_FOUND")));
    let (s, _) = t
        .control(
            "POST",
            "/sim/wechat/sub-merchants",
            Some(json!({"sp_mchid": sp.mchid, "sub_mchid": ""})),
        )
        .await;
    assert_eq!(s, 400);
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_service_provider_registers_with_its_sub_merchants_in_one_call() {
    let t = TestSim::start().await;
    let key = channel_core::RsaPrivateKey::generate().unwrap();
    let (s, v) = t
        .control(
            "POST",
            "/sim/wechat/merchants",
            Some(json!({
                "mchid": "1900007200", "serial_no": "1900007200SERIAL",
                "merchant_public_key_pem": key.public_key().unwrap().to_pem(),
                "apiv3_key": APIV3_KEY, "appids": [APPID],
                "sub_merchants": [{"sub_mchid": SUB, "sub_appids": [SUB_APPID]}, {"sub_mchid": "1900007002"}],
            })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["sub_merchants"],
        json!([
            {"sp_mchid": "1900007200", "sub_mchid": SUB, "sub_appids": [SUB_APPID], "max_ratio": 3000},
            {"sp_mchid": "1900007200", "sub_mchid": "1900007002", "sub_appids": [], "max_ratio": 3000},
        ])
    );
    // Registering again keeps the bindings.
    let sp = t.register_with_key("1900007200", "public_key", key).await;
    let mut body = partner_body(&sp, SUB, &no("reg"), NOTIFY);
    body["sub_appid"] = json!(SUB_APPID);
    let r = partner_order(&t, &sp, "native", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_partner_call_refuses_a_sub_merchant_that_is_not_bound() {
    let t = TestSim::start().await;
    let sp = t.register("1900007300", "public_key").await;
    // Bound to another service provider: still not this one's.
    let other = t.register("1900007301", "public_key").await;
    t.bind_sub_merchant(&other, SUB, &[]).await;

    for kind in ["native", "jsapi", "app", "h5"] {
        let r = partner_order(&t, &sp, kind, &partner_body(&sp, SUB, &no(kind), NOTIFY)).await;
        assert_no_binding(&r);
    }
    let n = no("q");
    let r = t
        .call(
            &sp,
            "GET",
            &format!(
                "/v3/pay/partner/transactions/out-trade-no/{n}?sp_mchid={}&sub_mchid={SUB}",
                sp.mchid
            ),
            None,
        )
        .await;
    assert_no_binding(&r);
    let r = t
        .call(
            &sp,
            "GET",
            &format!(
                "/v3/pay/partner/transactions/id/4200000000000000000000000000?sp_mchid={}&sub_mchid={SUB}",
                sp.mchid
            ),
            None,
        )
        .await;
    assert_no_binding(&r);
    let r = t
        .call(
            &sp,
            "POST",
            &format!("/v3/pay/partner/transactions/out-trade-no/{n}/close"),
            Some(&json!({"sp_mchid": sp.mchid, "sub_mchid": SUB})),
        )
        .await;
    assert_no_binding(&r);
    let r = t
        .refund(
            &sp,
            &json!({"sub_mchid": SUB, "out_trade_no": n, "out_refund_no": no("r"),
                    "amount": {"refund": 1, "total": 300, "currency": "CNY"}}),
        )
        .await;
    assert_no_binding(&r);
    let r = t
        .call(
            &sp,
            "GET",
            &format!("/v3/refund/domestic/refunds/{}?sub_mchid={SUB}", no("r")),
            None,
        )
        .await;
    assert_no_binding(&r);
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_sub_appid_must_be_the_sub_merchants_and_a_sub_openid_needs_one() {
    let t = TestSim::start().await;
    let sp = t.register("1900007400", "public_key").await;
    t.bind_sub_merchant(&sp, SUB, &[SUB_APPID]).await;

    let mut body = partner_body(&sp, SUB, &no("appid"), NOTIFY);
    body["sub_appid"] = json!("wxnotthesubmerchant");
    let r = partner_order(&t, &sp, "native", &body).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "APPID_MCHID_NOT_MATCH"),
        "{:?}",
        r.json()
    );

    let mut body = partner_body(&sp, SUB, &no("openid"), NOTIFY);
    body["payer"] = json!({"sub_openid": "oSubOpenid0000000001"});
    let r = t
        .call(
            &sp,
            "POST",
            "/v3/pay/partner/transactions/jsapi",
            Some(&body),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "PARAM_ERROR"));

    body["sub_appid"] = json!(SUB_APPID);
    let r = t
        .call(
            &sp,
            "POST",
            "/v3/pay/partner/transactions/jsapi",
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    t.sim.shutdown().await.unwrap();
}

/// The decrypted resource of the next notification.
async fn next_resource(rx: &mut Receiver) -> (String, Value) {
    let got = rx.next().await;
    let env: Value = serde_json::from_str(&got.body).unwrap();
    let res = &env["resource"];
    let plain = decrypt(
        APIV3_KEY,
        res["nonce"].as_str().unwrap(),
        res["associated_data"].as_str().unwrap(),
        res["ciphertext"].as_str().unwrap(),
    );
    (
        env["event_type"].as_str().unwrap().to_owned(),
        serde_json::from_slice(&plain).unwrap(),
    )
}

#[tokio::test]
async fn partner_notifications_name_the_service_provider_and_the_sub_merchant() {
    let t = TestSim::start().await;
    let sp = t.register("1900007500", "public_key").await;
    t.bind_sub_merchant(&sp, SUB, &[SUB_APPID]).await;
    let mut rx = receiver(vec![200]).await;
    let n = no("pn");
    let mut body = partner_body(&sp, SUB, &n, &rx.url);
    body["sub_appid"] = json!(SUB_APPID);
    let r = partner_order(&t, &sp, "native", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let (s, _) = t
        .control(
            "POST",
            &format!(
                "/sim/wechat/orders/{n}/pay?mchid={}&sub_mchid={SUB}",
                sp.mchid
            ),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (event, tx) = next_resource(&mut rx).await;
    assert_eq!(event, "TRANSACTION.SUCCESS");
    assert_eq!(
        (
            tx["sp_appid"].as_str(),
            tx["sp_mchid"].as_str(),
            tx["sub_appid"].as_str(),
            tx["sub_mchid"].as_str()
        ),
        (
            Some(APPID),
            Some(sp.mchid.as_str()),
            Some(SUB_APPID),
            Some(SUB)
        )
    );
    assert!(
        tx.get("appid").is_none() && tx.get("mchid").is_none(),
        "{tx}"
    );

    let r = t
        .refund(
            &sp,
            &json!({"sub_mchid": SUB, "out_trade_no": n, "out_refund_no": format!("{n}r"),
                    "notify_url": rx.url, "amount": {"refund": 100, "total": 300, "currency": "CNY"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let (event, refund) = next_resource(&mut rx).await;
    assert_eq!(event, "REFUND.SUCCESS");
    assert_eq!(
        (refund["sp_mchid"].as_str(), refund["sub_mchid"].as_str()),
        (Some(sp.mchid.as_str()), Some(SUB))
    );
    assert!(refund.get("mchid").is_none(), "{refund}");
    let q = t
        .call(
            &sp,
            "GET",
            &format!("/v3/refund/domestic/refunds/{n}r?sub_mchid={SUB}"),
            None,
        )
        .await;
    assert_eq!(q.json()["status"], "SUCCESS");
    t.sim.shutdown().await.unwrap();
}

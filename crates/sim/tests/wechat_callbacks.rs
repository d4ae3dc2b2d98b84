//! WeChat Pay notifications: delivered encrypted and signed, retried on the (scaled) schedule,
//! dropped by fault injection, logged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use sim::callbacks::CallbackState;
use support::*;

#[tokio::test]
async fn payment_callback_decrypts_with_the_apiv3_key_and_verifies() {
    let t = TestSim::start().await;
    let m = t.register("1900000201", "public_key").await;
    let mut rx = receiver(vec![200]).await;
    let n = no("cb");
    t.native_order(&m, &n, 1234, &rx.url).await;
    t.pay(&m, &n).await;
    let got = rx.next().await;
    let serial = verify_signed(&got.headers, got.body.as_bytes(), &m.platform_public);
    assert_eq!(serial, m.public_key_id);
    let env: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(env["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(env["resource_type"], "encrypt-resource");
    let res = &env["resource"];
    assert_eq!(
        (res["original_type"].as_str(), res["algorithm"].as_str()),
        (Some("transaction"), Some("AEAD_AES_256_GCM"))
    );
    let plain = decrypt(
        APIV3_KEY,
        res["nonce"].as_str().unwrap(),
        res["associated_data"].as_str().unwrap(),
        res["ciphertext"].as_str().unwrap(),
    );
    let tx: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(tx["out_trade_no"], n.as_str());
    assert_eq!(tx["trade_state"], "SUCCESS");
    assert_eq!(tx["amount"]["total"], 1234);
    assert_eq!(tx["mchid"], m.mchid.as_str());

    let log = t
        .sim
        .ctx
        .callbacks()
        .wait_for(Duration::from_secs(5), |l| {
            l.iter()
                .any(|r| r.reference == n && r.state == CallbackState::Delivered)
        })
        .await
        .expect("logged as delivered");
    assert_eq!(
        log.iter()
            .find(|r| r.reference == n)
            .unwrap()
            .attempts
            .len(),
        1
    );
    let (status, list) = t.control("GET", "/sim/wechat/callbacks", None).await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["attempts"][0]["status"], 200);
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_on_the_scaled_schedule() {
    let t = TestSim::start().await; // time scale 0.001: 15 s → 15 ms
    let m = t.register("1900000202", "certificate").await;
    let mut rx = receiver(vec![500, 503, 204]).await;
    let n = no("retry");
    t.native_order(&m, &n, 1, &rx.url).await;
    t.pay(&m, &n).await;
    let first = rx.next().await;
    let _second = rx.next().await;
    let third = rx.next().await;
    // Every attempt is signed afresh, with the certificate serial in certificate mode.
    assert_eq!(
        verify_signed(&third.headers, third.body.as_bytes(), &m.platform_public),
        m.platform_serial_no
    );
    assert_ne!(
        first.headers.get("wechatpay-nonce"),
        third.headers.get("wechatpay-nonce")
    );
    assert_eq!(first.body, third.body, "the same notification each time");
    let log = t
        .sim
        .ctx
        .callbacks()
        .wait_for(Duration::from_secs(5), |l| {
            l.iter()
                .any(|r| r.reference == n && r.state == CallbackState::Delivered)
        })
        .await
        .expect("delivered on the third attempt");
    let rec = log.into_iter().find(|r| r.reference == n).unwrap();
    let statuses: Vec<_> = rec.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(503), Some(204)]);
    assert!(rec.attempts.iter().all(|a| !a.at.is_empty()));
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn dropped_callbacks_are_logged_not_sent() {
    let t = TestSim::start().await;
    let m = t.register("1900000203", "public_key").await;
    let mut rx = receiver(vec![200]).await;
    t.control("POST", "/sim/faults", Some(json!({"drop_callbacks": true})))
        .await;
    let n = no("drop");
    t.native_order(&m, &n, 1, &rx.url).await;
    t.pay(&m, &n).await;
    let (_, list) = t.control("GET", "/sim/wechat/callbacks", None).await;
    assert_eq!(list[0]["state"], "dropped");
    assert_eq!(list[0]["attempts"].as_array().unwrap().len(), 0);
    // The next callback, with faults off, arrives: the receiver sees only that one.
    t.control("DELETE", "/sim/faults", None).await;
    let n2 = no("nodrop");
    t.native_order(&m, &n2, 1, &rx.url).await;
    t.pay(&m, &n2).await;
    let got = rx.next().await;
    let env: Value = serde_json::from_str(&got.body).unwrap();
    let res = &env["resource"];
    let plain = decrypt(
        APIV3_KEY,
        res["nonce"].as_str().unwrap(),
        "transaction",
        res["ciphertext"].as_str().unwrap(),
    );
    assert!(String::from_utf8(plain).unwrap().contains(&n2));
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn refund_callbacks_report_success_and_abnormal() {
    let t = TestSim::start().await;
    let mut rx = receiver(vec![200]).await;
    // auto_refund off: the test decides each refund's outcome.
    let key = channel_core::RsaPrivateKey::generate().unwrap();
    let body = json!({
        "mchid": "1900000204", "serial_no": "S204", "merchant_public_key_pem": key.public_key().unwrap().to_pem(),
        "apiv3_key": APIV3_KEY, "appids": [APPID], "auto_refund": false,
    });
    let (status, reg) = t.control("POST", "/sim/wechat/merchants", Some(body)).await;
    assert_eq!(status, 200);
    let m = Merchant {
        mchid: "1900000204".into(),
        serial_no: "S204".into(),
        key: std::sync::Arc::new(key),
        platform_public: channel_core::RsaPublicKey::from_pem(
            reg["public_key_pem"].as_str().unwrap(),
        )
        .unwrap(),
        public_key_id: reg["public_key_id"].as_str().unwrap().into(),
        platform_serial_no: reg["platform_serial_no"].as_str().unwrap().into(),
        registration: reg,
    };
    let n = no("rcb");
    t.native_order(&m, &n, 100, "https://unused.example.com/n")
        .await;
    t.pay(&m, &n).await;
    for (out_refund_no, outcome, event) in [
        ("rf-ok", "success", "REFUND.SUCCESS"),
        ("rf-bad", "abnormal", "REFUND.ABNORMAL"),
    ] {
        let req = json!({"out_trade_no": n, "out_refund_no": out_refund_no, "notify_url": rx.url, "amount": {"refund": 10, "total": 100, "currency": "CNY"}});
        assert_eq!(
            t.call(&m, "POST", "/v3/refund/domestic/refunds", Some(&req))
                .await
                .status,
            200
        );
        let (s, v) = t
            .control(
                "POST",
                &format!(
                    "/sim/wechat/refunds/{out_refund_no}/{outcome}?mchid={}",
                    m.mchid
                ),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let got = rx.next().await;
        verify_signed(&got.headers, got.body.as_bytes(), &m.platform_public);
        let env: Value = serde_json::from_str(&got.body).unwrap();
        assert_eq!(env["event_type"], event);
        let res = &env["resource"];
        assert_eq!(res["original_type"], "refund");
        let plain = decrypt(
            APIV3_KEY,
            res["nonce"].as_str().unwrap(),
            "refund",
            res["ciphertext"].as_str().unwrap(),
        );
        let refund: Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(refund["out_refund_no"], out_refund_no);
        assert_eq!(refund["amount"]["refund"], 10);
    }
    t.sim.shutdown().await.unwrap();
}

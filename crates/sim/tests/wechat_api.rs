//! WeChat Pay v3 simulator: signatures, orders, refunds, bills, field rules, faults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Read;

use base64::Engine;
use channel_core::RsaPrivateKey;
use channel_core::rsa::Certificate;
use serde_json::json;
use sha1::Digest;
use support::*;

const NOTIFY: &str = "https://merchant.example.com/notify";

#[tokio::test]
async fn request_signatures_are_checked_and_pairs_may_come_in_any_order() {
    let t = TestSim::start().await;
    let m = t.register("1900000101", "public_key").await;
    let body = order_body(&m, &no("sig"), 100, NOTIFY);

    let good = t
        .call(&m, "POST", "/v3/pay/transactions/native", Some(&body))
        .await;
    assert_eq!(good.status, 200, "{:?}", good.json());
    assert!(
        good.json()["code_url"]
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl?pr=")
    );

    let reordered = ["signature", "serial_no", "timestamp", "mchid", "nonce_str"];
    let other = order_body(&m, &no("sig"), 100, NOTIFY);
    let r = t
        .call_with(
            &m,
            "POST",
            "/v3/pay/transactions/native",
            Some(&other),
            &reordered,
            false,
        )
        .await;
    assert_eq!(r.status, 200);

    let bad = t
        .call_with(
            &m,
            "POST",
            "/v3/pay/transactions/native",
            Some(&body),
            &USUAL_ORDER,
            true,
        )
        .await;
    assert_eq!((bad.status, bad.code().as_str()), (401, "SIGN_ERROR"));

    // Someone else's key under this mchid.
    let mut impostor = m.clone();
    impostor.key = std::sync::Arc::new(RsaPrivateKey::generate().unwrap());
    let r = t
        .call(
            &impostor,
            "GET",
            &format!(
                "/v3/pay/transactions/out-trade-no/x123456?mchid={}",
                m.mchid
            ),
            None,
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (401, "SIGN_ERROR"));

    // The query string is part of what is signed.
    let no_auth = t.http.get(t.url("/v3/certificates")).send().await.unwrap();
    assert_eq!(no_auth.status(), 401);
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn responses_verify_with_the_public_key_or_the_certificate() {
    let t = TestSim::start().await;
    let pk = t.register("1900000102", "public_key").await;
    let r = t.native_order(&pk, &no("pk"), 1, NOTIFY).await;
    let serial = verify_signed(&r.headers, &r.bytes, &pk.platform_public);
    assert_eq!(serial, pk.public_key_id);
    assert!(serial.starts_with("PUB_KEY_ID_01"));
    let certs = t.call(&pk, "GET", "/v3/certificates", None).await;
    assert_eq!(
        (certs.status, certs.code().as_str()),
        (404, "RESOURCE_NOT_EXISTS")
    );
    verify_signed(&certs.headers, &certs.bytes, &pk.platform_public);

    let cm = t.register("1900000103", "certificate").await;
    let certs = t.call(&cm, "GET", "/v3/certificates", None).await;
    assert_eq!(certs.status, 200);
    let serial = verify_signed(&certs.headers, &certs.bytes, &cm.platform_public);
    assert_eq!(serial, cm.platform_serial_no);
    let entry = &certs.json()["data"][0];
    let enc = &entry["encrypt_certificate"];
    assert_eq!(enc["associated_data"], "certificate");
    let pem = decrypt(
        APIV3_KEY,
        enc["nonce"].as_str().unwrap(),
        "certificate",
        enc["ciphertext"].as_str().unwrap(),
    );
    let cert = Certificate::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
    assert_eq!(cert.serial_no, cm.platform_serial_no);
    assert_eq!(entry["serial_no"], cm.platform_serial_no.as_str());
    let r = t.native_order(&cm, &no("cm"), 1, NOTIFY).await;
    assert_eq!(
        verify_signed(&r.headers, &r.bytes, &cert.public_key),
        cm.platform_serial_no
    );
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn order_pay_query_and_every_trade_type() {
    let t = TestSim::start().await;
    let m = t.register("1900000104", "public_key").await;
    let n = no("pay");
    assert_eq!(t.native_order(&m, &n, 990, NOTIFY).await.status, 200);
    let q = t.query_order(&m, &n).await;
    assert_eq!(q.json()["trade_state"], "NOTPAY");
    t.pay(&m, &n).await;
    let q = t.query_order(&m, &n).await;
    verify_signed(&q.headers, &q.bytes, &m.platform_public);
    let v = q.json();
    assert_eq!(v["trade_state"], "SUCCESS");
    assert_eq!(v["amount"]["payer_total"], 990);
    let tid = v["transaction_id"].as_str().unwrap().to_owned();
    assert!(tid.starts_with("42000") && tid.len() == 28, "{tid}");
    let by_id = t
        .call(
            &m,
            "GET",
            &format!("/v3/pay/transactions/id/{tid}?mchid={}", m.mchid),
            None,
        )
        .await;
    assert_eq!(by_id.json()["out_trade_no"], n.as_str());

    let mut jsapi = order_body(&m, &no("js"), 1, NOTIFY);
    let r = t
        .call(&m, "POST", "/v3/pay/transactions/jsapi", Some(&jsapi))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "PARAM_ERROR"),
        "jsapi needs payer.openid"
    );
    jsapi["payer"] = json!({"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"});
    let r = t
        .call(&m, "POST", "/v3/pay/transactions/jsapi", Some(&jsapi))
        .await;
    assert!(r.json()["prepay_id"].as_str().unwrap().starts_with("wx"));
    let app = order_body(&m, &no("app"), 1, NOTIFY);
    let r = t
        .call(&m, "POST", "/v3/pay/transactions/app", Some(&app))
        .await;
    assert!(r.json()["prepay_id"].as_str().unwrap().starts_with("wx"));
    let mut h5 = order_body(&m, &no("h5"), 1, NOTIFY);
    h5["scene_info"] = json!({"payer_client_ip": "14.23.150.211", "h5_info": {"type": "Wap"}});
    let r = t
        .call(&m, "POST", "/v3/pay/transactions/h5", Some(&h5))
        .await;
    assert!(
        r.json()["h5_url"]
            .as_str()
            .unwrap()
            .starts_with(&t.sim.base_url)
    );
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn reused_out_trade_no_close_unknown_and_field_rules() {
    let t = TestSim::start().await;
    let m = t.register("1900000105", "public_key").await;
    let n = no("reuse");
    let first = t.native_order(&m, &n, 100, NOTIFY).await;
    let again = t.native_order(&m, &n, 100, NOTIFY).await;
    assert_eq!(first.json(), again.json(), "same content, same answer");
    let other = t.native_order(&m, &n, 200, NOTIFY).await;
    assert_eq!(
        (other.status, other.code().as_str()),
        (403, "OUT_TRADE_NO_USED")
    );

    t.pay(&m, &n).await;
    let r = t.close_order(&m, &n).await;
    assert_eq!((r.status, r.code().as_str()), (400, "ORDERPAID"));

    let open = no("close");
    t.native_order(&m, &open, 100, NOTIFY).await;
    let r = t.close_order(&m, &open).await;
    assert_eq!(r.status, 204);
    assert!(r.bytes.is_empty());
    verify_signed(&r.headers, &r.bytes, &m.platform_public);
    let q = t.query_order(&m, &open).await;
    assert_eq!(q.json()["trade_state"], "CLOSED");
    let (status, _) = t
        .control(
            "POST",
            &format!("/sim/wechat/orders/{open}/pay?mchid={}", m.mchid),
            None,
        )
        .await;
    assert_eq!(status, 409, "a closed order cannot be paid");

    let r = t.query_order(&m, "nosuch123").await;
    assert_eq!((r.status, r.code().as_str()), (404, "ORDER_NOT_EXIST"));
    let r = t.close_order(&m, "nosuch123").await;
    assert_eq!((r.status, r.code().as_str()), (404, "ORDER_NOT_EXIST"));

    let cases = [
        ("description", json!("x".repeat(128))),
        ("out_trade_no", json!("12345")),
        ("out_trade_no", json!("has space!")),
        ("amount", json!({"total": 0})),
        ("amount", json!({"total": 1, "currency": "USD"})),
        ("time_expire", json!("2018-06-08 10:34:56")),
        ("notify_url", json!("ftp://x.example.com/n")),
    ];
    for (field, value) in cases {
        let mut body = order_body(&m, &no("rule"), 1, NOTIFY);
        body[field] = value;
        let r = t
            .call(&m, "POST", "/v3/pay/transactions/native", Some(&body))
            .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "PARAM_ERROR"),
            "{field}"
        );
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains(field.split('.').next().unwrap()),
            "{field}: {:?}",
            r.json()
        );
    }
    let mut body = order_body(&m, &no("appid"), 1, NOTIFY);
    body["appid"] = json!("wx0000000000000000");
    let r = t
        .call(&m, "POST", "/v3/pay/transactions/native", Some(&body))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "APPID_MCHID_NOT_MATCH")
    );
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn refunds_never_exceed_what_was_paid() {
    let t = TestSim::start().await;
    let m = t.register("1900000106", "public_key").await;
    let n = no("refund");
    t.native_order(&m, &n, 1000, NOTIFY).await;
    let refund = |no_r: &str, amount: i64| json!({"out_trade_no": n, "out_refund_no": no_r, "amount": {"refund": amount, "total": 1000, "currency": "CNY"}});
    let r = t.refund(&m, &refund("r-unpaid", 100)).await;
    assert_eq!(r.status, 400, "unpaid orders cannot be refunded");
    t.pay(&m, &n).await;
    let r = t.refund(&m, &refund("r-1", 600)).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(r.json()["status"], "PROCESSING");
    verify_signed(&r.headers, &r.bytes, &m.platform_public);
    let r = t.refund(&m, &refund("r-2", 401)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "PARAM_ERROR"),
        "600 + 401 > 1000"
    );
    let r = t.refund(&m, &refund("r-2", 400)).await;
    assert_eq!(r.status, 200);
    let r = t.refund(&m, &refund("r-3", 1)).await;
    assert_eq!(r.status, 400, "fully refunded");
    // Refunds succeed on their own shortly (2 s × time scale).
    let mut status = String::new();
    for _ in 0..100 {
        let q = t
            .call(&m, "GET", "/v3/refund/domestic/refunds/r-1", None)
            .await;
        status = q.json()["status"].as_str().unwrap_or_default().to_owned();
        if status == "SUCCESS" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "SUCCESS");
    let q = t
        .call(&m, "GET", "/v3/refund/domestic/refunds/nope", None)
        .await;
    assert_eq!((q.status, q.code().as_str()), (404, "RESOURCE_NOT_EXISTS"));
    let q = t.query_order(&m, &n).await;
    assert_eq!(q.json()["trade_state"], "REFUND");
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn orders_expire_at_time_expire() {
    let t = TestSim::start().await;
    let m = t.register("1900000107", "public_key").await;
    let n = no("exp");
    let mut body = order_body(&m, &n, 1, NOTIFY);
    let expire = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    body["time_expire"] = json!(
        expire
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    assert_eq!(
        t.call(&m, "POST", "/v3/pay/transactions/native", Some(&body))
            .await
            .status,
        200
    );
    let path = format!("/v3/pay/transactions/out-trade-no/{n}?mchid={}", m.mchid);
    assert_eq!(
        t.call(&m, "GET", &path, None).await.json()["trade_state"],
        "NOTPAY"
    );
    let mut state = String::new();
    for _ in 0..60 {
        state = t.call(&m, "GET", &path, None).await.json()["trade_state"]
            .as_str()
            .unwrap()
            .to_owned();
        if state == "CLOSED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state, "CLOSED");
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn trade_bill_hash_matches_the_gzip_download() {
    let t = TestSim::start().await;
    let m = t.register("1900000108", "public_key").await;
    let n = no("bill");
    t.native_order(&m, &n, 2990, NOTIFY).await;
    t.pay(&m, &n).await;
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap())
        .date();
    let path = format!("/v3/bill/tradebill?bill_date={today}&bill_type=ALL&tar_type=GZIP");
    let r = t.call(&m, "GET", &path, None).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    verify_signed(&r.headers, &r.bytes, &m.platform_public);
    let v = r.json();
    assert_eq!(v["hash_type"], "SHA1");
    let url = v["download_url"].as_str().unwrap();
    assert!(url.starts_with(&t.sim.base_url));
    let path = &url[t.sim.base_url.len()..];
    let file = t.call(&m, "GET", path, None).await;
    assert_eq!(file.status, 200);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&file.bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(
        hex::encode(sha1::Sha1::digest(text.as_bytes())),
        v["hash_value"].as_str().unwrap()
    );
    assert!(text.contains(&n) && text.contains("`29.90"), "{text}");

    let r = t
        .call(
            &m,
            "GET",
            &format!("/v3/bill/fundflowbill?bill_date={today}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let r = t
        .call(&m, "GET", "/v3/bill/tradebill?bill_date=2001-01-01", None)
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "NO_STATEMENT_EXIST"));
    let r = t
        .call(&m, "GET", "/v3/bill/tradebill?bill_date=20010101", None)
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "PARAM_ERROR"));
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn partner_orders_live_under_the_sub_merchant() {
    let t = TestSim::start().await;
    let sp = t.register("1900000109", "public_key").await;
    t.bind_sub_merchant(&sp, "1900000999", &[]).await;
    t.bind_sub_merchant(&sp, "1900000998", &[]).await;
    let n = no("sp");
    let body = json!({
        "sp_appid": APPID, "sp_mchid": sp.mchid, "sub_mchid": "1900000999", "description": "d",
        "out_trade_no": n, "notify_url": NOTIFY, "amount": {"total": 5},
        "payer": {"sp_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    });
    let r = t
        .call(
            &sp,
            "POST",
            "/v3/pay/partner/transactions/jsapi",
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let (status, _) = t
        .control(
            "POST",
            &format!(
                "/sim/wechat/orders/{n}/pay?mchid={}&sub_mchid=1900000999",
                sp.mchid
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let q = t
        .call(
            &sp,
            "GET",
            &format!(
                "/v3/pay/partner/transactions/out-trade-no/{n}?sp_mchid={}&sub_mchid=1900000999",
                sp.mchid
            ),
            None,
        )
        .await;
    let v = q.json();
    assert_eq!(
        (v["trade_state"].as_str(), v["sub_mchid"].as_str()),
        (Some("SUCCESS"), Some("1900000999"))
    );
    assert_eq!(v["payer"]["sp_openid"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    let q = t
        .call(
            &sp,
            "GET",
            &format!(
                "/v3/pay/partner/transactions/out-trade-no/{n}?sp_mchid={}&sub_mchid=1900000998",
                sp.mchid
            ),
            None,
        )
        .await;
    assert_eq!(q.status, 404, "another sub-merchant's order");
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn injected_api_errors_are_signed_system_errors() {
    let t = TestSim::start().await;
    let m = t.register("1900000110", "public_key").await;
    let (s, v) = t
        .control("POST", "/sim/faults", Some(json!({"api_error_rate": 1.0})))
        .await;
    assert_eq!((s, v["api_error_rate"].as_f64()), (200, Some(1.0)));
    let r = t.native_order(&m, &no("fault"), 1, NOTIFY).await;
    assert_eq!((r.status, r.code().as_str()), (500, "SYSTEM_ERROR"));
    verify_signed(&r.headers, &r.bytes, &m.platform_public);
    t.control(
        "POST",
        "/sim/faults",
        Some(json!({"api_error_rate": 0.0, "api_rate_limit_rate": 1.0})),
    )
    .await;
    let r = t.native_order(&m, &no("fault"), 1, NOTIFY).await;
    assert_eq!((r.status, r.code().as_str()), (429, "FREQUENCY_LIMITED"));
    t.control("DELETE", "/sim/faults", None).await;
    assert_eq!(
        t.native_order(&m, &no("fault"), 1, NOTIFY).await.status,
        200
    );
    let _ = base64::engine::general_purpose::STANDARD.encode(b"");
    t.sim.shutdown().await.unwrap();
}

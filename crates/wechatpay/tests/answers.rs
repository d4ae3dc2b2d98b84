//! The client against a hand-written WeChat Pay stand-in that answers each out_trade_no with one
//! kind of fault: every fault must surface as its own error variant.

// The stand-in's helpers are test code outside #[test] functions; a panic is the right failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use channel_core::{RsaPrivateKey, RsaPublicKey};
use wechatpay::{
    ApiV3Key, Client, Config, Error, SignatureFailure, TradeRef, TradeState, Verification,
    WechatpayPublicKey,
};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const MCHID: &str = "1900000001";

struct Stand {
    platform: RsaPrivateKey,
    merchant_public: RsaPublicKey,
}

fn transaction(no: &str, state: &str) -> String {
    serde_json::json!({"appid":"wxd678efh567hg6787","mchid":MCHID,"out_trade_no":no,"trade_state":state,
        "trade_state_desc":"","amount":{"total":100,"currency":"CNY"}})
    .to_string()
}

fn signed(platform: &RsaPrivateKey, ts: i64, signed_body: &str, sent_body: String) -> Response {
    let nonce = "n0nce";
    let signature = platform.sign_base64(format!("{ts}\n{nonce}\n{signed_body}\n").as_bytes());
    (
        [
            ("Wechatpay-Timestamp", ts.to_string()),
            ("Wechatpay-Nonce", nonce.to_owned()),
            ("Wechatpay-Serial", KEY_ID.to_owned()),
            (
                "Wechatpay-Signature-Type",
                "WECHATPAY2-SHA256-RSA2048".to_owned(),
            ),
            ("Wechatpay-Signature", signature),
            ("Content-Type", "application/json".to_owned()),
        ],
        sent_body,
    )
        .into_response()
}

/// Checks the request's signature like WeChat Pay, so that every "good" answer also proves signing.
fn request_is_signed(stand: &Stand, uri: &str, headers: &HeaderMap) -> bool {
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(params) = auth.strip_prefix("WECHATPAY2-SHA256-RSA2048 ") else {
        return false;
    };
    let get = |k: &str| {
        params
            .split(',')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=\"")))
            .map(|v| v.trim_end_matches('"').to_owned())
            .unwrap_or_default()
    };
    let message = format!("GET\n{uri}\n{}\n{}\n\n", get("timestamp"), get("nonce_str"));
    get("mchid") == MCHID
        && headers
            .get("wechatpay-serial")
            .and_then(|v| v.to_str().ok())
            == Some(KEY_ID)
        && stand
            .merchant_public
            .verify_base64(message.as_bytes(), &get("signature"))
            .is_ok()
}

async fn answer(
    State(stand): State<Arc<Stand>>,
    Path(no): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    if !request_is_signed(
        &stand,
        uri.path_and_query().map_or("", |p| p.as_str()),
        &headers,
    ) {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"code":"SIGN_ERROR","message":"签名错误"}"#,
        )
            .into_response();
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let p = &stand.platform;
    let body = transaction(&no, "NOTPAY");
    match no.as_str() {
        "tampered_body" => signed(p, now, &body, transaction(&no, "SUCCESS")),
        "tampered_signature" => signed(p, now, &transaction(&no, "CLOSED"), body),
        "stale" => signed(p, now - 301, &body, body.clone()),
        "unsigned" => (StatusCode::OK, body).into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            signed(p, now, &body, body.clone())
        }
        "refused" => (
            StatusCode::NOT_FOUND,
            r#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#,
        )
            .into_response(),
        "proxy_error" => (StatusCode::BAD_GATEWAY, "<html>bad gateway</html>").into_response(),
        "new_state" => {
            let b = transaction(&no, "PARTIALLY_PAID");
            signed(p, now, &b, b.clone())
        }
        _ => signed(p, now, &body, body.clone()),
    }
}

async fn setup() -> Client {
    let platform = RsaPrivateKey::generate().unwrap();
    let merchant = RsaPrivateKey::generate().unwrap();
    let platform_pem = platform.public_key().unwrap().to_pem();
    let stand = Arc::new(Stand {
        platform,
        merchant_public: merchant.public_key().unwrap(),
    });
    let app = axum::Router::new()
        .route("/v3/pay/transactions/out-trade-no/{no}", get(answer))
        .with_state(stand);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let verification =
        Verification::public_key(WechatpayPublicKey::from_pem(KEY_ID, &platform_pem).unwrap());
    let config = Config::new(
        MCHID,
        "3775B6A45ACD588826D15E583A95F5DD",
        merchant,
        ApiV3Key::new("0123456789abcdef0123456789abcdef").unwrap(),
        verification,
    )
    .unwrap()
    .with_base_url(&format!("http://{addr}"))
    .unwrap()
    .with_timeouts(Duration::from_millis(500), Duration::from_millis(500));
    Client::new(config).unwrap()
}

#[tokio::test]
async fn a_genuine_answer_is_verified_and_decoded() {
    let client = setup().await;
    let t = client
        .query_order(&TradeRef::OutTradeNo("order_0001".into()))
        .await
        .unwrap();
    assert_eq!(t.trade_state, TradeState::Notpay);
    assert_eq!(t.out_trade_no, "order_0001");
}

#[tokio::test]
async fn each_fault_is_its_own_error() {
    let client = setup().await;
    let q = |no: &'static str| {
        let client = client.clone();
        async move {
            client
                .query_order(&TradeRef::OutTradeNo(no.into()))
                .await
                .unwrap_err()
        }
    };
    let e = q("tampered_body").await;
    assert!(
        matches!(e, Error::Signature(SignatureFailure::BadSignature)),
        "{e:?}"
    );
    let e = q("tampered_signature").await;
    assert!(
        matches!(e, Error::Signature(SignatureFailure::BadSignature)),
        "{e:?}"
    );
    let e = q("stale").await;
    assert!(
        matches!(e, Error::Signature(SignatureFailure::StaleTimestamp { .. })),
        "{e:?}"
    );
    let e = q("unsigned").await;
    assert!(
        matches!(e, Error::Signature(SignatureFailure::MissingHeader(_))),
        "{e:?}"
    );
    let e = q("new_state").await;
    assert!(matches!(e, Error::Decode(_)), "{e:?}");

    let e = q("refused").await;
    assert!(
        matches!(&e, Error::Upstream { status: 404, code, .. } if code == "ORDER_NOT_EXIST"),
        "{e:?}"
    );
    assert!(!e.is_outcome_unknown());
    let e = q("proxy_error").await;
    assert!(
        matches!(&e, Error::Upstream { status: 502, code, .. } if code.is_empty()),
        "{e:?}"
    );
    assert!(e.is_outcome_unknown());

    let e = q("slow").await;
    assert!(
        matches!(e, Error::Transport(channel_core::TransportError::Timeout)),
        "{e:?}"
    );
    assert!(e.is_outcome_unknown());
}

#[tokio::test]
async fn nothing_listening_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let key = RsaPrivateKey::generate().unwrap();
    let pk = WechatpayPublicKey::from_pem(KEY_ID, &key.public_key().unwrap().to_pem()).unwrap();
    let config = Config::new(
        MCHID,
        "S",
        key,
        ApiV3Key::new("0123456789abcdef0123456789abcdef").unwrap(),
        Verification::public_key(pk),
    )
    .unwrap()
    .with_base_url(&format!("http://{addr}"))
    .unwrap();
    let e = Client::new(config)
        .unwrap()
        .query_order(&TradeRef::OutTradeNo("order_0001".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(e.is_outcome_unknown());
}

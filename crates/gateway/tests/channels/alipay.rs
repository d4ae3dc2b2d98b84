//! Alipay: QR, JSAPI, mini-program, WAP, page, App.

use alipay::sign::{SignTypeIn, sign_content};
use alipay::{Fen as AlipayFen, RefundRequest, TradeRef};
use gateway::channels::{PayParams, UpstreamStatus};
use gateway::domain::{Order, UpstreamFields};

use crate::support::{
    AMOUNT_FEN, ATTACH, BUYER_OPEN_ID, BUYER_USER_ID, Env, closes, env, pays_through_the_simulator,
};

async fn refuses_to_close_once_paid(env: &Env, order: &Order) {
    let err = env.channels.close(order).await.unwrap_err();
    assert_eq!(err.upstream_code(), Some("ACQ.TRADE_STATUS_ERROR"), "{err}");
}

/// The browser (or app) brings the signed request to the gateway: the simulator verifies the
/// signature and shows its cashier page, opening the trade.
async fn gateway_accepts(env: &Env, url: &str) {
    let r = env.http.get(url).send().await.unwrap();
    assert!(r.status().is_success());
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    let body = r.text().await.unwrap();
    assert!(
        content_type.starts_with("text/html"),
        "{content_type}: {body}"
    );
    assert!(body.contains("VIP月卡"), "{body}");
}

/// A URL whose signed content was changed is refused by the gateway (a JSON error, no page).
async fn gateway_refuses(env: &Env, url: &str) {
    let body = env
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("\"sub_code\":\"isv.invalid-signature\""),
        "{body}"
    );
    assert!(!body.contains("<html"), "{body}");
}

#[tokio::test]
async fn qr_gives_a_qr_code_that_pays() {
    let env = env().await;
    let order = env.pending("alipay.qr").await;
    let qr_code = order.upstream.qr_code.clone().unwrap();
    assert!(qr_code.starts_with(&env.sim.base_url), "{qr_code}");
    assert_eq!(
        serde_json::to_value(env.channels.pay_params(&order).unwrap()).unwrap(),
        serde_json::json!({"type": "alipay_qr", "qr_code": qr_code})
    );
    // passback_params reaches Alipay URL-encoded, as Alipay requires.
    let trade = env.alipay_trade(&order).await;
    let encoded: String = url::form_urlencoded::byte_serialize(ATTACH.as_bytes()).collect();
    assert_eq!(trade["passback_params"], encoded.as_str());
    assert_eq!(trade["subject"], "VIP月卡");
    pays_through_the_simulator(&env, &order).await;
    refuses_to_close_once_paid(&env, &order).await;
}

#[tokio::test]
async fn jsapi_with_a_2088_user_id_gives_a_trade_no() {
    let env = env().await;
    let order = env.pending("alipay.jsapi").await;
    let trade_no = order.upstream.trade_no.clone().unwrap();
    assert_eq!(
        env.channels.pay_params(&order).unwrap(),
        PayParams::AlipayJsapi {
            trade_no: trade_no.clone()
        }
    );
    let trade = env.alipay_trade(&order).await;
    assert_eq!(trade["buyer_id"], BUYER_USER_ID);
    assert_eq!(trade["trade_no"], trade_no.as_str());
    closes(&env, &order).await;
}

#[tokio::test]
async fn miniapp_with_an_open_id_gives_a_trade_no_that_pays() {
    let env = env().await;
    let order = env.pending("alipay.miniapp").await;
    let trade_no = order.upstream.trade_no.clone().unwrap();
    assert_eq!(
        serde_json::to_value(env.channels.pay_params(&order).unwrap()).unwrap(),
        serde_json::json!({"type": "alipay_miniapp", "trade_no": trade_no})
    );
    assert_eq!(
        env.alipay_trade(&order).await["buyer_open_id"],
        BUYER_OPEN_ID
    );
    let paid_as = pays_through_the_simulator(&env, &order).await;
    assert_eq!(paid_as, trade_no);
    refuses_to_close_once_paid(&env, &order).await;
}

#[tokio::test]
async fn wap_url_is_accepted_by_the_gateway_and_pays() {
    let env = env().await;
    let order = env.pending("alipay.wap").await;
    assert_eq!(order.upstream, UpstreamFields::default());
    // Alipay has no trade until the payer's browser brings the request.
    assert_eq!(
        env.channels.query(&order).await.unwrap(),
        UpstreamStatus::NotFound
    );
    let PayParams::AlipayWap { url } = env.channels.pay_params(&order).unwrap() else {
        panic!("not WAP params");
    };
    assert!(url.contains("method=alipay.trade.wap.pay"), "{url}");
    gateway_refuses(&env, &url.replace("29.90", "0.01")).await;
    gateway_accepts(&env, &url).await;
    // A second signed URL for the same order opens the same trade.
    let PayParams::AlipayWap { url: again } = env.channels.pay_params(&order).unwrap() else {
        panic!("not WAP params");
    };
    gateway_accepts(&env, &again).await;
    assert_eq!(env.sim_orders().1, 1);
    pays_through_the_simulator(&env, &order).await;
}

#[tokio::test]
async fn page_url_is_accepted_by_the_gateway_and_closes() {
    let env = env().await;
    let order = env.pending("alipay.page").await;
    let PayParams::AlipayPage { url } = env.channels.pay_params(&order).unwrap() else {
        panic!("not page params");
    };
    assert!(url.contains("method=alipay.trade.page.pay"), "{url}");
    // Never opened: nothing to close at Alipay yet, and the not-found is reported as such.
    let err = env.channels.close(&order).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    gateway_accepts(&env, &url).await;
    closes(&env, &order).await;
}

#[tokio::test]
async fn app_order_string_is_signed_with_the_app_key_and_pays() {
    let env = env().await;
    let order = env.pending("alipay.app").await;
    let PayParams::AlipayApp { order_string } = env.channels.pay_params(&order).unwrap() else {
        panic!("not App params");
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(order_string.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("method"), "alipay.trade.app.pay");
    assert_eq!(get("app_id"), env.keys.alipay_app_id);
    assert_eq!(get("notify_url"), env.alipay.notify_url);
    let content = sign_content(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignTypeIn::Included,
    );
    env.alipay_app_public_key()
        .verify_base64(content.as_bytes(), &get("sign"))
        .unwrap();
    gateway_accepts(
        &env,
        &format!("{}/gateway.do?{order_string}", env.sim.base_url),
    )
    .await;
    pays_through_the_simulator(&env, &order).await;
}

/// Crash recovery: the first answer is lost, the order is read back and created again; Alipay
/// answers the repeat with the same trade.
#[tokio::test]
async fn a_retried_create_gets_the_same_trade_and_no_second_one() {
    let env = env().await;
    for method in ["alipay.qr", "alipay.jsapi", "alipay.miniapp"] {
        let order = env.order(method).await;
        let first = env.channels.create(&order).await.unwrap();
        let second = env
            .channels
            .create(&env.reload(&order).await)
            .await
            .unwrap();
        assert_eq!(first, second, "{method}");
        assert!(first.qr_code.is_some() || first.trade_no.is_some());
    }
    assert_eq!(
        env.sim_orders().1,
        3,
        "one simulator trade per paygate order"
    );
}

/// Alipay reports a fully refunded trade as TRADE_CLOSED; paygate reads it as Refunded.
#[tokio::test]
async fn a_fully_refunded_trade_is_refunded_not_closed() {
    let env = env().await;
    let order = env.pending("alipay.qr").await;
    env.pay(&order).await;
    env.alipay
        .client
        .refund(&RefundRequest {
            trade: TradeRef::OutTradeNo(order.upstream_order_no.as_str().to_owned()),
            out_request_no: "r1".into(),
            refund_amount: AlipayFen(AMOUNT_FEN),
            refund_reason: None,
        })
        .await
        .unwrap();
    assert_eq!(
        env.alipay_trade(&order).await["trade_status"],
        "TRADE_CLOSED"
    );
    assert_eq!(
        env.channels.query(&order).await.unwrap(),
        UpstreamStatus::Refunded
    );
    refuses_to_close_once_paid(&env, &order).await;
}

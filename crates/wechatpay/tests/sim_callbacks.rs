//! Notifications sent by the simulator to a receiver in the test, verified and decrypted by the client.

// The shared scenario below is test code outside a #[test] function; a panic is the right failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Mode, TestSim, out, receiver};
use wechatpay::{
    CombineAmount, CombineNewOrder, CombineSubOrder, NewRefund, NotificationEvent, OrderAmount,
    PartnerNewOrder, PartnerTransactionMerchant, RefundRequestAmount, TradeRef, TradeState,
    Verification,
};

async fn paid_order_is_notified(mode: Mode) {
    let t = TestSim::start().await;
    let m = t.register(mode).await;
    let mut rx = receiver(m.client.clone()).await;
    let mut order = m.order("notify_0001", 4321, &rx.url);
    order.attach = Some("cart=42".into());
    m.client
        .create_jsapi_order(&order, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        .await
        .unwrap();
    t.pay(&m.mchid, "notify_0001", None).await;

    let n = rx.next().await.unwrap();
    assert_eq!(n.event_type, "TRANSACTION.SUCCESS");
    assert_eq!(n.resource_type, "encrypt-resource");
    assert_eq!(n.original_type.as_deref(), Some("transaction"));
    let NotificationEvent::TransactionSuccess(tx) = n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(tx.out_trade_no, "notify_0001");
    assert_eq!(tx.merchant.mchid, m.mchid);
    assert_eq!(tx.trade_state, TradeState::Success);
    assert_eq!(tx.amount.as_ref().unwrap().total, 4321);
    assert_eq!(tx.attach.as_deref(), Some("cart=42"));
    assert_eq!(
        tx.payer.as_ref().unwrap().openid,
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    );
    // The notification and the query agree.
    assert_eq!(m.client.query_order(&out("notify_0001")).await.unwrap(), tx);
}

#[tokio::test]
async fn payment_notification_in_public_key_mode() {
    paid_order_is_notified(Mode::PublicKey).await;
}

#[tokio::test]
async fn payment_notification_in_certificate_mode() {
    // The receiver's client has no certificate yet: the notification's serial makes it download one.
    paid_order_is_notified(Mode::Certificate).await;
}

#[tokio::test]
async fn a_receiver_with_the_wrong_apiv3_key_refuses_and_wechat_retries() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let wrong = m.client_with(
        "0000000000000000WrongAPIv3Key000",
        Verification::public_key(common::public_key_of(&m.registration)),
    );
    let mut rx = receiver(wrong).await;
    m.client
        .create_native_order(&m.order("notify_0002", 100, &rx.url))
        .await
        .unwrap();
    t.pay(&m.mchid, "notify_0002", None).await;
    let first = rx.next().await.unwrap_err();
    assert!(first.contains("Decrypt"), "{first}");
    // Refused with 400, so the simulator tries again on WeChat's (scaled) schedule.
    let second = rx.next().await.unwrap_err();
    assert!(second.contains("Decrypt"), "{second}");
    let log = t.callback_log().await;
    let record = log
        .iter()
        .find(|r| r["reference"] == "notify_0002")
        .unwrap();
    assert!(
        record["attempts"].as_array().unwrap().len() >= 2,
        "{record}"
    );
    assert_eq!(record["attempts"][0]["status"], 400);
}

#[tokio::test]
async fn partner_payment_notification() {
    let t = TestSim::start().await;
    let sp = t.register(Mode::PublicKey).await;
    t.bind_sub_merchant(&sp.mchid, "1900000109", &["wxsubappid00000001"])
        .await;
    let mut rx = receiver(sp.client.clone()).await;
    let mut order = PartnerNewOrder::new(
        &sp.appid,
        "1900000109",
        "goods",
        "pnotify_0001",
        &rx.url,
        OrderAmount::cny(77),
    );
    order.merchant.sub_appid = Some("wxsubappid00000001".into());
    sp.client.create_partner_native_order(&order).await.unwrap();
    t.pay(&sp.mchid, "pnotify_0001", Some("1900000109")).await;
    let n = rx.next().await.unwrap();
    let NotificationEvent::PartnerTransactionSuccess(tx) = n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(
        tx.merchant,
        PartnerTransactionMerchant {
            sp_appid: sp.appid.clone(),
            sp_mchid: sp.mchid.clone(),
            sub_appid: Some("wxsubappid00000001".into()),
            sub_mchid: "1900000109".into(),
        }
    );
    assert_eq!(tx.amount.unwrap().total, 77);

    // The sub-merchant's refund is announced with sp_mchid and sub_mchid, not mchid.
    let mut refund = NewRefund::new(
        TradeRef::OutTradeNo("pnotify_0001".into()),
        "pnotify_0001_r",
        RefundRequestAmount::cny(7, 77),
    );
    refund.sub_mchid = Some("1900000109".into());
    refund.notify_url = Some(rx.url.clone());
    sp.client.refund(&refund).await.unwrap();
    let n = rx.next().await.unwrap();
    let NotificationEvent::Refund(notice) = n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(
        (
            notice.mchid.as_deref(),
            notice.sp_mchid.as_deref(),
            notice.sub_mchid.as_deref(),
            notice.amount.refund
        ),
        (None, Some(sp.mchid.as_str()), Some("1900000109"), 7)
    );
}

#[tokio::test]
async fn combined_payment_notification() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let mut rx = receiver(m.client.clone()).await;
    let sub = |no: &str, fen: i64| CombineSubOrder {
        mchid: m.mchid.clone(),
        attach: "a".into(),
        amount: CombineAmount::cny(fen),
        out_trade_no: no.into(),
        description: "d".into(),
        sub_mchid: None,
        sub_appid: None,
        detail: None,
        goods_tag: None,
        settle_info: None,
    };
    let order = CombineNewOrder {
        combine_appid: m.appid.clone(),
        combine_out_trade_no: "cnotify_0001".into(),
        scene_info: None,
        sub_orders: vec![sub("cnotify_0001_a", 10), sub("cnotify_0001_b", 20)],
        time_start: None,
        time_expire: None,
        notify_url: rx.url.clone(),
    };
    m.client.create_combine_native_order(&order).await.unwrap();
    let path = format!("/sim/wechat/combine/cnotify_0001/pay?mchid={}", m.mchid);
    let (status, body) = t.control(&path, &serde_json::Value::Null).await;
    assert_eq!(status, 200, "{body}");
    let n = rx.next().await.unwrap();
    let NotificationEvent::CombineTransactionSuccess(c) = n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(c.combine_out_trade_no, "cnotify_0001");
    let paid: Vec<(TradeState, i64)> = c
        .sub_orders
        .iter()
        .map(|s| (s.trade_state, s.amount.total_amount))
        .collect();
    assert_eq!(
        paid,
        vec![(TradeState::Success, 10), (TradeState::Success, 20)]
    );
}

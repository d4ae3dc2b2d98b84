//! Refunds against the simulator: create, query, settle by callback, and the over-refund refusal.

mod common;

use common::{Mode, TestSim, out, receiver};
use wechatpay::{
    Error, NewRefund, NotificationEvent, RefundRequestAmount, RefundStatus, TradeRef, TradeState,
};

fn upstream(e: &Error) -> (u16, &str) {
    match e {
        Error::Upstream { status, code, .. } => (*status, code.as_str()),
        other => panic!("expected an upstream refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn refund_a_paid_order_and_hear_it_succeed() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let mut rx = receiver(m.client.clone()).await;
    m.client
        .create_native_order(&m.order("refund_0001", 1000, &rx.url))
        .await
        .unwrap();
    t.pay(&m.mchid, "refund_0001", None).await;
    let paid = rx.next().await.unwrap();
    assert!(matches!(
        paid.event,
        NotificationEvent::TransactionSuccess(_)
    ));

    let mut request = NewRefund::new(
        TradeRef::OutTradeNo("refund_0001".into()),
        "R-refund_0001-1",
        RefundRequestAmount::cny(300, 1000),
    );
    request.reason = Some("商品已售完".into());
    request.notify_url = Some(rx.url.clone());
    let refund = m.client.refund(&request).await.unwrap();
    assert_eq!(refund.out_refund_no, "R-refund_0001-1");
    assert_eq!((refund.amount.refund, refund.amount.total), (300, 1000));
    assert_eq!(refund.out_trade_no, "refund_0001");

    let settled = rx.next().await.unwrap();
    assert_eq!(settled.event_type, "REFUND.SUCCESS");
    let NotificationEvent::Refund(notice) = settled.event else {
        panic!("{:?}", settled.event)
    };
    assert_eq!(notice.refund_status, RefundStatus::Success);
    assert_eq!(notice.out_refund_no, "R-refund_0001-1");
    assert_eq!((notice.amount.refund, notice.amount.total), (300, 1000));
    assert_eq!(notice.refund_id, refund.refund_id);

    let queried = m
        .client
        .query_refund("R-refund_0001-1", None)
        .await
        .unwrap();
    assert_eq!(queried.status, RefundStatus::Success);
    assert!(queried.success_time.is_some());
    let order = m.client.query_order(&out("refund_0001")).await.unwrap();
    assert_eq!(order.trade_state, TradeState::Refund);

    // The same refund again answers the same refund; it refunds nothing more.
    let again = m.client.refund(&request).await.unwrap();
    assert_eq!(again.refund_id, refund.refund_id);
}

#[tokio::test]
async fn refunds_never_exceed_what_was_paid() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    m.client
        .create_native_order(&m.order("refund_0002", 1000, "https://shop.example.com/n"))
        .await
        .unwrap();
    t.pay(&m.mchid, "refund_0002", None).await;
    let by_id = TradeRef::TransactionId(
        m.client
            .query_order(&out("refund_0002"))
            .await
            .unwrap()
            .transaction_id
            .unwrap(),
    );
    m.client
        .refund(&NewRefund::new(
            by_id.clone(),
            "R2-a",
            RefundRequestAmount::cny(600, 1000),
        ))
        .await
        .unwrap();
    let e = m
        .client
        .refund(&NewRefund::new(
            by_id.clone(),
            "R2-b",
            RefundRequestAmount::cny(401, 1000),
        ))
        .await
        .unwrap_err();
    let (status, code) = upstream(&e);
    assert_eq!(status, 400);
    assert!(
        matches!(code, "PARAM_ERROR" | "INVALID_REQUEST" | "NOT_ENOUGH"),
        "{code}"
    );
    assert!(!e.is_outcome_unknown());
    // Exactly what is left still works.
    m.client
        .refund(&NewRefund::new(
            by_id,
            "R2-c",
            RefundRequestAmount::cny(400, 1000),
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn refunds_of_unpaid_or_unknown_orders_are_refused() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    m.client
        .create_native_order(&m.order("refund_0003", 100, "https://shop.example.com/n"))
        .await
        .unwrap();
    let e = m
        .client
        .refund(&NewRefund::new(
            TradeRef::OutTradeNo("refund_0003".into()),
            "R3",
            RefundRequestAmount::cny(1, 100),
        ))
        .await
        .unwrap_err();
    assert_eq!(upstream(&e).0, 400);
    let e = m
        .client
        .refund(&NewRefund::new(
            TradeRef::OutTradeNo("nosuch_0003".into()),
            "R4",
            RefundRequestAmount::cny(1, 100),
        ))
        .await
        .unwrap_err();
    assert_eq!(upstream(&e), (404, "RESOURCE_NOT_EXISTS"));
    let e = m.client.query_refund("R-nosuch", None).await.unwrap_err();
    assert_eq!(upstream(&e), (404, "RESOURCE_NOT_EXISTS"));
}

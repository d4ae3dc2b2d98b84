//! Paying: QR (precreate), mini-program (create), query and close, amounts at the edges, expiry.

use alipay::{Buyer, CreateRequest, Error, Fen, Order, TradeRef, TradeStatus};

use crate::helpers::{out, spawn, unique};

#[tokio::test]
async fn precreate_pay_query_and_notification() {
    let app = spawn().await;
    let no = unique("qr");
    let qr = app
        .client
        .precreate(&Order::new(&no, Fen(2990), "T-shirt"))
        .await
        .unwrap();
    assert_eq!(qr.out_trade_no, no);
    assert!(qr.qr_code.starts_with(app.base_url()), "{}", qr.qr_code);

    let before = app.client.query_order(&out(&no)).await.unwrap();
    assert_eq!(before.trade_status, TradeStatus::WaitBuyerPay);
    assert_eq!(before.total_amount, Fen(2990));
    assert_eq!(before.send_pay_date, None);

    assert!(app.pay(&no).await.status().is_success());
    let n = app.next_notification().await;
    assert_eq!(
        (n.out_trade_no.as_str(), n.trade_status),
        (no.as_str(), TradeStatus::TradeSuccess)
    );
    assert_eq!(n.total_amount, Fen(2990));
    assert_eq!(n.receipt_amount, Some(Fen(2990)));
    assert_eq!(n.notify_type, "trade_status_sync");

    let after = app
        .client
        .query_order(&TradeRef::TradeNo(before.trade_no.clone()))
        .await
        .unwrap();
    assert_eq!(after.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(after.trade_no, n.trade_no);
    assert!(after.buyer_user_id.is_some());
    assert!(after.send_pay_date.is_some());
}

#[tokio::test]
async fn amounts_at_the_edges_survive_the_round_trip() {
    let app = spawn().await;
    for fen in [1, 99_999_999] {
        let no = unique("edge");
        app.client
            .precreate(&Order::new(&no, Fen(fen), "edge"))
            .await
            .unwrap();
        assert_eq!(
            app.client
                .query_order(&out(&no))
                .await
                .unwrap()
                .total_amount,
            Fen(fen)
        );
        app.pay(&no).await;
        let n = app.next_notification().await;
        assert_eq!(
            (n.total_amount, n.buyer_pay_amount),
            (Fen(fen), Some(Fen(fen)))
        );
        assert_eq!(
            app.client
                .query_order(&out(&no))
                .await
                .unwrap()
                .receipt_amount,
            Some(Fen(fen))
        );
    }
}

#[tokio::test]
async fn mini_program_create_with_buyer_id_or_open_id() {
    let app = spawn().await;
    let no = unique("mp");
    let created = app
        .client
        .create(&CreateRequest {
            order: Order::new(&no, Fen(100), "mini"),
            buyer: Buyer::UserId("2088102534368455".into()),
            op_app_id: Some("2021000000000999".into()),
        })
        .await
        .unwrap();
    assert_eq!(created.trade_no.len(), 28);
    app.pay(&no).await;
    let n = app.next_notification().await;
    assert_eq!(n.buyer_id.as_deref(), Some("2088102534368455"));
    let q = app.client.query_order(&out(&no)).await.unwrap();
    assert_eq!(q.buyer_user_id.as_deref(), Some("2088102534368455"));

    let no = unique("mp-open");
    let request = CreateRequest {
        order: Order::new(&no, Fen(1), "mini"),
        buyer: Buyer::OpenId("074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5".into()),
        op_app_id: None,
    };
    let created = app.client.create(&request).await.unwrap();
    // The same order again is idempotent: same trade_no.
    let again = app.client.create(&request).await.unwrap();
    assert_eq!(again.trade_no, created.trade_no);
    app.pay(&no).await;
    let n = app.next_notification().await;
    assert!(n.buyer_open_id.is_some());
    assert_eq!(n.buyer_id, None);
}

#[tokio::test]
async fn close_unpaid_then_paying_or_reopening_is_refused() {
    let app = spawn().await;
    let no = unique("close");
    app.client
        .precreate(&Order::new(&no, Fen(500), "c"))
        .await
        .unwrap();
    let closed = app.client.close_order(&out(&no)).await.unwrap();
    assert_eq!(closed.out_trade_no.as_deref(), Some(no.as_str()));
    assert_eq!(
        app.client
            .query_order(&out(&no))
            .await
            .unwrap()
            .trade_status,
        TradeStatus::TradeClosed
    );
    assert_eq!(app.pay(&no).await.status(), reqwest::StatusCode::CONFLICT);
    let err = app.precreate_refused(&no, 500, "c").await;
    assert_eq!(err.upstream_code(), Some("ACQ.TRADE_HAS_CLOSE"));
}

#[tokio::test]
async fn close_after_pay_and_precreate_after_pay_are_refused() {
    let app = spawn().await;
    let no = unique("paid");
    app.paid_trade(&no, 100).await;
    let err = app.client.close_order(&out(&no)).await.unwrap_err();
    assert_eq!(err.upstream_code(), Some("ACQ.TRADE_STATUS_ERROR"));
    assert!(!err.is_outcome_unknown());
    let err = app.precreate_refused(&no, 100, "paid").await;
    assert_eq!(err.upstream_code(), Some("ACQ.TRADE_HAS_SUCCESS"));
}

#[tokio::test]
async fn unknown_trade_is_trade_not_exist() {
    let app = spawn().await;
    for err in [
        app.client
            .query_order(&out("no-such-trade"))
            .await
            .unwrap_err(),
        app.client
            .close_order(&TradeRef::TradeNo("2024010122001234567890123456".into()))
            .await
            .unwrap_err(),
    ] {
        match &err {
            Error::Upstream { code, sub_code, .. } => {
                assert_eq!(code, "40004");
                assert_eq!(sub_code.as_deref(), Some("ACQ.TRADE_NOT_EXIST"));
            }
            other => panic!("expected an upstream refusal, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn changed_amount_for_the_same_order_is_refused() {
    let app = spawn().await;
    let no = unique("ctx");
    app.client
        .precreate(&Order::new(&no, Fen(100), "x"))
        .await
        .unwrap();
    let err = app.precreate_refused(&no, 101, "x").await;
    assert_eq!(err.upstream_code(), Some("ACQ.CONTEXT_INCONSISTENT"));
}

#[tokio::test]
async fn unpaid_trade_closes_when_its_timeout_passes() {
    let app = spawn().await;
    let no = unique("exp");
    let mut order = Order::new(&no, Fen(100), "expiring");
    // One minute at the tests' time scale is 6 ms.
    order.timeout_express = Some("1m".into());
    app.client.precreate(&order).await.unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let status = app
            .client
            .query_order(&out(&no))
            .await
            .unwrap()
            .trade_status;
        if status == TradeStatus::TradeClosed {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {status:?}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(app.pay(&no).await.status(), reqwest::StatusCode::CONFLICT);
}

#[tokio::test]
async fn absolute_time_expire_in_the_past_closes_at_once() {
    let app = spawn().await;
    let no = unique("exp-abs");
    let mut order = Order::new(&no, Fen(100), "expired");
    order.time_expire = Some(time::OffsetDateTime::now_utc() - time::Duration::minutes(1));
    app.client.precreate(&order).await.unwrap();
    assert_eq!(
        app.client
            .query_order(&out(&no))
            .await
            .unwrap()
            .trade_status,
        TradeStatus::TradeClosed
    );
}

//! Refunds: partial, repeated, too much, full; refund queries; refund notifications.

use alipay::{Fen, RefundQueryRequest, RefundRequest, RefundStatus, TradeStatus};

use crate::helpers::{out, spawn, unique};

fn refund(no: &str, request_no: &str, fen: i64) -> RefundRequest {
    RefundRequest {
        trade: out(no),
        out_request_no: request_no.to_owned(),
        refund_amount: Fen(fen),
        refund_reason: Some("顾客退货".into()),
    }
}

#[tokio::test]
async fn partial_refunds_repeat_over_refund_and_full_refund() {
    let app = spawn().await;
    let no = unique("rf");
    app.paid_trade(&no, 1000).await;

    let first = app.client.refund(&refund(&no, "r1", 300)).await.unwrap();
    assert!(first.fund_change);
    assert_eq!(first.refund_fee, Fen(300));
    let n = app.next_notification().await;
    assert_eq!(
        (n.trade_status, n.refund_fee),
        (TradeStatus::TradeSuccess, Some(Fen(300)))
    );
    assert_eq!(n.out_biz_no.as_deref(), Some("r1"));
    assert!(n.gmt_refund.is_some());

    // Retrying the same refund (say after a timeout) moves no money.
    let repeat = app.client.refund(&refund(&no, "r1", 300)).await.unwrap();
    assert!(!repeat.fund_change);
    assert_eq!(repeat.refund_fee, Fen(300));

    let err = app.refund_refused(&refund(&no, "r1", 301)).await;
    assert_eq!(err.upstream_code(), Some("ACQ.DISCORDANT_REPEAT_REQUEST"));
    let err = app.refund_refused(&refund(&no, "r2", 701)).await;
    assert_eq!(err.upstream_code(), Some("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"));
    assert!(!err.is_outcome_unknown());

    let last = app.client.refund(&refund(&no, "r2", 700)).await.unwrap();
    assert_eq!(last.refund_fee, Fen(1000));
    let n = app.next_notification().await;
    assert_eq!(
        (n.trade_status, n.refund_fee),
        (TradeStatus::TradeClosed, Some(Fen(1000)))
    );
    assert_eq!(
        app.client
            .query_order(&out(&no))
            .await
            .unwrap()
            .trade_status,
        TradeStatus::TradeClosed
    );

    let err = app.refund_refused(&refund(&no, "r3", 1)).await;
    assert_eq!(err.upstream_code(), Some("ACQ.TRADE_HAS_CLOSE"));
}

#[tokio::test]
async fn refund_query_found_and_not_found() {
    let app = spawn().await;
    let no = unique("rq");
    app.paid_trade(&no, 99_999_999).await;
    app.client
        .refund(&refund(&no, "big", 99_999_999))
        .await
        .unwrap();

    let q = app
        .client
        .query_refund(&RefundQueryRequest {
            trade: out(&no),
            out_request_no: "big".into(),
        })
        .await
        .unwrap();
    assert_eq!(q.refund_status, RefundStatus::Success);
    assert_eq!(q.refund_amount, Some(Fen(99_999_999)));
    assert_eq!(q.total_amount, Some(Fen(99_999_999)));

    let q = app
        .client
        .query_refund(&RefundQueryRequest {
            trade: out(&no),
            out_request_no: "never".into(),
        })
        .await
        .unwrap();
    assert_eq!(q.refund_status, RefundStatus::NotSucceeded);
    assert_eq!(q.refund_amount, None);
}

#[tokio::test]
async fn one_fen_refund_and_refunds_of_unpaid_or_unknown_trades() {
    let app = spawn().await;
    let no = unique("rf1");
    app.paid_trade(&no, 1).await;
    let r = app.client.refund(&refund(&no, "one", 1)).await.unwrap();
    assert_eq!(r.refund_fee, Fen(1));

    let unpaid = unique("rf-unpaid");
    app.client
        .precreate(&alipay::Order::new(&unpaid, Fen(100), "u"))
        .await
        .unwrap();
    let err = app.refund_refused(&refund(&unpaid, "x", 1)).await;
    assert_eq!(err.upstream_code(), Some("ACQ.TRADE_STATUS_ERROR"));
    let err = app.refund_refused(&refund("nope", "x", 1)).await;
    assert_eq!(err.upstream_code(), Some("ACQ.TRADE_NOT_EXIST"));
}

#[tokio::test]
async fn finished_trade_cannot_be_refunded() {
    let app = spawn().await;
    let no = unique("fin");
    app.paid_trade(&no, 100).await;
    let resp = app
        .control(&format!(
            "/sim/alipay/trades/{no}/finish?app_id={}",
            crate::helpers::APP_ID
        ))
        .await;
    assert!(resp.status().is_success());
    assert_eq!(
        app.next_notification().await.trade_status,
        TradeStatus::TradeFinished
    );
    let err = app.refund_refused(&refund(&no, "late", 1)).await;
    assert_eq!(err.upstream_code(), Some("ACQ.TRADE_HAS_FINISHED"));
}

//! Bills: the signed URL query and the download.

use alipay::{BillPeriod, BillType, Fen, RefundRequest};
use time::OffsetDateTime;

use crate::helpers::{out, spawn, unique};

fn today_in_china() -> time::Date {
    (OffsetDateTime::now_utc() + time::Duration::hours(8)).date()
}

#[tokio::test]
async fn todays_bill_lists_payments_and_refunds() {
    let app = spawn().await;
    let no = unique("bill");
    app.paid_trade(&no, 12_345).await;
    app.client
        .refund(&RefundRequest {
            trade: out(&no),
            out_request_no: "b-r1".into(),
            refund_amount: Fen(45),
            refund_reason: None,
        })
        .await
        .unwrap();

    let url = app
        .client
        .bill_download_url(BillType::Trade, BillPeriod::Day(today_in_china()))
        .await
        .unwrap();
    let mut file = Vec::new();
    app.client
        .download_bill(&url.bill_download_url, &mut file)
        .await
        .unwrap();
    let text = String::from_utf8(file).unwrap();
    assert!(text.contains(&format!(",{no},交易,")), "{text}");
    assert!(text.contains("123.45"), "{text}");
    assert!(text.contains("-0.45") && text.contains("b-r1"), "{text}");

    let today = today_in_china();
    let month = BillPeriod::Month {
        year: today.year(),
        month: today.month(),
    };
    let url = app
        .client
        .bill_download_url(BillType::SignCustomer, month)
        .await
        .unwrap();
    assert!(
        app.client
            .download_bill(&url.bill_download_url, &mut Vec::new())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn future_bill_does_not_exist() {
    let app = spawn().await;
    let tomorrow = today_in_china().next_day().unwrap();
    let err = app
        .client
        .bill_download_url(BillType::Trade, BillPeriod::Day(tomorrow))
        .await
        .unwrap_err();
    assert_eq!(err.upstream_code(), Some("isp.bill_not_exist"));
}

//! Bills: the signed URL query, the download streamed to a file, and the file read back — the
//! simulator writes Alipay's format on its own, so this checks the reader against a second writer.

use alipay::{
    AccountBill, AccountEntryKind, BillPeriod, BillType, Fen, RefundRequest, TradeBill,
    TradeBillKind,
};
use time::OffsetDateTime;

use crate::helpers::{out, spawn, unique};

fn today_in_china() -> time::Date {
    (OffsetDateTime::now_utc() + time::Duration::hours(8)).date()
}

#[tokio::test]
async fn todays_bills_list_payments_refunds_and_fees() {
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
    let dir = tempfile::tempdir().unwrap();

    let url = app
        .client
        .bill_download_url(BillType::Trade, BillPeriod::Day(today_in_china()))
        .await
        .unwrap();
    let path = dir.path().join("trade.csv.zip");
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    let written = app
        .client
        .download_bill(&url.bill_download_url, &mut file)
        .await
        .unwrap();
    assert_eq!(written, std::fs::metadata(&path).unwrap().len());

    let mut bill = TradeBill::open(&path).unwrap();
    assert_eq!(bill.summary().total.payment_count, 1);
    assert_eq!(bill.summary().total.service_fee, Fen(-74));
    let mut rows = bill.rows().unwrap();
    let paid = rows.next().unwrap().unwrap();
    assert_eq!(paid.out_trade_no, no);
    assert_eq!(paid.kind, TradeBillKind::Payment);
    assert_eq!(paid.merchant_received, Fen(12_345));
    assert_eq!(paid.service_fee, Fen(-74));
    let refund = rows.next().unwrap().unwrap();
    assert_eq!(refund.kind, TradeBillKind::Refund);
    assert_eq!(refund.out_request_no, "b-r1");
    assert_eq!(refund.merchant_received, Fen(-45));
    assert!(rows.next().is_none());
    assert_eq!(rows.totals().unwrap().refunds.count, 1);

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
    let path = dir.path().join("signcustomer.csv.zip");
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    app.client
        .download_bill(&url.bill_download_url, &mut file)
        .await
        .unwrap();
    let mut bill = AccountBill::open(&path).unwrap();
    let kinds: Vec<(AccountEntryKind, Fen, Fen)> = bill
        .rows()
        .unwrap()
        .map(|r| r.map(|r| (r.kind, r.income, r.outgo)).unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            (AccountEntryKind::Payment, Fen(12_345), Fen(0)),
            (AccountEntryKind::Fee, Fen(0), Fen(-74)),
            (AccountEntryKind::Refund, Fen(0), Fen(-45)),
        ]
    );
    assert_eq!(bill.summary().total.income, Fen(12_345));
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

#[tokio::test]
async fn an_expired_bill_url_is_a_download_error() {
    let app = spawn().await;
    let url = format!("{}/sim/alipay/bills/unknown-token", app.base_url());
    let e = app
        .client
        .download_bill(&url, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(e, alipay::BillError::Download(_)), "{e:?}");
}

//! Bills against the simulator: apply, download (gzip or not), SHA1 of the decompressed file.

mod common;

use common::{Mode, TestSim, china_today};
use wechatpay::{
    BillRefundStatus, Error, FundAccountType, FundDirection, FundFlowBillReader, NewRefund,
    RefundRequestAmount, TarType, TradeBillReader, TradeBillStatus, TradeBillType, TradeRef,
};

#[tokio::test]
async fn trade_and_fund_flow_bills_download_and_check() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    m.client
        .create_native_order(&m.order("bill_00001", 2990, "https://shop.example.com/n"))
        .await
        .unwrap();
    t.pay(&m.mchid, "bill_00001", None).await;
    let today = china_today();

    for tar in [None, Some(TarType::Gzip)] {
        let bytes = m
            .client
            .trade_bill(today, Some(TradeBillType::All), tar)
            .await
            .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("交易时间,"), "{text}");
        assert!(text.contains("`bill_00001"), "{text}");
        assert!(text.contains("`29.90"), "{text}");
    }
    let flow = m
        .client
        .fund_flow_bill(today, Some(FundAccountType::Basic), Some(TarType::Gzip))
        .await
        .unwrap();
    assert!(String::from_utf8(flow).unwrap().contains("`29.90"));
}

#[tokio::test]
async fn a_file_that_does_not_match_its_hash_is_refused() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    m.client
        .create_native_order(&m.order("bill_00002", 100, "https://shop.example.com/n"))
        .await
        .unwrap();
    t.pay(&m.mchid, "bill_00002", None).await;
    let mut location = m
        .client
        .apply_trade_bill(china_today(), None, Some(TarType::Gzip))
        .await
        .unwrap();
    assert_eq!(location.hash_type, "SHA1");
    location.hash_value = "0".repeat(40);
    let e = m
        .client
        .download_bill(&location, Some(TarType::Gzip))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::BillHashMismatch { .. }), "{e:?}");
    // Reading a gzip file as plain text does not match either.
    let location = m
        .client
        .apply_trade_bill(china_today(), None, Some(TarType::Gzip))
        .await
        .unwrap();
    let e = m.client.download_bill(&location, None).await.unwrap_err();
    assert!(matches!(e, Error::BillHashMismatch { .. }), "{e:?}");
}

#[tokio::test]
async fn no_bill_for_a_day_without_trades() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let e = m
        .client
        .apply_trade_bill(time::macros::date!(2020 - 01 - 01), None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Upstream { status: 400, code, .. } if code == "NO_STATEMENT_EXIST"),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_bill_streams_into_a_file_and_a_wrong_hash_leaves_it_to_the_caller() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    m.client
        .create_native_order(&m.order("bill_00003", 2990, "https://shop.example.com/n"))
        .await
        .unwrap();
    t.pay(&m.mchid, "bill_00003", None).await;
    let dir = tempfile::tempdir().unwrap();

    for tar in [None, Some(TarType::Gzip)] {
        let location = m
            .client
            .apply_trade_bill(china_today(), Some(TradeBillType::All), tar)
            .await
            .unwrap();
        let path = dir.path().join("bill.csv");
        let mut file = tokio::fs::File::create(&path).await.unwrap();
        let written = m
            .client
            .download_bill_to(&location, tar, &mut file)
            .await
            .unwrap();
        drop(file);
        let text = std::fs::read(&path).unwrap();
        assert_eq!(written.bytes, text.len() as u64);
        assert!(written.sha1.eq_ignore_ascii_case(&location.hash_value));
        assert_eq!(
            m.client.download_bill(&location, tar).await.unwrap(),
            text,
            "the in-memory download is the same text"
        );

        let mut wrong = location.clone();
        wrong.hash_value = "0".repeat(40);
        let mut file = tokio::fs::File::create(&path).await.unwrap();
        let e = m
            .client
            .download_bill_to(&wrong, tar, &mut file)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::BillHashMismatch { .. }), "{e:?}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            text,
            "written, for the caller to discard"
        );
    }
}

#[tokio::test]
async fn the_simulator_s_bills_read_back_row_by_row_with_fees_and_refunds() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    for (no, total) in [("bill_00004", 2990), ("bill_00005", 600)] {
        m.client
            .create_native_order(&m.order(no, total, "https://shop.example.com/n"))
            .await
            .unwrap();
        t.pay(&m.mchid, no, None).await;
    }
    let refund = NewRefund::new(
        TradeRef::OutTradeNo("bill_00004".into()),
        "R-bill_00004",
        RefundRequestAmount::cny(1000, 2990),
    );
    m.client.refund(&refund).await.unwrap();
    // The refund succeeds on its own a moment later; a query settles it if it is due.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    m.client.query_refund("R-bill_00004", None).await.unwrap();

    let text = m
        .client
        .trade_bill(china_today(), Some(TradeBillType::All), Some(TarType::Gzip))
        .await
        .unwrap();
    let mut bill = TradeBillReader::new(text.as_slice()).unwrap();
    let rows: Vec<_> = bill.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 3);
    let paid = rows
        .iter()
        .find(|r| r.out_trade_no == "bill_00004" && r.status == TradeBillStatus::Success)
        .unwrap();
    assert_eq!(
        (paid.total, paid.settlement_total, paid.fee),
        (2990, 2990, 18)
    );
    assert_eq!(
        (paid.fee_rate.as_str(), paid.mchid.as_str()),
        ("0.60%", m.mchid.as_str())
    );
    assert_eq!(paid.sub_mchid, None);
    let small = rows
        .iter()
        .find(|r| r.out_trade_no == "bill_00005")
        .unwrap();
    assert_eq!(small.fee, 4, "0.036 rounds to 0.04");
    let refunded = rows
        .iter()
        .find(|r| r.status == TradeBillStatus::Refund)
        .unwrap();
    let r = refunded.refund.as_ref().unwrap();
    assert_eq!(r.out_refund_no, "R-bill_00004");
    assert_eq!((r.requested, r.settlement_refund), (1000, 1000));
    assert_eq!(r.status, BillRefundStatus::Success);
    assert_eq!((refunded.total, refunded.fee), (0, -6));
    assert_eq!(refunded.transaction_id, paid.transaction_id);
    let summary = bill.summary().unwrap();
    assert_eq!((summary.rows, summary.total, summary.fee), (3, 3590, 16));
    assert_eq!(summary.settlement_refund, Some(1000));

    let text = m
        .client
        .fund_flow_bill(china_today(), Some(FundAccountType::Basic), None)
        .await
        .unwrap();
    let mut flow = FundFlowBillReader::new(text.as_slice()).unwrap();
    let rows: Vec<_> = flow.by_ref().collect::<Result<_, _>>().unwrap();
    let moved: Vec<_> = rows
        .iter()
        .map(|r| (r.business_type.as_str(), r.direction, r.amount))
        .collect();
    for expected in [
        ("交易", FundDirection::Income, 2990),
        ("扣除交易手续费", FundDirection::Expense, 18),
        ("交易", FundDirection::Income, 600),
        ("扣除交易手续费", FundDirection::Expense, 4),
        ("退款", FundDirection::Expense, 1000),
        ("退还交易手续费", FundDirection::Income, 6),
    ] {
        assert!(moved.contains(&expected), "{expected:?} in {moved:?}");
    }
    assert_eq!(rows.len(), 6);
    assert_eq!(rows.last().unwrap().balance, 2990 - 18 + 600 - 4 - 1000 + 6);
    let summary = flow.summary().unwrap();
    assert_eq!(
        (summary.income, summary.expense),
        (2990 + 600 + 6, 18 + 4 + 1000)
    );
}

//! Bills against the simulator: apply, download (gzip or not), SHA1 of the decompressed file.

mod common;

use common::{Mode, TestSim, china_today};
use wechatpay::{Error, FundAccountType, TarType, TradeBillType};

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

//! Profit sharing against the simulator: receivers, splits and their limits, unfreezing, returns.

// The helpers below are not tests, so allow-unwrap-in-tests does not reach them; a panic is the
// right failure in them too.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Merchant, Mode, TestSim, out, receiver};
use wechatpay::{
    Error, NewReceiver, NewRefund, NewSplit, NewSplitReturn, NewUnfreeze, NotificationEvent,
    OrderAmount, PartnerNewOrder, ProfitSharingNoticeReceiver, ReceiverResult, ReceiverType,
    RefundRequestAmount, RelationType, SettleInfo, SplitReceiver, SplitState, TradeRef,
};

const PARTNER_MCHID: &str = "1900099999";

fn refusal(e: &Error) -> (u16, &str, &str) {
    match e {
        Error::Upstream {
            status,
            code,
            message,
            ..
        } => (*status, code.as_str(), message.as_str()),
        other => panic!("expected an upstream refusal, got {other:?}"),
    }
}

/// Creates and pays an order, with or without profit sharing; answers its transaction_id.
async fn paid(t: &TestSim, m: &Merchant, no: &str, total: i64, profit_sharing: bool) -> String {
    let mut order = m.order(no, total, "https://shop.example.com/n");
    order.settle_info = Some(SettleInfo { profit_sharing });
    m.client.create_native_order(&order).await.unwrap();
    t.pay(&m.mchid, no, None).await;
    m.client
        .query_order(&out(no))
        .await
        .unwrap()
        .transaction_id
        .unwrap()
}

async fn add_partner(m: &Merchant) {
    let mut r = NewReceiver::new(
        &m.appid,
        ReceiverType::MerchantId,
        PARTNER_MCHID,
        RelationType::Partner,
    );
    r.name = Some("深圳某某科技有限公司".into());
    let added = m.client.add_profit_sharing_receiver(&r).await.unwrap();
    assert_eq!(added.account, PARTNER_MCHID);
    assert!(
        added.name.is_some_and(|n| n != "深圳某某科技有限公司"),
        "the name travels encrypted"
    );
}

/// A simulator with a merchant in public-key mode whose partner receiver is added.
async fn with_partner() -> (TestSim, Merchant) {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    add_partner(&m).await;
    (t, m)
}

/// The refusal of a split of `amount` to the partner under `no`.
async fn refused_split(m: &Merchant, transaction_id: &str, no: &str, amount: i64) -> Error {
    m.client
        .share_profit(&split(m, transaction_id, no, amount))
        .await
        .unwrap_err()
}

fn split(m: &Merchant, transaction_id: &str, no: &str, amount: i64) -> NewSplit {
    NewSplit {
        sub_mchid: None,
        sub_appid: None,
        appid: m.appid.clone(),
        transaction_id: transaction_id.to_owned(),
        out_order_no: no.to_owned(),
        receivers: vec![SplitReceiver::new(
            ReceiverType::MerchantId,
            PARTNER_MCHID,
            amount,
            "平台服务费",
        )],
        unfreeze_unsplit: false,
    }
}

#[tokio::test]
async fn split_finishes_returns_and_unfreezes() {
    let (t, m) = with_partner().await;
    let tx = paid(&t, &m, "share_0001", 1000, true).await;

    let made = m
        .client
        .share_profit(&split(&m, &tx, "S1", 200))
        .await
        .unwrap();
    assert_eq!(made.state, SplitState::Processing);
    assert_eq!(made.receivers[0].result, ReceiverResult::Pending);
    // The same out_order_no again is the same split: nothing more is split.
    let again = m
        .client
        .share_profit(&split(&m, &tx, "S1", 200))
        .await
        .unwrap();
    assert_eq!(again.order_id, made.order_id);
    assert_eq!(
        m.client
            .query_unsplit_amount(&tx)
            .await
            .unwrap()
            .unsplit_amount,
        800
    );

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let done = m.client.query_profit_sharing("S1", &tx).await.unwrap();
    assert_eq!(done.state, SplitState::Finished);
    assert_eq!(done.receivers[0].result, ReceiverResult::Success);
    assert!(done.receivers[0].finish_time.is_some());

    let back = NewSplitReturn {
        sub_mchid: None,
        out_order_no: "S1".into(),
        out_return_no: "RT1".into(),
        return_mchid: PARTNER_MCHID.into(),
        amount: 50,
        description: "用户退款".into(),
    };
    let r = m.client.return_profit_sharing(&back).await.unwrap();
    assert_eq!(r.amount, 50);
    assert_eq!(
        m.client
            .query_profit_sharing_return("RT1", "S1")
            .await
            .unwrap()
            .return_id,
        r.return_id
    );
    let too_much = NewSplitReturn {
        out_return_no: "RT2".into(),
        amount: 151,
        ..back.clone()
    };
    let e = m.client.return_profit_sharing(&too_much).await.unwrap_err();
    assert_eq!(refusal(&e).1, "INVALID_REQUEST");

    let unfrozen = m
        .client
        .unfreeze_profit_sharing(&NewUnfreeze {
            sub_mchid: None,
            transaction_id: tx.clone(),
            out_order_no: "S1-unfreeze".into(),
            description: "解冻全部剩余资金".into(),
        })
        .await
        .unwrap();
    assert_eq!(unfrozen.receivers[0].amount, 800);
    assert_eq!(unfrozen.receivers[0].account, m.mchid);
    assert_eq!(
        m.client
            .query_unsplit_amount(&tx)
            .await
            .unwrap()
            .unsplit_amount,
        0
    );
    let e = refused_split(&m, &tx, "S2", 1).await;
    assert_eq!(refusal(&e), (400, "INVALID_REQUEST", "分账金额不足"));
}

#[tokio::test]
async fn splits_to_others_stop_at_thirty_percent() {
    let (t, m) = with_partner().await;
    let tx = paid(&t, &m, "share_0002", 1000, true).await;
    let e = refused_split(&m, &tx, "S1", 301).await;
    assert_eq!(
        refusal(&e),
        (400, "INVALID_REQUEST", "分账金额超出最大分账比例")
    );
    m.client
        .share_profit(&split(&m, &tx, "S2", 200))
        .await
        .unwrap();
    let e = refused_split(&m, &tx, "S3", 101).await;
    assert_eq!(refusal(&e).2, "分账金额超出最大分账比例");
    m.client
        .share_profit(&split(&m, &tx, "S4", 100))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_split_never_exceeds_what_is_left_after_refunds() {
    let (t, m) = with_partner().await;
    let tx = paid(&t, &m, "share_0003", 1000, true).await;
    let by_id = TradeRef::TransactionId(tx.clone());
    m.client
        .refund(&NewRefund::new(
            by_id,
            "R3",
            RefundRequestAmount::cny(900, 1000),
        ))
        .await
        .unwrap();
    let e = refused_split(&m, &tx, "S1", 101).await;
    assert_eq!(refusal(&e), (400, "INVALID_REQUEST", "分账金额不足"));
    m.client
        .share_profit(&split(&m, &tx, "S2", 100))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_split_racing_a_refund_never_moves_more_than_was_paid() {
    let (t, m) = with_partner().await;
    for i in 0..5 {
        let no = format!("share_race_{i}");
        let tx = paid(&t, &m, &no, 1000, true).await;
        let refund = NewRefund::new(
            TradeRef::TransactionId(tx.clone()),
            &format!("R-{no}"),
            RefundRequestAmount::cny(800, 1000),
        );
        let s = split(&m, &tx, &format!("S-{no}"), 300);
        let (r, sp) = tokio::join!(m.client.refund(&refund), m.client.share_profit(&s));
        let moved = r.as_ref().map_or(0, |r| r.amount.refund) + sp.as_ref().map_or(0, |_| 300);
        assert!(
            moved <= 1000,
            "refund {r:?} and split {sp:?} together exceed the payment"
        );
        assert!(r.is_ok() || sp.is_ok(), "one of them goes through");
    }
}

#[tokio::test]
async fn an_unknown_receiver_is_refused_and_a_deleted_one_closes() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let tx = paid(&t, &m, "share_0004", 1000, true).await;
    let e = refused_split(&m, &tx, "S1", 100).await;
    let (status, code, message) = refusal(&e);
    assert_eq!((status, code), (400, "INVALID_REQUEST"));
    assert!(message.contains("分账接收方关系不存在"), "{message}");

    add_partner(&m).await;
    m.client
        .share_profit(&split(&m, &tx, "S2", 100))
        .await
        .unwrap();
    m.client
        .delete_profit_sharing_receiver(&m.appid, ReceiverType::MerchantId, PARTNER_MCHID)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let done = m.client.query_profit_sharing("S2", &tx).await.unwrap();
    assert_eq!(done.receivers[0].result, ReceiverResult::Closed);
    assert_eq!(
        done.receivers[0].fail_reason.as_deref(),
        Some("NO_RELATION")
    );
    assert_eq!(
        m.client
            .query_unsplit_amount(&tx)
            .await
            .unwrap()
            .unsplit_amount,
        1000
    );
}

#[tokio::test]
async fn an_order_paid_without_profit_sharing_cannot_be_split() {
    let (t, m) = with_partner().await;
    let tx = paid(&t, &m, "share_0005", 1000, false).await;
    let e = refused_split(&m, &tx, "S1", 100).await;
    assert_eq!(
        refusal(&e),
        (400, "INVALID_REQUEST", "非分账订单不支持分账")
    );
    assert!(!e.is_outcome_unknown());
}

#[tokio::test]
async fn a_receiver_name_is_encrypted_for_the_platform_certificate_too() {
    let t = TestSim::start().await;
    let m = t.register(Mode::Certificate).await;
    add_partner(&m).await;
}

#[tokio::test]
async fn a_receiver_that_listens_hears_of_its_split_and_of_the_return() {
    let t = TestSim::start().await;
    let m = t.register(Mode::PublicKey).await;
    let site = t.register(Mode::PublicKey).await;
    let mut rx = receiver(site.client.clone()).await;
    t.listen_for_profit_sharing(&site, &rx.url).await;
    let mut r = NewReceiver::new(
        &m.appid,
        ReceiverType::MerchantId,
        &site.mchid,
        RelationType::Partner,
    );
    r.name = Some("某某站点".into());
    m.client.add_profit_sharing_receiver(&r).await.unwrap();
    let tx = paid(&t, &m, "heard_0001", 1000, true).await;
    let mut to_site = split(&m, &tx, "H1", 0);
    to_site.receivers = vec![SplitReceiver::new(
        ReceiverType::MerchantId,
        &site.mchid,
        250,
        "站点分成",
    )];
    m.client.share_profit(&to_site).await.unwrap();

    // The split ends on its own; the site hears of it without anyone querying.
    let n = rx.next().await.unwrap();
    assert_eq!(n.event_type, "PROFITSHARING.SUCCESS");
    let NotificationEvent::ProfitSharingSuccess(paid_notice) = n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(
        (
            paid_notice.mchid.as_deref(),
            paid_notice.sub_mchid.as_deref(),
            paid_notice.transaction_id.as_str(),
            paid_notice.out_order_no.as_str()
        ),
        (Some(m.mchid.as_str()), None, tx.as_str(), "H1")
    );
    assert_eq!(
        paid_notice.receiver,
        ProfitSharingNoticeReceiver {
            receiver_type: ReceiverType::MerchantId,
            account: site.mchid.clone(),
            amount: 250,
            description: "站点分成".into(),
        }
    );

    let back = NewSplitReturn {
        sub_mchid: None,
        out_order_no: "H1".into(),
        out_return_no: "HR1".into(),
        return_mchid: site.mchid.clone(),
        amount: 40,
        description: "用户退款".into(),
    };
    m.client.return_profit_sharing(&back).await.unwrap();
    let n = rx.next().await.unwrap();
    let NotificationEvent::ProfitSharingReturn(returned) = n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(
        (returned.out_order_no.as_str(), returned.receiver.amount),
        ("HR1", 40)
    );
}

const SUB_MCHID: &str = "1900008001";

/// A service provider's order for its sub-merchant, paid with profit sharing; its transaction_id.
async fn partner_paid(t: &TestSim, sp: &Merchant, no: &str, total: i64) -> String {
    let mut order = PartnerNewOrder::new(
        &sp.appid,
        SUB_MCHID,
        "d",
        no,
        "https://shop.example.com/n",
        OrderAmount::cny(total),
    );
    order.settle_info = Some(SettleInfo {
        profit_sharing: true,
    });
    sp.client.create_partner_native_order(&order).await.unwrap();
    t.pay(&sp.mchid, no, Some(SUB_MCHID)).await;
    sp.client
        .query_partner_order(&out(no), SUB_MCHID)
        .await
        .unwrap()
        .transaction_id
        .unwrap()
}

fn partner_split(sp: &Merchant, transaction_id: &str, no: &str, amount: i64) -> NewSplit {
    NewSplit {
        sub_mchid: Some(SUB_MCHID.into()),
        ..split(sp, transaction_id, no, amount)
    }
}

#[tokio::test]
async fn a_service_provider_splits_for_its_sub_merchant_within_the_ratio_it_authorised() {
    let t = TestSim::start().await;
    let sp = t.register(Mode::PublicKey).await;
    let (status, body) = t
        .control(
            "/sim/wechat/sub-merchants",
            &serde_json::json!({"sp_mchid": sp.mchid, "sub_mchid": SUB_MCHID, "max_ratio": 2000}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sp.client
            .query_sub_merchant_max_ratio(SUB_MCHID)
            .await
            .unwrap()
            .max_ratio,
        2000
    );
    let tx = partner_paid(&t, &sp, "psplit_0001", 1000).await;

    // The provider's own receivers are not the sub-merchant's.
    add_partner(&sp).await;
    let e = sp
        .client
        .share_profit(&partner_split(&sp, &tx, "PS0", 100))
        .await
        .unwrap_err();
    assert!(refusal(&e).2.contains("分账接收方关系不存在"), "{e:?}");

    let mut r = NewReceiver::new(
        &sp.appid,
        ReceiverType::MerchantId,
        PARTNER_MCHID,
        RelationType::ServiceProvider,
    );
    r.sub_mchid = Some(SUB_MCHID.into());
    r.name = Some("深圳某某科技有限公司".into());
    sp.client.add_profit_sharing_receiver(&r).await.unwrap();

    let e = sp
        .client
        .share_profit(&partner_split(&sp, &tx, "PS1", 201))
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        (400, "INVALID_REQUEST", "分账金额超出最大分账比例")
    );
    let made = sp
        .client
        .share_profit(&partner_split(&sp, &tx, "PS1", 200))
        .await
        .unwrap();
    assert_eq!(made.sub_mchid.as_deref(), Some(SUB_MCHID));

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let done = sp
        .client
        .query_partner_profit_sharing(SUB_MCHID, "PS1", &tx)
        .await
        .unwrap();
    assert_eq!(
        (done.state, done.receivers[0].result),
        (SplitState::Finished, ReceiverResult::Success)
    );
    // The split is the sub-merchant's: not found among the provider's own.
    let e = sp
        .client
        .query_profit_sharing("PS1", &tx)
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).1, "RESOURCE_NOT_EXISTS");

    let back = NewSplitReturn {
        sub_mchid: Some(SUB_MCHID.into()),
        out_order_no: "PS1".into(),
        out_return_no: "PR1".into(),
        return_mchid: PARTNER_MCHID.into(),
        amount: 50,
        description: "用户退款".into(),
    };
    let returned = sp.client.return_profit_sharing(&back).await.unwrap();
    assert_eq!(
        sp.client
            .query_partner_profit_sharing_return(SUB_MCHID, "PR1", "PS1")
            .await
            .unwrap()
            .return_id,
        returned.return_id
    );

    let unfrozen = sp
        .client
        .unfreeze_profit_sharing(&NewUnfreeze {
            sub_mchid: Some(SUB_MCHID.into()),
            transaction_id: tx.clone(),
            out_order_no: "PS-unfreeze".into(),
            description: "解冻全部剩余资金".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        (
            unfrozen.receivers[0].account.as_str(),
            unfrozen.receivers[0].amount
        ),
        (SUB_MCHID, 800)
    );
    assert_eq!(
        sp.client
            .query_unsplit_amount(&tx)
            .await
            .unwrap()
            .unsplit_amount,
        0
    );
}

#[tokio::test]
async fn a_sub_merchant_not_bound_to_the_provider_cannot_be_split_for() {
    let t = TestSim::start().await;
    let sp = t.register(Mode::PublicKey).await;
    let mut r = NewReceiver::new(
        &sp.appid,
        ReceiverType::MerchantId,
        PARTNER_MCHID,
        RelationType::ServiceProvider,
    );
    r.sub_mchid = Some(SUB_MCHID.into());
    r.name = Some("深圳某某科技有限公司".into());
    let e = sp.client.add_profit_sharing_receiver(&r).await.unwrap_err();
    assert_eq!(refusal(&e), (403, "NO_AUTH", "受理关系不存在"));
    let e = sp
        .client
        .share_profit(&partner_split(
            &sp,
            "4200000000000000000000000001",
            "PS1",
            1,
        ))
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).1, "NO_AUTH");
    let e = sp
        .client
        .query_sub_merchant_max_ratio(SUB_MCHID)
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).1, "NO_AUTH");
}

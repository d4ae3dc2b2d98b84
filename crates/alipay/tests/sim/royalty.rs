//! Royalty: binding receivers, splitting a frozen trade among them, and the limits a split
//! meets — receivers not bound, more than is left, a refund taking the same money, a repeat.

// The setup helpers below are test support: a failed step should stop the test right there.
#![allow(clippy::unwrap_used)]

use alipay::{
    AccountType, Error, Fen, Order, Receiver, RefundRequest, RelationQuery, RelationRequest,
    RelationResultCode, RoyaltyOperation, RoyaltySplit, RoyaltyState, SettleQuery, SettleRequest,
};

use crate::helpers::{APP_ID, TestApp, out, spawn, unique};

const OPERATOR: &str = "2088101126708402";
const SITE: &str = "2088101126765726";

fn receiver(account: &str, name: &str) -> Receiver {
    Receiver {
        account_type: AccountType::UserId,
        account: account.to_owned(),
        name: Some(name.to_owned()),
        memo: Some(format!("{name} 的分成")),
    }
}

async fn bind(app: &TestApp, receivers: Vec<Receiver>) {
    let bound = app
        .client
        .bind_royalty_receivers(&RelationRequest {
            out_request_no: unique("bind").replace('-', "_"),
            receivers,
        })
        .await
        .unwrap();
    assert_eq!(bound.result_code, RelationResultCode::Success);
}

/// A trade opened with `royalty_freeze` and paid; its Alipay trade number.
async fn frozen_paid_trade(app: &TestApp, fen: i64) -> (String, String) {
    let no = unique("split");
    let mut order = Order::new(&no, Fen(fen), "split");
    order.royalty_freeze = true;
    app.client.precreate(&order).await.unwrap();
    assert!(app.pay(&no).await.status().is_success());
    let trade = app.client.query_order(&out(&no)).await.unwrap();
    assert_eq!(sim_trade(app, &no).await["royalty_freeze"], true);
    (no, trade.trade_no)
}

fn settlement(trade_no: &str, request_no: &str, splits: &[(&str, i64)]) -> SettleRequest {
    SettleRequest {
        out_request_no: request_no.to_owned(),
        trade_no: trade_no.to_owned(),
        splits: splits
            .iter()
            .map(|(to, fen)| RoyaltySplit::transfer(AccountType::UserId, *to, Fen(*fen)))
            .collect(),
        royalty_finish: false,
    }
}

fn refund(no: &str, request_no: &str, fen: i64) -> RefundRequest {
    RefundRequest {
        trade: out(no),
        out_request_no: request_no.to_owned(),
        refund_amount: Fen(fen),
        refund_reason: None,
    }
}

/// The trade as the simulator holds it.
async fn sim_trade(app: &TestApp, no: &str) -> serde_json::Value {
    app.http
        .get(format!(
            "{}/sim/alipay/trades/{no}?app_id={APP_ID}",
            app.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// What the simulator holds for the trade: (refunded, settled) in fen.
async fn ledger(app: &TestApp, no: &str) -> (i64, i64) {
    let t = sim_trade(app, no).await;
    (
        t["refunded_fen"].as_i64().unwrap(),
        t["settled_fen"].as_i64().unwrap(),
    )
}

fn code(err: &Error) -> &str {
    err.upstream_code().unwrap_or("not an Alipay refusal")
}

#[tokio::test]
async fn receivers_are_bound_listed_and_unbound() {
    let app = spawn().await;
    bind(
        &app,
        vec![receiver(OPERATOR, "运营方"), receiver(SITE, "站点")],
    )
    .await;
    // Binding again is not an error.
    bind(&app, vec![receiver(SITE, "站点")]).await;

    let query = RelationQuery {
        out_request_no: "q1".into(),
        page_num: 1,
        page_size: 1,
    };
    let page = app.client.query_royalty_receivers(&query).await.unwrap();
    assert_eq!((page.total_record_num, page.total_page_num), (2, 2));
    assert_eq!(page.receivers.len(), 1);
    // Alipay's query gives the account and memo, never the name.
    assert_eq!(page.receivers[0].name, None);
    assert!(page.receivers[0].memo.is_some());

    let unbound = app
        .client
        .unbind_royalty_receivers(&RelationRequest {
            out_request_no: "u1".into(),
            receivers: vec![Receiver {
                name: None,
                ..receiver(SITE, "")
            }],
        })
        .await
        .unwrap();
    assert_eq!(unbound.result_code, RelationResultCode::Success);
    let page = app
        .client
        .query_royalty_receivers(&RelationQuery {
            page_size: 20,
            ..query
        })
        .await
        .unwrap();
    let accounts: Vec<&str> = page.receivers.iter().map(|r| r.account.as_str()).collect();
    assert_eq!(accounts, [OPERATOR]);
    assert_eq!(page.receivers[0].account_type, AccountType::UserId);
}

#[tokio::test]
async fn a_bind_without_receivers_or_with_an_unknown_type_is_refused() {
    let app = spawn().await;
    let err = app
        .client
        .bind_royalty_receivers(&RelationRequest {
            out_request_no: "b0".into(),
            receivers: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ACQ.RECEIVER_LIST_EMPTY");
    let err = app
        .client
        .execute::<serde_json::Value>(
            "alipay.trade.royalty.relation.bind",
            &serde_json::json!({
                "out_request_no": "b1",
                "receiver_list": [{ "type": "cardAliasNo", "account": "x", "name": "n" }],
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ACQ.INVALID_RECEIVER_TYPE");
}

#[tokio::test]
async fn a_frozen_trade_is_split_and_each_split_reads_back_as_succeeded() {
    let app = spawn().await;
    bind(
        &app,
        vec![receiver(OPERATOR, "运营方"), receiver(SITE, "站点")],
    )
    .await;
    let (no, trade_no) = frozen_paid_trade(&app, 10_000).await;

    let mut req = settlement(&trade_no, "s1", &[(OPERATOR, 60), (SITE, 3_000)]);
    req.royalty_finish = true;
    let settled = app.client.settle(&req).await.unwrap();
    assert_eq!(settled.trade_no, trade_no);
    let settle_no = settled.settle_no.unwrap();

    for query in [
        SettleQuery::SettleNo(settle_no.clone()),
        SettleQuery::Request {
            trade_no: trade_no.clone(),
            out_request_no: "s1".into(),
        },
    ] {
        let q = app.client.query_settle(&query).await.unwrap();
        assert_eq!(q.out_request_no.as_deref(), Some("s1"));
        assert!(q.operation_dt.is_some());
        let splits: Vec<(Option<&str>, Fen, RoyaltyState)> = q
            .details
            .iter()
            .map(|d| (d.trans_in.as_deref(), d.amount, d.state))
            .collect();
        assert_eq!(
            splits,
            [
                (Some(OPERATOR), Fen(60), RoyaltyState::Success),
                (Some(SITE), Fen(3_000), RoyaltyState::Success),
            ]
        );
        assert!(
            q.details
                .iter()
                .all(|d| d.operation_type == RoyaltyOperation::Transfer)
        );
    }
    assert_eq!(ledger(&app, &no).await, (0, 3_060));

    // Finished: what was left went back to the merchant, so nothing more can be split, but the
    // merchant's part can still be refunded.
    let err = app
        .client
        .settle(&settlement(&trade_no, "s2", &[(OPERATOR, 1)]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR");
    app.client.refund(&refund(&no, "r1", 6_940)).await.unwrap();
    let err = app.client.refund(&refund(&no, "r2", 1)).await.unwrap_err();
    assert_eq!(code(&err), "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    assert_eq!(ledger(&app, &no).await, (6_940, 3_060));
}

#[tokio::test]
async fn splitting_more_than_is_left_is_refused_and_moves_nothing() {
    let app = spawn().await;
    bind(&app, vec![receiver(OPERATOR, "运营方")]).await;
    let (no, trade_no) = frozen_paid_trade(&app, 1_000).await;

    app.client
        .settle(&settlement(&trade_no, "s1", &[(OPERATOR, 600)]))
        .await
        .unwrap();
    app.client.refund(&refund(&no, "r1", 300)).await.unwrap();
    let err = app
        .client
        .settle(&settlement(&trade_no, "s2", &[(OPERATOR, 101)]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR");
    assert!(!err.is_outcome_unknown());
    // A refused settlement does not exist afterwards.
    let err = app
        .client
        .query_settle(&SettleQuery::Request {
            trade_no: trade_no.clone(),
            out_request_no: "s2".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Upstream { .. }), "{err:?}");

    // Exactly what is left is fine.
    app.client
        .settle(&settlement(&trade_no, "s3", &[(OPERATOR, 100)]))
        .await
        .unwrap();
    assert_eq!(ledger(&app, &no).await, (300, 700));
}

#[tokio::test]
async fn a_receiver_not_bound_is_refused_even_beside_bound_ones() {
    let app = spawn().await;
    bind(&app, vec![receiver(OPERATOR, "运营方")]).await;
    let (no, trade_no) = frozen_paid_trade(&app, 1_000).await;

    let err = app
        .client
        .settle(&settlement(&trade_no, "s1", &[(OPERATOR, 10), (SITE, 10)]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ACQ.ROYALTY_RECEIVER_INVALID");
    assert_eq!(ledger(&app, &no).await, (0, 0));

    // Unbinding takes the permission away again.
    app.client
        .unbind_royalty_receivers(&RelationRequest {
            out_request_no: "u1".into(),
            receivers: vec![receiver(OPERATOR, "运营方")],
        })
        .await
        .unwrap();
    let err = app
        .client
        .settle(&settlement(&trade_no, "s2", &[(OPERATOR, 10)]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ACQ.ROYALTY_RECEIVER_INVALID");
}

#[tokio::test]
async fn a_settlement_racing_a_refund_never_takes_more_than_was_paid() {
    let app = spawn().await;
    bind(&app, vec![receiver(OPERATOR, "运营方")]).await;
    for round in 0..5 {
        let (no, trade_no) = frozen_paid_trade(&app, 1_000).await;
        let request_no = format!("race{round}");
        let split = settlement(&trade_no, &request_no, &[(OPERATOR, 700)]);
        let back = refund(&no, &request_no, 700);
        let (settled, refunded) = tokio::join!(app.client.settle(&split), app.client.refund(&back));
        // Whichever came second found too little left, and said so in Alipay's terms.
        match (&settled, &refunded) {
            (Ok(_), Err(e)) => assert_eq!(code(e), "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"),
            (Err(e), Ok(_)) => assert_eq!(code(e), "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR"),
            other => panic!("both or neither went through: {other:?}"),
        }
        let (r, s) = ledger(&app, &no).await;
        assert_eq!(r + s, 700);
    }
}

#[tokio::test]
async fn the_same_out_request_no_again_is_the_same_settlement() {
    let app = spawn().await;
    bind(
        &app,
        vec![receiver(OPERATOR, "运营方"), receiver(SITE, "站点")],
    )
    .await;
    let (no, trade_no) = frozen_paid_trade(&app, 1_000).await;
    let req = settlement(&trade_no, "s1", &[(OPERATOR, 400)]);

    let first = app.client.settle(&req).await.unwrap();
    let again = app.client.settle(&req).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(ledger(&app, &no).await, (0, 400));

    // Other splits under the same number are not a second settlement.
    let err = app
        .client
        .settle(&settlement(&trade_no, "s1", &[(SITE, 400)]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ACQ.DISCORDANT_REPEAT_REQUEST");
    assert_eq!(ledger(&app, &no).await, (0, 400));
}

#[tokio::test]
async fn an_unpaid_trade_cannot_be_split() {
    let app = spawn().await;
    bind(&app, vec![receiver(OPERATOR, "运营方")]).await;
    let no = unique("unpaid");
    let mut order = Order::new(&no, Fen(100), "unpaid");
    order.royalty_freeze = true;
    app.client.precreate(&order).await.unwrap();
    let trade_no = app.client.query_order(&out(&no)).await.unwrap().trade_no;
    let err = app
        .client
        .settle(&settlement(&trade_no, "s1", &[(OPERATOR, 10)]))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ACQ.TRADE_STATUS_ERROR");
}

//! Refunds in the store: the reservation against what was paid, idempotent numbers, scoping.

#![allow(clippy::unwrap_used)] // test helpers: a failed set-up step is a failing test

use gateway::domain::{
    Amount, NewRefund, Order, OrderRequest, OrderStatus, OutRefundNo, RefundRequest, RefundStatus,
    Site, UpstreamFields,
};
use gateway::domain::{EventType, Mode, Refund};
use gateway::store::{
    FinishOutcome, InsertOutcome, RefundFinish, RefundTotals, ReserveOutcome, Store, Transition,
};

use crate::on_both_backends;
use crate::support::{TestDb, insert, new_site, now, seed_request};

/// A paid order of `fen`.
async fn paid_order(store: &Store, site: &Site, out_trade_no: &str, fen: i64) -> Order {
    let request = OrderRequest {
        amount: Amount::parse(fen).unwrap(),
        ..seed_request(out_trade_no)
    };
    let InsertOutcome::Inserted(order) = insert(store, site, request).await else {
        panic!("{out_trade_no} existed");
    };
    for (from, to) in [
        (OrderStatus::Created, OrderStatus::Pending),
        (OrderStatus::Pending, OrderStatus::Paid),
    ] {
        let t = Transition {
            order_id: order.id,
            from,
            to,
            reason: "test".into(),
            upstream: UpstreamFields::default(),
            at: now(),
        };
        assert!(store.transition(&t).await.unwrap().won());
    }
    store
        .find_order(&site.id, &order.out_trade_no)
        .await
        .unwrap()
        .unwrap()
}

fn refund(out_refund_no: &str, fen: i64) -> RefundRequest {
    RefundRequest {
        out_refund_no: OutRefundNo::parse(out_refund_no).unwrap(),
        amount: Amount::parse(fen).unwrap(),
        reason: None,
        notify_url: None,
    }
}

async fn reserve(store: &Store, order: &Order, request: RefundRequest) -> ReserveOutcome {
    store
        .reserve_refund(&NewRefund::prepare(order, request, now()), later())
        .await
        .unwrap()
}

async fn totals(store: &Store, order: &Order) -> RefundTotals {
    store
        .order_refund_state(&order.site_id, order.id)
        .await
        .unwrap()
        .unwrap()
        .1
}

async fn reserved(store: &Store, order: &Order, out_refund_no: &str, fen: i64) -> Refund {
    match reserve(store, order, refund(out_refund_no, fen)).await {
        ReserveOutcome::Reserved(r) => r,
        other => panic!("{out_refund_no}: {other:?}"),
    }
}

fn finish(refund: &Refund, to: RefundStatus) -> RefundFinish {
    RefundFinish {
        refund_id: refund.id,
        to,
        channel_refund_id: Some(format!("50300000{}", refund.id)),
        error: (to == RefundStatus::Failed).then(|| "CLOSED".to_owned()),
        at: now(),
    }
}

async fn order_status(store: &Store, order: &Order) -> OrderStatus {
    store
        .order_refund_state(&order.site_id, order.id)
        .await
        .unwrap()
        .unwrap()
        .0
}

on_both_backends! {
    async fn refunds_that_give_back_everything_make_the_order_refunded(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_refund_001", 10_000).await;
        let first = reserved(&db.store, &order, "r_001", 3_000).await;
        let second = reserved(&db.store, &order, "r_002", 7_000).await;
        let FinishOutcome::Applied { refund: ended, order_refunded: false, event_id } =
            db.store.finish_refund(&finish(&first, RefundStatus::Succeeded)).await.unwrap()
        else {
            panic!("first finish lost, or 30.00 of 100.00 refunded the order");
        };
        assert_eq!(ended.status, RefundStatus::Succeeded);
        assert!(ended.succeeded_at.is_some());
        assert_eq!(ended.channel_refund_id, Some(format!("50300000{}", first.id)));
        assert_eq!(order_status(&db.store, &order).await, OrderStatus::Paid, "partly refunded stays paid");
        // The site is told, by an event written with the change, carrying the refund.
        let event = db.store.notification(&event_id).await.unwrap().unwrap();
        assert_eq!(event.event_type, EventType::RefundSuccess);
        assert_eq!(event.refund.as_ref().map(|r| r.id), Some(first.id));
        assert_eq!(db.count(&format!("SELECT COUNT(*) FROM jobs WHERE subject = '{event_id}'")).await, 1, "its delivery is queued");
        let body: serde_json::Value = serde_json::from_slice(&gateway::notify::body(&event, Mode::Sandbox)).unwrap();
        assert_eq!(body, serde_json::json!({
            "event_id": event_id,
            "event_type": "REFUND.SUCCESS",
            "site_id": site.id.as_str(),
            "out_trade_no": "order_refund_001",
            "out_refund_no": "r_001",
            "refund_status": "succeeded",
            "amount": {"refund": 3000, "total": 10000, "currency": "CNY"},
            "channel_refund_id": format!("50300000{}", first.id),
            "succeeded_at": ended.succeeded_at.unwrap().to_rfc3339(),
            "reason": null,
            "channel": "wechat",
            "method": "native",
            "livemode": false,
        }));
        let outcome = db.store.finish_refund(&finish(&second, RefundStatus::Succeeded)).await.unwrap();
        assert!(matches!(outcome, FinishOutcome::Applied { order_refunded: true, .. }), "{outcome:?}");
        assert_eq!(order_status(&db.store, &order).await, OrderStatus::Refunded);
        assert_eq!(totals(&db.store, &order).await, RefundTotals { paid: 10_000, reserved: 10_000, refunded: 10_000 });
        let history = db.store.order_events(&site.id, order.id).await.unwrap();
        let last = history.last().unwrap();
        assert_eq!((last.from, last.to), (OrderStatus::Paid, OrderStatus::Refunded));
        assert_eq!(
            reserve(&db.store, &order, refund("r_003", 1)).await,
            ReserveOutcome::NotRefundable(OrderStatus::Refunded)
        );
    }

    async fn a_failed_refund_frees_its_amount_and_an_abnormal_one_keeps_it(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_refund_001", 10_000).await;
        let failed = reserved(&db.store, &order, "r_001", 6_000).await;
        let abnormal = reserved(&db.store, &order, "r_002", 4_000).await;
        let failing = finish(&failed, RefundStatus::Failed);
        assert!(db.store.finish_refund(&failing).await.unwrap().applied());
        // A millisecond later: the site's events are listed by when they happened, and two of the
        // same millisecond have no order between them.
        let later = RefundFinish { at: failing.at.plus(std::time::Duration::from_millis(1)), ..finish(&abnormal, RefundStatus::Abnormal) };
        assert!(db.store.finish_refund(&later).await.unwrap().applied());
        let events = db.store.notifications_for_order(&site.id, order.id).await.unwrap();
        let told: Vec<_> = events.iter().map(|e| (e.event_type, e.refund.as_ref().map(|r| r.out_refund_no.as_str().to_owned()))).collect();
        assert_eq!(told, [
            (EventType::TransactionSuccess, None),
            (EventType::RefundClosed, Some("r_001".to_owned())),
            (EventType::RefundAbnormal, Some("r_002".to_owned())),
        ]);
        assert_eq!(totals(&db.store, &order).await, RefundTotals { paid: 10_000, reserved: 4_000, refunded: 0 });
        let failed_now = db.store.find_refund(&site.id, &failed.out_refund_no).await.unwrap().unwrap();
        assert_eq!((failed_now.status, failed_now.upstream_error.as_deref()), (RefundStatus::Failed, Some("CLOSED")));
        // What failed can be refunded again; what is abnormal cannot.
        reserved(&db.store, &order, "r_003", 6_000).await;
        assert_eq!(
            reserve(&db.store, &order, refund("r_004", 1)).await,
            ReserveOutcome::ExceedsPaid { refundable: 0 }
        );
    }

    async fn a_refund_ends_once_however_often_or_concurrently_its_end_arrives(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_refund_001", 10_000).await;
        let only = reserved(&db.store, &order, "r_001", 10_000).await;
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let store = db.store.clone();
                // Some say succeeded, some failed: whichever lands first is the end.
                let to = if i % 2 == 0 { RefundStatus::Succeeded } else { RefundStatus::Failed };
                let f = finish(&only, to);
                tokio::spawn(async move { store.finish_refund(&f).await.unwrap() })
            })
            .collect();
        let mut applied = Vec::new();
        for task in tasks {
            if let FinishOutcome::Applied { refund: ended, .. } = task.await.unwrap() {
                applied.push(ended.status);
            }
        }
        assert_eq!(applied.len(), 1, "{applied:?}");
        assert_eq!(db.count("SELECT COUNT(*) FROM notification_events WHERE refund_id IS NOT NULL").await, 1, "told once");
        let t = totals(&db.store, &order).await;
        match applied[0] {
            RefundStatus::Succeeded => {
                assert_eq!(t, RefundTotals { paid: 10_000, reserved: 10_000, refunded: 10_000 });
                assert_eq!(order_status(&db.store, &order).await, OrderStatus::Refunded);
            }
            RefundStatus::Failed => {
                assert_eq!(t, RefundTotals { paid: 10_000, reserved: 0, refunded: 0 });
                assert_eq!(order_status(&db.store, &order).await, OrderStatus::Paid);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            db.store.finish_refund(&finish(&only, RefundStatus::Abnormal)).await.unwrap(),
            FinishOutcome::Lost(_)
        ));
        assert!(db.store.finish_refund(&finish(&only, RefundStatus::Processing)).await.is_err());
    }

    async fn refunds_reserve_up_to_what_was_paid_and_not_a_fen_more(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_refund_001", 10_000).await;
        let ReserveOutcome::Reserved(first) = reserve(&db.store, &order, refund("r_001", 3_000)).await else {
            panic!("30.00 of 100.00 refused");
        };
        assert_eq!(first.status, RefundStatus::Processing);
        assert_eq!(first.order_id, order.id);
        assert!(first.upstream_refund_no.as_str().starts_with("pr"));
        assert!(matches!(reserve(&db.store, &order, refund("r_002", 7_000)).await, ReserveOutcome::Reserved(_)));
        assert_eq!(
            reserve(&db.store, &order, refund("r_003", 1)).await,
            ReserveOutcome::ExceedsPaid { refundable: 0 }
        );
        assert_eq!(totals(&db.store, &order).await, RefundTotals { paid: 10_000, reserved: 10_000, refunded: 0 });
        let listed = db.store.refunds_for_order(&site.id, order.id).await.unwrap();
        let numbers: Vec<_> = listed.iter().map(|r| r.out_refund_no.as_str()).collect();
        assert_eq!(numbers, ["r_001", "r_002"], "the refused one left nothing behind");
    }

    async fn a_refund_number_is_one_refund_whatever_is_retried(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_refund_001", 10_000).await;
        let ReserveOutcome::Reserved(first) = reserve(&db.store, &order, refund("r_001", 3_000)).await else {
            panic!("refused");
        };
        // The same number again, same or other content: the first refund, nothing more reserved.
        for again in [refund("r_001", 3_000), refund("r_001", 5_000)] {
            let ReserveOutcome::Existing(existing) = reserve(&db.store, &order, again.clone()).await else {
                panic!("a second refund under one number");
            };
            assert_eq!(existing.id, first.id);
            assert_eq!(existing.fingerprint == again.fingerprint(order.id), again.amount.as_i64() == 3_000);
        }
        assert_eq!(totals(&db.store, &order).await.reserved, 3_000);
        // Another site may use the same number for its own refund.
        let other_site = new_site(&db.store, "other").await;
        let other = paid_order(&db.store, &other_site, "order_refund_001", 500).await;
        assert!(matches!(reserve(&db.store, &other, refund("r_001", 500)).await, ReserveOutcome::Reserved(_)));
        assert!(db.store.find_refund(&other_site.id, &OutRefundNo::parse("r_001").unwrap()).await.unwrap().unwrap().order_id == other.id);
        assert!(db.store.refunds_for_order(&other_site.id, order.id).await.unwrap().is_empty(), "scoped by site");
    }

    async fn only_a_paid_order_can_be_refunded(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let InsertOutcome::Inserted(created) = insert(&db.store, &site, seed_request("order_unpaid_01")).await else {
            panic!("existed");
        };
        assert_eq!(
            reserve(&db.store, &created, refund("r_001", 100)).await,
            ReserveOutcome::NotRefundable(OrderStatus::Created)
        );
        assert_eq!(db.count("SELECT COUNT(*) FROM refunds").await, 0);
    }

    async fn twenty_concurrent_refunds_of_a_tenth_admit_exactly_ten(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_refund_001", 10_000).await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = db.store.clone();
                let new = NewRefund::prepare(&order, refund(&format!("r_{i:03}"), 1_000), now());
                tokio::spawn(async move { store.reserve_refund(&new, later()).await.unwrap() })
            })
            .collect();
        let mut reserved = 0;
        for task in tasks {
            match task.await.unwrap() {
                ReserveOutcome::Reserved(_) => reserved += 1,
                ReserveOutcome::ExceedsPaid { refundable } => assert!(refundable < 1_000, "{refundable}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(reserved, 10);
        assert_eq!(db.count("SELECT COUNT(*) FROM refunds").await, 10);
        assert_eq!(db.count("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM refunds").await, 10_000);
        assert_eq!(totals(&db.store, &order).await.reserved, 10_000);
    }

    async fn concurrent_retries_of_one_refund_number_store_one_refund(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_refund_001", 10_000).await;
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = db.store.clone();
                let new = NewRefund::prepare(&order, refund("r_same", 1_000), now());
                tokio::spawn(async move { store.reserve_refund(&new, later()).await.unwrap() })
            })
            .collect();
        let mut ids = std::collections::BTreeSet::new();
        let mut reserved = 0;
        for task in tasks {
            match task.await.unwrap() {
                ReserveOutcome::Reserved(r) => {
                    reserved += 1;
                    ids.insert(r.id);
                }
                ReserveOutcome::Existing(r) => {
                    ids.insert(r.id);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((reserved, ids.len()), (1, 1));
        assert_eq!(totals(&db.store, &order).await.reserved, 1_000, "reserved once");
    }
}

/// When a refund stored by a test is first checked: after the test is over, so that only the
/// test moves it.
fn later() -> gateway::domain::Timestamp {
    gateway::domain::Timestamp::now().plus(std::time::Duration::from_secs(3600))
}

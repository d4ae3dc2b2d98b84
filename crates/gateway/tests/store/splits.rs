//! Splits in the store: one reservation with refunds against what was paid, the channel's ratio
//! in it, idempotent numbers, and a split ended once with its ledger movement and event.

#![allow(clippy::unwrap_used)] // test helpers: a failed set-up step is a failing test

use gateway::domain::{
    Amount, NewRefund, NewSplit, Order, OrderRequest, OrderStatus, OutRefundNo, OutSplitNo,
    ReceiverAccount, ReceiverResult, ReceiverType, RefundRequest, Site, Split, SplitReceiver,
    SplitReceivers, SplitRequest, SplitShare, SplitStatus, Timestamp, UpstreamFields,
};
use gateway::store::{
    InsertOutcome, ReserveOutcome, SplitFinish, SplitFinishOutcome, SplitReserveOutcome, Store,
    Transition,
};

use crate::on_both_backends;
use crate::support::{TestDb, insert, new_site, now, seed_request};

/// A paid order of `fen`, made for profit sharing when `sharing`.
async fn paid_order(store: &Store, site: &Site, no: &str, fen: i64, sharing: bool) -> Order {
    let request = OrderRequest {
        amount: Amount::parse(fen).unwrap(),
        profit_sharing: sharing,
        ..seed_request(no)
    };
    let InsertOutcome::Inserted(order) = insert(store, site, request).await else {
        panic!("{no} existed");
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

fn request(no: &str, amounts: &[i64]) -> SplitRequest {
    let receivers = amounts
        .iter()
        .enumerate()
        .map(|(i, fen)| SplitReceiver {
            kind: ReceiverType::WechatOpenid,
            account: ReceiverAccount::parse(&format!("openid_{i}")).unwrap(),
            amount: Amount::parse(*fen).unwrap(),
            name: None,
        })
        .collect();
    SplitRequest {
        out_split_no: OutSplitNo::parse(no).unwrap(),
        receivers: SplitReceivers::parse(receivers).unwrap(),
        description: None,
        unfreeze_rest: false,
    }
}

fn later() -> Timestamp {
    now().plus(std::time::Duration::from_secs(3600))
}

async fn reserve(store: &Store, order: &Order, r: SplitRequest, cap: i64) -> SplitReserveOutcome {
    store
        .reserve_split(&NewSplit::prepare(order, r, now()), cap, later())
        .await
        .unwrap()
}

async fn reserved(store: &Store, order: &Order, r: SplitRequest, cap: i64) -> Split {
    match reserve(store, order, r, cap).await {
        SplitReserveOutcome::Reserved(s) => s,
        other => panic!("{other:?}"),
    }
}

fn finish(split: &Split, results: &[ReceiverResult]) -> SplitFinish {
    let shares: Vec<SplitShare> = split
        .shares
        .iter()
        .zip(results)
        .map(|(s, r)| SplitShare {
            result: *r,
            ..s.clone()
        })
        .collect();
    let paid = results.contains(&ReceiverResult::Succeeded);
    SplitFinish {
        split_id: split.id,
        to: if paid {
            SplitStatus::Succeeded
        } else {
            SplitStatus::Failed
        },
        shares,
        channel_split_id: Some("30000000012020".to_owned()),
        error: (!paid).then(|| "CLOSED".to_owned()),
        at: now(),
    }
}

on_both_backends! {
    async fn splits_and_refunds_racing_on_one_order_share_what_was_paid(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_race", 10_000, true).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = db.store.clone();
            let split = NewSplit::prepare(&order, request(&format!("s_{i:02}"), &[1000]), now());
            tasks.push(tokio::spawn(async move {
                matches!(store.reserve_split(&split, 10_000, later()).await.unwrap(), SplitReserveOutcome::Reserved(_))
            }));
            let store = db.store.clone();
            let refund = NewRefund::prepare(&order, RefundRequest {
                out_refund_no: OutRefundNo::parse(&format!("r_{i:02}")).unwrap(),
                amount: Amount::parse(1000).unwrap(),
                reason: None,
                notify_url: None,
            }, now());
            tasks.push(tokio::spawn(async move {
                matches!(store.reserve_refund(&refund, later()).await.unwrap(), ReserveOutcome::Reserved(_))
            }));
        }
        let mut taken = 0;
        for t in tasks {
            taken += i64::from(t.await.unwrap());
        }
        assert_eq!(taken, 10, "ten tenths in all, of both kinds");
        let held = db.store.order_held(&site.id, order.id).await.unwrap().unwrap().1;
        assert_eq!(held.refund_reserved + held.split_reserved, 10_000);
        assert_eq!(held.free(), 0);
        // Nothing is left for either kind.
        assert!(matches!(reserve(&db.store, &order, request("s_more", &[1]), 10_000).await,
            SplitReserveOutcome::ExceedsPaid { splittable: 0 }));
    }

    async fn the_channels_ratio_bounds_an_orders_splits_together(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_ratio", 10_000, true).await;
        assert_eq!(reserve(&db.store, &order, request("s_1", &[3001]), 3000).await,
            SplitReserveOutcome::ExceedsRatio { left: 3000 });
        reserved(&db.store, &order, request("s_2", &[1000, 1000]), 3000).await;
        assert_eq!(reserve(&db.store, &order, request("s_3", &[1001]), 3000).await,
            SplitReserveOutcome::ExceedsRatio { left: 1000 });
        assert!(db.store.find_split(&site.id, &OutSplitNo::parse("s_3").unwrap()).await.unwrap().is_none(), "nothing stored");
        reserved(&db.store, &order, request("s_4", &[1000]), 3000).await;
        // Refunds take the rest, and no more.
        let new = NewRefund::prepare(&order, RefundRequest {
            out_refund_no: OutRefundNo::parse("r_1").unwrap(),
            amount: Amount::parse(7001).unwrap(),
            reason: None,
            notify_url: None,
        }, now());
        assert_eq!(db.store.reserve_refund(&new, later()).await.unwrap(), ReserveOutcome::ExceedsPaid { refundable: 7000 });
    }

    async fn only_a_paid_order_made_for_sharing_can_be_split(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let plain = paid_order(&db.store, &site, "order_plain", 10_000, false).await;
        assert_eq!(reserve(&db.store, &plain, request("s_plain", &[100]), 10_000).await,
            SplitReserveOutcome::NotForProfitSharing);
        let request_of = OrderRequest { profit_sharing: true, ..seed_request("order_pending") };
        let InsertOutcome::Inserted(pending) = insert(&db.store, &site, request_of).await else { panic!() };
        assert_eq!(reserve(&db.store, &pending, request("s_pending", &[100]), 10_000).await,
            SplitReserveOutcome::NotSplittable(OrderStatus::Created));
        // Another site's order is not found.
        let other = new_site(&db.store, "other").await;
        let theirs = Order { site_id: other.id.clone(), ..plain.clone() };
        let theirs = NewSplit::prepare(&theirs, request("s_theirs", &[100]), now());
        assert!(db.store.reserve_split(&theirs, 10_000, later()).await.is_err());
    }

    async fn a_split_ends_once_booking_what_was_paid_and_freeing_the_rest(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = paid_order(&db.store, &site, "order_end", 10_000, true).await;
        let split = reserved(&db.store, &order, request("s_end", &[1000, 500]), 10_000).await;
        assert_eq!((split.status, split.amount.as_i64()), (SplitStatus::Processing, 1500));
        assert!(split.shares.iter().all(|s| s.result == ReceiverResult::Pending));
        // The same number again is the split there is.
        assert!(matches!(reserve(&db.store, &order, request("s_end", &[1000, 500]), 10_000).await,
            SplitReserveOutcome::Existing(s) if s.id == split.id));

        let f = finish(&split, &[ReceiverResult::Succeeded, ReceiverResult::Failed]);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (store, f) = (db.store.clone(), f.clone());
            tasks.push(tokio::spawn(async move { store.finish_split(&f).await.unwrap() }));
        }
        let mut applied = 0;
        for t in tasks {
            applied += i32::from(matches!(t.await.unwrap(), SplitFinishOutcome::Applied { .. }));
        }
        assert_eq!(applied, 1);
        let now_split = db.store.split_by_id(split.id).await.unwrap().unwrap();
        assert_eq!(now_split.status, SplitStatus::Succeeded);
        assert_eq!(now_split.shares[1].result, ReceiverResult::Failed);
        assert!(now_split.finished_at.is_some());
        // What was paid stays held; the failed share is free again.
        let held = db.store.order_held(&site.id, order.id).await.unwrap().unwrap().1;
        assert_eq!(held.split_reserved, 1000);
        assert_eq!(db.store.site_balance(&site.id).await.unwrap().shared, 1000);
        assert_eq!(db.count("SELECT COUNT(*) FROM ledger_movements WHERE kind = 'split'").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) FROM notification_events WHERE event_type = 'PROFITSHARING.SUCCESS'").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE kind = 'check_split'").await, 0);

        // A split nothing of which was paid fails, books nothing and frees its amount.
        let none = reserved(&db.store, &order, request("s_none", &[2000]), 10_000).await;
        db.store.finish_split(&finish(&none, &[ReceiverResult::Failed])).await.unwrap();
        let held = db.store.order_held(&site.id, order.id).await.unwrap().unwrap().1;
        assert_eq!(held.split_reserved, 1000);
        assert_eq!(db.store.site_balance(&site.id).await.unwrap().shared, 1000);
        assert_eq!(db.count("SELECT COUNT(*) FROM notification_events WHERE event_type = 'PROFITSHARING.FAILED'").await, 1);
        // An end that contradicts itself is refused whole.
        let odd = reserved(&db.store, &order, request("s_odd", &[100]), 10_000).await;
        let mut f = finish(&odd, &[ReceiverResult::Succeeded]);
        f.to = SplitStatus::Failed;
        assert!(db.store.finish_split(&f).await.is_err());
        assert_eq!(db.store.split_by_id(odd.id).await.unwrap().unwrap().status, SplitStatus::Processing);
    }
}

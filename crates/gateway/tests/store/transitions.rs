use gateway::domain::{OrderStatus, Timestamp, UpstreamFields};
use gateway::store::{StoreError, Transition, TransitionOutcome};

use crate::on_both_backends;
use crate::support::{TestDb, created_order, new_site, now};

fn transition(
    order: &gateway::domain::Order,
    from: OrderStatus,
    to: OrderStatus,
    reason: &str,
) -> Transition {
    Transition {
        order_id: order.id,
        from,
        to,
        reason: reason.to_owned(),
        upstream: UpstreamFields::default(),
        at: now(),
    }
}

on_both_backends! {
    async fn a_transition_changes_the_status_and_writes_its_event(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let mut t = transition(&order, OrderStatus::Created, OrderStatus::Pending, "upstream_accepted");
        t.upstream.code_url = Some("weixin://wxpay/bizpayurl?pr=abc".into());
        t.upstream.prepay_id = Some("wx2024".into());
        let TransitionOutcome::Applied { order: pending, event_id: None } = db.store.transition(&t).await.unwrap() else {
            panic!("lost an uncontended transition");
        };
        assert_eq!(pending.status, OrderStatus::Pending);
        assert_eq!(pending.version, order.version + 1);
        assert_eq!(pending.upstream.code_url.as_deref(), Some("weixin://wxpay/bizpayurl?pr=abc"));
        assert_eq!(pending.updated_at, t.at);

        let mut paid = transition(&order, OrderStatus::Pending, OrderStatus::Paid, "callback TRANSACTION.SUCCESS");
        paid.upstream.transaction_id = Some("420000000000000000000".into());
        let paid_order = db.store.transition(&paid).await.unwrap();
        assert!(paid_order.won());
        let paid_order = paid_order.order();
        assert_eq!(paid_order.paid_at, Some(paid.at));
        assert_eq!(paid_order.upstream.transaction_id.as_deref(), Some("420000000000000000000"));
        assert_eq!(paid_order.upstream.prepay_id.as_deref(), Some("wx2024"), "not erased by a later change");

        let events = db.store.order_events(&site.id, order.id).await.unwrap();
        let steps: Vec<_> = events.iter().map(|e| (e.from, e.to, e.reason.as_str())).collect();
        assert_eq!(steps, [
            (OrderStatus::Created, OrderStatus::Pending, "upstream_accepted"),
            (OrderStatus::Pending, OrderStatus::Paid, "callback TRANSACTION.SUCCESS"),
        ]);
        assert_eq!(events[1].at, paid.at);
    }

    async fn a_stale_from_loses_and_writes_nothing(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let to_pending = transition(&order, OrderStatus::Created, OrderStatus::Pending, "upstream_accepted");
        assert!(db.store.transition(&to_pending).await.unwrap().won());
        // A second worker still believes the order is `created`.
        let mut stale = transition(&order, OrderStatus::Created, OrderStatus::Failed, "upstream_refused");
        stale.upstream.error = Some("PARAM_ERROR".into());
        let TransitionOutcome::Lost(current) = db.store.transition(&stale).await.unwrap() else {
            panic!("a stale transition won");
        };
        assert_eq!(current.status, OrderStatus::Pending);
        assert_eq!(current.upstream.error, None, "the loser's upstream fields are not written");
        assert_eq!(db.store.order_events(&site.id, order.id).await.unwrap().len(), 1);
        // Applying the same news twice: the second loses.
        assert!(!db.store.transition(&to_pending).await.unwrap().won());
    }

    async fn illegal_transitions_are_refused_before_the_database(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        for (from, to) in [
            (OrderStatus::Created, OrderStatus::Refunded),
            (OrderStatus::Paid, OrderStatus::Closed),
            (OrderStatus::Closed, OrderStatus::Pending),
            (OrderStatus::Created, OrderStatus::Created),
        ] {
            let refused = db.store.transition(&transition(&order, from, to, "bug")).await;
            assert!(matches!(refused, Err(StoreError::IllegalTransition { .. })), "{from:?} -> {to:?}");
        }
        let unchanged = db.store.find_order(&site.id, &order.out_trade_no).await.unwrap().unwrap();
        assert_eq!(unchanged, order);
        assert_eq!(db.count("SELECT COUNT(*) FROM order_events").await, 0);
    }

    async fn of_concurrent_transitions_exactly_one_wins(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let to_pending = transition(&order, OrderStatus::Created, OrderStatus::Pending, "upstream_accepted");
        assert!(db.store.transition(&to_pending).await.unwrap().won());
        // A callback (paid), the active query (paid) and the expiry worker (closed) race.
        let tasks: Vec<_> = (0..30)
            .map(|i| {
                let store = db.store.clone();
                let to = if i % 3 == 0 { OrderStatus::Closed } else { OrderStatus::Paid };
                let t = transition(&order, OrderStatus::Pending, to, &format!("racer {i}"));
                tokio::spawn(async move { store.transition(&t).await.unwrap() })
            })
            .collect();
        let mut winners = vec![];
        for task in tasks {
            if let TransitionOutcome::Applied { order: o, .. } = task.await.unwrap() {
                winners.push(o);
            }
        }
        assert_eq!(winners.len(), 1);
        let current = db.store.find_order(&site.id, &order.out_trade_no).await.unwrap().unwrap();
        assert_eq!(current.status, winners[0].status);
        assert_eq!(current.version, order.version + 2);
        assert_eq!(db.store.order_events(&site.id, order.id).await.unwrap().len(), 2);
    }

    async fn upstream_results_are_recorded_only_in_the_expected_status(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let fields = UpstreamFields { h5_url: Some("https://wx.tenpay.com/h5".into()), ..UpstreamFields::default() };
        let at = Timestamp::from_millis(order.created_at.as_millis() + 5);
        assert!(db.store.record_upstream_result(order.id, OrderStatus::Created, &fields, at).await.unwrap());
        assert!(!db.store.record_upstream_result(order.id, OrderStatus::Pending, &fields, at).await.unwrap());
        let now_order = db.store.find_order(&site.id, &order.out_trade_no).await.unwrap().unwrap();
        assert_eq!(now_order.upstream.h5_url.as_deref(), Some("https://wx.tenpay.com/h5"));
        assert_eq!(now_order.status, OrderStatus::Created);
        assert_eq!(now_order.version, 1);
        assert!(db.store.order_events(&site.id, order.id).await.unwrap().is_empty());
    }

    async fn closing_sets_closed_at(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let close = transition(&order, OrderStatus::Created, OrderStatus::Closed, "expired");
        let closed = db.store.transition(&close).await.unwrap();
        assert_eq!(closed.order().closed_at, Some(close.at));
        assert_eq!(closed.order().paid_at, None);
    }
}

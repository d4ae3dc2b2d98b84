//! Notification events, their attempts, and the operator's views of them.

// Helpers outside `#[test]` functions: a failure there is the test failing, so unwrap is right.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gateway::domain::{
    AnomalyKind, Channel, JobKind, JobSubject, NotificationEvent, NotificationStatus, Order,
    OrderStatus, Timestamp, UpstreamFields,
};
use gateway::store::{NewAnomaly, NewAttempt, Settles, StoreError, Transition};

use crate::on_both_backends;
use crate::support::{TestDb, created_order, new_site};

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// Pays (or closes) the order at `when` and returns the event written with it.
async fn finish(db: &TestDb, order: &Order, to: OrderStatus, when: i64) -> String {
    let t = Transition {
        order_id: order.id,
        from: OrderStatus::Created,
        to,
        reason: "test".into(),
        upstream: UpstreamFields::default(),
        at: at(when),
    };
    db.store
        .transition(&t)
        .await
        .unwrap()
        .event_id()
        .unwrap()
        .to_owned()
}

fn attempt(event_id: &str, no: i32, when: i64, http_status: Option<u16>) -> NewAttempt {
    NewAttempt {
        event_id: event_id.to_owned(),
        attempt_no: no,
        at: at(when),
        http_status,
        latency_ms: 12,
        error: http_status
            .is_none()
            .then(|| "connection refused".to_owned()),
        response_excerpt: http_status.map(|s| format!("status {s}")),
        private_target: false,
        node: "node-a".into(),
    }
}

on_both_backends! {
    async fn attempts_are_recorded_counted_and_listed_in_order(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let event_id = finish(&db, &order, OrderStatus::Paid, 1_000).await;

        let tries = [attempt(&event_id, 1, 2_000, None), attempt(&event_id, 2, 17_000, Some(500)), attempt(&event_id, 3, 32_000, Some(200))];
        for a in &tries {
            db.store.record_attempt(a).await.unwrap();
        }
        db.store.mark_notification(&event_id, NotificationStatus::Delivered, at(32_010)).await.unwrap();

        let recorded = db.store.attempts(&event_id).await.unwrap();
        let seen: Vec<_> = recorded.iter().map(|a| (a.attempt_no, a.at, a.http_status, a.error.as_deref(), a.response_excerpt.as_deref())).collect();
        assert_eq!(seen, [
            (1, at(2_000), None, Some("connection refused"), None),
            (2, at(17_000), Some(500), None, Some("status 500")),
            (3, at(32_000), Some(200), None, Some("status 200")),
        ]);
        assert!(recorded.iter().all(|a| a.event_id == event_id && a.node == "node-a" && a.latency_ms == 12));

        let event = db.store.notification(&event_id).await.unwrap().unwrap();
        assert_eq!(event.status, NotificationStatus::Delivered);
        assert_eq!((event.attempts, event.last_attempt_at, event.delivered_at), (3, Some(at(32_000)), Some(at(32_010))));
    }

    async fn the_attempt_that_settles_an_event_records_its_status_and_ends_its_job_with_it(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let delivered = finish(&db, &created_order(&db.store, &site, "order_settle_1").await, OrderStatus::Paid, 1_000).await;
        let failed = finish(&db, &created_order(&db.store, &site, "order_settle_2").await, OrderStatus::Paid, 1_000).await;
        let jobs = db.store.claim_jobs(&[JobKind::DeliverNotification], "node-a", at(1_500), Duration::from_secs(60), 10).await.unwrap();
        let job_of = |event: &str| jobs.iter().find(|j| j.subject == JobSubject::Event(event.to_owned())).unwrap().clone();
        let (delivery_job, failed_job) = (job_of(&delivered), job_of(&failed));

        assert!(!db.store.record_attempt_settling(&attempt(&delivered, 1, 2_000, Some(500)), None).await.unwrap());
        let pending = db.store.notification(&delivered).await.unwrap().unwrap();
        assert_eq!((pending.status, pending.attempts, pending.delivered_at), (NotificationStatus::Pending, 1, None));

        let settles = Settles { status: NotificationStatus::Delivered, at: at(3_050), job: Some((&delivery_job, "node-a")) };
        assert!(db.store.record_attempt_settling(&attempt(&delivered, 2, 3_000, Some(200)), Some(settles)).await.unwrap());
        let event = db.store.notification(&delivered).await.unwrap().unwrap();
        assert_eq!(event.status, NotificationStatus::Delivered);
        assert_eq!((event.attempts, event.last_attempt_at, event.delivered_at), (2, Some(at(3_000)), Some(at(3_050))));
        assert_eq!(db.store.attempts(&delivered).await.unwrap().len(), 2);
        assert!(db.store.find_job(&delivery_job.subject).await.unwrap().is_none(), "the job ended with the attempt");

        // Another node's lease: the attempt and the status are recorded, the job is left to its owner.
        let settles = Settles { status: NotificationStatus::Failed, at: at(4_050), job: Some((&failed_job, "node-b")) };
        assert!(!db.store.record_attempt_settling(&attempt(&failed, 1, 4_000, None), Some(settles)).await.unwrap());
        let event = db.store.notification(&failed).await.unwrap().unwrap();
        assert_eq!((event.status, event.attempts, event.delivered_at), (NotificationStatus::Failed, 1, None));
        assert!(db.store.find_job(&failed_job.subject).await.unwrap().is_some());

        // An unknown event: neither an attempt nor a status is written, nor the job deleted.
        let settles = Settles { status: NotificationStatus::Delivered, at: at(5_000), job: Some((&failed_job, "node-a")) };
        let unknown = db.store.record_attempt_settling(&attempt("evt_unknown", 1, 1, Some(200)), Some(settles)).await;
        assert!(matches!(unknown, Err(StoreError::NotFound(_))));
        assert_eq!(db.count("SELECT COUNT(*) FROM delivery_attempts").await, 3);
        assert!(db.store.find_job(&failed_job.subject).await.unwrap().is_some());
    }

    async fn an_attempt_remembers_that_its_target_was_not_public(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_private_001").await;
        let event_id = finish(&db, &order, OrderStatus::Paid, 1_000).await;
        let refused = NewAttempt {
            error: Some("refused: intranet.example resolves to 10.1.2.3, a private address".into()),
            private_target: true,
            ..attempt(&event_id, 1, 2_000, None)
        };
        let answered = NewAttempt { private_target: true, ..attempt(&event_id, 2, 3_000, Some(500)) };
        db.store.record_attempt(&refused).await.unwrap();
        db.store.record_attempt(&answered).await.unwrap();
        db.store.record_attempt(&attempt(&event_id, 3, 4_000, Some(200))).await.unwrap();
        let recorded = db.store.attempts(&event_id).await.unwrap();
        let flags: Vec<_> = recorded.iter().map(|a| a.private_target).collect();
        assert_eq!(flags, [true, true, false]);
        // The store keeps every detail for the operator; hiding them from the site is the API's job.
        assert_eq!(recorded[0].error, refused.error);
        assert_eq!(recorded[1].response_excerpt.as_deref(), Some("status 500"));
    }

    async fn unknown_events_are_not_found(db: TestDb) {
        assert!(db.store.notification("evt_unknown").await.unwrap().is_none());
        assert!(matches!(db.store.record_attempt(&attempt("evt_unknown", 1, 1, None)).await, Err(StoreError::NotFound(_))));
        assert!(matches!(
            db.store.mark_notification("evt_unknown", NotificationStatus::Failed, at(1)).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(db.count("SELECT COUNT(*) FROM delivery_attempts").await, 0);
        assert!(db.store.attempts("evt_unknown").await.unwrap().is_empty());
    }

    async fn the_operator_lists_by_site_and_status_newest_first(db: TestDb) {
        let shop = new_site(&db.store, "shop").await;
        let other = new_site(&db.store, "other").await;
        let paid = finish(&db, &created_order(&db.store, &shop, "order_0001").await, OrderStatus::Paid, 1_000).await;
        let closed = finish(&db, &created_order(&db.store, &shop, "order_0002").await, OrderStatus::Closed, 2_000).await;
        let others = finish(&db, &created_order(&db.store, &other, "order_0001").await, OrderStatus::Paid, 3_000).await;
        db.store.mark_notification(&paid, NotificationStatus::Failed, at(5_000)).await.unwrap();

        let ids = |events: Vec<NotificationEvent>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(db.store.list_notifications(None, None).await.unwrap()), [others.as_str(), closed.as_str(), paid.as_str()]);
        assert_eq!(ids(db.store.list_notifications(Some(&shop.id), None).await.unwrap()), [closed.as_str(), paid.as_str()]);
        assert_eq!(ids(db.store.list_notifications(None, Some(NotificationStatus::Failed)).await.unwrap()), [paid.as_str()]);
        assert_eq!(ids(db.store.list_notifications(Some(&other.id), Some(NotificationStatus::Failed)).await.unwrap()), Vec::<String>::new());
        let listed = db.store.list_notifications(Some(&other.id), None).await.unwrap();
        assert_eq!(listed[0].site.id, other.id);
        assert_eq!(listed[0].order.site_id, other.id);
    }

    async fn a_site_sees_only_its_own_orders_notifications(db: TestDb) {
        let shop = new_site(&db.store, "shop").await;
        let other = new_site(&db.store, "other").await;
        let order = created_order(&db.store, &shop, "order_0001").await;
        let event_id = finish(&db, &order, OrderStatus::Paid, 1_000).await;
        let mine = db.store.notifications_for_order(&shop.id, order.id).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].id, event_id);
        assert!(db.store.notifications_for_order(&other.id, order.id).await.unwrap().is_empty());
    }

    async fn anomalies_are_kept_newest_first(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_0001").await;
        let mismatch = NewAnomaly {
            kind: AnomalyKind::AmountMismatch,
            channel: Channel::Alipay,
            order_id: Some(order.id),
            dedupe_key: "amount_mismatch:1".into(),
            detail: "expected 2990 fen, notification says 1 fen".into(),
            at: at(1_000),
        };
        let unknown = NewAnomaly {
            kind: AnomalyKind::UnknownOrder,
            channel: Channel::Wechat,
            order_id: None,
            dedupe_key: "unknown_order:P999".into(),
            detail: "out_trade_no P999 not found".into(),
            at: at(2_000),
        };
        db.store.record_anomaly(&mismatch).await.unwrap();
        db.store.record_anomaly(&unknown).await.unwrap();
        let kept = db.store.anomalies().await.unwrap();
        let seen: Vec<_> = kept.iter().map(|a| (a.kind.as_str(), a.channel, a.order_id, a.detail.as_str(), a.at)).collect();
        assert_eq!(seen, [
            ("unknown_order", Channel::Wechat, None, "out_trade_no P999 not found", at(2_000)),
            ("amount_mismatch", Channel::Alipay, Some(order.id), "expected 2990 fen, notification says 1 fen", at(1_000)),
        ]);
    }

    async fn the_same_anomaly_again_is_counted_on_its_row_not_written_twice(db: TestDb) {
        let unverified = |key: &str, detail: &str, when: i64| NewAnomaly {
            kind: AnomalyKind::CallbackUnverified,
            channel: Channel::Wechat,
            order_id: None,
            dedupe_key: key.into(),
            detail: detail.into(),
            at: at(when),
        };
        for i in 0..200 {
            let n = db.store.record_anomaly(&unverified("callback_unverified:w1", &format!("junk {i}"), 1_000 + i)).await.unwrap();
            assert_eq!(n, i + 1);
        }
        assert_eq!(db.store.record_anomaly(&unverified("callback_unverified:w2", "next window", 9_000)).await.unwrap(), 1);
        let kept = db.store.anomalies().await.unwrap();
        let seen: Vec<_> = kept.iter().map(|a| (a.detail.as_str(), a.occurrences, a.at, a.last_at)).collect();
        assert_eq!(seen, [("next window", 1, at(9_000), at(9_000)), ("junk 0", 200, at(1_000), at(1_199))]);
        assert_eq!(db.count("SELECT COUNT(*) FROM anomalies").await, 2);
    }

    async fn a_callback_query_is_granted_once_per_order_reason_and_gap(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_0001").await;
        let other = created_order(&db.store, &site, "order_0002").await;
        let gap = std::time::Duration::from_secs(180);
        let claim = |o: &Order, reason: &'static str, when: i64| {
            let (store, id) = (db.store.clone(), o.id);
            async move { store.claim_callback_query(id, reason, at(when), gap).await.unwrap() }
        };
        assert!(claim(&order, "unverified", 1_000_000).await);
        assert!(!claim(&order, "unverified", 1_000_001).await);
        assert!(!claim(&order, "unverified", 1_179_999).await);
        // Another reason, another order: their own budget.
        assert!(claim(&order, "confirm", 1_000_001).await);
        assert!(claim(&other, "unverified", 1_000_001).await);
        // After the gap, once more.
        assert!(claim(&order, "unverified", 1_180_000).await);
        assert!(!claim(&order, "unverified", 1_180_001).await);
    }
}

//! The outbox: what `insert_order_if_absent` and `transition` write beside the order, in the same
//! transaction.

use std::time::Duration;

use gateway::domain::{
    EventType, JobKind, JobSubject, NewOrder, NotificationStatus, Order, OrderStatus,
    UpstreamFields,
};
use gateway::store::{InsertOutcome, Transition, TransitionOutcome};

use crate::on_both_backends;
use crate::support::{TestDb, created_order, insert, new_site, now, seed_request};

fn transition(order: &Order, from: OrderStatus, to: OrderStatus) -> Transition {
    Transition {
        order_id: order.id,
        from,
        to,
        reason: format!("test {} -> {}", from.as_str(), to.as_str()),
        upstream: UpstreamFields::default(),
        at: now(),
    }
}

fn check_subject(order: &Order) -> JobSubject {
    JobSubject::Order(order.id)
}

on_both_backends! {
    async fn a_new_order_gets_its_check_job_and_a_duplicate_does_not(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let job = db.store.find_job(&check_subject(&order)).await.unwrap().unwrap();
        assert_eq!(job.due_at, order.created_at);
        assert_eq!(job.attempt, 0);
        assert_eq!(job.subject, check_subject(&order));

        insert(&db.store, &site, seed_request("order_20240101_001")).await;
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1);
    }

    async fn a_new_orders_check_job_is_due_when_its_first_check_is(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let new = NewOrder::prepare(site.id.clone(), seed_request("order_20240101_002"), now())
            .first_checked_after(Duration::from_secs(60));
        let InsertOutcome::Inserted(order) = db.store.insert_order_if_absent(&new).await.unwrap() else {
            panic!("a new order was inserted");
        };
        let job = db.store.find_job(&check_subject(&order)).await.unwrap().unwrap();
        assert_eq!(job.due_at, order.created_at.plus(Duration::from_secs(60)));
        assert!(db.store.claim_jobs(&[JobKind::CheckOrder], "n1", now(), Duration::from_secs(60), 10).await.unwrap().is_empty(),
            "not due before then");
    }

    async fn paying_writes_the_event_and_its_delivery_and_ends_checking(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let pending = db.store.transition(&transition(&order, OrderStatus::Created, OrderStatus::Pending)).await.unwrap();
        assert_eq!(pending.event_id(), None, "only final statuses are announced");
        assert!(db.store.find_job(&check_subject(&order)).await.unwrap().is_some());

        let pay = transition(&order, OrderStatus::Pending, OrderStatus::Paid);
        let outcome = db.store.transition(&pay).await.unwrap();
        let TransitionOutcome::Applied { order: paid, event_id: Some(event_id) } = outcome else {
            panic!("no event: {outcome:?}");
        };
        assert!(event_id.starts_with("evt_") && event_id.len() == 28, "{event_id}");
        assert!(event_id[4..].chars().all(|c| c.is_ascii_alphanumeric()));

        let event = db.store.notification(&event_id).await.unwrap().unwrap();
        assert_eq!(event.event_type, EventType::TransactionSuccess);
        assert_eq!(event.status, NotificationStatus::Pending);
        assert_eq!((event.attempts, event.created_at, event.delivered_at), (0, pay.at, None));
        assert_eq!(event.order, paid);
        assert_eq!(event.site.id, site.id);
        assert_eq!(event.site.secret_key.expose(), site.secret_key.expose(), "the SK, opened");

        let deliver = db.store.find_job(&JobSubject::Event(event_id.clone())).await.unwrap().unwrap();
        assert_eq!((deliver.due_at, deliver.attempt), (pay.at, 0));
        assert!(db.store.find_job(&check_subject(&order)).await.unwrap().is_none());
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1);
    }

    async fn a_lost_transition_writes_no_event_and_keeps_checking(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        assert!(db.store.transition(&transition(&order, OrderStatus::Created, OrderStatus::Pending)).await.unwrap().won());
        // Stale `from`: loses the compare-and-set.
        let lost = db.store.transition(&transition(&order, OrderStatus::Created, OrderStatus::Paid)).await.unwrap();
        assert!(!lost.won());
        assert_eq!(lost.event_id(), None);
        assert_eq!(db.count("SELECT COUNT(*) FROM notification_events").await, 0);
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE kind = 'deliver_notification'").await, 0);
        assert!(db.store.find_job(&check_subject(&order)).await.unwrap().is_some());
    }

    async fn closing_announces_closed_and_ends_checking(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let close = transition(&order, OrderStatus::Created, OrderStatus::Closed);
        let outcome = db.store.transition(&close).await.unwrap();
        let event_id = outcome.event_id().unwrap();
        let event = db.store.notification(event_id).await.unwrap().unwrap();
        assert_eq!(event.event_type, EventType::TransactionClosed);
        assert_eq!(event.order.status, OrderStatus::Closed);
        assert!(db.store.find_job(&JobSubject::Event(event_id.to_owned())).await.unwrap().is_some());
        assert!(db.store.find_job(&check_subject(&order)).await.unwrap().is_none());
    }

    async fn failing_is_not_announced_and_checking_goes_on(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let failed = db.store.transition(&transition(&order, OrderStatus::Created, OrderStatus::Failed)).await.unwrap();
        assert!(failed.won());
        assert_eq!(failed.event_id(), None);
        assert_eq!(db.count("SELECT COUNT(*) FROM notification_events").await, 0);
        // The channel may still report a payment after a failure.
        assert!(db.store.find_job(&check_subject(&order)).await.unwrap().is_some());
        let paid = db.store.transition(&transition(&order, OrderStatus::Failed, OrderStatus::Paid)).await.unwrap();
        assert!(paid.event_id().is_some());
    }

    async fn a_refund_ends_nothing_twice_and_announces_nothing_itself(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        assert!(db.store.transition(&transition(&order, OrderStatus::Created, OrderStatus::Paid)).await.unwrap().won());
        let refunded = db.store.transition(&transition(&order, OrderStatus::Paid, OrderStatus::Refunded)).await.unwrap();
        assert!(refunded.won());
        assert_eq!(refunded.event_id(), None);
        assert_eq!(db.count("SELECT COUNT(*) FROM notification_events").await, 1);
    }

    async fn duplicate_and_concurrent_payments_write_exactly_one_event(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        assert!(db.store.transition(&transition(&order, OrderStatus::Created, OrderStatus::Pending)).await.unwrap().won());
        // Callbacks delivered several times at once, and the active query, all saying "paid".
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let store = db.store.clone();
                let t = transition(&order, OrderStatus::Pending, OrderStatus::Paid);
                tokio::spawn(async move { store.transition(&t).await.unwrap() })
            })
            .collect();
        let mut events = vec![];
        for task in tasks {
            if let Some(id) = task.await.unwrap().event_id() {
                events.push(id.to_owned());
            }
        }
        assert_eq!(events.len(), 1);
        // A late duplicate after the fact.
        assert!(!db.store.transition(&transition(&order, OrderStatus::Pending, OrderStatus::Paid)).await.unwrap().won());
        assert_eq!(db.count("SELECT COUNT(*) FROM notification_events").await, 1);
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1);
        let listed = db.store.notifications_for_order(&site.id, order.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, events[0]);
    }

    async fn migrating_gives_every_unfinished_order_a_check_job(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let mut unfinished = vec![];
        for (no, to) in [
            ("order_created", None),
            ("order_pending", Some(OrderStatus::Pending)),
            ("order_failed", Some(OrderStatus::Failed)),
            ("order_paid", Some(OrderStatus::Paid)),
            ("order_closed", Some(OrderStatus::Closed)),
        ] {
            let order = created_order(&db.store, &site, no).await;
            if let Some(to) = to {
                assert!(db.store.transition(&transition(&order, OrderStatus::Created, to)).await.unwrap().won());
            }
            if !matches!(to, Some(OrderStatus::Paid | OrderStatus::Closed)) {
                unfinished.push(order);
            }
        }
        // Back to a database that has only seen 0001, orders and all, then migrate again.
        for sql in [
            "DROP TABLE delivery_attempts",
            "DROP TABLE notification_events",
            "DROP TABLE jobs",
            "DROP TABLE anomalies",
            "DELETE FROM _sqlx_migrations WHERE version = 2",
        ] {
            db.execute(sql).await;
        }
        db.store.migrate().await.unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 3);
        for order in unfinished {
            let job = db.store.find_job(&check_subject(&order)).await.unwrap().unwrap();
            assert_eq!((job.due_at, job.attempt), (order.created_at, 0), "{}", order.out_trade_no);
        }
    }
}

//! The escalating schedule, stepped with a chosen clock: after each run the job is due at the next
//! check instant counted from the order's creation, and never past expiry plus grace.

use gateway::domain::{EventType, JobKind, OrderStatus, Timestamp};
use gateway::workers::JobOutcome;

use crate::api_tests;
use crate::harness::{checker, events, job, wechat_order};
use crate::support::app::TestApp;

api_tests! {
    async fn a_pending_order_is_checked_at_escalating_times_then_closed_at_expiry(app: TestApp) {
        let checker = checker(&app);
        let store = &app.db.store;
        let order = wechat_order(&app, "order_schedule").await;
        let created = order.created_at.as_millis();
        // Expiry 600 ms after creation; with 20 ms of grace the expire flow runs at +620.
        app.db.execute(&format!("UPDATE orders SET expires_at = {} WHERE id = {}", created + 600, order.id.as_i64())).await;
        let inserted = job(&app, &order).await.unwrap();
        assert_eq!((inserted.due_at.as_millis(), inserted.attempt), (created, 0), "due at creation, as inserted");

        // 50, then 100 later, then every 200; the instant past the deadline becomes the deadline.
        let mut now = Timestamp::from_millis(created);
        for (attempt, offset) in [50, 150, 350, 550, 620].into_iter().enumerate() {
            let claimed = store.claim_jobs(&[JobKind::CheckOrder], "stepper", now, std::time::Duration::from_secs(10), 10).await.unwrap();
            assert_eq!(claimed.len(), 1, "due at +{}", now.as_millis() - created);
            let JobOutcome::RetryAt(at) = checker.check(&claimed[0], now).await else {
                panic!("an unpaid order before expiry is checked again");
            };
            assert!(store.reschedule_job(&claimed[0], "stepper", at).await.unwrap());
            let rescheduled = job(&app, &order).await.unwrap();
            assert_eq!(rescheduled.due_at.as_millis() - created, offset, "after run {attempt}");
            assert_eq!(rescheduled.attempt, i32::try_from(attempt).unwrap() + 1);
            assert_eq!(app.stored_status(&app.site, "order_schedule").await, OrderStatus::Pending);
            now = rescheduled.due_at;
        }

        // A run just before the next instant is not due yet and changes nothing.
        let early = Timestamp::from_millis(now.as_millis() - 1);
        assert!(store.claim_jobs(&[JobKind::CheckOrder], "stepper", early, std::time::Duration::from_secs(10), 10).await.unwrap().is_empty());

        // At the deadline: the expire flow closes it, and the job is done.
        let claimed = store.claim_jobs(&[JobKind::CheckOrder], "stepper", now, std::time::Duration::from_secs(10), 10).await.unwrap();
        assert_eq!(checker.check(&claimed[0], now).await, JobOutcome::Done);
        assert_eq!(app.stored_status(&app.site, "order_schedule").await, OrderStatus::Closed);
        assert_eq!(events(&app, &order).await, [EventType::TransactionClosed]);
        assert_eq!(job(&app, &order).await, None, "the store ends the check with the final status");
    }

    async fn a_late_run_skips_missed_checks_instead_of_catching_up(app: TestApp) {
        let checker = checker(&app);
        let order = wechat_order(&app, "order_schedule_late").await;
        let created = order.created_at.as_millis();
        let job = job(&app, &order).await.unwrap();
        // A node was down: the first run comes 1000 ms after creation (instants 50, 150, 350, 550,
        // 750, 950 missed); the next is 1150, not 50 ms from now nor a burst of overdue checks.
        let outcome = checker.check(&job, Timestamp::from_millis(created + 1000)).await;
        assert_eq!(outcome, JobOutcome::RetryAt(Timestamp::from_millis(created + 1150)));
    }
}

//! Leased jobs: claiming, completing, rescheduling and releasing, alone and under contention.

// Helpers outside `#[test]` functions: a failure there is the test failing, so unwrap is right.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use gateway::domain::{
    Job, JobKind, JobSubject, NotificationStatus, OrderId, OrderStatus, Timestamp, UpstreamFields,
};
use gateway::store::{Store, Transition};
use tokio::sync::Barrier;

use crate::on_both_backends;
use crate::support::{TestDb, created_order, new_site, now};

const LEASE: Duration = Duration::from_secs(60);

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

impl TestDb {
    /// A job written directly, as if by any of the writers.
    async fn stage_job(&self, kind: &str, subject: &str, due_at: i64) {
        self.execute(&format!(
            "INSERT INTO jobs (kind, subject, due_at, attempt) VALUES ('{kind}', '{subject}', {due_at}, 0)"
        ))
        .await;
    }
}

fn subjects(jobs: &[Job]) -> Vec<String> {
    jobs.iter().map(|j| j.subject.to_string()).collect()
}

async fn claim(store: &Store, kinds: &[JobKind], owner: &str, now: Timestamp) -> Vec<Job> {
    store
        .claim_jobs(kinds, owner, now, LEASE, 10)
        .await
        .unwrap()
}

on_both_backends! {
    async fn only_due_jobs_of_the_asked_kinds_are_claimed_earliest_first(db: TestDb) {
        db.stage_job("check_order", "1", 100).await;
        db.stage_job("check_order", "2", 50).await;
        db.stage_job("check_order", "3", 300).await;
        db.stage_job("deliver_notification", "evt_d", 10).await;
        db.stage_job("check_refund", "from_a_newer_node", 10).await;

        let checks = claim(&db.store, &[JobKind::CheckOrder], "node-a", at(200)).await;
        assert_eq!(subjects(&checks), ["2", "1"]);
        assert_eq!(checks[0].subject, JobSubject::Order(OrderId::from_i64(2)));
        assert_eq!((checks[0].due_at, checks[0].attempt), (at(50), 0));
        let both = [JobKind::DeliverNotification, JobKind::CheckOrder];
        assert_eq!(subjects(&claim(&db.store, &both, "node-a", at(200)).await), ["evt_d"]);
        assert!(claim(&db.store, &both, "node-a", at(200)).await.is_empty());
        assert!(claim(&db.store, &[], "node-a", at(1_000)).await.is_empty());
    }

    async fn a_claimed_job_naming_no_event_or_order_is_dropped_and_the_rest_run(db: TestDb) {
        db.stage_job("check_order", "not-an-order-id", 10).await;
        db.stage_job("deliver_notification", "evt with spaces", 20).await;
        db.stage_job("check_order", "7", 30).await;
        let both = [JobKind::DeliverNotification, JobKind::CheckOrder];
        assert_eq!(subjects(&claim(&db.store, &both, "node-a", at(100)).await), ["7"]);
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1, "the two that name nothing are gone");
    }

    async fn a_claim_takes_at_most_the_limit(db: TestDb) {
        for i in 0..5 {
            db.stage_job("check_order", &format!("{}", 10 + i), i).await;
        }
        let first = db.store.claim_jobs(&[JobKind::CheckOrder], "node-a", at(100), LEASE, 3).await.unwrap();
        assert_eq!(subjects(&first), ["10", "11", "12"]);
        let rest = db.store.claim_jobs(&[JobKind::CheckOrder], "node-b", at(100), LEASE, 3).await.unwrap();
        assert_eq!(subjects(&rest), ["13", "14"]);
    }

    async fn a_lease_is_respected_until_it_expires_then_taken_over(db: TestDb) {
        db.stage_job("check_order", "1", 0).await;
        let t0 = 1_000_000;
        let [job] = <[Job; 1]>::try_from(claim(&db.store, &[JobKind::CheckOrder], "node-a", at(t0)).await).unwrap();
        let lease_end = t0 + 60_000;
        assert!(claim(&db.store, &[JobKind::CheckOrder], "node-b", at(t0)).await.is_empty());
        assert!(claim(&db.store, &[JobKind::CheckOrder], "node-b", at(lease_end)).await.is_empty());

        // node-a stalls past its lease; node-b takes the job over.
        let taken = claim(&db.store, &[JobKind::CheckOrder], "node-b", at(lease_end + 1)).await;
        assert_eq!(taken.as_slice(), std::slice::from_ref(&job));
        assert!(!db.store.complete_job(&job, "node-a").await.unwrap(), "no longer node-a's");
        assert!(!db.store.reschedule_job(&job, "node-a", at(t0)).await.unwrap());
        assert!(db.store.complete_job(&taken[0], "node-b").await.unwrap());
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 0);
        assert!(!db.store.complete_job(&job, "node-b").await.unwrap(), "already gone");
    }

    async fn rescheduling_frees_the_job_until_its_new_due_time(db: TestDb) {
        db.stage_job("deliver_notification", "evt_1", 0).await;
        let job = claim(&db.store, &[JobKind::DeliverNotification], "node-a", at(10)).await.remove(0);
        assert!(db.store.reschedule_job(&job, "node-a", at(15_000)).await.unwrap());
        assert!(!db.store.reschedule_job(&job, "node-a", at(15_000)).await.unwrap(), "the lease went with it");
        assert!(claim(&db.store, &[JobKind::DeliverNotification], "node-b", at(14_999)).await.is_empty());
        let again = claim(&db.store, &[JobKind::DeliverNotification], "node-b", at(15_000)).await;
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].id, again[0].due_at, again[0].attempt), (job.id, at(15_000), 1));
    }

    async fn releasing_frees_only_the_owners_leases(db: TestDb) {
        for s in ["1", "2", "3"] {
            db.stage_job("check_order", s, 0).await;
        }
        let a = db.store.claim_jobs(&[JobKind::CheckOrder], "node-a", at(10), LEASE, 2).await.unwrap();
        assert_eq!(subjects(&a), ["1", "2"]);
        assert_eq!(claim(&db.store, &[JobKind::CheckOrder], "node-b", at(10)).await.len(), 1);
        assert_eq!(db.store.release_leases("node-a").await.unwrap(), 2);
        assert_eq!(db.store.release_leases("node-a").await.unwrap(), 0);
        let c = claim(&db.store, &[JobKind::CheckOrder], "node-c", at(11)).await;
        assert_eq!(subjects(&c), ["1", "2"], "node-b's job stays node-b's");
    }

    async fn concurrent_claimers_never_share_a_job(db: TestDb) {
        const JOBS: usize = 200;
        const CLAIMERS: usize = 4;
        for i in 0..JOBS {
            db.stage_job("check_order", &i.to_string(), i64::try_from(i).unwrap()).await;
        }
        let start = Arc::new(Barrier::new(CLAIMERS));
        let claimers: Vec<_> = (0..CLAIMERS)
            .map(|c| {
                let (store, start) = (db.store.clone(), start.clone());
                tokio::spawn(async move {
                    let owner = format!("node-{c}");
                    let mut mine = vec![];
                    start.wait().await;
                    loop {
                        let jobs = store.claim_jobs(&[JobKind::CheckOrder], &owner, now(), LEASE, 7).await.unwrap();
                        if jobs.is_empty() {
                            break;
                        }
                        // Completing checks that the lease is really this owner's.
                        for job in jobs {
                            assert!(store.complete_job(&job, &owner).await.unwrap(), "{owner} lost {job:?}");
                            mine.push(job.subject);
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut all = vec![];
        let mut busy = 0;
        for claimer in claimers {
            let mine = claimer.await.unwrap();
            busy += usize::from(!mine.is_empty());
            all.extend(mine);
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), JOBS, "every job handed out once");
        assert_eq!(distinct.len(), JOBS);
        assert!(busy >= 2, "the claimers did run side by side");
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 0);
    }

    async fn an_expedited_check_is_due_now(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let subject = JobSubject::Order(order.id);
        let job = claim(&db.store, &[JobKind::CheckOrder], "node-a", now()).await.remove(0);
        let later = now().plus(Duration::from_secs(300));
        assert!(db.store.reschedule_job(&job, "node-a", later).await.unwrap());

        // A callback failed verification: ask the channel now rather than in five minutes.
        let t = now();
        assert!(db.store.expedite_check(order.id, t).await.unwrap());
        assert_eq!(db.store.find_job(&subject).await.unwrap().unwrap().due_at, t);
        assert!(!db.store.expedite_check(order.id, t.plus(Duration::from_secs(1))).await.unwrap(), "already due");

        let pay = Transition {
            order_id: order.id,
            from: OrderStatus::Created,
            to: OrderStatus::Paid,
            reason: "query".into(),
            upstream: UpstreamFields::default(),
            at: now(),
        };
        assert!(db.store.transition(&pay).await.unwrap().won());
        assert!(!db.store.expedite_check(order.id, now()).await.unwrap(), "a final order has no check");
    }

    async fn a_resend_is_scoped_to_the_asking_site_and_due_now(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let other = new_site(&db.store, "other").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        let pay = Transition {
            order_id: order.id,
            from: OrderStatus::Created,
            to: OrderStatus::Paid,
            reason: "query".into(),
            upstream: UpstreamFields::default(),
            at: at(1_000),
        };
        let event_id = db.store.transition(&pay).await.unwrap().event_id().unwrap().to_owned();
        // The deliverer gave up: the event failed and its job is gone.
        let job = claim(&db.store, &[JobKind::DeliverNotification], "node-a", at(2_000)).await.remove(0);
        db.store.mark_notification(&event_id, NotificationStatus::Failed, at(3_000)).await.unwrap();
        assert!(db.store.complete_job(&job, "node-a").await.unwrap());

        assert!(!db.store.requeue_notification(Some(&other.id), &event_id, at(4_000)).await.unwrap());
        assert_eq!(db.store.notification(&event_id).await.unwrap().unwrap().status, NotificationStatus::Failed);
        assert!(db.store.find_job(&JobSubject::Event(event_id.clone())).await.unwrap().is_none());
        assert!(!db.store.requeue_notification(None, "evt_unknown", at(4_000)).await.unwrap());

        assert!(db.store.requeue_notification(Some(&site.id), &event_id, at(4_000)).await.unwrap());
        assert_eq!(db.store.notification(&event_id).await.unwrap().unwrap().status, NotificationStatus::Pending);
        let job = db.store.find_job(&JobSubject::Event(event_id.clone())).await.unwrap().unwrap();
        assert_eq!((job.due_at, job.attempt), (at(4_000), 0));

        // The operator (no site) may resend any event; a pending job is made due now, schedule restarted.
        let job = claim(&db.store, &[JobKind::DeliverNotification], "node-a", at(4_000)).await.remove(0);
        assert!(db.store.reschedule_job(&job, "node-a", at(90_000)).await.unwrap());
        assert!(db.store.requeue_notification(None, &event_id, at(5_000)).await.unwrap());
        let job = db.store.find_job(&JobSubject::Event(event_id.clone())).await.unwrap().unwrap();
        assert_eq!((job.due_at, job.attempt), (at(5_000), 0));
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1);
    }
}

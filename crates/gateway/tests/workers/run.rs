use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use gateway::domain::{Job, JobKind, JobSubject, OrderId, OrderStatus, Timestamp, UpstreamFields};
use gateway::store::Transition;
use gateway::workers::JobOutcome;
use tokio::sync::Semaphore;

use crate::harness::{PATIENCE, Worker, handler, reports, settings};
use crate::on_both_backends;
use crate::support::{TestDb, created_order, new_site, now};

/// The subject of a `check_order` job staged with subject `id`.
fn order(id: i64) -> JobSubject {
    JobSubject::Order(OrderId::from_i64(id))
}

on_both_backends! {
    async fn due_jobs_run_and_are_completed(db: TestDb) {
        for s in ["1", "2", "3", "4", "5", "6"] {
            db.stage_job("check_order", s, 0).await;
        }
        db.stage_job("check_order", "7", i64::MAX).await;
        let (tx, mut ran) = reports();
        let worker = Worker::start(&db.store, vec![handler(JobKind::CheckOrder, "n1", &tx, None, |_| JobOutcome::Done)], settings("n1"));
        // More jobs than the batch: the rest are claimed as slots free up.
        assert_eq!(ran.subjects(6).await, ["1", "2", "3", "4", "5", "6"]);
        worker.stop().await;
        assert!(ran.nothing_more(), "each job ran once");
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1, "only the job not yet due is left");
    }

    async fn a_retry_is_rescheduled_with_the_next_attempt(db: TestDb) {
        db.stage_job("deliver_notification", "evt_1", 0).await;
        let retry_at = Timestamp::from_millis(now().as_millis() + 3_600_000);
        let (tx, mut ran) = reports();
        let worker = Worker::start(
            &db.store,
            vec![handler(JobKind::DeliverNotification, "n1", &tx, None, move |_| JobOutcome::RetryAt(retry_at))],
            settings("n1"),
        );
        assert_eq!(ran.next().await.1.attempt, 0);
        worker.stop().await;
        let job = db.store.find_job(&JobSubject::Event("evt_1".into())).await.unwrap().unwrap();
        assert_eq!((job.due_at, job.attempt), (retry_at, 1));
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL").await, 0);
    }

    async fn shutdown_lets_running_jobs_finish_then_releases_leases(db: TestDb) {
        db.stage_job("check_order", "1", 0).await;
        // A lease this node still holds on a job it is not running (say, one whose outcome could
        // not be recorded): released on shutdown so other nodes need not wait for it to expire.
        db.execute("INSERT INTO jobs (kind, subject, due_at, attempt, lease_owner, lease_until) \
                    VALUES ('check_order', '2', 9000000000000, 0, 'n1', 9000000000000)").await;
        let gate = Arc::new(Semaphore::new(0));
        let (tx, mut ran) = reports();
        let worker = Worker::start(
            &db.store,
            vec![handler(JobKind::CheckOrder, "n1", &tx, Some(gate.clone()), |_| JobOutcome::Done)],
            settings("n1"),
        );
        assert_eq!(ran.next().await.1.subject, order(1));
        let stopping = worker.signal_stop();
        // The job is let go only once the loop is stopping. The loop records outcomes itself, so
        // the job found completed below proves it went on running until the job had finished.
        tokio::time::timeout(PATIENCE, stopping.seen).await.unwrap().unwrap();
        gate.add_permits(1);
        tokio::time::timeout(PATIENCE, stopping.task).await.unwrap().unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE subject = '1'").await, 0, "finished and completed");
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL").await, 0);
    }

    async fn a_panicking_handler_does_not_stop_the_loop(db: TestDb) {
        db.stage_job("check_order", "1", 0).await;
        db.stage_job("check_order", "2", 1).await;
        let (tx, mut ran) = reports();
        let script = |job: &Job| {
            assert!(job.subject != order(1), "handler bug");
            JobOutcome::Done
        };
        let worker = Worker::start(&db.store, vec![handler(JobKind::CheckOrder, "n1", &tx, None, script)], settings("n1"));
        assert_eq!(ran.subjects(2).await, ["1", "2"]);
        // Still claiming afterwards.
        db.stage_job("check_order", "3", 2).await;
        assert_eq!(ran.next().await.1.subject, order(3));
        worker.stop().await;

        let boom = db.store.find_job(&order(1)).await.unwrap().unwrap();
        assert_eq!(boom.attempt, 1, "rescheduled");
        assert!(boom.due_at > now(), "with a backoff");
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1);
    }

    async fn deliveries_run_while_order_checks_fill_every_slot(db: TestDb) {
        // More checks due than the batch, all stuck on a channel that does not answer.
        for s in 1..=10 {
            db.stage_job("check_order", &s.to_string(), 0).await;
        }
        db.stage_job("deliver_notification", "evt_1", 1).await;
        let stuck = Arc::new(Semaphore::new(0));
        let (tx, mut ran) = reports();
        let worker = Worker::start(
            &db.store,
            vec![
                handler(JobKind::CheckOrder, "n1", &tx, Some(stuck.clone()), |_| JobOutcome::Done),
                handler(JobKind::DeliverNotification, "n1", &tx, None, |_| JobOutcome::Done),
            ],
            settings("n1"),
        );
        let mut started = Vec::new();
        for _ in 0..5 {
            started.push(ran.next().await.1.subject);
        }
        assert!(started.contains(&JobSubject::Event("evt_1".to_owned())), "{started:?}");
        assert_eq!(started.iter().filter(|s| matches!(s, JobSubject::Order(_))).count(), 4,
            "the checks took their own four slots: {started:?}");
        stuck.add_permits(10);
        worker.stop().await;
    }

    async fn the_last_free_slot_beside_slow_jobs_is_claimed_at_the_next_poll(db: TestDb) {
        // Seven of eight slots held by jobs that do not end: a wake-up claims in bigger steps, but
        // the poll takes even the one slot left.
        for s in 1..=7 {
            db.stage_job("deliver_notification", &format!("slow_{s}"), 0).await;
        }
        let stuck = Arc::new(Semaphore::new(0));
        let (tx, mut ran) = reports();
        let mut eight = settings("n1");
        eight.batch = 8;
        let worker = Worker::start(
            &db.store,
            vec![handler(JobKind::DeliverNotification, "n1", &tx, Some(stuck.clone()), |_| JobOutcome::Done)],
            eight,
        );
        assert_eq!(ran.subjects(7).await.len(), 7);
        db.stage_job("deliver_notification", "late", 0).await;
        let (_, late) = ran.next().await;
        assert_eq!(late.subject, JobSubject::Event("late".to_owned()));
        stuck.add_permits(8);
        worker.stop().await;
    }

    async fn a_new_notification_is_picked_up_without_waiting_for_the_poll(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let order = created_order(&db.store, &site, "order_20240101_001").await;
        // Due at once, so the first claim takes it: once it runs, that claim is over and, with the
        // next poll an hour away, only a wake-up can find the new job.
        db.stage_job("deliver_notification", "first", 0).await;
        let (tx, mut ran) = reports();
        let mut slow_poll = settings("n1");
        slow_poll.poll_interval = Duration::from_secs(3600);
        // Every kind has its lane, all waiting for work: the wake-up must reach the delivery lane.
        // (The order's own check runs in its lane and reports elsewhere.)
        let (checks, _checked) = reports();
        let worker = Worker::start(
            &db.store,
            vec![
                handler(JobKind::CheckOrder, "n1", &checks, None, |_| JobOutcome::RetryAt(Timestamp::from_millis(i64::MAX))),
                handler(JobKind::DeliverNotification, "n1", &tx, None, |_| JobOutcome::Done),
                handler(JobKind::CheckRefund, "n1", &checks, None, |_| JobOutcome::Done),
            ],
            slow_poll,
        );
        assert_eq!(ran.next().await.1.subject, JobSubject::Event("first".to_owned()));
        let pay = Transition {
            order_id: order.id,
            from: OrderStatus::Created,
            to: OrderStatus::Paid,
            reason: "callback TRANSACTION.SUCCESS".into(),
            upstream: UpstreamFields::default(),
            at: now(),
        };
        let event_id = db.store.transition(&pay).await.unwrap().event_id().unwrap().to_owned();
        let started = tokio::time::timeout(Duration::from_secs(5), ran.next()).await.expect("not woken");
        assert_eq!(started.1.subject, JobSubject::Event(event_id));
        worker.stop().await;
    }

    async fn several_nodes_share_the_work_and_never_run_a_job_twice(db: TestDb) {
        const JOBS: usize = 60;
        for i in 0..JOBS {
            db.stage_job("deliver_notification", &format!("evt_{i:03}"), i64::try_from(i).unwrap()).await;
        }
        let (tx, mut ran) = reports();
        let nodes: Vec<_> = ["n1", "n2", "n3"]
            .into_iter()
            .map(|node| {
                let h = handler(JobKind::DeliverNotification, node, &tx, None, |_| {
                    std::thread::sleep(Duration::from_millis(5));
                    JobOutcome::Done
                });
                Worker::start(&db.store, vec![h], settings(node))
            })
            .collect();
        let mut subjects = HashSet::new();
        let mut by_node = HashSet::new();
        for _ in 0..JOBS {
            let (node, job) = ran.next().await;
            assert!(subjects.insert(job.subject.clone()), "{} ran twice", job.subject);
            by_node.insert(node);
        }
        for node in nodes {
            node.stop().await;
        }
        assert!(ran.nothing_more());
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 0);
        assert!(by_node.len() >= 2, "the work was shared: {by_node:?}");
    }

    async fn a_job_longer_than_its_lease_is_taken_over_only_once_its_node_is_dead(db: TestDb) {
        db.stage_job("reconcile_day", "wechat:2026-11-29", 0).await;
        // Both nodes' runs of the day wait at the gate: the first for ever, the second until let go.
        let gate = Arc::new(Semaphore::new(0));
        let (tx, mut ran) = reports();
        let short = |node: &str| {
            let mut s = settings(node);
            s.lease = Duration::from_secs(1);
            s
        };
        let day = |node: &str| handler(JobKind::ReconcileDay, node, &tx, Some(gate.clone()), |_| JobOutcome::Done);
        let first = Worker::start(&db.store, vec![day("n1")], short("n1"));
        assert_eq!(ran.next().await.0, "n1");
        let second = Worker::start(&db.store, vec![day("n2")], short("n2"));
        // Four leases long, and the first node's renewals keep the job its own.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(ran.nothing_more(), "the job was taken over while its node was alive");
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE lease_owner = 'n1'").await, 1);
        // The first node dies: once its last lease runs out, the second takes the job over.
        first.kill().await;
        let (node, job) = ran.next().await;
        assert_eq!((node.as_str(), job.attempt), ("n2", 0));
        gate.add_permits(1);
        second.stop().await;
        assert!(ran.nothing_more());
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 0, "completed by the second node");
    }
}

//! A CI-sized crash test: paygate killed with SIGKILL at random moments during
//! a run of a few hundred orders paid in the simulator; after restart every order paid upstream is
//! paid in paygate and its site notified at least once, and no order is paid in paygate that is
//! unpaid upstream.
//!
//! One `paygate serve` on a throwaway PostgreSQL database, with `[wechat]` and `[alipay]` pointing
//! at a standalone `paygate sim` (which outlives every kill). Clients create orders on both channels
//! through the signed API, retrying the same body while paygate is down, and pay most of them in
//! the simulator. A killer SIGKILLs paygate at seeded random points of the run and restarts it on
//! the same database, port and public URL. Then, with a bounded wait, paygate must agree with the
//! channels and the site must have heard of every payment.
//!
//! Replay a run with `PAYGATE_TEST_SEED=<seed printed by the test>`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::cluster::db::ClusterDb;
use support::cluster::nodes::{Lookup, Node, NodeSpec, create_site};
use support::cluster::site::{Created, OrderPlan, SiteClient, SiteReceiver};
use support::cluster::upstream::{self, Accounts, Channel, start_sim, upstream_states};
use support::cluster::{Rng, free_port, seed};
use test_support::process::Log;

const ORDERS: usize = 300;
const CLIENTS: usize = 8;
const KILLS: usize = 4;
/// Share of orders paid upstream (percent); the rest stay unpaid, so that "nothing paid in paygate
/// that is unpaid upstream" has something to bite on.
const PAY_PERCENT: u64 = 85;
/// A client stops retrying a create after this long: the order is then "maybe never created".
const CREATE_GIVE_UP: Duration = Duration::from_secs(20);
/// How long paygate may take, after the run, to catch up with everything.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(45);

/// The background work sped up: notification retries ×0.001, order checks ×0.01 (0.6 s, 1.2 s,
/// then every 3 s), a 3 s lease (a dead process's jobs wait at most that long), polling at 50 ms.
fn background_env() -> Vec<(String, String)> {
    [
        ("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0.001"),
        ("PAYGATE_NOTIFY_TIMEOUT", "2s"),
        ("PAYGATE_COMPENSATION_SCHEDULE_SCALE", "0.01"),
        ("PAYGATE_WORKERS_POLL_INTERVAL", "50ms"),
        ("PAYGATE_WORKERS_LEASE", "3s"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// One planned kill: when `progress` creates have finished, wait `jitter`, SIGKILL, stay down for
/// `downtime`, restart.
#[derive(Debug, Clone, Copy)]
struct Kill {
    at_progress: usize,
    jitter: Duration,
    downtime: Duration,
}

#[derive(Debug)]
struct Outcome {
    plan: OrderPlan,
    created: Created,
    /// Paid in the simulator (its control API answered 200).
    paid: bool,
    pay_error: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_at_random_moments_loses_no_payment() {
    let started = Instant::now();
    let seed = seed(0x5EED_0005);
    println!("seed {seed} (replay with PAYGATE_TEST_SEED={seed})");
    let mut rng = Rng::new(seed);

    // Declared first, dropped last: the database outlives every process using it.
    let pg = ClusterDb::create().await;
    let sim = start_sim(0.001);
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::register(&sim, dir.path()).await;
    let receiver = SiteReceiver::start((0, 0), seed);
    let data_dir = dir.path().join("data");
    let keys = create_site(&data_dir, pg.url(), &accounts.config, &receiver.url).await;
    receiver.set_secret(&keys.sk);
    let lookup = Arc::new(Lookup::connect(&data_dir, pg.url(), &keys.site_id).await);

    let spec = NodeSpec {
        name: "paygate".into(),
        data_dir: data_dir.clone(),
        config: Some(accounts.config.clone()),
        database_url: Some(pg.url().to_owned()),
        port: free_port(),
        public_url: None,
        env: background_env(),
    };
    let log = Log::keeping(400);
    let node = Node::start(&spec, &log).await;
    let base = vec![spec.url()];

    let plans: Vec<OrderPlan> = (0..ORDERS)
        .map(|i| OrderPlan {
            out_trade_no: format!("crash_{i:04}"),
            channel: if i % 2 == 0 {
                Channel::Wechat
            } else {
                Channel::Alipay
            },
            amount: 100 + i as u64,
            pay: rng.percent(PAY_PERCENT),
        })
        .collect();
    let mut kills: Vec<Kill> = (0..KILLS)
        .map(|_| Kill {
            at_progress: usize::try_from(rng.range(ORDERS as u64 / 10, ORDERS as u64 * 9 / 10))
                .unwrap(),
            jitter: Duration::from_millis(rng.range(0, 80)),
            downtime: Duration::from_millis(rng.range(100, 800)),
        })
        .collect();
    kills.sort_by_key(|k| k.at_progress);
    println!("kill plan: {kills:?}");

    // The killer: owns the node, kills and restarts it on the plan.
    let progress = Arc::new(AtomicUsize::new(0));
    let run_over = Arc::new(AtomicBool::new(false));
    let killer = {
        let (progress, run_over, spec, log) = (
            Arc::clone(&progress),
            Arc::clone(&run_over),
            spec.clone(),
            log.clone(),
        );
        tokio::spawn(async move {
            let mut node = node;
            let mut done = Vec::new();
            for kill in kills {
                while progress.load(Ordering::SeqCst) < kill.at_progress
                    && !run_over.load(Ordering::SeqCst)
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if run_over.load(Ordering::SeqCst) {
                    break;
                }
                tokio::time::sleep(kill.jitter).await;
                let at = progress.load(Ordering::SeqCst);
                log.push(format!("=== SIGKILL at progress {at} ==="));
                node.kill().await;
                tokio::time::sleep(kill.downtime).await;
                node = Node::start(&spec, &log).await;
                done.push((at, kill.downtime));
            }
            (node, done)
        })
    };

    // The clients: create (retrying), then pay upstream.
    let next = Arc::new(AtomicUsize::new(0));
    let plans = Arc::new(plans);
    let client = SiteClient::new(keys.clone());
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (next, plans, client, base, lookup, accounts, progress) = (
            Arc::clone(&next),
            Arc::clone(&plans),
            client.clone(),
            base.clone(),
            Arc::clone(&lookup),
            accounts.clone(),
            Arc::clone(&progress),
        );
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(plan) = plans.get(i).cloned() else {
                    break;
                };
                let created = client.create(&base, &plan.body(), CREATE_GIVE_UP).await;
                progress.fetch_add(1, Ordering::SeqCst);
                let (mut paid, mut pay_error) = (false, None);
                if plan.pay && matches!(created, Created::Yes { .. }) {
                    match lookup.upstream_no(&plan.out_trade_no).await {
                        Some(upstream) => match accounts.pay(plan.channel, &upstream).await {
                            Ok(()) => paid = true,
                            Err(e) => pay_error = Some(e),
                        },
                        None => pay_error = Some("created, but not in paygate's store".into()),
                    }
                }
                outcomes.push(Outcome {
                    plan,
                    created,
                    paid,
                    pay_error,
                });
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.unwrap());
    }
    run_over.store(true, Ordering::SeqCst);
    let (node, kills_done) = killer.await.unwrap();
    let driven = started.elapsed();

    let refused: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o.created, Created::Refused { .. }))
        .map(|o| format!("{}: {:?}", o.plan.out_trade_no, o.created))
        .collect();
    assert!(
        refused.is_empty(),
        "creates refused: {refused:?}\n{}",
        log.text()
    );
    let pay_errors: Vec<_> = outcomes
        .iter()
        .filter_map(|o| {
            o.pay_error
                .as_ref()
                .map(|e| format!("{}: {e}", o.plan.out_trade_no))
        })
        .collect();
    assert!(pay_errors.is_empty(), "paying failed: {pay_errors:?}");
    assert_eq!(
        kills_done.len(),
        KILLS,
        "every planned kill happened during the run"
    );
    let gave_up = outcomes
        .iter()
        .filter(|o| matches!(o.created, Created::GaveUp { .. }))
        .count();
    let retried = outcomes
        .iter()
        .filter(|o| matches!(o.created, Created::Yes { tries } if tries > 1))
        .count();
    let paid_by_client = outcomes.iter().filter(|o| o.paid).count();

    // Settle: bounded polling until paygate agrees with the channels and the site heard of it all.
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let (missing, wrongly_paid, upstream_paid) = loop {
        let upstream = upstream_states(&sim);
        let upstream_paid: Vec<&String> = upstream
            .iter()
            .filter(|(_, s)| upstream::is_paid(s))
            .map(|(no, _)| no)
            .collect();
        let orders = pg.orders().await;
        let notified = receiver.notified_orders();
        let missing: Vec<String> = upstream_paid
            .iter()
            .filter_map(|no| match orders.get(*no) {
                Some(o) if o.status == "paid" && notified.contains(&o.out_trade_no) => None,
                Some(o) => Some(o.out_trade_no.clone()),
                None => Some(format!("(upstream {no}, not in paygate)")),
            })
            .collect();
        // Safety holds at every instant, not only at the end.
        let wrongly_paid: Vec<String> = orders
            .iter()
            .filter(|(no, o)| {
                o.status == "paid" && !upstream.get(*no).is_some_and(|s| upstream::is_paid(s))
            })
            .map(|(no, o)| format!("{} (upstream {no}: {:?})", o.out_trade_no, upstream.get(no)))
            .collect();
        if !wrongly_paid.is_empty() || missing.is_empty() || Instant::now() >= deadline {
            break (missing, wrongly_paid, upstream_paid.len());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        wrongly_paid.is_empty(),
        "paid in paygate but not upstream: {wrongly_paid:?}"
    );
    if !missing.is_empty() {
        let mut details = String::new();
        for no in missing.iter().take(5) {
            details.push_str(&pg.explain(no).await);
            details.push('\n');
        }
        panic!(
            "{} of {upstream_paid} orders paid upstream are not paid in paygate or not notified \
             after {SETTLE_TIMEOUT:?}: {:?}\n{details}\n--- paygate ---\n{}",
            missing.len(),
            missing.iter().take(20).collect::<Vec<_>>(),
            log.text()
        );
    }
    assert!(
        upstream_paid >= paid_by_client,
        "the simulator lost payments: {upstream_paid} < {paid_by_client}"
    );

    // Every notification was well formed, correctly signed, and names the order's one event.
    let events = pg.success_events().await;
    let deliveries = receiver.deliveries();
    assert!(
        receiver.malformed().is_empty(),
        "{:?}",
        receiver.malformed()
    );
    let mut per_event: HashMap<&str, usize> = HashMap::new();
    for d in &deliveries {
        assert!(d.signature_ok, "bad signature: {d:?}");
        assert_eq!(d.event_type, "TRANSACTION.SUCCESS", "{d:?}");
        let (id, _) = events
            .get(&d.out_trade_no)
            .unwrap_or_else(|| panic!("notified of {} without an event: {d:?}", d.out_trade_no));
        assert_eq!(id, &d.event_id, "{d:?}");
        *per_event.entry(d.event_id.as_str()).or_default() += 1;
    }
    let redelivered = per_event.values().filter(|n| **n > 1).count();
    drop(node);
    Arc::try_unwrap(lookup).ok().unwrap().close().await;

    println!(
        "crash test: {ORDERS} orders, {} kills at progress {:?}; {retried} creates retried, {gave_up} given up; \
         {paid_by_client} paid upstream, all paid and notified in paygate ({} deliveries, {redelivered} events \
         delivered more than once); drive {:.1?}, total {:.1?}",
        kills_done.len(),
        kills_done.iter().map(|k| k.0).collect::<Vec<_>>(),
        deliveries.len(),
        driven,
        started.elapsed()
    );
}

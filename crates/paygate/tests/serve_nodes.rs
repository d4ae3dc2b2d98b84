//! Three paygate nodes on one PostgreSQL, one killed mid-run: every
//! notification is delivered, and the receiver never sees the same event delivered twice at once.
//!
//! One standalone `paygate sim`, three `paygate serve` processes (ports of their own, the same
//! config, node ids `n1`..`n3`) on one throwaway PostgreSQL database, and a site receiver that holds
//! every notification 50–100 ms and counts, per event id, the deliveries in flight. A notification
//! does not say which node sent it; what matters is checked at the receiver (never two in flight of
//! one event) and attributed afterwards from `delivery_attempts.node`.
//!
//! About 100 orders are paid across the nodes. Mid-run the receiver slows down (600–700 ms) while a
//! burst of orders goes through `n2`; once `n2` holds leases on deliveries still in flight, it is
//! SIGKILLed. Those deliveries must be taken over by the other nodes when the lease (3 s) runs out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::cluster::db::ClusterDb;
use support::cluster::nodes::{Balancer, Lookup, Node, NodeSpec, create_site};
use support::cluster::site::{Created, OrderPlan, SiteClient, SiteReceiver};
use support::cluster::upstream::{Accounts, Channel, start_sim};
use support::cluster::{free_port, seed, unix_ms};
use test_support::process::Log;

const LEASE: Duration = Duration::from_secs(3);
const SETTLE_TIMEOUT: Duration = Duration::from_secs(40);
const VICTIM: &str = "n2";

fn node_env(id: &str) -> Vec<(String, String)> {
    [
        ("PAYGATE_NOTIFY_SCHEDULE_SCALE", "0.001"),
        // The lease must outlast an attempt; an attempt here is at most the receiver's slow 700 ms.
        ("PAYGATE_NOTIFY_TIMEOUT", "1500ms"),
        ("PAYGATE_COMPENSATION_SCHEDULE_SCALE", "0.01"),
        ("PAYGATE_WORKERS_POLL_INTERVAL", "50ms"),
        ("PAYGATE_WORKERS_LEASE", "3s"),
        ("PAYGATE_WORKERS_NODE_ID", id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Creates and pays `plans`, `concurrency` at a time; `route(i)` lists the nodes to try for plan
/// `i`, first choice first. Returns the out_trade_nos paid upstream.
async fn create_and_pay(
    plans: Vec<OrderPlan>,
    concurrency: usize,
    route: impl Fn(usize) -> Vec<String>,
    client: &SiteClient,
    lookup: &Arc<Lookup>,
    accounts: &Accounts,
) -> Vec<String> {
    let work: Vec<(OrderPlan, Vec<String>)> = plans
        .into_iter()
        .enumerate()
        .map(|(i, p)| (p, route(i)))
        .collect();
    let work = Arc::new(std::sync::Mutex::new(work.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (work, client, lookup, accounts) = (
            Arc::clone(&work),
            client.clone(),
            Arc::clone(lookup),
            accounts.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut paid = Vec::new();
            loop {
                let Some((plan, bases)) = work.lock().unwrap().next() else {
                    break;
                };
                let created = client
                    .create(&bases, &plan.body(), Duration::from_secs(20))
                    .await;
                assert!(
                    matches!(created, Created::Yes { .. }),
                    "{}: {created:?}",
                    plan.out_trade_no
                );
                let upstream = lookup
                    .upstream_no(&plan.out_trade_no)
                    .await
                    .unwrap_or_else(|| panic!("{} not in the store", plan.out_trade_no));
                accounts.pay(plan.channel, &upstream).await.unwrap();
                paid.push(plan.out_trade_no);
            }
            paid
        }));
    }
    let mut paid = Vec::new();
    for task in tasks {
        paid.extend(task.await.unwrap());
    }
    paid
}

fn plans(prefix: &str, n: usize) -> Vec<OrderPlan> {
    (0..n)
        .map(|i| OrderPlan {
            out_trade_no: format!("nodes_{prefix}_{i:03}"),
            channel: if i % 2 == 0 {
                Channel::Wechat
            } else {
                Channel::Alipay
            },
            amount: 100 + i as u64,
            pay: true,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_one_killed_every_notification_once_at_a_time() {
    let started = Instant::now();
    let seed = seed(0x5EED_0006);
    println!("seed {seed} (replay with PAYGATE_TEST_SEED={seed})");

    let pg = ClusterDb::create().await;
    let sim = start_sim(0.001);
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::register(&sim, dir.path()).await;
    let receiver = SiteReceiver::start((50, 100), seed);
    let data_dir = dir.path().join("data");
    let keys = create_site(&data_dir, pg.url(), &accounts.config, &receiver.url).await;
    receiver.set_secret(&keys.sk);
    let lookup = Arc::new(Lookup::connect(&data_dir, pg.url(), &keys.site_id).await);
    let client = SiteClient::new(keys.clone());

    let log = Log::keeping(400);
    let ports = [free_port(), free_port(), free_port()];
    // One public URL for all nodes, as behind a load balancer: it is in the callback URL of every
    // upstream create, and WeChat Pay only takes a repeated create (a client retrying on another
    // node after a crash) as the same order when every parameter is the same.
    let balancer = Balancer::start(ports.to_vec()).await;
    let specs: Vec<NodeSpec> = ["n1", "n2", "n3"]
        .into_iter()
        .zip(ports)
        .map(|(id, port)| NodeSpec {
            name: id.to_owned(),
            data_dir: data_dir.clone(),
            config: Some(accounts.config.clone()),
            database_url: Some(pg.url().to_owned()),
            port,
            public_url: Some(balancer.url.clone()),
            env: node_env(id),
        })
        .collect();
    let (n1, n2, n3) = tokio::join!(
        Node::start(&specs[0], &log),
        Node::start(&specs[1], &log),
        Node::start(&specs[2], &log)
    );
    let urls: Vec<String> = specs.iter().map(NodeSpec::url).collect();
    let all_from = |first: usize| -> Vec<String> {
        (0..urls.len())
            .map(|k| urls[(first + k) % urls.len()].clone())
            .collect()
    };

    // Phase A: 45 orders spread over the three nodes.
    let mut paid = create_and_pay(plans("a", 45), 6, all_from, &client, &lookup, &accounts).await;
    let phase_a = started.elapsed();

    // Phase B: the receiver slows down and a burst goes through n2; n2 is killed once it holds
    // leases on deliveries that are still in flight.
    receiver.set_hold(600, 700);
    let burst = {
        let (client, lookup, accounts) = (client.clone(), Arc::clone(&lookup), accounts.clone());
        let route = all_from(1);
        tokio::spawn(async move {
            create_and_pay(
                plans("b", 25),
                8,
                move |_| route.clone(),
                &client,
                &lookup,
                &accounts,
            )
            .await
        })
    };
    let pending_leased_by_victim = format!(
        "SELECT j.subject FROM jobs j JOIN notification_events e ON e.id = j.subject \
         WHERE j.kind = 'deliver_notification' AND j.lease_owner = '{VICTIM}' AND e.status = 'pending'"
    );
    let watch_deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let leased = pg
            .query(&format!(
                "{pending_leased_by_victim} AND j.lease_until > {}",
                unix_ms()
            ))
            .await;
        if leased.len() >= 2 || Instant::now() >= watch_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let kill_instant = Instant::now();
    let kill_ms = unix_ms();
    log.push(format!("=== SIGKILL {VICTIM} ==="));
    n2.kill().await;
    // Event id → when the dead node's lease on it runs out.
    let taken_over: HashMap<String, i64> = pg
        .query(
            &pending_leased_by_victim
                .replace("SELECT j.subject", "SELECT j.subject, j.lease_until"),
        )
        .await
        .into_iter()
        .filter_map(|row| Some((row.first()?.clone(), row.get(1)?.parse().ok()?)))
        .collect();
    let victim_checks = pg
        .scalar(&format!(
            "SELECT count(*) FROM jobs WHERE kind = 'check_order' AND lease_owner = '{VICTIM}'"
        ))
        .await;
    receiver.set_hold(50, 100);
    paid.extend(burst.await.unwrap());

    // Phase C: 30 more orders on the survivors.
    let survivors = vec![urls[0].clone(), urls[2].clone()];
    let route = move |i: usize| {
        let mut r = survivors.clone();
        r.rotate_left(i % 2);
        r
    };
    paid.extend(create_and_pay(plans("c", 30), 6, route, &client, &lookup, &accounts).await);
    let driven = started.elapsed();

    // Settle: every paid order paid in paygate, every event delivered and seen by the receiver.
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let missing = loop {
        let orders = pg.orders().await;
        let by_no: HashMap<&str, &str> = orders
            .values()
            .map(|o| (o.out_trade_no.as_str(), o.status.as_str()))
            .collect();
        let events = pg.success_events().await;
        let seen = receiver.event_ids();
        let missing: Vec<String> = paid
            .iter()
            .filter(|no| {
                by_no.get(no.as_str()) != Some(&"paid")
                    || !events
                        .get(*no)
                        .is_some_and(|(id, status)| status == "delivered" && seen.contains(id))
            })
            .cloned()
            .collect();
        if missing.is_empty() || Instant::now() >= deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    if !missing.is_empty() {
        let mut details = String::new();
        for no in missing.iter().take(5) {
            details.push_str(&pg.explain(no).await);
            details.push('\n');
        }
        panic!(
            "{} paid orders not paid/notified after {SETTLE_TIMEOUT:?}: {missing:?}\n{details}\n--- nodes ---\n{}",
            missing.len(),
            log.text()
        );
    }
    let settled = started.elapsed();

    // Never two deliveries of one event in flight at once.
    assert!(
        receiver.overlaps().is_empty(),
        "events delivered concurrently: {:?}",
        receiver.overlaps()
    );
    assert!(
        receiver.malformed().is_empty(),
        "{:?}",
        receiver.malformed()
    );
    let deliveries = receiver.deliveries();
    assert!(deliveries.iter().all(|d| d.signature_ok), "bad signature");
    // Nodes with channel credentials run a live database: every notification says so.
    assert!(
        deliveries.iter().all(|d| d.livemode == Some(true)),
        "livemode"
    );
    // Every event in the outbox was delivered and seen.
    let all_events = pg.query("SELECT id, status FROM notification_events").await;
    let seen = receiver.event_ids();
    for row in &all_events {
        assert_eq!(row[1], "delivered", "{row:?}");
        assert!(seen.contains(&row[0]), "{row:?} never reached the receiver");
    }
    assert_eq!(all_events.len(), paid.len(), "one event per paid order");

    // The dead node's leased deliveries were taken over by the living, after its lease ran out.
    assert!(
        !taken_over.is_empty(),
        "{VICTIM} held no lease on an undelivered notification when it was killed; the take-over \
         was not exercised\n{}",
        log.text()
    );
    let mut takeover_delays = Vec::new();
    for (event, lease_until) in &taken_over {
        let by = pg
            .query(&format!(
                "SELECT node, at FROM delivery_attempts WHERE event_id = '{event}' \
                 AND http_status BETWEEN 200 AND 299"
            ))
            .await;
        assert!(
            by.iter().any(|r| r[0] != VICTIM),
            "{event}: delivered only by {by:?}\n{}",
            pg.explain(event).await
        );
        // Taken over only once the lease had run out, never while the dead node still held it.
        for row in by.iter().filter(|r| r[0] != VICTIM) {
            let at: i64 = row[1].parse().unwrap();
            assert!(
                at >= *lease_until,
                "{event}: {} attempted at {at}, before {VICTIM}'s lease ran out at {lease_until}",
                row[0]
            );
        }
        let first_after = deliveries
            .iter()
            .filter(|d| &d.event_id == event && d.arrived > kill_instant)
            .map(|d| d.arrived - kill_instant)
            .min()
            .unwrap_or_else(|| panic!("{event} not delivered after the kill"));
        takeover_delays.push(first_after);
    }
    takeover_delays.sort();
    let victim_after_death = pg
        .scalar(&format!(
            "SELECT count(*) FROM delivery_attempts WHERE node = '{VICTIM}' AND at > {}",
            kill_ms + 50
        ))
        .await;
    assert_eq!(victim_after_death, "0", "a dead node recorded attempts");

    // Recorded attempts of one event never overlap either (a second view of the same property).
    let attempts = pg
        .query("SELECT event_id, node, at, latency_ms FROM delivery_attempts ORDER BY event_id, at")
        .await;
    let mut by_event: BTreeMap<&str, Vec<(i64, i64, &str)>> = BTreeMap::new();
    for row in &attempts {
        let at: i64 = row[2].parse().unwrap();
        let latency: i64 = row[3].parse().unwrap();
        by_event
            .entry(row[0].as_str())
            .or_default()
            .push((at, at + latency, row[1].as_str()));
    }
    for (event, spans) in &by_event {
        for pair in spans.windows(2) {
            assert!(
                pair[0].1 <= pair[1].0,
                "{event}: attempts overlap: {pair:?}"
            );
        }
    }
    let per_node: BTreeMap<String, String> = pg
        .query(
            "SELECT node, count(*) FROM delivery_attempts WHERE http_status BETWEEN 200 AND 299 \
             GROUP BY node",
        )
        .await
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert!(
        per_node.len() >= 2,
        "the nodes did not share the work: {per_node:?}"
    );
    let mut per_event: HashMap<&str, usize> = HashMap::new();
    for d in &deliveries {
        *per_event.entry(d.event_id.as_str()).or_default() += 1;
    }
    drop((n1, n3));
    Arc::try_unwrap(lookup).ok().unwrap().close().await;

    println!(
        "three nodes: {} orders paid over 3 nodes, {} deliveries of {} events ({} more than once), \
         no concurrent delivery; {VICTIM} killed at {:.1?} holding {} undelivered notification lease(s) \
         and {victim_checks} order-check lease(s), taken over after {:?}..{:?} (lease {LEASE:?}); \
         successful deliveries per node {per_node:?}; phase A {phase_a:.1?}, run {driven:.1?}, \
         settled {settled:.1?}, total {:.1?}",
        paid.len(),
        deliveries.len(),
        per_event.len(),
        per_event.values().filter(|n| **n > 1).count(),
        kill_instant - started,
        taken_over.len(),
        takeover_delays.first().unwrap(),
        takeover_delays.last().unwrap(),
        started.elapsed()
    );
}

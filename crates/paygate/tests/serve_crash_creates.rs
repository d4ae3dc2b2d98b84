//! A CI-sized durability test of order creation as `paygate serve` ships: the data dir's own
//! SQLite file (WAL, `synchronous=FULL`) in sandbox mode, SIGKILLed during a burst of creates.
//!
//! Why: creating an order is where a faster paygate (fewer fsynced transactions per create, group
//! commit) could start answering before the order is stored. A site that got `200 pending` with a
//! `code_url` shows that QR code to its payer; if a crash then forgets the order, the payer pays an
//! order paygate never heard of. So: every create acknowledged to a client must be there after any
//! crash, with the same content, the same checkout link and the same `code_url`.
//!
//! One `paygate serve` on a fixed port (so a restart keeps its URL, which is also the callback URL
//! in every upstream order). Sandbox mode runs the simulator in-process, with its state in
//! `<data_dir>/sim`, so it dies and restarts with paygate (on a new port each time: paygate
//! registers the sandbox accounts with it again at start and talks to it at its new address; the
//! orders it holds are in its state files). Clients create WeChat Native orders through seed 000's
//! `POST /pay/wechat/native` as fast as they can, each with its own `out_trade_no`, retrying the
//! same body after an error (an error is never taken as an acknowledgement; a 200 after a retry
//! is). A killer SIGKILLs paygate at seeded moments mid-burst and restarts it on the same data dir.
//! Afterwards every acknowledged order is checked through the signed API, its idempotent replay,
//! the checkout token, the SQLite file as `paygate order list` reads it with no paygate running,
//! and the simulator's state.
//!
//! What SIGKILL can and cannot catch: the killed process's writes that reached the kernel survive
//! it, so this catches an answer sent before the commit was written (acknowledging from memory, a
//! group commit that answers early, a commit moved after the answer), not a missing fsync; only
//! losing the machine's power would show that.
//!
//! Replay a run with `PAYGATE_TEST_SEED=<seed printed by the test>`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cluster::nodes::{Node, NodeSpec};
use support::cluster::{Rng, free_port, seed};
use support::serve::{SiteKeys, create_site, paygate_run, signed, sim_wechat_orders};
use test_support::process::Log;

/// Orders the clients go through; the kills fall between 15 % and 85 % of them.
const ORDERS: usize = 480;
const CLIENTS: usize = 16;
/// A client stops retrying one create after this long (paygate is down well under a second).
const CREATE_GIVE_UP: Duration = Duration::from_secs(15);
/// How many acknowledged orders are also read through their checkout token: the token route is
/// limited per client address (a burst of 200), signed routes are not.
const TOKEN_CHECKS: usize = 120;

/// One planned kill: when `at_progress` creates have finished, wait `jitter`, SIGKILL, stay down
/// for `downtime`, restart.
#[derive(Debug, Clone, Copy)]
struct Kill {
    at_progress: usize,
    jitter: Duration,
    downtime: Duration,
}

/// What a kill hit: the creates in flight at that moment and the progress it came at.
#[derive(Debug, Clone, Copy)]
struct Landed {
    progress: usize,
    in_flight: usize,
}

/// One order a client means to create.
#[derive(Debug, Clone)]
struct Plan {
    out_trade_no: String,
    amount: i64,
    description: String,
}

impl Plan {
    /// Seed 000's body: the same bytes on every retry.
    fn body(&self) -> String {
        json!({
            "out_trade_no": self.out_trade_no,
            "description": self.description,
            "amount_total": self.amount,
        })
        .to_string()
    }
}

/// A create paygate acknowledged: 200, and what the client would show its payer.
#[derive(Debug, Clone)]
struct Ack {
    plan: Plan,
    code_url: String,
    checkout_url: String,
    /// Requests it took (more than one: an earlier one failed, maybe mid-create, under a kill).
    tries: u32,
    /// How many restarts had happened when the 200 came: an order acknowledged by an incarnation
    /// that was killed later is one the kills actually put to the test.
    incarnation: usize,
}

/// What became of one create.
#[derive(Debug)]
enum Created {
    Yes(Ack),
    /// No 200 before giving up: paygate may or may not have the order (not acknowledged).
    GaveUp {
        plan: Plan,
        errors: Vec<String>,
    },
    /// A final refusal, or a 200 that is not a pending order with its links: a bug here.
    Wrong {
        plan: Plan,
        answer: String,
    },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_a_create_burst_loses_no_acknowledged_order() {
    let started = Instant::now();
    let seed = seed(0xC4EA_7E5D);
    println!("seed {seed} (replay with PAYGATE_TEST_SEED={seed})");
    let mut rng = Rng::new(seed);

    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // As shipped: no config, no database URL (the data dir's SQLite file), so sandbox mode.
    let spec = NodeSpec {
        name: "paygate".into(),
        data_dir: data_dir.clone(),
        config: None,
        database_url: None,
        port: free_port(),
        public_url: None,
        env: Vec::new(),
    };
    let log = Log::keeping(400);
    let node = Node::start(&spec, &log).await;
    // The banner is on stderr, read beside the listening line on stdout: it may arrive just after.
    let banner = Instant::now();
    while !log.text().contains("SANDBOX MODE") && banner.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        log.text().contains("SANDBOX MODE"),
        "not in sandbox mode:\n{}",
        log.text()
    );
    assert!(data_dir.join("paygate.db").is_file(), "no SQLite file");
    let keys = create_site(&data_dir, "shop");
    let base = spec.url();

    let plans: Vec<Plan> = (0..ORDERS)
        .map(|i| Plan {
            out_trade_no: format!("burst_{i:04}"),
            amount: i64::try_from(rng.range(1, 500_000)).unwrap(),
            description: format!("会员月卡 {i} 号 {}", rng.range(0, 9999)),
        })
        .collect();
    // Spread out: one kill in each equal part of 15 %..85 % of the run, so each lands while
    // every client is still busy, and none in the warm-up or the tail.
    let kills_planned = usize::try_from(rng.range(2, 3)).unwrap();
    let (lo, hi) = (ORDERS * 15 / 100, ORDERS * 85 / 100);
    let part = (hi - lo) / kills_planned;
    let kills: Vec<Kill> = (0..kills_planned)
        .map(|k| Kill {
            at_progress: lo + k * part + usize::try_from(rng.range(0, part as u64 - 1)).unwrap(),
            jitter: Duration::from_millis(rng.range(0, 60)),
            downtime: Duration::from_millis(rng.range(50, 400)),
        })
        .collect();
    println!("kill plan: {kills:?}");

    let progress = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let incarnation = Arc::new(AtomicUsize::new(0));
    let run_over = Arc::new(AtomicBool::new(false));

    // The killer: owns the node, kills and restarts it on the plan.
    let killer = {
        let (progress, in_flight, incarnation, run_over, spec, log) = (
            Arc::clone(&progress),
            Arc::clone(&in_flight),
            Arc::clone(&incarnation),
            Arc::clone(&run_over),
            spec.clone(),
            log.clone(),
        );
        tokio::spawn(async move {
            let mut node = node;
            let mut landed = Vec::new();
            for kill in kills {
                while progress.load(Ordering::SeqCst) < kill.at_progress
                    && !run_over.load(Ordering::SeqCst)
                {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                if run_over.load(Ordering::SeqCst) {
                    break;
                }
                tokio::time::sleep(kill.jitter).await;
                let at = Landed {
                    progress: progress.load(Ordering::SeqCst),
                    in_flight: in_flight.load(Ordering::SeqCst),
                };
                log.push(format!("=== SIGKILL at {at:?} ==="));
                node.kill().await;
                tokio::time::sleep(kill.downtime).await;
                // Before the new process answers anything: a 200 counted for this incarnation
                // really came from it.
                incarnation.fetch_add(1, Ordering::SeqCst);
                node = Node::start(&spec, &log).await;
                landed.push(at);
            }
            (node, landed)
        })
    };

    // The clients: each takes the next planned order and creates it until a 200.
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let plans = Arc::new(plans);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (next, plans, http, base, keys, progress, in_flight, incarnation) = (
            Arc::clone(&next),
            Arc::clone(&plans),
            http.clone(),
            base.clone(),
            keys.clone(),
            Arc::clone(&progress),
            Arc::clone(&in_flight),
            Arc::clone(&incarnation),
        );
        tasks.push(tokio::spawn(async move {
            let mut created = Vec::new();
            while let Some(plan) = plans.get(next.fetch_add(1, Ordering::SeqCst)).cloned() {
                created.push(create(&http, &base, &keys, plan, &in_flight, &incarnation).await);
                progress.fetch_add(1, Ordering::SeqCst);
            }
            created
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        created.extend(task.await.unwrap());
    }
    run_over.store(true, Ordering::SeqCst);
    let (node, landed) = killer.await.unwrap();
    let driven = started.elapsed();

    let wrong: Vec<String> = created
        .iter()
        .filter_map(|c| match c {
            Created::Wrong { plan, answer } => Some(format!("{}: {answer}", plan.out_trade_no)),
            _ => None,
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "creates refused or answered wrongly: {wrong:?}\n{}",
        log.text()
    );
    let gave_up: Vec<String> = created
        .iter()
        .filter_map(|c| match c {
            Created::GaveUp { plan, errors } => Some(format!("{}: {errors:?}", plan.out_trade_no)),
            _ => None,
        })
        .collect();
    assert!(
        gave_up.is_empty(),
        "creates that got no answer in {CREATE_GIVE_UP:?}: {gave_up:?}\n{}",
        log.text()
    );
    let acks: Vec<Ack> = created
        .into_iter()
        .filter_map(|c| match c {
            Created::Yes(ack) => Some(ack),
            _ => None,
        })
        .collect();
    assert_eq!(
        landed.len(),
        kills_planned,
        "every planned kill came during the burst"
    );
    assert!(
        landed.iter().all(|l| l.in_flight > 0),
        "a kill with no create in flight did not land mid-burst: {landed:?}"
    );
    let final_incarnation = landed.len();

    // 1. On disk, with no paygate running: the SQLite file as `paygate order list` reads it, and
    //    the simulator's state. First, before any request could make up for a lost order, and
    //    after a last SIGKILL, so the file is read as a crash leaves it.
    node.kill().await;
    let stored = stored_orders(&data_dir, &keys);
    let in_sim = sim_wechat_orders(&data_dir);
    let mut sim_by_upstream_no: HashMap<&str, &Value> = HashMap::new();
    for order in in_sim.values() {
        sim_by_upstream_no.insert(order["out_trade_no"].as_str().unwrap(), order);
    }
    let mut problems = Vec::new();
    if stored.len() < acks.len() {
        problems.push(format!(
            "{} orders in the SQLite file, {} acknowledged",
            stored.len(),
            acks.len()
        ));
    }
    for ack in &acks {
        problems.extend(check_on_disk(ack, &stored, &sim_by_upstream_no));
    }
    // The row is committed before the channel hears of the order: an upstream order whose paygate
    // row is gone was lost too, acknowledged or not.
    let upstream_nos: HashSet<&str> = stored
        .values()
        .filter_map(|o| o["upstream_order_no"].as_str())
        .collect();
    for no in sim_by_upstream_no.keys() {
        if !upstream_nos.contains(no) {
            problems.push(format!(
                "upstream order {no} is in the simulator but not in paygate"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems on disk (seed {seed}): {:#?}\n--- paygate ---\n{}",
        problems.len(),
        problems.iter().take(30).collect::<Vec<_>>(),
        log.text()
    );

    // 2. Through the API of a restarted paygate: the signed GET and (a sample) the checkout token,
    //    then the idempotent replay of each create, last, since a replay would create an order
    //    that was lost.
    let node = Node::start(&spec, &log).await;
    for ack in &acks {
        problems.extend(check_get(&http, &base, &keys, ack).await);
    }
    let mut sample: Vec<&Ack> = acks.iter().collect();
    for i in (1..sample.len()).rev() {
        sample.swap(i, usize::try_from(rng.range(0, i as u64)).unwrap());
    }
    for ack in sample.iter().take(TOKEN_CHECKS) {
        problems.extend(check_token(&http, &base, ack).await);
    }
    for ack in &acks {
        problems.extend(check_replay(&http, &base, &keys, ack).await);
    }
    assert!(
        problems.is_empty(),
        "{} problems with acknowledged orders through the API (seed {seed}): {:#?}\n--- paygate ---\n{}",
        problems.len(),
        problems.iter().take(30).collect::<Vec<_>>(),
        log.text()
    );
    drop(node);

    let retried = acks.iter().filter(|a| a.tries > 1).count();
    let before_a_kill = acks
        .iter()
        .filter(|a| a.incarnation < final_incarnation)
        .count();
    println!(
        "create crash test: {} acknowledged ({before_a_kill} by a paygate killed later, {retried} after a \
         retry), {} stored, {} upstream; {} kills at progress {:?} with {:?} creates in flight; \
         drive {driven:.1?}, total {:.1?}",
        acks.len(),
        stored.len(),
        sim_by_upstream_no.len(),
        landed.len(),
        landed.iter().map(|l| l.progress).collect::<Vec<_>>(),
        landed.iter().map(|l| l.in_flight).collect::<Vec<_>>(),
        started.elapsed()
    );
}

/// One create request in flight (counted while alive), for the killer to see what it hits.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn count(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `POST /pay/wechat/native` with the same body until a 200, a final refusal, or
/// [`CREATE_GIVE_UP`]. Connection errors (paygate down, or killed mid-request), timeouts, 429 and
/// 5xx are retried after a short pause, each time freshly signed (a nonce is single use).
async fn create(
    http: &reqwest::Client,
    base: &str,
    keys: &SiteKeys,
    plan: Plan,
    in_flight: &AtomicUsize,
    incarnation: &AtomicUsize,
) -> Created {
    let body = plan.body();
    let deadline = Instant::now() + CREATE_GIVE_UP;
    let mut tries = 0_u32;
    let mut errors: Vec<String> = Vec::new();
    loop {
        tries += 1;
        let answered = {
            let _counted = InFlight::count(in_flight);
            let at = incarnation.load(Ordering::SeqCst);
            let sent = signed(
                http,
                base,
                keys,
                reqwest::Method::POST,
                "/pay/wechat/native",
                &body,
            )
            .send()
            .await;
            match sent {
                // The whole answer must arrive: a 200 cut off by the kill was never received.
                Ok(r) => {
                    let status = r.status().as_u16();
                    r.text().await.map(|text| (status, text, at))
                }
                Err(e) => Err(e),
            }
        };
        let error = match answered {
            Ok((200, text, at)) => return acknowledged(plan, &text, tries, at),
            Ok((status, text, _)) if status != 429 && status < 500 => {
                return Created::Wrong {
                    plan,
                    answer: format!("{status} {text}"),
                };
            }
            Ok((status, text, _)) => format!("{status} {text}"),
            Err(e) => format!("{e} ({:?})", std::error::Error::source(&e)),
        };
        if errors.len() < 5 && !errors.contains(&error) {
            errors.push(error);
        }
        if Instant::now() >= deadline {
            return Created::GaveUp { plan, errors };
        }
        tokio::time::sleep(Duration::from_millis(20 * u64::from(tries.min(10)))).await;
    }
}

/// A 200 is an acknowledgement only as a pending order with its checkout link and QR code.
fn acknowledged(plan: Plan, text: &str, tries: u32, incarnation: usize) -> Created {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    match (
        v["status"].as_str(),
        v["out_trade_no"].as_str(),
        v["code_url"].as_str(),
        v["checkout_url"].as_str(),
    ) {
        (Some("pending"), Some(no), Some(code_url), Some(checkout_url))
            if no == plan.out_trade_no =>
        {
            Created::Yes(Ack {
                plan,
                code_url: code_url.to_owned(),
                checkout_url: checkout_url.to_owned(),
                tries,
                incarnation,
            })
        }
        _ => Created::Wrong {
            plan,
            answer: format!("200 {text}"),
        },
    }
}

/// The order as the signed `GET /v1/orders/{no}` shows it: the acknowledged order, same content,
/// same checkout link, same QR code while pending.
async fn check_get(
    http: &reqwest::Client,
    base: &str,
    keys: &SiteKeys,
    ack: &Ack,
) -> Option<String> {
    let no = &ack.plan.out_trade_no;
    let path = format!("/v1/orders/{no}");
    let (status, got) = send(signed(http, base, keys, reqwest::Method::GET, &path, "")).await;
    let pending = got["status"] == "pending";
    let same = ["paid", "closed"].contains(&got["status"].as_str().unwrap_or_default())
        || pending
            && got["pay_params"]["type"] == "wechat_native"
            && got["pay_params"]["code_url"] == ack.code_url.as_str();
    let ok = status == 200
        && same
        && got["amount_total"] == ack.plan.amount
        && got["description"] == ack.plan.description.as_str()
        && got["checkout_url"] == ack.checkout_url.as_str();
    (!ok).then(|| format!("{no}: acknowledged {ack:?}, GET {path}: {status} {got}"))
}

/// The same create sent again answers the acknowledged order (seed 000's idempotent create).
async fn check_replay(
    http: &reqwest::Client,
    base: &str,
    keys: &SiteKeys,
    ack: &Ack,
) -> Option<String> {
    let replay = signed(
        http,
        base,
        keys,
        reqwest::Method::POST,
        "/pay/wechat/native",
        &ack.plan.body(),
    );
    let (status, got) = send(replay).await;
    let ok = status == 200
        && got["status"] == "pending"
        && got["code_url"] == ack.code_url.as_str()
        && got["checkout_url"] == ack.checkout_url.as_str();
    (!ok).then(|| {
        format!(
            "{}: acknowledged {ack:?}, the same create again answers {status} {got}",
            ack.plan.out_trade_no
        )
    })
}

/// `GET /pay/wechat/status?token=…`: the checkout link given to the payer still finds the order.
async fn check_token(http: &reqwest::Client, base: &str, ack: &Ack) -> Option<String> {
    let token = ack.checkout_url.split("token=").nth(1).unwrap_or_default();
    let url = format!("{base}/pay/wechat/status?token={token}");
    let (status, got) = send(http.get(&url)).await;
    if status == 200
        && got["out_trade_no"] == ack.plan.out_trade_no.as_str()
        && ["pending", "paid", "closed"].contains(&got["status"].as_str().unwrap_or_default())
        && got["amount_total"] == ack.plan.amount
        && got["description"] == ack.plan.description.as_str()
    {
        None
    } else {
        Some(format!(
            "{}: acknowledged {ack:?}, its token's status: {status} {got}",
            ack.plan.out_trade_no
        ))
    }
}

/// The order in the SQLite file, and its upstream order in the simulator with the same QR code.
fn check_on_disk(
    ack: &Ack,
    stored: &BTreeMap<String, Value>,
    sim: &HashMap<&str, &Value>,
) -> Vec<String> {
    let no = &ack.plan.out_trade_no;
    let Some(row) = stored.get(no) else {
        return vec![format!(
            "{no}: acknowledged {ack:?}, not in the SQLite file"
        )];
    };
    let mut problems = Vec::new();
    if row["amount_fen"] != ack.plan.amount
        || row["description"] != ack.plan.description.as_str()
        || !["pending", "paid", "closed"].contains(&row["status"].as_str().unwrap_or_default())
    {
        problems.push(format!("{no}: acknowledged {ack:?}, stored {row}"));
    }
    let upstream_no = row["upstream_order_no"].as_str().unwrap_or_default();
    match sim.get(upstream_no) {
        Some(up)
            if up["prepay"]["code_url"] == ack.code_url.as_str()
                && up["total"] == ack.plan.amount => {}
        other => problems.push(format!(
            "{no}: acknowledged {ack:?}, upstream {upstream_no} in the simulator: {other:?}"
        )),
    }
    problems
}

/// The site's orders as `paygate order list --json` reads them from the data dir's SQLite file,
/// by out_trade_no.
fn stored_orders(data_dir: &std::path::Path, keys: &SiteKeys) -> BTreeMap<String, Value> {
    let limit = (ORDERS * 10).to_string();
    let out = paygate_run(
        &[
            "order",
            "list",
            "--site",
            &keys.site_id,
            "--limit",
            &limit,
            "--json",
        ],
        data_dir,
    );
    assert!(
        out.status.success(),
        "paygate order list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).expect("order list --json");
    list.into_iter()
        .map(|o| (o["out_trade_no"].as_str().unwrap().to_owned(), o))
        .collect()
}

/// Sends a request; the status and the JSON answer (`Null` if none), a transport error as 0.
async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    match request.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(e) => (0, Value::String(e.to_string())),
    }
}

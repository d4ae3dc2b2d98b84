//! Hot-path benchmarks: stands paygate up in-process in sandbox form (the simulator and the router on
//! 127.0.0.1, SQLite in a temp file, and PostgreSQL at `PAYGATE_BENCH_POSTGRES_URL` or
//! `postgres://postgres@127.0.0.1:5432/postgres` in a throwaway database when it answers) and
//! measures, over the real HTTP API with one reused `reqwest::Client` and properly signed requests:
//!
//! * order creation, `POST /pay/wechat/native` (distinct `out_trade_no` each), end to end including
//!   the signed upstream call to the simulator and the verification of its answer;
//! * status polling, `GET /pay/wechat/status?token=`;
//! * the CPU pieces of those paths and of callback intake, per operation.
//!
//! Run: `cargo bench -p gateway --bench hot_paths`. It writes `bench/pieces.md` and
//! `bench/pieces.json` at the workspace root (or in `PAYGATE_BENCH_OUT`) with the machine it ran
//! on. `PAYGATE_BENCH_QUICK=1` shortens every phase (for a smoke run); `PAYGATE_BENCH_POSTGRES=0`
//! skips PostgreSQL. Loopback only; bounded counts and time (about a minute and a half).
//!
//! Without `--bench` (as `cargo test --benches` runs it) it does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/machine.rs"]
#[allow(dead_code)]
mod machine;
#[path = "support/postgres.rs"]
mod postgres;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use channel_core::{RsaPrivateKey, RsaPublicKey};
use gateway::api::{ApiSettings, ApiState, router};
use gateway::channels::Channels;
use gateway::crypto::{MasterKey, SecretBox};
use gateway::domain::{
    Amount, ApiNonce, Channel, Currency, Description, ExpireMinutes, Method, NewOrder,
    OrderRequest, OrderStatus, OutTradeNo, PayMethod, Payer, Site, SiteName, Timestamp,
    UpstreamFields,
};
use gateway::sandbox::provision::{SandboxKeys, provision};
use gateway::signing::{canonical, sign};
use gateway::store::{InsertOutcome, NewSite, NonceUse, Store, Transition};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use test_support::db::ThrowawayDb;

// ---------------------------------------------------------------------------------------------
// Plan

/// Counts and time caps of one run.
#[derive(Clone, Copy)]
struct Plan {
    warmup: usize,
    create_c1: (usize, Duration),
    create_c16: (usize, Duration),
    status_c1: (usize, Duration),
    status_c16: (usize, Duration),
    create_persisting_sim: (usize, Duration),
    /// Status polling of orders whose pay parameters are signed (Alipay WAP).
    status_signed: (usize, Duration),
    /// Callbacks replayed at once, after the orders they pay were made and paid in the simulator.
    callbacks: usize,
    /// Per store call.
    store: (usize, Duration),
    cpu_time: Duration,
}

impl Plan {
    fn full() -> Self {
        let s = Duration::from_secs;
        Self {
            warmup: 30,
            create_c1: (500, s(8)),
            create_c16: (2_000, s(10)),
            status_c1: (4_000, s(5)),
            status_c16: (10_000, s(6)),
            create_persisting_sim: (300, s(6)),
            status_signed: (1_000, s(3)),
            callbacks: 2_000,
            store: (300, Duration::from_millis(1_500)),
            cpu_time: Duration::from_millis(700),
        }
    }

    fn quick() -> Self {
        let s = Duration::from_secs;
        Self {
            warmup: 5,
            create_c1: (40, s(2)),
            create_c16: (100, s(2)),
            status_c1: (200, s(1)),
            status_c16: (400, s(1)),
            create_persisting_sim: (30, s(2)),
            status_signed: (100, s(1)),
            callbacks: 50,
            store: (20, Duration::from_millis(300)),
            cpu_time: Duration::from_millis(100),
        }
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("hot_paths: a benchmark; run it with `cargo bench -p gateway --bench hot_paths`");
        return;
    }
    let quick = std::env::var("PAYGATE_BENCH_QUICK").is_ok_and(|v| v == "1");
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(plan, quick));
}

async fn run(plan: Plan, quick: bool) {
    let started = Instant::now();
    let machine = Machine::read();
    eprintln!(
        "hot_paths: {} cores, load average at start {}",
        machine.nproc, machine.load_start
    );
    // Key generation is set-up, not measured: one set serves every stand-up.
    let keys = SandboxKeys::generate();
    let client = reqwest::Client::new();

    let mut http = Vec::new();
    let mut notes = Vec::new();

    // SQLite, the simulator in memory: the gateway's own cost plus the upstream round trip.
    let stand = Stand::up(ThrowawayDb::sqlite(), &keys, false).await;
    http.extend(http_scenarios(&stand, &client, plan, "sqlite").await);
    http.extend(signed_params_polling(&stand, &client, plan).await);
    http.extend(callback_intake(&stand, &client, plan, "sqlite", &keys).await);
    let mut store_rows = store_pieces(&stand, plan, "sqlite").await;
    stand.down().await;

    // SQLite with the simulator persisting its state as `paygate serve` runs it in sandbox mode.
    let stand = Stand::up(ThrowawayDb::sqlite(), &keys, true).await;
    let label = "sqlite, sim persisting state (as `serve` sandbox)";
    warm(&stand, &client, plan.warmup, "wp").await;
    let (n, t) = plan.create_persisting_sim;
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let fig = measure(1, n, t, creator(&stand, &client, "p1", &tokens)).await;
    http.push(Row::new("create POST /pay/wechat/native", label, 1, fig));
    stand.down().await;

    match postgres::admin_url().await {
        Some(admin) => {
            let database = ThrowawayDb::postgres_on(&admin)
                .await
                .expect("a throwaway PostgreSQL database");
            let stand = Stand::up(database, &keys, false).await;
            http.extend(http_scenarios(&stand, &client, plan, "postgres").await);
            http.extend(callback_intake(&stand, &client, plan, "postgres", &keys).await);
            store_rows.extend(store_pieces(&stand, plan, "postgres").await);
            stand.down().await;
        }
        None => notes
            .push("PostgreSQL: skipped (not reachable, or PAYGATE_BENCH_POSTGRES=0)".to_owned()),
    }

    let cpu = cpu_pieces(plan.cpu_time);

    let machine = machine.finish();
    let report = Report {
        machine,
        quick,
        http,
        store: store_rows,
        cpu,
        notes,
        wall: started.elapsed(),
    };
    report.write();
}

// ---------------------------------------------------------------------------------------------
// Standing paygate up

/// A running paygate: simulator, store, router.
struct Stand {
    base: String,
    site: Site,
    store: Store,
    server: tokio::task::JoinHandle<()>,
    sim: sim::RunningSim,
    _sim_dir: tempfile::TempDir,
    /// Removed when dropped.
    database: ThrowawayDb,
}

impl Stand {
    async fn up(database: ThrowawayDb, keys: &SandboxKeys, persist_sim: bool) -> Self {
        let sim_dir = tempfile::tempdir().unwrap();
        let sim = test_support::sim::start(persist_sim.then(|| sim_dir.path()), 1.0).await;
        let store = Store::connect(database.url(), &MasterKey::generate())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
            .record_mode(gateway::domain::Mode::Sandbox, Timestamp::now())
            .await
            .unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (wechat, alipay) = provision(
            &sim.base_url,
            keys,
            &base,
            gateway::sandbox::provision::SimRefunds::SucceedOnTheirOwn,
        )
        .await
        .unwrap();
        let channels = Channels::new(Some(wechat), Some(alipay));
        let site = store
            .create_site(
                NewSite {
                    name: SiteName::parse("bench").unwrap(),
                    notify_url: None,
                    enabled_methods: PayMethod::all().into_iter().collect::<BTreeSet<_>>(),
                    allow_private_targets: false,
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
        let mut settings = ApiSettings::new(base.clone());
        settings.sandbox = true;
        settings.failpoint = None;
        // The benchmark polls from one address far faster than the per-client limit allows a
        // real client: it measures the work behind the limit, so the limit is off.
        settings.http.rate_limit = None;
        let header_read_timeout = settings.http.header_read_timeout;
        let services = gateway::service::Services::new(
            store.clone(),
            channels.clone(),
            settings.service_settings(),
        );
        let callbacks = gateway::callbacks::routes(gateway::callbacks::State {
            orders: services.orders.clone(),
            channels,
        });
        let app = router(ApiState { services, settings }, callbacks);
        let server = tokio::spawn(gateway::api::serve(
            listener,
            app,
            header_read_timeout,
            std::future::pending(),
        ));
        Self {
            base,
            site,
            store,
            server,
            sim,
            _sim_dir: sim_dir,
            database,
        }
    }

    async fn down(self) {
        self.server.abort();
        let _ = self.server.await;
        self.store.close().await;
        drop(self.sim);
        drop(self.database);
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// A request signed by the stand's site: seed 000's scheme, with a fresh nonce and the current time.
fn signed(
    client: &reqwest::Client,
    stand: &Stand,
    method: reqwest::Method,
    path: &str,
    body: String,
) -> reqwest::RequestBuilder {
    let ts = (Timestamp::now().as_millis() / 1000).to_string();
    let nonce = ApiNonce::parse(&channel_core::nonce::alphanumeric(32)).unwrap();
    let canonical = canonical(&ts, &nonce, method.as_str(), path, body.as_bytes());
    let signature = sign(stand.site.secret_key.expose(), &canonical);
    client
        .request(method, format!("{}{path}", stand.base))
        .header("Content-Type", "application/json")
        .header("X-1Pass-AK", stand.site.access_key.as_str())
        .header("X-1Pass-Ts", ts)
        .header("X-1Pass-Nonce", nonce.as_str())
        .header("X-1Pass-Sign", signature)
        .body(body)
}

type Op = Arc<
    dyn Fn(usize) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

/// Creates WeChat Native orders `b{tag}{i}`, keeping each order's checkout token in `tokens`.
fn creator(
    stand: &Stand,
    client: &reqwest::Client,
    tag: &str,
    tokens: &Arc<Mutex<Vec<String>>>,
) -> Op {
    let client = client.clone();
    let base = stand.base.clone();
    let ak = stand.site.access_key.as_str().to_owned();
    let sk = stand.site.secret_key.expose().to_owned();
    let tokens = Arc::clone(tokens);
    let run_id = channel_core::nonce::alphanumeric(6);
    let tag = tag.to_owned();
    Arc::new(move |i| {
        let client = client.clone();
        let base = base.clone();
        let ak = ak.clone();
        let sk = sk.clone();
        let tokens = Arc::clone(&tokens);
        let no = format!("b{run_id}_{tag}_{i}");
        Box::pin(async move {
            let body = json!({"out_trade_no": no, "description": "bench", "amount_total": 2990})
                .to_string();
            let path = "/pay/wechat/native";
            let ts = (Timestamp::now().as_millis() / 1000).to_string();
            let nonce = ApiNonce::parse(&channel_core::nonce::alphanumeric(32))
                .map_err(|e| e.to_string())?;
            let signature = sign(&sk, &canonical(&ts, &nonce, "POST", path, body.as_bytes()));
            let resp = client
                .post(format!("{base}{path}"))
                .header("Content-Type", "application/json")
                .header("X-1Pass-AK", ak)
                .header("X-1Pass-Ts", ts)
                .header("X-1Pass-Nonce", nonce.as_str())
                .header("X-1Pass-Sign", signature)
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            if status != 200 {
                return Err(format!("{status}: {text}"));
            }
            let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            if v["status"] != "pending" || v["code_url"].as_str().is_none() {
                return Err(format!("unexpected answer: {text}"));
            }
            let token = v["checkout_url"]
                .as_str()
                .and_then(|u| u.split_once("token="))
                .map(|(_, t)| t.to_owned())
                .ok_or_else(|| format!("no token in {text}"))?;
            tokens.lock().unwrap().push(token);
            Ok(())
        })
    })
}

/// Polls `path` (a status route) for the orders behind `tokens`, round robin.
fn poller(
    stand: &Stand,
    client: &reqwest::Client,
    path: &'static str,
    tokens: Arc<Vec<String>>,
) -> Op {
    let client = client.clone();
    let base = stand.base.clone();
    Arc::new(move |i| {
        let client = client.clone();
        let url = format!("{base}{path}?token={}", tokens[i % tokens.len()]);
        Box::pin(async move {
            let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            if status != 200 || !text.contains("\"status\":\"pending\"") {
                return Err(format!("{status}: {text}"));
            }
            Ok(())
        })
    })
}

/// A few orders and polls before measuring: connection pools, statement caches, the simulator.
async fn warm(stand: &Stand, client: &reqwest::Client, n: usize, tag: &str) {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let fig = measure(
        2,
        n,
        Duration::from_secs(10),
        creator(stand, client, tag, &tokens),
    )
    .await;
    assert_eq!(fig.errors, 0, "warm-up failed: {:?}", fig.first_error);
    let tokens = Arc::new(tokens.lock().unwrap().clone());
    let fig = measure(
        2,
        n,
        Duration::from_secs(10),
        poller(stand, client, "/pay/wechat/status", tokens),
    )
    .await;
    assert_eq!(fig.errors, 0, "warm-up failed: {:?}", fig.first_error);
    // The signed request the helpers above do not use: checks `signed` against the server.
    let resp = signed(
        client,
        stand,
        reqwest::Method::GET,
        "/v1/orders/does_not_exist",
        String::new(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 404, "signed GET: {:?}", resp.text().await);
}

async fn http_scenarios(
    stand: &Stand,
    client: &reqwest::Client,
    plan: Plan,
    backend: &str,
) -> Vec<Row> {
    warm(stand, client, plan.warmup, "w").await;
    let mut rows = Vec::new();
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let create = "create POST /pay/wechat/native";
    let (n, t) = plan.create_c1;
    let fig = measure(1, n, t, creator(stand, client, "c1", &tokens)).await;
    rows.push(Row::new(create, backend, 1, fig));
    let (n, t) = plan.create_c16;
    let fig = measure(16, n, t, creator(stand, client, "c16", &tokens)).await;
    rows.push(Row::new(create, backend, 16, fig));

    let tokens = Arc::new(tokens.lock().unwrap().clone());
    let status = "status GET /pay/wechat/status";
    let (n, t) = plan.status_c1;
    let fig = measure(
        1,
        n,
        t,
        poller(stand, client, "/pay/wechat/status", Arc::clone(&tokens)),
    )
    .await;
    rows.push(Row::new(status, backend, 1, fig));
    let (n, t) = plan.status_c16;
    let fig = measure(
        16,
        n,
        t,
        poller(stand, client, "/pay/wechat/status", tokens),
    )
    .await;
    rows.push(Row::new(status, backend, 16, fig));
    rows
}

/// Status polling of Alipay WAP orders: their pay parameters are a signed URL, so this shows what
/// a poll costs when the order's view is built with signed pay parameters.
async fn signed_params_polling(stand: &Stand, client: &reqwest::Client, plan: Plan) -> Vec<Row> {
    let run_id = channel_core::nonce::alphanumeric(6);
    let mut tokens = Vec::new();
    for i in 0..20 {
        let body =
            json!({"out_trade_no": format!("w{run_id}_{i}"), "channel": "alipay", "method": "wap",
                          "amount_total": 2990, "description": "bench"})
            .to_string();
        let resp = signed(client, stand, reqwest::Method::POST, "/v1/orders", body)
            .send()
            .await
            .unwrap();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["status"], "pending", "{v}");
        let token = v["checkout_url"]
            .as_str()
            .unwrap()
            .split_once("token=")
            .unwrap()
            .1;
        tokens.push(token.to_owned());
    }
    let op = poller(stand, client, "/pay/alipay/status", Arc::new(tokens));
    let scenario = "status GET /pay/alipay/status (alipay.wap order)";
    let (n, t) = plan.status_signed;
    let mut rows = Vec::new();
    let fig = measure(1, n, t, Arc::clone(&op)).await;
    rows.push(Row::new(scenario, "sqlite", 1, fig));
    let fig = measure(16, n * 2, t, op).await;
    rows.push(Row::new(scenario, "sqlite", 16, fig));
    rows
}

/// Callback intake without the simulator's sender: orders are made and paid in the simulator with
/// its callbacks held back (logged, not sent), then the logged callbacks — signed and encrypted by
/// the simulator as WeChat Pay does — are posted to paygate at once, each one order's payment.
async fn callback_intake(
    stand: &Stand,
    client: &reqwest::Client,
    plan: Plan,
    backend: &str,
    keys: &SandboxKeys,
) -> Vec<Row> {
    let sim_faults = format!("{}/sim/faults", stand.sim.base_url);
    let held = client
        .post(&sim_faults)
        .json(&json!({"drop_callbacks": true}))
        .send()
        .await
        .unwrap();
    assert!(held.status().is_success(), "{:?}", held.text().await);
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let n = plan.callbacks;
    let fig = measure(
        16,
        n,
        Duration::from_secs(600),
        creator(stand, client, "cb", &tokens),
    )
    .await;
    assert_eq!(fig.errors, 0, "creating the orders: {:?}", fig.first_error);
    let tokens = tokens.lock().unwrap().clone();
    let mut references = std::collections::HashSet::new();
    for token in &tokens {
        let token = gateway::domain::CheckoutToken::parse(token).unwrap();
        let order = stand
            .store
            .find_order_by_token(&token)
            .await
            .unwrap()
            .unwrap();
        let no = order.upstream_order_no.as_str().to_owned();
        let url = format!(
            "{}/sim/wechat/orders/{no}/pay?mchid={}",
            stand.sim.base_url, keys.wechat_mchid
        );
        let paid = client.post(url).send().await.unwrap();
        assert!(paid.status().is_success(), "{:?}", paid.text().await);
        references.insert(no);
    }
    let log: Vec<Value> = client
        .get(format!("{}/sim/wechat/callbacks", stand.sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let callbacks: Vec<(Vec<(String, String)>, String)> = log
        .iter()
        .filter(|r| {
            r["reference"]
                .as_str()
                .is_some_and(|no| references.contains(no))
        })
        .map(|r| {
            let headers = r["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_owned(),
                        h[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (headers, r["body"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(callbacks.len(), n, "one logged callback per payment");
    let released = client.delete(&sim_faults).send().await.unwrap();
    assert!(released.status().is_success());

    let callbacks = Arc::new(callbacks);
    let url = format!("{}/callbacks/wechat/{}", stand.base, keys.wechat_mchid);
    let poster = {
        let client = client.clone();
        Arc::new(move |i: usize| {
            let client = client.clone();
            let callbacks = Arc::clone(&callbacks);
            let url = url.clone();
            Box::pin(async move {
                let (headers, body) = &callbacks[i];
                let mut req = client.post(url).body(body.clone());
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let resp = req.send().await.map_err(|e| e.to_string())?;
                let status = resp.status();
                if status != 204 && status != 200 {
                    return Err(format!("{status}: {:?}", resp.text().await));
                }
                Ok(())
            }) as std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
        }) as Op
    };
    let fig = measure(16, n, Duration::from_secs(600), poster).await;
    let row = Row::new(
        "callback POST /callbacks/wechat (TRANSACTION.SUCCESS → paid + outbox)",
        backend,
        16,
        fig,
    );
    vec![row]
}

struct StoreRow {
    call: &'static str,
    backend: String,
    fig: Figures,
}

/// The store calls order creation and status polling make, one at a time (concurrency 1).
async fn store_pieces(stand: &Stand, plan: Plan, backend: &str) -> Vec<StoreRow> {
    let (n, budget) = plan.store;
    let store = &stand.store;
    let site = &stand.site;
    let ak = &site.access_key;
    let mut rows = Vec::new();
    let mut push = |call, fig: Figures| {
        eprintln!(
            "hot_paths: store {call} [{backend}]: p50 {:.3} ms",
            ms(fig.percentile(50.0))
        );
        rows.push(StoreRow {
            call,
            backend: backend.to_owned(),
            fig,
        });
    };
    push(
        "find_site_by_ak (SELECT + SK unseal)",
        time_each(n, budget, |_| async {
            store.find_site_by_ak(ak).await.unwrap().unwrap();
        })
        .await,
    );
    push(
        "remember_nonce (INSERT … ON CONFLICT, autocommit; every signed request but a create)",
        time_each(n, budget, |_| async {
            let nonce = ApiNonce::parse(&channel_core::nonce::alphanumeric(32)).unwrap();
            let window = Duration::from_secs(600);
            assert!(
                store
                    .remember_nonce(ak, &nonce, Timestamp::now(), window)
                    .await
                    .unwrap()
            );
        })
        .await,
    );
    let run_id = channel_core::nonce::alphanumeric(6);
    let inserted = Mutex::new(Vec::new());
    push(
        "insert_order_with_nonce (tx: INSERT nonce + INSERT order RETURNING it + job)",
        time_each(n, budget, |i| {
            let inserted = &inserted;
            let run_id = &run_id;
            async move {
                let request = OrderRequest {
                    out_trade_no: OutTradeNo::parse(&format!("s{run_id}_{i}")).unwrap(),
                    pay_method: PayMethod::new(Channel::Wechat, Method::Native)
                        .unwrap()
                        .into(),
                    amount: Amount::parse(2990).unwrap(),
                    currency: Currency::Cny,
                    description: Description::parse("bench").unwrap(),
                    attach: None,
                    notify_url: None,
                    return_url: None,
                    payer: Payer::default(),
                    expire_minutes: ExpireMinutes::default(),
                    profit_sharing: false,
                };
                let new = NewOrder::prepare(site.id.clone(), request, Timestamp::now());
                let nonce = NonceUse {
                    ak: ak.clone(),
                    nonce: ApiNonce::parse(&channel_core::nonce::alphanumeric(32)).unwrap(),
                    at: Timestamp::now(),
                    retention: Duration::from_secs(600),
                };
                match store.insert_order_with_nonce(&new, &nonce).await.unwrap() {
                    Some(InsertOutcome::Inserted(order)) => inserted.lock().unwrap().push(order),
                    other => panic!("not inserted: {other:?}"),
                }
            }
        })
        .await,
    );
    let orders = inserted.into_inner().unwrap();
    let count = orders.len();
    push(
        "find_order (SELECT by site + out_trade_no; a retried create's re-read)",
        time_each(count, budget, |i| {
            let o = &orders[i];
            async move {
                store
                    .find_order(&o.site_id, &o.out_trade_no)
                    .await
                    .unwrap()
                    .unwrap();
            }
        })
        .await,
    );
    push(
        "transition created→pending (tx: UPDATE RETURNING the row + event)",
        time_each(count, budget, |i| {
            let o = &orders[i];
            async move {
                let t = Transition {
                    order_id: o.id,
                    from: OrderStatus::Created,
                    to: OrderStatus::Pending,
                    reason: "upstream_accepted".to_owned(),
                    upstream: UpstreamFields {
                        code_url: Some("weixin://wxpay/bizpayurl?pr=bench".to_owned()),
                        ..UpstreamFields::default()
                    },
                    at: Timestamp::now(),
                };
                store.transition(&t).await.unwrap();
            }
        })
        .await,
    );
    push(
        "find_order_by_token (SELECT by checkout token)",
        time_each(n, budget, |i| {
            let o = &orders[i % count];
            async move {
                store
                    .find_order_by_token(&o.checkout_token)
                    .await
                    .unwrap()
                    .unwrap();
            }
        })
        .await,
    );
    rows
}

/// Runs `f(0)`, `f(1)`, … one after another until `max` calls or `budget`; each call timed.
async fn time_each<F, Fut>(max: usize, budget: Duration, mut f: F) -> Figures
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let started = Instant::now();
    let mut latencies = Vec::new();
    for i in 0..max {
        if started.elapsed() >= budget {
            break;
        }
        let t = Instant::now();
        f(i).await;
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Figures {
        ops: latencies.len(),
        errors: 0,
        first_error: None,
        elapsed,
        latencies,
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

struct Figures {
    ops: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    /// Latencies of the successful operations, sorted.
    latencies: Vec<Duration>,
}

impl Figures {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (p / 100.0 * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// Runs `op` from `concurrency` tasks until `max_ops` operations were started or `max_time` passed.
async fn measure(concurrency: usize, max_ops: usize, max_time: Duration, op: Op) -> Figures {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let next = Arc::clone(&next);
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= max_ops || started.elapsed() >= max_time {
                        break;
                    }
                    let t = Instant::now();
                    match op(i).await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => errors.push(e),
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for w in workers {
        let (l, e) = w.await.expect("bench worker");
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Figures {
        ops: latencies.len() + errors.len(),
        errors: errors.len(),
        first_error: errors.into_iter().next(),
        elapsed,
        latencies,
    }
}

/// Mean time per call of `f`, run in batches until `budget` is spent (after a short warm-up).
fn per_op<R>(budget: Duration, mut f: impl FnMut() -> R) -> (u64, Duration) {
    for _ in 0..10 {
        black_box(f());
    }
    let started = Instant::now();
    let mut n: u64 = 0;
    let mut batch: u64 = 1;
    while started.elapsed() < budget {
        for _ in 0..batch {
            black_box(f());
        }
        n += batch;
        batch = (batch * 2).min(4096);
    }
    let elapsed = started.elapsed();
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    (n, elapsed / n32)
}

struct CpuRow {
    name: &'static str,
    what: &'static str,
    iterations: u64,
    per_op: Duration,
}

/// The CPU-only pieces of the hot paths, each in a loop.
fn cpu_pieces(budget: Duration) -> Vec<CpuRow> {
    let mut rows = Vec::new();
    let mut add = |name, what, (iterations, per_op): (u64, Duration)| {
        eprintln!("hot_paths: {name}: {per_op:?}/op");
        rows.push(CpuRow {
            name,
            what,
            iterations,
            per_op,
        });
    };

    // Merchant request signature check (what `api::auth` does per signed request, minus the DB).
    let sk = "sk_".to_owned() + &channel_core::nonce::alphanumeric(40);
    let body = json!({"out_trade_no": "order_20240101_001", "description": "VIP月卡", "amount_total": 2990}).to_string();
    let ts = (Timestamp::now().as_millis() / 1000).to_string();
    let nonce = ApiNonce::parse(&channel_core::nonce::alphanumeric(32)).unwrap();
    let provided = sign(
        &sk,
        &canonical(&ts, &nonce, "POST", "/pay/wechat/native", body.as_bytes()),
    );
    add(
        "merchant signature check",
        "`signing::canonical` (SHA-256 of the body) + base64url decode + HMAC-SHA256 `verify_slice`, as `api::auth::verify`",
        per_op(budget, || {
            let c = canonical(&ts, &nonce, "POST", "/pay/wechat/native", body.as_bytes());
            let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(provided.trim_end_matches('='))
                .unwrap();
            let mut mac = Hmac::<Sha256>::new_from_slice(sk.as_bytes()).unwrap();
            mac.update(c.as_bytes());
            mac.verify_slice(&sig).is_ok()
        }),
    );
    let master = MasterKey::generate();
    let secrets = SecretBox::new(&master);
    let sealed = secrets.seal(sk.as_bytes(), b"site:abc").unwrap();
    add(
        "site SK unseal",
        "`SecretBox::open` (AES-256-GCM), done on every `find_site_by_ak`",
        per_op(budget, || secrets.open(&sealed, b"site:abc").unwrap()),
    );

    // WeChat Pay answer verification (every create/query answer; every callback).
    let platform = RsaPrivateKey::generate().unwrap();
    let ring = wechatpay::KeyRing::default();
    let serial = "PUB_KEY_ID_0114232134912410000000000000";
    ring.insert(serial.to_owned(), platform.public_key().unwrap());
    let answer = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=Jp1Xn0Qzz"}"#;
    let now = Timestamp::now().as_millis() / 1000;
    let headers = wechat_headers(&platform, serial, now, answer);
    add(
        "WeChat answer verify",
        "`SignedHeaders::from_headers` + `verify` (KeyRing lookup, RSA-2048 PKCS#1 SHA-256 verify)",
        per_op(budget, || {
            wechatpay::SignedHeaders::from_headers(&headers)
                .unwrap()
                .verify(answer, &ring, now)
                .is_ok()
        }),
    );
    let public = platform.public_key().unwrap();
    let sig = platform.sign_base64(b"message");
    add(
        "RSA verify",
        "`RsaPublicKey::verify_base64`, key parsed once",
        per_op(budget, || public.verify_base64(b"message", &sig).is_ok()),
    );
    add(
        "KeyRing lookup",
        "`KeyRing::get`: RwLock read + clone of the key (its SPKI `Vec` and parsed key)",
        per_op(budget, || ring.get(serial).is_some()),
    );

    // Callback intake: AEAD decrypt of the resource, and the whole verify + decrypt + decode.
    let apiv3 = wechatpay::ApiV3Key::new(&channel_core::nonce::alphanumeric(32)).unwrap();
    let plaintext = json!({
        "appid": "wxd678efh567hg6787", "mchid": "1230000109",
        "out_trade_no": "P1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6", "transaction_id": "1217752501201407033233368018",
        "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "bank_type": "CMC", "attach": "", "success_time": "2024-01-01T10:00:00+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 2990, "payer_total": 2990, "currency": "CNY", "payer_currency": "CNY"}
    })
    .to_string();
    let resource_nonce = "fdasflkja484";
    let ciphertext =
        wechatpay::aead::encrypt(&apiv3, resource_nonce, "transaction", plaintext.as_bytes())
            .unwrap();
    add(
        "AEAD decrypt (callback resource)",
        "`wechatpay::aead::decrypt`, AES-256-GCM of a ~500-byte TRANSACTION.SUCCESS resource (key schedule included)",
        per_op(budget, || {
            wechatpay::aead::decrypt(&apiv3, resource_nonce, "transaction", &ciphertext).unwrap()
        }),
    );
    let callback = json!({
        "id": "EV-2018022511223320873", "create_time": "2024-01-01T10:00:01+08:00",
        "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
        "resource": {"algorithm": "AEAD_AES_256_GCM", "original_type": "transaction",
                     "ciphertext": ciphertext, "associated_data": "transaction", "nonce": resource_nonce}
    })
    .to_string();
    let callback_headers = wechat_headers(&platform, serial, now, callback.as_bytes());
    add(
        "WeChat callback verify+decrypt+decode",
        "`wechatpay::verify_notification`: RSA verify + envelope JSON + AES-GCM + resource JSON",
        per_op(budget, || {
            wechatpay::verify_notification(
                &callback_headers,
                callback.as_bytes(),
                &ring,
                &apiv3,
                now,
            )
            .unwrap()
        }),
    );

    // Signing a request to WeChat Pay (every create/query/close).
    let merchant = RsaPrivateKey::generate().unwrap();
    add(
        "RSA sign",
        "`RsaPrivateKey::sign_base64`, RSA-2048 PKCS#1 SHA-256, key parsed once",
        per_op(budget, || {
            merchant.sign_base64(b"POST\n/v3/pay/transactions/native\n1\nn\n{}\n")
        }),
    );
    let order_body = br#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"bench","out_trade_no":"P1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6","time_expire":"2024-01-01T10:15:00+08:00","notify_url":"http://127.0.0.1:8080/callbacks/wechat/1230000109","amount":{"total":2990,"currency":"CNY"}}"#;
    add(
        "WeChat Authorization header",
        "`RequestSigner::authorization`: message + RSA sign + header text",
        per_op(budget, || {
            wechatpay::auth::RequestSigner {
                mchid: "1230000109",
                serial_no: "5157F09EFDC096DE15EBE81A47057A72",
                key: &merchant,
            }
            .authorization(
                "POST",
                "/v3/pay/transactions/native",
                now,
                "593BEC0C930BF1AF",
                order_body,
            )
        }),
    );

    // For scale: what parsing a key per request would cost (paygate parses them once).
    let private_pem = merchant.to_pkcs8_pem().unwrap();
    add(
        "(reference) parse RSA private key",
        "`RsaPrivateKey::from_pem`: what a key parsed per request would add",
        per_op(budget, || RsaPrivateKey::from_pem(&private_pem).unwrap()),
    );
    let public_pem = public.to_pem();
    add(
        "(reference) parse RSA public key",
        "`RsaPublicKey::from_pem`",
        per_op(budget, || RsaPublicKey::from_pem(&public_pem).unwrap()),
    );
    rows
}

/// The `Wechatpay-*` headers WeChat Pay puts on a signed answer or callback.
fn wechat_headers(key: &RsaPrivateKey, serial: &str, ts: i64, body: &[u8]) -> http::HeaderMap {
    let nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
    let mut message = format!("{ts}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("Wechatpay-Timestamp", ts.to_string()),
        ("Wechatpay-Nonce", nonce.to_owned()),
        ("Wechatpay-Serial", serial.to_owned()),
        (
            "Wechatpay-Signature-Type",
            "WECHATPAY2-SHA256-RSA2048".to_owned(),
        ),
        ("Wechatpay-Signature", key.sign_base64(&message)),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    headers
}

// ---------------------------------------------------------------------------------------------
// The machine and the report

struct Machine {
    date: String,
    commit: String,
    nproc: usize,
    cpu: String,
    memory: String,
    os: String,
    rustc: String,
    profile: String,
    /// The filesystem SQLite's temp file lives on (its fsyncs are part of every write).
    temp_fs: String,
    load_start: String,
    load_end: String,
}

impl Machine {
    fn read() -> Self {
        let profile = if cfg!(debug_assertions) {
            "debug (assertions on): not representative".to_owned()
        } else {
            "bench (release: opt-level 3, no debug assertions)".to_owned()
        };
        Self {
            date: machine::now_rfc3339(),
            commit: machine::git_commit(),
            nproc: std::thread::available_parallelism().map_or(0, usize::from),
            cpu: machine::cpu(),
            memory: machine::memory(),
            os: machine::os(),
            rustc: machine::command("rustc", &["--version"]),
            profile,
            temp_fs: temp_filesystem(),
            load_start: machine::load_average(),
            load_end: String::new(),
        }
    }

    fn finish(mut self) -> Self {
        self.load_end = machine::load_average();
        self
    }
}

/// `TYPE on DEVICE (mount point)` of the mount holding the temp dir, from /proc/mounts.
fn temp_filesystem() -> String {
    let tmp = std::env::temp_dir();
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, at, kind) = (f.next()?, f.next()?, f.next()?);
            tmp.starts_with(at)
                .then(|| (at.len(), format!("{kind} on {dev} ({at})")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, fs)| fs)
}

struct Row {
    scenario: &'static str,
    backend: String,
    concurrency: usize,
    fig: Figures,
}

impl Row {
    fn new(scenario: &'static str, backend: &str, concurrency: usize, fig: Figures) -> Self {
        eprintln!(
            "hot_paths: {scenario} [{backend}] c={concurrency}: {} ok, {} errors, {:.1}/s, p50 {:.2} ms, p99 {:.2} ms",
            fig.latencies.len(),
            fig.errors,
            fig.throughput(),
            ms(fig.percentile(50.0)),
            ms(fig.percentile(99.0)),
        );
        if let Some(e) = &fig.first_error {
            eprintln!("hot_paths:   first error: {e}");
        }
        Self {
            scenario,
            backend: backend.to_owned(),
            concurrency,
            fig,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

struct Report {
    machine: Machine,
    quick: bool,
    http: Vec<Row>,
    store: Vec<StoreRow>,
    cpu: Vec<CpuRow>,
    notes: Vec<String>,
    wall: Duration,
}

impl Report {
    fn out_dir() -> PathBuf {
        std::env::var_os("PAYGATE_BENCH_OUT").map_or_else(
            || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench")),
            PathBuf::from,
        )
    }

    fn write(&self) {
        let dir = Self::out_dir();
        std::fs::create_dir_all(&dir).expect("bench output folder");
        let dir = dir.canonicalize().unwrap_or(dir);
        let md = dir.join("pieces.md");
        let js = dir.join("pieces.json");
        // Other benchmarks' sections and keys (`live_streams`) are kept: each run replaces its own.
        let old_md = std::fs::read_to_string(&md).unwrap_or_default();
        let others = old_md
            .find("<!-- live_streams: begin -->")
            .map_or("", |at| &old_md[at..]);
        std::fs::write(
            &md,
            format!("{}\n{others}", self.markdown())
                .trim_end()
                .to_owned()
                + "\n",
        )
        .expect("pieces.md");
        let mut json = self.json();
        let old_json: Option<Value> = std::fs::read_to_string(&js)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        if let Some(live) = old_json.as_ref().and_then(|v| v.get("live_streams")) {
            json["live_streams"] = live.clone();
        }
        let json = serde_json::to_string_pretty(&json).expect("results JSON");
        std::fs::write(&js, json + "\n").expect("pieces.json");
        eprintln!(
            "hot_paths: done in {:.0} s; wrote {} and {}",
            self.wall.as_secs_f64(),
            md.display(),
            js.display()
        );
    }

    fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(s, "# paygate hot-path benchmark results\n");
        let _ = writeln!(
            s,
            "Written by `cargo bench -p gateway --bench hot_paths` (`crates/gateway/benches/hot_paths.rs`); \
             each run replaces this file and `pieces.json` but for the other benchmarks' sections.{}\n",
            if self.quick {
                " **Quick run (`PAYGATE_BENCH_QUICK=1`): smoke figures only.**"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "| | |\n|---|---|");
        for (k, v) in [
            ("date (UTC)", m.date.clone()),
            ("git commit", m.commit.clone()),
            ("cores (`nproc`)", m.nproc.to_string()),
            ("CPU", m.cpu.clone()),
            ("memory", m.memory.clone()),
            ("OS", m.os.clone()),
            ("rustc", m.rustc.clone()),
            ("build profile", m.profile.clone()),
            ("temp dir filesystem (SQLite file)", m.temp_fs.clone()),
            ("load average at start (1/5/15 min)", m.load_start.clone()),
            ("load average at end", m.load_end.clone()),
            ("run time", format!("{:.0} s", self.wall.as_secs_f64())),
        ] {
            let _ = writeln!(s, "| {k} | {v} |");
        }
        let _ = writeln!(
            s,
            "\nThe load generator, the gateway and the simulator share the machine's cores (one tokio \
             runtime, loopback HTTP/1.1, one reused `reqwest::Client`). A load average above the core \
             count means other work competed with the run: compare figures only between runs on a \
             similar machine at a similar load.\n"
        );
        let _ = writeln!(s, "## Merchant API over HTTP\n");
        let _ = writeln!(
            s,
            "Order creation is end to end: signed request, auth (site lookup, HMAC), the nonce \
             and the order inserted in one transaction, the RSA-signed upstream call to the in-process simulator (which verifies \
             it and signs its answer), verification of the answer, the `pending` transition. Status \
             polling is one token lookup. A callback is one of the simulator's signed, encrypted \
             `TRANSACTION.SUCCESS` notifications, logged but held back while its order was paid, \
             posted here by the load generator (not by the simulator's sender): verification, \
             decryption, the order's lookup and its `paid` transition with its outbox event in one \
             transaction. The sandbox simulator keeps its state in memory unless \
             the row says otherwise. SQLite runs as shipped: every commit is on disk before it is answered (its WAL synced, one sync for the commits made while the previous one ran). \
             No background workers run.\n"
        );
        let _ = writeln!(
            s,
            "| scenario | database | concurrency | requests | errors | throughput (req/s) | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in &self.http {
            let f = &r.fig;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
                r.scenario,
                r.backend,
                r.concurrency,
                f.ops,
                f.errors,
                f.throughput(),
                ms(f.percentile(50.0)),
                ms(f.percentile(95.0)),
                ms(f.percentile(99.0)),
                ms(f.latencies.last().copied().unwrap_or_default()),
            );
        }
        let errors: Vec<_> = self
            .http
            .iter()
            .filter_map(|r| r.fig.first_error.as_ref().map(|e| (r, e)))
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(s, "\nFirst error per scenario:\n");
            for (r, e) in errors {
                let _ = writeln!(
                    s,
                    "- {} [{}] c={}: `{e}`",
                    r.scenario, r.backend, r.concurrency
                );
            }
        }
        let _ = writeln!(s, "\n## Store calls on those paths (one at a time)\n");
        let _ = writeln!(
            s,
            "What order creation and status polling ask of the database, each call timed alone at \
             concurrency 1 on the same stand (after the HTTP runs). One order creation makes: \
             `find_site_by_ak`, `insert_order_with_nonce`, `transition` (a retried create also \
             `find_order` under the order lock); a status poll makes `find_order_by_token`; every \
             other signed request makes `remember_nonce`.\n"
        );
        let _ = writeln!(
            s,
            "| call | database | calls | p50 (ms) | p95 (ms) | p99 (ms) |\n|---|---|---:|---:|---:|---:|"
        );
        for r in &self.store {
            let f = &r.fig;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.3} | {:.3} | {:.3} |",
                r.call,
                r.backend,
                f.ops,
                ms(f.percentile(50.0)),
                ms(f.percentile(95.0)),
                ms(f.percentile(99.0)),
            );
        }
        let _ = writeln!(s, "\n## CPU pieces (one thread, in a loop)\n");
        let _ = writeln!(
            s,
            "| piece | what | iterations | per op (µs) | ops/s (one core) |\n|---|---|---:|---:|---:|"
        );
        for c in &self.cpu {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.2} | {:.0} |",
                c.name,
                c.what,
                c.iterations,
                us(c.per_op),
                1.0 / c.per_op.as_secs_f64().max(1e-12),
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(s, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }

    fn json(&self) -> Value {
        let m = &self.machine;
        json!({
            "date": m.date,
            "git_commit": m.commit,
            "quick": self.quick,
            "machine": {
                "nproc": m.nproc,
                "cpu": m.cpu,
                "memory": m.memory,
                "os": m.os,
                "rustc": m.rustc,
                "profile": m.profile,
                "temp_filesystem": m.temp_fs,
                "load_average_start": m.load_start,
                "load_average_end": m.load_end,
            },
            "run_seconds": self.wall.as_secs_f64(),
            "http": self.http.iter().map(|r| {
                let f = &r.fig;
                json!({
                    "scenario": r.scenario,
                    "database": r.backend,
                    "concurrency": r.concurrency,
                    "requests": f.ops,
                    "errors": f.errors,
                    "first_error": f.first_error,
                    "seconds": f.elapsed.as_secs_f64(),
                    "throughput_per_s": f.throughput(),
                    "p50_ms": ms(f.percentile(50.0)),
                    "p95_ms": ms(f.percentile(95.0)),
                    "p99_ms": ms(f.percentile(99.0)),
                    "max_ms": ms(f.latencies.last().copied().unwrap_or_default()),
                })
            }).collect::<Vec<_>>(),
            "store": self.store.iter().map(|r| {
                let f = &r.fig;
                json!({
                    "call": r.call,
                    "database": r.backend,
                    "calls": f.ops,
                    "p50_ms": ms(f.percentile(50.0)),
                    "p95_ms": ms(f.percentile(95.0)),
                    "p99_ms": ms(f.percentile(99.0)),
                })
            }).collect::<Vec<_>>(),
            "cpu": self.cpu.iter().map(|c| json!({
                "piece": c.name,
                "what": c.what,
                "iterations": c.iterations,
                "per_op_us": us(c.per_op),
            })).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

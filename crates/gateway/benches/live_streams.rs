//! Open status streams (`GET /pay/events`) at scale: what 1,000 checkout pages held open on one node
//! cost it. paygate is stood up in this process (the router on 127.0.0.1 over SQLite in a temp
//! file, then over PostgreSQL in a throwaway database when one answers at
//! `PAYGATE_BENCH_POSTGRES_URL` or `postgres://postgres@127.0.0.1:5432/postgres`); the 1,000
//! clients run in a child process (this binary again), on raw TCP, so that the figures are the
//! server's alone. Each stream watches its own pending order. Measured:
//!
//! * memory: the server process's RSS before the streams open and once all 1,000 have their
//!   first event;
//! * idle: CPU time and store calls (`Store::queries`) over a window with nothing changing (long
//!   enough to include one round of 15 s heartbeats in a full run);
//! * one order changes (a `pending → closed` transition through the store, as the expiry job makes
//!   it): the time until its page has the event, and the CPU and store calls it cost;
//! * every stream told to re-read at once (what a node does after its PostgreSQL listener
//!   reconnected): time, CPU and store calls.
//!
//! Run: `cargo bench -p gateway --bench live_streams`. It writes its section of
//! `bench/pieces.md` and the `live_streams` key of `bench/pieces.json` (or in
//! `PAYGATE_BENCH_OUT`), leaving the rest of them as the hot-path benchmark wrote it.
//! `PAYGATE_BENCH_QUICK=1` makes a short smoke run; `PAYGATE_BENCH_POSTGRES=0` skips PostgreSQL.
//! Without `--bench` (as `cargo test --benches` runs it) it does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/machine.rs"]
#[allow(dead_code)]
mod machine;
#[path = "support/postgres.rs"]
mod postgres;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use gateway::api::{ApiSettings, ApiState, router};
use gateway::channels::Channels;
use gateway::crypto::MasterKey;
use gateway::domain::{
    Amount, Channel, Currency, Description, ExpireMinutes, Method, NewOrder, Order, OrderRequest,
    OrderStatus, OutTradeNo, PayMethod, Payer, SiteName, Timestamp, UpstreamFields,
};
use gateway::store::{InsertOutcome, NewSite, Store, Transition};
use serde_json::{Value, json};
use test_support::db::ThrowawayDb;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Set in the child: the server's address; its stdin gives one token a line.
const CLIENT_ENV: &str = "PAYGATE_LIVE_BENCH_CLIENT";

/// Open streams per backend.
const STREAMS: usize = 1_000;
/// Single-order changes measured one after another.
const CHANGES: usize = 20;

fn main() {
    if let Ok(addr) = std::env::var(CLIENT_ENV) {
        return clients(&addr);
    }
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!(
            "live_streams: a benchmark; run it with `cargo bench -p gateway --bench live_streams`"
        );
        return;
    }
    let quick = std::env::var("PAYGATE_BENCH_QUICK").is_ok_and(|v| v == "1");
    // Twenty seconds idle include one round of heartbeats (every 15 s) on every stream.
    let idle = if quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(20)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(quick, idle));
}

async fn run(quick: bool, idle: Duration) {
    let started = Instant::now();
    let load_start = machine::load_average();
    let mut rows = vec![measure("sqlite", ThrowawayDb::sqlite(), idle).await];
    let mut notes = Vec::new();
    match postgres::admin_url().await {
        Some(admin) => {
            let db = ThrowawayDb::postgres_on(&admin).await.expect("a database");
            rows.push(measure("postgres", db, idle).await);
        }
        None => notes.push("PostgreSQL: skipped (not reachable, or PAYGATE_BENCH_POSTGRES=0)"),
    }
    let report = json!({
        "date": machine::now_rfc3339(),
        "git_commit": machine::git_commit(),
        "quick": quick,
        "machine": machine(),
        "load_average_start": load_start,
        "load_average_end": machine::load_average(),
        "run_seconds": started.elapsed().as_secs_f64(),
        "streams": STREAMS,
        "idle_seconds": idle.as_secs_f64(),
        "results": rows,
        "notes": notes,
    });
    write(&report);
}

// ---------------------------------------------------------------------------------------------
// The server side

async fn measure(backend: &str, database: ThrowawayDb, idle: Duration) -> Value {
    eprintln!("live_streams: {backend}: {STREAMS} orders");
    let store = Store::connect(database.url(), &MasterKey::generate())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .record_mode(gateway::domain::Mode::Sandbox, Timestamp::now())
        .await
        .unwrap();
    let orders = pending_orders(&store, STREAMS).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = ApiSettings::new(format!("http://{addr}"));
    settings.sandbox = true;
    // Every stream comes from this machine's one address: the per-client limit would refuse most.
    settings.http.rate_limit = None;
    let services = gateway::service::Services::new(
        store.clone(),
        Channels::new(None, None),
        settings.service_settings(),
    );
    let app = router(ApiState { services, settings }, axum::Router::new());
    let server = tokio::spawn(gateway::api::serve(
        listener,
        app,
        Duration::from_secs(10),
        std::future::pending(),
    ));
    let live = tokio::spawn(gateway::live::run(store.clone(), std::future::pending()));
    // Let the PostgreSQL listener connect (its first connection re-reads every open stream).
    tokio::time::sleep(Duration::from_millis(500)).await;

    let rss_before = rss_kib();
    let mut clients = Clients::start(&addr.to_string(), &orders);
    let opened = Instant::now();
    tokio::task::block_in_place(|| clients.expect("ready"));
    let open_seconds = opened.elapsed().as_secs_f64();
    // The first events are out; let the allocator and the sockets settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = rss_kib();
    eprintln!("live_streams: {backend}: {STREAMS} streams open");

    let (cpu0, q0, t0) = (cpu_time(), store.queries(), Instant::now());
    tokio::time::sleep(idle).await;
    let idle_cpu = cpu_time() - cpu0;
    let idle_wall = t0.elapsed();
    let idle_queries = store.queries() - q0;

    let mut latencies = Vec::new();
    let (cpu0, q0) = (cpu_time(), store.queries());
    for (i, order) in orders.iter().enumerate().step_by(STREAMS / CHANGES) {
        let t = Instant::now();
        close(&store, order).await;
        tokio::task::block_in_place(|| clients.expect(&format!("event {i}")));
        latencies.push(t.elapsed());
    }
    let change_cpu = (cpu_time() - cpu0) / u32::try_from(CHANGES).unwrap();
    let change_queries = (store.queries() - q0) as f64 / CHANGES as f64;
    latencies.sort();

    // Every stream re-reads once and, as nothing changed, sends nothing. The store counts a call
    // when it starts, so the time is until every re-read has started; the CPU is taken over a
    // second that ends well after the last one finished.
    let open_left = (STREAMS - CHANGES) as u64;
    let (cpu0, q0, t0) = (cpu_time(), store.queries(), Instant::now());
    store.order_changes().publish_all();
    while store.queries() - q0 < open_left && t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let all_wall = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(t0.elapsed())).await;
    let all_cpu = cpu_time() - cpu0;
    let all_queries = store.queries() - q0;

    clients.stop();
    server.abort();
    live.abort();
    store.close().await;
    drop(database);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    json!({
        "database": backend,
        "streams": STREAMS,
        "open_seconds": open_seconds,
        "rss_before_kib": rss_before,
        "rss_open_kib": rss_open,
        "rss_delta_kib": rss_open.saturating_sub(rss_before),
        "rss_per_stream_kib": rss_open.saturating_sub(rss_before) as f64 / STREAMS as f64,
        "idle_seconds": idle_wall.as_secs_f64(),
        "idle_cpu_percent_of_one_core": 100.0 * idle_cpu.as_secs_f64() / idle_wall.as_secs_f64(),
        "idle_store_calls_per_s": idle_queries as f64 / idle_wall.as_secs_f64(),
        "one_change_latency_p50_ms": ms(latencies[latencies.len() / 2]),
        "one_change_latency_max_ms": ms(latencies.last().copied().unwrap_or_default()),
        "one_change_cpu_ms": ms(change_cpu),
        "one_change_store_calls": change_queries,
        "reread_all_ms": ms(all_wall),
        "reread_all_cpu_ms": ms(all_cpu),
        "reread_all_store_calls": all_queries,
    })
}

/// `n` pending WeChat Native orders of one site, straight through the store.
async fn pending_orders(store: &Store, n: usize) -> Vec<Order> {
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
    let mut orders = Vec::with_capacity(n);
    for i in 0..n {
        let request = OrderRequest {
            out_trade_no: OutTradeNo::parse(&format!("live_{i}")).unwrap(),
            pay_method: PayMethod::new(Channel::Wechat, Method::Native)
                .unwrap()
                .into(),
            amount: Amount::parse(2990).unwrap(),
            currency: Currency::Cny,
            description: Description::parse("VIP月卡").unwrap(),
            attach: None,
            notify_url: None,
            return_url: None,
            payer: Payer::default(),
            expire_minutes: ExpireMinutes::default(),
            profit_sharing: false,
        };
        let new = NewOrder::prepare(site.id.clone(), request, Timestamp::now());
        let InsertOutcome::Inserted(order) = store.insert_order_if_absent(&new).await.unwrap()
        else {
            panic!("live_{i} existed");
        };
        let moved = store
            .transition(&Transition {
                order_id: order.id,
                from: OrderStatus::Created,
                to: OrderStatus::Pending,
                reason: "upstream_accepted".into(),
                upstream: UpstreamFields::default(),
                at: Timestamp::now(),
            })
            .await
            .unwrap();
        orders.push(moved.into_order());
    }
    orders
}

async fn close(store: &Store, order: &Order) {
    let done = store
        .transition(&Transition {
            order_id: order.id,
            from: OrderStatus::Pending,
            to: OrderStatus::Closed,
            reason: "expired".into(),
            upstream: UpstreamFields::default(),
            at: Timestamp::now(),
        })
        .await
        .unwrap();
    assert!(done.won());
}

/// The child process holding the streams, and its report lines.
struct Clients {
    child: Child,
    lines: std::io::Lines<BufReader<ChildStdout>>,
}

impl Clients {
    fn start(addr: &str, orders: &[Order]) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CLIENT_ENV, addr)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the client process");
        let mut stdin = child.stdin.take().unwrap();
        for order in orders {
            writeln!(stdin, "{}", order.checkout_token.as_str()).unwrap();
        }
        drop(stdin);
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, lines }
    }

    /// Blocks until the child reports `line` (a few milliseconds at most once the event is sent).
    fn expect(&mut self, line: &str) {
        let got = self
            .lines
            .next()
            .expect("the client process ended")
            .unwrap();
        assert_eq!(got, line, "client process");
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The client side (the child process)

/// Opens one stream per token read from stdin; prints `ready` once every stream has its first
/// event, then `event N` whenever stream N gets another one.
fn clients(addr: &str) {
    let tokens: Vec<String> = std::io::stdin().lines().map_while(Result::ok).collect();
    // One thread: the clients' CPU is kept off the server's second core as far as possible.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
        for (i, token) in tokens.iter().enumerate() {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let request = format!(
                "GET /pay/events?token={token} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0_u8; 2048];
                let mut events = 0;
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    // Events end with a blank line: count the complete ones, keep the rest.
                    if let Some(last) = rfind(&seen, b"\n\n") {
                        for _ in 0..count(&seen[..last], b"event: status") {
                            events += 1;
                            let _ = tx.send((i, events));
                        }
                        seen.drain(..last + 2);
                    }
                }
            });
        }
        let mut ready = 0;
        let out = std::io::stdout();
        while let Some((i, n)) = rx.recv().await {
            let mut out = out.lock();
            if n == 1 {
                ready += 1;
                if ready == tokens.len() {
                    writeln!(out, "ready").unwrap();
                }
            } else {
                writeln!(out, "event {i}").unwrap();
            }
            out.flush().unwrap();
        }
    });
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| w == &needle)
        .count()
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// This process and this machine

/// The process's resident memory, from /proc/self/status.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time of every thread of this process (nanoseconds, from each thread's schedstat).
fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

fn machine() -> Value {
    json!({
        "nproc": std::thread::available_parallelism().map_or(0, usize::from),
        "cpu": machine::cpu(),
        "memory": machine::memory(),
        "os": machine::os(),
        "rustc": machine::command("rustc", &["--version"]),
        "profile": if cfg!(debug_assertions) { "debug (assertions on): not representative" } else { "bench (release)" },
    })
}

// ---------------------------------------------------------------------------------------------
// Writing the results beside the hot-path benchmark's

/// Marks this benchmark's section of `pieces.md`; the hot-path benchmark keeps it when it
/// rewrites the file.
const BEGIN: &str = "<!-- live_streams: begin -->";
const END: &str = "<!-- live_streams: end -->";

fn write(report: &Value) {
    let dir = std::env::var_os("PAYGATE_BENCH_OUT").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench")),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("bench output folder");
    let md_path = dir.join("pieces.md");
    let old = std::fs::read_to_string(&md_path).unwrap_or_default();
    let kept = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{}", &old[..b], &old[e + END.len()..]),
        _ => old,
    };
    let md = format!(
        "{}\n\n{BEGIN}\n{}{END}\n",
        kept.trim_end(),
        markdown(report)
    );
    std::fs::write(&md_path, md.trim_start()).expect("pieces.md");

    let js_path = dir.join("pieces.json");
    let mut all: Value = std::fs::read_to_string(&js_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    all["live_streams"] = report.clone();
    let text = serde_json::to_string_pretty(&all).expect("results JSON");
    std::fs::write(&js_path, text + "\n").expect("pieces.json");
    eprintln!(
        "live_streams: wrote {} and {}",
        md_path.display(),
        js_path.display()
    );
}

fn markdown(r: &Value) -> String {
    let m = &r["machine"];
    let mut s = String::new();
    let _ = writeln!(s, "## Open status streams (`GET /pay/events`)\n");
    let _ = writeln!(
        s,
        "Written by `cargo bench -p gateway --bench live_streams` (`crates/gateway/benches/live_streams.rs`); \
         each run replaces this section and the `live_streams` key of `pieces.json`.{}\n",
        if r["quick"] == true {
            " **Quick run: smoke figures only.**"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "{} on {} ({} cores, {}), {}, {}; commit {}; load average {} at start, {} at end; {:.0} s.\n",
        r["date"].as_str().unwrap_or(""),
        m["cpu"].as_str().unwrap_or(""),
        m["nproc"],
        m["memory"].as_str().unwrap_or(""),
        m["os"].as_str().unwrap_or(""),
        m["profile"].as_str().unwrap_or(""),
        r["git_commit"].as_str().unwrap_or(""),
        r["load_average_start"].as_str().unwrap_or(""),
        r["load_average_end"].as_str().unwrap_or(""),
        r["run_seconds"].as_f64().unwrap_or(0.0),
    );
    let _ = writeln!(
        s,
        "One paygate node in this process, {} streams held open by a child process (raw TCP, one \
         pending order each), so the memory and CPU below are the server's alone. Idle: {:.0} s with \
         nothing changing (a full run includes one round of 15 s heartbeats). One change: an order \
         closed through the store, timed until its page has the event (p50 of {CHANGES}); its CPU \
         and store calls include the transition itself. Re-read all: every stream told to re-read \
         at once, as after the PostgreSQL listener reconnects (time until every re-read has started; \
         CPU over the second that follows, idle included). Store calls count every trip to the \
         database (`Store::queries`).\n",
        r["streams"],
        r["idle_seconds"].as_f64().unwrap_or(0.0),
    );
    let _ = writeln!(
        s,
        "| database | RSS before (MiB) | RSS with streams (MiB) | per stream (KiB) | idle CPU (% of a core) | idle store calls/s | one change: latency p50 / max (ms) | one change: CPU (ms) | one change: store calls | re-read all: all started (ms) | re-read all: CPU (ms) | re-read all: store calls |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    for row in r["results"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} / {:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {} |",
            row["database"].as_str().unwrap_or(""),
            f(&row["rss_before_kib"]) / 1024.0,
            f(&row["rss_open_kib"]) / 1024.0,
            f(&row["rss_per_stream_kib"]),
            f(&row["idle_cpu_percent_of_one_core"]),
            f(&row["idle_store_calls_per_s"]),
            f(&row["one_change_latency_p50_ms"]),
            f(&row["one_change_latency_max_ms"]),
            f(&row["one_change_cpu_ms"]),
            f(&row["one_change_store_calls"]),
            f(&row["reread_all_ms"]),
            f(&row["reread_all_cpu_ms"]),
            row["reread_all_store_calls"],
        );
    }
    for note in r["notes"].as_array().into_iter().flatten() {
        let _ = writeln!(s, "\n{}", note.as_str().unwrap_or(""));
    }
    s
}

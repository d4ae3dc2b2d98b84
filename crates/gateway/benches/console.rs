//! The console's reads on one million orders: seeds a throwaway SQLite database, and a throwaway
//! PostgreSQL database at `PAYGATE_BENCH_POSTGRES_URL` or `postgres://postgres@127.0.0.1:5432/postgres`
//! when it answers, with 1,000,000 orders over 90 days across four sites of unequal size, both
//! channels and their methods and every status (with their payments' notifications, the refunds
//! of the refunded ones and a few anomalies), written by one `INSERT … SELECT` each so that seeding
//! takes a minute rather than an hour; then times, through `ConsoleService` as the pages call it:
//!
//! * the order search: the first page, a filtered page (status and channel), a sparse filter (a
//!   rare status, channel, method and the last week), a keyset page 90 % deep (900,000 orders), a
//!   site's first page and a page deep in a site, and the lookups by `out_trade_no` and by
//!   transaction id;
//! * the dashboard (today, 7 and 30 days, by channel and by site, the 30-day chart and the open
//!   counts), for every site and for one, as a node's first view (the whole month summed) and
//!   viewed again (the days before yesterday kept), with how many queries it takes.
//!
//! Run: `cargo bench -p gateway --bench console` (about five minutes). It writes its figures with
//! the machine between the markers of `bench/console.md` (or `PAYGATE_BENCH_OUT`), keeping what is
//! written around them. `PAYGATE_BENCH_ORDERS` seeds another number of orders (a smoke run: 20000);
//! `PAYGATE_BENCH_POSTGRES=0` skips PostgreSQL.
//!
//! Without `--bench` (as `cargo test --benches` runs it) it does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/machine.rs"]
#[allow(dead_code)]
mod machine;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/report.rs"]
mod report;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use gateway::channels::Channels;
use gateway::crypto::MasterKey;
use gateway::domain::{
    Channel, Method, Mode, OrderId, OrderStatus, OutTradeNo, PayMethod, Scope, Site, SiteName,
    Timestamp,
};
use gateway::service::{
    ConsoleService, NotificationService, OrderService, ServiceSettings, SiteService,
};
use gateway::store::{MethodFilter, NewSite, OrderCursor, OrderSearch, Store};
use sqlx::Connection as _;
use test_support::db::ThrowawayDb;

const DAY_MS: i64 = 86_400_000;
/// The orders span this many days, the newest created now.
const SPAN_DAYS: i64 = 90;
/// Four sites: half the orders, then 30, 15 and 5 per cent.
const SITE_SHARES: [(&str, i64); 4] = [("big", 50), ("medium", 30), ("small", 15), ("tiny", 5)];

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("console: a benchmark; run it with `cargo bench -p gateway --bench console`");
        return;
    }
    let orders = std::env::var("PAYGATE_BENCH_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000_i64);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(orders));
}

async fn run(orders: i64) {
    let started = Instant::now();
    let load_start = machine::load_average();
    let mut sections = Vec::new();
    let mut notes = Vec::new();
    sections.push(backend("SQLite", ThrowawayDb::sqlite(), orders).await);
    match postgres::admin_url().await {
        Some(admin) => {
            let database = ThrowawayDb::postgres_on(&admin)
                .await
                .expect("a throwaway PostgreSQL database");
            sections.push(backend("PostgreSQL", database, orders).await);
        }
        None => notes
            .push("PostgreSQL: skipped (not reachable, or PAYGATE_BENCH_POSTGRES=0)".to_owned()),
    }
    let report = Report {
        orders,
        load_start,
        load_end: machine::load_average(),
        wall: started.elapsed(),
        sections,
        notes,
    };
    report.write();
}

// ---------------------------------------------------------------------------------------------
// Seeding

/// What the seeding made that the searches look for.
struct Seeded {
    sites: Vec<Site>,
    /// Where a page 90 % deep into the list (newest first) starts.
    deep: OrderCursor,
    /// Where a page 90 % deep into the biggest site's list starts.
    deep_in_site: OrderCursor,
    out_trade_no: OutTradeNo,
    transaction_id: String,
    seeding: Duration,
}

/// Seeds `n` orders: order `i` (1 … n) is created `(n - i) * step` before now, at one of the sites
/// by [`SITE_SHARES`], on WeChat Pay (60 %) or Alipay, in a status by its share of a hundred
/// (paid 60, closed 25, refunded 5, failed 3, and pending or created among the newest thousand,
/// closed before). Paid and refunded orders carry the channel's number, a payment time and a
/// delivered notification (1 in 500 failed); refunded ones a succeeded refund of the whole amount.
async fn seed(store: &Store, db: &ThrowawayDb, n: i64) -> Seeded {
    let started = Instant::now();
    let mut sites = Vec::new();
    for (name, _) in SITE_SHARES {
        let site = store
            .create_site(
                NewSite {
                    name: SiteName::parse(name).unwrap(),
                    notify_url: None,
                    enabled_methods: PayMethod::all().into_iter().collect::<BTreeSet<_>>(),
                    allow_private_targets: false,
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
        sites.push(site);
    }
    let now = Timestamp::now().as_millis();
    let step = SPAN_DAYS * DAY_MS / n;
    let first = now - n * step;
    // The site of a bucket of twenty: 10 big, 6 medium, 3 small, 1 tiny.
    let site_of = format!(
        "CASE WHEN (i * 7) % 20 < 10 THEN '{}' WHEN (i * 7) % 20 < 16 THEN '{}' \
         WHEN (i * 7) % 20 < 19 THEN '{}' ELSE '{}' END",
        sites[0].id, sites[1].id, sites[2].id, sites[3].id
    );
    let bucket = "((i * 13) % 100)";
    let status = format!(
        "CASE WHEN {bucket} < 60 THEN 'paid' WHEN {bucket} < 85 THEN 'closed' \
         WHEN {bucket} < 90 THEN 'refunded' WHEN {bucket} < 93 THEN 'failed' \
         WHEN i <= {n} - 1000 THEN 'closed' WHEN {bucket} < 97 THEN 'pending' ELSE 'created' END"
    );
    let wechat = "((i * 7) % 10 < 6)";
    let paid = format!("({bucket} < 60 OR ({bucket} >= 85 AND {bucket} < 90))");
    let created_at = format!("({first} + i * {step})");
    // A checkout token is `ck_` and 32 characters: `bench` and the number on 27 digits.
    let zeros = "0".repeat(27);
    let amount = "(100 + (i * 37) % 50000)";
    // One statement for both databases: a recursive series (PostgreSQL's generate_series would do
    // as well), `||` and CASE; BIGINT from the start so that no product overflows.
    let orders = format!(
        "INSERT INTO orders (site_id, out_trade_no, upstream_order_no, channel, method, amount_fen, \
         currency, description, fingerprint, status, checkout_token, transaction_id, trade_no, \
         created_at, updated_at, expires_at, paid_at, closed_at, refund_reserved_fen, refunded_fen) \
         WITH RECURSIVE series(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL \
         SELECT i + 1 FROM series WHERE i < {n}) \
         SELECT {site_of}, 'bench_' || i, 'upstream_' || i, \
         CASE WHEN {wechat} THEN 'wechat' ELSE 'alipay' END, \
         CASE WHEN {wechat} THEN (CASE i % 3 WHEN 0 THEN 'native' WHEN 1 THEN 'jsapi' ELSE 'h5' END) \
         ELSE (CASE i % 3 WHEN 0 THEN 'qr' WHEN 1 THEN 'wap' ELSE 'page' END) END, \
         {amount}, 'CNY', 'bench order', 'f', {status}, \
         'ck_bench' || substr('{zeros}' || i, length('{zeros}' || i) - 26), \
         CASE WHEN {paid} AND {wechat} THEN '4200' || i END, \
         CASE WHEN {paid} AND NOT {wechat} THEN '2024' || i END, \
         {created_at}, {created_at}, {created_at} + 7200000, \
         CASE WHEN {paid} THEN {created_at} + 30000 + i % 60000 END, \
         CASE WHEN {bucket} >= 60 AND {bucket} < 85 THEN {created_at} + 1800000 END, \
         CASE WHEN {bucket} >= 85 AND {bucket} < 90 THEN {amount} ELSE 0 END, \
         CASE WHEN {bucket} >= 85 AND {bucket} < 90 THEN {amount} ELSE 0 END \
         FROM series"
    );
    let events = "INSERT INTO notification_events (id, site_id, order_id, event_type, status, \
         attempts, created_at, last_attempt_at, delivered_at) \
         SELECT 'evt_bench_' || id, site_id, id, 'TRANSACTION.SUCCESS', \
         CASE WHEN id % 500 = 0 THEN 'failed' ELSE 'delivered' END, 1, paid_at, paid_at, \
         CASE WHEN id % 500 = 0 THEN NULL ELSE paid_at END \
         FROM orders WHERE paid_at IS NOT NULL";
    let refunds = "INSERT INTO refunds (order_id, site_id, out_refund_no, upstream_refund_no, \
         channel, amount_fen, fingerprint, status, created_at, updated_at, succeeded_at) \
         SELECT id, site_id, 'refund_' || id, 'refund_up_' || id, channel, amount_fen, 'f', \
         'succeeded', \
         paid_at + 3600000, paid_at + 3600000, paid_at + 3600000 \
         FROM orders WHERE status = 'refunded'";
    let anomalies = "INSERT INTO anomalies (kind, channel, order_id, dedupe_key, detail, at, \
         occurrences, last_at) \
         SELECT 'amount_mismatch', channel, id, 'bench:' || id, 'bench', created_at, 1, created_at \
         FROM orders WHERE id % 5000 = 0";
    for (what, sql) in [
        ("orders", orders.as_str()),
        ("notifications", events),
        ("refunds", refunds),
        ("anomalies", anomalies),
    ] {
        let t = Instant::now();
        let rows = db
            .execute(sql)
            .await
            .unwrap_or_else(|e| panic!("seeding {what}: {e}"));
        eprintln!(
            "console: seeded {rows} {what} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    // What a live database's statistics would say (PostgreSQL's autovacuum, SQLite's `ANALYZE`
    // that an operator runs, or `PRAGMA optimize`): the planners see the data as it is.
    let analyze = match db.backend() {
        test_support::db::Backend::Sqlite => "ANALYZE",
        test_support::db::Backend::Postgres => "VACUUM ANALYZE",
    };
    db.execute(analyze).await.unwrap();
    let cursor_of = |no: String| async move {
        let (created_at, id): (i64, i64) = match db.backend() {
            test_support::db::Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
                sqlx::query_as("SELECT created_at, id FROM orders WHERE out_trade_no = $1")
                    .bind(&no)
                    .fetch_one(&mut c)
                    .await
                    .unwrap()
            }
            test_support::db::Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
                sqlx::query_as("SELECT created_at, id FROM orders WHERE out_trade_no = $1")
                    .bind(&no)
                    .fetch_one(&mut c)
                    .await
                    .unwrap()
            }
        };
        OrderCursor {
            created_at: Timestamp::from_millis(created_at),
            id: OrderId::from_i64(id),
        }
    };
    let deep = cursor_of(format!("bench_{}", n / 10)).await;
    let big: String = db
        .scalar(&format!(
            "SELECT out_trade_no FROM orders WHERE site_id = '{}' AND id >= {} ORDER BY id LIMIT 1",
            sites[0].id,
            n / 10
        ))
        .await
        .unwrap();
    let deep_in_site = cursor_of(big).await;
    let transaction_id: String = db
        .scalar(&format!(
            "SELECT transaction_id FROM orders WHERE transaction_id IS NOT NULL AND id >= {} \
             ORDER BY id LIMIT 1",
            n / 2
        ))
        .await
        .unwrap();
    Seeded {
        sites,
        deep,
        deep_in_site,
        out_trade_no: OutTradeNo::parse(&format!("bench_{}", n / 3)).unwrap(),
        transaction_id,
        seeding: started.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// Timings of one read, run `runs` times after one unmeasured run.
struct Figure {
    what: String,
    runs: usize,
    median: Duration,
    p95: Duration,
    max: Duration,
    /// Rows the read returned (orders on the page; for the dashboard, none).
    rows: usize,
    /// Database queries per run.
    queries: u64,
}

async fn time<F, Fut>(store: &Store, what: &str, runs: usize, read: F) -> Figure
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let rows = read().await;
    let mut times = Vec::with_capacity(runs);
    let before = store.queries();
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(read().await);
        times.push(t.elapsed());
    }
    let queries = (store.queries() - before) / u64::try_from(runs).unwrap_or(1);
    times.sort();
    let at = |q: f64| {
        // A rank into a short sorted list.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((times.len() - 1) as f64 * q).round() as usize;
        times[i]
    };
    let figure = Figure {
        what: what.to_owned(),
        runs,
        median: at(0.5),
        p95: at(0.95),
        max: at(1.0),
        rows,
        queries,
    };
    eprintln!(
        "console:   {what}: median {:.2} ms, p95 {:.2} ms ({} queries)",
        ms(figure.median),
        ms(figure.p95),
        figure.queries
    );
    figure
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn search(scope: Scope) -> OrderSearch {
    OrderSearch::every(scope, 50)
}

struct Section {
    backend: &'static str,
    seeding: Duration,
    search: Vec<Figure>,
    dashboard: Vec<Figure>,
}

async fn backend(name: &'static str, db: ThrowawayDb, n: i64) -> Section {
    eprintln!("console: {name}: seeding {n} orders");
    let store = Store::connect(db.url(), &MasterKey::generate())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .record_mode(Mode::Sandbox, Timestamp::now())
        .await
        .unwrap();
    let seeded = seed(&store, &db, n).await;
    // A node's first view of a dashboard sums the whole month; later views within a few minutes
    // sum yesterday and today only: a fresh service is a node that has not looked yet.
    let fresh_console = || {
        ConsoleService::new(
            store.clone(),
            OrderService::new(
                store.clone(),
                Channels::new(None, None),
                ServiceSettings::new("http://127.0.0.1:8080"),
            ),
            NotificationService::new(store.clone()),
            SiteService::new(store.clone()),
        )
    };
    let console = fresh_console();
    let all = Scope::All;
    let tiny = Scope::Site(seeded.sites[3].id.clone());
    let big = Scope::Site(seeded.sites[0].id.clone());
    let week_ago = Timestamp::from_millis(Timestamp::now().as_millis() - 7 * DAY_MS);
    let cases: Vec<(&str, OrderSearch)> = vec![
        ("first page, every site", search(all.clone())),
        (
            "paid WeChat Pay orders, first page",
            OrderSearch {
                status: Some(OrderStatus::Paid),
                channel: Some(Channel::Wechat),
                ..search(all.clone())
            },
        ),
        (
            "failed Alipay PC-page orders of the last 7 days (sparse)",
            OrderSearch {
                status: Some(OrderStatus::Failed),
                channel: Some(Channel::Alipay),
                method: Some(MethodFilter::Fixed(Method::Page)),
                created_from: Some(week_ago),
                ..search(all.clone())
            },
        ),
        (
            "a page 90 % deep, every site (keyset)",
            OrderSearch {
                after: Some(seeded.deep),
                ..search(all.clone())
            },
        ),
        (
            "first page of the 5 % site (site user)",
            search(tiny.clone()),
        ),
        (
            "a page 90 % deep in the 50 % site (site user)",
            OrderSearch {
                after: Some(seeded.deep_in_site),
                ..search(big.clone())
            },
        ),
        (
            "by out_trade_no, every site",
            OrderSearch {
                out_trade_no: Some(seeded.out_trade_no.clone()),
                ..search(all.clone())
            },
        ),
        (
            "by transaction id, every site",
            OrderSearch {
                transaction_id: Some(seeded.transaction_id.clone()),
                ..search(all.clone())
            },
        ),
    ];
    let mut figures = Vec::new();
    for (what, q) in &cases {
        let console = &console;
        figures.push(
            time(&store, what, 30, || async move {
                console.search(q).await.unwrap().orders.len()
            })
            .await,
        );
    }
    let mut dashboard = Vec::new();
    for (who, scope) in [
        ("every site (admin)", &all),
        ("the 50 % site (site user)", &big),
        ("the 5 % site (site user)", &tiny),
    ] {
        let fresh_console = &fresh_console;
        dashboard.push(
            time(
                &store,
                &format!("dashboard, {who}, a node's first view"),
                5,
                || async move {
                    fresh_console()
                        .dashboard(scope, Timestamp::now())
                        .await
                        .unwrap();
                    0
                },
            )
            .await,
        );
        let console = &console;
        dashboard.push(
            time(
                &store,
                &format!("dashboard, {who}, viewed again"),
                10,
                || async move {
                    console.dashboard(scope, Timestamp::now()).await.unwrap();
                    0
                },
            )
            .await,
        );
    }
    store.close().await;
    Section {
        backend: name,
        seeding: seeded.seeding,
        search: figures,
        dashboard,
    }
}

// ---------------------------------------------------------------------------------------------
// Report

struct Report {
    orders: i64,
    load_start: String,
    load_end: String,
    wall: Duration,
    sections: Vec<Section>,
    notes: Vec<String>,
}

impl Report {
    fn write(&self) {
        let path = report::write_between_markers(
            "console.md",
            "console",
            "The console's reads on a million orders",
            &self.markdown(),
        );
        eprintln!(
            "console: done in {:.0} s; wrote {}",
            self.wall.as_secs_f64(),
            path.display()
        );
    }

    fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Written by `cargo bench -p gateway --bench console` \
             (`crates/gateway/benches/console.rs`) between these markers.\n"
        );
        s.push_str(&report::machine_table(&[
            ("orders seeded", self.orders.to_string()),
            (
                "load average at start (1/5/15 min)",
                self.load_start.clone(),
            ),
            ("load average at end", self.load_end.clone()),
            ("run time", format!("{:.0} s", self.wall.as_secs_f64())),
        ]));
        for section in &self.sections {
            let _ = writeln!(
                s,
                "\n### {} (seeded in {:.0} s)\n",
                section.backend,
                section.seeding.as_secs_f64()
            );
            let _ = writeln!(
                s,
                "| read | runs | median ms | p95 ms | max ms | rows | queries |\n|---|---|---|---|---|---|---|"
            );
            for f in section.search.iter().chain(&section.dashboard) {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
                    f.what,
                    f.runs,
                    ms(f.median),
                    ms(f.p95),
                    ms(f.max),
                    f.rows,
                    f.queries
                );
            }
        }
        for note in &self.notes {
            let _ = writeln!(s, "\n{note}");
        }
        s
    }
}

//! Reconciliation of a day of a million payments per channel, through the real download path:
//!
//! * seeds a throwaway SQLite database, and a throwaway PostgreSQL database at
//!   `PAYGATE_BENCH_POSTGRES_URL` or `postgres://postgres@127.0.0.1:5432/postgres` when it
//!   answers, with 1,000,000 paid WeChat Pay orders and 1,000,000 paid Alipay orders of one day
//!   (yesterday, China time), one in fifty refunded in full, each written by one `INSERT … SELECT`;
//! * writes each channel's trade bill of those payments with the simulator's own writers: WeChat
//!   Pay's (gzip, every field after a backtick, CRLF, the summary rows) and Alipay's (a zip of GBK
//!   CSV files, the summary entry first). Beside paygate's payments and refunds each bill lists a
//!   trade of another system per thousand, ten payments at another amount, and lacks ten payments
//!   paygate has: every kind of line the run meets, at a realistic rate;
//! * writes each channel's account bill that agrees with its trade bill (each payment's money in
//!   and its fee out, each refund's money out and its fee back) with the simulator's writers:
//!   WeChat Pay's fund-flow bill (gzip) and Alipay's `signcustomer` zip;
//! * serves them from the in-process simulator (`SimContext::prepare_bill`), so that the run asks
//!   for the bill, downloads it (WeChat Pay's SHA1 checked), and streams it through the channel
//!   adapters exactly as a live run does;
//! * runs each channel's day in a child process of its own (this executable again), which does
//!   nothing else: what it reports as its peak RSS (`VmHWM`) is the reconciliation's, not the
//!   seeding's nor the simulator's. Wall time counts from asking for the bill to the run's row
//!   marked complete, both bills read.
//!
//! Run: `cargo bench -p gateway --bench reconcile` (about four minutes). It writes its figures with
//! the machine between the markers of `bench/reconcile.md` (or `PAYGATE_BENCH_OUT`), keeping what
//! is written around them. `PAYGATE_BENCH_ROWS` seeds another number of payments per channel (a
//! smoke run: 20000); `PAYGATE_BENCH_POSTGRES=0` skips PostgreSQL.
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
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use gateway::channels::Channels;
use gateway::crypto::MasterKey;
use gateway::domain::{BillDay, Channel, Mode, PayMethod, SiteName, Timestamp};
use gateway::reconcile::Reconciler;
use gateway::sandbox::provision::{SandboxKeys, SimRefunds, provision};
use gateway::service::{OrderService, ServiceSettings};
use gateway::store::{NewSite, Store};
use serde::{Deserialize, Serialize};
use sha1::Digest as _;
use test_support::db::ThrowawayDb;

/// Set in a child: the path of its [`ChildSpec`].
const CHILD: &str = "PAYGATE_BENCH_RECONCILE_CHILD";

fn main() {
    if let Some(spec) = std::env::var_os(CHILD) {
        child(Path::new(&spec));
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("reconcile: a benchmark; run it with `cargo bench -p gateway --bench reconcile`");
        return;
    }
    let rows = std::env::var("PAYGATE_BENCH_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000_i64);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(rows));
}

// ---------------------------------------------------------------------------------------------
// The day: which payments there are, and what each bill says of them

/// The payments of one channel on the bill's day: payment `i` (1 … n) of `n`.
#[derive(Clone, Copy)]
struct Day {
    n: i64,
    from_ms: i64,
}

impl Day {
    /// Payments are spread evenly over the day.
    fn paid_at(self, i: i64) -> i64 {
        self.from_ms + (i - 1) * (86_400_000 / self.n)
    }

    /// Ten payments of each kind that does not match, spread over the day.
    fn every(self) -> i64 {
        (self.n / 10).max(1)
    }

    /// Paid in paygate, absent from the bill (the run asks the channel about each).
    fn unbilled(self, i: i64) -> bool {
        i % self.every() == 1
    }

    /// The bill has another amount than paygate.
    fn billed_otherwise(self, i: i64) -> bool {
        i % self.every() == 2
    }

    /// Refunded in full, on the same day.
    fn refunded(i: i64) -> bool {
        i % 50 == 0
    }

    /// Another system's trade on the same merchant account is billed beside this payment.
    fn foreign_beside(i: i64) -> bool {
        i % 1000 == 500
    }

    fn amount(i: i64) -> i64 {
        100 + (i * 37) % 50_000
    }

    /// The SQL forms of the same rules, over a series column `i`.
    fn sql_paid_at(self) -> String {
        format!("({} + (i - 1) * {})", self.from_ms, 86_400_000 / self.n)
    }

    /// What the run should find: (bill lines, matched, discrepancies).
    fn expected(self) -> (i64, i64, i64) {
        let (mut lines, mut matched, mut discrepancies) = (0, 0, 0);
        for i in 1..=self.n {
            if Self::foreign_beside(i) {
                lines += 1;
                discrepancies += 1;
            }
            if self.unbilled(i) {
                discrepancies += 1;
                continue;
            }
            lines += 1;
            if self.billed_otherwise(i) {
                discrepancies += 1;
            } else {
                matched += 1;
            }
            if Self::refunded(i) {
                lines += 1;
                matched += 1;
            }
        }
        (lines, matched, discrepancies)
    }
}

/// A channel's numbers for payment `i`: (paygate's upstream order number, the channel's number).
fn numbers(channel: Channel, i: i64) -> (String, String) {
    match channel {
        Channel::Wechat => (format!("bench_w_{i}"), format!("4200{i}")),
        Channel::Alipay => (format!("bench_a_{i}"), format!("2024{i}")),
    }
}

/// `HH:MM:SS` of `ms` after China's midnight.
fn clock(ms_into_day: i64) -> String {
    let s = ms_into_day / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

// ---------------------------------------------------------------------------------------------
// Seeding

async fn seed(store: &Store, db: &ThrowawayDb, day: Day) -> Duration {
    let started = Instant::now();
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
    let n = day.n;
    let paid_at = day.sql_paid_at();
    let zeros = "0".repeat(31);
    for (channel, letter, method, number) in [
        ("wechat", "w", "native", "transaction_id"),
        ("alipay", "a", "qr", "trade_no"),
    ] {
        // A checkout token is `ck_` and 32 characters: the channel's letter and the number on 31
        // digits.
        let orders = format!(
            "INSERT INTO orders (site_id, out_trade_no, upstream_order_no, channel, method, \
             amount_fen, currency, description, fingerprint, status, checkout_token, {number}, \
             created_at, updated_at, expires_at, paid_at, refund_reserved_fen, refunded_fen) \
             WITH RECURSIVE series(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL \
             SELECT i + 1 FROM series WHERE i < {n}) \
             SELECT '{site}', 'bench_{letter}_' || i, 'bench_{letter}_' || i, '{channel}', \
             '{method}', 100 + (i * 37) % 50000, 'CNY', 'bench order', 'f', \
             CASE WHEN i % 50 = 0 THEN 'refunded' ELSE 'paid' END, \
             'ck_{letter}' || substr('{zeros}' || i, length('{zeros}' || i) - 30), \
             '{prefix}' || i, {paid_at} - 30000, {paid_at}, {paid_at} + 7200000, {paid_at}, \
             CASE WHEN i % 50 = 0 THEN 100 + (i * 37) % 50000 ELSE 0 END, \
             CASE WHEN i % 50 = 0 THEN 100 + (i * 37) % 50000 ELSE 0 END \
             FROM series",
            site = site.id,
            prefix = if channel == "wechat" { "4200" } else { "2024" },
        );
        let refunds = format!(
            "INSERT INTO refunds (order_id, site_id, out_refund_no, upstream_refund_no, channel, \
             amount_fen, fingerprint, status, created_at, updated_at, succeeded_at) \
             SELECT id, site_id, 'r' || out_trade_no, 'r' || upstream_order_no, channel, \
             amount_fen, 'f', 'succeeded', paid_at + 1000, paid_at + 1000, paid_at + 1000 \
             FROM orders WHERE status = 'refunded' AND channel = '{channel}'"
        );
        for (what, sql) in [("orders", orders), ("refunds", refunds)] {
            let t = Instant::now();
            let rows = db
                .execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("seeding {channel} {what}: {e}"));
            eprintln!(
                "reconcile: seeded {rows} {channel} {what} in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
    }
    let analyze = match db.backend() {
        test_support::db::Backend::Sqlite => "ANALYZE",
        test_support::db::Backend::Postgres => "VACUUM ANALYZE",
    };
    db.execute(analyze).await.unwrap();
    started.elapsed()
}

// ---------------------------------------------------------------------------------------------
// The bills

/// Writes to `inner` and hashes what it writes.
struct Hashing<W> {
    inner: W,
    sha1: sha1::Sha1,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha1.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What was written for a channel's bill.
struct BillWritten {
    bytes: u64,
    rows: i64,
    took: Duration,
}

/// WeChat Pay's trade bill of `day` for `keys`' merchant, gzip-compressed into `path`; returns
/// the text's SHA1 with what was written.
fn write_wechat_bill(
    path: &Path,
    day: Day,
    date: &str,
    keys: &SandboxKeys,
) -> (String, BillWritten) {
    use sim::wechat::{BillOrder, BillRefund, BillType, TradeBillRow, TradeBillWriter};
    let started = Instant::now();
    let file = BufWriter::new(std::fs::File::create(path).unwrap());
    let gzip = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let text = Hashing {
        inner: gzip,
        sha1: sha1::Sha1::new(),
    };
    let mut bill = TradeBillWriter::new(text, BillType::All).unwrap();
    let mut rows = 0;
    let base = BillOrder {
        appid: &keys.wechat_appids.mp,
        mchid: &keys.wechat_mchid,
        sub_mchid: None,
        transaction_id: "",
        out_trade_no: "",
        openid: "oBenchPayer0000000000000000",
        trade_type: "NATIVE",
        currency: "CNY",
        description: "bench order",
        attach: "",
        billed_fen: 0,
    };
    for i in 1..=day.n {
        let at = day.paid_at(i) - day.from_ms;
        let time = format!("{date} {}", clock(at));
        if Day::foreign_beside(i) {
            let (no, transaction) = (format!("other_system_{i}"), format!("4300{i}"));
            let row = TradeBillRow {
                time: time.clone(),
                order: BillOrder {
                    transaction_id: &transaction,
                    out_trade_no: &no,
                    billed_fen: 990,
                    ..base
                },
                refund: None,
            };
            bill.row(&row).unwrap();
            rows += 1;
        }
        if day.unbilled(i) {
            continue;
        }
        let (no, transaction) = numbers(Channel::Wechat, i);
        let amount = Day::amount(i);
        let billed = if day.billed_otherwise(i) {
            amount + 1
        } else {
            amount
        };
        let paid = BillOrder {
            transaction_id: &transaction,
            out_trade_no: &no,
            billed_fen: billed,
            ..base
        };
        bill.row(&TradeBillRow {
            time: time.clone(),
            order: paid,
            refund: None,
        })
        .unwrap();
        rows += 1;
        if Day::refunded(i) {
            let (refund_no, refund_id) = (format!("r{no}"), format!("5030{i}"));
            let accepted = format!("{date}T{}+08:00", clock(at));
            bill.row(&TradeBillRow {
                time,
                order: paid,
                refund: Some(BillRefund {
                    refund_id: &refund_id,
                    out_refund_no: &refund_no,
                    refund_fen: amount,
                    fee_returned_fen: sim::wechat::fees::charged(billed),
                    status: sim::wechat::state::RefundStatus::Success,
                    create_time: &accepted,
                    success_time: Some(&accepted),
                }),
            })
            .unwrap();
            rows += 1;
        }
    }
    let text = bill.finish().unwrap();
    let sha1 = hex::encode(text.sha1.finalize());
    let mut file = text.inner.finish().unwrap();
    file.flush().unwrap();
    let bytes = std::fs::metadata(path).unwrap().len();
    (
        sha1,
        BillWritten {
            bytes,
            rows,
            took: started.elapsed(),
        },
    )
}

/// Alipay's trade bill zip of `day` into `path`.
fn write_alipay_bill(path: &Path, day: Day, date: &str) -> BillWritten {
    use sim::alipay::{
        Period, TradeDetailRow, TradeDetailWriter, fee_on, trade_summary, trade_zip,
    };
    let started = Instant::now();
    let period = Period { bill_date: date };
    let mut detail = TradeDetailWriter::new(Vec::new(), &period).unwrap();
    let mut rows = 0;
    let row = |at_ms: i64| TradeDetailRow {
        trade_no: "",
        out_trade_no: "",
        subject: "bench order",
        body: "",
        created_ms: at_ms - 30_000,
        at_ms,
        refund: None,
        amount_fen: 0,
        fee_fen: 0,
    };
    for i in 1..=day.n {
        let at = day.paid_at(i);
        if Day::foreign_beside(i) {
            let (no, trade_no) = (format!("other_system_{i}"), format!("2025{i}"));
            detail
                .row(&TradeDetailRow {
                    trade_no: &trade_no,
                    out_trade_no: &no,
                    amount_fen: 990,
                    fee_fen: -fee_on(990),
                    ..row(at)
                })
                .unwrap();
            rows += 1;
        }
        if day.unbilled(i) {
            continue;
        }
        let (no, trade_no) = numbers(Channel::Alipay, i);
        let amount = Day::amount(i);
        let billed = if day.billed_otherwise(i) {
            amount + 1
        } else {
            amount
        };
        let paid = TradeDetailRow {
            trade_no: &trade_no,
            out_trade_no: &no,
            amount_fen: billed,
            fee_fen: -fee_on(billed),
            ..row(at)
        };
        detail.row(&paid).unwrap();
        rows += 1;
        if Day::refunded(i) {
            let refund_no = format!("r{no}");
            detail
                .row(&TradeDetailRow {
                    refund: Some(&refund_no),
                    amount_fen: -amount,
                    fee_fen: fee_on(billed),
                    ..paid
                })
                .unwrap();
            rows += 1;
        }
    }
    let now = Timestamp::now().as_millis();
    let (detail, totals) = detail.finish(now).unwrap();
    let zip = trade_zip(&period, &trade_summary(&totals, &period, now), detail).unwrap();
    std::fs::write(path, &zip).unwrap();
    BillWritten {
        bytes: zip.len() as u64,
        rows,
        took: started.elapsed(),
    }
}

/// WeChat Pay's fund-flow bill of `day` for `keys`' merchant, agreeing with its trade bill: each
/// payment's money in and its fee out, each refund's money out and its fee back; gzip-compressed
/// into `path`. Returns the text's SHA1 with what was written.
fn write_wechat_funds(
    path: &Path,
    day: Day,
    date: &str,
    keys: &SandboxKeys,
) -> (String, BillWritten) {
    use sim::wechat::fees::charged;
    use sim::wechat::{FundFlowRow, FundFlowWriter};
    let started = Instant::now();
    let file = BufWriter::new(std::fs::File::create(path).unwrap());
    let gzip = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let text = Hashing {
        inner: gzip,
        sha1: sha1::Sha1::new(),
    };
    let mut bill = FundFlowWriter::new(text, &keys.wechat_mchid, date, 0).unwrap();
    let refund_applicant = format!("{}API", keys.wechat_mchid);
    let mut both = |time: &str, id: &str, voucher: &str, refund: bool, fen: i64, fee: i64| {
        let (name, kind, fee_kind, applicant) = if refund {
            ("退款", "退款", "退还交易手续费", refund_applicant.as_str())
        } else {
            ("交易", "交易", "扣除交易手续费", "system")
        };
        let money = FundFlowRow {
            time,
            business_id: id,
            name,
            kind,
            income: !refund,
            amount_fen: fen,
            applicant,
            voucher,
        };
        bill.row(&money).unwrap();
        bill.row(&FundFlowRow {
            kind: fee_kind,
            income: refund,
            amount_fen: fee,
            ..money
        })
        .unwrap();
    };
    for i in 1..=day.n {
        let time = format!("{date} {}", clock(day.paid_at(i) - day.from_ms));
        if Day::foreign_beside(i) {
            let (no, transaction) = (format!("other_system_{i}"), format!("4300{i}"));
            both(&time, &transaction, &no, false, 990, charged(990));
        }
        if day.unbilled(i) {
            continue;
        }
        let (no, transaction) = numbers(Channel::Wechat, i);
        let amount = Day::amount(i);
        let billed = if day.billed_otherwise(i) {
            amount + 1
        } else {
            amount
        };
        both(&time, &transaction, &no, false, billed, charged(billed));
        if Day::refunded(i) {
            let (refund_no, refund_id) = (format!("r{no}"), format!("5030{i}"));
            both(&time, &refund_id, &refund_no, true, amount, charged(billed));
        }
    }
    let rows = i64::try_from(bill.rows()).unwrap();
    let text = bill.finish().unwrap();
    let sha1 = hex::encode(text.sha1.finalize());
    let mut file = text.inner.finish().unwrap();
    file.flush().unwrap();
    let bytes = std::fs::metadata(path).unwrap().len();
    (
        sha1,
        BillWritten {
            bytes,
            rows,
            took: started.elapsed(),
        },
    )
}

/// Alipay's account bill (`signcustomer`) zip of `day` into `path`, agreeing with its trade bill
/// as WeChat Pay's fund-flow bill does.
fn write_alipay_funds(path: &Path, day: Day, date: &str) -> BillWritten {
    use sim::alipay::{
        AccountDetailRow, AccountDetailWriter, Period, account_summary, account_zip, fee_on,
    };
    let started = Instant::now();
    let period = Period { bill_date: date };
    let mut detail = AccountDetailWriter::new(Vec::new(), &period, 0, 0).unwrap();
    let mut rows = 0;
    let mut both = |trade_no: &str, out_trade_no: &str, at_ms: i64, refund: bool, fen: i64, fee| {
        let money = AccountDetailRow {
            trade_no,
            out_trade_no,
            subject: "bench order",
            at_ms,
            refund,
            fee: false,
            fen,
        };
        detail.row(&money).unwrap();
        detail
            .row(&AccountDetailRow {
                fee: true,
                fen: fee,
                ..money
            })
            .unwrap();
        rows += 1 + i64::from(fee != 0);
    };
    for i in 1..=day.n {
        let at = day.paid_at(i);
        if Day::foreign_beside(i) {
            let (no, trade_no) = (format!("other_system_{i}"), format!("2025{i}"));
            both(&trade_no, &no, at, false, 990, -fee_on(990));
        }
        if day.unbilled(i) {
            continue;
        }
        let (no, trade_no) = numbers(Channel::Alipay, i);
        let amount = Day::amount(i);
        let billed = if day.billed_otherwise(i) {
            amount + 1
        } else {
            amount
        };
        both(&trade_no, &no, at, false, billed, -fee_on(billed));
        if Day::refunded(i) {
            both(&trade_no, &no, at, true, -amount, fee_on(billed));
        }
    }
    let now = Timestamp::now().as_millis();
    let (detail, totals) = detail.finish(now).unwrap();
    let zip = account_zip(&period, &account_summary(&totals, &period, now), detail).unwrap();
    std::fs::write(path, &zip).unwrap();
    BillWritten {
        bytes: zip.len() as u64,
        rows,
        took: started.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// The run, in a child process

/// What a child is asked to run.
#[derive(Serialize, Deserialize)]
struct ChildSpec {
    database_url: String,
    sim_url: String,
    keys: SandboxKeys,
    day: String,
    channel: String,
}

/// What a child reports.
#[derive(Debug, Serialize, Deserialize)]
struct ChildResult {
    /// From asking for the bill to the run's row marked complete.
    wall_ms: u64,
    /// Asking for the bill and downloading it to a temporary file (WeChat Pay: with its SHA1).
    download_ms: u64,
    lines: i64,
    /// The account bill's movements the run read.
    movements: i64,
    matched: i64,
    new_discrepancies: i64,
    /// Peak resident memory of the whole process (`VmHWM`), and its RSS before the run.
    peak_rss_kib: u64,
    rss_before_kib: u64,
    cpu_user_s: f64,
    cpu_system_s: f64,
    queries: u64,
}

fn child(spec: &Path) {
    let spec: ChildSpec = serde_json::from_slice(&std::fs::read(spec).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(run_day(spec));
    println!("{}", serde_json::to_string(&result).unwrap());
}

async fn run_day(spec: ChildSpec) -> ChildResult {
    let store = Store::connect(&spec.database_url, &MasterKey::generate())
        .await
        .unwrap();
    let (wechat, alipay) = provision(
        &spec.sim_url,
        &spec.keys,
        "http://127.0.0.1:9",
        SimRefunds::SucceedOnTheirOwn,
    )
    .await
    .unwrap();
    let channels = Channels::new(Some(wechat.clone()), Some(alipay.clone()));
    let orders = OrderService::new(
        store.clone(),
        channels,
        ServiceSettings::new("http://127.0.0.1:9"),
    );
    let reconciler = Reconciler::new(store.clone(), orders);
    let day = BillDay::parse(&spec.day).unwrap();
    let rss_before_kib = status_kib("VmRSS");
    let (cpu_user, cpu_system) = cpu_seconds();
    let queries = store.queries();
    let started = Instant::now();
    let download;
    let summary = match spec.channel.as_str() {
        "wechat" => {
            let bill = gateway::reconcile::wechat::open(&wechat.client, day).await;
            download = started.elapsed();
            let funds = gateway::reconcile::wechat_funds::open(&wechat.client, day);
            reconciler
                .run(Channel::Wechat, &wechat.mchid, day, bill, funds)
                .await
        }
        _ => {
            let bill = gateway::reconcile::alipay::open(&alipay.client, day).await;
            download = started.elapsed();
            let funds = gateway::reconcile::alipay_funds::open(&alipay.client, day);
            reconciler
                .run(Channel::Alipay, &alipay.app_id, day, bill, funds)
                .await
        }
    }
    .unwrap_or_else(|e| panic!("the run of {day} failed: {e}"));
    let wall = started.elapsed();
    let (user, system) = cpu_seconds();
    let queries = store.queries() - queries;
    store.close().await;
    ChildResult {
        wall_ms: u64::try_from(wall.as_millis()).unwrap(),
        download_ms: u64::try_from(download.as_millis()).unwrap(),
        lines: summary.totals.payments + summary.totals.refunds,
        movements: summary.funds.movements,
        matched: summary.matched,
        new_discrepancies: summary.new_discrepancies,
        peak_rss_kib: status_kib("VmHWM"),
        rss_before_kib,
        cpu_user_s: user - cpu_user,
        cpu_system_s: system - cpu_system,
        queries,
    }
}

/// A `kB` line of `/proc/self/status`.
fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The process's user and system CPU seconds so far (`/proc/self/stat`, in clock ticks of 1/100 s,
/// Linux's `USER_HZ`).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> f64 {
        // Clock ticks, far below 2^52.
        #[allow(clippy::cast_precision_loss)]
        let t = fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0) as f64;
        t / 100.0
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    (ticks(11), ticks(12))
}

fn spawn_child(spec: &ChildSpec) -> ChildResult {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(spec).unwrap()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .env(CHILD, file.path())
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the child's run failed: {}",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the child's answer {stdout:?}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Running it all

struct Bills {
    /// Where the bills are, removed once the report is written.
    _dir: tempfile::TempDir,
    wechat: BillWritten,
    alipay: BillWritten,
    wechat_funds: BillWritten,
    alipay_funds: BillWritten,
}

async fn run(n: i64) {
    let started = Instant::now();
    let load_start = machine::load_average();
    let bill_day = BillDay::of(Timestamp::now()).previous();
    let date = bill_day.to_string();
    let day = Day {
        n,
        from_ms: bill_day.bounds().0.as_millis(),
    };
    let sim = test_support::sim::start(None, 1.0).await;
    let keys = SandboxKeys::generate();
    provision(
        &sim.base_url,
        &keys,
        "http://127.0.0.1:9",
        SimRefunds::SucceedOnTheirOwn,
    )
    .await
    .unwrap();
    let bills = write_bills(&sim, &keys, day, &date);
    let mut sections = Vec::new();
    let mut notes = Vec::new();
    sections.push(backend("SQLite", ThrowawayDb::sqlite(), day, &date, &sim, &keys).await);
    match postgres::admin_url().await {
        Some(admin) => {
            let database = ThrowawayDb::postgres_on(&admin)
                .await
                .expect("a throwaway PostgreSQL database");
            sections.push(backend("PostgreSQL", database, day, &date, &sim, &keys).await);
        }
        None => notes
            .push("PostgreSQL: skipped (not reachable, or PAYGATE_BENCH_POSTGRES=0)".to_owned()),
    }
    let _ = sim.shutdown().await;
    let report = Report {
        n,
        bills,
        load_start,
        load_end: machine::load_average(),
        wall: started.elapsed(),
        sections,
        notes,
    };
    report.write();
}

fn write_bills(sim: &sim::RunningSim, keys: &SandboxKeys, day: Day, date: &str) -> Bills {
    let dir = tempfile::tempdir().unwrap();
    let gzip = dir.path().join("wechat-trade-bill.csv.gz");
    let (sha1, wechat) = write_wechat_bill(&gzip, day, date, keys);
    eprintln!(
        "reconcile: wrote WeChat Pay's bill ({} rows, {} MB gzip) in {:.1} s",
        wechat.rows,
        wechat.bytes / 1_000_000,
        wechat.took.as_secs_f64()
    );
    sim.ctx.prepare_bill(sim::PreparedBill::WechatTrade {
        mchid: keys.wechat_mchid.clone(),
        bill_date: date.to_owned(),
        gzip,
        sha1,
    });
    let zip = dir.path().join("alipay-trade-bill.csv.zip");
    let alipay = write_alipay_bill(&zip, day, date);
    eprintln!(
        "reconcile: wrote Alipay's bill ({} rows, {} MB zip) in {:.1} s",
        alipay.rows,
        alipay.bytes / 1_000_000,
        alipay.took.as_secs_f64()
    );
    sim.ctx.prepare_bill(sim::PreparedBill::AlipayTrade {
        app_id: keys.alipay_app_id.clone(),
        bill_date: date.to_owned(),
        zip,
    });
    let gzip = dir.path().join("wechat-fund-flow-bill.csv.gz");
    let (sha1, wechat_funds) = write_wechat_funds(&gzip, day, date, keys);
    eprintln!(
        "reconcile: wrote WeChat Pay's fund-flow bill ({} rows, {} MB gzip) in {:.1} s",
        wechat_funds.rows,
        wechat_funds.bytes / 1_000_000,
        wechat_funds.took.as_secs_f64()
    );
    sim.ctx.prepare_bill(sim::PreparedBill::WechatFundFlow {
        mchid: keys.wechat_mchid.clone(),
        bill_date: date.to_owned(),
        gzip,
        sha1,
    });
    let zip = dir.path().join("alipay-account-bill.csv.zip");
    let alipay_funds = write_alipay_funds(&zip, day, date);
    eprintln!(
        "reconcile: wrote Alipay's account bill ({} rows, {} MB zip) in {:.1} s",
        alipay_funds.rows,
        alipay_funds.bytes / 1_000_000,
        alipay_funds.took.as_secs_f64()
    );
    sim.ctx.prepare_bill(sim::PreparedBill::AlipayAccount {
        app_id: keys.alipay_app_id.clone(),
        bill_date: date.to_owned(),
        zip,
    });
    Bills {
        _dir: dir,
        wechat,
        alipay,
        wechat_funds,
        alipay_funds,
    }
}

struct Section {
    backend: &'static str,
    seeding: Duration,
    runs: Vec<(Channel, ChildResult)>,
}

async fn backend(
    name: &'static str,
    db: ThrowawayDb,
    day: Day,
    date: &str,
    sim: &sim::RunningSim,
    keys: &SandboxKeys,
) -> Section {
    eprintln!(
        "reconcile: {name}: seeding {} paid orders per channel",
        day.n
    );
    let store = Store::connect(db.url(), &MasterKey::generate())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .record_mode(Mode::Sandbox, Timestamp::now())
        .await
        .unwrap();
    let seeding = seed(&store, &db, day).await;
    store.close().await;
    let (lines, matched, discrepancies) = day.expected();
    let mut runs = Vec::new();
    for channel in [Channel::Wechat, Channel::Alipay] {
        let spec = ChildSpec {
            database_url: db.url().to_owned(),
            sim_url: sim.base_url.clone(),
            keys: keys.clone(),
            day: date.to_owned(),
            channel: channel.as_str().to_owned(),
        };
        // A blocking wait for the child: the simulator serves it from this runtime's other
        // threads.
        let result = tokio::task::block_in_place(|| spawn_child(&spec));
        eprintln!(
            "reconcile: {name} {}: {} lines in {:.1} s, peak RSS {} MiB",
            channel.as_str(),
            result.lines,
            result.wall_ms as f64 / 1000.0,
            result.peak_rss_kib / 1024
        );
        assert_eq!(
            (result.lines, result.matched, result.new_discrepancies),
            (lines, matched, discrepancies),
            "{name} {}: what the run found is not what the bill holds",
            channel.as_str()
        );
        runs.push((channel, result));
    }
    drop(db);
    Section {
        backend: name,
        seeding,
        runs,
    }
}

// ---------------------------------------------------------------------------------------------
// Report

struct Report {
    n: i64,
    bills: Bills,
    load_start: String,
    load_end: String,
    wall: Duration,
    sections: Vec<Section>,
    notes: Vec<String>,
}

impl Report {
    fn write(&self) {
        let path = report::write_between_markers(
            "reconcile.md",
            "reconcile",
            "Reconciling a day of a million payments",
            &self.markdown(),
        );
        eprintln!(
            "reconcile: done in {:.0} s; wrote {}",
            self.wall.as_secs_f64(),
            path.display()
        );
    }

    fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Written by `cargo bench -p gateway --bench reconcile` \
             (`crates/gateway/benches/reconcile.rs`) between these markers.\n"
        );
        let bill = |b: &BillWritten, what: &str| {
            format!(
                "{} rows, {:.1} MB {what}, written in {:.1} s",
                b.rows,
                b.bytes as f64 / 1e6,
                b.took.as_secs_f64()
            )
        };
        s.push_str(&report::machine_table(&[
            ("paid orders seeded per channel", self.n.to_string()),
            ("WeChat Pay's bill", bill(&self.bills.wechat, "gzip")),
            ("Alipay's bill", bill(&self.bills.alipay, "zip")),
            (
                "WeChat Pay's fund-flow bill",
                bill(&self.bills.wechat_funds, "gzip"),
            ),
            (
                "Alipay's account bill",
                bill(&self.bills.alipay_funds, "zip"),
            ),
            (
                "load average at start (1/5/15 min)",
                self.load_start.clone(),
            ),
            ("load average at end", self.load_end.clone()),
            ("run time", format!("{:.0} s", self.wall.as_secs_f64())),
        ]));
        let _ = writeln!(
            s,
            "\n| database | channel | bill lines | account movements | wall s | download s | lines/s | peak RSS MiB | RSS before MiB | CPU user s | CPU sys s | queries | matched | discrepancies |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for section in &self.sections {
            for (channel, r) in &section.runs {
                let wall = r.wall_ms as f64 / 1000.0;
                let _ = writeln!(
                    s,
                    "| {} (seeded in {:.0} s) | {} | {} | {} | {wall:.1} | {:.1} | {:.0} | {} | {} | {:.1} | {:.1} | {} | {} | {} |",
                    section.backend,
                    section.seeding.as_secs_f64(),
                    channel.as_str(),
                    r.lines,
                    r.movements,
                    r.download_ms as f64 / 1000.0,
                    r.lines as f64 / wall,
                    r.peak_rss_kib / 1024,
                    r.rss_before_kib / 1024,
                    r.cpu_user_s,
                    r.cpu_system_s,
                    r.queries,
                    r.matched,
                    r.new_discrepancies
                );
            }
        }
        for note in &self.notes {
            let _ = writeln!(s, "\n{note}");
        }
        s
    }
}

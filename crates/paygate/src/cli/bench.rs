//! `paygate bench`: paygate measured as sites and payers meet it. This executable starts itself as
//! `paygate serve` (a process of its own, sandbox mode as shipped: `server.rs`) on a throwaway data
//! dir, on SQLite and on PostgreSQL, plays the site and the payers over loopback HTTP
//! (`client.rs`, `receiver.rs`), and runs the scenarios (`scenarios.rs`) under closed and open
//! loop load (`load.rs`). In the same run it measures what the machine allows at most
//! (`bounds.rs`), and reports every result with its ratio to its bound (`report.rs`, `chart.rs`),
//! beside the same order created directly with a WeChat Pay SDK (`direct.rs`).
//!
//! `--quick` (`PAYGATE_BENCH_QUICK=1`) is a smoke run of every scenario for CI: its figures mean
//! nothing, and it writes no report unless `--out` is given.

mod bounds;
mod chart;
mod client;
mod direct;
mod load;
// What every benchmark of the workspace records about the machine, read the same way for each.
#[path = "../../../gateway/benches/support/machine.rs"]
mod machine;
mod plan;
mod receiver;
mod report;
mod scenarios;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;

use self::bounds::Bounds;
use self::machine::{cpu, git_commit, load_average, memory, now_rfc3339, os};
use self::plan::Plan;
use self::report::{Bound, Machine, MemoryRow, Report, Row};
use self::server::{Backend, Data, Server};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A short smoke run of every scenario (for CI): figures mean nothing; it only shows that every
    /// scenario completes without an error.
    #[arg(long, env = "PAYGATE_BENCH_QUICK", value_parser = clap::builder::FalseyValueParser::new())]
    quick: bool,
    /// The databases to run on, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    database: Vec<Backend>,
    /// A PostgreSQL server to create the run's throwaway database on (and drop it after), as the
    /// URL of a database there that the user may connect to.
    #[arg(
        long,
        value_name = "URL",
        env = "PAYGATE_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Where `RESULTS.md`, `RESULTS.json` and `chart.svg` go [default: bench/, none with --quick].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Keep-alive clients of the closed-loop runs (the status poll uses twice as many).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Leave out the baseline made with Node.js and wechatpay-axios-plugin.
    #[arg(long)]
    no_direct: bool,
    /// Run only these scenarios (e.g. `create` while profiling); refunds need the payments of
    /// `callbacks`, which then run too.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    Streams,
    Create,
    Direct,
    Status,
    Callbacks,
    Refunds,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let plan = if args.quick {
        Plan::quick(args.clients.max(1))
    } else {
        Plan::full(args.clients.max(1))
    };
    let out = match (&args.out, plan.quick) {
        (Some(dir), _) => Some(dir.clone()),
        (None, false) => Some(PathBuf::from("bench")),
        (None, true) => None,
    };
    if cfg!(debug_assertions) && !plan.quick {
        eprintln!("paygate bench: this is a debug build; use `cargo run --release -- bench`");
    }
    let started = Instant::now();
    let load_start = load_average();
    let probe_dir = tempfile::Builder::new()
        .prefix("paygate-bench-")
        .tempdir()
        .context("a temporary dir")?;
    let filesystem = server::filesystem_of(probe_dir.path());
    eprintln!("paygate bench: measuring the machine's bounds");
    let bounds = {
        let (dir, budget) = (probe_dir.path().to_path_buf(), plan.bounds_budget);
        tokio::task::spawn_blocking(move || Bounds::measure(&dir, budget)).await??
    };
    drop(probe_dir);
    let mut report = Report {
        quick: plan.quick,
        machine: Machine {
            date: String::new(),
            commit: git_commit(),
            cpu: cpu(),
            cores: bounds.cores,
            memory: memory(),
            os: os(),
            build: if cfg!(debug_assertions) {
                "debug (figures not representative)"
            } else {
                "release"
            },
            filesystem,
            load_start,
            load_end: String::new(),
        },
        bounds,
        rows: Vec::new(),
        memory: Vec::new(),
        notes: Vec::new(),
        run_time: Duration::ZERO,
    };
    let mut direct_done = args.no_direct || !wants(&args, Scenario::Direct);
    for backend in &args.database {
        eprintln!("paygate bench: {}", backend.name());
        let result = run_backend(*backend, &plan, &args, !direct_done, &mut report).await;
        direct_done = true;
        if let Err(e) = result {
            let row = Row::new(
                "(the run on this database stopped)",
                backend.name(),
                "—".to_owned(),
                &scenarios::failed_run(&format!("{e:#}")),
                None,
                0,
            );
            report.rows.push(row);
        }
    }
    report.machine.date = now_rfc3339();
    report.machine.load_end = load_average();
    report.run_time = started.elapsed();

    println!("{}", report.bounds_table());
    println!("{}", report.table());
    println!("{}", report.memory_table());
    for note in &report.notes {
        println!("note: {note}");
    }
    if let Some(dir) = out {
        report.write(
            &dir,
            &chart::svg(
                "paygate: order creation latency against rate (sandbox WeChat Native)",
                &series(&report),
            ),
        )?;
        println!("written to {}", dir.join("RESULTS.md").display());
    }
    let failures = report.failures();
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("paygate bench: {failure}");
        }
        bail!("{} scenario(s) had errors", failures.len());
    }
    Ok(())
}

/// Whether `scenario` is to run.
fn wants(args: &BenchArgs, scenario: Scenario) -> bool {
    args.only.is_empty()
        || args.only.contains(&scenario)
        || (scenario == Scenario::Callbacks && args.only.contains(&Scenario::Refunds))
}

/// Every scenario on one database, against its own paygate.
async fn run_backend(
    backend: Backend,
    plan: &Plan,
    args: &BenchArgs,
    with_direct: bool,
    report: &mut Report,
) -> anyhow::Result<()> {
    let data = Data::new(backend, &args.postgres_url).await?;
    let result = run_on(backend, plan, args, &data, with_direct, report).await;
    let removed = data.remove().await;
    result?;
    removed
}

async fn run_on(
    backend: Backend,
    plan: &Plan,
    args: &BenchArgs,
    data: &Data,
    with_direct: bool,
    report: &mut Report,
) -> anyhow::Result<()> {
    let receiver = receiver::Receiver::start().await?;
    let server = Server::start(data).await?;
    let keys = Server::create_site(data, &receiver.url).await?;
    receiver.trust(&keys.sk);
    let client = client::Client::new(&server.url, keys.ak, keys.sk)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    report
        .memory
        .push(MemoryRow::idle(backend.name(), server.memory().rss));

    let mut tag = [0u8; 3];
    channel_core::nonce::fill(&mut tag);
    let stand = scenarios::Stand {
        backend,
        server: &server,
        client,
        receiver: &receiver,
        plan,
        unpaid: Arc::default(),
        prefix: format!("BENCH{}", hex::encode(tag)),
        numbers: Arc::default(),
    };
    let stocked = stand.stock(plan.stock, plan.clients.min(8)).await;
    if stocked.errors > 0 {
        bail!(
            "creating the first orders failed: {}",
            stocked.first_error.unwrap_or_default()
        );
    }
    run_scenarios(&stand, args, with_direct, report).await;
    drop(stand);
    finish(server, &receiver, backend, report).await
}

/// The scenarios `args` asks for, in order, on orders already made.
async fn run_scenarios(
    stand: &scenarios::Stand<'_>,
    args: &BenchArgs,
    with_direct: bool,
    report: &mut Report,
) {
    let (plan, server, backend) = (stand.plan, stand.server, stand.backend);
    let rsa = report.bounds.rsa_signs;
    let rsa_order = Bound::new("RSA ÷ 2", rsa / 2.0);

    if wants(args, Scenario::Streams) {
        eprintln!("  status streams");
        report.memory.push(stand.open_streams().await);
    }

    if wants(args, Scenario::Create) {
        eprintln!("  create order");
        create(stand, plan, &rsa_order, report).await;
    }

    if with_direct {
        stand.settle(plan.settle).await;
        eprintln!("  the same order, directly with wechatpay-axios-plugin");
        let run = direct::run(
            &server.sim_url,
            plan.clients,
            plan.direct,
            plan.max_requests,
        )
        .await
        .unwrap_or_else(|e| scenarios::failed_run(&format!("{e:#}")));
        report.rows.push(Row::new(
            "create order directly with wechatpay-axios-plugin, no paygate (Node.js, same simulator)",
            backend.name(),
            format!("closed loop, {} clients", plan.clients),
            &run,
            Some(rsa_order.clone()),
            server.memory().peak,
        ));
    }

    if wants(args, Scenario::Status) {
        stand.settle(plan.settle).await;
        eprintln!("  status poll");
        let (ceiling_row, ceiling) = stand.http_ceiling().await;
        report.rows.push(ceiling_row);
        report
            .rows
            .push(stand.status_polling(Bound::new("HTTP", ceiling)).await);
    }

    if !wants(args, Scenario::Callbacks) {
        return;
    }
    stand.settle(plan.settle).await;
    eprintln!("  callbacks and notifications");
    let (callbacks, notifications, paid) = stand
        .callbacks_and_notifications(
            Bound::new("RSA ÷ 1", rsa),
            Bound::new("fsync ÷ 1", report.bounds.fsyncs),
        )
        .await;
    report.rows.push(callbacks);
    report.rows.push(notifications);

    if wants(args, Scenario::Refunds) {
        refunds(stand, &paid, &rsa_order, report).await;
    }
}

async fn refunds(
    stand: &scenarios::Stand<'_>,
    paid: &[String],
    rsa_order: &Bound,
    report: &mut Report,
) {
    stand.settle(stand.plan.settle).await;
    eprintln!("  refunds");
    let (refunds, to_final) = stand.refunds(paid, rsa_order.clone()).await;
    let refunds = match to_final {
        Some(median) => refunds.with_note(format!(
            "median {:.1} s to final; the simulator settles a refund after 2 s",
            median.as_secs_f64()
        )),
        None => refunds,
    };
    report.rows.push(refunds);
}

/// Order creation: closed loop, then open loop at shares of the RSA bound.
async fn create(stand: &scenarios::Stand<'_>, plan: &Plan, rsa_order: &Bound, report: &mut Report) {
    let (closed, max) = stand.create_closed_loop(rsa_order.clone()).await;
    report.rows.push(closed);
    for (share, label) in [(0.25, "25%"), (0.5, "50%"), (0.75, "75%")] {
        // A smoke run need not wait out a backlog: it offers shares of what it just did.
        let rate = if plan.quick {
            share * max.min(rsa_order.per_second)
        } else {
            share * rsa_order.per_second
        };
        report.rows.push(
            stand
                .create_open_loop(rate.max(1.0), label, rsa_order.clone())
                .await,
        );
    }
}

/// The receiver's refusals and paygate's log go into the report; paygate stops.
async fn finish(
    server: Server,
    receiver: &receiver::Receiver,
    backend: Backend,
    report: &mut Report,
) -> anyhow::Result<()> {
    let refused = receiver.refused();
    if refused > 0 {
        report.rows.push(Row::new(
            "notifications that failed the site's signature check",
            backend.name(),
            "—".to_owned(),
            &scenarios::failed_run(&format!("{refused} notifications failed verification")),
            None,
            0,
        ));
    }
    for line in server.log_lines().into_iter().take(10) {
        report
            .notes
            .push(format!("{}: paygate logged: {line}", backend.name()));
    }
    server.stop().await
}

/// The chart's lines: each database's open-loop create rows by offered rate, then its closed loop.
fn series(report: &Report) -> Vec<chart::Series> {
    let mut out: Vec<chart::Series> = Vec::new();
    for row in report.rows.iter().filter(|r| r.scenario == "create order") {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let rate = row
            .load
            .strip_prefix("open loop, ")
            .and_then(|l| l.split('/').next())
            .and_then(|r| r.parse::<f64>().ok())
            .unwrap_or(row.throughput);
        let point = (rate, ms(row.p50), ms(row.p99));
        match out.iter_mut().find(|s| s.name == row.backend) {
            Some(s) => s.points.push(point),
            None => out.push(chart::Series {
                name: row.backend.clone(),
                points: vec![point],
            }),
        }
    }
    for s in &mut out {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

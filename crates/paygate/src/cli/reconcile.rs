//! `paygate reconcile --date D [--channel C]`: asks for a day to be reconciled against the
//! channels' bills now, and waits for it; `paygate reconcile show --date D`: the report of a day.
//! The run itself is the `reconcile_day` job of a running `paygate serve` (the node that holds the
//! channels, and in sandbox mode the simulators), as refunds from the command line are: the
//! command line plans it due now and reads the report the run writes. While it waits it shows how
//! far each run has read its bill (`reconcile_progress.rs`).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use gateway::domain::{
    BillDay, Channel, Discrepancy, FundsTotals, Reconciliation, ReconciliationStatus, Timestamp,
};
use gateway::store::Store;
use serde_json::json;

use super::common::DataArgs;
use super::reconcile_progress::Progress;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReconcileArgs {
    #[command(subcommand)]
    command: Option<ReconcileCommand>,
    /// The day, YYYY-MM-DD in China time (the channels' bill day).
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
    /// Only this channel [default: both].
    #[arg(long, value_enum)]
    channel: Option<ChannelArg>,
    /// Plan the run and return at once.
    #[arg(long)]
    no_wait: bool,
    /// How long to wait for the run, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    wait: u64,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum ReconcileCommand {
    /// The report of a day: per channel account its trade bill's totals, its account bill's
    /// figures and its discrepancies.
    Show {
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        #[arg(long, value_enum)]
        channel: Option<ChannelArg>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ChannelArg {
    Wechat,
    Alipay,
}

impl From<ChannelArg> for Channel {
    fn from(c: ChannelArg) -> Self {
        match c {
            ChannelArg::Wechat => Self::Wechat,
            ChannelArg::Alipay => Self::Alipay,
        }
    }
}

fn channels(only: Option<ChannelArg>) -> Vec<Channel> {
    only.map_or_else(
        || vec![Channel::Wechat, Channel::Alipay],
        |c| vec![c.into()],
    )
}

fn day(s: &str) -> anyhow::Result<BillDay> {
    BillDay::parse(s).with_context(|| format!("--date {s:?}: give a day as YYYY-MM-DD"))
}

pub async fn run(args: ReconcileArgs) -> anyhow::Result<()> {
    match args.command {
        Some(ReconcileCommand::Show {
            date,
            channel,
            json,
            data,
        }) => {
            let day = day(&date)?;
            let store = data.open_store().await?;
            let result = show(&store, day, &channels(channel), json).await;
            store.close().await;
            result
        }
        None => {
            let Some(date) = args.date.as_deref() else {
                bail!("give --date YYYY-MM-DD (or `paygate reconcile show --date …`)");
            };
            let day = day(date)?;
            let store = args.data.open_store().await?;
            let result = request(&store, day, &channels(args.channel), &args).await;
            store.close().await;
            result
        }
    }
}

async fn request(
    store: &Store,
    day: BillDay,
    channels: &[Channel],
    args: &ReconcileArgs,
) -> anyhow::Result<()> {
    let asked = Timestamp::now();
    for channel in channels {
        store.request_reconciliation(*channel, day, asked).await?;
    }
    eprintln!("{day}: reconciliation asked for; a running `paygate serve` runs it");
    if args.no_wait {
        return Ok(());
    }
    let started = Instant::now();
    let deadline = Duration::from_secs(args.wait);
    let mut progress = Progress::new(args.json);
    let mut said = Vec::new();
    loop {
        let runs: Vec<Reconciliation> = store
            .runs_of_day(day)
            .await?
            .into_iter()
            .filter(|r| channels.contains(&r.channel))
            .collect();
        let mut ended = Vec::new();
        for run in &runs {
            if run.status == ReconciliationStatus::Running {
                progress.running(run);
            } else if run.finished_at.is_some_and(|at| at >= asked) {
                if !said.contains(&run.id) {
                    said.push(run.id);
                    progress.ended(run);
                }
                ended.push(run);
            }
        }
        // Done once every channel that has run has ended; a channel paygate does not use never
        // runs, so after a while the ones that did are the answer.
        let all = ended.len() == channels.len();
        if all || (started.elapsed() > Duration::from_secs(30) && !ended.is_empty()) {
            let shown: Vec<Channel> = ended.iter().map(|r| r.channel).collect();
            show(store, day, &shown, args.json).await?;
            if ended
                .iter()
                .any(|r| r.status == ReconciliationStatus::Failed)
            {
                bail!("the run of {day} failed (see above); it is tried again later");
            }
            return Ok(());
        }
        if started.elapsed() > deadline {
            bail!(
                "no run of {day} ended within {} s: is `paygate serve` running on this database? \
                 The run stays planned and happens when one is.",
                deadline.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn show(store: &Store, day: BillDay, channels: &[Channel], json: bool) -> anyhow::Result<()> {
    let runs: Vec<_> = store
        .reconciliations_of(day)
        .await?
        .into_iter()
        .filter(|(r, _)| channels.contains(&r.channel))
        .collect();
    if json {
        let list: Vec<_> = runs.iter().map(|(r, d)| run_json(r, d)).collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(());
    }
    if runs.is_empty() {
        println!("{day}: not reconciled yet");
        return Ok(());
    }
    for (run, discrepancies) in &runs {
        let t = &run.totals;
        let reading = match (run.status, run.lines_total) {
            (ReconciliationStatus::Running, Some(total)) => {
                format!(" ({} of {total} lines read)", run.lines_read)
            }
            (ReconciliationStatus::Running, None) => format!(" ({} lines read)", run.lines_read),
            _ => String::new(),
        };
        println!(
            "{day} {} {}: {}{reading}{}",
            run.channel.as_str(),
            run.account,
            run.status.as_str(),
            run.error
                .as_deref()
                .map_or_else(String::new, |e| format!(" ({e})"))
        );
        println!(
            "  payments {} ({} fen), refunds {} ({} fen), fees {} fen, net {} fen; matched {}, discrepancies {}",
            t.payments,
            t.payments_fen,
            t.refunds,
            t.refunds_fen,
            t.fees_fen,
            t.net_fen(),
            run.matched,
            discrepancies.len()
        );
        println!("  {}", funds_line(run.funds.as_ref()));
        for d in discrepancies {
            println!(
                "  {}\t{}\t{}\torder {}\t{}",
                d.kind.as_str(),
                d.upstream_no,
                d.resolution.as_str(),
                d.order_id
                    .map_or_else(|| "-".to_owned(), |o| o.as_i64().to_string()),
                d.detail
            );
        }
    }
    Ok(())
}

/// The account bill's figures, as the report's second line.
fn funds_line(funds: Option<&FundsTotals>) -> String {
    match funds {
        Some(f) => format!(
            "account bill: {} movements, in {} fen, out {} fen, net {} fen; payments {} fen, \
             refunds {} fen, fees {} fen, other {} fen",
            f.movements,
            f.income_fen,
            f.expense_fen,
            f.net_fen(),
            f.payments_fen,
            f.refunds_fen,
            f.fees_fen,
            f.other_fen()
        ),
        None => {
            "account bill: not read (a report from before paygate read account bills)".to_owned()
        }
    }
}

fn funds_json(f: &FundsTotals) -> serde_json::Value {
    json!({
        "movements": f.movements,
        "income_fen": f.income_fen,
        "expense_fen": f.expense_fen,
        "net_fen": f.net_fen(),
        "payments_fen": f.payments_fen,
        "refunds_fen": f.refunds_fen,
        "fees_fen": f.fees_fen,
        "other_fen": f.other_fen(),
    })
}

fn run_json(r: &Reconciliation, discrepancies: &[Discrepancy]) -> serde_json::Value {
    json!({
        "date": r.day.to_string(),
        "channel": r.channel.as_str(),
        "account": r.account,
        "status": r.status.as_str(),
        "error": r.error,
        "started_at": r.started_at.to_rfc3339(),
        "finished_at": r.finished_at.map(Timestamp::to_rfc3339),
        "payments": r.totals.payments,
        "payments_fen": r.totals.payments_fen,
        "refunds": r.totals.refunds,
        "refunds_fen": r.totals.refunds_fen,
        "fees_fen": r.totals.fees_fen,
        "net_fen": r.totals.net_fen(),
        "matched": r.matched,
        "funds": r.funds.as_ref().map(funds_json),
        "lines_read": r.lines_read,
        "lines_total": r.lines_total,
        "discrepancies": discrepancies.iter().map(|d| json!({
            "kind": d.kind.as_str(),
            "upstream_no": d.upstream_no,
            "order_id": d.order_id.map(gateway::domain::OrderId::as_i64),
            "refund_id": d.refund_id,
            "billed_fen": d.billed_fen,
            "ours_fen": d.ours_fen,
            "resolution": d.resolution.as_str(),
            "detail": d.detail,
        })).collect::<Vec<_>>(),
    })
}

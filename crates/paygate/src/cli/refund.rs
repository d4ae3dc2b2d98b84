//! `paygate refund …`: refunds the operator makes (customer service) and the operator's view of
//! every refund, the abnormal ones above all.
//!
//! `create` never calls a channel: this process may have no simulator running and no channel
//! credentials. It checks the rules and stores the refund `processing`, its amount reserved, with
//! a check job due now, in one transaction (`take_refund`); a running `paygate serve` on the same
//! database picks the job up, finds the channel has no such refund, sends it, records the answer
//! and notifies the site. The command then watches the store for the outcome for a while.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use gateway::config::Settings;
use gateway::domain::{
    Amount, OutRefundNo, OutTradeNo, Refund, RefundReason, RefundRequest, RefundStatus,
    RefundWindows, SiteId, Timestamp,
};
use gateway::service::{ServiceError, Taken, take_refund};
use gateway::store::{ListedRefund, RefundFilter, Store};
use serde_json::json;

use super::common::{DataArgs, yuan};
use super::order::{site_order, status_text};

/// What an abnormal refund means for the operator, wherever one is shown.
pub const ABNORMAL_HINT: &str = "the money did not reach the payer; settle it in the channel's \
                                 merchant portal";

/// How often `create` looks at the refund while it waits.
const POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Args)]
pub struct RefundArgs {
    #[command(subcommand)]
    command: RefundCommand,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum RefundCommand {
    /// Refunds part or all of a paid order. A running `paygate serve` on the same database sends
    /// the refund to the channel; this command waits for the outcome (see --wait).
    Create {
        out_trade_no: String,
        #[arg(long, value_name = "SITE_ID")]
        site: String,
        /// How much to give back, in yuan with at most two decimals: 12, 12.3, 12.30, 0.01.
        #[arg(long, value_name = "YUAN", allow_hyphen_values = true)]
        amount: String,
        /// Why, as the payer may see it (up to 80 characters).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// The refund's number (1-64 of A-Za-z0-9_-); the same number again is the same refund.
        /// [default: op_<unix ms>_<random>]
        #[arg(long, value_name = "NO")]
        out_refund_no: Option<String>,
        /// How long to wait for the refund to leave `processing` before returning.
        #[arg(long, value_name = "DURATION", default_value = "15s")]
        wait: String,
        /// Return as soon as the refund is stored.
        #[arg(long, conflicts_with = "wait")]
        no_wait: bool,
        #[arg(long)]
        json: bool,
    },
    /// Lists refunds, newest first.
    List {
        /// Only this site's refunds.
        #[arg(long, value_name = "SITE_ID")]
        site: Option<String>,
        /// Only refunds in this status (`abnormal`: the ones waiting for the operator).
        #[arg(long, value_enum)]
        status: Option<RefundStatusArg>,
        /// At most this many refunds (the newest).
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Shows one refund.
    Show {
        out_refund_no: String,
        #[arg(long, value_name = "SITE_ID")]
        site: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RefundStatusArg {
    Processing,
    Succeeded,
    Failed,
    Abnormal,
}

impl From<RefundStatusArg> for RefundStatus {
    fn from(s: RefundStatusArg) -> Self {
        match s {
            RefundStatusArg::Processing => Self::Processing,
            RefundStatusArg::Succeeded => Self::Succeeded,
            RefundStatusArg::Failed => Self::Failed,
            RefundStatusArg::Abnormal => Self::Abnormal,
        }
    }
}

/// `create`'s arguments, checked: nothing reaches the database until all of them are.
struct Create {
    site: SiteId,
    out_trade_no: OutTradeNo,
    request: RefundRequest,
    wait: Option<Duration>,
    json: bool,
}

pub async fn run(args: RefundArgs) -> anyhow::Result<()> {
    let now = Timestamp::now();
    match args.command {
        RefundCommand::Create {
            out_trade_no,
            site,
            amount,
            reason,
            out_refund_no,
            wait,
            no_wait,
            json,
        } => {
            let create = Create {
                site: SiteId::parse(&site).context("--site")?,
                out_trade_no: OutTradeNo::parse(&out_trade_no).context("OUT_TRADE_NO")?,
                request: RefundRequest {
                    out_refund_no: out_refund_no
                        .as_deref()
                        .map(OutRefundNo::parse)
                        .transpose()
                        .context("--out-refund-no")?
                        .unwrap_or_else(|| OutRefundNo::generate_for_operator(now)),
                    amount: Amount::parse_yuan(&amount).context("--amount")?,
                    reason: reason
                        .as_deref()
                        .map(RefundReason::parse)
                        .transpose()
                        .context("--reason")?,
                    // The site hears of it at its usual notify URL, like any refund of its own.
                    notify_url: None,
                },
                wait: if no_wait {
                    None
                } else {
                    Some(
                        gateway::config::parse_duration(&wait)
                            .map_err(|reason| anyhow::anyhow!("--wait {wait:?} {reason}"))?,
                    )
                },
                json,
            };
            let settings = args.data.settings(None)?;
            let store = gateway::app::open_store(&settings).await?;
            let result = create_refund(&store, &settings, create, now).await;
            store.close().await;
            result
        }
        RefundCommand::List {
            site,
            status,
            limit,
            json,
        } => {
            let filter = RefundFilter {
                site: site
                    .as_deref()
                    .map(SiteId::parse)
                    .transpose()
                    .context("--site")?,
                status: status.map(Into::into),
                limit,
            };
            let store = args.data.open_store().await?;
            let result = list(&store, &filter, json).await;
            store.close().await;
            result
        }
        RefundCommand::Show {
            out_refund_no,
            site,
            json,
        } => {
            let site = SiteId::parse(&site).context("--site")?;
            let no = OutRefundNo::parse(&out_refund_no).context("OUT_REFUND_NO")?;
            let store = args.data.open_store().await?;
            let result = show(&store, &site, &no, json).await;
            store.close().await;
            result
        }
    }
}

/// The windows `serve` applies with these settings: WeChat Pay's is fixed, Alipay's is the
/// configured contract's.
fn refund_windows(settings: &Settings) -> RefundWindows {
    RefundWindows::with_alipay(settings.alipay.as_ref().map(|a| a.refund_window))
}

async fn create_refund(
    store: &Store,
    settings: &Settings,
    c: Create,
    now: Timestamp,
) -> anyhow::Result<()> {
    let (order, totals) = site_order(store, &c.site, &c.out_trade_no).await?;
    let amount = c.request.amount;
    let windows = refund_windows(settings);
    // Due now: the next poll of a running `serve` sends it.
    let taken = match take_refund(store, &windows, &order, c.request, now, now).await {
        Ok(taken) => taken,
        Err(e) => bail!(
            "{}",
            refusal(&e, order.out_trade_no.as_str(), amount, totals.paid)
        ),
    };
    if let Taken::Again(refund) = &taken {
        eprintln!(
            "refund {} was already taken (same number, same content); showing it",
            refund.out_refund_no.as_str()
        );
    }
    let mut refund = taken.refund().clone();
    if let Some(wait) = c.wait {
        let deadline = std::time::Instant::now() + wait;
        while refund.status == RefundStatus::Processing && std::time::Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
            if let Some(now) = store.refund_by_id(refund.id).await? {
                refund = now;
            }
        }
    }
    if c.json {
        println!("{}", refund_json(&refund, &order.out_trade_no));
    } else {
        print_refund(&refund, &order.out_trade_no);
        if refund.status == RefundStatus::Processing {
            println!(
                "still processing: a running `paygate serve` on this database sends it and records \
                 the outcome; see `paygate refund show {} --site {}`",
                refund.out_refund_no.as_str(),
                refund.site_id
            );
        }
    }
    Ok(())
}

/// One line saying why a refund was refused, starting with the API's code for it.
fn refusal(e: &ServiceError, out_trade_no: &str, amount: Amount, paid: i64) -> String {
    match e {
        ServiceError::RefundExceedsPaid { refundable } => format!(
            "refund_exceeds_paid: {} is more than what is left to refund on order {out_trade_no}: \
             {} of {} paid",
            yuan(amount.as_i64()),
            yuan(*refundable),
            yuan(paid),
        ),
        ServiceError::NotRefundable(status) => format!(
            "order_not_refundable: order {out_trade_no} is {}; only a paid order that is not yet \
             refunded in full can be refunded",
            status.as_str()
        ),
        ServiceError::RefundWindowPassed { .. } => {
            format!("refund_window_passed: {e}; nothing was stored")
        }
        ServiceError::OutRefundNoConflict => format!(
            "out_refund_no_conflict: {e} (another amount, reason or order); choose another \
             --out-refund-no"
        ),
        other => format!("{other}"),
    }
}

async fn list(store: &Store, filter: &RefundFilter, json: bool) -> anyhow::Result<()> {
    let refunds = store.list_refunds(filter).await?;
    if json {
        let list: Vec<_> = refunds
            .iter()
            .map(|r| refund_json(&r.refund, &r.out_trade_no))
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for ListedRefund {
            refund: r,
            out_trade_no,
        } in &refunds
        {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.created_at.to_rfc3339(),
                r.site_id,
                r.out_refund_no.as_str(),
                out_trade_no.as_str(),
                r.channel.as_str(),
                yuan(r.amount.as_i64()),
                status_text(r.status),
            );
        }
    }
    Ok(())
}

async fn show(store: &Store, site: &SiteId, no: &OutRefundNo, json: bool) -> anyhow::Result<()> {
    if store.find_site(site).await?.is_none() {
        bail!("site {site}: no such site");
    }
    let Some(listed) = store.find_listed_refund(site, no).await? else {
        bail!("site {site} has no refund {}", no.as_str());
    };
    if json {
        println!("{}", refund_json(&listed.refund, &listed.out_trade_no));
    } else {
        print_refund(&listed.refund, &listed.out_trade_no);
    }
    Ok(())
}

fn print_refund(r: &Refund, out_trade_no: &OutTradeNo) {
    println!(
        "refund {} of order {} (site {})",
        r.out_refund_no.as_str(),
        out_trade_no.as_str(),
        r.site_id
    );
    println!("  status:            {}", status_text(r.status));
    println!("  amount:            {}", yuan(r.amount.as_i64()));
    println!("  channel:           {}", r.channel.as_str());
    if let Some(reason) = &r.reason {
        println!("  reason:            {}", reason.as_str());
    }
    println!("  upstream no:       {}", r.upstream_refund_no.as_str());
    println!(
        "  channel refund id: {}",
        r.channel_refund_id.as_deref().unwrap_or("-")
    );
    if let Some(error) = &r.upstream_error {
        println!("  channel said:      {error}");
    }
    println!("  created:           {}", r.created_at.to_rfc3339());
    if let Some(at) = r.succeeded_at {
        println!("  succeeded:         {}", at.to_rfc3339());
    }
}

pub fn refund_json(r: &Refund, out_trade_no: &OutTradeNo) -> serde_json::Value {
    json!({
        "site_id": r.site_id.as_str(),
        "out_refund_no": r.out_refund_no.as_str(),
        "out_trade_no": out_trade_no.as_str(),
        "upstream_refund_no": r.upstream_refund_no.as_str(),
        "channel": r.channel.as_str(),
        "status": r.status.as_str(),
        "amount": yuan(r.amount.as_i64()),
        "amount_fen": r.amount.as_i64(),
        "reason": r.reason.as_ref().map(RefundReason::as_str),
        "channel_refund_id": r.channel_refund_id,
        "upstream_error": r.upstream_error,
        "created_at": r.created_at.to_rfc3339(),
        "updated_at": r.updated_at.to_rfc3339(),
        "succeeded_at": r.succeeded_at.map(Timestamp::to_rfc3339),
    })
}

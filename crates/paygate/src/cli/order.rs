//! `paygate order …`: the operator's view of orders — list them across sites, and show one with
//! everything that happened to it (status history, refunds, notifications, anomalies). Same
//! database resolution as `site`; read-only, so it runs beside `serve`. Nothing secret is printed:
//! no keys, and no checkout token (it lets anyone holding it pay the order).

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use gateway::domain::{
    Anomaly, NotificationEvent, Order, OrderEvent, OrderStatus, OutTradeNo, RefundStatus, SiteId,
    Timestamp,
};
use gateway::store::{ListedOrder, OrderFilter, RefundTotals, Store};
use serde_json::json;

use super::common::{DataArgs, parse_since, yuan};
use super::refund::{ABNORMAL_HINT, refund_json};

#[derive(Debug, Args)]
pub struct OrderArgs {
    #[command(subcommand)]
    command: OrderCommand,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum OrderCommand {
    /// Lists orders, newest first: created time, site, out_trade_no, channel.method, status,
    /// amount in yuan, and what was refunded.
    List {
        /// Only this site's orders.
        #[arg(long, value_name = "SITE_ID")]
        site: Option<String>,
        /// Only orders in this status.
        #[arg(long, value_enum)]
        status: Option<OrderStatusArg>,
        /// Only orders created since WHEN: an RFC 3339 time (2024-05-01T00:00:00Z,
        /// 2024-05-01T08:00:00+08:00) or a duration back from now (30m, 24h, 7d).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// At most this many orders (the newest).
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Shows one order with its status history, refunds, notification events and anomalies.
    Show {
        out_trade_no: String,
        #[arg(long, value_name = "SITE_ID")]
        site: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OrderStatusArg {
    Created,
    Pending,
    Paid,
    Failed,
    Closed,
    Refunded,
}

impl From<OrderStatusArg> for OrderStatus {
    fn from(s: OrderStatusArg) -> Self {
        match s {
            OrderStatusArg::Created => Self::Created,
            OrderStatusArg::Pending => Self::Pending,
            OrderStatusArg::Paid => Self::Paid,
            OrderStatusArg::Failed => Self::Failed,
            OrderStatusArg::Closed => Self::Closed,
            OrderStatusArg::Refunded => Self::Refunded,
        }
    }
}

pub async fn run(args: OrderArgs) -> anyhow::Result<()> {
    // Everything the operator typed is checked before the database is opened.
    let now = Timestamp::now();
    match args.command {
        OrderCommand::List {
            site,
            status,
            since,
            limit,
            json,
        } => {
            let filter = OrderFilter {
                site: site
                    .as_deref()
                    .map(SiteId::parse)
                    .transpose()
                    .context("--site")?,
                status: status.map(Into::into),
                since: since
                    .as_deref()
                    .map(|s| parse_since(s, now))
                    .transpose()
                    .context("--since")?,
                limit,
            };
            let store = args.data.open_store().await?;
            let result = list(&store, &filter, json).await;
            store.close().await;
            result
        }
        OrderCommand::Show {
            out_trade_no,
            site,
            json,
        } => {
            let site = SiteId::parse(&site).context("--site")?;
            let no = OutTradeNo::parse(&out_trade_no).context("OUT_TRADE_NO")?;
            let store = args.data.open_store().await?;
            let result = show(&store, &site, &no, json).await;
            store.close().await;
            result
        }
    }
}

async fn list(store: &Store, filter: &OrderFilter, json: bool) -> anyhow::Result<()> {
    let orders = store.list_orders(filter).await?;
    if json {
        let list: Vec<_> = orders
            .iter()
            .map(|o| order_json(&o.order, &o.refunds))
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for listed in &orders {
            println!("{}", order_line(listed));
        }
    }
    Ok(())
}

/// The site's order with its ledger; an unknown site or order is an error.
pub async fn site_order(
    store: &Store,
    site: &SiteId,
    no: &OutTradeNo,
) -> anyhow::Result<(Order, RefundTotals)> {
    if store.find_site(site).await?.is_none() {
        bail!("site {site}: no such site");
    }
    let Some(order) = store.find_order(site, no).await? else {
        bail!("site {site} has no order {}", no.as_str());
    };
    let (_, totals) = store
        .order_refund_state(site, order.id)
        .await?
        .with_context(|| format!("order {}", no.as_str()))?;
    Ok((order, totals))
}

async fn show(store: &Store, site: &SiteId, no: &OutTradeNo, json: bool) -> anyhow::Result<()> {
    let (order, totals) = site_order(store, site, no).await?;
    let history = store.order_events(site, order.id).await?;
    let refunds = store.refunds_for_order(site, order.id).await?;
    let events = store.notifications_for_order(site, order.id).await?;
    let anomalies = store.anomalies_for_order(order.id).await?;
    if json {
        let mut v = order_json(&order, &totals);
        v["history"] = history.iter().map(history_json).collect();
        v["refunds"] = refunds
            .iter()
            .map(|r| refund_json(r, &order.out_trade_no))
            .collect();
        v["notifications"] = events.iter().map(event_json).collect();
        v["anomalies"] = anomalies.iter().map(anomaly_json).collect();
        println!("{v}");
        return Ok(());
    }
    print_order(&order, &totals);
    println!("history:");
    for e in &history {
        println!(
            "  {}\t{} -> {}\t{}",
            e.at.to_rfc3339(),
            e.from.as_str(),
            e.to.as_str(),
            e.reason
        );
    }
    println!("refunds:{}", if refunds.is_empty() { " none" } else { "" });
    for r in &refunds {
        println!(
            "  {}\t{}\t{}\t{}\t{}",
            r.created_at.to_rfc3339(),
            r.out_refund_no.as_str(),
            yuan(r.amount.as_i64()),
            status_text(r.status),
            r.channel_refund_id.as_deref().unwrap_or("-"),
        );
        if let Some(error) = &r.upstream_error {
            println!("    channel said: {error}");
        }
    }
    println!(
        "notifications:{}",
        if events.is_empty() { " none" } else { "" }
    );
    for e in &events {
        println!(
            "  {}\t{}\t{}\t{}\tattempts={}",
            e.created_at.to_rfc3339(),
            e.id,
            e.event_type.as_str(),
            e.status.as_str(),
            e.attempts
        );
    }
    println!(
        "anomalies:{}",
        if anomalies.is_empty() { " none" } else { "" }
    );
    for a in &anomalies {
        println!(
            "  {}\t{}\t{}\tx{}\t{}",
            a.at.to_rfc3339(),
            a.kind,
            a.channel.as_str(),
            a.occurrences,
            a.detail
        );
    }
    Ok(())
}

/// A refund status for a person: an abnormal refund stands out with what to do about it.
pub fn status_text(status: RefundStatus) -> String {
    match status {
        RefundStatus::Abnormal => format!("ABNORMAL — {ABNORMAL_HINT}"),
        other => other.as_str().to_owned(),
    }
}

fn print_order(order: &Order, totals: &RefundTotals) {
    println!(
        "order {} of site {}",
        order.out_trade_no.as_str(),
        order.site_id
    );
    println!("  method:      {}", order.order_method());
    println!("  status:      {}", order.status.as_str());
    println!(
        "  amount:      {} {}",
        yuan(order.amount.as_i64()),
        order.currency.as_str()
    );
    if totals.reserved > 0 {
        println!(
            "  refunded:    {} ({} in refunds not failed; {} left to refund)",
            yuan(totals.refunded),
            yuan(totals.reserved),
            yuan(totals.paid - totals.reserved)
        );
    }
    println!("  description: {}", order.description.as_str());
    if let Some(attach) = &order.attach {
        println!("  attach:      {}", attach.as_str());
    }
    println!("  upstream no: {}", order.upstream_order_no.as_str());
    if let Some(id) = order
        .upstream
        .transaction_id
        .as_deref()
        .or(order.upstream.trade_no.as_deref())
    {
        println!("  channel id:  {id}");
    }
    println!("  created:     {}", order.created_at.to_rfc3339());
    if let Some(at) = order.paid_at {
        println!("  paid:        {}", at.to_rfc3339());
    }
    if let Some(at) = order.closed_at {
        println!("  closed:      {}", at.to_rfc3339());
    }
    if let Some(error) = &order.upstream.error {
        println!("  channel said: {error}");
    }
}

/// created, site, out_trade_no, channel.method, status, amount, then what was refunded (if any).
fn order_line(listed: &ListedOrder) -> String {
    let o = &listed.order;
    let t = &listed.refunds;
    let mut line = format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        o.created_at.to_rfc3339(),
        o.site_id,
        o.out_trade_no.as_str(),
        o.order_method(),
        o.status.as_str(),
        yuan(o.amount.as_i64()),
    );
    if t.refunded > 0 {
        line.push_str(&format!("\trefunded {}", yuan(t.refunded)));
    }
    if t.reserved > t.refunded {
        line.push_str(&format!(
            "\t{} in refunds not yet succeeded",
            yuan(t.reserved - t.refunded)
        ));
    }
    line
}

fn order_json(o: &Order, t: &RefundTotals) -> serde_json::Value {
    json!({
        "site_id": o.site_id.as_str(),
        "out_trade_no": o.out_trade_no.as_str(),
        "upstream_order_no": o.upstream_order_no.as_str(),
        "channel": o.order_method().channel_name(),
        "method": o.order_method().method_name(),
        "status": o.status.as_str(),
        "amount": yuan(o.amount.as_i64()),
        "amount_fen": o.amount.as_i64(),
        "currency": o.currency.as_str(),
        "refunded": yuan(t.refunded),
        "refunded_fen": t.refunded,
        "refund_reserved_fen": t.reserved,
        "refundable_fen": if o.status == OrderStatus::Paid { t.paid - t.reserved } else { 0 },
        "description": o.description.as_str(),
        "attach": o.attach.as_ref().map(|a| a.as_str()),
        "transaction_id": o.upstream.transaction_id,
        "trade_no": o.upstream.trade_no,
        "upstream_error": o.upstream.error,
        "created_at": o.created_at.to_rfc3339(),
        "expires_at": o.expires_at.to_rfc3339(),
        "paid_at": o.paid_at.map(Timestamp::to_rfc3339),
        "closed_at": o.closed_at.map(Timestamp::to_rfc3339),
    })
}

fn history_json(e: &OrderEvent) -> serde_json::Value {
    json!({
        "from": e.from.as_str(),
        "to": e.to.as_str(),
        "reason": e.reason,
        "at": e.at.to_rfc3339(),
    })
}

fn event_json(e: &NotificationEvent) -> serde_json::Value {
    json!({
        "event_id": e.id,
        "event_type": e.event_type.as_str(),
        "status": e.status.as_str(),
        "out_refund_no": e.refund.as_ref().map(|r| r.out_refund_no.as_str()),
        "attempts": e.attempts,
        "created_at": e.created_at.to_rfc3339(),
        "last_attempt_at": e.last_attempt_at.map(Timestamp::to_rfc3339),
        "delivered_at": e.delivered_at.map(Timestamp::to_rfc3339),
    })
}

fn anomaly_json(a: &Anomaly) -> serde_json::Value {
    json!({
        "kind": a.kind,
        "channel": a.channel.as_str(),
        "detail": a.detail,
        "occurrences": a.occurrences,
        "at": a.at.to_rfc3339(),
        "last_at": a.last_at.to_rfc3339(),
    })
}

//! `paygate notify …`: the operator's view of merchant notifications — list them (the failed ones
//! first of all), show one with its attempts, and re-send one. Same database resolution as `site`.
//! The operator sees every detail of an attempt, also those kept from the site: the address a
//! refused URL resolved to, and what a non-public target answered.

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use gateway::domain::{
    ActedBy, Actor, Attempt, NotificationEvent, NotificationStatus, SiteId, Timestamp,
};
use gateway::service::NotificationService;
use serde_json::json;

use super::common::DataArgs;

#[derive(Debug, Args)]
pub struct NotifyArgs {
    #[command(subcommand)]
    command: NotifyCommand,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum NotifyCommand {
    /// Lists notification events, newest first.
    List {
        /// Only events in this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only this site's events.
        #[arg(long, value_name = "SITE_ID")]
        site: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Shows one event with every delivery attempt.
    Show {
        event_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Queues an event for delivery now (whatever its status), with the retry schedule restarted;
    /// or with `--failed --site SITE_ID`, every failed event of that site (recorded in the audit
    /// log). A running `paygate serve` on the same database delivers them.
    Resend {
        #[arg(required_unless_present = "failed", conflicts_with = "failed")]
        event_id: Option<String>,
        /// Every failed event of the site given by --site.
        #[arg(long, requires = "site")]
        failed: bool,
        #[arg(long, value_name = "SITE_ID")]
        site: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Pending,
    Delivered,
    Failed,
}

impl From<StatusArg> for NotificationStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Pending => Self::Pending,
            StatusArg::Delivered => Self::Delivered,
            StatusArg::Failed => Self::Failed,
        }
    }
}

pub async fn run(args: NotifyArgs) -> anyhow::Result<()> {
    let settings = args.data.settings(None)?;
    let store = gateway::app::open_store(&settings).await?;
    let result = async {
        match args.command {
            NotifyCommand::List { status, site, json } => {
                let site = site
                    .as_deref()
                    .map(SiteId::parse)
                    .transpose()
                    .context("--site")?;
                let events = store
                    .list_notifications(site.as_ref(), status.map(Into::into))
                    .await?;
                if json {
                    let list: Vec<_> = events.iter().map(|e| event_json(e, None)).collect();
                    println!("{}", serde_json::Value::Array(list));
                } else {
                    for e in &events {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\tattempts={}\t{}",
                            e.id,
                            e.status.as_str(),
                            e.event_type.as_str(),
                            e.site.id,
                            e.order.out_trade_no.as_str(),
                            e.attempts,
                            e.created_at.to_rfc3339(),
                        );
                    }
                }
                Ok(())
            }
            NotifyCommand::Show { event_id, json } => {
                let Some(event) = store.notification(&event_id).await? else {
                    bail!("no notification event {event_id}");
                };
                let attempts = store.attempts(&event_id).await?;
                if json {
                    println!("{}", event_json(&event, Some(&attempts)));
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        event.id,
                        event.status.as_str(),
                        event.event_type.as_str(),
                        event.site.id,
                        event.order.out_trade_no.as_str()
                    );
                    for a in &attempts {
                        println!(
                            "  #{}\t{}\t{}\t{} ms\t{}{}",
                            a.attempt_no,
                            a.at.to_rfc3339(),
                            a.http_status
                                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
                            a.latency_ms,
                            a.error.as_deref().unwrap_or("ok"),
                            if a.private_target {
                                "\t(non-public target)"
                            } else {
                                ""
                            },
                        );
                    }
                }
                Ok(())
            }
            NotifyCommand::Resend { event_id, site, .. } => {
                let notifications = NotificationService::new(store.clone());
                let site = site
                    .as_deref()
                    .map(SiteId::parse)
                    .transpose()
                    .context("--site")?;
                match (event_id, site) {
                    (Some(event_id), _) => {
                        if !notifications
                            .resend_any(&event_id, &ActedBy::from(Actor::Cli))
                            .await?
                        {
                            bail!("no notification event {event_id}");
                        }
                        println!("{event_id} queued for delivery");
                    }
                    (None, Some(site)) => {
                        if store.find_site(&site).await?.is_none() {
                            bail!("site {site}: no such site");
                        }
                        let n = notifications
                            .resend_failed(&site, &ActedBy::from(Actor::Cli))
                            .await?;
                        println!("{n} failed notifications of {site} queued for delivery");
                    }
                    (None, None) => bail!("give an EVENT_ID, or --failed --site SITE_ID"),
                }
                Ok(())
            }
        }
    }
    .await;
    store.close().await;
    result
}

fn event_json(e: &NotificationEvent, attempts: Option<&[Attempt]>) -> serde_json::Value {
    let mut v = json!({
        "event_id": e.id,
        "event_type": e.event_type.as_str(),
        "status": e.status.as_str(),
        "site_id": e.site.id.as_str(),
        "out_trade_no": e.order.out_trade_no.as_str(),
        "attempts": e.attempts,
        "created_at": e.created_at.to_rfc3339(),
        "last_attempt_at": e.last_attempt_at.map(Timestamp::to_rfc3339),
        "delivered_at": e.delivered_at.map(Timestamp::to_rfc3339),
    });
    if let Some(attempts) = attempts {
        v["attempt_log"] = attempts
            .iter()
            .map(|a| {
                json!({
                    "attempt_no": a.attempt_no,
                    "at": a.at.to_rfc3339(),
                    "http_status": a.http_status,
                    "latency_ms": a.latency_ms,
                    "error": a.error,
                    "response_excerpt": a.response_excerpt,
                    "private_target": a.private_target,
                    "node": a.node,
                })
            })
            .collect();
    }
    v
}

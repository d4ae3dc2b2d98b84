//! `paygate site …`: the operator's site commands. They open the same database as `serve` (SQLite
//! in WAL mode lets them run beside it) and print to stdout; the SK only where showing it is the
//! command's job (create, rotate-key).

use std::collections::BTreeSet;

use anyhow::Context;
use clap::{Args, Subcommand};
use gateway::domain::{NotifyUrl, PayMethod, SiteId, SiteName, Timestamp};
use gateway::store::{NewSite, Site};
use serde_json::json;

use super::common::DataArgs;

#[derive(Debug, Args)]
pub struct SiteArgs {
    #[command(subcommand)]
    command: SiteCommand,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum SiteCommand {
    /// Creates a site and prints its site_id, AK and SK (the SK is shown only this once).
    Create {
        #[arg(long)]
        name: String,
        /// Where paygate notifies the site of payments.
        #[arg(long, value_name = "URL")]
        notify_url: Option<String>,
        /// Comma-separated channel.method list, such as wechat.native,alipay.qr [default: all]
        #[arg(long, value_delimiter = ',', value_name = "METHODS")]
        methods: Vec<String>,
        /// Print {"site_id","ak","sk"}.
        #[arg(long)]
        json: bool,
    },
    /// Lists the sites (without their SKs).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replaces a site's SK (the old one stops working at once) and prints the new one.
    RotateKey {
        site_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: SiteArgs) -> anyhow::Result<()> {
    let settings = args.data.settings(None)?;
    let store = gateway::app::open_store(&settings).await?;
    let result = match args.command {
        SiteCommand::Create {
            name,
            notify_url,
            methods,
            json,
        } => {
            let new = NewSite {
                name: SiteName::parse(&name).context("--name")?,
                notify_url: notify_url
                    .as_deref()
                    .map(NotifyUrl::parse)
                    .transpose()
                    .context("--notify-url")?,
                enabled_methods: parse_methods(&methods)?,
            };
            let site = store.create_site(new, Timestamp::now()).await?;
            if json {
                println!(
                    "{}",
                    json!({
                        "site_id": site.id.as_str(),
                        "ak": site.access_key.as_str(),
                        "sk": site.secret_key.expose(),
                    })
                );
            } else {
                println!("site_id: {}", site.id);
                println!("ak:      {}", site.access_key.as_str());
                println!("sk:      {}", site.secret_key.expose());
                eprintln!(
                    "The SK is shown only now: keep it. `paygate site rotate-key` makes a new one."
                );
            }
            Ok(())
        }
        SiteCommand::List { json } => {
            let sites = store.list_sites().await?;
            if json {
                let list: Vec<_> = sites.iter().map(site_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for site in &sites {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        site.id,
                        site.access_key.as_str(),
                        site.status.as_str(),
                        site.name.as_str(),
                        methods_text(site),
                        site.notify_url.as_ref().map_or("-", NotifyUrl::as_str),
                    );
                }
            }
            Ok(())
        }
        SiteCommand::RotateKey { site_id, json } => {
            let id = SiteId::parse(&site_id).context("SITE_ID")?;
            let sk = store
                .rotate_secret_key(&id, Timestamp::now())
                .await
                .with_context(|| format!("site {site_id}"))?;
            if json {
                println!("{}", json!({ "site_id": id.as_str(), "sk": sk.expose() }));
            } else {
                println!("{}", sk.expose());
            }
            Ok(())
        }
    };
    store.close().await;
    result
}

fn parse_methods(names: &[String]) -> anyhow::Result<BTreeSet<PayMethod>> {
    if names.is_empty() {
        return Ok(PayMethod::all().into_iter().collect());
    }
    names
        .iter()
        .map(|n| {
            PayMethod::parse_dotted(n.trim())
                .with_context(|| format!("--methods: unknown method {n:?}"))
        })
        .collect()
}

fn methods_text(site: &Site) -> String {
    site.enabled_methods
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn site_json(site: &Site) -> serde_json::Value {
    json!({
        "site_id": site.id.as_str(),
        "name": site.name.as_str(),
        "ak": site.access_key.as_str(),
        "status": site.status.as_str(),
        "methods": site.enabled_methods.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "notify_url": site.notify_url.as_ref().map(NotifyUrl::as_str),
    })
}

//! `paygate site receiver add | remove | list`: the receivers an order of a site may name to be
//! split to once paid (weidoufu's `ledger`), with the real name the channel needs to add them.
//! Changed through `SiteService`, audited like every site change. Orders made before a change
//! keep the receivers they were made with.

use anyhow::{Context, bail};
use clap::Subcommand;
use gateway::domain::{ActedBy, ReceiverAccount, ReceiverName, ReceiverType, SiteId, SiteReceiver};
use gateway::service::SiteService;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub(super) enum ReceiverCommand {
    /// Sets up a receiver for SITE_ID's orders (or renames it).
    Add {
        site_id: String,
        /// The channel's type: MERCHANT_ID or PERSONAL_OPENID (WeChat Pay), userId or loginName
        /// (Alipay). A weidoufu `ledger`'s sub_mch_no is a MERCHANT_ID (WeChat Pay) or userId
        /// (Alipay).
        #[arg(long = "type")]
        kind: String,
        /// The account: a merchant number, an openid, a 2088… user id or an Alipay login.
        #[arg(long)]
        account: String,
        /// Its real name, as registered with the channel.
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Removes one of SITE_ID's receivers.
    Remove {
        site_id: String,
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Lists SITE_ID's receivers.
    List {
        site_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(
    sites: &SiteService,
    by: &ActedBy,
    command: ReceiverCommand,
) -> anyhow::Result<()> {
    match command {
        ReceiverCommand::Add {
            site_id,
            kind,
            account,
            name,
            json,
        } => {
            let site = SiteId::parse(&site_id).context("SITE_ID")?;
            let receiver = SiteReceiver {
                kind: receiver_type(&kind)?,
                account: ReceiverAccount::parse(&account).context("--account")?,
                name: ReceiverName::parse(&name)
                    .context("--name: 1-64 characters of visible text")?,
            };
            if !sites.put_receiver(&site, &receiver, by).await? {
                bail!("site {site_id}: no such site");
            }
            print_one(&site, &receiver.kind, &receiver.account, "added", json);
            Ok(())
        }
        ReceiverCommand::Remove {
            site_id,
            kind,
            account,
            json,
        } => {
            let site = SiteId::parse(&site_id).context("SITE_ID")?;
            let kind = receiver_type(&kind)?;
            let account = ReceiverAccount::parse(&account).context("--account")?;
            if !sites.remove_receiver(&site, kind, &account, by).await? {
                bail!(
                    "site {site_id} has no {} receiver {}",
                    kind.as_str(),
                    account.as_str()
                );
            }
            print_one(&site, &kind, &account, "removed", json);
            Ok(())
        }
        ReceiverCommand::List { site_id, json } => {
            let site = SiteId::parse(&site_id).context("SITE_ID")?;
            if sites.by_id(&site).await?.is_none() {
                bail!("site {site_id}: no such site");
            }
            let receivers = sites.receivers(&site).await?;
            if json {
                let list: Vec<_> = receivers
                    .iter()
                    .map(|r| {
                        json!({"type": r.kind.as_str(), "account": r.account.as_str(),
                            "name": r.name.as_str()})
                    })
                    .collect();
                println!("{}", json!({ "site_id": site.as_str(), "receivers": list }));
            } else {
                for r in &receivers {
                    println!(
                        "{}\t{}\t{}",
                        r.kind.as_str(),
                        r.account.as_str(),
                        r.name.as_str()
                    );
                }
            }
            Ok(())
        }
    }
}

fn receiver_type(kind: &str) -> anyhow::Result<ReceiverType> {
    ReceiverType::parse(kind)
        .ok()
        .context("--type: one of MERCHANT_ID, PERSONAL_OPENID, userId, loginName")
}

fn print_one(
    site: &SiteId,
    kind: &ReceiverType,
    account: &ReceiverAccount,
    what: &str,
    json: bool,
) {
    if json {
        println!(
            "{}",
            json!({"site_id": site.as_str(), "type": kind.as_str(),
                "account": account.as_str(), "result": what})
        );
    } else {
        println!(
            "{} receiver {} {what} for {}",
            kind.as_str(),
            account.as_str(),
            site.as_str()
        );
    }
}

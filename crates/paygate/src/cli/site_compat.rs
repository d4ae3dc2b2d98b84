//! `paygate site compat …`: turns another protocol (EPay, weidoufu, Jeepay) on or off for a site,
//! rotates its key, or shows which are on. Its keys are the site's own for that protocol,
//! separate from the AK/SK; the key is printed only by `enable` and `rotate`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use gateway::domain::{ActedBy, CompatKey, Protocol, SiteId};
use gateway::service::{CompatKeyService, KeyChange};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub(super) enum CompatCommand {
    /// Turns the protocol on for the site and prints its new identifiers and key (shown only now).
    Enable(Target),
    /// Replaces the site's key for the protocol (the old one stops working at once) and prints it.
    Rotate(Target),
    /// Turns the protocol off for the site: its keys are deleted, its requests refused.
    Disable(Target),
    /// Lists the protocols on for the site, with their identifiers (not their keys).
    Show {
        site_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(super) struct Target {
    site_id: String,
    #[command(flatten)]
    protocol: ProtocolFlag,
    #[arg(long)]
    json: bool,
}

/// Exactly one protocol.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct ProtocolFlag {
    /// 易支付 (EPay) V1: `submit.php`, `mapi.php`, `api.php`.
    #[arg(long)]
    epay: bool,
    /// weidoufu: `/pay/miniapp`, `/pay/native`, `/pay/mobile`.
    #[arg(long)]
    weidoufu: bool,
    /// Jeepay: `/api/pay/unifiedOrder` and the rest.
    #[arg(long)]
    jeepay: bool,
}

impl ProtocolFlag {
    fn protocol(&self) -> Protocol {
        if self.epay {
            Protocol::Epay
        } else if self.weidoufu {
            Protocol::Weidoufu
        } else {
            Protocol::Jeepay
        }
    }
}

pub(super) async fn run(
    keys: &CompatKeyService,
    by: &ActedBy,
    command: CompatCommand,
) -> anyhow::Result<()> {
    match command {
        CompatCommand::Enable(target) => {
            let (id, protocol) = target.parse()?;
            let change = keys.enable(&id, protocol, by).await?;
            print_change(
                change,
                &target,
                "is on already: rotate its key or disable it first",
            )
        }
        CompatCommand::Rotate(target) => {
            let (id, protocol) = target.parse()?;
            let change = keys.rotate(&id, protocol, by).await?;
            print_change(change, &target, "is not on: enable it first")
        }
        CompatCommand::Disable(target) => {
            let (id, protocol) = target.parse()?;
            if !keys.disable(&id, protocol, by).await? {
                bail!(
                    "site {}: {} is not on (or no such site)",
                    target.site_id,
                    protocol.as_str()
                );
            }
            if target.json {
                println!(
                    "{}",
                    json!({ "site_id": id.as_str(), "protocol": protocol.as_str(), "enabled": false })
                );
            } else {
                println!("{} is off for {}", protocol.as_str(), id.as_str());
            }
            Ok(())
        }
        CompatCommand::Show { site_id, json } => {
            let id = SiteId::parse(&site_id).context("SITE_ID")?;
            let all = keys.all_of_site(&id).await?;
            if json {
                let list: Vec<_> = all.iter().map(|k| ids_json(k, None)).collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for key in &all {
                    println!(
                        "{}\t{}\t{}",
                        key.protocol.as_str(),
                        key.key_id,
                        key.app_id.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(())
        }
    }
}

impl Target {
    fn parse(&self) -> anyhow::Result<(SiteId, Protocol)> {
        Ok((
            SiteId::parse(&self.site_id).context("SITE_ID")?,
            self.protocol.protocol(),
        ))
    }
}

/// The names each protocol's clients give the identifiers and the key.
fn field_names(protocol: Protocol) -> (&'static str, &'static str) {
    match protocol {
        Protocol::Epay => ("pid", "key"),
        Protocol::Weidoufu => ("access_key", "secret_key"),
        Protocol::Jeepay => ("mchNo", "appSecret"),
    }
}

fn ids_json(key: &CompatKey, secret: Option<&str>) -> serde_json::Value {
    let (id_name, secret_name) = field_names(key.protocol);
    let mut out = json!({
        "site_id": key.site_id.as_str(),
        "protocol": key.protocol.as_str(),
        id_name: key.key_id,
    });
    if let Some(app_id) = &key.app_id {
        out["appId"] = json!(app_id);
    }
    if let Some(secret) = secret {
        out[secret_name] = json!(secret);
    }
    out
}

fn print_change(change: KeyChange, target: &Target, already: &str) -> anyhow::Result<()> {
    let key = match change {
        KeyChange::Done(key) => key,
        KeyChange::UnknownSite => bail!("site {}: no such site", target.site_id),
        KeyChange::AlreadyThat => bail!(
            "site {}: {} {already}",
            target.site_id,
            target.protocol.protocol().as_str()
        ),
    };
    if target.json {
        println!("{}", ids_json(&key, Some(key.secret.expose())));
        return Ok(());
    }
    let (id_name, secret_name) = field_names(key.protocol);
    println!("{id_name}: {}", key.key_id);
    if let Some(app_id) = &key.app_id {
        println!("appId: {app_id}");
    }
    println!("{secret_name}: {}", key.secret.expose());
    eprintln!(
        "The {secret_name} is shown only now: keep it. `paygate site compat rotate` makes a new one."
    );
    Ok(())
}

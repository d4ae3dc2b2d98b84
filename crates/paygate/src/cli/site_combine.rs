//! `paygate site combine allow | revoke | list`: which member sites a platform site may put
//! sub-orders of into its combined orders (合单, `POST /v1/combined-orders`). Changed through
//! `SiteService`, audited like every site change. A platform may always combine for itself.

use anyhow::{Context, bail};
use clap::Subcommand;
use gateway::domain::{ActedBy, SiteId};
use gateway::service::SiteService;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub(super) enum CombineCommand {
    /// Lets PLATFORM_SITE combine orders of MEMBER_SITE into its combined orders.
    Allow {
        platform_site: String,
        member_site: String,
        #[arg(long)]
        json: bool,
    },
    /// Takes the leave back; combined orders made before keep their sub-orders.
    Revoke {
        platform_site: String,
        member_site: String,
        #[arg(long)]
        json: bool,
    },
    /// Lists the member sites PLATFORM_SITE may combine orders for.
    List {
        platform_site: String,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(
    sites: &SiteService,
    by: &ActedBy,
    command: CombineCommand,
) -> anyhow::Result<()> {
    match command {
        CombineCommand::Allow {
            platform_site,
            member_site,
            json,
        } => {
            let (platform, member) = pair(&platform_site, &member_site)?;
            let Some(added) = sites.allow_combine(&platform, &member, by).await? else {
                bail!("site {platform_site} or {member_site}: no such site");
            };
            print(&platform, &member, "allowed", added, json);
            Ok(())
        }
        CombineCommand::Revoke {
            platform_site,
            member_site,
            json,
        } => {
            let (platform, member) = pair(&platform_site, &member_site)?;
            let removed = sites.revoke_combine(&platform, &member, by).await?;
            print(&platform, &member, "revoked", removed, json);
            Ok(())
        }
        CombineCommand::List {
            platform_site,
            json,
        } => {
            let platform = SiteId::parse(&platform_site).context("PLATFORM_SITE")?;
            if sites.by_id(&platform).await?.is_none() {
                bail!("site {platform_site}: no such site");
            }
            let members = sites.combine_members(&platform).await?;
            if json {
                let ids: Vec<&str> = members.iter().map(SiteId::as_str).collect();
                println!(
                    "{}",
                    json!({ "site_id": platform.as_str(), "members": ids })
                );
            } else {
                for m in &members {
                    println!("{}", m.as_str());
                }
            }
            Ok(())
        }
    }
}

/// Two distinct site ids: a site combines for itself without leave.
fn pair(platform: &str, member: &str) -> anyhow::Result<(SiteId, SiteId)> {
    let p = SiteId::parse(platform).context("PLATFORM_SITE")?;
    let m = SiteId::parse(member).context("MEMBER_SITE")?;
    if p == m {
        bail!("a site always combines its own orders: give another MEMBER_SITE");
    }
    Ok((p, m))
}

/// `changed`: whether the command changed anything (`false`: it was so already).
fn print(platform: &SiteId, member: &SiteId, what: &str, changed: bool, json: bool) {
    if json {
        println!(
            "{}",
            json!({
                "site_id": platform.as_str(),
                "member": member.as_str(),
                "state": what,
                "changed": changed,
            })
        );
    } else {
        let note = if changed { "" } else { " (already)" };
        println!("{}\t{}\t{what}{note}", platform.as_str(), member.as_str());
    }
}

//! `paygate site fee | show | balance`: the operator's fee on a site's orders (set through
//! `SiteService`, audited like every site change), the site with its fee, and what the site is
//! owed, from the ledger.

use anyhow::Context;
use gateway::domain::{ActedBy, Balance, FeeSchedule, Site, SiteId};
use gateway::service::SiteService;
use serde_json::json;

use super::common::yuan;
use super::site::{site_json, site_line};

/// Sets the fee: the rate and the fixed part given, each one not given 0, so that the fee after
/// the command is exactly what it says.
pub(super) async fn set_fee(
    sites: &SiteService,
    by: &ActedBy,
    site_id: &str,
    rate_bps: Option<i64>,
    fixed_fen: Option<i64>,
    json: bool,
) -> anyhow::Result<()> {
    let id = SiteId::parse(site_id).context("SITE_ID")?;
    let schedule = FeeSchedule::parse(rate_bps.unwrap_or(0), fixed_fen.unwrap_or(0))
        .context("--rate-bps / --fixed-fen")?;
    let fee = sites
        .set_fee(&id, schedule, by)
        .await?
        .with_context(|| format!("site {site_id}: no such site"))?;
    if json {
        println!(
            "{}",
            json!({ "site_id": id.as_str(), "fee": fee_json(fee) })
        );
    } else {
        println!("{}\t{}", id.as_str(), fee_text(fee));
    }
    Ok(())
}

/// The site as `site list` shows it, with its fee.
pub(super) async fn show(sites: &SiteService, site_id: &str, json: bool) -> anyhow::Result<()> {
    let site = known(sites, site_id).await?;
    let fee = sites.fee(&site.id).await?;
    if json {
        let mut out = site_json(&site);
        out["fee"] = fee_json(fee);
        println!("{out}");
    } else {
        println!("{}", site_line(&site));
        println!("fee\t{}", fee_text(fee));
    }
    Ok(())
}

/// What the site is owed, from the ledger: fen in JSON, yuan in text.
pub(super) async fn balance(sites: &SiteService, site_id: &str, json: bool) -> anyhow::Result<()> {
    let site = known(sites, site_id).await?;
    let b: Balance = sites.balance(&site.id).await?;
    if json {
        println!(
            "{}",
            json!({
                "site_id": site.id.as_str(),
                "currency": "CNY",
                "paid": b.paid,
                "refunded": b.refunded,
                "fees": b.fees,
                "shared": b.shared,
                "net": b.net(),
            })
        );
    } else {
        for (name, fen) in [
            ("paid", b.paid),
            ("refunded", b.refunded),
            ("fees", b.fees),
            ("shared", b.shared),
            ("net", b.net()),
        ] {
            println!("{name:<9}{:>14}", yuan(fen));
        }
    }
    Ok(())
}

async fn known(sites: &SiteService, site_id: &str) -> anyhow::Result<Site> {
    let id = SiteId::parse(site_id).context("SITE_ID")?;
    sites
        .by_id(&id)
        .await?
        .with_context(|| format!("site {site_id}: no such site"))
}

fn fee_json(fee: FeeSchedule) -> serde_json::Value {
    json!({ "rate_bps": fee.rate_bps(), "fixed_fen": fee.fixed_fen() })
}

/// `60 bps + 0 fen`.
fn fee_text(fee: FeeSchedule) -> String {
    format!("{} bps + {} fen", fee.rate_bps(), fee.fixed_fen())
}

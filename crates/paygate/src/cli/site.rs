//! `paygate site …`: the operator's site commands (the fee, one site and its balance are in
//! `site_money.rs`). They open the same database as `serve` (SQLite
//! in WAL mode lets them run beside it), change sites through the same service as the console
//! (`SiteService`, each change in the audit log as the command line's), and print to stdout; the
//! SK only where showing it is the command's job (create, rotate-key). An unknown SITE_ID is an
//! error (exit status 1).

use std::collections::BTreeSet;
use std::io::Read;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use gateway::domain::{
    ActedBy, Actor, AlipayMerchant, AlipaySellerId, AppAuthToken, NotifyUrl, PayMethod, Site,
    SiteId, SiteName, SiteStatus, SubMchid, WechatAppId, WechatSubMerchant,
};
use gateway::service::{CompatKeyService, SiteService};
use gateway::store::{NewSite, SiteUpdate};
use serde_json::json;

use super::common::DataArgs;
use super::site_combine::{self, CombineCommand};
use super::site_compat::{self, CompatCommand};
use super::site_money;
use super::site_receiver::{self, ReceiverCommand};

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
        /// Let its notify URLs lead to loopback, private and link-local addresses: only for a site
        /// on your own network.
        #[arg(long)]
        allow_private_targets: bool,
        /// Print {"site_id","ak","sk"}.
        #[arg(long)]
        json: bool,
    },
    /// Changes a site's name, notify URL, methods, private-target permission or WeChat Pay
    /// sub-merchant; leaves the rest.
    Update {
        site_id: String,
        #[arg(long)]
        name: Option<String>,
        /// Where paygate notifies the site of payments.
        #[arg(long, value_name = "URL", conflicts_with = "clear_notify_url")]
        notify_url: Option<String>,
        /// Removes the site's notify URL (orders may still carry their own).
        #[arg(long)]
        clear_notify_url: bool,
        /// Comma-separated channel.method list, replacing the current one.
        #[arg(long, value_delimiter = ',', value_name = "METHODS")]
        methods: Option<Vec<String>>,
        /// Whether its notify URLs may lead to loopback, private and link-local addresses.
        #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
        allow_private_targets: Option<bool>,
        /// Serve the site as this sub-merchant (特约商户) of the service provider `wechat.sp_mchid`:
        /// its WeChat Pay payments settle to the sub-merchant's account.
        #[arg(
            long,
            value_name = "SUB_MCHID",
            conflicts_with = "clear_wechat_sub_merchant"
        )]
        wechat_sub_mchid: Option<String>,
        /// The sub-merchant's own appid (its mini-program), with --wechat-sub-mchid.
        #[arg(long, value_name = "APPID", requires = "wechat_sub_mchid")]
        wechat_sub_appid: Option<String>,
        /// Pays the site's WeChat Pay orders to the operator's own merchant again (orders made
        /// before keep their sub-merchant).
        #[arg(long)]
        clear_wechat_sub_merchant: bool,
        /// Serve the site as the Alipay merchant with this account (2088…) that authorised the
        /// operator's app; its app_auth_token is read from the first line of standard input
        /// (never from the command line, where other users could see it).
        #[arg(
            long,
            value_name = "SELLER_ID",
            conflicts_with = "clear_alipay_merchant"
        )]
        alipay_seller_id: Option<String>,
        /// Pays the site's Alipay orders to the operator's own account again (orders made before
        /// keep their merchant).
        #[arg(long)]
        clear_alipay_merchant: bool,
        /// Print the site as `site list --json` does.
        #[arg(long)]
        json: bool,
    },
    /// Refuses the site's API requests (403 site_disabled) until it is enabled again.
    Disable {
        site_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Lets a disabled site use the API again.
    Enable {
        site_id: String,
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
    /// Sets the operator's fee on the site's orders paid from now on: a rate in basis points
    /// and/or a fixed fee in fen, the one not given 0. Orders already paid keep their fee.
    #[command(group(
        clap::ArgGroup::new("fee").required(true).multiple(true).args(["rate_bps", "fixed_fen"])
    ))]
    Fee {
        site_id: String,
        /// Basis points of each paid order (60 = 0.6%), 0-10000; rounded to the fen half-up.
        #[arg(long, value_name = "BPS")]
        rate_bps: Option<i64>,
        /// Fen added to each paid order's fee; a fee is never more than the order's amount.
        #[arg(long, value_name = "FEN")]
        fixed_fen: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Shows one site as `site list` does, with the operator's fee on its orders.
    Show {
        site_id: String,
        #[arg(long)]
        json: bool,
    },
    /// What the site is owed, from the ledger: paid, refunded, fees, shared and net.
    Balance {
        site_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Another protocol for the site (EPay, weidoufu, Jeepay): enable, rotate, disable, show.
    Compat {
        #[command(subcommand)]
        command: CompatCommand,
    },
    /// Combined orders (合单): which member sites a platform site may combine orders for.
    Combine {
        #[command(subcommand)]
        command: CombineCommand,
    },
    /// The receivers a site's orders may name to be split to once paid (weidoufu's ledger).
    Receiver {
        #[command(subcommand)]
        command: ReceiverCommand,
    },
}

pub async fn run(args: SiteArgs) -> anyhow::Result<()> {
    let settings = args.data.settings(None)?;
    let store = gateway::app::open_store(&settings).await?;
    let sites = SiteService::new(store.clone());
    let by = ActedBy::from(Actor::Cli);
    let result = match args.command {
        SiteCommand::Create {
            name,
            notify_url,
            methods,
            allow_private_targets,
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
                allow_private_targets,
            };
            let site = sites.create(new, &by).await?;
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
            let list = store.list_sites().await?;
            if json {
                let list: Vec<_> = list.iter().map(site_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for site in &list {
                    println!("{}", site_line(site));
                }
            }
            Ok(())
        }
        SiteCommand::Update {
            site_id,
            name,
            notify_url,
            clear_notify_url,
            methods,
            allow_private_targets,
            wechat_sub_mchid,
            wechat_sub_appid,
            clear_wechat_sub_merchant,
            alipay_seller_id,
            clear_alipay_merchant,
            json,
        } => {
            let id = SiteId::parse(&site_id).context("SITE_ID")?;
            let wechat_sub_merchant = match (wechat_sub_mchid, clear_wechat_sub_merchant) {
                (Some(mchid), _) => Some(Some(WechatSubMerchant {
                    sub_mchid: SubMchid::parse(&mchid).context("--wechat-sub-mchid")?,
                    sub_appid: wechat_sub_appid
                        .as_deref()
                        .map(WechatAppId::parse)
                        .transpose()
                        .context("--wechat-sub-appid")?,
                })),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let notify_url = match (notify_url, clear_notify_url) {
                (Some(url), _) => Some(Some(NotifyUrl::parse(&url).context("--notify-url")?)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let alipay_merchant = match (alipay_seller_id, clear_alipay_merchant) {
                (Some(seller), _) => Some(Some(AlipayMerchant {
                    seller_id: AlipaySellerId::parse(&seller).context("--alipay-seller-id")?,
                    app_auth_token: read_app_auth_token()?,
                })),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let update = SiteUpdate {
                name: name
                    .as_deref()
                    .map(SiteName::parse)
                    .transpose()
                    .context("--name")?,
                notify_url,
                enabled_methods: methods.as_deref().map(parse_methods).transpose()?,
                allow_private_targets,
                wechat_sub_merchant,
                alipay_merchant,
            };
            if update.is_empty() {
                bail!(
                    "nothing to update: give --name, --notify-url, --clear-notify-url, --methods, \
                     --allow-private-targets, --wechat-sub-mchid, --clear-wechat-sub-merchant, \
                     --alipay-seller-id or --clear-alipay-merchant"
                );
            }
            let site = sites.update(&id, &update, &by).await?;
            show(site, &site_id, json)
        }
        SiteCommand::Disable { site_id, json } => {
            set_status(&sites, &by, &site_id, SiteStatus::Disabled, json).await
        }
        SiteCommand::Enable { site_id, json } => {
            set_status(&sites, &by, &site_id, SiteStatus::Active, json).await
        }
        SiteCommand::Fee {
            site_id,
            rate_bps,
            fixed_fen,
            json,
        } => site_money::set_fee(&sites, &by, &site_id, rate_bps, fixed_fen, json).await,
        SiteCommand::Show { site_id, json } => site_money::show(&sites, &site_id, json).await,
        SiteCommand::Balance { site_id, json } => site_money::balance(&sites, &site_id, json).await,
        SiteCommand::Combine { command } => site_combine::run(&sites, &by, command).await,
        SiteCommand::Receiver { command } => site_receiver::run(&sites, &by, command).await,
        SiteCommand::Compat { command } => {
            site_compat::run(&CompatKeyService::new(store.clone()), &by, command).await
        }
        SiteCommand::RotateKey { site_id, json } => {
            let id = SiteId::parse(&site_id).context("SITE_ID")?;
            let sk = sites
                .rotate_key(&id, &by)
                .await?
                .with_context(|| format!("site {site_id}: no such site"))?;
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

async fn set_status(
    sites: &SiteService,
    by: &ActedBy,
    site_id: &str,
    status: SiteStatus,
    json: bool,
) -> anyhow::Result<()> {
    let id = SiteId::parse(site_id).context("SITE_ID")?;
    let site = sites.set_status(&id, status, by).await?;
    show(site, site_id, json)
}

/// Prints the site as `site list` does (a line, or its JSON object); an error for no site.
fn show(site: Option<Site>, site_id: &str, json: bool) -> anyhow::Result<()> {
    let site = site.with_context(|| format!("site {site_id}: no such site"))?;
    if json {
        println!("{}", site_json(&site));
    } else {
        println!("{}", site_line(&site));
    }
    Ok(())
}

/// The Alipay merchant's `app_auth_token`, from the first line of standard input.
fn read_app_auth_token() -> anyhow::Result<AppAuthToken> {
    let mut all = String::new();
    std::io::stdin()
        .read_to_string(&mut all)
        .context("reading the app_auth_token from standard input")?;
    let token = AppAuthToken::parse(all.lines().next().unwrap_or_default().trim());
    drop(zeroize::Zeroizing::new(all));
    // The parse error names the field, never the value.
    token.context("the app_auth_token on standard input")
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

/// id, AK, status, name, methods, notify URL, `private-targets` when the site may reach them, and
/// `wechat-sub:SUB_MCHID[/SUB_APPID]` when the site is served as a WeChat Pay sub-merchant, and
/// `alipay:SELLER_ID` when as an Alipay merchant (never its token).
pub(super) fn site_line(site: &Site) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        site.id,
        site.access_key.as_str(),
        site.status.as_str(),
        site.name.as_str(),
        methods_text(site),
        site.notify_url.as_ref().map_or("-", NotifyUrl::as_str),
        if site.allow_private_targets {
            "private-targets"
        } else {
            "-"
        },
        site.wechat_sub_merchant.as_ref().map_or_else(
            || "-".to_owned(),
            |m| match &m.sub_appid {
                Some(appid) => format!("wechat-sub:{}/{appid}", m.sub_mchid),
                None => format!("wechat-sub:{}", m.sub_mchid),
            }
        ),
        site.alipay_merchant
            .as_ref()
            .map_or_else(|| "-".to_owned(), |m| format!("alipay:{}", m.seller_id)),
    )
}

pub(super) fn site_json(site: &Site) -> serde_json::Value {
    json!({
        "site_id": site.id.as_str(),
        "name": site.name.as_str(),
        "ak": site.access_key.as_str(),
        "status": site.status.as_str(),
        "methods": site.enabled_methods.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "notify_url": site.notify_url.as_ref().map(NotifyUrl::as_str),
        "allow_private_targets": site.allow_private_targets,
        "wechat_sub_mchid": site.wechat_sub_merchant.as_ref().map(|m| m.sub_mchid.as_str()),
        "alipay_seller_id": site.alipay_merchant.as_ref().map(|m| m.seller_id.as_str()),
        "wechat_sub_appid": site
            .wechat_sub_merchant
            .as_ref()
            .and_then(|m| m.sub_appid.as_ref())
            .map(|a| a.as_str()),
    })
}

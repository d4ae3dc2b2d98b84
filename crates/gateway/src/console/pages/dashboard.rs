//! `GET /console`: today, 7 and 30 days (paid, paid rate, refunds; by channel and by site), the
//! daily chart, and what needs a person, each count linking to its list. A site user sees their
//! site's figures only (the scope is in every query).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::Response;

use crate::domain::{Channel, Timestamp};
use crate::service::{Dashboard, PeriodView};
use crate::store::Tally;

use super::super::ConsoleState;
use super::super::format::yuan;
use super::super::lang::{Names, remember};
use super::super::page::{Layout, Section, html, internal_error};
use super::super::root::href;
use super::super::session::Signed;
use super::chart::daily_bars;

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    l: Layout,
    periods: Vec<PeriodCard>,
    chart_svg: String,
    /// Column headings of the breakdowns: the periods' names.
    period_names: Vec<&'static str>,
    by_channel: Vec<BreakdownRow>,
    by_site: Vec<BreakdownRow>,
    anomalies: i64,
    failed_notifications: i64,
    stuck_orders: i64,
    stuck_href: String,
    /// A site user has one site: no breakdown by site.
    several_sites: bool,
}

struct PeriodCard {
    key: &'static str,
    name: &'static str,
    paid_count: i64,
    paid_amount: String,
    success_rate: String,
    refund_count: i64,
    refund_amount: String,
}

/// One channel's or site's paid figures in each period.
struct BreakdownRow {
    name: String,
    cells: Vec<(i64, String)>,
}

/// `GET /console`.
pub(in super::super) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
) -> Response {
    let scope = signed.user.role.scope();
    let now = Timestamp::now();
    let dashboard = match state.console.dashboard(&scope, now).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "console: the dashboard failed");
            return internal_error(signed.lang);
        }
    };
    let sites = match state.console.sites(&scope).await {
        Ok(sites) => sites,
        Err(e) => {
            tracing::error!(error = %e, "console: the sites could not be read");
            return internal_error(signed.lang);
        }
    };
    let site_names: HashMap<String, String> = sites
        .iter()
        .map(|s| (s.id.as_str().to_owned(), s.name.as_str().to_owned()))
        .collect();
    let lang = signed.lang;
    let t = lang.strings();
    let page = DashboardPage {
        l: Layout::signed(
            &signed,
            state.settings.sandbox,
            t.dashboard_title,
            Section::Dashboard,
            "/console",
        ),
        periods: dashboard.periods.iter().map(|p| card(p, lang)).collect(),
        chart_svg: daily_bars(&dashboard.chart, t.chart_title, t.chart_desc),
        period_names: dashboard
            .periods
            .iter()
            .map(|p| period_name(p.days, lang))
            .collect(),
        by_channel: breakdown(
            &dashboard,
            |f| &f.by_channel,
            |key| {
                Channel::parse(key).map_or_else(|_| key.to_owned(), |c| lang.channel(c).to_owned())
            },
        ),
        by_site: breakdown(
            &dashboard,
            |f| &f.by_site,
            |key| {
                site_names
                    .get(key)
                    .map_or_else(|| key.to_owned(), |name| format!("{name} ({key})"))
            },
        ),
        anomalies: dashboard.open.anomalies,
        failed_notifications: dashboard.open.failed_notifications,
        stuck_orders: dashboard.open.stuck_orders,
        stuck_href: href("/console/orders?stuck=1"),
        several_sites: scope.site().is_none(),
    };
    html(
        StatusCode::OK,
        &page,
        lang,
        remember(&uri, state.settings.secure()),
    )
}

fn period_name(days: u32, lang: super::super::lang::Lang) -> &'static str {
    let t = lang.strings();
    match days {
        1 => t.today,
        7 => t.last_7_days,
        _ => t.last_30_days,
    }
}

fn card(p: &PeriodView, lang: super::super::lang::Lang) -> PeriodCard {
    let t = lang.strings();
    PeriodCard {
        key: match p.days {
            1 => "today",
            7 => "7d",
            _ => "30d",
        },
        name: period_name(p.days, lang),
        paid_count: p.figures.paid.count,
        paid_amount: yuan(p.figures.paid.fen),
        success_rate: p.success_permille().map_or_else(
            || t.success_rate_none.to_owned(),
            |pm| format!("{}.{}%", pm / 10, pm % 10),
        ),
        refund_count: p.figures.refunded.count,
        refund_amount: yuan(p.figures.refunded.fen),
    }
}

/// Rows of `which` breakdown: every key any period has, largest 30-day amount first, with each
/// period's figures (zero where a period has none).
fn breakdown(
    dashboard: &Dashboard,
    which: impl Fn(&crate::service::PeriodFigures) -> &Vec<(String, Tally)>,
    name: impl Fn(&str) -> String,
) -> Vec<BreakdownRow> {
    let mut keys: Vec<String> = Vec::new();
    // The longest period has every key the shorter ones have, in its order (largest first).
    for p in dashboard.periods.iter().rev() {
        for (key, _) in which(&p.figures) {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    keys.into_iter()
        .map(|key| BreakdownRow {
            name: name(&key),
            cells: dashboard
                .periods
                .iter()
                .map(|p| {
                    let tally = which(&p.figures)
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map_or_else(Tally::default, |(_, t)| *t);
                    (tally.count, yuan(tally.fen))
                })
                .collect(),
        })
        .collect()
}

//! `GET /console/reconciliation[?before=YYYY-MM-DD]`: the days reconciled or planned, newest
//! first, one line per day and channel account — its status (why a failed run failed, when the
//! next run is planned), what the bill counts and sums to, what matched and how many discrepancies
//! were found — a month of days a page: the next page is the days before the last one shown.
//! Operators only: a channel account's day covers every site, so a site user is refused, as on the
//! audit log.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::{BillDay, ReconciliationStatus};
use crate::service::ConsoleError;
use crate::service::console::DayLine;

use super::super::ConsoleState;
use super::super::format::{time, yuan};
use super::super::lang::books::run_status;
use super::super::lang::{Lang, Names, remember};
use super::super::page::{Layout, Section, bad_request, html, internal_error, refused};
use super::super::root::href;
use super::super::session::Signed;

/// Days per page.
const PAGE_DAYS: u32 = 30;

#[derive(Deserialize)]
pub(in super::super) struct Params {
    #[serde(default)]
    before: String,
}

#[derive(Template)]
#[template(path = "console/reconciliation.html")]
struct ReconciliationPage {
    l: Layout,
    rows: Vec<Row>,
    next_href: Option<String>,
    first_href: Option<String>,
}

struct Row {
    day: String,
    day_href: String,
    channel: &'static str,
    account: String,
    /// The status's key (for its colour and the tests) and its words.
    status: &'static str,
    status_text: &'static str,
    error: Option<String>,
    planned: Option<String>,
    /// A complete run's report; the figures of a run that failed or still runs are no report.
    figures: Option<Figures>,
}

/// What the lines of a run add up to (yuan, as shown) and what it found.
pub(super) struct Figures {
    pub payments: i64,
    pub payments_fen: String,
    pub refunds: i64,
    pub refunds_fen: String,
    pub fees: String,
    pub net: String,
    pub matched: i64,
    pub discrepancies: usize,
}

impl Figures {
    pub(super) fn of(run: &crate::domain::Reconciliation, discrepancies: usize) -> Option<Self> {
        let t = &run.totals;
        (run.status == ReconciliationStatus::Complete).then(|| Self {
            payments: t.payments,
            payments_fen: yuan(t.payments_fen),
            refunds: t.refunds,
            refunds_fen: yuan(t.refunds_fen),
            fees: yuan(t.fees_fen),
            net: yuan(t.net_fen()),
            matched: run.matched,
            discrepancies,
        })
    }
}

/// `GET /console/reconciliation`.
pub(in super::super) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    if signed.user.role.site().is_some() {
        return refused(&headers);
    }
    let lang = signed.lang;
    let before = match p.before.trim() {
        "" => None,
        text => match BillDay::parse(text) {
            Some(day) => Some(day),
            None => return bad_request(lang, lang.books().bad_date),
        },
    };
    let days = state
        .console
        .reconciliation_days(&signed.user.role, before, PAGE_DAYS)
        .await;
    let days = match days {
        Ok(days) => days,
        Err(ConsoleError::NotAllowed) => return refused(&headers),
        Err(e) => {
            tracing::error!(error = %e, "console: the reconciliation days could not be read");
            return internal_error(lang);
        }
    };
    let page = ReconciliationPage {
        l: Layout::signed(
            &signed,
            state.settings.sandbox,
            lang.books().title,
            Section::Reconciliation,
            "/console/reconciliation",
        ),
        rows: days.lines.iter().map(|line| row(line, lang)).collect(),
        next_href: days
            .next
            .map(|day| href(&format!("/console/reconciliation?before={day}"))),
        first_href: before.map(|_| href("/console/reconciliation")),
    };
    html(
        StatusCode::OK,
        &page,
        lang,
        remember(&uri, state.settings.secure()),
    )
}

fn row(line: &DayLine, lang: Lang) -> Row {
    let b = lang.books();
    let planned = line
        .planned
        .map(|at| b.planned_for.replace("{when}", &time(at)));
    let (status, status_text) = match &line.run {
        Some(r) => (r.run.status.as_str(), run_status(lang, r.run.status)),
        None => ("planned", b.planned),
    };
    let run = line.run.as_ref();
    Row {
        day: line.day.to_string(),
        day_href: href(&format!(
            "/console/reconciliation/{}/{}",
            line.channel.as_str(),
            line.day
        )),
        channel: lang.channel(line.channel),
        account: run.map_or_else(|| "—".to_owned(), |r| r.run.account.clone()),
        status,
        status_text,
        error: run
            .filter(|r| r.run.status == ReconciliationStatus::Failed)
            .and_then(|r| r.run.error.clone()),
        planned,
        figures: run
            .and_then(|r| Figures::of(&r.run, usize::try_from(r.discrepancies).unwrap_or(0))),
    }
}

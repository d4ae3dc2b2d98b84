//! `GET /console/reconciliation/{channel}/{date}`: one channel's day — each account's run, when it
//! ran, what the bill adds up to, and every discrepancy with what was done about it, linking to
//! the order it is about. `POST /console/reconciliation/{channel}/{date}/rerun` (admins) plans the
//! day to be run again now, as `paygate reconcile --date` does; it is in the audit log before the
//! day is planned. A day not begun yet has no bill: no button, and the 404 page. An unknown
//! channel, or a day neither run nor planned, is the 404 page; a date that is not one, the 400
//! page. Operators only, as the list of days.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use crate::domain::{
    BillDay, Channel, Discrepancy, Reconciliation, ReconciliationStatus, Role, Timestamp,
};
use crate::service::console::{DayReport, may_run};
use crate::service::{Acting as Actor, ConsoleError};

use super::super::ConsoleState;
use super::super::form::Fields;
use super::super::format::{time, time_or_dash, yuan};
use super::super::lang::books::{discrepancy_kind, resolution, run_status};
use super::super::lang::{Lang, Names, remember};
use super::super::page::{
    Layout, Section, bad_request, html, internal_error, not_found_page, refused, see_other,
};
use super::super::root::href;
use super::super::session::{Acting, Signed};
use super::order::Done;
use super::reconciliation::Figures;

#[derive(Template)]
#[template(path = "console/reconciliation_day.html")]
struct DayPage {
    l: Layout,
    heading: String,
    notice: Option<&'static str>,
    planned: Option<String>,
    /// Where the admin's "reconcile again" form posts; none for anyone else.
    rerun_action: Option<String>,
    back_href: String,
    runs: Vec<Run>,
}

struct Run {
    account: String,
    status: &'static str,
    status_text: &'static str,
    started: String,
    finished: String,
    error: Option<String>,
    figures: Option<Figures>,
    /// The account bill's figures, once a run has read it.
    funds: Option<Funds>,
    discrepancies: Vec<Line>,
}

struct Funds {
    movements: i64,
    income: String,
    expense: String,
    net: String,
    other: String,
}

struct Line {
    kind: &'static str,
    kind_text: &'static str,
    upstream_no: String,
    /// The order's page and number, when the line is about one of paygate's orders.
    order: Option<(String, String)>,
    billed: String,
    ours: String,
    resolution: &'static str,
    resolution_text: &'static str,
    detail: String,
}

/// The channel and day a path names, if it names both.
fn target(channel: &str, date: &str) -> Option<(Channel, BillDay)> {
    Channel::parse(channel).ok().zip(BillDay::parse(date))
}

/// The answer to a path [`target`] finds no day in: the 404 page for a channel paygate does not
/// know, the 400 page for a date that is not a day.
fn no_target(lang: Lang, channel: &str) -> Response {
    if Channel::parse(channel).is_err() {
        not_found_page(lang)
    } else {
        bad_request(lang, lang.books().bad_date)
    }
}

/// `GET /console/reconciliation/{channel}/{date}`.
pub(in super::super) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
    headers: HeaderMap,
    Path((channel, date)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    if signed.user.role.site().is_some() {
        return refused(&headers);
    }
    let lang = signed.lang;
    let Some((channel, day)) = target(&channel, &date) else {
        return no_target(lang, &channel);
    };
    let report = match state
        .console
        .reconciliation_day(&signed.user.role, channel, day)
        .await
    {
        Ok(report) => report,
        Err(ConsoleError::NotFound) => return not_found_page(lang),
        Err(ConsoleError::NotAllowed) => return refused(&headers),
        Err(e) => {
            tracing::error!(error = %e, "console: a reconciled day could not be read");
            return internal_error(lang);
        }
    };
    let notice = (done.done == "rerun").then_some(lang.books().done_rerun);
    let page = page(&state, &signed, &report, notice);
    html(
        StatusCode::OK,
        &page,
        lang,
        remember(&uri, state.settings.secure()),
    )
}

fn page(
    state: &ConsoleState,
    signed: &Signed,
    report: &DayReport,
    notice: Option<&'static str>,
) -> DayPage {
    let lang = signed.lang;
    let b = lang.books();
    let path = format!(
        "/console/reconciliation/{}/{}",
        report.channel.as_str(),
        report.day
    );
    let heading = b
        .day_title
        .replace("{channel}", lang.channel(report.channel))
        .replace("{day}", &report.day.to_string());
    DayPage {
        l: Layout::signed(
            signed,
            state.settings.sandbox,
            &heading,
            Section::Reconciliation,
            &path,
        ),
        heading,
        notice,
        planned: report
            .planned
            .map(|at| b.planned_for.replace("{when}", &time(at))),
        rerun_action: (signed.user.role == Role::Admin && may_run(report.day, Timestamp::now()))
            .then(|| href(&format!("{path}/rerun"))),
        back_href: href("/console/reconciliation"),
        runs: report
            .runs
            .iter()
            .map(|(run, found)| run_of(run, found, report, lang))
            .collect(),
    }
}

fn run_of(run: &Reconciliation, found: &[Discrepancy], report: &DayReport, lang: Lang) -> Run {
    let amount = |fen: Option<i64>| fen.map_or_else(|| "—".to_owned(), yuan);
    Run {
        account: run.account.clone(),
        status: run.status.as_str(),
        status_text: run_status(lang, run.status),
        started: time(run.started_at),
        finished: time_or_dash(run.finished_at),
        error: run
            .error
            .clone()
            .filter(|_| run.status == ReconciliationStatus::Failed),
        figures: Figures::of(run, found.len()),
        funds: run
            .funds
            .filter(|_| run.status == ReconciliationStatus::Complete)
            .map(|f| Funds {
                movements: f.movements,
                income: yuan(f.income_fen),
                expense: yuan(f.expense_fen),
                net: yuan(f.net_fen()),
                other: yuan(f.other_fen()),
            }),
        discrepancies: found
            .iter()
            .map(|d| Line {
                kind: d.kind.as_str(),
                kind_text: discrepancy_kind(lang, d.kind),
                upstream_no: d.upstream_no.clone(),
                order: d.order_id.map(|id| {
                    let no = report
                        .order_numbers
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| id.as_i64().to_string());
                    (href(&format!("/console/orders/{}", id.as_i64())), no)
                }),
                billed: amount(d.billed_fen),
                ours: amount(d.ours_fen),
                resolution: d.resolution.as_str(),
                resolution_text: resolution(lang, d.resolution),
                detail: d.detail.clone(),
            })
            .collect(),
    }
}

/// `POST /console/reconciliation/{channel}/{date}/rerun`.
pub(in super::super) async fn rerun(
    State(state): State<ConsoleState>,
    Acting(signed): Acting,
    headers: HeaderMap,
    Path((channel, date)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if !signed.csrf_ok(f.get("csrf")) || signed.user.role != Role::Admin {
        return refused(&headers);
    }
    let lang = signed.lang;
    let Some((channel, day)) = target(&channel, &date) else {
        return no_target(lang, &channel);
    };
    let acting = Actor {
        user: &signed.user,
        ip: signed.ip.as_deref(),
    };
    match state
        .console
        .request_reconciliation(acting, channel, day)
        .await
    {
        Ok(()) => see_other(
            &format!(
                "/console/reconciliation/{}/{day}?done=rerun",
                channel.as_str()
            ),
            None,
        ),
        Err(ConsoleError::NotFound) => not_found_page(lang),
        Err(ConsoleError::NotAllowed) => refused(&headers),
        Err(e) => {
            tracing::error!(error = %e, "console: a day could not be planned again");
            internal_error(lang)
        }
    }
}

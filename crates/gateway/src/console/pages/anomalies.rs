//! `GET /console/anomalies`: the latest anomalies within the user's scope (a site sees those about
//! its orders only), with what happened, how often, and the order they are about.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::super::ConsoleState;
use super::super::format::time;
use super::super::lang::{Names, remember};
use super::super::page::{Layout, Section, html, internal_error};
use super::super::session::Signed;

/// How many the page lists, newest first.
const SHOWN: u32 = 200;

#[derive(Template)]
#[template(path = "console/anomalies.html")]
struct AnomaliesPage {
    l: Layout,
    rows: Vec<Row>,
    latest_only: String,
}

struct Row {
    last_seen: String,
    kind: String,
    channel: String,
    order: Option<(String, String)>,
    occurrences: i64,
    detail: String,
}

/// `GET /console/anomalies`.
pub(in super::super) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
) -> Response {
    let lang = signed.lang;
    let t = lang.strings();
    let scope = signed.user.role.scope();
    let anomalies = match state.console.anomalies(&scope, SHOWN).await {
        Ok(anomalies) => anomalies,
        Err(e) => {
            tracing::error!(error = %e, "console: anomalies could not be listed");
            return internal_error(lang);
        }
    };
    let rows = anomalies
        .into_iter()
        .map(|a| Row {
            last_seen: time(a.last_at),
            channel: crate::domain::Channel::parse(&a.channel)
                .map_or_else(|_| a.channel.clone(), |c| lang.channel(c).to_owned()),
            kind: a.kind,
            order: a
                .order
                .map(|(id, no)| (format!("/console/orders/{}", id.as_i64()), no)),
            occurrences: a.occurrences,
            detail: a.detail,
        })
        .collect();
    let page = AnomaliesPage {
        l: Layout::signed(
            &signed,
            state.settings.sandbox,
            t.anomalies_title,
            Section::Anomalies,
            "/console/anomalies",
        ),
        rows,
        latest_only: t.latest_only.replace("{n}", &SHOWN.to_string()),
    };
    html(
        StatusCode::OK,
        &page,
        lang,
        remember(&uri, state.settings.secure()),
    )
}

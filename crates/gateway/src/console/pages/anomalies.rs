//! `GET /console/anomalies[?show=all]`: the anomalies within the user's scope (a site sees those
//! about its orders only) — the open ones by default, where the dashboard's count leads — with what
//! happened, how often, the order they are about and, once a person saw to one, who, when and their
//! note. `POST /console/anomalies/{id}/acknowledge` (admins) marks one seen to with a note; it
//! leaves the open list and the dashboard's count until it happens again.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::{AnomalyNote, Role};
use crate::service::{Acting as Actor, ConsoleError};

use super::super::ConsoleState;
use super::super::form::Fields;
use super::super::format::time;
use super::super::lang::{Lang, Names, remember};
use super::super::page::{
    Layout, Section, html, internal_error, not_found_page, refused, see_other,
};
use super::super::root::href;
use super::super::session::{Acting, Signed};

/// How many the page lists, newest first.
const SHOWN: u32 = 200;

#[derive(Deserialize)]
pub(in super::super) struct Params {
    /// `all` lists the acknowledged ones too.
    #[serde(default)]
    show: String,
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "console/anomalies.html")]
struct AnomaliesPage {
    l: Layout,
    notice: Option<(bool, &'static str)>,
    all: bool,
    may_acknowledge: bool,
    rows: Vec<Row>,
    latest_only: String,
}

struct Row {
    id: i64,
    last_seen: String,
    kind: String,
    channel: String,
    order: Option<(String, String)>,
    occurrences: i64,
    detail: String,
    /// Who saw to it, when, and their note, as one line.
    acknowledged: Option<String>,
}

/// `GET /console/anomalies`.
pub(in super::super) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
    Query(p): Query<Params>,
) -> Response {
    let lang = signed.lang;
    let notice = match p.done.as_str() {
        "acknowledged" => Some((false, lang.manage().done_ack)),
        _ => None,
    };
    render(
        &state,
        &signed,
        p.show == "all",
        notice,
        StatusCode::OK,
        &uri,
    )
    .await
}

async fn render(
    state: &ConsoleState,
    signed: &Signed,
    all: bool,
    notice: Option<(bool, &'static str)>,
    status: StatusCode,
    uri: &Uri,
) -> Response {
    let lang = signed.lang;
    let t = lang.strings();
    let scope = signed.user.role.scope();
    let anomalies = match state.console.anomalies(&scope, !all, SHOWN).await {
        Ok(anomalies) => anomalies,
        Err(e) => {
            tracing::error!(error = %e, "console: anomalies could not be listed");
            return internal_error(lang);
        }
    };
    let rows = anomalies
        .into_iter()
        .map(|a| Row {
            id: a.id,
            last_seen: time(a.last_at),
            channel: crate::domain::Channel::parse(&a.channel)
                .map_or_else(|_| a.channel.clone(), |c| lang.channel(c).to_owned()),
            kind: a.kind,
            order: a
                .order
                .map(|(id, no)| (href(&format!("/console/orders/{}", id.as_i64())), no)),
            occurrences: a.occurrences,
            detail: a.detail,
            acknowledged: a.acknowledged.map(|ack| ack_line(lang, &ack)),
        })
        .collect();
    let page = AnomaliesPage {
        l: Layout::signed(
            signed,
            state.settings.sandbox,
            t.anomalies_title,
            Section::Anomalies,
            "/console/anomalies",
        ),
        notice,
        all,
        may_acknowledge: signed.user.role == Role::Admin,
        rows,
        latest_only: t.latest_only.replace("{n}", &SHOWN.to_string()),
    };
    html(status, &page, lang, remember(uri, state.settings.secure()))
}

fn ack_line(lang: Lang, ack: &crate::store::Acknowledgement) -> String {
    lang.manage()
        .ack_line
        .replace("{who}", &ack.by)
        .replace("{when}", &time(ack.at))
        .replace("{note}", &ack.note)
}

/// `POST /console/anomalies/{id}/acknowledge` (field `note`).
pub(in super::super) async fn acknowledge(
    State(state): State<ConsoleState>,
    Acting(signed): Acting,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if !signed.csrf_ok(f.get("csrf")) {
        return refused(&headers);
    }
    let lang = signed.lang;
    if signed.user.role != Role::Admin {
        return refused(&headers);
    }
    // Digits only, as the list links them: `+1` or ` 1` name no anomaly.
    let Some(id) = (!id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
    else {
        return not_found_page(lang);
    };
    let Ok(note) = AnomalyNote::parse(f.get("note")) else {
        let notice = Some((true, lang.manage().bad_note));
        return render(
            &state,
            &signed,
            false,
            notice,
            StatusCode::BAD_REQUEST,
            &uri,
        )
        .await;
    };
    let acting = Actor {
        user: &signed.user,
        ip: signed.ip.as_deref(),
    };
    match state.console.acknowledge_anomaly(acting, id, &note).await {
        Ok(()) => see_other("/console/anomalies?done=acknowledged", None),
        Err(ConsoleError::NotFound) => not_found_page(lang),
        Err(ConsoleError::NotAllowed) => refused(&headers),
        Err(e) => {
            tracing::error!(error = %e, "console: an anomaly could not be acknowledged");
            internal_error(lang)
        }
    }
}

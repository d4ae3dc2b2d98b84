//! `GET /console/notifications[?status=failed|pending|delivered]`: the latest notifications to
//! sites in one delivery status (the failed ones by default, where the dashboard's count leads),
//! within the user's scope, each linking to its order's page, where it can be sent again.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::NotificationStatus;

use super::super::ConsoleState;
use super::super::format::{time, time_or_dash};
use super::super::lang::{Names, remember};
use super::super::page::{Layout, Section, html, internal_error};
use super::super::session::Signed;

/// How many the page lists, newest first.
const SHOWN: u32 = 200;

const STATUSES: [NotificationStatus; 3] = [
    NotificationStatus::Failed,
    NotificationStatus::Pending,
    NotificationStatus::Delivered,
];

#[derive(Deserialize)]
pub(in super::super) struct Params {
    #[serde(default)]
    status: String,
}

#[derive(Template)]
#[template(path = "console/notifications.html")]
struct NotificationsPage {
    l: Layout,
    statuses: Vec<(&'static str, &'static str, bool)>,
    rows: Vec<Row>,
    latest_only: String,
}

struct Row {
    created: String,
    site: String,
    order_href: String,
    out_trade_no: String,
    id: String,
    event_type: &'static str,
    status: &'static str,
    status_text: &'static str,
    attempts: i64,
    last_attempt: String,
}

/// `GET /console/notifications`.
pub(in super::super) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
    Query(p): Query<Params>,
) -> Response {
    let lang = signed.lang;
    let t = lang.strings();
    let scope = signed.user.role.scope();
    let status = NotificationStatus::parse(&p.status).unwrap_or(NotificationStatus::Failed);
    let events = match state.console.notifications(&scope, status, SHOWN).await {
        Ok(events) => events,
        Err(e) => {
            tracing::error!(error = %e, "console: notifications could not be listed");
            return internal_error(lang);
        }
    };
    let names: HashMap<String, String> = match state.console.sites(&scope).await {
        Ok(sites) => sites
            .into_iter()
            .map(|s| (s.id.as_str().to_owned(), s.name.as_str().to_owned()))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "console: the sites could not be read");
            return internal_error(lang);
        }
    };
    let rows = events
        .into_iter()
        .map(|e| Row {
            created: time(e.created_at),
            site: names
                .get(e.site_id.as_str())
                .cloned()
                .unwrap_or_else(|| e.site_id.as_str().to_owned()),
            order_href: format!("/console/orders/{}", e.order_id.as_i64()),
            out_trade_no: e.out_trade_no,
            event_type: e.event_type.as_str(),
            status: e.status.as_str(),
            status_text: lang.notification_status(e.status),
            attempts: e.attempts,
            last_attempt: time_or_dash(e.last_attempt_at),
            id: e.id,
        })
        .collect();
    let page = NotificationsPage {
        l: Layout::signed(
            &signed,
            state.settings.sandbox,
            t.notifications_title,
            Section::Notifications,
            "/console/notifications",
        ),
        statuses: STATUSES
            .iter()
            .map(|s| (s.as_str(), lang.notification_status(*s), *s == status))
            .collect(),
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

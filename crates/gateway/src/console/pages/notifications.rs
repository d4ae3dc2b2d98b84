//! `GET /console/notifications[?status=failed|pending|delivered][&site=SITE_ID]`: the latest
//! notifications to sites in one delivery status (the failed ones by default, where the
//! dashboard's count leads), within the user's scope and of one site if asked, each linking to its
//! order's page and, for users who may act, sent again by a button (the order page's resend).
//! `POST /console/notifications/resend-failed` sends every failed one of a site again, after a
//! confirmation, as `paygate notify resend --failed --site` does.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::{NotificationStatus, SiteId};
use crate::service::{Acting as Actor, ConsoleError};

use super::super::ConsoleState;
use super::super::form::Fields;
use super::super::format::{time, time_or_dash};
use super::super::lang::{Names, remember};
use super::super::page::{
    Layout, Section, html, internal_error, not_found_page, refused, see_other,
};
use super::super::root::href;
use super::super::session::{Acting, Signed};
use super::confirm::{Confirm, confirm_page};

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
    #[serde(default)]
    site: String,
    /// How many a resend of every failed one just queued.
    #[serde(default)]
    queued: String,
}

#[derive(Template)]
#[template(path = "console/notifications.html")]
struct NotificationsPage {
    l: Layout,
    notice: Option<String>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    /// The site filter's choices (none for a site user: they have one), and the chosen one.
    sites: Vec<(String, String)>,
    site: String,
    total: i64,
    rows: Vec<Row>,
    latest_only: String,
    may_act: bool,
    /// The site whose failed notifications the page offers to send again, when it lists some.
    resend_failed_site: Option<String>,
}

struct Row {
    created: String,
    site: String,
    order_href: String,
    resend_action: String,
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
    // A site the user may not see lists nothing, as it would for an unknown one.
    let site = SiteId::parse(p.site.trim()).ok();
    let listed = state
        .console
        .notifications(&scope, site.as_ref(), status, SHOWN)
        .await;
    let (events, total) = match listed {
        Ok(listed) => listed,
        Err(e) => {
            tracing::error!(error = %e, "console: notifications could not be listed");
            return internal_error(lang);
        }
    };
    let sites: Vec<(String, String)> = match state.console.sites(&scope).await {
        Ok(sites) => sites
            .into_iter()
            .map(|s| (s.id.as_str().to_owned(), s.name.as_str().to_owned()))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "console: the sites could not be read");
            return internal_error(lang);
        }
    };
    let names: HashMap<&str, &str> = sites
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let rows = events
        .into_iter()
        .map(|e| Row {
            created: time(e.created_at),
            site: names
                .get(e.site_id.as_str())
                .map_or_else(|| e.site_id.as_str().to_owned(), |n| (*n).to_owned()),
            order_href: href(&format!("/console/orders/{}", e.order_id.as_i64())),
            resend_action: href(&format!(
                "/console/orders/{}/notifications/{}/resend",
                e.order_id.as_i64(),
                e.id
            )),
            out_trade_no: e.out_trade_no,
            event_type: e.event_type.as_str(),
            status: e.status.as_str(),
            status_text: lang.notification_status(e.status),
            attempts: e.attempts,
            last_attempt: time_or_dash(e.last_attempt_at),
            id: e.id,
        })
        .collect();
    let may_act = signed.user.role.may_act();
    // A site user's one site is theirs to resend, whether they picked it in the URL or not.
    let chosen = site.or_else(|| scope.site().cloned());
    let resend_failed_site = chosen
        .filter(|_| may_act && status == NotificationStatus::Failed && total > 0)
        .map(|s| s.as_str().to_owned());
    let notice = p.queued.parse::<u64>().ok().map(|n| {
        lang.manage()
            .done_resend_failed
            .replace("{n}", &n.to_string())
    });
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
        notice,
        sites: if scope.site().is_none() {
            sites
        } else {
            Vec::new()
        },
        site: p.site.trim().to_owned(),
        total,
        rows,
        latest_only: t.latest_only.replace("{n}", &SHOWN.to_string()),
        may_act,
        resend_failed_site,
    };
    html(
        StatusCode::OK,
        &page,
        lang,
        remember(&uri, state.settings.secure()),
    )
}

/// `POST /console/notifications/resend-failed` (field `site`): first a confirmation with how
/// many there are, then (`confirm=yes`) every failed notification of the site queued again.
pub(in super::super) async fn resend_failed(
    State(state): State<ConsoleState>,
    Acting(signed): Acting,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if !signed.csrf_ok(f.get("csrf")) {
        return refused(&headers);
    }
    let lang = signed.lang;
    let Ok(site) = SiteId::parse(f.get("site")) else {
        return not_found_page(lang);
    };
    let back = format!("/console/notifications?status=failed&site={site}");
    let outcome = if f.get("confirm") == "yes" {
        let acting = Actor {
            user: &signed.user,
            ip: signed.ip.as_deref(),
        };
        state
            .console
            .resend_failed(acting, &site)
            .await
            .map(|n| see_other(&format!("{back}&queued={n}"), None))
    } else {
        ask(&state, &signed, &site, back).await
    };
    match outcome {
        Ok(response) => response,
        Err(ConsoleError::NotFound) => not_found_page(lang),
        Err(ConsoleError::NotAllowed) => refused(&headers),
        Err(e) => {
            tracing::error!(error = %e, "console: failed notifications could not be resent");
            internal_error(lang)
        }
    }
}

/// The confirmation of a resend of `site`'s failed notifications, saying how many there are now.
async fn ask(
    state: &ConsoleState,
    signed: &Signed,
    site: &SiteId,
    back: String,
) -> Result<Response, ConsoleError> {
    let scope = signed.user.role.scope();
    let site = state.console.site(&scope, site).await?;
    let (_, failed) = state
        .console
        .notifications(&scope, Some(&site.id), NotificationStatus::Failed, 1)
        .await?;
    let question = signed
        .lang
        .manage()
        .confirm_resend_failed
        .replace("{site}", site.name.as_str())
        .replace("{n}", &failed.to_string());
    let c = Confirm {
        section: Section::Notifications,
        question,
        action: "/console/notifications/resend-failed".to_owned(),
        back,
        fields: vec![("site", site.id.as_str().to_owned())],
        danger: false,
    };
    Ok(confirm_page(state, signed, c))
}

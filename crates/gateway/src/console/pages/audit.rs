//! `GET /console/audit`: the latest entries of the audit log, for admins only (anyone else gets a
//! 403): who did what, to which object, when and from which address.

use askama::Template;
use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::domain::Role;

use super::super::ConsoleState;
use super::super::format::time;
use super::super::lang::{Names, remember};
use super::super::page::{Layout, Section, html, internal_error, refused};
use super::super::session::Signed;

/// How many entries the page shows, newest first.
const SHOWN: u32 = 200;

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    l: Layout,
    rows: Vec<Row>,
}

struct Row {
    when: String,
    actor: String,
    action: String,
    object: String,
    ip: String,
    detail: String,
}

/// `GET /console/audit`.
pub(in super::super) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if signed.user.role != Role::Admin {
        return refused(&headers);
    }
    let lang = signed.lang;
    let t = lang.strings();
    let entries = match state.accounts.audit_log(SHOWN).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::error!(error = %e, "console: the audit log could not be read");
            return internal_error(lang);
        }
    };
    let rows = entries
        .into_iter()
        .map(|e| Row {
            when: time(e.at),
            actor: match (e.actor_email, e.actor_user_id) {
                (Some(email), _) => email,
                (None, Some(id)) => id,
                // The command line on the server, or a login naming no account.
                (None, None) if e.action.starts_with("login") => t.nobody.to_owned(),
                (None, None) => t.command_line.to_owned(),
            },
            action: e.action,
            object: match (e.object_kind, e.object_id) {
                (Some(kind), Some(id)) => format!("{kind} {id}"),
                _ => "—".to_owned(),
            },
            ip: e.ip.unwrap_or_else(|| "—".to_owned()),
            detail: e.detail,
        })
        .collect();
    let page = AuditPage {
        l: Layout::signed(
            &signed,
            state.settings.sandbox,
            t.audit_title,
            Section::Audit,
            "/console/audit",
        ),
        rows,
    };
    html(
        StatusCode::OK,
        &page,
        lang,
        remember(&uri, state.settings.secure()),
    )
}

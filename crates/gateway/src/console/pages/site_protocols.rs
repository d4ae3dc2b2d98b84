//! A site's other protocols on its page: which are on and their identifiers (`rows`), and
//! `POST /console/sites/{id}/protocols/{epay|weidoufu|jeepay}/{enable|rotate|disable}` through
//! `service::console` (admins turn them on and off; admins and the site's users rotate a key).
//! Rotating and turning off are confirmed first; a new key is shown once, on the answer to the
//! request that made it, never kept for a later page.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::domain::{CompatKey, Protocol, SiteId};
use crate::service::{Acting as Actor, ConsoleError, ProtocolChange, SiteChange, site_right};

use super::super::ConsoleState;
use super::super::form::Fields;
use super::super::lang::Names;
use super::super::page::{
    Layout, Section, html, internal_error, not_found_page, refused, see_other,
};
use super::super::root::href;
use super::super::session::{Acting, Signed};
use super::confirm::{Confirm, confirm_page};

/// One protocol's line on the site's page.
pub(super) struct ProtocolRow {
    pub name: &'static str,
    pub label: &'static str,
    pub on: bool,
    /// Its identifiers as its clients name them (`pid 12345678`), or "—".
    pub ids: String,
}

fn label(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Epay => "易支付 (EPay) V1",
        Protocol::Weidoufu => "weidoufu",
        Protocol::Jeepay => "Jeepay",
    }
}

/// The identifier's and the key's names in the protocol's own documents.
fn field_names(protocol: Protocol) -> (&'static str, &'static str) {
    match protocol {
        Protocol::Epay => ("pid", "key"),
        Protocol::Weidoufu => ("access_key", "secret_key"),
        Protocol::Jeepay => ("mchNo", "appSecret"),
    }
}

/// Every protocol, with what `on` says of it.
pub(super) fn rows(on: &[CompatKey]) -> Vec<ProtocolRow> {
    Protocol::ALL
        .into_iter()
        .map(|protocol| {
            let key = on.iter().find(|k| k.protocol == protocol);
            let ids = key.map_or_else(
                || "—".to_owned(),
                |k| {
                    let (id_name, _) = field_names(protocol);
                    match &k.app_id {
                        Some(app) => format!("{id_name} {} · appId {app}", k.key_id),
                        None => format!("{id_name} {}", k.key_id),
                    }
                },
            );
            ProtocolRow {
                name: protocol.as_str(),
                label: label(protocol),
                on: key.is_some(),
                ids,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/protocol_keys.html")]
struct KeysPage {
    l: Layout,
    site_id: String,
    /// Name, value, and whether it is the secret.
    fields: Vec<(&'static str, String, bool)>,
    back: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Enable,
    Rotate,
    Disable,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "enable" => Some(Self::Enable),
            "rotate" => Some(Self::Rotate),
            "disable" => Some(Self::Disable),
            _ => None,
        }
    }
}

/// `POST /console/sites/{id}/protocols/{protocol}/{action}`.
pub(in super::super) async fn act(
    State(state): State<ConsoleState>,
    Acting(signed): Acting,
    headers: HeaderMap,
    Path((id, protocol, action)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if !signed.csrf_ok(f.get("csrf")) {
        return refused(&headers);
    }
    let lang = signed.lang;
    let (Ok(site_id), Ok(protocol), Some(action)) = (
        SiteId::parse(&id),
        Protocol::parse(&protocol),
        Action::parse(&action),
    ) else {
        return not_found_page(lang);
    };
    let acting = Actor {
        user: &signed.user,
        ip: signed.ip.as_deref(),
    };
    let back = format!("/console/sites/{site_id}");
    let confirmed = f.get("confirm") == "yes";
    let outcome = match action {
        Action::Rotate | Action::Disable if !confirmed => {
            ask(&state, &signed, &site_id, protocol, action).await
        }
        Action::Enable => state
            .console
            .enable_protocol(acting, &site_id, protocol)
            .await
            .map(|change| shown(&state, &signed, &site_id, change, &back)),
        Action::Rotate => state
            .console
            .rotate_protocol_key(acting, &site_id, protocol)
            .await
            .map(|change| shown(&state, &signed, &site_id, change, &back)),
        Action::Disable => state
            .console
            .disable_protocol(acting, &site_id, protocol)
            .await
            .map(|change| shown(&state, &signed, &site_id, change, &back)),
    };
    match outcome {
        Ok(response) => response,
        Err(ConsoleError::NotFound) => not_found_page(lang),
        Err(ConsoleError::NotAllowed) => refused(&headers),
        Err(e) => {
            tracing::error!(error = %e, "console: a protocol action failed");
            internal_error(lang)
        }
    }
}

/// The confirmation page of `action`, if the user may take it (another site is not found, an
/// action they may not take refused, before anything is asked).
async fn ask(
    state: &ConsoleState,
    signed: &Signed,
    site: &SiteId,
    protocol: Protocol,
    action: Action,
) -> Result<Response, ConsoleError> {
    let change = match action {
        Action::Rotate => SiteChange::RotateKey,
        Action::Enable | Action::Disable => SiteChange::Settings,
    };
    site_right(&signed.user.role, site, change)?;
    let site = state.console.site(&signed.user.role.scope(), site).await?;
    let m = signed.lang.manage();
    let (question, name) = match action {
        Action::Rotate => (m.confirm_rotate_protocol, "rotate"),
        Action::Enable | Action::Disable => (m.confirm_disable_protocol, "disable"),
    };
    let back = format!("/console/sites/{}", site.id);
    let c = Confirm {
        section: Section::Sites,
        question: question
            .replace("{site}", site.name.as_str())
            .replace("{protocol}", label(protocol)),
        action: format!("{back}/protocols/{}/{name}", protocol.as_str()),
        back,
        fields: Vec::new(),
        danger: true,
    };
    Ok(confirm_page(state, signed, c))
}

/// What a change shows: the new keys, once, on this very answer (never stored by the browser);
/// otherwise the site's page with what happened.
fn shown(
    state: &ConsoleState,
    signed: &Signed,
    site: &SiteId,
    change: ProtocolChange,
    back: &str,
) -> Response {
    let m = signed.lang.manage();
    let key = match change {
        ProtocolChange::Keys(key) => key,
        ProtocolChange::Off => return see_other(&format!("{back}?done=protocol-off"), None),
        ProtocolChange::Unchanged => {
            return see_other(&format!("{back}?done=protocol-unchanged"), None);
        }
    };
    let (id_name, secret_name) = field_names(key.protocol);
    let mut fields = vec![(id_name, key.key_id.clone(), false)];
    if let Some(app) = &key.app_id {
        fields.push(("appId", app.clone(), false));
    }
    fields.push((secret_name, key.secret.expose().to_owned(), true));
    let title = m
        .protocol_keys_title
        .replace("{protocol}", label(key.protocol));
    let page = KeysPage {
        l: Layout::signed(signed, state.settings.sandbox, &title, Section::Sites, back),
        site_id: site.as_str().to_owned(),
        fields,
        back: href(back),
    };
    let mut response = html(StatusCode::OK, &page, signed.lang, None);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

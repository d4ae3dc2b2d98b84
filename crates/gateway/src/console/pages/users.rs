//! The console users, for admins only (anyone else gets a 403): `GET /console/users` lists them
//! with a form to create one; `POST /console/users` creates one, `POST
//! /console/users/{id}/disable` disables one after a confirmation (never oneself), and `POST
//! /console/users/{id}/reset` gives one a new password typed twice. Each goes through
//! `AccountService`, as `paygate user` does, and is written with its audit entry (who, from where).
//! No page ever shows a password or its hash.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::{ActedBy, Actor, Email, Password, Role, SiteId, Timestamp, User, UserId};
use crate::service::AccountError;

use super::super::ConsoleState;
use super::super::form::Fields;
use super::super::format::time;
use super::super::lang::{Lang, Names, remember};
use super::super::page::{
    Layout, Section, html, internal_error, not_found_page, refused, see_other,
};
use super::super::session::Signed;
use super::confirm::{Confirm, confirm_page};

#[derive(Deserialize)]
pub(in super::super) struct Params {
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    l: Layout,
    notice: Option<(bool, &'static str)>,
    rows: Vec<Row>,
    /// The creation form as it was sent, when it is shown again with what was wrong.
    email: String,
    role: String,
    site: String,
    roles: Vec<(&'static str, &'static str)>,
    sites: Vec<(String, String)>,
}

struct Row {
    id: String,
    email: String,
    role: &'static str,
    site: String,
    active: bool,
    status: &'static str,
    status_text: &'static str,
    totp: &'static str,
    created: String,
    /// Not oneself: one may not disable one's own account.
    may_disable: bool,
}

/// `GET /console/users`.
pub(in super::super) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    headers: HeaderMap,
    uri: Uri,
    Query(p): Query<Params>,
) -> Response {
    if signed.user.role != Role::Admin {
        return refused(&headers);
    }
    let m = signed.lang.manage();
    let notice = match p.done.as_str() {
        "created" => Some((false, m.done_user_created)),
        "disabled" => Some((false, m.done_user_disabled)),
        "reset" => Some((false, m.done_password_reset)),
        _ => None,
    };
    let mut response = render(&state, &signed, notice, &Fields::empty(), StatusCode::OK).await;
    if let Some(cookie) = remember(&uri, state.settings.secure()) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    response
}

async fn render(
    state: &ConsoleState,
    signed: &Signed,
    notice: Option<(bool, &'static str)>,
    form: &Fields,
    status: StatusCode,
) -> Response {
    let lang = signed.lang;
    let users = match state.accounts.list_users().await {
        Ok(users) => users,
        Err(e) => {
            tracing::error!(error = %e, "console: users could not be listed");
            return internal_error(lang);
        }
    };
    let sites = match state.console.sites(&crate::domain::Scope::All).await {
        Ok(sites) => sites,
        Err(e) => {
            tracing::error!(error = %e, "console: the sites could not be read");
            return internal_error(lang);
        }
    };
    let names: HashMap<&str, &str> = sites
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let rows = users
        .iter()
        .map(|u| row(u, &signed.user.id, &names, lang))
        .collect();
    let page = UsersPage {
        l: Layout::signed(
            signed,
            state.settings.sandbox,
            lang.manage().users_title,
            Section::Users,
            "/console/users",
        ),
        notice,
        rows,
        email: form.get("email").to_owned(),
        role: form.get("role").to_owned(),
        site: form.get("site").to_owned(),
        roles: Role::NAMES
            .iter()
            .map(|name| (*name, role_name(name, lang)))
            .collect(),
        sites: sites
            .iter()
            .map(|s| (s.id.as_str().to_owned(), s.name.as_str().to_owned()))
            .collect(),
    };
    html(status, &page, lang, None)
}

fn role_name(name: &str, lang: Lang) -> &'static str {
    match name {
        "admin" => lang.role(&Role::Admin),
        "viewer" => lang.role(&Role::Viewer),
        _ => lang.pick("站点", "site"),
    }
}

fn row(user: &User, me: &UserId, sites: &HashMap<&str, &str>, lang: Lang) -> Row {
    let m = lang.manage();
    Row {
        id: user.id.as_str().to_owned(),
        email: user.email.as_str().to_owned(),
        role: lang.role(&user.role),
        site: user.role.site().map_or_else(
            || "—".to_owned(),
            |id| {
                sites
                    .get(id.as_str())
                    .map_or_else(|| id.as_str().to_owned(), |n| (*n).to_owned())
            },
        ),
        active: !user.disabled,
        status: if user.disabled { "disabled" } else { "active" },
        status_text: if user.disabled { m.disabled } else { m.active },
        totp: if user.has_totp { m.yes } else { m.no },
        created: time(user.created_at),
        may_disable: !user.disabled && &user.id != me,
    }
}

/// Who acts, as the audit log records them.
fn acted_by(signed: &Signed) -> ActedBy {
    ActedBy {
        actor: Actor::User {
            id: signed.user.id.clone(),
            email: signed.user.email.clone(),
        },
        ip: signed.ip.clone(),
    }
}

/// Whether an admin sent the form, with their session's token.
fn admin_form(signed: &Signed, f: &Fields) -> bool {
    signed.user.role == Role::Admin && signed.csrf_ok(f.get("csrf"))
}

/// The new password a form gives twice; the message of what is wrong with it.
fn new_password(f: &Fields, lang: Lang) -> Result<Password, &'static str> {
    let m = lang.manage();
    if f.get("password") != f.get("password_again") {
        return Err(m.passwords_differ);
    }
    Password::new(f.get("password").to_owned()).map_err(|_| m.bad_password)
}

/// `POST /console/users`: creates a user.
pub(in super::super) async fn create(
    State(state): State<ConsoleState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if !admin_form(&signed, &f) {
        return refused(&headers);
    }
    let lang = signed.lang;
    let m = lang.manage();
    let read = || {
        let email = Email::parse(f.get("email")).map_err(|_| m.bad_email)?;
        let site = match f.get("site").trim() {
            "" => None,
            id => Some(SiteId::parse(id).map_err(|_| m.unknown_site)?),
        };
        let role = Role::parse(f.get("role"), site).map_err(|_| m.bad_role)?;
        Ok::<_, &'static str>((email, role, new_password(&f, lang)?))
    };
    let (email, role, password) = match read() {
        Ok(read) => read,
        Err(message) => {
            return render(
                &state,
                &signed,
                Some((true, message)),
                &f,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let created = state
        .accounts
        .create_user(email, role, password, acted_by(&signed), Timestamp::now())
        .await;
    let refusal = match created {
        Ok(_) => return see_other("/console/users?done=created", None),
        Err(AccountError::EmailTaken) => (m.email_taken, StatusCode::CONFLICT),
        Err(AccountError::UnknownSite) => (m.unknown_site, StatusCode::BAD_REQUEST),
        Err(AccountError::Invalid(_)) => (m.bad_password, StatusCode::BAD_REQUEST),
        Err(e) => {
            tracing::error!(error = %e, "console: a user could not be created");
            return internal_error(lang);
        }
    };
    render(&state, &signed, Some((true, refusal.0)), &f, refusal.1).await
}

/// `POST /console/users/{id}/{disable,reset}`.
pub(in super::super) async fn act(
    State(state): State<ConsoleState>,
    signed: Signed,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Fields::parse(&body);
    if !admin_form(&signed, &f) {
        return refused(&headers);
    }
    let lang = signed.lang;
    let m = lang.manage();
    let user = match UserId::parse(&id) {
        Ok(id) => state.accounts.find_user_by_id(&id).await,
        Err(_) => Ok(None),
    };
    let user = match user {
        Ok(Some(user)) => user,
        Ok(None) => return not_found_page(lang),
        Err(e) => {
            tracing::error!(error = %e, "console: a user could not be read");
            return internal_error(lang);
        }
    };
    let outcome = match action.as_str() {
        "disable" if user.id == signed.user.id => {
            return render(
                &state,
                &signed,
                Some((true, m.not_yourself)),
                &Fields::empty(),
                StatusCode::CONFLICT,
            )
            .await;
        }
        "disable" if f.get("confirm") != "yes" => {
            let c = Confirm {
                section: Section::Users,
                question: m
                    .confirm_disable_user
                    .replace("{email}", user.email.as_str()),
                action: format!("/console/users/{}/disable", user.id),
                back: "/console/users".to_owned(),
                fields: Vec::new(),
                danger: true,
            };
            return confirm_page(&state, &signed, c);
        }
        "disable" => state
            .accounts
            .disable(&user.email, acted_by(&signed), Timestamp::now())
            .await
            .map(|_| "disabled"),
        "reset" => {
            let password = match new_password(&f, lang) {
                Ok(password) => password,
                Err(message) => {
                    let empty = Fields::empty();
                    return render(
                        &state,
                        &signed,
                        Some((true, message)),
                        &empty,
                        StatusCode::BAD_REQUEST,
                    )
                    .await;
                }
            };
            state
                .accounts
                .reset_password(&user.email, password, acted_by(&signed), Timestamp::now())
                .await
                .map(|_| "reset")
        }
        _ => return not_found_page(lang),
    };
    match outcome {
        Ok(done) => see_other(&format!("/console/users?done={done}"), None),
        Err(AccountError::UnknownUser) => not_found_page(lang),
        Err(e) => {
            tracing::error!(error = %e, "console: a user could not be changed");
            internal_error(lang)
        }
    }
}

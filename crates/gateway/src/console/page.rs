//! What every console page shares: the layout (header, navigation for the user's role, sign-out
//! form, language switch, sandbox note), how a page becomes a response (its headers, the language
//! cookie), and the error pages.

use askama::Template;
use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::domain::Role;

use super::ConsoleState;
use super::assets::{page_headers, stylesheet_href};
use super::lang::{Books, Lang, Manage, Names, Text, lang_of};
use super::root::href;
use super::session::{SESSION_COOKIE, Signed, cookie, set_cookie};

/// The console's sections, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Dashboard,
    Orders,
    Sites,
    Notifications,
    Anomalies,
    Reconciliation,
    Users,
    Audit,
}

pub(super) struct NavItem {
    /// What tests find it by (`data-testid="nav-<key>"`).
    pub key: &'static str,
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// The signed-in user as the header shows them.
pub(super) struct UserLine {
    pub email: String,
    pub role: &'static str,
}

/// The layout's data (`templates/console/base.html`).
pub(super) struct Layout {
    pub t: &'static Text,
    /// The management pages' strings.
    pub m: &'static Manage,
    /// The strings of reconciliation and statements.
    pub b: &'static Books,
    pub html_lang: &'static str,
    /// `/console` as the browser reaches it (under `public_url`'s path): what the templates'
    /// links and forms start with.
    pub root: String,
    pub title: String,
    pub stylesheet: String,
    pub sandbox: bool,
    pub user: Option<UserLine>,
    pub nav: Vec<NavItem>,
    /// The session's CSRF token, for the sign-out form (and every other form of the page).
    pub csrf: String,
    /// This page in the other language.
    pub switch_href: String,
    pub switch_lang: &'static str,
}

impl Layout {
    /// The layout of a page at `path` for `signed`: the navigation shows what their role may see.
    pub(super) fn signed(
        signed: &Signed,
        sandbox: bool,
        title: &str,
        section: Section,
        path: &str,
    ) -> Self {
        let lang = signed.lang;
        let t = lang.strings();
        let mut nav = vec![
            NavItem {
                key: "dashboard",
                href: href("/console"),
                label: t.nav_dashboard,
                current: section == Section::Dashboard,
            },
            NavItem {
                key: "orders",
                href: href("/console/orders"),
                label: t.nav_orders,
                current: section == Section::Orders,
            },
            NavItem {
                key: "sites",
                href: href("/console/sites"),
                label: lang.manage().nav_sites,
                current: section == Section::Sites,
            },
        ];
        nav.push(NavItem {
            key: "notifications",
            href: href("/console/notifications"),
            label: t.nav_notifications,
            current: section == Section::Notifications,
        });
        nav.push(NavItem {
            key: "anomalies",
            href: href("/console/anomalies"),
            label: t.nav_anomalies,
            current: section == Section::Anomalies,
        });
        // A channel account's day covers every site: operators only.
        if signed.user.role.site().is_none() {
            nav.push(NavItem {
                key: "reconciliation",
                href: href("/console/reconciliation"),
                label: lang.books().nav_reconciliation,
                current: section == Section::Reconciliation,
            });
        }
        if signed.user.role == Role::Admin {
            nav.push(NavItem {
                key: "users",
                href: href("/console/users"),
                label: lang.manage().nav_users,
                current: section == Section::Users,
            });
            nav.push(NavItem {
                key: "audit",
                href: href("/console/audit"),
                label: t.nav_audit,
                current: section == Section::Audit,
            });
        }
        Self {
            user: Some(UserLine {
                email: signed.user.email.as_str().to_owned(),
                role: lang.role(&signed.user.role),
            }),
            nav,
            csrf: signed.session.csrf_token.clone(),
            ..Self::anonymous(lang, sandbox, title, path)
        }
    }

    /// The layout of a page for nobody signed in (sign-in, errors).
    pub(super) fn anonymous(lang: Lang, sandbox: bool, title: &str, path: &str) -> Self {
        let other = match lang {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        };
        Self {
            t: lang.strings(),
            m: lang.manage(),
            b: lang.books(),
            html_lang: lang.html_lang(),
            root: href("/console"),
            title: title.to_owned(),
            stylesheet: stylesheet_href(),
            sandbox,
            user: None,
            nav: Vec::new(),
            csrf: String::new(),
            switch_href: format!("{}?lang={}", href(path), other.param()),
            switch_lang: other.html_lang(),
        }
    }
}

/// A rendered page with the console's headers, setting `cookies`; a template that fails to
/// render is logged and answered with the error page.
pub(super) fn html(
    status: StatusCode,
    page: &impl Template,
    lang: Lang,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, page_headers(), Html(body)).into_response();
            for c in cookies {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "console: a page failed to render");
            internal_error(lang)
        }
    }
}

/// `303 See Other` to the console route `location` (after a form), with `cookies`.
pub(super) fn see_other(
    location: &str,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    let Ok(location) = HeaderValue::from_str(&href(location)) else {
        return internal_error(Lang::Zh);
    };
    let mut response = (StatusCode::SEE_OTHER, page_headers()).into_response();
    response.headers_mut().insert(header::LOCATION, location);
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    l: Layout,
    message: String,
    /// Where to go instead (a whole URL), when the way back is elsewhere.
    go: Option<String>,
}

fn error_page(
    status: StatusCode,
    lang: Lang,
    title: &'static str,
    message: &'static str,
) -> Response {
    render_error(status, lang, title, message.to_owned(), None)
}

fn render_error(
    status: StatusCode,
    lang: Lang,
    title: &'static str,
    message: String,
    go: Option<String>,
) -> Response {
    let page = ErrorPage {
        l: Layout::anonymous(lang, false, title, "/console"),
        message,
        go,
    };
    match page.render() {
        Ok(body) => (status, page_headers(), Html(body)).into_response(),
        // The error page itself failed: a plain answer, nothing more to try.
        Err(_) => (status, page_headers(), page.message).into_response(),
    }
}

/// 404: no such page, or an object outside the user's scope (the same answer: whether another
/// site's order exists is not told).
pub(super) fn not_found_page(lang: Lang) -> Response {
    let t = lang.strings();
    error_page(StatusCode::NOT_FOUND, lang, t.not_found_title, t.not_found)
}

/// 400: a request whose `message` says what could not be read (a date that is not one).
pub(super) fn bad_request(lang: Lang, message: &'static str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        lang,
        lang.books().bad_request_title,
        message,
    )
}

/// 403: a viewer's action, a form without its token or from elsewhere.
pub(super) fn refused(headers: &HeaderMap) -> Response {
    let lang = super::lang::lang_of(&Uri::from_static("/console"), headers);
    let t = lang.strings();
    error_page(StatusCode::FORBIDDEN, lang, t.forbidden_title, t.forbidden)
}

/// 403 for a form posted from `sent` (an origin, or `None` when the request named none) rather
/// than from `ours`, `public_url`'s origin: what happened, and the console's address to use.
pub(super) fn wrong_origin(lang: Lang, ours: &str, sent: Option<&str>) -> Response {
    let t = lang.strings();
    let message = match sent {
        Some(sent) => t.wrong_origin.replace("{sent}", sent),
        None => t.wrong_origin_unnamed.to_owned(),
    }
    .replace("{ours}", ours);
    let console = format!("{ours}{}", href("/console"));
    render_error(
        StatusCode::FORBIDDEN,
        lang,
        t.wrong_origin_title,
        message,
        Some(console),
    )
}

/// 500, the cause logged by the caller and never shown.
pub(super) fn internal_error(lang: Lang) -> Response {
    let t = lang.strings();
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        lang,
        t.error_title,
        t.internal,
    )
}

/// The way to the sign-in page, for a request without a live session; a stale session cookie is
/// removed.
pub(super) fn to_login(headers: &HeaderMap, state: &ConsoleState) -> Response {
    let stale = cookie(headers, SESSION_COOKIE)
        .map(|_| set_cookie(SESSION_COOKIE, "", "/console", 0, state.settings.secure()));
    see_other("/console/login", stale)
}

/// Any other path under `/console`.
pub(super) async fn not_found(
    State(_state): State<ConsoleState>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    not_found_page(lang_of(&uri, &headers))
}

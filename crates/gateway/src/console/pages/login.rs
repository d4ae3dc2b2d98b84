//! Signing in and out.
//!
//! The login form carries the value of its own short-lived cookie (`pg_login`, `Path=/console/login`)
//! as its CSRF token, as there is no session yet; with the same-origin check of every POST, a page
//! elsewhere cannot sign a browser in to an account of its choosing. Each answer says plainly what
//! happened: wrong email or password (the same words for both), a locked account and until when,
//! an address over its limit, or a second factor's code needed (then the form asks for the password
//! again with the code: the password is never kept between the two).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::{Password, Timestamp, new_csrf_token};
use crate::service::{AccountError, LoginAttempt};

use super::super::ConsoleState;
use super::super::client::ClientIp;
use super::super::csrf::token_matches;
use super::super::format::time;
use super::super::lang::{Lang, Names, lang_of, remember};
use super::super::page::{Layout, html, internal_error, refused, see_other};
use super::super::session::{
    LOGIN_COOKIE, SESSION_COOKIE, Signed, cookie, session_token, set_cookie,
};

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    l: Layout,
    csrf: String,
    email: String,
    needs_code: bool,
    error: Option<String>,
}

/// What the login form sends. Missing fields are empty, and fail as such.
#[derive(Deserialize)]
pub(in super::super) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// `GET /console/login`: the form (or the dashboard, for a browser already signed in).
pub(in super::super) async fn form(
    State(state): State<ConsoleState>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&uri, &headers);
    let secure = state.settings.secure();
    if let Some(token) = session_token(&headers) {
        if let Ok(Some(_)) = state.accounts.session(&token, Timestamp::now()).await {
            return see_other("/console", remember(&uri, secure));
        }
    }
    render(
        &state,
        lang,
        StatusCode::OK,
        String::new(),
        false,
        None,
        &uri,
    )
}

/// `POST /console/login`.
pub(in super::super) async fn submit(
    State(state): State<ConsoleState>,
    ClientIp(ip): ClientIp,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&uri, &headers);
    let t = lang.strings();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !token_matches(expected, &form.csrf) {
        let message = Some(t.form_expired.to_owned());
        return render(
            &state,
            lang,
            StatusCode::FORBIDDEN,
            form.email,
            false,
            message,
            &uri,
        );
    }
    // The session the browser still holds ends at login: a planted or old token never survives it.
    let replaces = session_token(&headers);
    let code = form.code.trim();
    let attempt = LoginAttempt {
        email: &form.email,
        password: Password::offered(form.password),
        totp: (!code.is_empty()).then_some(code),
        ip: ip.as_deref(),
        replaces: replaces.as_ref(),
        now: Timestamp::now(),
    };
    let email = form.email.clone();
    let refusal = match state.accounts.login(attempt).await {
        Ok(signed) => {
            let secure = state.settings.secure();
            let max_age = state.accounts.policy().absolute.as_secs();
            let cookies = [
                set_cookie(
                    SESSION_COOKIE,
                    signed.token.expose(),
                    "/console",
                    max_age,
                    secure,
                ),
                set_cookie(LOGIN_COOKIE, "", "/console/login", 0, secure),
            ];
            return see_other("/console", cookies);
        }
        Err(AccountError::BadCredentials) => (
            StatusCode::UNAUTHORIZED,
            t.bad_credentials.to_owned(),
            false,
        ),
        Err(AccountError::Locked { until }) => (
            StatusCode::TOO_MANY_REQUESTS,
            t.locked
                .replace("{until}", &format!("{} (UTC+8)", time(until))),
            false,
        ),
        Err(AccountError::TooManyAttempts) => {
            let minutes = state.accounts.policy().ip_window.as_secs().div_ceil(60);
            (
                StatusCode::TOO_MANY_REQUESTS,
                t.too_many_attempts
                    .replace("{minutes}", &minutes.to_string()),
                false,
            )
        }
        Err(AccountError::SecondFactorRequired) => (
            StatusCode::UNAUTHORIZED,
            t.second_factor_required.to_owned(),
            true,
        ),
        Err(AccountError::BadSecondFactor) => {
            (StatusCode::UNAUTHORIZED, t.bad_code.to_owned(), true)
        }
        Err(e) => {
            tracing::error!(error = %e, "console: a login failed");
            return internal_error(lang);
        }
    };
    let (status, message, needs_code) = refusal;
    render(&state, lang, status, email, needs_code, Some(message), &uri)
}

/// `POST /console/logout`: ends the session and removes the cookie.
pub(in super::super) async fn logout(
    State(state): State<ConsoleState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !signed.csrf_ok(&form.csrf) {
        return refused(&headers);
    }
    let ip = signed.ip.as_deref();
    if let Err(e) = state
        .accounts
        .logout(&signed.token, ip, Timestamp::now())
        .await
    {
        tracing::error!(error = %e, "console: a logout failed");
        return internal_error(signed.lang);
    }
    let gone = set_cookie(SESSION_COOKIE, "", "/console", 0, state.settings.secure());
    see_other("/console/login", [gone])
}

/// A form that sends its CSRF token and nothing else.
#[derive(Deserialize)]
pub(in super::super) struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// The form, with a fresh login cookie and token.
fn render(
    state: &ConsoleState,
    lang: Lang,
    status: StatusCode,
    email: String,
    needs_code: bool,
    error: Option<String>,
    uri: &Uri,
) -> Response {
    let secure = state.settings.secure();
    let csrf = new_csrf_token();
    let page = LoginPage {
        l: Layout::anonymous(
            lang,
            state.settings.sandbox,
            lang.strings().login_title,
            "/console/login",
        ),
        csrf: csrf.clone(),
        email,
        needs_code,
        error,
    };
    let login_cookie: HeaderValue = set_cookie(LOGIN_COOKIE, &csrf, "/console/login", 3600, secure);
    html(
        status,
        &page,
        lang,
        std::iter::once(login_cookie).chain(remember(uri, secure)),
    )
}

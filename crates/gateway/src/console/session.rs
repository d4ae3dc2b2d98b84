//! The session cookie and who it signs in.
//!
//! The cookie (`pg_session`) holds the session token and nothing else; it is `HttpOnly` (no script
//! reads it), `SameSite=Strict` (no other site's page makes the browser send it), `Path=/console`
//! (under `public_url`'s path, if it has one: the merchant API and checkout pages never receive it) and `Secure` when `public_url` is https.
//! The server keeps only the token's hash, with the session's idle and absolute expiry; every
//! login starts a new session and ends the one the browser still had (`AccountService::login`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::domain::{Session, SessionToken, Timestamp, User};

use super::ConsoleState;
use super::client::client_ip;
use super::csrf::token_matches;
use super::lang::{Lang, lang_of};
use super::page::{internal_error, refused, to_login};
use super::root::href;

pub(super) const SESSION_COOKIE: &str = "pg_session";
/// The login form's own CSRF value, before there is a session.
pub(super) const LOGIN_COOKIE: &str = "pg_login";
pub(super) const LANG_COOKIE: &str = "pg_lang";

/// The first value of cookie `name` in the request's `Cookie` headers.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: `name=value` with `Path` (the console route `path` as the browser sees
/// it: under `public_url`'s path), `HttpOnly`, `SameSite=Strict`, `Secure` when asked, and
/// `Max-Age` (0 removes it).
pub(super) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: u64,
    secure: bool,
) -> HeaderValue {
    let path = href(path);
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    );
    // Every part is ASCII without control characters: tokens are letters and digits.
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("pg_invalid=; Max-Age=0"))
}

/// The session token the browser sent, if it has the shape of one.
pub(super) fn session_token(headers: &HeaderMap) -> Option<SessionToken> {
    cookie(headers, SESSION_COOKIE).and_then(|v| SessionToken::parse(v).ok())
}

/// A signed-in user: extracting one from a request without a live session answers with the way to
/// the login page instead.
pub(super) struct Signed {
    pub token: SessionToken,
    pub user: User,
    pub session: Session,
    pub lang: Lang,
    pub ip: Option<String>,
}

impl Signed {
    /// Whether `sent` is this session's CSRF token.
    pub(super) fn csrf_ok(&self, sent: &str) -> bool {
        token_matches(&self.session.csrf_token, sent)
    }
}

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.uri, &parts.headers);
        let Some(token) = session_token(&parts.headers) else {
            return Err(to_login(&parts.headers, state));
        };
        match state.accounts.session(&token, Timestamp::now()).await {
            Ok(Some((session, user))) => Ok(Self {
                ip: client_ip(parts, &state.settings.trusted_proxies),
                token,
                user,
                session,
                lang,
            }),
            Ok(None) => Err(to_login(&parts.headers, state)),
            Err(e) => {
                tracing::error!(error = %e, "console: could not read a session");
                Err(internal_error(lang))
            }
        }
    }
}

/// A signed-in user who may change things: a viewer's request is refused (403).
pub(super) struct Acting(pub Signed);

impl FromRequestParts<ConsoleState> for Acting {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let signed = Signed::from_request_parts(parts, state).await?;
        if signed.user.role.may_act() {
            Ok(Self(signed))
        } else {
            Err(refused(&parts.headers))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cookie_of_a_name_is_read() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; pg_session=first; b=2"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("pg_session=second"),
        );
        assert_eq!(cookie(&headers, "pg_session"), Some("first"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "pg"), None);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_when_asked() {
        let v = set_cookie("pg_session", "pgs_x", "/console", 60, true);
        assert_eq!(
            v.to_str().unwrap(),
            "pg_session=pgs_x; Path=/console; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        let v = set_cookie("pg_session", "", "/console", 0, false);
        assert!(!v.to_str().unwrap().contains("Secure"));
    }
}

//! `GET /connect/oauth2/authorize`: where a site sends the payer's browser to learn its openid.
//! Silent, as snsapi_base is: a `302` straight back to `redirect_uri` with `code` and `state`.
//! (`#wechat_redirect` is a fragment: browsers never send it, so it is never looked at.)

use axum::extract::{RawQuery, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::codes::Grant;
use super::{SnsScope, user};
use crate::wechat::Sim;
use crate::wechat::crypto::now_unix;
use crate::wechat::html;

/// WeChat takes at most 128 bytes of `state`.
const MAX_STATE: usize = 128;

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    appid: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    /// Sim-only: the openid this code stands for, instead of the browser's own.
    sim_openid: Option<String>,
}

/// A request that passed every check.
struct Authorize {
    appid: String,
    redirect_uri: url::Url,
    scope: SnsScope,
    state: String,
    forced_openid: Option<String>,
}

pub async fn authorize(
    State(sim): State<Sim>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let a = match parse(&sim, query.as_deref().unwrap_or("")) {
        Ok(a) => a,
        Err(text) => return refused(text),
    };
    let known = user::from_headers(&headers);
    let user = known.clone().unwrap_or_else(user::new_user);
    let openid = a
        .forced_openid
        .unwrap_or_else(|| user::openid(&a.appid, &user));
    let code = sim.oauth_codes.issue(
        Grant {
            appid: a.appid.clone(),
            openid,
            scope: a.scope,
        },
        now_unix(),
    );
    let mut target = a.redirect_uri;
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &a.state);
    let Ok(location) = HeaderValue::from_str(target.as_str()) else {
        return refused("redirect_uri 参数错误");
    };
    let mut response = (StatusCode::FOUND, [(LOCATION, location)]).into_response();
    if known.is_none() {
        if let Ok(cookie) = HeaderValue::from_str(&user::set_cookie(&user)) {
            response.headers_mut().insert(SET_COOKIE, cookie);
        }
    }
    tracing::info!(appid = %a.appid, scope = a.scope.as_str(), "wechat web authorisation");
    response
}

/// Checks the query: appid, redirect_uri, response_type, scope, state. The refusal is the text of
/// the error page: WeChat's own words for redirect_uri and scope, the same pattern for the others.
fn parse(sim: &Sim, query: &str) -> Result<Authorize, &'static str> {
    let q: AuthorizeQuery = serde_urlencoded::from_str(query).map_err(|_| "参数错误")?;
    let appid = q.appid.filter(|a| !a.is_empty()).ok_or("appid 参数错误")?;
    if !sim.store.read(|s| s.knows_appid(&appid)) {
        return Err("appid 参数错误");
    }
    let redirect_uri = q
        .redirect_uri
        .as_deref()
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or("redirect_uri 参数错误")?;
    if q.response_type.as_deref() != Some("code") {
        return Err("response_type 参数错误");
    }
    let scope = q
        .scope
        .as_deref()
        .and_then(SnsScope::parse)
        .ok_or("Scope 参数错误或没有 Scope 权限")?;
    let state = q.state.unwrap_or_default();
    if state.len() > MAX_STATE {
        return Err("state 参数错误");
    }
    let forced_openid = match q.sim_openid {
        Some(o) if user::forced_openid_ok(&o) => Some(o),
        Some(_) => return Err("sim_openid 参数错误 (simulator only: 1-64 of A-Z a-z 0-9 _ -)"),
        None => None,
    };
    Ok(Authorize {
        appid,
        redirect_uri,
        scope,
        state,
        forced_openid,
    })
}

fn refused(text: &str) -> Response {
    html::message(StatusCode::BAD_REQUEST, "微信网页授权", "error", text)
}

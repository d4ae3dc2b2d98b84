//! `GET /sns/oauth2/access_token`: the merchant's server trades a code for the openid, proving it
//! is the official account with the AppSecret. WeChat answers HTTP 200 whatever happens, with the
//! token or `{errcode, errmsg}`.

use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::codes::Refused;
use crate::wechat::Sim;
use crate::wechat::crypto::now_unix;

/// What a web-authorisation access token is said to last, in seconds.
const EXPIRES_IN: i64 = 7200;

#[derive(Debug, Deserialize)]
struct TokenQuery {
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
}

/// An error answer: WeChat's code and words; the `rid` is added when answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SnsError {
    errcode: i32,
    errmsg: &'static str,
}

const INVALID_CREDENTIAL: SnsError = SnsError {
    errcode: 40001,
    errmsg: "invalid credential",
};
const INVALID_GRANT_TYPE: SnsError = SnsError {
    errcode: 40002,
    errmsg: "invalid grant_type",
};
const INVALID_APPID: SnsError = SnsError {
    errcode: 40013,
    errmsg: "invalid appid",
};
const INVALID_CODE: SnsError = SnsError {
    errcode: 40029,
    errmsg: "invalid code",
};
const INVALID_APPSECRET: SnsError = SnsError {
    errcode: 40125,
    errmsg: "invalid appsecret",
};
const CODE_USED: SnsError = SnsError {
    errcode: 40163,
    errmsg: "code been used",
};
const APPID_MISSING: SnsError = SnsError {
    errcode: 41002,
    errmsg: "appid missing",
};
const APPSECRET_MISSING: SnsError = SnsError {
    errcode: 41004,
    errmsg: "appsecret missing",
};
const CODE_MISSING: SnsError = SnsError {
    errcode: 41008,
    errmsg: "missing code",
};

pub async fn access_token(State(sim): State<Sim>, RawQuery(query): RawQuery) -> Response {
    match exchange(&sim, query.as_deref().unwrap_or("")) {
        Ok(v) => answer(&v),
        Err(e) => {
            tracing::info!(
                errcode = e.errcode,
                "wechat web authorisation token refused"
            );
            answer(&json!({
                "errcode": e.errcode,
                "errmsg": format!("{}, rid: {}", e.errmsg, rid()),
            }))
        }
    }
}

/// Checks in WeChat's order: the parameters are there, the grant type, the account and its
/// secret, then the code (so a wrong secret does not use the code up).
fn exchange(sim: &Sim, query: &str) -> Result<Value, SnsError> {
    let q: TokenQuery = serde_urlencoded::from_str(query).map_err(|_| INVALID_CREDENTIAL)?;
    let present = |v: Option<String>, missing| v.filter(|v| !v.is_empty()).ok_or(missing);
    let appid = present(q.appid, APPID_MISSING)?;
    let secret = present(q.secret, APPSECRET_MISSING)?;
    let code = present(q.code, CODE_MISSING)?;
    if q.grant_type.as_deref() != Some("authorization_code") {
        return Err(INVALID_GRANT_TYPE);
    }
    let registered = sim
        .store
        .read(|s| s.oauth_apps.get(&appid).map(|a| a.secret.clone()))
        .ok_or(INVALID_APPID)?;
    if registered != secret {
        return Err(INVALID_APPSECRET);
    }
    let grant = sim
        .oauth_codes
        .redeem(&code, &appid, now_unix())
        .map_err(|r| match r {
            Refused::Invalid => INVALID_CODE,
            Refused::Used => CODE_USED,
        })?;
    // The tokens open nothing in the simulator (it has no `/sns/userinfo`): opaque strings shaped
    // like WeChat's.
    Ok(json!({
        "access_token": token(),
        "expires_in": EXPIRES_IN,
        "refresh_token": token(),
        "openid": grant.openid,
        "scope": grant.scope.as_str(),
    }))
}

fn token() -> String {
    format!("86_{}", channel_core::nonce::alphanumeric(100))
}

/// WeChat's request id, quoted in every error message: three groups of 8 hex digits.
fn rid() -> String {
    let mut b = [0u8; 8];
    channel_core::nonce::fill(&mut b);
    format!(
        "{:08x}-{}-{}",
        now_unix() & 0xffff_ffff,
        hex::encode(&b[..4]),
        hex::encode(&b[4..])
    )
}

/// HTTP 200 and JSON, whatever the outcome, as WeChat answers.
fn answer(v: &Value) -> Response {
    (
        [(CONTENT_TYPE, "application/json; encoding=utf-8")],
        v.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rids_look_like_wechats() {
        let r = rid();
        let groups: Vec<&str> = r.split('-').collect();
        assert_eq!(groups.len(), 3, "{r}");
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 8 && g.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }
}

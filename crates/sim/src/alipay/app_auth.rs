//! Third-party app authorisation (第三方应用授权): a merchant authorises a service provider's app,
//! which then calls for the merchant by adding `app_auth_token` to its calls.
//!
//! Control API: `POST /sim/alipay/app-auth {app_id, merchant_id?, auth_app_id?}` → the token, shaped
//! after `alipay.open.auth.token.app`'s answer: `{app_auth_token, app_refresh_token, user_id,
//! auth_app_id, expires_in, re_expires_in}`. `merchant_id` is the merchant's account (`user_id`,
//! `2088…`; a fresh one when absent). Authorising the same merchant again issues a new token and
//! the old one stops working, as Alipay's authorisation FAQ says of repeated authorisations
//! ("每次重复授权时,授权令牌 app_auth_token 的值会被刷新,旧的值会失效"; Alipay lets the old one linger
//! "一定时间", the simulator ends it at once). The merchant keeps its `auth_app_id`.
//!
//! The gateway resolves the token of every call that carries one ([`resolve`]): an unknown token,
//! or one another app was given, is refused as Alipay refuses it, `20001 Insufficient Token
//! Permissions` / `aop.invalid-app-auth-token` "无效的应用授权令牌" (the code, message and sub-message
//! asserted by the official Alipay Easy SDK's own tests of an ISV call with a bad token, and listed
//! in Alipay's public error-code table; that a token of another app gets the same answer is
//! inferred).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::Sim;
use super::control::problem;
use super::state::{AppAuth, Merchant, now_ms};
use super::wire::{Refusal, china_date};

/// How long Alipay says a token lasts (`expires_in`, `re_expires_in`): 365 and 372 days. The
/// simulator's tokens do not expire.
const EXPIRES_IN_SECS: i64 = 31_536_000;
const RE_EXPIRES_IN_SECS: i64 = 32_140_800;

pub(crate) fn router() -> Router<Sim> {
    Router::new().route("/sim/alipay/app-auth", post(authorise))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Authorise {
    app_id: String,
    /// The merchant's account, `user_id` in Alipay's answer.
    merchant_id: Option<String>,
    /// The merchant's own app; made up when absent.
    auth_app_id: Option<String>,
}

/// The refusal of a call whose `app_auth_token` is unknown or not this app's.
pub(crate) fn invalid_token() -> Refusal {
    Refusal {
        code: "20001",
        msg: "Insufficient Token Permissions",
        sub_code: "aop.invalid-app-auth-token",
        sub_msg: "无效的应用授权令牌".into(),
    }
}

/// The merchant `app_auth_token` lets `app_id` call for.
pub(crate) fn resolve(sim: &Sim, app_id: &str, app_auth_token: &str) -> Result<Merchant, Refusal> {
    sim.store
        .read(|s| {
            s.app_auths
                .get(app_auth_token)
                .filter(|a| a.app_id == app_id)
                .map(|a| a.merchant.clone())
        })
        .ok_or_else(invalid_token)
}

fn digits(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    channel_core::nonce::fill(&mut bytes);
    bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
}

/// Tokens look like Alipay's: the month, `BB`, then 32 letters and digits.
fn new_token(now: i64) -> String {
    let month: String = china_date(now)
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    format!("{month}BB{}", channel_core::nonce::alphanumeric(32))
}

async fn authorise(State(sim): State<Sim>, Json(req): Json<Authorise>) -> Response {
    if sim.store.read(|s| !s.apps.contains_key(&req.app_id)) {
        return problem(StatusCode::NOT_FOUND, "unknown app_id");
    }
    let user_id = req
        .merchant_id
        .clone()
        .unwrap_or_else(|| format!("2088{}", digits(12)));
    if user_id.len() != 16
        || !user_id.starts_with("2088")
        || !user_id.bytes().all(|b| b.is_ascii_digit())
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "merchant_id must be 2088 and 12 digits",
        );
    }
    let now = now_ms();
    let fresh = AppAuth {
        app_id: req.app_id.clone(),
        app_auth_token: new_token(now),
        app_refresh_token: new_token(now),
        merchant: Merchant {
            user_id,
            auth_app_id: req
                .auth_app_id
                .clone()
                .unwrap_or_else(|| format!("2021{}", digits(12))),
        },
        issued_ms: now,
    };
    let saved = sim
        .store
        .update(|s| {
            let earlier: Vec<AppAuth> = s
                .app_auths
                .values()
                .filter(|a| {
                    a.app_id == fresh.app_id && a.merchant.user_id == fresh.merchant.user_id
                })
                .cloned()
                .collect();
            let mut issued = fresh;
            for old in earlier {
                // The merchant's own app does not change with a new authorisation.
                issued.merchant.auth_app_id = old.merchant.auth_app_id;
                s.app_auths.remove(&old.app_auth_token);
            }
            s.app_auths
                .insert(issued.app_auth_token.clone(), issued.clone());
            issued
        })
        .await;
    match saved {
        Ok(a) => {
            tracing::info!(app_id = %a.app_id, user_id = %a.merchant.user_id, "alipay merchant authorised an app");
            Json(json!({
                "app_auth_token": a.app_auth_token,
                "app_refresh_token": a.app_refresh_token,
                "user_id": a.merchant.user_id,
                "auth_app_id": a.merchant.auth_app_id,
                "expires_in": EXPIRES_IN_SECS,
                "re_expires_in": RE_EXPIRES_IN_SECS,
            }))
            .into_response()
        }
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

//! Control API: `POST /sim/wechat/oauth/apps {appid, secret}` → `{appid}`. Sets the AppSecret of
//! an official account, which the token exchange checks; again for the same appid replaces it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::wechat::Sim;
use crate::wechat::error::{ApiError, ApiResult, internal};
use crate::wechat::state::OAuthApp;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    appid: String,
    secret: String,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

pub async fn register(State(sim): State<Sim>, body: Bytes) -> ApiResult<Json<Value>> {
    let r: Registration = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    if r.appid.is_empty() || !r.appid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("appid must be non-empty letters and digits"));
    }
    // It travels in a query string: printable ASCII without spaces keeps it unambiguous.
    if r.secret.is_empty() || !r.secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad(
            "secret must be non-empty printable ASCII without spaces",
        ));
    }
    let appid = r.appid.clone();
    sim.store
        .update(|s| {
            s.oauth_apps.insert(
                r.appid.clone(),
                OAuthApp {
                    appid: r.appid,
                    secret: r.secret,
                },
            )
        })
        .await
        .map_err(internal)?;
    tracing::info!(%appid, "wechat official account secret set");
    Ok(Json(json!({ "appid": appid })))
}

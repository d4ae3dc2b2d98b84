//! Binding sub-merchants (特约商户) to a service provider (受理关系), through the control API:
//!
//! - `POST /sim/wechat/sub-merchants {sp_mchid, sub_mchid, sub_appids?: [..], max_ratio?}` →
//!   `{sp_mchid, sub_mchid, sub_appids, max_ratio}`. Binding again is harmless: the sub-merchant
//!   keeps the appids it had and gains the new ones (a binding is never undone by this call).
//!   `max_ratio` (ten-thousandths, default 3000 = 30%) is the share of a payment the sub-merchant
//!   lets the provider split away; given again, it replaces the earlier one.
//! - `POST /sim/wechat/merchants` accepts `sub_merchants: [{sub_mchid, sub_appids?, max_ratio?}]`
//!   to register a service provider with its sub-merchants in one call (see `control`).
//!
//! Every partner call checks the binding (`scope::check_sub_merchant`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sim;
use super::error::{ApiError, ApiResult, internal};
use super::state::{DEFAULT_MAX_RATIO, SubMerchant, WechatState, sub_merchant_key};

pub fn router() -> Router<Sim> {
    Router::new().route("/sim/wechat/sub-merchants", post(bind_route))
}

/// A sub-merchant as the control API names it, under a service provider named elsewhere.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubMerchantIn {
    pub sub_mchid: String,
    #[serde(default)]
    pub sub_appids: Vec<String>,
    pub max_ratio: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Binding {
    sp_mchid: String,
    sub_mchid: String,
    #[serde(default)]
    sub_appids: Vec<String>,
    max_ratio: Option<i64>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

/// Checks the ids of a binding before anything is stored.
pub fn check(sub: &SubMerchantIn) -> ApiResult<()> {
    if sub.sub_mchid.is_empty() || !sub.sub_mchid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("sub_mchid must be non-empty letters and digits"));
    }
    if sub.sub_appids.iter().any(String::is_empty) {
        return Err(bad("sub_appids must not be empty strings"));
    }
    if sub.max_ratio.is_some_and(|r| !(0..=10_000).contains(&r)) {
        return Err(bad("max_ratio is in ten-thousandths: 0 to 10000"));
    }
    Ok(())
}

/// Binds `sub` to `sp_mchid` in the state (the caller checked both); returns the binding.
pub fn bind(s: &mut WechatState, sp_mchid: &str, sub: &SubMerchantIn) -> SubMerchant {
    let key = sub_merchant_key(sp_mchid, &sub.sub_mchid);
    let mut bound = s.sub_merchants.get(&key).cloned().unwrap_or(SubMerchant {
        sp_mchid: sp_mchid.to_owned(),
        sub_mchid: sub.sub_mchid.clone(),
        sub_appids: Vec::new(),
        max_ratio: DEFAULT_MAX_RATIO,
    });
    if let Some(r) = sub.max_ratio {
        bound.max_ratio = r;
    }
    for appid in &sub.sub_appids {
        if !bound.sub_appids.contains(appid) {
            bound.sub_appids.push(appid.clone());
        }
    }
    if s.sub_merchants.get(&key) != Some(&bound) {
        s.sub_merchants.insert(key, bound.clone());
    }
    bound
}

pub fn binding_json(b: &SubMerchant) -> Value {
    json!({
        "sp_mchid": b.sp_mchid, "sub_mchid": b.sub_mchid, "sub_appids": b.sub_appids,
        "max_ratio": b.max_ratio,
    })
}

async fn bind_route(State(sim): State<Sim>, body: axum::body::Bytes) -> ApiResult<Json<Value>> {
    let b: Binding = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    let sub = SubMerchantIn {
        sub_mchid: b.sub_mchid,
        sub_appids: b.sub_appids,
        max_ratio: b.max_ratio,
    };
    check(&sub)?;
    let bound = sim
        .store
        .update(|s| {
            if !s.merchants.contains_key(&b.sp_mchid) {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "sp_mchid is not a registered merchant",
                ));
            }
            Ok(bind(s, &b.sp_mchid, &sub))
        })
        .await
        .map_err(internal)??;
    tracing::info!(sp_mchid = %bound.sp_mchid, sub_mchid = %bound.sub_mchid, "wechat sub-merchant bound");
    Ok(Json(binding_json(&bound)))
}

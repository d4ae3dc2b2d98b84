//! Profit sharing (分账): receivers, splits of orders paid with `settle_info.profit_sharing`,
//! unfreezing the rest, returns from merchant receivers; for direct merchants, and for service
//! providers on behalf of bound sub-merchants (the same calls with `sub_mchid`, each sub-merchant
//! with its own receivers and splits, and `GET /v3/profitsharing/merchant-configs/{sub_mchid}`).
//!
//! How much may go to others: 30% of the payment for a direct merchant (WeChat Pay's default);
//! for a service provider, the ratio its sub-merchant authorised (`max_ratio` on the binding,
//! 30% unless the control API says otherwise), as WeChat Pay bounds partner splits by it.
//!
//! The money rules live in [`Ledger`]: what is left to split is what was paid, less refunds, less
//! earlier splits (nothing once unfrozen); a refund may take only what was not split out.

pub mod model;
mod notices;
mod receivers;
mod returns;
mod splits;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::Sim;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::scope::{Scope, check_sub_merchant};
use super::state::{DEFAULT_MAX_RATIO, WechatState, sub_merchant_key};
use model::Ledger;

/// WeChat Pay's default ceiling for a direct merchant's splits to others: 30% of the payment, in
/// ten-thousandths.
const DIRECT_MAX_RATIO: i64 = 3000;

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/v3/profitsharing/receivers/add", post(receivers::add))
        .route(
            "/v3/profitsharing/receivers/delete",
            post(receivers::delete),
        )
        .route("/v3/profitsharing/orders", post(splits::create))
        .route("/v3/profitsharing/orders/unfreeze", post(splits::unfreeze))
        .route(
            "/v3/profitsharing/orders/{out_order_no}",
            get(splits::query),
        )
        .route(
            "/v3/profitsharing/transactions/{transaction_id}/amounts",
            get(splits::amounts),
        )
        .route("/v3/profitsharing/return-orders", post(returns::create))
        .route(
            "/v3/profitsharing/return-orders/{out_return_no}",
            get(returns::query),
        )
        .route(
            "/v3/profitsharing/merchant-configs/{sub_mchid}",
            get(merchant_config),
        )
}

/// Whose profit sharing a call is about, checked: the caller's own, or a sub-merchant's bound to
/// the caller (which must then be bound, and `sub_appid`, when given, be the sub-merchant's).
#[derive(Debug, Clone)]
pub struct Sharer {
    pub mchid: String,
    pub sub_mchid: Option<String>,
    /// Ten-thousandths of a payment that may go to others.
    pub max_ratio: i64,
}

impl Sharer {
    pub fn of(
        sim: &Sim,
        caller: &Caller,
        sub_mchid: Option<&String>,
        sub_appid: Option<&String>,
    ) -> ApiResult<Self> {
        let sub_mchid = sub_mchid.filter(|s| !s.is_empty());
        let Some(sub) = sub_mchid else {
            return Ok(Self {
                mchid: caller.mchid.clone(),
                sub_mchid: None,
                max_ratio: DIRECT_MAX_RATIO,
            });
        };
        let sub_appid = sub_appid.map(String::as_str).filter(|a| !a.is_empty());
        check_sub_merchant(sim, &caller.mchid, sub, sub_appid)?;
        let max_ratio = sim
            .store
            .read(|s| {
                s.sub_merchants
                    .get(&sub_merchant_key(&caller.mchid, sub))
                    .map(|b| b.max_ratio)
            })
            .unwrap_or(DEFAULT_MAX_RATIO);
        Ok(Self {
            mchid: caller.mchid.clone(),
            sub_mchid: Some(sub.clone()),
            max_ratio,
        })
    }

    /// The key owner of this sharer's receivers, splits and returns.
    pub fn owner(&self) -> String {
        model::owner(&self.mchid, self.sub_mchid.as_deref())
    }

    pub fn scope(&self) -> Scope {
        Scope {
            mchid: self.mchid.clone(),
            sub_mchid: self.sub_mchid.clone(),
        }
    }

    /// The merchant whose money is split.
    pub fn payee(&self) -> &str {
        self.sub_mchid.as_deref().unwrap_or(&self.mchid)
    }
}

/// `GET /v3/profitsharing/merchant-configs/{sub_mchid}`: the share of a payment the service
/// provider may split away from this sub-merchant.
async fn merchant_config(
    State(sim): State<Sim>,
    Extension(caller): Extension<Caller>,
    Path(sub_mchid): Path<String>,
) -> ApiResult<Json<Value>> {
    let sharer = Sharer::of(&sim, &caller, Some(&sub_mchid), None)?;
    Ok(Json(
        json!({ "sub_mchid": sub_mchid, "max_ratio": sharer.max_ratio }),
    ))
}

/// What of the order went to receivers and stays with them, fen.
pub fn shared_out(s: &WechatState, order_key: &str) -> i64 {
    s.sharing_ledgers
        .get(order_key)
        .map_or(0, |l| l.split - l.returned)
}

/// What can still be split, fen.
fn unsplit(ledger: &Ledger, total: i64, refunded: i64) -> i64 {
    if ledger.unfrozen {
        0
    } else {
        (total - refunded - ledger.split).max(0)
    }
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

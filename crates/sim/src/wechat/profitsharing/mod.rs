//! Profit sharing (分账) for direct merchants: receivers, splits of orders paid with
//! `settle_info.profit_sharing`, unfreezing the rest, returns from merchant receivers.
//!
//! The money rules live in [`Ledger`]: what is left to split is what was paid, less refunds, less
//! earlier splits (nothing once unfrozen); a refund may take only what was not split out.

pub mod model;
mod notices;
mod receivers;
mod returns;
mod splits;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::Sim;
use super::error::ApiError;
use super::state::WechatState;
use model::Ledger;

/// WeChat Pay's default ceiling for a direct merchant's splits to others: 30% of the payment.
const MAX_RATIO_PERCENT: i64 = 30;

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

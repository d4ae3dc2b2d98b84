//! `GET /v1/balance`: what the signing site is owed, from the ledger (see `crate::domain::ledger`):
//! what its payers paid, what was refunded, the operator's fees and what was split to receivers,
//! each the sum of one of its accounts' entries, and the net. Only the signing site's own entries
//! count: there is no way to name another site.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::Ctx;
use super::auth::Signed;
use super::error::{ApiError, ErrorBody};

/// A site's balance. Fen.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1Balance {
    pub site_id: String,
    #[schema(example = "CNY")]
    pub currency: &'static str,
    /// What the site's payers paid.
    #[schema(example = 10000)]
    pub paid: i64,
    /// What reached the payers again through refunds.
    #[schema(example = 0)]
    pub refunded: i64,
    /// The operator's fees on the site's payments (not given back by refunds).
    #[schema(example = 60)]
    pub fees: i64,
    /// What was split to profit-sharing receivers.
    #[schema(example = 0)]
    pub shared: i64,
    /// `paid - refunded - fees - shared`: what the operator owes the site (negative when the site
    /// owes the operator).
    #[schema(example = 9940)]
    pub net: i64,
}

/// The signing site's balance.
#[utoipa::path(
    get, path = "/v1/balance", tag = "v1",
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The site's balance, from its ledger entries", body = V1Balance),
        (status = 401, description = "A signing failure", body = ErrorBody),
    )
)]
pub async fn get(State(ctx): State<Ctx>, signed: Signed) -> Result<Json<V1Balance>, ApiError> {
    let balance = ctx.sites.balance(&signed.site.id).await?;
    Ok(Json(V1Balance {
        site_id: signed.site.id.as_str().to_owned(),
        currency: "CNY",
        paid: balance.paid,
        refunded: balance.refunded,
        fees: balance.fees,
        shared: balance.shared,
        net: balance.net(),
    }))
}

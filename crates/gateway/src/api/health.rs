//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::Ctx;
use super::error::{ApiError, ErrorBody};

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers: this node can take requests.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "`{\"status\":\"ready\"}`"),
        (status = 503, description = "not_ready", body = ErrorBody),
    ))]
pub async fn readyz(State(ctx): State<Ctx>) -> Result<Json<Value>, ApiError> {
    match ctx.orders.ready().await {
        Ok(()) => Ok(Json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Err(ApiError::NotReady)
        }
    }
}

//! What a site can see and do about its notifications: list an order's events with every delivery
//! attempt, and re-send an event (`POST /v1/notifications/{event_id}/resend`). Both signed, both
//! scoped to the signing site: another site's order or event is not found.
//!
//! An attempt whose target was a non-public address (a site the operator lets reach its own
//! network, or a refused one) is shown without the answer's excerpt and with a generic error: what
//! an internal service answered, and where a name resolves inside the operator's network, are the
//! operator's to see (`paygate notify show`), not the site's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::Ctx;
use super::auth::Signed;
use super::error::{ApiError, ErrorBody};
use super::v1::order_no;
use crate::domain::{Attempt, NotificationEvent, Timestamp, is_token};

/// An order's notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1OrderNotifications {
    #[schema(example = "order_20240101_001")]
    pub out_trade_no: String,
    pub notifications: Vec<V1Notification>,
}

/// One event and its delivery so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1Notification {
    /// Stable across retries and re-sends: dedupe on it.
    #[schema(example = "evt_3kq9Zb7LwQp2Xc8VnT4mYr1d")]
    pub event_id: String,
    #[schema(example = "TRANSACTION.SUCCESS")]
    pub event_type: &'static str,
    /// `pending`, `delivered` or `failed`.
    #[schema(example = "delivered")]
    pub status: &'static str,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// Every attempt, first first (re-sends included).
    pub attempts: Vec<V1Attempt>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1Attempt {
    pub attempt_no: i32,
    pub at: String,
    /// The site's HTTP status; absent when no answer came.
    pub http_status: Option<u16>,
    pub latency_ms: i64,
    /// Why it did not count (`HTTP 500`, a timeout, a refused address, `no notify_url`). For a
    /// non-public target: only the HTTP status, or a generic text naming no address.
    pub error: Option<String>,
    /// The start of the site's answer; absent for a non-public target.
    pub response_excerpt: Option<String>,
}

/// The answer to a re-send.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1Resent {
    pub event_id: String,
    /// `pending`: queued for delivery now.
    #[schema(example = "pending")]
    pub status: &'static str,
}

/// The events of one of the site's orders, with their attempts.
#[utoipa::path(
    get, path = "/v1/orders/{out_trade_no}/notifications", tag = "v1",
    params(("out_trade_no" = String, Path, description = "The site's order number")),
    security(("1pass_signature" = [])),
    responses(
        (status = 200, description = "The order's notifications", body = V1OrderNotifications),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "order_not_found (also for another site's order)", body = ErrorBody),
    )
)]
pub async fn order_notifications(
    State(ctx): State<Ctx>,
    Path(out_trade_no): Path<String>,
    signed: Signed,
) -> Result<Json<V1OrderNotifications>, ApiError> {
    let no = order_no(&out_trade_no)?;
    let histories = ctx.notifications.for_order(&signed.site, &no).await?;
    let notifications = histories
        .iter()
        .map(|h| view(&h.event, &h.attempts))
        .collect();
    Ok(Json(V1OrderNotifications {
        out_trade_no: no.as_str().to_owned(),
        notifications,
    }))
}

/// Queues one of the site's events for delivery now (whatever its status), with the retry
/// schedule restarted. The body sent is the same as before; only the signature headers are fresh.
#[utoipa::path(
    post, path = "/v1/notifications/{event_id}/resend", tag = "v1",
    params(("event_id" = String, Path, description = "The event id (`evt_…`)")),
    security(("1pass_signature" = [])),
    responses(
        (status = 202, description = "Queued", body = V1Resent),
        (status = 401, description = "A signing failure", body = ErrorBody),
        (status = 404, description = "notification_not_found (also for another site's event)", body = ErrorBody),
    )
)]
pub async fn resend(
    State(ctx): State<Ctx>,
    Path(event_id): Path<String>,
    signed: Signed,
) -> Result<Response, ApiError> {
    // Event ids are `evt_` and letters or digits; anything else names no event (and text such as a
    // NUL byte must not reach the database, where PostgreSQL would refuse it as an error).
    if !is_token(&event_id, 1, 64) {
        return Err(ApiError::NotificationNotFound);
    }
    let found = ctx.notifications.resend(&signed.site, &event_id).await?;
    if !found {
        return Err(ApiError::NotificationNotFound);
    }
    let body = V1Resent {
        event_id,
        status: "pending",
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

fn view(event: &NotificationEvent, attempts: &[Attempt]) -> V1Notification {
    V1Notification {
        event_id: event.id.clone(),
        event_type: event.event_type.as_str(),
        status: event.status.as_str(),
        created_at: event.created_at.to_rfc3339(),
        delivered_at: event.delivered_at.map(Timestamp::to_rfc3339),
        attempts: attempts.iter().map(attempt_view).collect(),
    }
}

/// What a site is told of an attempt whose target was a non-public address and got no HTTP answer
/// (refused, or unreachable): nothing of the address or of the failure's details.
const PRIVATE_TARGET_ERROR: &str =
    "not delivered: the notify URL resolves to a non-public address (details: ask the operator)";

fn attempt_view(a: &Attempt) -> V1Attempt {
    let (error, response_excerpt) = if a.private_target {
        let error = a.error.as_ref().map(|_| match a.http_status {
            Some(status) => format!("HTTP {status}"),
            None => PRIVATE_TARGET_ERROR.to_owned(),
        });
        (error, None)
    } else {
        (a.error.clone(), a.response_excerpt.clone())
    };
    V1Attempt {
        attempt_no: a.attempt_no,
        at: a.at.to_rfc3339(),
        http_status: a.http_status,
        latency_ms: a.latency_ms,
        error,
        response_excerpt,
    }
}

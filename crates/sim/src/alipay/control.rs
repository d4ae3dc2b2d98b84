//! The Alipay control API: register apps, act as the buyer, read the callback log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::cashier::{Settle, settle};
use super::state::{App, SELLER_ID, Trade, trade_key};
use super::wire::Refusal;
use super::{CHANNEL, Sim};

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/sim/alipay/apps", post(register))
        .route("/sim/alipay/apps/{app_id}", get(show_app))
        .route("/sim/alipay/trades/{out_trade_no}", get(show_trade))
        .route("/sim/alipay/trades/{out_trade_no}/pay", post(pay))
        .route("/sim/alipay/trades/{out_trade_no}/fail", post(fail))
        .route("/sim/alipay/trades/{out_trade_no}/finish", post(finish))
        .route("/sim/alipay/callbacks", get(callbacks))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    app_id: String,
    app_public_key_pem: String,
    /// Where notifications go when a payment names no `notify_url`.
    notify_url: Option<String>,
}

fn app_json(app: &App) -> serde_json::Value {
    // `seller_id`: the merchant account the app's payments go to, which its notifications name.
    json!({ "app_id": app.app_id, "alipay_public_key_pem": app.alipay_public_key_pem, "notify_url": app.notify_url, "seller_id": SELLER_ID })
}

pub(super) fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// `POST /sim/alipay/apps`: registers an app (or replaces its public key); the Alipay key stays.
async fn register(State(sim): State<Sim>, Json(req): Json<Register>) -> Response {
    if req.app_id.is_empty() {
        return problem(StatusCode::BAD_REQUEST, "app_id is empty");
    }
    match sim
        .register(&req.app_id, &req.app_public_key_pem, req.notify_url)
        .await
    {
        Ok(app) => Json(app_json(&app)).into_response(),
        Err(e) => problem(StatusCode::BAD_REQUEST, e),
    }
}

async fn show_app(State(sim): State<Sim>, Path(app_id): Path<String>) -> Response {
    match sim.store.read(|s| s.apps.get(&app_id).cloned()) {
        Some(app) => Json(app_json(&app)).into_response(),
        None => problem(StatusCode::NOT_FOUND, "unknown app_id"),
    }
}

#[derive(Debug, Deserialize)]
struct AppQuery {
    app_id: String,
    /// The authorising merchant's account, for a trade made with its `app_auth_token`.
    merchant_id: Option<String>,
    /// The payer, for `pay` on a trade that names none (default: the sandbox buyer).
    buyer_id: Option<String>,
}

pub(super) fn trade_json(t: &Trade) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("trade_status".into(), json!(t.status.as_str()));
        map.insert("refunded_fen".into(), json!(t.refunded_fen()));
        map.insert("settled_fen".into(), json!(t.settled_fen()));
    }
    v
}

async fn show_trade(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<AppQuery>,
) -> Response {
    let key = trade_key(&q.app_id, q.merchant_id.as_deref(), &no);
    let now = super::state::now_ms();
    // Apply expiry so what the control API shows matches what a query would answer.
    let t = super::trade::update(&sim, |s| {
        let t = s.trades.get_mut(&key).ok_or_else(Refusal::not_exist)?;
        t.expire(now);
        Ok(t.clone())
    })
    .await;
    match t {
        Ok(t) => Json(trade_json(&t)).into_response(),
        Err(r) => refusal(&r),
    }
}

async fn pay(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<AppQuery>,
) -> Response {
    let key = trade_key(&q.app_id, q.merchant_id.as_deref(), &no);
    act(
        &sim,
        &key,
        Settle::Pay {
            buyer_id: q.buyer_id,
        },
    )
    .await
}

async fn fail(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<AppQuery>,
) -> Response {
    act(
        &sim,
        &trade_key(&q.app_id, q.merchant_id.as_deref(), &no),
        Settle::Fail,
    )
    .await
}

async fn finish(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    Query(q): Query<AppQuery>,
) -> Response {
    act(
        &sim,
        &trade_key(&q.app_id, q.merchant_id.as_deref(), &no),
        Settle::Finish,
    )
    .await
}

async fn act(sim: &Sim, key: &str, what: Settle) -> Response {
    match settle(sim, key, what).await {
        Ok(t) => Json(trade_json(&t)).into_response(),
        Err(r) => refusal(&r),
    }
}

pub(super) fn refusal(r: &Refusal) -> Response {
    let status = if r.sub_code == "ACQ.TRADE_NOT_EXIST" {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::CONFLICT
    };
    (
        status,
        Json(json!({ "error": r.sub_msg, "sub_code": r.sub_code })),
    )
        .into_response()
}

/// `GET /sim/alipay/callbacks`: the Alipay part of the shared callback log.
async fn callbacks(State(sim): State<Sim>) -> Response {
    crate::callbacks::list_channel(&sim.ctx, CHANNEL)
        .await
        .into_response()
}

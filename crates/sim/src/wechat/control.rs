//! The WeChat control API (not part of WeChat Pay; unauthenticated, unsigned), for tests and the
//! sandbox:
//!
//! - `POST /sim/wechat/merchants` `{mchid, serial_no, merchant_public_key_pem, apiv3_key, appids,
//!   mode?: "public_key"|"certificate", auto_refund?: bool}` → `{mchid, mode, public_key_id,
//!   public_key_pem, platform_serial_no, platform_certificate_pem}`. Registering a mchid again
//!   updates it and keeps its platform key. A service provider may bring its sub-merchants along:
//!   `sub_merchants: [{sub_mchid, sub_appids?}]` binds each (as `POST /sim/wechat/sub-merchants`
//!   does, see `sub_merchants`), and the answer lists them as `sub_merchants`. A merchant that
//!   receives profit-sharing splits names where it wants to hear of them with
//!   `profit_sharing_notify_url` (see `profitsharing::notices`).
//! - `POST /sim/wechat/orders/{out_trade_no}/pay?mchid=…[&sub_mchid=…][&openid=…]` → the order
//!   (as the query answers it) after the payer paid; TRANSACTION.SUCCESS follows.
//! - `POST /sim/wechat/orders/{out_trade_no}/fail?mchid=…[&sub_mchid=…]` → PAYERROR.
//! - `POST /sim/wechat/orders/{out_trade_no}/pay-silently?mchid=…[&sub_mchid=…][&openid=…]` → the
//!   order, paid, but no TRANSACTION.SUCCESS is ever sent; an order the merchant already closed
//!   is paid too (the close lost the race with the payer). Queries and the bill say SUCCESS.
//! - Making WeChat Pay's records differ from the merchant's for reconciliation tests (a trade the
//!   merchant never created, a billed amount that is not the ordered one): see `bill_controls`.
//! - `POST /sim/wechat/jsapi/pay {prepay_id}` → the order, paid as the payer's WeChat does after
//!   `getBrandWCPayRequest` (a browser test knows the prepay_id from `package`, not the order).
//! - `POST /sim/wechat/h5/expire {prepay_id}` → `{prepay_id}`: the H5 order's current pay link
//!   expires now instead of five minutes after it was issued.
//! - `POST /sim/wechat/combine/{combine_out_trade_no}/pay?mchid=…` pays every sub-order.
//! - `POST /sim/wechat/refunds/{out_refund_no}/{success|abnormal|closed}?mchid=…[&sub_mchid=…]`
//!   settles a PROCESSING refund; its REFUND.* callback follows.
//! - `GET /sim/wechat/callbacks` → the callback log of this channel.
//! - `POST /sim/wechat/oauth/apps {appid, secret}` → `{appid}` sets an official account's
//!   AppSecret for web authorisation (served by `oauth`, beside the routes it is for).
//!
//! Errors: `{"code","message"}` with 400 (bad input), 404 (unknown), 409 (wrong state).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::crypto::now_unix;
use super::error::{ApiError, ApiResult, internal};
use super::h5::link;
use super::payer::{self, Outcome};
use super::state::{Merchant, Mode, RefundStatus, TradeType, order_key};
use super::sub_merchants::{self, SubMerchantIn, binding_json};
use super::{Sim, combine, crypto, refunds};

pub fn router() -> Router<Sim> {
    Router::new()
        .route("/sim/wechat/merchants", post(register))
        .route(
            "/sim/wechat/orders/{out_trade_no}/{outcome}",
            post(pay_or_fail),
        )
        .route(
            "/sim/wechat/combine/{combine_out_trade_no}/pay",
            post(combine::control_pay),
        )
        .route(
            "/sim/wechat/refunds/{out_refund_no}/{outcome}",
            post(settle_refund),
        )
        .route("/sim/wechat/jsapi/pay", post(jsapi_pay))
        .route("/sim/wechat/h5/expire", post(expire_h5_link))
        .route("/sim/wechat/callbacks", get(callbacks))
        .merge(super::bill_controls::router())
        .merge(sub_merchants::router())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    mchid: String,
    serial_no: String,
    merchant_public_key_pem: String,
    apiv3_key: String,
    #[serde(default)]
    appids: Vec<String>,
    #[serde(default)]
    mode: Mode,
    #[serde(default = "yes")]
    auto_refund: bool,
    /// Sub-merchants to bind to this merchant as a service provider.
    #[serde(default)]
    sub_merchants: Vec<SubMerchantIn>,
    profit_sharing_notify_url: Option<String>,
}

fn yes() -> bool {
    true
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

async fn register(State(sim): State<Sim>, body: axum::body::Bytes) -> ApiResult<Json<Value>> {
    let r: Registration = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    if r.mchid.is_empty() || !r.mchid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("mchid must be non-empty letters and digits"));
    }
    if r.apiv3_key.len() != 32 {
        return Err(bad("apiv3_key must be 32 bytes"));
    }
    if r.serial_no.is_empty() {
        return Err(bad("serial_no is required"));
    }
    channel_core::RsaPublicKey::from_pem(&r.merchant_public_key_pem)
        .map_err(|e| bad(format!("merchant_public_key_pem: {e}")))?;
    for sub in &r.sub_merchants {
        sub_merchants::check(sub)?;
    }
    let existing = sim
        .store
        .read(|s| s.merchants.get(&r.mchid).map(|m| m.platform.clone()));
    // Key generation is slow; do it outside the store lock and only for a new merchant.
    let platform = match existing {
        Some(p) => p,
        None => {
            let mchid = r.mchid.clone();
            tokio::task::spawn_blocking(move || crypto::new_platform(&mchid))
                .await
                .map_err(internal)?
                .map_err(internal)?
        }
    };
    let merchant = Merchant {
        mchid: r.mchid.clone(),
        serial_no: r.serial_no,
        merchant_public_key_pem: r.merchant_public_key_pem,
        apiv3_key: r.apiv3_key,
        appids: r.appids,
        mode: r.mode,
        auto_refund: r.auto_refund,
        platform,
        profit_sharing_notify_url: r.profit_sharing_notify_url,
    };
    let subs = r.sub_merchants;
    let (p, bound) = sim
        .store
        .update(|s| {
            // Another registration may have won the race; keep its platform key.
            let platform = s
                .merchants
                .get(&merchant.mchid)
                .map_or_else(|| merchant.platform.clone(), |m| m.platform.clone());
            s.merchants.insert(
                merchant.mchid.clone(),
                Merchant {
                    platform: platform.clone(),
                    ..merchant.clone()
                },
            );
            let bound: Vec<Value> = subs
                .iter()
                .map(|sub| binding_json(&sub_merchants::bind(s, &merchant.mchid, sub)))
                .collect();
            (platform, bound)
        })
        .await
        .map_err(internal)?;
    sim.forget_keys(&r.mchid);
    tracing::info!(mchid = %r.mchid, mode = ?r.mode, "wechat merchant registered");
    let mut answer = json!({
        "mchid": r.mchid,
        "mode": r.mode,
        "public_key_id": p.public_key_id,
        "public_key_pem": p.public_key_pem,
        "platform_serial_no": p.serial_no,
        "platform_certificate_pem": p.certificate_pem,
    });
    if !bound.is_empty() {
        answer["sub_merchants"] = json!(bound);
    }
    Ok(Json(answer))
}

#[derive(Debug, Deserialize)]
struct PayQuery {
    mchid: String,
    sub_mchid: Option<String>,
    openid: Option<String>,
}

async fn pay_or_fail(
    State(sim): State<Sim>,
    Path((no, outcome)): Path<(String, String)>,
    Query(q): Query<PayQuery>,
) -> ApiResult<Json<Value>> {
    let outcome = match outcome.as_str() {
        "pay" => Outcome::Pay { openid: q.openid },
        "fail" => Outcome::Fail,
        "pay-silently" => Outcome::PaySilently { openid: q.openid },
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "use /pay, /fail or /pay-silently",
            ));
        }
    };
    let key = order_key(&q.mchid, q.sub_mchid.as_deref(), &no);
    payer::settle(&sim, &key, &outcome).await.map(Json)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ByPrepayId {
    prepay_id: String,
}

async fn jsapi_pay(State(sim): State<Sim>, body: axum::body::Bytes) -> ApiResult<Json<Value>> {
    let b: ByPrepayId = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    let key = sim
        .store
        .read(|s| s.order_by_prepay_id(&b.prepay_id, TradeType::Jsapi))
        .ok_or_else(ApiError::order_not_exist)?;
    // The order names its payer (payer.openid is required for JSAPI).
    payer::settle(&sim, &key, &Outcome::Pay { openid: None })
        .await
        .map(Json)
}

async fn expire_h5_link(State(sim): State<Sim>, body: axum::body::Bytes) -> ApiResult<Json<Value>> {
    let b: ByPrepayId = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    let now = now_unix();
    sim.store
        .update(|s| {
            let key = s
                .order_by_prepay_id(&b.prepay_id, TradeType::H5)
                .ok_or_else(ApiError::order_not_exist)?;
            let order = s
                .orders
                .get_mut(&key)
                .ok_or_else(ApiError::order_not_exist)?;
            link::expire(order, now);
            Ok(())
        })
        .await
        .map_err(internal)??;
    Ok(Json(json!({ "prepay_id": b.prepay_id })))
}

#[derive(Debug, Deserialize)]
struct RefundQuery {
    mchid: String,
    sub_mchid: Option<String>,
}

async fn settle_refund(
    State(sim): State<Sim>,
    Path((no, outcome)): Path<(String, String)>,
    Query(q): Query<RefundQuery>,
) -> ApiResult<Json<Value>> {
    let status = match outcome.as_str() {
        "success" => RefundStatus::Success,
        "abnormal" => RefundStatus::Abnormal,
        "closed" => RefundStatus::Closed,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "use /success, /abnormal or /closed",
            ));
        }
    };
    refunds::settle(
        &sim,
        &refunds::refund_key(&q.mchid, q.sub_mchid.as_deref(), &no),
        status,
    )
    .await
    .map(Json)
}

async fn callbacks(State(sim): State<Sim>) -> Json<Vec<crate::callbacks::CallbackRecord>> {
    crate::callbacks::list_channel(&sim.ctx, super::CHANNEL).await
}

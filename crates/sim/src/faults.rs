//! Fault injection shared by every channel: lost or late callbacks, API calls that fail or hang.
//!
//! Control API (same listener):
//! - `POST /sim/faults` with any subset of
//!   `{"drop_callbacks":bool,"callback_delay_ms":n,"api_error_rate":0..1,"api_rate_limit_rate":0..1,
//!   "api_hang_rate":0..1}` changes those switches and answers the whole current set;
//! - `GET /sim/faults` answers the current set; `DELETE /sim/faults` turns every fault off.
//!
//! A channel applies API faults by calling [`check_api`] before handling a call and mapping the
//! [`ApiFault`] to its own error format (WeChat: 500 `SYSTEM_ERROR` / 429 `FREQUENCY_LIMITED`;
//! Alipay: its own). Hanging calls are held until the server shuts down. Callback faults are applied
//! by [`crate::callbacks`] for every channel alike.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::SimContext;

/// The current fault switches. All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Callbacks are logged as dropped and never sent.
    pub drop_callbacks: bool,
    /// Extra wait before the first attempt of every callback (not scaled by the time scale).
    pub callback_delay_ms: u64,
    /// Share of API calls answered with a server error.
    pub api_error_rate: f64,
    /// Share of API calls answered with "too many requests".
    pub api_rate_limit_rate: f64,
    /// Share of API calls that never get an answer.
    pub api_hang_rate: f64,
}

/// A change to some switches; absent fields stay as they are.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPatch {
    pub drop_callbacks: Option<bool>,
    pub callback_delay_ms: Option<u64>,
    pub api_error_rate: Option<f64>,
    pub api_rate_limit_rate: Option<f64>,
    pub api_hang_rate: Option<f64>,
}

/// What an API call should suffer instead of being handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFault {
    ServerError,
    RateLimited,
    /// Only returned once the server is shutting down, after holding the call until then.
    Hung,
}

/// The switches, shared by the whole simulator.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    config: Arc<Mutex<FaultConfig>>,
}

impl Faults {
    #[must_use]
    pub fn get(&self) -> FaultConfig {
        *self
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn set(&self, config: FaultConfig) {
        *self
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
    }

    /// Applies a patch and returns the resulting switches. Rates are clamped to `0..=1`.
    pub fn apply(&self, patch: FaultPatch) -> FaultConfig {
        let mut c = self
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rate = |r: f64| {
            if r.is_finite() {
                r.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        if let Some(v) = patch.drop_callbacks {
            c.drop_callbacks = v;
        }
        if let Some(v) = patch.callback_delay_ms {
            c.callback_delay_ms = v;
        }
        if let Some(v) = patch.api_error_rate {
            c.api_error_rate = rate(v);
        }
        if let Some(v) = patch.api_rate_limit_rate {
            c.api_rate_limit_rate = rate(v);
        }
        if let Some(v) = patch.api_hang_rate {
            c.api_hang_rate = rate(v);
        }
        *c
    }
}

/// Decides whether this API call is hit by a fault; a hanging call returns only at shutdown.
pub async fn check_api(ctx: &SimContext) -> Result<(), ApiFault> {
    let c = ctx.faults().get();
    let roll = random_unit();
    if roll < c.api_hang_rate {
        ctx.shutting_down().await;
        return Err(ApiFault::Hung);
    }
    if roll < c.api_hang_rate + c.api_error_rate {
        return Err(ApiFault::ServerError);
    }
    if roll < c.api_hang_rate + c.api_error_rate + c.api_rate_limit_rate {
        return Err(ApiFault::RateLimited);
    }
    Ok(())
}

/// A uniform number in `[0, 1)`.
fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    channel_core::nonce::fill(&mut b);
    // 53 random bits fill an f64 mantissa exactly, so the conversion is lossless.
    #[allow(clippy::cast_precision_loss)]
    let unit = (u64::from_be_bytes(b) >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

/// `GET|POST|DELETE /sim/faults`.
pub fn router(ctx: SimContext) -> Router {
    Router::new()
        .route("/sim/faults", get(show).post(change).delete(reset))
        .with_state(ctx)
}

async fn show(State(ctx): State<SimContext>) -> Json<FaultConfig> {
    Json(ctx.faults().get())
}

async fn change(State(ctx): State<SimContext>, Json(patch): Json<FaultPatch>) -> Json<FaultConfig> {
    let now = ctx.faults().apply(patch);
    tracing::info!(?now, "faults changed");
    Json(now)
}

async fn reset(State(ctx): State<SimContext>) -> Json<FaultConfig> {
    ctx.faults().set(FaultConfig::default());
    Json(FaultConfig::default())
}

//! weidoufu on paygate: `POST /pay/miniapp`, `/pay/native` and `/pay/mobile` (JSON bodies signed
//! with the site's weidoufu secret key) make orders through the same service as `/v1`;
//! `GET /pay/query` answers one, signed too (weidoufu's own query takes no key at all). Served at
//! the root, as a client's base URL `https://open.weidoufu.com` is replaced, and under
//! `/weidoufu/` for an operator who keeps the root for something else.
//!
//! Refusals keep weidoufu's shape (`code: 0`, a Chinese `message`) with an HTTP status telling
//! whose fault it was: 401 for an unknown key or a bad sign (counted by the per-client limit on
//! failed requests), 400 for the rest of a merchant's mistakes, 502/503 for the channel's or
//! paygate's trouble. weidoufu's known client reads the body whatever the status.

mod order;
mod pay;
mod query;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use compat::weidoufu::RequestError;
use compat::weidoufu::answer::{self, Placed};
use serde_json::{Map, Value};

use super::Ctx;
use crate::domain::{CompatKey, Protocol, Site, SiteStatus};
use crate::service::ServiceError;

pub(super) fn routes() -> Router<Ctx> {
    let mut routes = Router::new();
    for prefix in ["", "/weidoufu"] {
        routes = routes
            .route(&format!("{prefix}/pay/miniapp"), post(pay::miniapp))
            .route(&format!("{prefix}/pay/native"), post(pay::native))
            .route(&format!("{prefix}/pay/mobile"), post(pay::mobile))
            .route(&format!("{prefix}/pay/query"), get(query::query));
    }
    routes
}

/// Which endpoint answers: each has its own `data` shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Miniapp,
    Native,
    Mobile,
    Query,
}

impl Endpoint {
    fn as_str(self) -> &'static str {
        match self {
            Self::Miniapp => "miniapp",
            Self::Native => "native",
            Self::Mobile => "mobile",
            Self::Query => "query",
        }
    }
}

/// A weidoufu refusal, the HTTP status it is answered with, and the order it is about if one
/// exists.
#[derive(Debug)]
struct Failure {
    message: String,
    status: StatusCode,
    mch_trade_no: Option<String>,
}

impl Failure {
    /// The merchant's mistake.
    fn client(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
            mch_trade_no: None,
        }
    }

    /// Credentials that do not hold: answered 401 so the failed-request limit counts them.
    fn unauthorised(error: &RequestError) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::client(error.to_string())
        }
    }

    /// paygate's own trouble: nothing the merchant did, worth a retry.
    fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..Self::client("系统繁忙，请稍后重试")
        }
    }

    fn about(mut self, mch_trade_no: String) -> Self {
        self.mch_trade_no = Some(mch_trade_no);
        self
    }

    /// As `endpoint` answers a refusal of the order `out_order_no` (as sent, or `""`).
    fn answer(&self, endpoint: Endpoint, out_order_no: &str) -> Response {
        let placed = Placed {
            mch_trade_no: self.mch_trade_no.as_deref().unwrap_or_default(),
            out_order_no,
        };
        let message = self.message.as_str();
        let body = match endpoint {
            Endpoint::Miniapp => json(&answer::miniapp_failure(placed, message)),
            Endpoint::Native => json(&answer::native_failure(placed, message)),
            Endpoint::Mobile => json(&answer::mobile_failure(placed, message)),
            Endpoint::Query => json(&compat::weidoufu::query_failure(placed, message)),
        };
        (self.status, body).into_response()
    }
}

impl From<RequestError> for Failure {
    fn from(error: RequestError) -> Self {
        match error {
            RequestError::BadSign | RequestError::MissingSign => Self::unauthorised(&error),
            other => Self::client(other.to_string()),
        }
    }
}

fn json<T: serde::Serialize>(answer: &T) -> Response {
    axum::Json(answer).into_response()
}

/// A JSON body's object, as pay requests send them.
fn body_object(body: &Bytes) -> Result<Map<String, Value>, Failure> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(Failure::client("请求体应为 JSON 对象")),
    }
}

/// The text of `name` in `fields`, when it is one: what a refusal repeats back.
fn text_of<'a>(fields: &'a Map<String, Value>, name: &str) -> &'a str {
    fields.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// The site `access_key` names and its weidoufu keys, once `fields` are verified under them.
///
/// # Errors
/// 401 for a key no site has (weidoufu off for the site is the same: the key is gone) or a bad
/// sign; 400 for a disabled site; 503 for store trouble.
async fn verified(ctx: &Ctx, fields: &Map<String, Value>) -> Result<(CompatKey, Site), Failure> {
    let access_key = compat::weidoufu::access_key(fields)?;
    let found = ctx
        .compat
        .lookup(Protocol::Weidoufu, access_key)
        .await
        .map_err(|e| store_trouble(&e))?;
    let Some((key, site)) = found else {
        return Err(Failure {
            status: StatusCode::UNAUTHORIZED,
            ..Failure::client("应用密钥 access_key 不存在")
        });
    };
    compat::weidoufu::verify(fields, key.secret.expose())?;
    if site.status != SiteStatus::Active {
        return Err(Failure::client("商户已被停用"));
    }
    Ok((key, site))
}

fn store_trouble(e: &ServiceError) -> Failure {
    tracing::error!(error = %e, "weidoufu: store error");
    Failure::unavailable()
}

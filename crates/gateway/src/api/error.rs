//! The merchant API's one error type, and the one place that maps it to an HTTP status and a
//! stable code. Every answer that is not a success has the shape
//! `{"error":"<code>","message":"<human text>","field":"<field>"?,"upstream":{…}?}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{Channel, DomainError};
use crate::service::{ServiceError, UpstreamOp};
use crate::store::StoreError;

/// Why a signed request was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("header {0} is required")]
    MissingHeader(&'static str),
    #[error("header {0} is malformed")]
    MalformedHeader(&'static str),
    #[error("unknown access key")]
    UnknownAccessKey,
    #[error("signature does not match")]
    InvalidSignature,
    #[error("timestamp is more than {0} seconds away from the server's clock")]
    StaleTimestamp(u64),
    #[error("nonce was already used")]
    NonceReused,
    #[error("site is disabled")]
    SiteDisabled,
}

/// Everything the API can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A request field that does not parse; names the field.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// Several required fields absent at once (seed 000's `missing_fields`).
    #[error("missing required fields: {}", .0.join(", "))]
    MissingFields(Vec<&'static str>),
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// An object in the body has a key twice: which one counts would depend on the reader.
    #[error("request body has a key twice in one object ({0}); send each key once")]
    DuplicateKey(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("request body did not arrive within {} seconds", .0.as_secs())]
    BodyTimeout(std::time::Duration),
    /// Too many unauthenticated requests from this client; it may retry after the duration.
    #[error("too many requests from this address; retry after {} seconds", retry_after_secs(*.0))]
    RateLimited(std::time::Duration),
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// No notification event of the signing site has this id (another site's event included).
    #[error("no notification of this site has this event id")]
    NotificationNotFound,
    #[error("the database is not reachable")]
    NotReady,
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Something broke inside paygate. The cause is logged, never answered.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Service(ServiceError::Store(e))
    }
}

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The stable error code.
    #[schema(example = "invalid_amount")]
    pub error: &'static str,
    /// Human-readable detail; wording may change, codes do not.
    pub message: String,
    /// The request field to blame, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// The channel's own refusal, on `*_create_failed` and `*_close_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamDetail>,
}

/// What the channel answered when it refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamDetail {
    #[schema(example = "wechat")]
    pub channel: &'static str,
    /// The channel's own error code, such as `PARAM_ERROR` or `ACQ.TRADE_HAS_SUCCESS`.
    #[schema(example = "PARAM_ERROR")]
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// The HTTP status and stable code of every error: the one mapping.
    #[must_use]
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::Auth(a) => match a {
                AuthError::MissingHeader(_) => (S::UNAUTHORIZED, "missing_auth_header"),
                AuthError::MalformedHeader(_) => (S::UNAUTHORIZED, "invalid_auth_header"),
                AuthError::UnknownAccessKey => (S::UNAUTHORIZED, "unknown_access_key"),
                AuthError::InvalidSignature => (S::UNAUTHORIZED, "invalid_signature"),
                AuthError::StaleTimestamp(_) => (S::UNAUTHORIZED, "stale_timestamp"),
                AuthError::NonceReused => (S::UNAUTHORIZED, "nonce_reused"),
                AuthError::SiteDisabled => (S::FORBIDDEN, "site_disabled"),
            },
            Self::Invalid(e) => (S::BAD_REQUEST, e.code()),
            Self::MissingFields(_) => (S::BAD_REQUEST, "missing_fields"),
            Self::InvalidJson(_) => (S::BAD_REQUEST, "invalid_json"),
            Self::DuplicateKey(_) => (S::BAD_REQUEST, "duplicate_key"),
            Self::PayloadTooLarge(_) => (S::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::BodyTimeout(_) => (S::REQUEST_TIMEOUT, "request_timeout"),
            Self::RateLimited(_) => (S::TOO_MANY_REQUESTS, "rate_limited"),
            Self::RouteNotFound => (S::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::NotificationNotFound => (S::NOT_FOUND, "notification_not_found"),
            Self::NotReady => (S::SERVICE_UNAVAILABLE, "not_ready"),
            Self::Service(e) => match e {
                ServiceError::PaymentNotConfigured(_) => (S::BAD_REQUEST, "payment_not_configured"),
                ServiceError::UnsignableForAlipay { .. } => {
                    (S::BAD_REQUEST, "alipay_invalid_characters")
                }
                ServiceError::OutTradeNoConflict => (S::CONFLICT, "out_trade_no_conflict"),
                ServiceError::NotFound => (S::NOT_FOUND, "order_not_found"),
                ServiceError::AlreadyPaid(_) => (S::CONFLICT, "order_paid"),
                ServiceError::NotClosable(_) | ServiceError::NotYetClosable { .. } => {
                    (S::CONFLICT, "order_not_closable")
                }
                ServiceError::UpstreamRefused { op, channel, .. } => {
                    (S::BAD_GATEWAY, refused_code(*channel, *op))
                }
                // Not a refusal: the call may have taken effect. 503 says "try again", and the
                // same request is safe to retry (create is idempotent).
                ServiceError::UpstreamUnknown { .. } => {
                    (S::SERVICE_UNAVAILABLE, "upstream_unavailable")
                }
                ServiceError::Channel(_) | ServiceError::Store(_) => {
                    (S::INTERNAL_SERVER_ERROR, "internal_error")
                }
            },
            Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    fn body(&self, code: &'static str, status: StatusCode) -> ErrorBody {
        let mut body = ErrorBody {
            error: code,
            message: self.to_string(),
            field: None,
            upstream: None,
        };
        match self {
            Self::Auth(AuthError::MissingHeader(h) | AuthError::MalformedHeader(h)) => {
                body.field = Some(h);
            }
            Self::Invalid(e) => body.field = Some(e.field()),
            Self::Service(ServiceError::UnsignableForAlipay { field }) => body.field = Some(field),
            Self::MissingFields(fields) => body.field = fields.first().copied(),
            Self::Service(ServiceError::UpstreamRefused {
                channel,
                code: upstream_code,
                message,
                ..
            }) => {
                body.upstream = Some(UpstreamDetail {
                    channel: channel.as_str(),
                    code: upstream_code.clone(),
                    message: message.clone(),
                });
            }
            Self::Service(ServiceError::UpstreamUnknown { channel, .. }) => {
                body.message = format!(
                    "{} did not answer clearly; the outcome is unknown. Send the same request again: \
                     it is idempotent and will find out.",
                    channel.as_str()
                );
            }
            Self::Service(ServiceError::NotYetClosable { expires_at }) => {
                body.message = format!(
                    "the channel has not seen this order yet (the payer has not opened it); it stays \
                     payable until {}",
                    expires_at.to_rfc3339()
                );
            }
            _ => {}
        }
        // The cause of a 500 may name tables, keys or hosts: log it, answer nothing of it.
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "internal error");
            body.message = "internal error".to_owned();
        }
        body
    }
}

fn refused_code(channel: Channel, op: UpstreamOp) -> &'static str {
    match (channel, op) {
        (Channel::Wechat, UpstreamOp::Create) => "wechat_create_failed",
        (Channel::Alipay, UpstreamOp::Create) => "alipay_create_failed",
        (Channel::Wechat, UpstreamOp::Close) => "wechat_close_failed",
        (Channel::Alipay, UpstreamOp::Close) => "alipay_close_failed",
    }
}

/// `Retry-After` is in whole seconds: rounded up, and at least one.
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    let rounded_up = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    rounded_up.max(1)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let retry_after = match self {
            Self::RateLimited(wait) => Some(retry_after_secs(wait)),
            _ => None,
        };
        let body = self.body(code, status);
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The stable codes and their statuses, for the API documentation (kept beside the mapping so
/// the two are edited together).
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    (
        "missing_fields",
        400,
        "A required field is absent or empty (`field` names the first).",
    ),
    (
        "invalid_out_trade_no",
        400,
        "out_trade_no is not 6-64 characters of [A-Za-z0-9_-].",
    ),
    (
        "invalid_amount",
        400,
        "amount_total is not a positive whole number of fen (2990 = ¥29.90).",
    ),
    ("invalid_currency", 400, "currency is not CNY."),
    (
        "description_too_long",
        400,
        "description is longer than 127 characters.",
    ),
    (
        "invalid_characters",
        400,
        "description (shown to the payer) or attach (returned in every notification) holds a control or invisible formatting character: any Unicode format character (Cf: U+202E and the other direction overrides and isolates, U+200E/U+200F, zero-width U+200B..U+200D, U+FEFF, ...) or a line/paragraph separator. The field and the message name it.",
    ),
    (
        "invalid_attach",
        400,
        "attach is empty or longer than 128 characters.",
    ),
    (
        "invalid_notify_url",
        400,
        "notify_url is not an http(s) URL of at most 256 characters.",
    ),
    (
        "invalid_expire_minutes",
        400,
        "expire_minutes is not a whole number from 1 to 1440.",
    ),
    ("invalid_channel", 400, "channel is not wechat or alipay."),
    (
        "invalid_method",
        400,
        "method is unknown or not offered by the channel.",
    ),
    (
        "invalid_field",
        400,
        "Another field (named in `field`) is malformed.",
    ),
    (
        "alipay_invalid_characters",
        400,
        "A field sent to Alipay (`field`: description) contains '&' or '=': Alipay signs its fields as k=v&k=v over raw values, so such a value could be re-split into other fields. Alipay methods only.",
    ),
    ("invalid_json", 400, "The body is not a JSON object."),
    (
        "duplicate_key",
        400,
        "An object in the body has the same key twice (at any depth); each key may appear once.",
    ),
    (
        "payment_not_configured",
        400,
        "The site may not use this channel and method, or paygate has no account for it.",
    ),
    (
        "missing_auth_header",
        401,
        "An X-1Pass-* header is absent (`field` names it).",
    ),
    (
        "invalid_auth_header",
        401,
        "X-1Pass-Ts is not unix seconds, or X-1Pass-Nonce is not 8-128 visible ASCII characters.",
    ),
    ("unknown_access_key", 401, "No site has this X-1Pass-AK."),
    (
        "invalid_signature",
        401,
        "X-1Pass-Sign does not match the canonical string signed with the site's SK.",
    ),
    (
        "stale_timestamp",
        401,
        "X-1Pass-Ts is more than 300 seconds away from paygate's clock.",
    ),
    (
        "nonce_reused",
        401,
        "This X-1Pass-Nonce was already used within the signing window.",
    ),
    (
        "site_disabled",
        403,
        "The site is disabled by the operator.",
    ),
    (
        "order_not_found",
        404,
        "No order of this site has this out_trade_no (or no order has this token).",
    ),
    (
        "notification_not_found",
        404,
        "No notification event of this site has this event_id.",
    ),
    ("not_found", 404, "No such route."),
    (
        "method_not_allowed",
        405,
        "The route exists, with another HTTP method.",
    ),
    (
        "request_timeout",
        408,
        "The request body did not arrive within `http.body_read_timeout` (10 s); the connection is closed.",
    ),
    (
        "out_trade_no_conflict",
        409,
        "The site already has an order with this out_trade_no and different content.",
    ),
    (
        "order_paid",
        409,
        "The order is paid (or refunded) and cannot be closed.",
    ),
    (
        "order_not_closable",
        409,
        "The order's payment failed, or (Alipay) the payer has not opened it yet and it stays payable until it expires.",
    ),
    (
        "payload_too_large",
        413,
        "The body is larger than the limit (64 KiB).",
    ),
    (
        "rate_limited",
        429,
        "Too many unsigned requests (status, checkout, callbacks, sandbox) from this address: `http.rate_limit` per second, bursts of `http.rate_limit_burst`. `Retry-After` says when to retry. Signed requests are not limited.",
    ),
    (
        "internal_error",
        500,
        "paygate failed; the cause is in its logs.",
    ),
    (
        "wechat_create_failed",
        502,
        "WeChat Pay refused the order; `upstream` has its code. The order stays `created`; the same request may be retried.",
    ),
    (
        "alipay_create_failed",
        502,
        "Alipay refused the order; `upstream` has its code.",
    ),
    (
        "wechat_close_failed",
        502,
        "WeChat Pay refused to close the order; `upstream` has its code.",
    ),
    (
        "alipay_close_failed",
        502,
        "Alipay refused to close the order; `upstream` has its code.",
    ),
    ("not_ready", 503, "`/readyz`: the database does not answer."),
    (
        "upstream_unavailable",
        503,
        "The channel did not answer clearly: the outcome is unknown. Retry the same request; it is idempotent and will report the order as it really is.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limited_answer_says_when_to_retry_in_whole_seconds() {
        use std::time::Duration;
        for (wait, secs) in [(0, 1), (1, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3)] {
            let response = ApiError::RateLimited(Duration::from_millis(wait)).into_response();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(
                response.headers()[header::RETRY_AFTER],
                secs.to_string(),
                "{wait} ms"
            );
        }
    }

    #[test]
    fn every_code_the_mapping_can_answer_is_documented() {
        use std::time::Duration;
        let samples = [
            ApiError::DuplicateKey("x".into()),
            ApiError::BodyTimeout(Duration::from_secs(10)),
            ApiError::RateLimited(Duration::from_secs(1)),
            ApiError::Invalid(DomainError::InvisibleCharacter {
                field: "description",
                found: '\u{202E}',
            }),
        ];
        for e in samples {
            let (status, code) = e.status_and_code();
            assert!(
                ERROR_CODES
                    .iter()
                    .any(|(c, s, _)| *c == code && *s == status.as_u16()),
                "{code} {status}"
            );
        }
    }

    #[test]
    fn notification_not_found_is_a_documented_404() {
        let e = ApiError::NotificationNotFound;
        let (status, code) = e.status_and_code();
        assert_eq!(
            (status, code),
            (StatusCode::NOT_FOUND, "notification_not_found")
        );
        assert!(
            ERROR_CODES
                .iter()
                .any(|(c, s, _)| *c == code && *s == status.as_u16())
        );
        let body = e.body(code, status);
        assert_eq!(
            body.message,
            "no notification of this site has this event id"
        );
        assert!(body.field.is_none() && body.upstream.is_none());
    }
}

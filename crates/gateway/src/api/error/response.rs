//! How an [`ApiError`] is answered: its code's status, a JSON [`ErrorBody`], and `Retry-After` when
//! rate limited. The cause of an internal error is logged, never answered.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, AuthError, ErrorCode};
use crate::service::ServiceError;

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorCode,
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
    fn body(&self, code: ErrorCode) -> ErrorBody {
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
            Self::Service(ServiceError::SplitReceiversOfAnotherChannel(_)) => {
                body.field = Some("receivers.type");
            }
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
        if code.status() == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "internal error");
            body.message = "internal error".to_owned();
        }
        body
    }
}

/// `Retry-After` is in whole seconds: rounded up, and at least one.
pub(super) fn retry_after_secs(wait: std::time::Duration) -> u64 {
    let rounded_up = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    rounded_up.max(1)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let retry_after = match self {
            Self::RateLimited(wait) => Some(retry_after_secs(wait)),
            _ => None,
        };
        let body = self.body(code);
        let mut response = (code.status(), Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

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
    fn notification_not_found_is_a_404_naming_no_field() {
        let e = ApiError::NotificationNotFound;
        let code = e.code();
        assert_eq!(
            (code.status(), code.as_str()),
            (StatusCode::NOT_FOUND, "notification_not_found")
        );
        let body = e.body(code);
        assert_eq!(
            body.message,
            "no notification of this site has this event id"
        );
        assert!(body.field.is_none() && body.upstream.is_none());
    }

    #[test]
    fn the_body_carries_the_code_as_its_string() {
        let body = ApiError::DuplicateKey("k".to_owned()).body(ErrorCode::DuplicateKey);
        let json = serde_json::to_value(&body).expect("serializes");
        assert_eq!(json["error"], "duplicate_key");
    }
}

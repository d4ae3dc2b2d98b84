//! The one mapping from errors to stable codes: an exhaustive `match` per layer's error, with no
//! `_ =>` arm, so a new variant anywhere does not compile until it is given a code, and every code
//! is an [`ErrorCode`], documented by construction.

use super::{ApiError, AuthError, ErrorCode};
use crate::domain::{Channel, DomainError};
use crate::service::{CombineError, ServiceError, UpstreamOp};

impl ApiError {
    /// The stable code this error answers with; its status is [`ErrorCode::status`].
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(e) => e.into(),
            Self::Invalid(e) => e.into(),
            Self::MissingFields(_) => ErrorCode::MissingFields,
            Self::InvalidJson(_) => ErrorCode::InvalidJson,
            Self::DuplicateKey(_) => ErrorCode::DuplicateKey,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::BodyTimeout(_) => ErrorCode::RequestTimeout,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::RouteNotFound => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::NotificationNotFound => ErrorCode::NotificationNotFound,
            Self::NotReady => ErrorCode::NotReady,
            Self::Service(e) => e.into(),
            Self::Combine(e) => e.into(),
        }
    }
}

impl From<&CombineError> for ErrorCode {
    fn from(e: &CombineError) -> Self {
        match e {
            CombineError::NotAllowed(_) => Self::CombineNotAllowed,
            CombineError::MemberDisabled(_) => Self::CombineMemberDisabled,
            CombineError::MethodNotEnabled { .. } => Self::CombineMethodNotEnabled,
            CombineError::MerchantsMixed(_) => Self::CombineMerchantsMixed,
            CombineError::Conflict => Self::CombineOutTradeNoConflict,
            CombineError::SubOrderTaken { .. } => Self::OutTradeNoConflict,
            CombineError::NotFound => Self::CombinedOrderNotFound,
            CombineError::Service(e) => e.into(),
        }
    }
}

impl From<&AuthError> for ErrorCode {
    fn from(e: &AuthError) -> Self {
        match e {
            AuthError::MissingHeader(_) => Self::MissingAuthHeader,
            AuthError::MalformedHeader(_) => Self::InvalidAuthHeader,
            AuthError::UnknownAccessKey => Self::UnknownAccessKey,
            AuthError::InvalidSignature => Self::InvalidSignature,
            AuthError::StaleTimestamp(_) => Self::StaleTimestamp,
            AuthError::NonceReused => Self::NonceReused,
            AuthError::SiteDisabled => Self::SiteDisabled,
        }
    }
}

/// A domain error reaches the API only from parsing a request field: always the client's mistake.
impl From<&DomainError> for ErrorCode {
    fn from(e: &DomainError) -> Self {
        match e {
            DomainError::Missing { .. } => Self::MissingFields,
            DomainError::InvalidOutTradeNo => Self::InvalidOutTradeNo,
            DomainError::InvalidAmount { .. } => Self::InvalidAmount,
            DomainError::InvalidCurrency => Self::InvalidCurrency,
            DomainError::DescriptionTooLong { .. } => Self::DescriptionTooLong,
            DomainError::InvisibleCharacter { .. } => Self::InvalidCharacters,
            DomainError::InvalidAttach { .. } => Self::InvalidAttach,
            DomainError::InvalidUrl {
                field: "return_url",
                ..
            } => Self::InvalidReturnUrl,
            DomainError::InvalidUrl { .. } => Self::InvalidNotifyUrl,
            DomainError::InvalidExpireMinutes { .. } => Self::InvalidExpireMinutes,
            DomainError::InvalidChannel => Self::InvalidChannel,
            DomainError::InvalidMethod(_) | DomainError::MethodNotOnChannel { .. } => {
                Self::InvalidMethod
            }
            DomainError::InvalidStatus(_) => Self::InvalidStatus,
            // Console accounts are not API input; should one reach the API, it is a bad field.
            DomainError::Malformed { .. }
            | DomainError::FeeOutOfRange { .. }
            | DomainError::PasswordPolicy { .. }
            | DomainError::RoleSite => Self::InvalidField,
        }
    }
}

impl From<&ServiceError> for ErrorCode {
    fn from(e: &ServiceError) -> Self {
        match e {
            // Turned into `AuthError::NonceReused` on its way into the API; the same code anyway.
            ServiceError::NonceReused => Self::NonceReused,
            ServiceError::PaymentNotConfigured(_) => Self::PaymentNotConfigured,
            ServiceError::UnsignableForAlipay { .. } => Self::AlipayInvalidCharacters,
            ServiceError::OutTradeNoConflict => Self::OutTradeNoConflict,
            ServiceError::NotFound => Self::OrderNotFound,
            ServiceError::AlreadyPaid(_) => Self::OrderPaid,
            // Only the checkout asks to pay; the API never does.
            ServiceError::NotPayable(_) => Self::OrderNotClosable,
            ServiceError::NotClosable(_) | ServiceError::NotYetClosable { .. } => {
                Self::OrderNotClosable
            }
            ServiceError::RefundNotFound => Self::RefundNotFound,
            ServiceError::NotRefundable(_) => Self::OrderNotRefundable,
            ServiceError::RefundExceedsPaid { .. } => Self::RefundExceedsPaid,
            ServiceError::OutRefundNoConflict => Self::OutRefundNoConflict,
            ServiceError::RefundWindowPassed { .. } => Self::RefundWindowPassed,
            ServiceError::SplitNotFound => Self::SplitNotFound,
            ServiceError::NotSplittable(_) => Self::OrderNotSplittable,
            ServiceError::SplitExceedsPaid { .. } => Self::SplitExceedsPaid,
            ServiceError::SplitRatioExceeded { .. } => Self::SplitRatioExceeded,
            ServiceError::OutSplitNoConflict => Self::OutSplitNoConflict,
            ServiceError::SplitReceiversOfAnotherChannel(_) => Self::InvalidField,
            ServiceError::UpstreamRefused { op, channel, .. } => refused(*channel, *op),
            // Not a refusal: the call may have taken effect. 503 says "try again", and the same
            // request is safe to retry (create is idempotent).
            ServiceError::UpstreamUnknown { .. } => Self::UpstreamUnavailable,
            ServiceError::Channel(_) | ServiceError::Store(_) => Self::InternalError,
        }
    }
}

fn refused(channel: Channel, op: UpstreamOp) -> ErrorCode {
    match (channel, op) {
        (Channel::Wechat, UpstreamOp::Create) => ErrorCode::WechatCreateFailed,
        (Channel::Alipay, UpstreamOp::Create) => ErrorCode::AlipayCreateFailed,
        (Channel::Wechat, UpstreamOp::Close) => ErrorCode::WechatCloseFailed,
        (Channel::Alipay, UpstreamOp::Close) => ErrorCode::AlipayCloseFailed,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::*;
    use crate::domain::{Method, OrderStatus, OutTradeNo, PayMethod, SiteId, Timestamp};
    use crate::store::StoreError;

    /// One error of every kind the API can answer with. Kept by hand, and checked against
    /// [`ErrorCode::ALL`]: a code that no error answers with is a dead entry in the documentation.
    fn every_kind_of_error() -> Vec<ApiError> {
        let refused = |channel, op| ServiceError::UpstreamRefused {
            op,
            channel,
            code: "PARAM_ERROR".to_owned(),
            message: "no".to_owned(),
        };
        let auth = [
            AuthError::MissingHeader("X-1Pass-AK"),
            AuthError::MalformedHeader("X-1Pass-Ts"),
            AuthError::UnknownAccessKey,
            AuthError::InvalidSignature,
            AuthError::StaleTimestamp(300),
            AuthError::NonceReused,
            AuthError::SiteDisabled,
        ];
        let domain = [
            DomainError::Missing { field: "x" },
            DomainError::InvalidOutTradeNo,
            DomainError::InvalidAmount {
                field: "amount",
                max: 1,
            },
            DomainError::InvalidCurrency,
            DomainError::DescriptionTooLong { max: 127 },
            DomainError::InvisibleCharacter {
                field: "description",
                found: '\u{202E}',
            },
            DomainError::InvalidAttach { max: 128 },
            DomainError::InvalidUrl {
                field: "notify_url",
                max: 256,
            },
            DomainError::InvalidUrl {
                field: "return_url",
                max: 256,
            },
            DomainError::InvalidExpireMinutes { min: 1, max: 1440 },
            DomainError::InvalidChannel,
            DomainError::InvalidMethod("x".to_owned()),
            DomainError::MethodNotOnChannel {
                channel: "alipay",
                method: "native",
            },
            DomainError::InvalidStatus("x".to_owned()),
            DomainError::Malformed { field: "openid" },
            DomainError::FeeOutOfRange {
                field: "rate_bps",
                max: 10_000,
            },
        ];
        let wechat_native = PayMethod::new(Channel::Wechat, Method::Native);
        let service = [
            ServiceError::PaymentNotConfigured(wechat_native.expect("WeChat offers native").into()),
            ServiceError::UnsignableForAlipay {
                field: "description",
            },
            ServiceError::OutTradeNoConflict,
            ServiceError::NotFound,
            ServiceError::AlreadyPaid(OrderStatus::Paid),
            ServiceError::NotClosable(OrderStatus::Failed),
            ServiceError::NotYetClosable {
                expires_at: Timestamp::now(),
            },
            ServiceError::RefundNotFound,
            ServiceError::NotRefundable(OrderStatus::Pending),
            ServiceError::RefundExceedsPaid { refundable: 1 },
            ServiceError::OutRefundNoConflict,
            ServiceError::RefundWindowPassed {
                channel: Channel::Wechat,
                ended_at: Timestamp::now(),
            },
            ServiceError::SplitNotFound,
            ServiceError::NotSplittable("it is not paid"),
            ServiceError::SplitExceedsPaid { splittable: 1 },
            ServiceError::SplitRatioExceeded { left: 1 },
            ServiceError::OutSplitNoConflict,
            ServiceError::SplitReceiversOfAnotherChannel(Channel::Wechat),
            refused(Channel::Wechat, UpstreamOp::Create),
            refused(Channel::Alipay, UpstreamOp::Create),
            refused(Channel::Wechat, UpstreamOp::Close),
            refused(Channel::Alipay, UpstreamOp::Close),
            ServiceError::UpstreamUnknown {
                channel: Channel::Wechat,
                message: "timeout".to_owned(),
            },
            ServiceError::Channel("bug".to_owned()),
            ServiceError::Store(StoreError::NotFound("order")),
        ];
        let others = [
            ApiError::MissingFields(vec!["out_trade_no"]),
            ApiError::InvalidJson("x".to_owned()),
            ApiError::DuplicateKey("x".to_owned()),
            ApiError::PayloadTooLarge(65536),
            ApiError::BodyTimeout(Duration::from_secs(10)),
            ApiError::RateLimited(Duration::from_secs(1)),
            ApiError::RouteNotFound,
            ApiError::MethodNotAllowed,
            ApiError::NotificationNotFound,
            ApiError::NotReady,
        ];
        let site = || SiteId::parse("site_member").expect("a site id");
        let combine = [
            CombineError::NotAllowed(site()),
            CombineError::MemberDisabled(site()),
            CombineError::MethodNotEnabled {
                site: site(),
                method: PayMethod::new(Channel::Wechat, Method::Native).expect("WeChat native"),
            },
            CombineError::MerchantsMixed(site()),
            CombineError::Conflict,
            CombineError::SubOrderTaken {
                site: site(),
                out_trade_no: OutTradeNo::parse("order_0001").expect("an order number"),
            },
            CombineError::NotFound,
        ];
        auth.into_iter()
            .map(ApiError::from)
            .chain(domain.into_iter().map(ApiError::from))
            .chain(service.into_iter().map(ApiError::from))
            .chain(others)
            .chain(combine.into_iter().map(ApiError::from))
            .collect()
    }

    #[test]
    fn every_documented_code_is_answered_by_some_error() {
        let answered: BTreeSet<&str> = every_kind_of_error()
            .iter()
            .map(|e| e.code().as_str())
            .collect();
        let documented: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(answered, documented);
    }

    #[test]
    fn seed_000_codes_keep_their_statuses() {
        let seed = [
            ("missing_fields", 400),
            ("invalid_out_trade_no", 400),
            ("invalid_amount", 400),
            ("invalid_currency", 400),
            ("description_too_long", 400),
            ("payment_not_configured", 400),
            ("out_trade_no_conflict", 409),
            ("wechat_create_failed", 502),
        ];
        for (code, status) in seed {
            let found = ErrorCode::ALL.iter().find(|c| c.as_str() == code);
            assert_eq!(found.map(|c| c.status().as_u16()), Some(status), "{code}");
        }
    }

    #[test]
    fn only_paygates_own_failures_are_internal_errors() {
        for e in every_kind_of_error() {
            let internal = matches!(
                e,
                ApiError::Service(ServiceError::Channel(_) | ServiceError::Store(_))
            );
            assert_eq!(e.code() == ErrorCode::InternalError, internal, "{e:?}");
        }
    }
}

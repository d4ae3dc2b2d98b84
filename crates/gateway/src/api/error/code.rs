//! The stable error codes of the merchant API, each with its HTTP status and its meaning, declared
//! once: the error mapping answers with them, and `/docs` and `/openapi.json` document them from
//! this same list, so a code cannot be answered without being documented.

use std::fmt::Write as _;

use axum::http::StatusCode;
use serde::{Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// Declares [`ErrorCode`] and its [`ErrorCode::ALL`] from one table, so the list of every code
/// cannot miss a variant.
macro_rules! error_codes {
    ($($variant:ident: $status:ident, $code:literal, $meaning:literal;)+) => {
        /// A stable code of the merchant API. Clients match on the string ([`ErrorCode::as_str`])
        /// and the status: both must stay as they are once published.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the documentation's order (by status).
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The code as clients see it in `"error"`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// The HTTP status every answer with this code has.
            #[must_use]
            pub const fn status(self) -> StatusCode {
                match self {
                    $(Self::$variant => StatusCode::$status,)+
                }
            }

            /// What the code means, for the documentation.
            #[must_use]
            pub const fn description(self) -> &'static str {
                match self {
                    $(Self::$variant => $meaning,)+
                }
            }
        }
    };
}

// Seed 000 defines missing_fields, invalid_out_trade_no, invalid_amount, invalid_currency,
// description_too_long, payment_not_configured, out_trade_no_conflict and wechat_create_failed;
// the rest are paygate's. Keep each string and status: sites match on them.
error_codes! {
    MissingFields: BAD_REQUEST, "missing_fields",
        "A required field is absent or empty (`field` names the first).";
    InvalidOutTradeNo: BAD_REQUEST, "invalid_out_trade_no",
        "out_trade_no is not 6-64 characters of [A-Za-z0-9_-].";
    InvalidAmount: BAD_REQUEST, "invalid_amount",
        "amount_total (or a refund's amount; `field` names which) is not a positive whole number of fen (2990 = ¥29.90).";
    InvalidCurrency: BAD_REQUEST, "invalid_currency",
        "currency is not CNY.";
    DescriptionTooLong: BAD_REQUEST, "description_too_long",
        "description is longer than 127 characters.";
    InvalidCharacters: BAD_REQUEST, "invalid_characters",
        "description (shown to the payer) or attach (returned in every notification) holds a control or invisible formatting character: any Unicode format character (Cf: U+202E and the other direction overrides and isolates, U+200E/U+200F, zero-width U+200B..U+200D, U+FEFF, ...) or a line/paragraph separator. The field and the message name it.";
    InvalidAttach: BAD_REQUEST, "invalid_attach",
        "attach is empty or longer than 128 characters.";
    InvalidNotifyUrl: BAD_REQUEST, "invalid_notify_url",
        "notify_url is not an http(s) URL of at most 256 characters.";
    InvalidReturnUrl: BAD_REQUEST, "invalid_return_url",
        "return_url is not an http(s) URL of at most 256 characters (without credentials or fragment).";
    InvalidExpireMinutes: BAD_REQUEST, "invalid_expire_minutes",
        "expire_minutes is not a whole number from 1 to 1440.";
    InvalidChannel: BAD_REQUEST, "invalid_channel",
        "channel is not wechat or alipay.";
    InvalidMethod: BAD_REQUEST, "invalid_method",
        "method is unknown or not offered by the channel.";
    InvalidStatus: BAD_REQUEST, "invalid_status",
        "A status given in the request is not an order status (created, pending, paid, failed, closed, refunded).";
    InvalidField: BAD_REQUEST, "invalid_field",
        "Another field (named in `field`) is malformed.";
    AlipayInvalidCharacters: BAD_REQUEST, "alipay_invalid_characters",
        "A field sent to Alipay (`field`: description) contains '&' or '=': Alipay signs its fields as k=v&k=v over raw values, so such a value could be re-split into other fields. Alipay methods only.";
    InvalidJson: BAD_REQUEST, "invalid_json",
        "The body is not a JSON object.";
    DuplicateKey: BAD_REQUEST, "duplicate_key",
        "An object in the body has the same key twice (at any depth); each key may appear once.";
    CombineMerchantsMixed: BAD_REQUEST, "combine_merchants_mixed",
        "A combined order's sub-orders mix sites paid to the operator's own WeChat Pay merchant with sites served as its sub-merchants: WeChat Pay combines one kind or the other. Nothing was stored.";
    PaymentNotConfigured: BAD_REQUEST, "payment_not_configured",
        "The site may not use this channel and method, or paygate has no account for it.";
    MissingAuthHeader: UNAUTHORIZED, "missing_auth_header",
        "An X-1Pass-* header is absent (`field` names it).";
    InvalidAuthHeader: UNAUTHORIZED, "invalid_auth_header",
        "X-1Pass-Ts is not unix seconds, or X-1Pass-Nonce is not 8-128 visible ASCII characters.";
    UnknownAccessKey: UNAUTHORIZED, "unknown_access_key",
        "No site has this X-1Pass-AK.";
    InvalidSignature: UNAUTHORIZED, "invalid_signature",
        "X-1Pass-Sign does not match the canonical string signed with the site's SK.";
    StaleTimestamp: UNAUTHORIZED, "stale_timestamp",
        "X-1Pass-Ts is more than 300 seconds away from paygate's clock.";
    NonceReused: UNAUTHORIZED, "nonce_reused",
        "This X-1Pass-Nonce was already used within the signing window.";
    SiteDisabled: FORBIDDEN, "site_disabled",
        "The site is disabled by the operator.";
    CombineNotAllowed: FORBIDDEN, "combine_not_allowed",
        "A combined order's sub-order is for a site the signing site may not combine orders for (`paygate site combine allow`). Nothing was stored.";
    CombineMemberDisabled: FORBIDDEN, "combine_member_disabled",
        "A combined order's sub-order is for a disabled site. Nothing was stored.";
    CombineMethodNotEnabled: FORBIDDEN, "combine_method_not_enabled",
        "A combined order's sub-order is for a site that may not use the combined order's method. Nothing was stored.";
    OrderNotFound: NOT_FOUND, "order_not_found",
        "No order of this site has this out_trade_no (or no order has this token).";
    CombinedOrderNotFound: NOT_FOUND, "combined_order_not_found",
        "No combined order of this site has this combine_out_trade_no.";
    RefundNotFound: NOT_FOUND, "refund_not_found",
        "No refund of this site has this out_refund_no.";
    SplitNotFound: NOT_FOUND, "split_not_found",
        "No split of this site has this out_split_no.";
    NotificationNotFound: NOT_FOUND, "notification_not_found",
        "No notification event of this site has this event_id.";
    NotFound: NOT_FOUND, "not_found",
        "No such route.";
    MethodNotAllowed: METHOD_NOT_ALLOWED, "method_not_allowed",
        "The route exists, with another HTTP method.";
    RequestTimeout: REQUEST_TIMEOUT, "request_timeout",
        "The request body did not arrive within `http.body_read_timeout` (10 s); the connection is closed.";
    OutTradeNoConflict: CONFLICT, "out_trade_no_conflict",
        "The site already has an order with this out_trade_no and different content.";
    CombineOutTradeNoConflict: CONFLICT, "combine_out_trade_no_conflict",
        "The site already has a combined order with this combine_out_trade_no and different content.";
    OrderPaid: CONFLICT, "order_paid",
        "The order is paid (or refunded) and cannot be closed.";
    OrderNotClosable: CONFLICT, "order_not_closable",
        "The order's payment failed, or (Alipay) the payer has not opened it yet and it stays payable until it expires.";
    OrderNotRefundable: CONFLICT, "order_not_refundable",
        "Only a paid order can be refunded: this one was never paid (created, pending, failed or closed). An order refunded in full answers refund_exceeds_paid.";
    RefundExceedsPaid: CONFLICT, "refund_exceeds_paid",
        "amount is more than is left to refund: what was paid, less every refund of the order that is not `failed` (nothing, once the order is refunded in full). The message says how much is left.";
    OutRefundNoConflict: CONFLICT, "out_refund_no_conflict",
        "The site already has a refund with this out_refund_no, with a different amount, reason or notify_url, or for another order.";
    RefundWindowPassed: CONFLICT, "refund_window_passed",
        "The channel no longer takes refunds of this order: WeChat Pay one year after payment, Alipay after the window in the merchant's contract (`alipay.refund_window`). Nothing was sent.";
    OrderNotSplittable: CONFLICT, "order_not_splittable",
        "Only a paid order made for profit sharing (`profit_sharing: true`) can be split. An order refunded in full answers split_exceeds_paid.";
    SplitExceedsPaid: CONFLICT, "split_exceeds_paid",
        "The receivers' amounts add up to more than is left: what was paid, less every split and refund of the order that is not `failed`. The message says how much is left.";
    SplitRatioExceeded: CONFLICT, "split_ratio_exceeded",
        "The order's splits would take more than the channel lets the merchant split away: WeChat Pay 30% of the payment for a direct merchant, a sub-merchant's own authorised ratio. Checked before any call; the message says how much is left.";
    OutSplitNoConflict: CONFLICT, "out_split_no_conflict",
        "The site already has a split with this out_split_no, with other receivers, amounts or description, or for another order.";
    PayloadTooLarge: PAYLOAD_TOO_LARGE, "payload_too_large",
        "The body is larger than the limit (64 KiB).";
    RateLimited: TOO_MANY_REQUESTS, "rate_limited",
        "Too many unsigned requests (status, checkout, callbacks, sandbox) from this address: `http.rate_limit` per second, bursts of `http.rate_limit_burst`. `Retry-After` says when to retry. Signed requests are not limited.";
    InternalError: INTERNAL_SERVER_ERROR, "internal_error",
        "paygate failed; the cause is in its logs.";
    WechatCreateFailed: BAD_GATEWAY, "wechat_create_failed",
        "WeChat Pay refused the order; `upstream` has its code. The order stays `created`; the same request may be retried.";
    AlipayCreateFailed: BAD_GATEWAY, "alipay_create_failed",
        "Alipay refused the order; `upstream` has its code.";
    WechatCloseFailed: BAD_GATEWAY, "wechat_close_failed",
        "WeChat Pay refused to close the order; `upstream` has its code.";
    AlipayCloseFailed: BAD_GATEWAY, "alipay_close_failed",
        "Alipay refused to close the order; `upstream` has its code.";
    NotReady: SERVICE_UNAVAILABLE, "not_ready",
        "`/readyz`: the database does not answer.";
    UpstreamUnavailable: SERVICE_UNAVAILABLE, "upstream_unavailable",
        "The channel did not answer clearly: the outcome is unknown. Retry the same request; it is idempotent and will report the order as it really is.";
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// In `/openapi.json` the code is a string enum of [`ErrorCode::ALL`], with the table of statuses
/// and meanings in its description: the machine-readable contract lists what `/docs` lists.
impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        let mut table = String::from(
            "The stable error code. Wording of `message` may change; codes and their statuses do not.\n\n\
             | code | HTTP | meaning |\n|---|---|---|\n",
        );
        for code in Self::ALL {
            let _ = writeln!(
                table,
                "| `{}` | {} | {} |",
                code.as_str(),
                code.status().as_u16(),
                code.description()
            );
        }
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::ALL.iter().map(|c| c.as_str())))
            .description(Some(table))
            .examples([serde_json::json!(Self::InvalidAmount.as_str())])
            .into()
    }
}

impl ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_and_listed_by_status() {
        let names: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names.len(),
            ErrorCode::ALL.len(),
            "a code string used twice"
        );
        for name in names {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
        }
        let statuses: Vec<u16> = ErrorCode::ALL.iter().map(|c| c.status().as_u16()).collect();
        assert!(
            statuses.is_sorted(),
            "the documentation lists codes by status"
        );
    }

    /// `(status, code)` for every place the text names an error as "`400 duplicate_key`" or as
    /// "404 `order_not_found`".
    fn named_with_status(text: &str) -> Vec<(u16, String)> {
        let is_code =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        let status_of = |s: &str| Some(s).filter(|s| s.len() == 3)?.parse::<u16>().ok();
        let parts: Vec<&str> = text.split('`').collect();
        let mut found = Vec::new();
        // Odd parts are the backquoted spans; the part before one is the text leading up to it.
        for i in (1..parts.len()).step_by(2) {
            let span = parts[i];
            let inline = span
                .split_once(' ')
                .and_then(|(status, code)| Some((status_of(status)?, code)));
            let leading = || status_of(parts[i - 1].trim_end().rsplit(' ').next()?);
            match inline {
                Some((status, code)) if is_code(code) => found.push((status, code.to_owned())),
                None if is_code(span) => {
                    if let Some(status) = leading() {
                        found.push((status, span.to_owned()));
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// The README names some codes in its prose; each must be a code, with the status it has.
    #[test]
    fn the_readme_names_codes_with_the_statuses_they_have() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let named = named_with_status(&readme);
        assert!(
            !named.is_empty(),
            "the README names no code: is this the right file?"
        );
        for (status, code) in named {
            let known = ErrorCode::ALL.iter().find(|c| c.as_str() == code);
            assert_eq!(
                known.map(|c| c.status().as_u16()),
                Some(status),
                "README.md: {status} {code}"
            );
        }
    }

    #[test]
    fn both_ways_of_naming_a_code_in_prose_are_found() {
        let text = "answers `400 duplicate_key`, or a 404 `order_not_found`; `field` is not one.";
        assert_eq!(
            named_with_status(text),
            [
                (400, "duplicate_key".to_owned()),
                (404, "order_not_found".to_owned())
            ]
        );
    }
}

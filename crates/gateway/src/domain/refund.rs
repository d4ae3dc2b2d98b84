//! Refunds: what a site asks to give back from a paid order, and where a refund stands.
//!
//! A refund reserves its amount against the order when it is stored, before any channel hears of
//! it; the refunds of an order that are not `failed` never add up to more than was paid.

use super::text::refuse_invisible;
use super::token::{is_token, random_with_prefix};
use std::time::Duration;

use super::{
    Amount, Channel, DomainError, Fingerprint, NotifyUrl, Order, OrderId, SiteId, Timestamp,
};

/// The site's own refund number: 1–64 characters of `[A-Za-z0-9_-]` (what WeChat Pay and Alipay
/// both take for their own refund numbers). Unique per site.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutRefundNo(String);

impl OutRefundNo {
    pub const MAX_LEN: usize = 64;

    /// # Errors
    /// `Missing` when empty, `Malformed` when too long or a character is not allowed.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing {
                field: "out_refund_no",
            });
        }
        if !is_token(s, 1, Self::MAX_LEN) {
            return Err(DomainError::Malformed {
                field: "out_refund_no",
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// A number for a refund the operator makes (`paygate refund create` without one):
    /// `op_`, the creation time in unix milliseconds, `_`, then 12 random letters or digits. The
    /// prefix keeps it apart from the numbers sites choose; the time sorts them.
    #[must_use]
    pub fn generate_for_operator(now: Timestamp) -> Self {
        let millis = now.as_millis().clamp(0, 9_999_999_999_999);
        Self(random_with_prefix(&format!("op_{millis:013}_"), 12))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// paygate's own refund number at the channel. The channel sees one merchant (the operator), and two
/// sites may pick the same refund number, so paygate numbers refunds itself, as it does orders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpstreamRefundNo(String);

impl UpstreamRefundNo {
    pub const LEN: usize = 32;

    /// `pr`, the creation time in unix milliseconds (13 digits), then 17 random letters or digits:
    /// 32 characters, sorted by time in bills; the database's UNIQUE constraint is the final guard.
    #[must_use]
    pub fn generate(now: Timestamp) -> Self {
        let millis = now.as_millis().clamp(0, 9_999_999_999_999);
        let prefix = format!("pr{millis:013}");
        Self(random_with_prefix(&prefix, Self::LEN - prefix.len()))
    }

    /// # Errors
    /// `Malformed` unless 1–64 characters of `[0-9A-Za-z_-]`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if is_token(s, 1, 64) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed {
                field: "upstream_refund_no",
            })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why the money goes back, as the payer may see it (WeChat Pay shows it, up to 80 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReason(String);

impl RefundReason {
    pub const MAX_CHARS: usize = 80;

    /// # Errors
    /// `Malformed` when empty, longer than 80 characters, or holding control or invisible format
    /// characters.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let malformed = DomainError::Malformed { field: "reason" };
        if s.trim().is_empty() || s.chars().count() > Self::MAX_CHARS {
            return Err(malformed);
        }
        if s.chars().any(char::is_control) {
            return Err(malformed);
        }
        refuse_invisible("reason", s)?;
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a refund stands. `processing` until the channel says how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    /// Stored and its amount reserved; the channel has it, or will on the next attempt.
    Processing,
    /// The money reached the payer.
    Succeeded,
    /// The channel closed or refused it: nothing was given back, and its amount is free again.
    Failed,
    /// The channel took it but the money could not reach the payer (WeChat Pay `ABNORMAL`): the
    /// amount stays reserved until the operator settles it.
    Abnormal,
}

impl RefundStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Abnormal => "abnormal",
        }
    }

    /// # Errors
    /// `Malformed` for anything but the four statuses.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "processing" => Ok(Self::Processing),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            "abnormal" => Ok(Self::Abnormal),
            _ => Err(DomainError::Malformed {
                field: "refund status",
            }),
        }
    }

    /// Whether its amount counts against what can still be refunded.
    #[must_use]
    pub fn holds_amount(self) -> bool {
        match self {
            Self::Processing | Self::Succeeded | Self::Abnormal => true,
            Self::Failed => false,
        }
    }
}

/// What a site asks for, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub out_refund_no: OutRefundNo,
    pub amount: Amount,
    pub reason: Option<RefundReason>,
    pub notify_url: Option<NotifyUrl>,
}

impl RefundRequest {
    /// A hash of the request's content and the order it is for: a retry with the same number and
    /// the same content is the same refund, anything else is a conflict.
    #[must_use]
    pub fn fingerprint(&self, order: OrderId) -> Fingerprint {
        let opt = |v: Option<&str>| v.map_or_else(String::new, |v| format!("={v}"));
        let fields = [
            ("order_id", order.as_i64().to_string()),
            ("out_refund_no", self.out_refund_no.as_str().to_owned()),
            ("amount", self.amount.as_i64().to_string()),
            (
                "reason",
                opt(self.reason.as_ref().map(RefundReason::as_str)),
            ),
            (
                "notify_url",
                opt(self.notify_url.as_ref().map(NotifyUrl::as_str)),
            ),
        ];
        Fingerprint::of("r1", fields)
    }
}

/// A refund about to be stored. Only [`NewRefund::prepare`] makes one, so the fingerprint always
/// matches the request and the upstream number is always fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    order_id: OrderId,
    site_id: SiteId,
    request: RefundRequest,
    fingerprint: Fingerprint,
    upstream_refund_no: UpstreamRefundNo,
    created_at: Timestamp,
}

impl NewRefund {
    #[must_use]
    pub fn prepare(order: &Order, request: RefundRequest, now: Timestamp) -> Self {
        Self {
            order_id: order.id,
            site_id: order.site_id.clone(),
            fingerprint: request.fingerprint(order.id),
            request,
            upstream_refund_no: UpstreamRefundNo::generate(now),
            created_at: now,
        }
    }

    #[must_use]
    pub fn order_id(&self) -> OrderId {
        self.order_id
    }

    #[must_use]
    pub fn site_id(&self) -> &SiteId {
        &self.site_id
    }

    #[must_use]
    pub fn request(&self) -> &RefundRequest {
        &self.request
    }

    #[must_use]
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    #[must_use]
    pub fn upstream_refund_no(&self) -> &UpstreamRefundNo {
        &self.upstream_refund_no
    }

    #[must_use]
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
}

/// How long after payment each channel still takes a refund. Past it the channel refuses, so
/// paygate refuses first, before reserving anything or calling out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundWindows {
    /// WeChat Pay: one year after payment, for every merchant.
    pub wechat: Duration,
    /// Alipay: whatever the merchant's contract says (`alipay.refund_window`).
    pub alipay: Duration,
}

impl RefundWindows {
    pub const WECHAT: Duration = Duration::from_secs(365 * 86_400);
    /// Alipay's standard contract allows three months; merchants may have agreed on up to twelve.
    pub const ALIPAY_DEFAULT: Duration = Duration::from_secs(90 * 86_400);

    /// WeChat Pay's fixed window, and the Alipay contract's when one is configured.
    #[must_use]
    pub fn with_alipay(alipay: Option<Duration>) -> Self {
        Self {
            alipay: alipay.unwrap_or(Self::ALIPAY_DEFAULT),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn of(&self, channel: Channel) -> Duration {
        match channel {
            Channel::Wechat => self.wechat,
            Channel::Alipay => self.alipay,
        }
    }

    /// Whether an order of `channel` paid at `paid_at` can still be refunded at `now`.
    #[must_use]
    pub fn allows(&self, channel: Channel, paid_at: Timestamp, now: Timestamp) -> bool {
        now <= paid_at.plus(self.of(channel))
    }
}

impl Default for RefundWindows {
    fn default() -> Self {
        Self {
            wechat: Self::WECHAT,
            alipay: Self::ALIPAY_DEFAULT,
        }
    }
}

/// A stored refund, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: i64,
    pub order_id: OrderId,
    pub site_id: SiteId,
    /// The channel of the order (and so of the refund).
    pub channel: Channel,
    pub out_refund_no: OutRefundNo,
    pub upstream_refund_no: UpstreamRefundNo,
    pub amount: Amount,
    pub reason: Option<RefundReason>,
    pub notify_url: Option<NotifyUrl>,
    pub fingerprint: Fingerprint,
    pub status: RefundStatus,
    pub channel_refund_id: Option<String>,
    pub upstream_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub succeeded_at: Option<Timestamp>,
    pub version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_numbers_are_tokens_of_at_most_64() {
        assert!(OutRefundNo::parse("r1").is_ok());
        assert!(OutRefundNo::parse(&"r".repeat(64)).is_ok());
        assert_eq!(
            OutRefundNo::parse(""),
            Err(DomainError::Missing {
                field: "out_refund_no"
            })
        );
        for bad in [&"r".repeat(65), "a b", "退款1", "r\0"] {
            assert!(OutRefundNo::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn operator_refund_numbers_are_fresh_valid_and_marked() {
        let now = Timestamp::from_millis(1_706_601_234_000);
        let (a, b) = (
            OutRefundNo::generate_for_operator(now),
            OutRefundNo::generate_for_operator(now),
        );
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("op_1706601234000_"), "{a:?}");
        assert_eq!(a.as_str().len(), 29);
        assert_eq!(OutRefundNo::parse(a.as_str()), Ok(a));
    }

    #[test]
    fn upstream_refund_numbers_are_fresh_and_fit_both_channels() {
        let now = Timestamp::from_millis(1_706_601_234_000);
        let (a, b) = (
            UpstreamRefundNo::generate(now),
            UpstreamRefundNo::generate(now),
        );
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().starts_with("pr1706601234000"));
        assert_eq!(UpstreamRefundNo::parse(a.as_str()), Ok(a));
    }

    #[test]
    fn a_reason_is_short_visible_text() {
        assert!(RefundReason::parse("商品已售完").is_ok());
        assert!(RefundReason::parse(&"退".repeat(80)).is_ok());
        for bad in ["", "  ", &"退".repeat(81), "a\nb", "a\u{200b}b"] {
            assert!(RefundReason::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_a_failed_refund_frees_its_amount() {
        for status in [
            RefundStatus::Processing,
            RefundStatus::Succeeded,
            RefundStatus::Abnormal,
        ] {
            assert!(status.holds_amount());
            assert_eq!(RefundStatus::parse(status.as_str()), Ok(status));
        }
        assert!(!RefundStatus::Failed.holds_amount());
    }

    #[test]
    fn a_refund_window_ends_its_length_after_payment() {
        let paid = Timestamp::from_millis(1_700_000_000_000);
        let windows = RefundWindows::default();
        let year = RefundWindows::WECHAT;
        assert!(windows.allows(Channel::Wechat, paid, paid.plus(year)));
        assert!(!windows.allows(
            Channel::Wechat,
            paid,
            paid.plus(year + Duration::from_millis(1))
        ));
        let alipay = RefundWindows::ALIPAY_DEFAULT;
        assert!(windows.allows(Channel::Alipay, paid, paid.plus(alipay)));
        assert!(!windows.allows(
            Channel::Alipay,
            paid,
            paid.plus(alipay + Duration::from_secs(1))
        ));
    }

    #[test]
    fn the_fingerprint_covers_every_field_and_the_order() {
        let request = RefundRequest {
            out_refund_no: OutRefundNo::parse("r_001").unwrap(),
            amount: Amount::parse(3000).unwrap(),
            reason: None,
            notify_url: None,
        };
        let base = request.fingerprint(OrderId::from_i64(1));
        assert_eq!(base, request.fingerprint(OrderId::from_i64(1)));
        assert_ne!(base, request.fingerprint(OrderId::from_i64(2)));
        let mut other = request.clone();
        other.amount = Amount::parse(3001).unwrap();
        assert_ne!(base, other.fingerprint(OrderId::from_i64(1)));
        let mut other = request.clone();
        other.reason = Some(RefundReason::parse("x").unwrap());
        assert_ne!(base, other.fingerprint(OrderId::from_i64(1)));
        let mut other = request;
        other.reason = Some(RefundReason::parse("=").unwrap());
        assert_ne!(base, other.fingerprint(OrderId::from_i64(1)));
    }
}

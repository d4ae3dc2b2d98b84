//! A merchant notification: the event that tells a site one of its orders reached a final status,
//! its delivery status, and the attempts made to deliver it.

use super::token::random_with_prefix;
use super::{Order, Refund, Site, Split, Timestamp};

/// What happened, in WeChat Pay's vocabulary (seed 000's `event_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    TransactionSuccess,
    TransactionClosed,
    /// A refund reached the payer.
    RefundSuccess,
    /// The channel took a refund but the money could not reach the payer.
    RefundAbnormal,
    /// A refund was closed or refused: nothing was given back.
    RefundClosed,
    /// A split's shares reached (some of) its receivers.
    ProfitSharingSuccess,
    /// A split ended with nothing paid to its receivers.
    ProfitSharingFailed,
}

impl EventType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransactionSuccess => "TRANSACTION.SUCCESS",
            Self::TransactionClosed => "TRANSACTION.CLOSED",
            Self::RefundSuccess => "REFUND.SUCCESS",
            Self::RefundAbnormal => "REFUND.ABNORMAL",
            Self::RefundClosed => "REFUND.CLOSED",
            Self::ProfitSharingSuccess => "PROFITSHARING.SUCCESS",
            Self::ProfitSharingFailed => "PROFITSHARING.FAILED",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TRANSACTION.SUCCESS" => Some(Self::TransactionSuccess),
            "TRANSACTION.CLOSED" => Some(Self::TransactionClosed),
            "REFUND.SUCCESS" => Some(Self::RefundSuccess),
            "REFUND.ABNORMAL" => Some(Self::RefundAbnormal),
            "REFUND.CLOSED" => Some(Self::RefundClosed),
            "PROFITSHARING.SUCCESS" => Some(Self::ProfitSharingSuccess),
            "PROFITSHARING.FAILED" => Some(Self::ProfitSharingFailed),
            _ => None,
        }
    }
}

/// Where an event's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationStatus {
    /// Not yet acknowledged by the site; a delivery job exists or is about to.
    Pending,
    /// The site answered 2xx.
    Delivered,
    /// Every retry failed; only a resend delivers it now.
    Failed,
}

impl NotificationStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One notification event with what delivering it needs: its order (payload, notify URL override)
/// and its site (notify URL, SK in clear — in memory only; `SecretKey`'s `Debug` hides it).
#[derive(Debug, Clone)]
pub struct NotificationEvent {
    /// `evt_` and 24 random characters; stable across retries and resends.
    pub id: String,
    pub event_type: EventType,
    pub status: NotificationStatus,
    /// Attempts recorded so far (all of them, across resends).
    pub attempts: i32,
    pub created_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub order: Order,
    /// The refund a `REFUND.*` event is about; `None` for payment events.
    pub refund: Option<Refund>,
    /// The split a `PROFITSHARING.*` event is about; `None` for other events.
    pub split: Option<Split>,
    pub site: Site,
}

/// A recorded delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub id: i64,
    pub event_id: String,
    pub attempt_no: i32,
    pub at: Timestamp,
    pub http_status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    /// The target was a non-public address (reached or refused): `error` may name the address and
    /// `response_excerpt` is an internal service's answer, both for the operator's eyes only.
    pub private_target: bool,
    pub node: String,
}

/// A fresh event id: `evt_` and 24 random letters and digits (URL-safe) from the system CSPRNG.
pub(crate) fn new_event_id() -> String {
    random_with_prefix("evt_", 24)
}

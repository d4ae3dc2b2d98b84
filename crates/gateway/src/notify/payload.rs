//! The notification body. A payment event (`TRANSACTION.*`) carries seed 000's fields (`site_id
//! out_trade_no transaction_id trade_state amount event_type`) plus `event_id`, `paid_at`, `attach`,
//! `channel`, `method` and `livemode`; a refund event (`REFUND.*`) carries the refund
//! ([`RefundPayload`]); a split event (`PROFITSHARING.*`) carries the split ([`SplitPayload`]).
//! All are built from the stored event, order and refund and the database's
//! mode (which never changes), so every attempt and every resend of one event sends the same bytes.

use serde::Serialize;

use crate::domain::{
    Channel, EventType, Mode, NotificationEvent, Order, Refund, Split, SplitShare, Timestamp,
};

/// Seed 000's `trade_state` for an event. Exhaustive: a new event type must say what it reports.
/// After a refund event the trade is one with a refund (WeChat Pay's `REFUND`).
#[must_use]
pub fn trade_state(event: EventType) -> &'static str {
    match event {
        EventType::TransactionSuccess => "SUCCESS",
        EventType::TransactionClosed => "CLOSED",
        EventType::RefundSuccess | EventType::RefundAbnormal | EventType::RefundClosed => "REFUND",
        // A split leaves the trade paid: only where its money went changes.
        EventType::ProfitSharingSuccess | EventType::ProfitSharingFailed => "SUCCESS",
    }
}

/// The bytes sent for a stored event: compact JSON, of a payment or of its refund.
#[must_use]
pub fn body(event: &NotificationEvent, mode: Mode) -> Vec<u8> {
    match (&event.refund, &event.split) {
        (Some(refund), _) => RefundPayload::new(event, refund, mode).to_body(),
        (None, Some(split)) => SplitPayload::new(event, split, mode).to_body(),
        (None, None) => Payload::for_event(event, mode).to_body(),
    }
}

/// Compact JSON of a payload. Serialising plain strings and integers cannot fail; an empty object
/// keeps it total.
fn compact_json(payload: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(payload).unwrap_or_else(|_| b"{}".to_vec())
}

/// `amount` of a refund event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundPayloadAmount {
    /// This refund, in fen.
    pub refund: i64,
    /// The order's total, in fen.
    pub total: i64,
    pub currency: &'static str,
}

/// The JSON body of a refund notification. Field order is the serialisation order: do not reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundPayload {
    pub event_id: String,
    /// `REFUND.SUCCESS`, `REFUND.ABNORMAL` or `REFUND.CLOSED`.
    pub event_type: &'static str,
    pub site_id: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    /// `succeeded`, `abnormal` or `failed`.
    pub refund_status: &'static str,
    pub amount: RefundPayloadAmount,
    /// The channel's own refund id, when it gave one.
    pub channel_refund_id: Option<String>,
    /// RFC 3339 (UTC); `null` unless succeeded.
    pub succeeded_at: Option<String>,
    pub reason: Option<String>,
    pub channel: &'static str,
    pub method: &'static str,
    /// `false` from a sandbox database: no real money moved, whatever the rest says.
    pub livemode: bool,
}

impl RefundPayload {
    #[must_use]
    pub fn new(event: &NotificationEvent, refund: &Refund, mode: Mode) -> Self {
        let order = &event.order;
        Self {
            event_id: event.id.clone(),
            event_type: event.event_type.as_str(),
            site_id: order.site_id.as_str().to_owned(),
            out_trade_no: order.out_trade_no.as_str().to_owned(),
            out_refund_no: refund.out_refund_no.as_str().to_owned(),
            refund_status: refund.status.as_str(),
            amount: RefundPayloadAmount {
                refund: refund.amount.as_i64(),
                total: order.amount.as_i64(),
                currency: order.currency.as_str(),
            },
            channel_refund_id: refund.channel_refund_id.clone(),
            succeeded_at: refund.succeeded_at.map(Timestamp::to_rfc3339),
            reason: refund.reason.as_ref().map(|r| r.as_str().to_owned()),
            channel: order.pay_method.channel().as_str(),
            method: order.pay_method.method().as_str(),
            livemode: mode.is_live(),
        }
    }

    /// The bytes sent: compact JSON.
    #[must_use]
    pub fn to_body(&self) -> Vec<u8> {
        compact_json(self)
    }
}

/// One receiver of a split event, with what became of its share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitPayloadReceiver {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub account: String,
    /// Fen.
    pub amount: i64,
    /// `succeeded`, `failed` (or `pending`, never in a final split's event).
    pub result: &'static str,
    pub fail_reason: Option<String>,
}

impl SplitPayloadReceiver {
    fn of(share: &SplitShare) -> Self {
        Self {
            kind: share.receiver.kind.as_str(),
            account: share.receiver.account.as_str().to_owned(),
            amount: share.receiver.amount.as_i64(),
            result: share.result.as_str(),
            fail_reason: share.fail_reason.clone(),
        }
    }
}

/// The JSON body of a split notification. Field order is the serialisation order: do not reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitPayload {
    pub event_id: String,
    /// `PROFITSHARING.SUCCESS` or `PROFITSHARING.FAILED`.
    pub event_type: &'static str,
    pub site_id: String,
    pub out_trade_no: String,
    pub out_split_no: String,
    /// `succeeded` or `failed`.
    pub split_status: &'static str,
    /// What the split asked for in all, in fen.
    pub amount: i64,
    pub receivers: Vec<SplitPayloadReceiver>,
    /// The channel's own id of the split, when it gave one.
    pub channel_split_id: Option<String>,
    /// What the channel said when it refused the split.
    pub error: Option<String>,
    /// RFC 3339 (UTC).
    pub finished_at: Option<String>,
    pub channel: &'static str,
    pub method: &'static str,
    /// `false` from a sandbox database: no real money moved, whatever the rest says.
    pub livemode: bool,
}

impl SplitPayload {
    #[must_use]
    pub fn new(event: &NotificationEvent, split: &Split, mode: Mode) -> Self {
        let order = &event.order;
        Self {
            event_id: event.id.clone(),
            event_type: event.event_type.as_str(),
            site_id: order.site_id.as_str().to_owned(),
            out_trade_no: order.out_trade_no.as_str().to_owned(),
            out_split_no: split.out_split_no.as_str().to_owned(),
            split_status: split.status.as_str(),
            amount: split.amount.as_i64(),
            receivers: split.shares.iter().map(SplitPayloadReceiver::of).collect(),
            channel_split_id: split.channel_split_id.clone(),
            error: split.upstream_error.clone(),
            finished_at: split.finished_at.map(Timestamp::to_rfc3339),
            channel: order.pay_method.channel().as_str(),
            method: order.pay_method.method().as_str(),
            livemode: mode.is_live(),
        }
    }

    /// The bytes sent: compact JSON.
    #[must_use]
    pub fn to_body(&self) -> Vec<u8> {
        compact_json(self)
    }
}

/// `amount` as seed 000 shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadAmount {
    /// Fen.
    pub total: i64,
    pub currency: &'static str,
}

/// The JSON body of a notification. Field order is the serialisation order: do not reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payload {
    pub event_id: String,
    pub event_type: &'static str,
    pub site_id: String,
    pub out_trade_no: String,
    /// WeChat Pay's `transaction_id` or Alipay's `trade_no`; `null` when the channel gave none
    /// (a closed order).
    pub transaction_id: Option<String>,
    pub trade_state: &'static str,
    pub amount: PayloadAmount,
    /// RFC 3339 (UTC); `null` unless paid.
    pub paid_at: Option<String>,
    /// What the site passed with the order, returned as is.
    pub attach: Option<String>,
    /// `wechat` or `alipay`.
    pub channel: &'static str,
    /// `native`, `jsapi`, `qr`…
    pub method: &'static str,
    /// `false` from a sandbox database: no real money moved, whatever the rest says.
    pub livemode: bool,
}

impl Payload {
    /// The body for a stored event.
    #[must_use]
    pub fn for_event(event: &NotificationEvent, mode: Mode) -> Self {
        Self::new(&event.id, event.event_type, &event.order, mode)
    }

    #[must_use]
    pub fn new(event_id: &str, event_type: EventType, order: &Order, mode: Mode) -> Self {
        let transaction_id = match order.pay_method.channel() {
            Channel::Wechat => order.upstream.transaction_id.clone(),
            Channel::Alipay => order.upstream.trade_no.clone(),
        };
        Self {
            event_id: event_id.to_owned(),
            event_type: event_type.as_str(),
            site_id: order.site_id.as_str().to_owned(),
            out_trade_no: order.out_trade_no.as_str().to_owned(),
            transaction_id,
            trade_state: trade_state(event_type),
            amount: PayloadAmount {
                total: order.amount.as_i64(),
                currency: order.currency.as_str(),
            },
            paid_at: order.paid_at.map(Timestamp::to_rfc3339),
            attach: order.attach.as_ref().map(|a| a.as_str().to_owned()),
            channel: order.pay_method.channel().as_str(),
            method: order.pay_method.method().as_str(),
            livemode: mode.is_live(),
        }
    }

    /// The bytes sent: compact JSON.
    #[must_use]
    pub fn to_body(&self) -> Vec<u8> {
        compact_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_states() {
        assert_eq!(trade_state(EventType::TransactionSuccess), "SUCCESS");
        assert_eq!(trade_state(EventType::TransactionClosed), "CLOSED");
        assert_eq!(trade_state(EventType::RefundSuccess), "REFUND");
    }
}

//! The notification body: seed 000's fields (`site_id out_trade_no transaction_id trade_state
//! amount event_type`) plus `event_id`, `paid_at`, `attach`, `channel`, `method` and `livemode`.
//! It is built from the stored event and order and the database's mode (which never changes), so
//! every attempt and every resend of one event sends the same bytes.

use serde::Serialize;

use crate::domain::{Channel, EventType, Mode, NotificationEvent, Order, Timestamp};

/// Seed 000's `trade_state` for an event. Exhaustive: a new event type must say what it reports.
#[must_use]
pub fn trade_state(event: EventType) -> &'static str {
    match event {
        EventType::TransactionSuccess => "SUCCESS",
        EventType::TransactionClosed => "CLOSED",
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
        // Serialising plain strings and integers cannot fail; an empty object keeps it total.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_states() {
        assert_eq!(trade_state(EventType::TransactionSuccess), "SUCCESS");
        assert_eq!(trade_state(EventType::TransactionClosed), "CLOSED");
    }
}

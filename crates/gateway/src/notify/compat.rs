//! Notifications of orders made through another protocol (EPay, weidoufu, Jeepay), rendered and
//! signed the way that protocol's clients verify them, under the site's key for it. They go
//! through the same outbox, schedule and attempts log as paygate's own.

use url::Url;

use crate::domain::{
    Channel, CompatKey, EventType, NotificationEvent, Origin, Protocol, compat_trade_no,
};

/// What a compat order's event comes to.
#[derive(Debug)]
pub(super) enum Rendered {
    Send(compat::Notice),
    /// The protocol tells its sites of payments only: nothing is owed for this event.
    NotInProtocol,
    /// It cannot be signed now (the protocol was turned off for the site): retried on the schedule.
    Unsignable(String),
}

/// Renders `event` of an order made through `origin`, to `url`, under `key` (the site's keys for
/// that protocol, if it still has them).
pub(super) fn render(
    event: &NotificationEvent,
    origin: &Origin,
    key: Option<&CompatKey>,
    url: &Url,
) -> Rendered {
    if event.event_type != EventType::TransactionSuccess || event.refund.is_some() {
        return Rendered::NotInProtocol;
    }
    let Some(key) = key else {
        return Rendered::Unsignable(format!(
            "{} is off for this site: no key to sign with",
            origin.protocol.as_str()
        ));
    };
    let rendered = match origin.protocol {
        Protocol::Epay => epay(event, key, url),
        Protocol::Weidoufu | Protocol::Jeepay => {
            return Rendered::Unsignable(format!(
                "{} notifications are not rendered yet",
                origin.protocol.as_str()
            ));
        }
    };
    match rendered {
        Ok(notice) => Rendered::Send(notice),
        Err(e) => Rendered::Unsignable(format!("notify_url: {e}")),
    }
}

/// EPay's name for the channel an order was paid through.
#[must_use]
pub fn epay_type_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Wechat => compat::epay::PayType::Wxpay.as_str(),
        Channel::Alipay => compat::epay::PayType::Alipay.as_str(),
    }
}

/// What EPay's notification and `return_url` say of a paid order.
#[must_use]
pub fn epay_paid_order(order: &crate::domain::Order, pid: &str) -> Option<compat::epay::PaidOrder> {
    Some(compat::epay::PaidOrder {
        pid: pid.parse().ok()?,
        trade_no: compat_trade_no(order.id, order.created_at),
        out_trade_no: order.out_trade_no.as_str().to_owned(),
        type_name: epay_type_name(order.pay_method.channel()).to_owned(),
        name: order.description.as_str().to_owned(),
        money_fen: order.amount.as_i64(),
        param: order.attach.as_ref().map(|a| a.as_str().to_owned()),
    })
}

fn epay(event: &NotificationEvent, key: &CompatKey, url: &Url) -> Result<compat::Notice, String> {
    let paid = epay_paid_order(&event.order, &key.key_id)
        .ok_or_else(|| "the site's EPay pid is not a number".to_owned())?;
    compat::epay::notice(&paid, key.secret.expose(), url.as_str()).map_err(|e| e.to_string())
}

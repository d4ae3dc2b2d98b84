//! Notifications of orders made through another protocol (EPay, weidoufu, Jeepay), rendered and
//! signed the way that protocol's clients verify them, under the site's key for it. They go
//! through the same outbox, schedule and attempts log as paygate's own. Each protocol renders a
//! paid order's notice in a file of its own.

mod epay;
mod jeepay;
mod weidoufu;

use url::Url;

use crate::domain::{CompatKey, EventType, NotificationEvent, Origin, Protocol};

pub use epay::{epay_paid_order, epay_type_name};
pub use jeepay::{jeepay_pay_order, jeepay_state, origin_keys as jeepay_origin};

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
        Protocol::Epay => epay::notice(event, key, url),
        Protocol::Weidoufu => weidoufu::notice(event, key, url),
        Protocol::Jeepay => jeepay::notice(event, key, url),
    };
    match rendered {
        Ok(notice) => Rendered::Send(notice),
        Err(e) => Rendered::Unsignable(format!("notify_url: {e}")),
    }
}

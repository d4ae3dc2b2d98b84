//! Jeepay's notice of a paid order.

use url::Url;

use crate::domain::{CompatKey, NotificationEvent};

/// Not rendered yet: the event waits on the schedule, and fails once it is exhausted.
pub(super) fn notice(
    _event: &NotificationEvent,
    _key: &CompatKey,
    _url: &Url,
) -> Result<compat::Notice, String> {
    Err("Jeepay notifications are not rendered yet".to_owned())
}

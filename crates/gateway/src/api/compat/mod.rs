//! The other protocols existing clients speak, each an adapter at the edge: it reads and verifies
//! its wire format (the `compat` crate), then calls the same order and refund services as `/v1`.
//! Nothing below knows the protocol, except that an order remembers it (`domain::Origin`) so its
//! notifications are rendered in that protocol's format (`notify::compat`).
//!
//! Each protocol is off for a site until the operator turns it on (`paygate site compat enable`),
//! with keys of its own, separate from the site's AK/SK.

mod epay;
mod jeepay;
mod weidoufu;

use axum::Router;
use axum::body::Bytes;
use axum::http::Uri;

use super::Ctx;

/// Every compat route. Mounted beside the merchant API with the signed routes' rules: bodies read
/// whole within the deadline, and a client's failed requests limited.
pub(super) fn routes() -> Router<Ctx> {
    epay::routes()
        .merge(weidoufu::routes())
        .merge(jeepay::routes())
}

/// A request's parameters: its query's, or, when `from_body`, its form body's. Keys and values are
/// URL-decoded; bytes that are not UTF-8 become U+FFFD, which no signature will match.
fn form_params(uri: &Uri, body: &Bytes, from_body: bool) -> compat::Params {
    let raw: &[u8] = if from_body {
        body
    } else {
        uri.query().unwrap_or_default().as_bytes()
    };
    url::form_urlencoded::parse(raw).into_owned().collect()
}

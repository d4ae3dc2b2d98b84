//! Notification signing: `X-1Pass-Sign` = base64url (no padding) of HMAC-SHA256 under the site's
//! SK over `ts \n nonce \n hex(sha256(body))` — the API's request signature without the method and
//! path. The HMAC and encoding are the API's ([`crate::signing::sign`]).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::domain::{SecretKey, Timestamp};
use crate::signing;

pub const HEADER_TS: &str = "X-1Pass-Ts";
pub const HEADER_NONCE: &str = "X-1Pass-Nonce";
pub const HEADER_SIGN: &str = "X-1Pass-Sign";
pub const HEADER_EVENT_ID: &str = "X-1Pass-Event-Id";

/// The signing headers of one attempt. `Debug` leaves the signature out.
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationHeaders {
    /// Unix seconds.
    pub ts: String,
    pub nonce: String,
    pub sign: String,
}

impl std::fmt::Debug for NotificationHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationHeaders")
            .field("ts", &self.ts)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

/// `ts\nnonce\nhex(sha256(body))`.
fn canonical(ts: &str, nonce: &str, body: &[u8]) -> String {
    format!("{ts}\n{nonce}\n{}", hex::encode(Sha256::digest(body)))
}

/// Fresh headers (now, a new random nonce) signing `body` under `sk`.
#[must_use]
pub fn sign_notification(sk: &SecretKey, body: &[u8], now: Timestamp) -> NotificationHeaders {
    let ts = now.as_millis().div_euclid(1000).to_string();
    let nonce = channel_core::nonce::alphanumeric(32);
    let sign = signing::sign(sk.expose(), &canonical(&ts, &nonce, body));
    NotificationHeaders { ts, nonce, sign }
}

/// Whether `sign` is the signature of `body` with `ts` and `nonce` under `sk` (constant time). What
/// a site does on receipt, in Rust; the README has it in Node.js and Python.
#[must_use]
pub fn verify_notification(sk: &SecretKey, ts: &str, nonce: &str, sign: &str, body: &[u8]) -> bool {
    let expected = signing::sign(sk.expose(), &canonical(ts, nonce, body));
    let provided = sign.trim_end_matches('=');
    expected.as_bytes().ct_eq(provided.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sk() -> SecretKey {
        SecretKey::parse("sk_0123456789abcdefghij").unwrap()
    }

    #[test]
    fn signs_ts_nonce_and_body_hash() {
        let body = br#"{"event_id":"evt_1"}"#;
        let h = sign_notification(&sk(), body, Timestamp::from_millis(1_706_601_234_999));
        assert_eq!(h.ts, "1706601234");
        assert_eq!(h.nonce.len(), 32);
        assert!(!h.sign.contains('=') && !h.sign.contains('+') && !h.sign.contains('/'));
        assert!(verify_notification(&sk(), &h.ts, &h.nonce, &h.sign, body));
        assert!(!verify_notification(&sk(), &h.ts, &h.nonce, &h.sign, b"{}"));
        assert!(!verify_notification(
            &sk(),
            "1706601235",
            &h.nonce,
            &h.sign,
            body
        ));
        let other = SecretKey::parse("sk_other_0123456789abcdef").unwrap();
        assert!(!verify_notification(&other, &h.ts, &h.nonce, &h.sign, body));
        assert!(!format!("{h:?}").contains(&h.sign));
    }

    #[test]
    fn matches_an_independent_computation() {
        use base64::Engine as _;
        use hmac::{Hmac, Mac};
        let body = b"{}";
        let mut mac = Hmac::<Sha256>::new_from_slice(sk().expose().as_bytes()).unwrap();
        mac.update(format!("1\nn\n{}", hex::encode(Sha256::digest(body))).as_bytes());
        let want =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        assert!(verify_notification(&sk(), "1", "n", &want, body));
    }
}

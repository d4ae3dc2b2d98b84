//! The signature both directions share (seed 000): base64url without padding of HMAC-SHA256 under
//! the site's SK over a canonical string. A site signs its API requests with it, and paygate signs
//! its notifications to the site; each builds its own canonical string, the API's being
//! [`canonical`].

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::domain::ApiNonce;

/// `ts\nnonce\nMETHOD\npath\nhex(sha256(body))`, exactly as seed 000's Node example builds it.
#[must_use]
pub fn canonical(ts: &str, nonce: &ApiNonce, method: &str, path: &str, body: &[u8]) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    format!("{ts}\n{}\n{method}\n{path}\n{body_hash}", nonce.as_str())
}

/// The signature of `canonical` under `sk`, as the seed's `digest('base64url')` prints it.
#[must_use]
pub fn sign(sk: &str, canonical: &str) -> String {
    let mut mac = new_mac(sk);
    mac.update(canonical.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` (decoded) is the HMAC of `canonical` under `sk`, compared in constant time.
#[must_use]
pub(crate) fn verify_signature(sk: &str, canonical: &str, signature: &[u8]) -> bool {
    let mut mac = new_mac(sk);
    mac.update(canonical.as_bytes());
    mac.verify_slice(signature).is_ok()
}

fn new_mac(sk: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this never fails; the fallback keeps it total.
    Hmac::<Sha256>::new_from_slice(sk.as_bytes())
        .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()))
}

//! Verification of WeChat Pay's signed answers and callbacks: message `TIMESTAMP\nNONCE\nBODY\n`,
//! key chosen by `Wechatpay-Serial`, clock skew under 300 s.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use channel_core::RsaPublicKey;
use http::HeaderMap;

use crate::auth::SCHEMA;
use crate::error::SignatureFailure;

/// The skew at or beyond which an answer is refused, as the official SDKs do.
pub const MAX_SKEW_SECONDS: i64 = 300;

pub const HEADER_TIMESTAMP: &str = "Wechatpay-Timestamp";
pub const HEADER_NONCE: &str = "Wechatpay-Nonce";
pub const HEADER_SIGNATURE: &str = "Wechatpay-Signature";
pub const HEADER_SERIAL: &str = "Wechatpay-Serial";
pub const HEADER_SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";

/// The `Wechatpay-*` headers of one answer or callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
    pub signature_type: Option<String>,
}

impl SignedHeaders {
    /// # Errors
    /// [`SignatureFailure::MissingHeader`] or [`SignatureFailure::MalformedHeader`].
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, SignatureFailure> {
        let get = |name: &'static str| -> Result<Option<String>, SignatureFailure> {
            headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map(str::to_owned)
                        .map_err(|_| SignatureFailure::MalformedHeader(name))
                })
                .transpose()
        };
        let need = |name: &'static str| get(name)?.ok_or(SignatureFailure::MissingHeader(name));
        Ok(Self {
            timestamp: need(HEADER_TIMESTAMP)?,
            nonce: need(HEADER_NONCE)?,
            signature: need(HEADER_SIGNATURE)?,
            serial: need(HEADER_SERIAL)?,
            signature_type: get(HEADER_SIGNATURE_TYPE)?,
        })
    }

    /// Checks everything but the key: signature type and clock skew. Returns the message to verify.
    fn precheck(&self, body: &[u8], now: i64) -> Result<Vec<u8>, SignatureFailure> {
        if let Some(t) = &self.signature_type
            && t != SCHEMA
        {
            return Err(SignatureFailure::UnsupportedSignatureType(t.clone()));
        }
        let timestamp: i64 = self
            .timestamp
            .trim()
            .parse()
            .map_err(|_| SignatureFailure::MalformedHeader(HEADER_TIMESTAMP))?;
        let skew = now.saturating_sub(timestamp).saturating_abs();
        if skew >= MAX_SKEW_SECONDS {
            return Err(SignatureFailure::StaleTimestamp { timestamp, skew });
        }
        let mut message = format!("{}\n{}\n", self.timestamp, self.nonce).into_bytes();
        message.extend_from_slice(body);
        message.push(b'\n');
        Ok(message)
    }

    /// Verifies `body` against these headers with the key `keys` holds for the serial.
    ///
    /// # Errors
    /// The first [`SignatureFailure`] found.
    pub fn verify(&self, body: &[u8], keys: &KeyRing, now: i64) -> Result<(), SignatureFailure> {
        let message = self.precheck(body, now)?;
        let key = keys
            .get(&self.serial)
            .ok_or_else(|| SignatureFailure::UnknownSerial(self.serial.clone()))?;
        key.verify_base64(&message, &self.signature)
            .map_err(|_| SignatureFailure::BadSignature)
    }
}

/// Verification keys by `Wechatpay-Serial`: platform certificate serials and public-key ids.
/// Shared between requests and replaced in place when certificates are refreshed.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: RwLock<HashMap<String, RsaPublicKey>>,
}

impl KeyRing {
    #[must_use]
    pub fn get(&self, serial: &str) -> Option<RsaPublicKey> {
        // A poisoned lock only means a writer panicked between whole-map inserts; the map is usable.
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(serial)
            .cloned()
    }

    pub fn insert(&self, serial: String, key: RsaPublicKey) {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(serial, key);
    }

    #[must_use]
    pub fn serials(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        s.sort();
        s
    }

    /// A copy of the ring with `extra` keys added, for checking an answer against keys not yet trusted.
    #[must_use]
    pub fn with_extra(&self, extra: impl IntoIterator<Item = (String, RsaPublicKey)>) -> Self {
        let mut keys = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        keys.extend(extra);
        Self {
            keys: RwLock::new(keys),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use channel_core::RsaPrivateKey;
    use http::HeaderValue;

    struct Signed {
        headers: HeaderMap,
        ring: KeyRing,
        key: RsaPrivateKey,
    }

    fn signed(body: &[u8], ts: i64) -> Signed {
        let key = RsaPrivateKey::generate().unwrap();
        let ring = KeyRing::default();
        ring.insert("PUB_KEY_ID_0112345".into(), key.public_key().unwrap());
        let mut message = format!("{ts}\nnonce123\n").into_bytes();
        message.extend_from_slice(body);
        message.push(b'\n');
        let mut headers = HeaderMap::new();
        let mut put =
            |k: &'static str, v: &str| headers.insert(k, HeaderValue::from_str(v).unwrap());
        put(HEADER_TIMESTAMP, &ts.to_string());
        put(HEADER_NONCE, "nonce123");
        put(HEADER_SERIAL, "PUB_KEY_ID_0112345");
        put(HEADER_SIGNATURE_TYPE, SCHEMA);
        put(HEADER_SIGNATURE, &key.sign_base64(&message));
        Signed { headers, ring, key }
    }

    #[test]
    fn accepts_a_genuine_answer_and_refuses_each_kind_of_fault() {
        let now = 1_700_000_000;
        let body = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}"#;
        let s = signed(body, now);
        let h = SignedHeaders::from_headers(&s.headers).unwrap();
        h.verify(body, &s.ring, now).unwrap();
        h.verify(body, &s.ring, now + 299).unwrap();

        let tampered = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=abd"}"#;
        assert_eq!(
            h.verify(tampered, &s.ring, now),
            Err(SignatureFailure::BadSignature)
        );
        let bad_sig = SignedHeaders {
            signature: s.key.sign_base64(b"other"),
            ..h.clone()
        };
        assert_eq!(
            bad_sig.verify(body, &s.ring, now),
            Err(SignatureFailure::BadSignature)
        );
        assert!(matches!(
            h.verify(body, &s.ring, now + 300),
            Err(SignatureFailure::StaleTimestamp { .. })
        ));
        assert!(matches!(
            h.verify(body, &s.ring, now - 300),
            Err(SignatureFailure::StaleTimestamp { .. })
        ));
        let other_serial = SignedHeaders {
            serial: "PUB_KEY_ID_9".into(),
            ..h.clone()
        };
        assert_eq!(
            other_serial.verify(body, &s.ring, now),
            Err(SignatureFailure::UnknownSerial("PUB_KEY_ID_9".into()))
        );
        let wrong_type = SignedHeaders {
            signature_type: Some("HMAC-SHA256".into()),
            ..h.clone()
        };
        assert!(matches!(
            wrong_type.verify(body, &s.ring, now),
            Err(SignatureFailure::UnsupportedSignatureType(_))
        ));
        let no_type = SignedHeaders {
            signature_type: None,
            ..h
        };
        no_type.verify(body, &s.ring, now).unwrap();

        let mut missing = s.headers.clone();
        missing.remove(HEADER_SIGNATURE);
        assert_eq!(
            SignedHeaders::from_headers(&missing),
            Err(SignatureFailure::MissingHeader(HEADER_SIGNATURE))
        );
    }

    #[test]
    fn empty_body_is_signed_as_an_empty_last_line() {
        let now = 1_700_000_000;
        let s = signed(b"", now);
        let h = SignedHeaders::from_headers(&s.headers).unwrap();
        h.verify(b"", &s.ring, now).unwrap();
    }
}

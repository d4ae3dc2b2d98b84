//! One error type for the crate. Its variants are kept apart because the gateway acts differently on
//! each: a transport failure leaves the outcome unknown, an upstream refusal is final, an unverifiable
//! answer must not be trusted at all.

use channel_core::TransportError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Timeout, connection failure or broken transfer: WeChat Pay may or may not have acted.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// WeChat Pay answered with a non-2xx status and `{code, message, detail}`. `code` is empty when
    /// the body was not WeChat's error JSON (say, a proxy's HTML page); `message` then holds its start.
    #[error("WeChat Pay refused (HTTP {status}): {code} {message}")]
    Upstream {
        status: u16,
        code: String,
        message: String,
        detail: Option<serde_json::Value>,
    },

    /// A response or callback whose signature could not be checked or did not verify.
    #[error("unverifiable WeChat Pay message: {0}")]
    Signature(#[from] SignatureFailure),

    /// AEAD decryption failed: wrong APIv3 key, tampered ciphertext, nonce or associated data.
    #[error("could not decrypt WeChat Pay resource (wrong APIv3 key or tampered data)")]
    Decrypt,

    /// The downloaded bill does not hash to what the (verified) bill application said.
    #[error("bill file SHA1 {actual} does not match the announced {expected}")]
    BillHashMismatch { expected: String, actual: String },

    /// A verified 2xx answer, or a decrypted resource, that is not what the API documents.
    #[error("unexpected WeChat Pay body: {0}")]
    Decode(String),

    /// The client was configured with something unusable (bad key, bad URL).
    #[error("wechatpay configuration: {0}")]
    Config(String),

    /// The request cannot be sent as given (a field the chosen API requires is missing).
    #[error("invalid wechatpay request: {0}")]
    InvalidRequest(String),
}

/// Why a signed response or callback was not accepted. Tests and logs can tell these apart; the
/// gateway treats them all as "do not trust".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFailure {
    #[error("signature does not verify")]
    BadSignature,
    #[error("no key known for Wechatpay-Serial {0:?}")]
    UnknownSerial(String),
    #[error("timestamp {timestamp} is {skew} s away from now")]
    StaleTimestamp { timestamp: i64, skew: i64 },
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    #[error("header {0} is malformed")]
    MalformedHeader(&'static str),
    #[error("unsupported Wechatpay-Signature-Type {0:?}")]
    UnsupportedSignatureType(String),
}

impl Error {
    /// True when the request may have taken effect at WeChat Pay without us knowing the result: the
    /// caller must query before deciding anything (never assume failure and retry with new content).
    ///
    /// That is a transport failure, a 5xx (WeChat's `SYSTEM_ERROR` asks for a retry with the same
    /// parameters), or a 2xx answer we could not trust or read.
    #[must_use]
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::Transport(_) | Self::Signature(_) | Self::Decode(_) => true,
            Self::Upstream { status, .. } => *status >= 500,
            Self::Decrypt
            | Self::BillHashMismatch { .. }
            | Self::Config(_)
            | Self::InvalidRequest(_) => false,
        }
    }

    /// The upstream error code (`ORDER_NOT_EXIST`, `SIGN_ERROR`, …) if WeChat Pay refused.
    #[must_use]
    pub fn upstream_code(&self) -> Option<&str> {
        match self {
            Self::Upstream { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn decode(what: &str, e: impl std::fmt::Display) -> Self {
        Self::Decode(format!("{what}: {e}"))
    }
}

//! One error type for every Alipay call, split by what the caller must do about it.

use channel_core::TransportError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong talking to Alipay.
///
/// The variants answer the gateway's real question, "did the payment operation happen?":
/// [`Error::Upstream`] means Alipay answered and said no; [`Error::Transport`] means nobody knows
/// (see [`Error::is_outcome_unknown`]); [`Error::Signature`] means an answer arrived that must not
/// be trusted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request may or may not have reached Alipay; the outcome is unknown and must be found
    /// out by a query.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// Alipay answered, signed, with a code other than `10000`.
    #[error("alipay refused: {code} {msg} ({} {})", sub_code.as_deref().unwrap_or("-"), sub_msg.as_deref().unwrap_or("-"))]
    Upstream {
        code: String,
        msg: String,
        sub_code: Option<String>,
        sub_msg: Option<String>,
    },

    /// A response or notification failed signature verification, or was not signed when it had to be.
    #[error("alipay signature check failed: {0}")]
    Signature(SignatureFailure),

    /// A response or notification could not be read (not JSON or a form, a field missing or malformed).
    #[error("undecodable alipay message: {0}")]
    Decode(String),

    /// The client was configured with something unusable (a key that does not parse, a bad URL).
    #[error("alipay client configuration: {0}")]
    Config(String),
}

/// Why a signature check failed. Deliberately coarse: details would help a forger, not an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFailure {
    /// A successful response or a notification came without `sign`.
    #[error("signature missing")]
    Missing,
    /// `sign` is present but does not verify with the Alipay public key.
    #[error("signature does not verify")]
    BadSignature,
    /// A validly signed notification names another app: Alipay signs every app's notifications with
    /// the same key, so a notification replayed from another merchant would otherwise pass.
    #[error("notification is for another app_id")]
    ForeignApp,
    /// A validly signed notification for another merchant account (`seller_id`), or one without
    /// it when the client knows its account: the same reasoning as [`SignatureFailure::ForeignApp`].
    #[error("notification is for another seller_id")]
    ForeignSeller,
    /// `sign_type` is absent or not `RSA2`, the only type this client verifies. It is not part of
    /// the signed text, so it is checked on its own.
    #[error("sign_type is not RSA2")]
    SignType,
}

impl Error {
    /// True when the operation may or may not have taken effect at Alipay, so the caller must
    /// query before deciding (never treat it as a failure, never retry a payment blindly).
    ///
    /// Besides transport failures this covers Alipay's own "system busy" answers (`20000`,
    /// `ACQ.SYSTEM_ERROR`, and for a settlement `ACQ.TRADE_SETTLE_ERROR`), which its documentation
    /// says to resolve by query or by retrying with the same parameters, and answers
    /// that arrived but could not be read or trusted.
    #[must_use]
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::Transport(_) | Self::Decode(_) | Self::Signature(_) => true,
            Self::Upstream { code, sub_code, .. } => {
                code == "20000"
                    || matches!(
                        sub_code.as_deref(),
                        Some("ACQ.SYSTEM_ERROR" | "ACQ.TRADE_SETTLE_ERROR")
                    )
            }
            Self::Config(_) => false,
        }
    }

    /// Alipay's most specific code when it refused: the `sub_code` (`ACQ.TRADE_NOT_EXIST`), or
    /// the `code` when there is none. The counterpart of WeChat Pay's error `code`.
    #[must_use]
    pub fn upstream_code(&self) -> Option<&str> {
        match self {
            Self::Upstream { code, sub_code, .. } => Some(sub_code.as_deref().unwrap_or(code)),
            _ => None,
        }
    }
}

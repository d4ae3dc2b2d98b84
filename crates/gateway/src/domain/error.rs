//! The one error every domain parser returns: it names the field; the API maps it to a stable code.

/// Why a value from outside was refused. Each variant names the field it is about, so the API can
/// say which input was wrong; the API maps each variant to the stable code it answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A required value was absent or empty (seed 000 treats both as missing).
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("out_trade_no must be 6-64 characters of letters, digits, '_' or '-'")]
    InvalidOutTradeNo,
    /// `field` is the order's `amount_total` or a refund's `amount`.
    #[error("{field} must be a positive whole number of fen, at most {max}")]
    InvalidAmount { field: &'static str, max: i64 },
    #[error("currency must be CNY")]
    InvalidCurrency,
    #[error("description must be at most {max} characters")]
    DescriptionTooLong { max: usize },
    /// A control or invisible formatting character in text shown to the payer: a right-to-left
    /// override or a zero-width space can make the text read differently from what it says.
    #[error(
        "{field} contains U+{:04X}, a control or invisible formatting character (such as a \
         direction override or a zero-width space); such characters can make the text shown to the \
         payer read differently from what it is",
        u32::from(*.found)
    )]
    InvisibleCharacter { field: &'static str, found: char },
    #[error("attach must be 1-{max} characters")]
    InvalidAttach { max: usize },
    #[error("{field} must be an http or https URL with a host, at most {max} characters")]
    InvalidUrl { field: &'static str, max: usize },
    #[error("expire_minutes must be between {min} and {max}")]
    InvalidExpireMinutes { min: u32, max: u32 },
    #[error("channel must be one of: wechat, alipay")]
    InvalidChannel,
    #[error("unknown method {0:?}")]
    InvalidMethod(String),
    #[error("method {method} is not offered on channel {channel}")]
    MethodNotOnChannel {
        channel: &'static str,
        method: &'static str,
    },
    #[error("unknown order status {0:?}")]
    InvalidStatus(String),
    /// An identifier (site id, AK, SK, token, upstream number, payer id, ...) that is malformed.
    #[error("{field} is malformed")]
    Malformed { field: &'static str },
    #[error("a password must be {min}-{max} characters without control characters")]
    PasswordPolicy { min: usize, max: usize },
    /// The operator's fee on a site: a rate in basis points or a fixed fee in fen out of range.
    #[error("{field} must be a whole number from 0 to {max}")]
    FeeOutOfRange { field: &'static str, max: i64 },
    /// A site user without a site, or an operator (admin, viewer) given one.
    #[error("a site user needs a site; admin and viewer users have none")]
    RoleSite,
}

impl DomainError {
    /// The API's code for this error, which the API maps (`api::error`), so the domain's tests can
    /// say which answer a refusal becomes.
    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        crate::api::error::ErrorCode::from(self).as_str()
    }

    /// The request field the error is about, for the API's error detail.
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            Self::Missing { field }
            | Self::InvalidUrl { field, .. }
            | Self::Malformed { field }
            | Self::InvisibleCharacter { field, .. }
            | Self::InvalidAmount { field, .. }
            | Self::FeeOutOfRange { field, .. } => field,
            Self::InvalidOutTradeNo => "out_trade_no",
            Self::InvalidCurrency => "currency",
            Self::DescriptionTooLong { .. } => "description",
            Self::InvalidAttach { .. } => "attach",
            Self::InvalidExpireMinutes { .. } => "expire_minutes",
            Self::InvalidChannel => "channel",
            Self::InvalidMethod(_) | Self::MethodNotOnChannel { .. } => "method",
            Self::InvalidStatus(_) => "status",
            Self::PasswordPolicy { .. } => "password",
            Self::RoleSite => "site",
        }
    }
}

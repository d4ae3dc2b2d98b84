//! What can go wrong talking to a channel, split by what the caller must do about it.

use crate::domain::{Channel, PayMethod};

/// Why a channel call did not give an answer to act on.
///
/// The split that matters for money: `Refused` is final (the channel answered and said no),
/// `Unknown` is not (the call may have taken effect; resolve it with [`super::Channels::query`]
/// and never treat it as a failure).
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// paygate has no account for this channel, or no appid for this method (WeChat mini-program
    /// or App).
    #[error("payment method {0} is not configured")]
    NotConfigured(PayMethod),

    /// The channel answered and refused, with its own code (`ORDERPAID`, `ACQ.TRADE_HAS_SUCCESS`…).
    #[error("{} refused: {code} {message}", channel.as_str())]
    Refused {
        channel: Channel,
        code: String,
        message: String,
    },

    /// Timeout, 5xx, "system busy", or an answer that could not be verified or read: the channel
    /// may or may not have acted.
    #[error("{} outcome unknown: {message}", channel.as_str())]
    Unknown { channel: Channel, message: String },

    /// The order cannot be sent as it is (a payer field the method needs is missing, nothing stored
    /// to build pay parameters from) or the client rejected its own configuration.
    #[error("invalid channel request: {0}")]
    Invalid(String),
}

/// The channel's code for "no such order": WeChat Pay's and Alipay's.
const NOT_FOUND_CODES: [&str; 2] = ["ORDER_NOT_EXIST", "ACQ.TRADE_NOT_EXIST"];

impl ChannelError {
    /// True when the operation may have taken effect upstream: query before deciding anything.
    #[must_use]
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::Unknown { .. } => true,
            Self::NotConfigured(_) | Self::Refused { .. } | Self::Invalid(_) => false,
        }
    }

    /// The channel's refusal code, when it refused.
    #[must_use]
    pub fn upstream_code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            Self::NotConfigured(_) | Self::Unknown { .. } | Self::Invalid(_) => None,
        }
    }

    /// True when the channel refused because it has no such order (a `close` of an order it never
    /// received; see [`super::Channels::close`] for what that means on each channel).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        self.upstream_code()
            .is_some_and(|c| NOT_FOUND_CODES.contains(&c))
    }

    pub(crate) fn missing(what: &str, order_method: PayMethod) -> Self {
        Self::Invalid(format!("{order_method} needs {what}"))
    }
}

/// WeChat Pay client errors. Its messages carry WeChat's code and text, never keys.
impl From<wechatpay::Error> for ChannelError {
    fn from(e: wechatpay::Error) -> Self {
        let channel = Channel::Wechat;
        if e.is_outcome_unknown() {
            return Self::Unknown {
                channel,
                message: e.to_string(),
            };
        }
        match e {
            wechatpay::Error::Upstream {
                status,
                code,
                message,
                ..
            } => Self::Refused {
                channel,
                // A 4xx without WeChat's error JSON (a proxy's page) still needs a code to show.
                code: if code.is_empty() {
                    format!("HTTP_{status}")
                } else {
                    code
                },
                message,
            },
            // Listed although `is_outcome_unknown` took them above, so a new variant must be placed.
            wechatpay::Error::Transport(_)
            | wechatpay::Error::Signature(_)
            | wechatpay::Error::Decode(_) => Self::Unknown {
                channel,
                message: e.to_string(),
            },
            wechatpay::Error::Config(_)
            | wechatpay::Error::InvalidRequest(_)
            | wechatpay::Error::Decrypt
            | wechatpay::Error::BillHashMismatch { .. } => Self::Invalid(e.to_string()),
        }
    }
}

/// Alipay client errors. Its messages carry Alipay's codes and text, never keys.
impl From<alipay::Error> for ChannelError {
    fn from(e: alipay::Error) -> Self {
        let channel = Channel::Alipay;
        if e.is_outcome_unknown() {
            return Self::Unknown {
                channel,
                message: e.to_string(),
            };
        }
        match e {
            alipay::Error::Upstream {
                ref code,
                ref msg,
                ref sub_code,
                ref sub_msg,
            } => Self::Refused {
                channel,
                code: sub_code.clone().unwrap_or_else(|| code.clone()),
                message: sub_msg.clone().unwrap_or_else(|| msg.clone()),
            },
            alipay::Error::Transport(_)
            | alipay::Error::Signature(_)
            | alipay::Error::Decode(_) => Self::Unknown {
                channel,
                message: e.to_string(),
            },
            alipay::Error::Config(_) => Self::Invalid(e.to_string()),
        }
    }
}

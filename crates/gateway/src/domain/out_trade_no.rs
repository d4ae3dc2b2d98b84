//! The site's own order number, as seed 000 defines it.

use super::DomainError;
use super::token::is_token;

/// The merchant's order number: 6–64 characters of `[A-Za-z0-9_-]` (seed 000). Unique per site only;
/// two sites may use the same one (paygate sends its own [`super::UpstreamOrderNo`] upstream).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutTradeNo(String);

impl OutTradeNo {
    pub const MIN_LEN: usize = 6;
    pub const MAX_LEN: usize = 64;

    /// # Errors
    /// `Missing` when empty, `InvalidOutTradeNo` when the length or a character is wrong.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing {
                field: "out_trade_no",
            });
        }
        if !is_token(s, Self::MIN_LEN, Self::MAX_LEN) {
            return Err(DomainError::InvalidOutTradeNo);
        }
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OutTradeNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_seed_example_and_the_length_edges() {
        for ok in ["order_20240101_001", "abcdef", &"a".repeat(64), "A-b_9-Z"] {
            assert_eq!(
                OutTradeNo::parse(ok).map(|o| o.as_str().to_owned()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn refuses_short_long_and_foreign_characters() {
        for bad in [
            "abcde",
            &"a".repeat(65),
            "order 001",
            "order.001",
            "订单号123456",
            "abc/def",
        ] {
            assert_eq!(
                OutTradeNo::parse(bad),
                Err(DomainError::InvalidOutTradeNo),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_is_missing() {
        let err = OutTradeNo::parse("").unwrap_err();
        assert_eq!(err.code(), "missing_fields");
        assert_eq!(err.field(), "out_trade_no");
    }
}

//! paygate's own order number at WeChat Pay and Alipay.

use super::DomainError;
use super::token::{is_token, random_with_prefix};

/// The `out_trade_no` paygate sends upstream. Sites choose their own numbers and two sites may pick
/// the same one, but the channel sees one merchant (the operator), so paygate numbers orders itself.
/// Fits both channels: WeChat Pay wants 6–32 characters of `[0-9A-Za-z_-]` (Alipay allows 64).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpstreamOrderNo(String);

impl UpstreamOrderNo {
    pub const MIN_LEN: usize = 6;
    pub const MAX_LEN: usize = 32;

    /// `pg`, the creation time in unix milliseconds (13 digits until the year 2286, so numbers sort
    /// by time in bills), then 17 random letters or digits (~100 bits) so numbers never collide even
    /// across nodes; the database's UNIQUE constraint is the final guard. 32 characters in all.
    #[must_use]
    pub fn generate(now: super::Timestamp) -> Self {
        let millis = now.as_millis().clamp(0, 9_999_999_999_999);
        let prefix = format!("pg{millis:013}");
        Self(random_with_prefix(&prefix, Self::MAX_LEN - prefix.len()))
    }

    /// # Errors
    /// `Malformed` unless 6–32 characters of `[0-9A-Za-z_-]`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if is_token(s, Self::MIN_LEN, Self::MAX_LEN) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed {
                field: "upstream_order_no",
            })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    #[test]
    fn generated_numbers_fit_wechat_and_sort_by_time() {
        let a = UpstreamOrderNo::generate(Timestamp::from_millis(1_706_601_234_000));
        let b = UpstreamOrderNo::generate(Timestamp::from_millis(1_706_601_234_001));
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().starts_with("pg1706601234000"));
        assert!(a < b);
        assert_eq!(UpstreamOrderNo::parse(a.as_str()), Ok(a.clone()));
        assert_ne!(
            a,
            UpstreamOrderNo::generate(Timestamp::from_millis(1_706_601_234_000))
        );
    }

    #[test]
    fn parse_edges() {
        assert!(UpstreamOrderNo::parse("abcdef").is_ok());
        assert!(UpstreamOrderNo::parse(&"a".repeat(32)).is_ok());
        for bad in ["abcde", &"a".repeat(33), "pg 123456", ""] {
            assert!(UpstreamOrderNo::parse(bad).is_err(), "{bad}");
        }
    }
}

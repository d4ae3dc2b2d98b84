//! Money of an order: a positive amount of fen in CNY. Never a float.

use channel_core::Fen;

use super::DomainError;

/// An order amount: a positive whole number of fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Fen);

impl Amount {
    /// WeChat Pay v3 carries `amount.total` as a 32-bit int, so a larger order could never be paid.
    pub const MAX_FEN: i64 = i32::MAX as i64;

    /// # Errors
    /// `InvalidAmount` unless `1 <= fen <= MAX_FEN` (seed 000: a positive integer in fen).
    pub fn parse(fen: i64) -> Result<Self, DomainError> {
        if (1..=Self::MAX_FEN).contains(&fen) {
            Ok(Self(Fen(fen)))
        } else {
            Err(DomainError::InvalidAmount {
                field: "amount_total",
                max: Self::MAX_FEN,
            })
        }
    }

    #[must_use]
    pub fn fen(self) -> Fen {
        self.0
    }

    #[must_use]
    pub fn as_i64(self) -> i64 {
        self.0.0
    }
}

/// The order currency. Seed 000 supports CNY only, and so do the channels for these payment methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Currency {
    #[default]
    Cny,
}

impl Currency {
    /// # Errors
    /// `InvalidCurrency` for anything but `"CNY"` (exact case, as seed 000 and WeChat Pay spell it).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "CNY" => Ok(Self::Cny),
            _ => Err(DomainError::InvalidCurrency),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cny => "CNY",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_edges() {
        assert_eq!(Amount::parse(1).map(Amount::as_i64), Ok(1));
        assert_eq!(
            Amount::parse(2990).map(|a| a.fen().to_yuan_string()),
            Ok("29.90".into())
        );
        assert!(Amount::parse(Amount::MAX_FEN).is_ok());
        for bad in [0, -1, i64::MIN, Amount::MAX_FEN + 1, i64::MAX] {
            assert_eq!(
                Amount::parse(bad).unwrap_err().code(),
                "invalid_amount",
                "{bad}"
            );
        }
    }

    #[test]
    fn currency_is_cny_only() {
        assert_eq!(Currency::parse("CNY"), Ok(Currency::Cny));
        assert_eq!(Currency::default().as_str(), "CNY");
        for bad in ["cny", "USD", "", " CNY"] {
            assert_eq!(Currency::parse(bad).unwrap_err().code(), "invalid_currency");
        }
    }
}

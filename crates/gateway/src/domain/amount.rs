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

    /// Parses an amount as a person types it in yuan: whole yuan and at most two decimals, `12`,
    /// `12.3`, `12.30`, `0.01`, into exact fen (never through a float). Strict, because it moves
    /// money: no sign, exponent, spaces, thousands separators, bare or trailing point (`.5`, `12.`)
    /// or leading zeros (`012`), and nothing a third decimal would have to be rounded away from.
    ///
    /// # Errors
    /// `Malformed` for anything else, `Zero` for `0`/`0.00`, `TooLarge` above [`Amount::MAX_FEN`].
    pub fn parse_yuan(s: &str) -> Result<Self, YuanError> {
        let malformed = || YuanError::Malformed(s.to_owned());
        let (whole, frac) = match s.split_once('.') {
            Some((whole, frac)) if (1..=2).contains(&frac.len()) => (whole, frac),
            Some(_) => return Err(malformed()),
            None => (s, ""),
        };
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) {
            return Err(malformed());
        }
        if whole.len() > 1 && whole.starts_with('0') {
            return Err(malformed());
        }
        // Eleven digits of yuan are already past MAX_FEN: refusing longer text keeps the
        // arithmetic below from overflowing.
        if whole.len() > 10 {
            return Err(YuanError::TooLarge(s.to_owned()));
        }
        let number = |p: &str| p.parse::<i64>().map_err(|_| malformed());
        let whole = number(whole)?;
        let frac = match frac.len() {
            0 => 0,
            1 => number(frac)? * 10,
            _ => number(frac)?,
        };
        let fen = whole * 100 + frac;
        if fen == 0 {
            return Err(YuanError::Zero);
        }
        Self::parse(fen).map_err(|_| YuanError::TooLarge(s.to_owned()))
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

/// Why a yuan amount typed by a person was refused ([`Amount::parse_yuan`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YuanError {
    #[error(
        "{0:?} is not an amount in yuan: write digits with at most two decimals, such as 12, 12.3, \
         12.30 or 0.01 (no sign, exponent, spaces or leading zeros)"
    )]
    Malformed(String),
    #[error("the amount must be at least 0.01")]
    Zero,
    #[error("{0:?} is more than the largest amount a channel takes, 21474836.47")]
    TooLarge(String),
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
    fn yuan_as_typed_becomes_exact_fen() {
        for (text, fen) in [
            ("12", 1200),
            ("12.3", 1230),
            ("12.30", 1230),
            ("0.01", 1),
            ("0.1", 10),
            ("29.90", 2990),
            ("17.60", 1760),
            ("0.99", 99),
            ("21474836.47", Amount::MAX_FEN),
        ] {
            assert_eq!(
                Amount::parse_yuan(text).map(Amount::as_i64),
                Ok(fen),
                "{text}"
            );
        }
    }

    #[test]
    fn yuan_that_is_not_plainly_written_is_refused() {
        for bad in [
            "", "12.345", "-1", "+1", "1e3", "12.", ".5", ".", "012", "00.01", " 12", "12 ",
            "1,000", "12.3.4", "１２", "12,30", "0x10", "NaN", "inf", "12.-3", "--1",
        ] {
            assert_eq!(
                Amount::parse_yuan(bad),
                Err(YuanError::Malformed(bad.to_owned())),
                "{bad:?}"
            );
        }
        for zero in ["0", "0.0", "0.00"] {
            assert_eq!(Amount::parse_yuan(zero), Err(YuanError::Zero), "{zero}");
        }
        for big in ["21474836.48", "99999999999", "999999999999999999999999"] {
            assert_eq!(
                Amount::parse_yuan(big),
                Err(YuanError::TooLarge(big.to_owned())),
                "{big}"
            );
        }
    }

    #[test]
    fn a_refusal_says_how_to_write_the_amount() {
        let e = Amount::parse_yuan("12.345").unwrap_err().to_string();
        assert!(e.contains("\"12.345\"") && e.contains("12.30"), "{e}");
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

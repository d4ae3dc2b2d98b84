//! Money as `i64` fen (1/100 yuan), converted to and from Alipay's yuan strings without floats.

use std::fmt;

/// An amount of money in fen. Never passes through a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not a yuan amount with at most two decimals: {0:?}")]
    Malformed(String),
    #[error("yuan amount out of range: {0:?}")]
    OutOfRange(String),
}

impl Fen {
    /// The yuan string Alipay expects: always two decimals, `"29.90"`, `"0.01"`, `"-1.50"`.
    #[must_use]
    pub fn to_yuan_string(self) -> String {
        self.to_string()
    }

    /// Parses a yuan string such as `"29.9"`, `"29.90"`, `"30"` or `"0.01"` into fen.
    ///
    /// # Errors
    /// A string that is not a decimal number with at most two decimals, or does not fit in `i64` fen.
    pub fn parse_yuan(s: &str) -> Result<Self, MoneyError> {
        let malformed = || MoneyError::Malformed(s.to_owned());
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > 2 {
            return Err(malformed());
        }
        if digits.ends_with('.') {
            return Err(malformed());
        }
        let out_of_range = || MoneyError::OutOfRange(s.to_owned());
        let whole: i64 = whole.parse().map_err(|_| out_of_range())?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => i64::from(frac.as_bytes()[0] - b'0') * 10,
            _ => frac.parse().map_err(|_| malformed())?,
        };
        let fen = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(out_of_range)?;
        Ok(Self(if negative { -fen } else { fen }))
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_two_decimals() {
        assert_eq!(Fen(1).to_yuan_string(), "0.01");
        assert_eq!(Fen(2990).to_yuan_string(), "29.90");
        assert_eq!(Fen(99_999_999).to_yuan_string(), "999999.99");
        assert_eq!(Fen(0).to_yuan_string(), "0.00");
        assert_eq!(Fen(-150).to_yuan_string(), "-1.50");
        assert_eq!(Fen(i64::MIN).to_yuan_string(), "-92233720368547758.08");
    }

    #[test]
    fn parses_what_it_formats_and_alipay_variants() {
        for fen in [0, 1, 9, 10, 99, 100, 2990, 99_999_999, -150] {
            assert_eq!(Fen::parse_yuan(&Fen(fen).to_yuan_string()), Ok(Fen(fen)));
        }
        assert_eq!(Fen::parse_yuan("29.9"), Ok(Fen(2990)));
        assert_eq!(Fen::parse_yuan("30"), Ok(Fen(3000)));
        assert_eq!(Fen::parse_yuan("0.10"), Ok(Fen(10)));
    }

    #[test]
    fn refuses_what_is_not_money() {
        for bad in [
            "", ".5", "1.", "1.234", "1e3", "+1", "1,00", " 1", "abc", "--1", "1.-1",
        ] {
            assert!(Fen::parse_yuan(bad).is_err(), "{bad:?} parsed");
        }
        assert!(matches!(
            Fen::parse_yuan("999999999999999999999"),
            Err(MoneyError::OutOfRange(_))
        ));
    }
}

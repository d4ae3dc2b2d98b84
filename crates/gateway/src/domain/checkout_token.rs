//! The bearer token in checkout and status URLs (`?token=ck_…`).

use base64::Engine as _;

use super::DomainError;
use super::token::is_token;

/// `ck_` followed by 32 base64url characters (192 random bits): unguessable, and safe in a URL as is.
/// Whoever holds it may see the order's checkout page and status, so `Debug` shows only a prefix.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CheckoutToken(String);

impl CheckoutToken {
    const PREFIX: &'static str = "ck_";
    const RANDOM_BYTES: usize = 24;
    const ENCODED_LEN: usize = 32;

    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::RANDOM_BYTES];
        channel_core::nonce::fill(&mut bytes);
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Self(format!("{}{encoded}", Self::PREFIX))
    }

    /// # Errors
    /// `Missing` when empty, `Malformed` unless `ck_` and exactly 32 base64url characters.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing { field: "token" });
        }
        match s.strip_prefix(Self::PREFIX) {
            Some(rest) if is_token(rest, Self::ENCODED_LEN, Self::ENCODED_LEN) => {
                Ok(Self(s.to_owned()))
            }
            _ => Err(DomainError::Malformed { field: "token" }),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CheckoutToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.0.get(..7).unwrap_or("ck_");
        write!(f, "CheckoutToken({shown}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_url_safe_distinct_and_parse_back() {
        let a = CheckoutToken::generate();
        let b = CheckoutToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 35);
        assert!(a.as_str().starts_with("ck_"));
        assert_eq!(CheckoutToken::parse(a.as_str()), Ok(a.clone()));
        assert!(!format!("{a:?}").contains(&a.as_str()[7..]));
    }

    #[test]
    fn refuses_wrong_prefix_length_or_characters() {
        let body = "A".repeat(32);
        assert!(CheckoutToken::parse(&format!("ck_{body}")).is_ok());
        for bad in [
            format!("ck_{}", "A".repeat(31)),
            format!("ck_{}", "A".repeat(33)),
            format!("cx_{body}"),
            format!("ck_{}+/", "A".repeat(30)),
            body.clone(),
        ] {
            assert_eq!(
                CheckoutToken::parse(&bad).unwrap_err().field(),
                "token",
                "{bad}"
            );
        }
        assert_eq!(
            CheckoutToken::parse("").unwrap_err().code(),
            "missing_fields"
        );
    }
}

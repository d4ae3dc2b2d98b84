//! The `X-1Pass-Nonce` of a signed request.

use super::DomainError;

/// A request nonce: 8–128 visible ASCII characters. Seed 000's example sends 32 hex digits, its
/// header sample a UUID; the bound keeps a hostile client from filling the nonce table with huge keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiNonce(String);

impl ApiNonce {
    pub const MIN_LEN: usize = 8;
    pub const MAX_LEN: usize = 128;

    /// # Errors
    /// `Missing` when empty, `Malformed` when too short, too long, or not visible ASCII.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing { field: "nonce" });
        }
        let visible = s.bytes().all(|b| b.is_ascii_graphic());
        if visible && (Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed { field: "nonce" })
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

    #[test]
    fn nonce_edges() {
        for ok in [
            "0123456789abcdef0123456789abcdef",
            "9b2f1c1e-0d7a-4d4e-9d39-3f0b2f1c1e0d",
            "12345678",
        ] {
            assert!(ApiNonce::parse(ok).is_ok(), "{ok}");
        }
        assert!(ApiNonce::parse(&"n".repeat(128)).is_ok());
        assert_eq!(ApiNonce::parse("").unwrap_err().code(), "missing_fields");
        for bad in [
            "1234567",
            &"n".repeat(129),
            "has space1",
            "tab\there1",
            "非ascii-nonce",
        ] {
            assert_eq!(ApiNonce::parse(bad).unwrap_err().field(), "nonce", "{bad}");
        }
    }
}

//! A console session: the random token in the user's cookie, and what the server keeps of it.

use sha2::{Digest, Sha256};

use super::token::random_with_prefix;
use super::{DomainError, Timestamp, UserId};

/// The token in a session cookie: 43 random letters and digits (over 250 bits) after `pgs_`.
/// Only its SHA-256 is stored. No `Display`, and `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    const PREFIX: &'static str = "pgs_";
    const RANDOM_LEN: usize = 43;

    #[must_use]
    pub fn generate() -> Self {
        Self(random_with_prefix(Self::PREFIX, Self::RANDOM_LEN))
    }

    /// A token from a cookie.
    ///
    /// # Errors
    /// `Malformed` unless it has the shape [`SessionToken::generate`] gives.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.strip_prefix(Self::PREFIX) {
            Some(rest)
                if rest.len() == Self::RANDOM_LEN
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(DomainError::Malformed { field: "session" }),
        }
    }

    /// What the sessions table is keyed by (hex SHA-256).
    #[must_use]
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The token itself, for the `Set-Cookie` header only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// A session as the server keeps it. Its CSRF token goes into the forms of its pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The absolute end, however active the session is.
    pub expires_at: Timestamp,
    pub ip: Option<String>,
}

/// A fresh CSRF token: 32 random letters and digits.
#[must_use]
pub fn new_csrf_token() -> String {
    random_with_prefix("", 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_back_and_hide_in_debug() {
        let token = SessionToken::generate();
        assert_eq!(SessionToken::parse(token.expose()), Ok(token.clone()));
        assert_eq!(format!("{token:?}"), "SessionToken(<redacted>)");
        assert_eq!(token.hash().len(), 64);
        assert_ne!(token.hash(), SessionToken::generate().hash());
        for bad in [
            "",
            "pgs_",
            "pgs_short",
            &format!("xxx_{}", &token.expose()[4..]),
        ] {
            assert!(SessionToken::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! A password as a user typed it: checked against the policy once, then only ever hashed or
//! verified. It has no `Display`, its `Debug` shows nothing of it, and its bytes are wiped when it
//! is dropped.

use zeroize::Zeroizing;

use super::DomainError;

pub struct Password(Zeroizing<String>);

impl Password {
    /// Long enough to resist guessing at Argon2's cost; a passphrase is welcome.
    pub const MIN_CHARS: usize = 10;
    /// Bounds the work one login asks of the hasher.
    pub const MAX_CHARS: usize = 1024;

    /// A new password, checked against the policy (what a user may choose).
    ///
    /// # Errors
    /// `PasswordPolicy` when shorter than [`Self::MIN_CHARS`] or longer than [`Self::MAX_CHARS`]
    /// characters, or made of control characters (a pasted line end left in the middle).
    pub fn new(s: String) -> Result<Self, DomainError> {
        let s = Zeroizing::new(s);
        let chars = s.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) || s.chars().any(char::is_control)
        {
            return Err(DomainError::PasswordPolicy {
                min: Self::MIN_CHARS,
                max: Self::MAX_CHARS,
            });
        }
        Ok(Self(s))
    }

    /// A password offered at login, checked only for length: the policy may have changed since it
    /// was chosen, and a wrong one is refused by the verification anyway. Empty is allowed (and
    /// fails verification like any wrong password, at the same cost).
    #[must_use]
    pub fn offered(s: String) -> Self {
        let mut s = Zeroizing::new(s);
        if s.chars().count() > Self::MAX_CHARS {
            // Cut rather than refused: a refusal would answer sooner than a verification.
            let end = s
                .char_indices()
                .nth(Self::MAX_CHARS)
                .map_or(s.len(), |(i, _)| i);
            s.truncate(end);
        }
        Self(s)
    }

    /// The password itself, for the hasher only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A stored password hash (an Argon2id PHC string). Not a secret like the password, but no use
/// in a log either: `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    #[must_use]
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    #[must_use]
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_wants_ten_to_1024_characters() {
        assert!(Password::new("correct horse".to_owned()).is_ok());
        assert!(
            Password::new("密码密码密码密码密码".to_owned()).is_ok(),
            "characters, not bytes"
        );
        for bad in ["", "123456789", "with\nnewline!"] {
            assert!(matches!(
                Password::new(bad.to_owned()),
                Err(DomainError::PasswordPolicy { min: 10, .. })
            ));
        }
        assert!(Password::new("x".repeat(1025)).is_err());
    }

    #[test]
    fn debug_shows_nothing_of_it() {
        let p = Password::new("hunter2hunter2".to_owned()).unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        let offered = Password::offered("x".repeat(5000));
        assert_eq!(offered.expose().len(), Password::MAX_CHARS);
    }
}

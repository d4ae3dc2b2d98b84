//! Free text the site gives an order: the description shown to the payer, and `attach` returned to it.

use super::DomainError;

/// What the payer sees on the payment page and in their bill: 1–127 characters (seed 000:
/// "≤127 字符", counted in characters, so 127 Chinese characters fit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 127;

    /// # Errors
    /// `Missing` when empty, `DescriptionTooLong` past 127 characters, `Malformed` with control characters.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing {
                field: "description",
            });
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::DescriptionTooLong {
                max: Self::MAX_CHARS,
            });
        }
        // Control characters would end up in a channel's signed request and on the checkout page.
        if s.chars().any(char::is_control) {
            return Err(DomainError::Malformed {
                field: "description",
            });
        }
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Opaque data the site attaches to an order and gets back in the notification: 1–128 characters,
/// WeChat Pay's `attach` limit (Alipay's `passback_params` allows more, so the stricter one wins).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attach(String);

impl Attach {
    pub const MAX_CHARS: usize = 128;

    /// # Errors
    /// `InvalidAttach` when empty or longer than 128 characters (an absent attach is `None`, not "").
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let n = s.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(DomainError::InvalidAttach {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Self(s.to_owned()))
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
    fn description_counts_characters_not_bytes() {
        assert!(Description::parse("VIP月卡").is_ok());
        assert!(Description::parse(&"月".repeat(127)).is_ok());
        assert!(Description::parse(&"a".repeat(127)).is_ok());
        let too_long = Description::parse(&"月".repeat(128)).unwrap_err();
        assert_eq!(too_long.code(), "description_too_long");
        assert_eq!(too_long.field(), "description");
        assert_eq!(
            Description::parse(&"a".repeat(128)).unwrap_err().code(),
            "description_too_long"
        );
    }

    #[test]
    fn description_empty_is_missing_and_control_characters_are_refused() {
        assert_eq!(Description::parse("").unwrap_err().code(), "missing_fields");
        assert_eq!(
            Description::parse("a\nb").unwrap_err().field(),
            "description"
        );
    }

    #[test]
    fn attach_edges() {
        assert!(Attach::parse("x").is_ok());
        assert!(Attach::parse(&"附".repeat(128)).is_ok());
        assert_eq!(Attach::parse("").unwrap_err().code(), "invalid_attach");
        assert_eq!(
            Attach::parse(&"a".repeat(129)).unwrap_err().code(),
            "invalid_attach"
        );
    }
}

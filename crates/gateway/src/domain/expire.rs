//! How long an order may be paid for.

use super::DomainError;

/// Minutes until an unpaid order expires: 15 by default (seed 000), between 1 and 1440 (a day; a
/// checkout QR code is not meant to live longer, and WeChat's `code_url` is only valid for 2 hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExpireMinutes(u32);

impl ExpireMinutes {
    pub const MIN: u32 = 1;
    pub const MAX: u32 = 1440;
    pub const DEFAULT: Self = Self(15);

    /// # Errors
    /// `InvalidExpireMinutes` outside `1..=1440` (taken as `i64` so that a negative JSON number is
    /// refused here rather than wrapping).
    pub fn parse(minutes: i64) -> Result<Self, DomainError> {
        u32::try_from(minutes)
            .ok()
            .filter(|m| (Self::MIN..=Self::MAX).contains(m))
            .map(Self)
            .ok_or(DomainError::InvalidExpireMinutes {
                min: Self::MIN,
                max: Self::MAX,
            })
    }

    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }

    #[must_use]
    pub fn as_millis(self) -> i64 {
        i64::from(self.0) * 60_000
    }
}

impl Default for ExpireMinutes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_and_default() {
        assert_eq!(ExpireMinutes::default().get(), 15);
        assert_eq!(ExpireMinutes::parse(1).map(ExpireMinutes::get), Ok(1));
        assert_eq!(
            ExpireMinutes::parse(1440).map(ExpireMinutes::as_millis),
            Ok(86_400_000)
        );
        for bad in [0, -1, 1441, i64::MAX, i64::from(u32::MAX) + 1] {
            assert_eq!(
                ExpireMinutes::parse(bad).unwrap_err().code(),
                "invalid_expire_minutes"
            );
        }
    }
}

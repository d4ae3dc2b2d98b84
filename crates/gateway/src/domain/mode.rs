//! Sandbox or live: what a database is for, fixed when it is first initialised (like Stripe's test
//! and live modes). A sandbox database only ever meets the simulators; a live one only real channels.

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The simulators stand in for the channels: no real money moves.
    Sandbox,
    /// Real WeChat Pay and Alipay accounts.
    Live,
}

impl Mode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Live => "live",
        }
    }

    /// # Errors
    /// `Malformed` for anything but `sandbox` or `live`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "sandbox" => Ok(Self::Sandbox),
            "live" => Ok(Self::Live),
            _ => Err(DomainError::Malformed { field: "mode" }),
        }
    }

    /// `livemode` in notifications.
    #[must_use]
    pub fn is_live(self) -> bool {
        self == Self::Live
    }

    /// Keys show where they belong: `ak_test_…`/`sk_test_…` in sandbox, `ak_live_…`/`sk_live_…` live,
    /// so a sandbox key pasted into a production config is recognisable at a glance.
    #[must_use]
    pub(crate) fn key_infix(self) -> &'static str {
        match self {
            Self::Sandbox => "test_",
            Self::Live => "live_",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_nothing_else_parses() {
        for mode in [Mode::Sandbox, Mode::Live] {
            assert_eq!(Mode::parse(mode.as_str()).unwrap(), mode);
        }
        for bad in ["", "Live", "test", "production"] {
            assert!(Mode::parse(bad).is_err(), "{bad}");
        }
    }
}

//! Instants as unix milliseconds: what the database stores on both backends, and easy to compare.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    #[must_use]
    pub fn now() -> Self {
        // A clock before 1970 or past the year 292 million is not a clock paygate can run on; 0 and
        // i64::MAX keep the arithmetic total instead of panicking.
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self(millis)
    }

    #[must_use]
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    #[must_use]
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    #[must_use]
    pub fn minus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// An RFC 3339 time with its offset (`2024-01-30T08:00:00Z`, `2024-01-30T16:00:00+08:00`), as an
    /// operator gives one; `None` for anything else.
    #[must_use]
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let at = ::time::OffsetDateTime::parse(s, &::time::format_description::well_known::Rfc3339)
            .ok()?;
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
            .ok()
            .map(Self)
    }

    /// China time, `YYYY-MM-DD HH:MM:SS`: how the Chinese gateways' protocols (EPay) show an
    /// instant. Empty outside years 0000–9999.
    #[must_use]
    pub fn to_china_time(self) -> String {
        const CHINA_OFFSET_MS: i64 = 8 * 3600 * 1000;
        ::time::OffsetDateTime::from_unix_timestamp(
            self.0.saturating_add(CHINA_OFFSET_MS).div_euclid(1000),
        )
        .ok()
        .and_then(|at| {
            at.format(::time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_default()
    }

    /// RFC 3339 in UTC with whole seconds (`2024-01-30T08:00:00Z`): how the API, notifications and
    /// the CLI show an instant. Empty outside years 0000–9999, which no clock or stored row that
    /// paygate wrote reaches.
    #[must_use]
    pub fn to_rfc3339(self) -> String {
        ::time::OffsetDateTime::from_unix_timestamp(self.0.div_euclid(1000))
            .ok()
            .and_then(|at| {
                at.format(&::time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_whole_seconds() {
        assert_eq!(
            Timestamp::from_millis(1_706_601_234_567).to_rfc3339(),
            "2024-01-30T07:53:54Z"
        );
        assert_eq!(
            Timestamp::from_millis(-1).to_rfc3339(),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(Timestamp::from_millis(i64::MAX).to_rfc3339(), "");
    }

    #[test]
    fn rfc3339_is_read_back_with_its_offset() {
        let at = Timestamp::from_millis(1_706_601_234_000);
        assert_eq!(Timestamp::parse_rfc3339("2024-01-30T07:53:54Z"), Some(at));
        assert_eq!(
            Timestamp::parse_rfc3339("2024-01-30T15:53:54+08:00"),
            Some(at)
        );
        for bad in ["", "2024-01-30", "24h", "2024-01-30 07:53:54"] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn china_time_is_eight_hours_ahead_of_utc() {
        let at = Timestamp::from_millis(1_706_601_234_567);
        assert_eq!(at.to_china_time(), "2024-01-30 15:53:54");
    }
}

//! The console's days and clock: China Standard Time (UTC+8, no daylight saving), whoever looks.
//! The operators and the sites of WeChat Pay and Alipay keep their books in it.

use std::time::Duration;

use crate::domain::Timestamp;

/// How far the console's clock is ahead of UTC.
pub const CONSOLE_UTC_OFFSET: Duration = Duration::from_secs(8 * 3600);

const DAY_MS: i64 = 86_400_000;

fn offset_ms() -> i64 {
    // Eight hours: far inside i64.
    i64::try_from(CONSOLE_UTC_OFFSET.as_millis()).unwrap_or(0)
}

/// The console day `at` falls on, as whole days since 1970-01-01 in the console's time zone.
#[must_use]
pub fn local_day(at: Timestamp) -> i64 {
    (at.as_millis() + offset_ms()).div_euclid(DAY_MS)
}

/// When console day `day` starts.
#[must_use]
pub fn local_day_start(day: i64) -> Timestamp {
    Timestamp::from_millis(day * DAY_MS - offset_ms())
}

/// `at` on the console's clock: `2024-01-30 15:53:54`.
#[must_use]
pub fn local_time(at: Timestamp) -> String {
    let local = at.as_millis() + offset_ms();
    ::time::OffsetDateTime::from_unix_timestamp(local.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(::time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// Console day `day` as `2024-01-30`.
#[must_use]
pub fn local_date(day: i64) -> String {
    local_time(local_day_start(day))
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The day a `YYYY-MM-DD` date names on the console's calendar; `None` for anything else.
#[must_use]
pub fn parse_local_date(s: &str) -> Option<i64> {
    let date = ::time::Date::parse(
        s,
        ::time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let midnight_utc = date.midnight().assume_utc().unix_timestamp();
    Some(midnight_utc.div_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_turn_at_midnight_in_china() {
        // 2024-01-30T15:59:59.999Z is 23:59:59.999 in Beijing; a millisecond later it is the 31st.
        let before = Timestamp::parse_rfc3339("2024-01-30T15:59:59Z").unwrap();
        let before = Timestamp::from_millis(before.as_millis() + 999);
        let after = Timestamp::from_millis(before.as_millis() + 1);
        assert_eq!(local_day(after), local_day(before) + 1);
        assert_eq!(local_day_start(local_day(after)), after);
        assert_eq!(local_date(local_day(before)), "2024-01-30");
        assert_eq!(local_date(local_day(after)), "2024-01-31");
        assert_eq!(local_time(after), "2024-01-31 00:00:00");
        assert_eq!(parse_local_date("2024-01-31"), Some(local_day(after)));
        for bad in [
            "",
            "2024-1-31",
            "2024-02-30",
            "31/01/2024",
            "2024-01-31T00:00",
        ] {
            assert_eq!(parse_local_date(bad), None, "{bad:?}");
        }
    }
}

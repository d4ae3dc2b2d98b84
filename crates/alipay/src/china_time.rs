//! Alipay writes every time as `yyyy-MM-dd HH:mm:ss` in China time (UTC+8), with no zone marker.

use time::format_description::FormatItem;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
/// Parsing also takes fractional seconds: refund times (`gmt_refund`) carry milliseconds.
const PARSE_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]");
const CHINA: UtcOffset = offset!(+8);

/// `t` as Alipay writes it, in China time whatever offset `t` carries.
#[must_use]
pub fn format(t: OffsetDateTime) -> String {
    // The format has only numeric components of a valid date, so formatting cannot fail; the
    // fallback keeps the signature panic-free anyway.
    t.to_offset(CHINA).format(FORMAT).unwrap_or_default()
}

/// The current time as Alipay's `timestamp` parameter wants it.
#[must_use]
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Parses an Alipay time (China time) into an absolute instant.
///
/// # Errors
/// Text not of the form `yyyy-MM-dd HH:mm:ss`.
pub fn parse(s: &str) -> Result<OffsetDateTime, time::error::Parse> {
    Ok(PrimitiveDateTime::parse(s, PARSE_FORMAT)?.assume_offset(CHINA))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn converts_to_china_time_and_back() {
        let t = datetime!(2024-12-31 16:30:05 UTC);
        assert_eq!(format(t), "2025-01-01 00:30:05");
        assert_eq!(parse("2025-01-01 00:30:05").unwrap(), t);
        assert!(parse("2025-01-01T00:30:05").is_err());
        assert_eq!(
            parse("2025-01-01 00:30:05.320").unwrap(),
            t + time::Duration::milliseconds(320)
        );
    }
}

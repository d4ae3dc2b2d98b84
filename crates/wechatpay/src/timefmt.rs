//! WeChat Pay's timestamps: RFC 3339 with an offset and whole seconds, `2018-06-08T10:34:56+08:00`.
//! `time`'s own RFC 3339 writer would add fractional seconds, which WeChat Pay's field rules refuse,
//! so writing uses an explicit format; reading accepts any RFC 3339.

use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

const WRITE: &[time::format_description::BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
);

/// Formats as WeChat Pay writes it, in the value's own offset.
///
/// # Errors
/// Only for a year outside 0..=9999.
pub fn format(t: OffsetDateTime) -> Result<String, time::error::Format> {
    t.format(WRITE)
}

/// # Errors
/// Text that is not RFC 3339.
pub fn parse(s: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(s, &Rfc3339)
}

pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    let text = format(*t).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

pub mod option {
    use super::{Deserialize, Deserializer, OffsetDateTime, Serializer};

    // serde calls `serialize` only when the value is `Some` thanks to `skip_serializing_if`, but the
    // signature must still take the whole `Option`.
    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            // Some WeChat answers carry an empty string where no time applies yet.
            Some(text) if !text.is_empty() => super::parse(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn writes_whole_seconds_with_the_offset() {
        let t = datetime!(2018-06-08 10:34:56.789 +08:00);
        assert_eq!(format(t).unwrap(), "2018-06-08T10:34:56+08:00");
        assert_eq!(
            parse("2018-06-08T10:34:56+08:00").unwrap(),
            datetime!(2018-06-08 10:34:56 +08:00)
        );
    }
}

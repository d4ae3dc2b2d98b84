//! Durations as people write them in a config file: `100ms`, `15s`, `3m`, `6h`, `1d`, or several
//! parts in a row (`1m30s`). A bare number is refused: "60" could mean seconds or milliseconds, and
//! a setting read the wrong way (a lease a thousand times too short) fails quietly.

use std::time::Duration;

/// Parses one duration. The reason on error does not repeat the text (the caller names the setting).
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty; write a duration such as 100ms, 15s, 3m or 6h".to_owned());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let value: f64 = number
            .parse()
            .map_err(|_| "is not a duration such as 100ms, 15s, 3m or 6h".to_owned())?;
        let seconds_per_unit = match unit.trim() {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "" => return Err("needs a unit (ms, s, m, h or d), such as 15s".to_owned()),
            _ => return Err("has an unknown unit; use ms, s, m, h or d".to_owned()),
        };
        let part = Duration::try_from_secs_f64(value * seconds_per_unit)
            .map_err(|_| "is out of range".to_owned())?;
        total = total
            .checked_add(part)
            .ok_or_else(|| "is out of range".to_owned())?;
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_compounds() {
        assert_eq!(parse("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse(" 3m "), Ok(Duration::from_secs(180)));
        assert_eq!(parse("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn ambiguous_or_malformed_text_is_refused() {
        for bad in ["", "60", "15x", "s", "-1s", "1..2s", "ms15"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}

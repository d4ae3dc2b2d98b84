//! EPay's money: yuan, as the clients spell it (`10`, `10.5`, `10.00`, and PHP's `is_numeric` also
//! takes `.5` and `10.`), parsed exactly to fen; and the spelling of the notification, PHP's
//! `(float)` cast printed (`1.00` is `1`, `10.50` is `10.5`).

/// Fen from a yuan string the way EPay's server accepts it: digits and one dot, at most two
/// decimals, more than zero. `None` for anything else, including amounts too large for `i64` fen.
#[must_use]
pub fn parse_money(raw: &str) -> Option<i64> {
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 2 {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let fen = whole.checked_mul(100)?.checked_add(frac)?;
    (fen > 0).then_some(fen)
}

/// The notification's `money`: the amount as PHP prints a float, without trailing zeros.
#[must_use]
pub fn money_for_notice(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let (whole, cents) = (abs / 100, abs % 100);
    match cents {
        0 => format!("{sign}{whole}"),
        c if c % 10 == 0 => format!("{sign}{whole}.{}", c / 10),
        c => format!("{sign}{whole}.{c:02}"),
    }
}

/// The yuan string with two decimals, as EPay's database stores and its query answers show it.
#[must_use]
pub fn money_two_decimals(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_the_clients_send_parses_to_the_same_fen() {
        assert_eq!(parse_money("10"), Some(1000));
        assert_eq!(parse_money("10.5"), Some(1050));
        assert_eq!(parse_money("10.50"), Some(1050));
        assert_eq!(parse_money("10.00"), Some(1000));
        assert_eq!(parse_money("0.01"), Some(1));
        assert_eq!(parse_money(".5"), Some(50));
        assert_eq!(parse_money("10."), Some(1000));
    }

    #[test]
    fn zero_negative_too_precise_or_malformed_amounts_are_refused() {
        for bad in [
            "",
            ".",
            "0",
            "0.00",
            "-1",
            "1.001",
            "1e3",
            "1,00",
            " 1",
            "1.2.3",
            "abc",
            "99999999999999999999",
        ] {
            assert_eq!(parse_money(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_notice_prints_money_as_php_prints_a_float() {
        assert_eq!(money_for_notice(100), "1");
        assert_eq!(money_for_notice(1050), "10.5");
        assert_eq!(money_for_notice(1), "0.01");
        assert_eq!(money_for_notice(1234), "12.34");
        assert_eq!(money_two_decimals(1050), "10.50");
    }
}

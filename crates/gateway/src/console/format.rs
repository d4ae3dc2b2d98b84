//! How the console writes money and time: fen as yuan with two decimals and thousands separators
//! (integer arithmetic only), instants on the console's clock (UTC+8).

use crate::domain::Timestamp;

/// `1234567` fen → `12,345.67`.
pub(super) fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

/// `1234567` fen → `12345.67`: as a person types it back into a form.
pub(super) fn plain_yuan(fen: i64) -> String {
    channel_core::Fen(fen).to_string()
}

/// An instant on the console's clock, `2024-01-30 15:53:54`.
pub(super) fn time(at: Timestamp) -> String {
    crate::service::console::local_time(at)
}

/// [`time`], or a dash.
pub(super) fn time_or_dash(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "—".to_owned(), time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_is_grouped_by_thousands_with_two_decimals() {
        let cases = [
            (0, "0.00"),
            (1, "0.01"),
            (2990, "29.90"),
            (100_000, "1,000.00"),
            (12_345_678, "123,456.78"),
            (123_456_789_012, "1,234,567,890.12"),
            (-150, "-1.50"),
            (-100_000, "-1,000.00"),
        ];
        for (fen, text) in cases {
            assert_eq!(yuan(fen), text, "{fen}");
        }
        assert_eq!(plain_yuan(1_234_567), "12345.67");
    }
}

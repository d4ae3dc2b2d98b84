//! A channel's bill as paygate reads it, whichever channel wrote it: the payments and refunds
//! of one day of one merchant account, each with the channel's fee.

use crate::domain::Timestamp;

/// A day as the channels cut their bills: China Standard Time (UTC+8, no daylight saving).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillDay(::time::Date);

const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

impl BillDay {
    /// `YYYY-MM-DD`; `None` for anything else.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        ::time::Date::parse(
            s,
            ::time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
        .map(Self)
    }

    /// The day `at` falls on in China.
    #[must_use]
    pub fn of(at: Timestamp) -> Self {
        let days = (at.as_millis() + CHINA_OFFSET_MS).div_euclid(DAY_MS);
        let epoch = ::time::Date::from_calendar_date(1970, ::time::Month::January, 1)
            .unwrap_or(::time::Date::MIN);
        Self(
            i32::try_from(days)
                .ok()
                .and_then(|d| epoch.checked_add(::time::Duration::days(i64::from(d))))
                .unwrap_or(epoch),
        )
    }

    #[must_use]
    pub fn date(self) -> ::time::Date {
        self.0
    }

    /// `[start, end)` of the day.
    #[must_use]
    pub fn bounds(self) -> (Timestamp, Timestamp) {
        let midnight_utc_ms = self.0.midnight().assume_utc().unix_timestamp() * 1000;
        let start = midnight_utc_ms - CHINA_OFFSET_MS;
        (
            Timestamp::from_millis(start),
            Timestamp::from_millis(start + DAY_MS),
        )
    }

    #[must_use]
    pub fn previous(self) -> Self {
        Self(self.0.previous_day().unwrap_or(self.0))
    }
}

impl std::fmt::Display for BillDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

/// A payment the bill lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillPayment {
    /// The merchant's number of the upstream order (WeChat Pay's `out_trade_no`, Alipay's
    /// `out_trade_no`): paygate's `upstream_order_no` or a pay attempt's.
    pub upstream_order_no: String,
    /// The channel's number (WeChat Pay's `transaction_id`, Alipay's `trade_no`).
    pub transaction_id: String,
    /// What the payer paid, in fen.
    pub amount_fen: i64,
    /// What the channel kept of it, in fen (zero or more).
    pub fee_fen: i64,
}

/// A refund the bill lists as having reached the payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRefund {
    /// The upstream order it refunds.
    pub upstream_order_no: String,
    /// The merchant's number of the refund: paygate's `upstream_refund_no`.
    pub upstream_refund_no: String,
    /// The refunded amount, in fen, positive.
    pub amount_fen: i64,
    /// The part of the payment's fee the channel gave back with it, in fen (zero or more).
    pub fee_returned_fen: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bill_day_runs_from_midnight_to_midnight_in_china() {
        let day = BillDay::parse("2026-11-29").unwrap();
        assert_eq!(day.to_string(), "2026-11-29");
        let (start, end) = day.bounds();
        assert_eq!(
            start,
            Timestamp::parse_rfc3339("2026-11-28T16:00:00Z").unwrap()
        );
        assert_eq!(
            end,
            Timestamp::parse_rfc3339("2026-11-29T16:00:00Z").unwrap()
        );
        assert_eq!(BillDay::of(start), day);
        assert_eq!(
            BillDay::of(Timestamp::from_millis(end.as_millis() - 1)),
            day
        );
        assert_eq!(BillDay::of(end).previous(), day);
        for bad in ["", "2026-2-1", "2026-02-30", "29/11/2026"] {
            assert!(BillDay::parse(bad).is_none(), "{bad:?}");
        }
    }
}

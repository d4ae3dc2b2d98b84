//! Reconciliation's records: the bill's day, paygate's side of what a bill lists, and what a
//! run of a day found.

use super::{Channel, OrderId, OrderStatus, PayAttemptId, RefundStatus, Timestamp};

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

    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.next_day().unwrap_or(self.0))
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

/// paygate's side of an upstream order that a bill names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurPayment {
    pub order_id: OrderId,
    pub status: OrderStatus,
    pub amount_fen: i64,
    /// The channel's number paygate recorded for the payment, once paid.
    pub transaction_id: Option<String>,
    /// The pay attempt whose number it is, for a channel-neutral order.
    pub attempt: Option<PayAttemptId>,
    /// Whether the order was paid through this upstream order. A channel-neutral order has one
    /// upstream order per app it was opened in; only one of them pays it.
    pub paid_through_this: bool,
}

/// paygate's side of a refund that a bill names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurRefund {
    pub refund_id: i64,
    pub order_id: OrderId,
    pub status: RefundStatus,
    pub amount_fen: i64,
}

/// What kind of line did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscrepancyKind {
    /// Paid upstream, not in paygate.
    PaidUpstreamOnly,
    /// Paid in paygate, the channel does not have it paid.
    PaidHereOnly,
    /// Paid in paygate and upstream on the bill's day, yet absent from the bill.
    MissingFromBill,
    AmountMismatch,
    /// Paid in paygate under another transaction or through another upstream order.
    OtherPayment,
    /// A trade of another system on the same merchant account.
    NotOurs,
    RefundSucceededUpstreamOnly,
    /// Paid out in paygate, the channel does not have it paid out.
    RefundHereOnly,
    /// Paid out in paygate and by the channel, yet absent from the bill of its day.
    RefundMissingFromBill,
    RefundOutcomeMismatch,
    RefundAmountMismatch,
    RefundNotOurs,
    /// The money the account bill moved for a trade disagrees with the trade bill (a payment's
    /// income, a refund, a fee missing or of another amount), or, named `totals`, the account
    /// bill's movements for the other trades the trade bill lists disagree with its totals.
    FundsMismatch,
}

impl DiscrepancyKind {
    pub const ALL: [Self; 13] = [
        Self::PaidUpstreamOnly,
        Self::PaidHereOnly,
        Self::MissingFromBill,
        Self::AmountMismatch,
        Self::OtherPayment,
        Self::NotOurs,
        Self::RefundSucceededUpstreamOnly,
        Self::RefundHereOnly,
        Self::RefundMissingFromBill,
        Self::RefundOutcomeMismatch,
        Self::RefundAmountMismatch,
        Self::RefundNotOurs,
        Self::FundsMismatch,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaidUpstreamOnly => "paid_upstream_only",
            Self::PaidHereOnly => "paid_here_only",
            Self::MissingFromBill => "missing_from_bill",
            Self::AmountMismatch => "amount_mismatch",
            Self::OtherPayment => "other_payment",
            Self::NotOurs => "not_ours",
            Self::RefundSucceededUpstreamOnly => "refund_succeeded_upstream_only",
            Self::RefundHereOnly => "refund_here_only",
            Self::RefundMissingFromBill => "refund_missing_from_bill",
            Self::RefundOutcomeMismatch => "refund_outcome_mismatch",
            Self::RefundAmountMismatch => "refund_amount_mismatch",
            Self::RefundNotOurs => "refund_not_ours",
            Self::FundsMismatch => "funds_mismatch",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What was done about a discrepancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// Confirmed by asking the channel and recorded through the upstream-news path.
    Repaired,
    /// Left to a person, as an anomaly.
    Anomaly,
    /// Another system's trade: listed, not an error.
    Listed,
    /// The channel could not be asked; the next run of the day asks again.
    Retry,
}

impl Resolution {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Repaired => "repaired",
            Self::Anomaly => "anomaly",
            Self::Listed => "listed",
            Self::Retry => "retry",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Repaired, Self::Anomaly, Self::Listed, Self::Retry]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// One line that did not match, with what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    pub upstream_no: String,
    pub order_id: Option<OrderId>,
    pub refund_id: Option<i64>,
    pub billed_fen: Option<i64>,
    pub ours_fen: Option<i64>,
    pub resolution: Resolution,
    pub detail: String,
    pub at: Timestamp,
}

/// Where a run of a day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconciliationStatus {
    Running,
    Complete,
    Failed,
}

impl ReconciliationStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Running, Self::Complete, Self::Failed]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// What a bill adds up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BillTotals {
    pub payments: i64,
    pub payments_fen: i64,
    pub refunds: i64,
    pub refunds_fen: i64,
    /// Fees kept on payments less fees given back with refunds.
    pub fees_fen: i64,
}

impl BillTotals {
    /// What reaches the merchant: payments less refunds less fees.
    #[must_use]
    pub fn net_fen(&self) -> i64 {
        self.payments_fen - self.refunds_fen - self.fees_fen
    }
}

/// What the day's account bill (WeChat Pay's fund-flow bill of the basic account, Alipay's
/// `signcustomer` bill) says moved on the merchant's balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FundsTotals {
    /// Its movements.
    pub movements: i64,
    /// Into the balance, in all.
    pub income_fen: i64,
    /// Out of the balance, in all (zero or more).
    pub expense_fen: i64,
    /// Of those, the movements of the trades the trade bill lists: what their payments brought in,
    pub payments_fen: i64,
    /// what their refunds took out,
    pub refunds_fen: i64,
    /// and their fees taken less the fees given back.
    pub fees_fen: i64,
}

impl FundsTotals {
    /// How the balance moved over the day.
    #[must_use]
    pub fn net_fen(&self) -> i64 {
        self.income_fen - self.expense_fen
    }

    /// What moved that is no movement of a trade the trade bill lists: withdrawals, transfers,
    /// another app's trades, a refund closed and its money back.
    #[must_use]
    pub fn other_fen(&self) -> i64 {
        self.net_fen() - (self.payments_fen - self.refunds_fen - self.fees_fen)
    }
}

/// A day of one channel account, as its last run left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub id: i64,
    pub channel: Channel,
    pub account: String,
    pub day: BillDay,
    pub status: ReconciliationStatus,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Why it failed.
    pub error: Option<String>,
    pub totals: BillTotals,
    pub matched: i64,
    /// The account bill's figures; `None` for a report written before paygate read account bills.
    pub funds: Option<FundsTotals>,
    /// The bill's lines (payments and refunds) read so far, as last recorded.
    pub lines_read: i64,
    /// How many lines the bill holds, once known (before its end for Alipay's bills).
    pub lines_total: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_resolutions_read_back_what_they_write() {
        for kind in DiscrepancyKind::ALL {
            assert_eq!(DiscrepancyKind::parse(kind.as_str()), Some(kind));
        }
        for r in [
            Resolution::Repaired,
            Resolution::Anomaly,
            Resolution::Listed,
            Resolution::Retry,
        ] {
            assert_eq!(Resolution::parse(r.as_str()), Some(r));
        }
        assert_eq!(DiscrepancyKind::parse("matched"), None);
    }

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

//! What one line of a bill means next to what paygate recorded: pure decisions, no I/O. The
//! caller looks up paygate's side of each line (by the merchant's upstream number, whatever day
//! paygate recorded it on) and acts on the verdict: a repair goes through the one path upstream
//! news takes (`OrderService::apply_upstream`, after asking the channel), a contradiction becomes
//! an anomaly for a person, and nothing is ever changed on the bill's word alone.

use crate::domain::{BillDay, OrderStatus, OurPayment, OurRefund, RefundStatus};

use crate::channels::{RefundState, UpstreamStatus};

use super::bill::{BillPayment, BillRefund};

/// What a billed payment is, next to paygate's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentVerdict {
    /// Number, amount and status agree.
    Matched,
    /// The channel has the money and paygate does not know it (a lost callback and checks that
    /// stopped; a close that lost a race with the payment): to be confirmed by asking the channel
    /// and recorded through the upstream-news path.
    PaidUpstreamOnly,
    /// The channel took another amount than the order's.
    AmountMismatch { ours_fen: i64, billed_fen: i64 },
    /// paygate recorded the order paid under another transaction, or through another of its
    /// upstream orders: the payer paid twice.
    OtherPayment,
    /// No order of paygate has this number: a trade of another system on the same merchant
    /// account. Counted and listed, not an error.
    NotOurs,
}

/// The verdict on a billed payment, given paygate's record of its upstream order.
#[must_use]
pub fn match_payment(line: &BillPayment, ours: Option<&OurPayment>) -> PaymentVerdict {
    let Some(ours) = ours else {
        return PaymentVerdict::NotOurs;
    };
    if line.amount_fen != ours.amount_fen {
        return PaymentVerdict::AmountMismatch {
            ours_fen: ours.amount_fen,
            billed_fen: line.amount_fen,
        };
    }
    match ours.status {
        OrderStatus::Paid | OrderStatus::Refunded => {
            let same_transaction = ours
                .transaction_id
                .as_deref()
                .is_none_or(|t| t == line.transaction_id);
            if ours.paid_through_this && same_transaction {
                PaymentVerdict::Matched
            } else {
                PaymentVerdict::OtherPayment
            }
        }
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed | OrderStatus::Closed => {
            PaymentVerdict::PaidUpstreamOnly
        }
    }
}

/// What a payment paygate recorded on the bill's day, but which the bill does not list, turns out
/// to be once the channel was asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnbilledVerdict {
    /// The channel has it paid on another day (paygate's payment time and the channel's fall on
    /// either side of midnight): that day's bill lists it. Not a discrepancy.
    BilledOnAnotherDay,
    /// The channel has it paid (on this day, or refunded since without saying when it was paid)
    /// and the bill still lacks it. For a person.
    MissingFromBill,
    /// The channel does not have it paid: money paygate told the site about and the channel never
    /// received. For a person; never changed silently.
    NotPaidUpstream,
}

/// The verdict on a payment paygate recorded for `day` that the day's bill lacks, from what the
/// channel answers about it now.
#[must_use]
pub fn unbilled_payment(day: BillDay, asked: &UpstreamStatus) -> UnbilledVerdict {
    match asked {
        UpstreamStatus::Paid {
            paid_at: Some(at), ..
        } if BillDay::of(*at) != day => UnbilledVerdict::BilledOnAnotherDay,
        UpstreamStatus::Paid { .. } | UpstreamStatus::Refunded => UnbilledVerdict::MissingFromBill,
        UpstreamStatus::NotPaid
        | UpstreamStatus::Paying
        | UpstreamStatus::Failed
        | UpstreamStatus::Closed
        | UpstreamStatus::NotFound => UnbilledVerdict::NotPaidUpstream,
    }
}

/// The verdict on a refund paygate recorded as paid out on `day` that the day's bill lacks, from
/// what the channel answers about it now.
#[must_use]
pub fn unbilled_refund(day: BillDay, asked: &RefundState) -> UnbilledVerdict {
    match asked {
        RefundState::Succeeded { at: Some(at), .. } if BillDay::of(*at) != day => {
            UnbilledVerdict::BilledOnAnotherDay
        }
        RefundState::Succeeded { .. } => UnbilledVerdict::MissingFromBill,
        RefundState::Processing { .. }
        | RefundState::Closed
        | RefundState::Abnormal { .. }
        | RefundState::NotFound => UnbilledVerdict::NotPaidUpstream,
    }
}

/// What a billed refund is, next to paygate's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundVerdict {
    Matched,
    /// The money reached the payer and paygate still waits for the channel's word: to be
    /// confirmed by asking the channel and recorded through the refund-news path.
    SucceededUpstreamOnly,
    /// paygate recorded the refund as failed (and freed its amount) or abnormal, but the channel
    /// paid it out. For a person; an ended refund is never changed silently.
    OutcomeMismatch {
        ours: RefundStatus,
    },
    AmountMismatch {
        ours_fen: i64,
        billed_fen: i64,
    },
    /// No refund of paygate has this number.
    NotOurs,
}

/// The verdict on a billed refund, given paygate's record of it.
#[must_use]
pub fn match_refund(line: &BillRefund, ours: Option<&OurRefund>) -> RefundVerdict {
    let Some(ours) = ours else {
        return RefundVerdict::NotOurs;
    };
    if line.amount_fen != ours.amount_fen {
        return RefundVerdict::AmountMismatch {
            ours_fen: ours.amount_fen,
            billed_fen: line.amount_fen,
        };
    }
    match ours.status {
        RefundStatus::Succeeded => RefundVerdict::Matched,
        RefundStatus::Processing => RefundVerdict::SucceededUpstreamOnly,
        RefundStatus::Failed | RefundStatus::Abnormal => {
            RefundVerdict::OutcomeMismatch { ours: ours.status }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrderId, Timestamp};

    fn line(amount_fen: i64) -> BillPayment {
        BillPayment {
            upstream_order_no: "up_1".to_owned(),
            transaction_id: "4200001".to_owned(),
            amount_fen,
            fee_fen: 6,
        }
    }

    fn ours(status: OrderStatus, transaction_id: Option<&str>) -> OurPayment {
        OurPayment {
            order_id: OrderId::from_i64(7),
            status,
            amount_fen: 1000,
            transaction_id: transaction_id.map(str::to_owned),
            attempt: None,
            paid_through_this: true,
        }
    }

    #[test]
    fn a_billed_payment_is_matched_only_when_number_amount_status_and_transaction_agree() {
        let paid = ours(OrderStatus::Paid, Some("4200001"));
        assert_eq!(
            match_payment(&line(1000), Some(&paid)),
            PaymentVerdict::Matched
        );
        let refunded = ours(OrderStatus::Refunded, Some("4200001"));
        assert_eq!(
            match_payment(&line(1000), Some(&refunded)),
            PaymentVerdict::Matched
        );
        assert_eq!(
            match_payment(&line(1001), Some(&paid)),
            PaymentVerdict::AmountMismatch {
                ours_fen: 1000,
                billed_fen: 1001
            }
        );
        let other = ours(OrderStatus::Paid, Some("4200999"));
        assert_eq!(
            match_payment(&line(1000), Some(&other)),
            PaymentVerdict::OtherPayment
        );
        let through_another = OurPayment {
            paid_through_this: false,
            ..paid.clone()
        };
        assert_eq!(
            match_payment(&line(1000), Some(&through_another)),
            PaymentVerdict::OtherPayment
        );
        assert_eq!(match_payment(&line(1000), None), PaymentVerdict::NotOurs);
    }

    #[test]
    fn a_billed_payment_paygate_does_not_have_as_paid_is_to_be_repaired_whatever_it_thinks() {
        for status in [
            OrderStatus::Created,
            OrderStatus::Pending,
            OrderStatus::Failed,
            OrderStatus::Closed,
        ] {
            assert_eq!(
                match_payment(&line(1000), Some(&ours(status, None))),
                PaymentVerdict::PaidUpstreamOnly,
                "{status:?}"
            );
        }
        // An amount that differs is never repaired, whatever the status.
        assert!(matches!(
            match_payment(&line(999), Some(&ours(OrderStatus::Pending, None))),
            PaymentVerdict::AmountMismatch { .. }
        ));
    }

    #[test]
    fn a_payment_missing_from_its_day_is_a_discrepancy_unless_the_channel_dates_it_elsewhere() {
        let day = BillDay::parse("2026-11-29").unwrap();
        let (start, end) = day.bounds();
        let paid_at = |at| UpstreamStatus::Paid {
            transaction_id: "4200001".to_owned(),
            paid_at: Some(at),
            amount: channel_core::Fen(1000),
        };
        assert_eq!(
            unbilled_payment(day, &paid_at(end)),
            UnbilledVerdict::BilledOnAnotherDay
        );
        let before = Timestamp::from_millis(start.as_millis() - 1);
        assert_eq!(
            unbilled_payment(day, &paid_at(before)),
            UnbilledVerdict::BilledOnAnotherDay
        );
        assert_eq!(
            unbilled_payment(day, &paid_at(start)),
            UnbilledVerdict::MissingFromBill
        );
        assert_eq!(
            unbilled_payment(day, &UpstreamStatus::Refunded),
            UnbilledVerdict::MissingFromBill
        );
        for asked in [
            UpstreamStatus::NotPaid,
            UpstreamStatus::Paying,
            UpstreamStatus::Failed,
            UpstreamStatus::Closed,
            UpstreamStatus::NotFound,
        ] {
            assert_eq!(
                unbilled_payment(day, &asked),
                UnbilledVerdict::NotPaidUpstream,
                "{asked:?}"
            );
        }
    }

    #[test]
    fn a_refund_missing_from_its_day_is_a_discrepancy_unless_the_channel_dates_it_elsewhere() {
        let day = BillDay::parse("2026-11-29").unwrap();
        let (start, end) = day.bounds();
        let succeeded = |at| RefundState::Succeeded {
            channel_refund_id: Some("50300001".to_owned()),
            at,
        };
        assert_eq!(
            unbilled_refund(day, &succeeded(Some(end))),
            UnbilledVerdict::BilledOnAnotherDay
        );
        assert_eq!(
            unbilled_refund(day, &succeeded(Some(start))),
            UnbilledVerdict::MissingFromBill
        );
        assert_eq!(
            unbilled_refund(day, &succeeded(None)),
            UnbilledVerdict::MissingFromBill
        );
        for asked in [
            RefundState::Processing {
                channel_refund_id: None,
            },
            RefundState::Closed,
            RefundState::Abnormal {
                channel_refund_id: None,
            },
            RefundState::NotFound,
        ] {
            assert_eq!(
                unbilled_refund(day, &asked),
                UnbilledVerdict::NotPaidUpstream,
                "{asked:?}"
            );
        }
    }

    #[test]
    fn a_billed_refund_is_matched_repaired_or_reported() {
        let bill = BillRefund {
            upstream_order_no: "up_1".to_owned(),
            upstream_refund_no: "rf_1".to_owned(),
            channel_no: "50300000000001".to_owned(),
            amount_fen: 300,
            fee_returned_fen: 2,
        };
        let ours = |status| OurRefund {
            refund_id: 1,
            order_id: OrderId::from_i64(7),
            status,
            amount_fen: 300,
        };
        assert_eq!(
            match_refund(&bill, Some(&ours(RefundStatus::Succeeded))),
            RefundVerdict::Matched
        );
        assert_eq!(
            match_refund(&bill, Some(&ours(RefundStatus::Processing))),
            RefundVerdict::SucceededUpstreamOnly
        );
        for status in [RefundStatus::Failed, RefundStatus::Abnormal] {
            assert_eq!(
                match_refund(&bill, Some(&ours(status))),
                RefundVerdict::OutcomeMismatch { ours: status }
            );
        }
        let mut smaller = ours(RefundStatus::Succeeded);
        smaller.amount_fen = 200;
        assert_eq!(
            match_refund(&bill, Some(&smaller)),
            RefundVerdict::AmountMismatch {
                ours_fen: 200,
                billed_fen: 300
            }
        );
        assert_eq!(match_refund(&bill, None), RefundVerdict::NotOurs);
    }
}

//! The account bill — every movement of the merchant's balance on the day: WeChat Pay's fund-flow
//! bill of the basic account, Alipay's `signcustomer` bill — as paygate reads it, whichever
//! channel wrote it, and the check of the money that moved against the trade bill.
//!
//! The trade bill says what each trade moved (a payment's money in and its fee out, a refund's
//! money out and the fee it gives back); the account bill books the same money under the channel's
//! number of the trade or refund. For each of paygate's lines the trade bill listed, the movements
//! booked under its number must be exactly those; for the trade bill's other lines (another
//! system's trades on the same account) their sum must be. Movements under numbers the trade bill
//! does not list (another app's trades on Alipay's merchant-wide account, a trade booked across
//! midnight) and movements that are no trade's (withdrawals, transfers, a refund closed and its
//! money back) are counted, not errors. Only the numbers and amounts of the trade bill's lines are
//! kept in memory (see [`FundsCheck`]), never either file.

use std::collections::HashMap;

use crate::domain::{
    Discrepancy, DiscrepancyKind, FundsTotals, OrderId, OurPayment, OurRefund, Resolution,
    Timestamp,
};

use super::run::{BillError, BillLine};

/// What a movement of the balance is to the trade bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    /// A payment's money in.
    Payment,
    /// A payment's fee out.
    Fee,
    /// A refund's money out.
    Refund,
    /// The part of a fee given back with a refund.
    FeeReturned,
    /// Anything else.
    Other,
}

/// One movement of the balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsMovement {
    pub kind: MovementKind,
    /// The channel's number it is booked under: for a payment and its fee the payment's (WeChat
    /// Pay's transaction id, Alipay's trade number); for a refund and the fee it gives back,
    /// WeChat Pay's refund id or Alipay's trade number. Empty for `Other`.
    pub booked_under: String,
    /// Into the balance positive, out of it negative.
    pub fen: i64,
}

impl FundsMovement {
    pub fn add_to(&self, t: &mut MovementTotals) {
        t.movements += 1;
        if self.fen >= 0 {
            t.income_fen += self.fen;
        } else {
            t.expense_fen -= self.fen;
        }
    }
}

/// What an account bill's movements add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MovementTotals {
    pub movements: i64,
    pub income_fen: i64,
    /// Zero or more.
    pub expense_fen: i64,
}

/// What a channel adapter sends while it reads an account bill: its movements in batches, then
/// what they add up to once the file's own totals were checked. A stream that ends without the
/// summary was cut short.
#[derive(Debug)]
pub enum FundsChunk {
    Movements(Vec<FundsMovement>),
    Summary(MovementTotals),
}

/// Says which bill an error is about: a run reads two.
pub(super) fn account_bill(e: BillError) -> BillError {
    match e {
        BillError::Unusable(why) => BillError::Unusable(format!("the account bill: {why}")),
        BillError::Channel(why) => BillError::Channel(format!("the account bill: {why}")),
        not_yet @ BillError::NotYetAvailable(_) => not_yet,
    }
}

/// Money by what moved it, each figure zero or more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Money {
    pub payments: i64,
    pub fees: i64,
    pub refunds: i64,
    pub fees_returned: i64,
}

impl Money {
    fn add(&mut self, other: &Self) {
        self.payments += other.payments;
        self.fees += other.fees;
        self.refunds += other.refunds;
        self.fees_returned += other.fees_returned;
    }

    fn minus(&self, other: &Self) -> Self {
        Self {
            payments: self.payments - other.payments,
            fees: self.fees - other.fees,
            refunds: self.refunds - other.refunds,
            fees_returned: self.fees_returned - other.fees_returned,
        }
    }

    /// What it does to the balance.
    #[must_use]
    pub fn net(&self) -> i64 {
        self.payments - self.fees - self.refunds + self.fees_returned
    }

    /// The figures that differ, as a person reads them.
    fn differences(&self, moved: &Self) -> String {
        [
            ("payments in", self.payments, moved.payments),
            ("fees taken", self.fees, moved.fees),
            ("refunds out", self.refunds, moved.refunds),
            ("fees given back", self.fees_returned, moved.fees_returned),
        ]
        .into_iter()
        .filter(|(_, billed, moved)| billed != moved)
        .map(|(what, billed, moved)| {
            format!("{what} {billed} fen in the trade bill, {moved} fen in the account bill")
        })
        .collect::<Vec<_>>()
        .join("; ")
    }
}

/// paygate's line, among those booked under one number, and what the trade bill's lines under
/// the number moved (kept for paygate's lines only, to say what disagrees).
#[derive(Debug)]
struct OurLine {
    upstream_no: String,
    order_id: OrderId,
    refund_id: Option<i64>,
    billed: Money,
}

/// One number's money: what the trade bill's lines booked under it moved, less what the account
/// bill's movements under it moved.
#[derive(Debug, Default)]
struct Booked {
    /// Zero when the two bills agree.
    owed: Money,
    /// The first of paygate's lines under the number, which names a disagreement.
    ours: Option<Box<OurLine>>,
}

/// The number a disagreement about the trade bill's other lines is recorded under.
pub const OTHERS: &str = "totals";

/// A disagreement between the two bills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsMismatch {
    /// paygate's upstream number of the line, or [`OTHERS`].
    pub upstream_no: String,
    /// The channel's number the money is booked under (none for [`OTHERS`]).
    pub booked_under: Option<String>,
    pub order_id: Option<OrderId>,
    pub refund_id: Option<i64>,
    /// What the trade bill says moved.
    pub billed: Money,
    /// What the account bill moved.
    pub moved: Money,
}

impl FundsMismatch {
    /// As a discrepancy: `billed_fen` what the account bill moved, `ours_fen` what the trade bill
    /// (which paygate's records were matched against) says should have.
    #[must_use]
    pub fn discrepancy(&self) -> Discrepancy {
        let whose = match &self.booked_under {
            Some(no) => format!("booked under {no}"),
            None => "the trade bill's other trades".to_owned(),
        };
        Discrepancy {
            kind: DiscrepancyKind::FundsMismatch,
            upstream_no: self.upstream_no.clone(),
            order_id: self.order_id,
            refund_id: self.refund_id,
            billed_fen: Some(self.moved.net()),
            ours_fen: Some(self.billed.net()),
            resolution: Resolution::Anomaly,
            detail: format!("{whose}: {}", self.billed.differences(&self.moved)),
            at: Timestamp::now(),
        }
    }
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsFound {
    pub totals: FundsTotals,
    /// By upstream number.
    pub mismatches: Vec<FundsMismatch>,
}

/// What the trade bill's lines moved, by the number the account bill books them under, less what
/// the account bill then moved under each. Measured, a bill of a million lines takes some 130 MB
/// here, or 260 MB when every line is paygate's (which keeps its name and amounts).
#[derive(Debug, Default)]
pub struct FundsCheck {
    /// By a number that is all digits, as the channels' are, kept as a number: no text per line.
    by_digits: HashMap<u128, Booked>,
    by_text: HashMap<Box<str>, Booked>,
    /// What all the trade bill's lines moved.
    billed: Money,
}

/// `no` as a number, when it is one that no other text reads as (no leading zero).
fn digits(no: &str) -> Option<u128> {
    let plain = !no.is_empty()
        && no.len() <= 38
        && !(no.len() > 1 && no.starts_with('0'))
        && no.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| no.parse().ok()).flatten()
}

impl FundsCheck {
    /// Notes what `line` moved, given paygate's records of the batch it came in.
    pub fn expect(
        &mut self,
        line: &BillLine,
        payments: &HashMap<String, OurPayment>,
        refunds: &HashMap<String, OurRefund>,
    ) {
        let (no, money, ours) = match line {
            BillLine::Payment(p) => (
                &p.transaction_id,
                Money {
                    payments: p.amount_fen,
                    fees: p.fee_fen,
                    ..Money::default()
                },
                payments.get(&p.upstream_order_no).map(|o| OurLine {
                    upstream_no: p.upstream_order_no.clone(),
                    order_id: o.order_id,
                    refund_id: None,
                    billed: Money::default(),
                }),
            ),
            BillLine::Refund(r) | BillLine::RefundAccepted(r) => (
                &r.channel_no,
                Money {
                    refunds: r.amount_fen,
                    fees_returned: r.fee_returned_fen,
                    ..Money::default()
                },
                refunds.get(&r.upstream_refund_no).map(|o| OurLine {
                    upstream_no: r.upstream_refund_no.clone(),
                    order_id: o.order_id,
                    refund_id: Some(o.refund_id),
                    billed: Money::default(),
                }),
            ),
        };
        self.billed.add(&money);
        let booked = match digits(no) {
            Some(n) => self.by_digits.entry(n).or_default(),
            None => self.by_text.entry(no.as_str().into()).or_default(),
        };
        booked.owed.add(&money);
        if booked.ours.is_none() {
            booked.ours = ours.map(Box::new);
        }
        // The account bill is read once the trade bill is done: until then, what is owed under
        // the number is what the trade bill's lines under it moved.
        if let Some(ours) = &mut booked.ours {
            ours.billed = booked.owed;
        }
    }

    /// Notes a movement of the account bill.
    pub fn moved(&mut self, m: &FundsMovement) {
        let money = match m.kind {
            MovementKind::Payment => Money {
                payments: m.fen,
                ..Money::default()
            },
            // Out of the balance: negative in the bill, a positive fee or refund here.
            MovementKind::Fee => Money {
                fees: -m.fen,
                ..Money::default()
            },
            MovementKind::Refund => Money {
                refunds: -m.fen,
                ..Money::default()
            },
            MovementKind::FeeReturned => Money {
                fees_returned: m.fen,
                ..Money::default()
            },
            MovementKind::Other => return,
        };
        let booked = match digits(&m.booked_under) {
            Some(n) => self.by_digits.get_mut(&n),
            None => self.by_text.get_mut(m.booked_under.as_str()),
        };
        if let Some(booked) = booked {
            booked.owed = booked.owed.minus(&money);
        }
    }

    /// The account bill's figures, given what its movements added up to, and each disagreement.
    #[must_use]
    pub fn finish(self, counted: MovementTotals) -> FundsFound {
        let (mut owed, mut others_owed, mut ours_billed) =
            (Money::default(), Money::default(), Money::default());
        let mut mismatches = Vec::new();
        let numbers = self
            .by_digits
            .into_iter()
            .map(|(n, b)| (Number::Digits(n), b));
        let texts = self.by_text.into_iter().map(|(t, b)| (Number::Text(t), b));
        for (no, booked) in numbers.chain(texts) {
            owed.add(&booked.owed);
            match booked.ours {
                Some(ours) => {
                    ours_billed.add(&ours.billed);
                    if booked.owed != Money::default() {
                        mismatches.push(FundsMismatch {
                            upstream_no: ours.upstream_no,
                            booked_under: Some(no.to_string()),
                            order_id: Some(ours.order_id),
                            refund_id: ours.refund_id,
                            billed: ours.billed,
                            moved: ours.billed.minus(&booked.owed),
                        });
                    }
                }
                None => others_owed.add(&booked.owed),
            }
        }
        if others_owed != Money::default() {
            let others_billed = self.billed.minus(&ours_billed);
            mismatches.push(FundsMismatch {
                upstream_no: OTHERS.to_owned(),
                booked_under: None,
                order_id: None,
                refund_id: None,
                billed: others_billed,
                moved: others_billed.minus(&others_owed),
            });
        }
        mismatches.sort_by(|a, b| a.upstream_no.cmp(&b.upstream_no));
        // What the account bill moved under the numbers the trade bill lists.
        let listed = self.billed.minus(&owed);
        FundsFound {
            totals: FundsTotals {
                movements: counted.movements,
                income_fen: counted.income_fen,
                expense_fen: counted.expense_fen,
                payments_fen: listed.payments,
                refunds_fen: listed.refunds,
                fees_fen: listed.fees - listed.fees_returned,
            },
            mismatches,
        }
    }
}

/// A number as the check keeps it.
enum Number {
    Digits(u128),
    Text(Box<str>),
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Digits(n) => write!(f, "{n}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrderStatus, RefundStatus};
    use crate::reconcile::{BillPayment, BillRefund};

    fn payment(no: &str, transaction: &str, fen: i64, fee: i64) -> BillLine {
        BillLine::Payment(BillPayment {
            upstream_order_no: no.to_owned(),
            transaction_id: transaction.to_owned(),
            amount_fen: fen,
            fee_fen: fee,
        })
    }

    fn refund(no: &str, booked_under: &str, fen: i64, fee_back: i64) -> BillRefund {
        BillRefund {
            upstream_order_no: "up".to_owned(),
            upstream_refund_no: no.to_owned(),
            channel_no: booked_under.to_owned(),
            amount_fen: fen,
            fee_returned_fen: fee_back,
        }
    }

    fn moved(kind: MovementKind, no: &str, fen: i64) -> FundsMovement {
        FundsMovement {
            kind,
            booked_under: no.to_owned(),
            fen,
        }
    }

    fn ours_paid(nos: &[(&str, i64)]) -> HashMap<String, OurPayment> {
        nos.iter()
            .map(|(no, id)| {
                (
                    (*no).to_owned(),
                    OurPayment {
                        order_id: OrderId::from_i64(*id),
                        status: OrderStatus::Paid,
                        amount_fen: 0,
                        transaction_id: None,
                        attempt: None,
                        paid_through_this: true,
                    },
                )
            })
            .collect()
    }

    fn ours_refunded(no: &str, id: i64) -> HashMap<String, OurRefund> {
        HashMap::from([(
            no.to_owned(),
            OurRefund {
                refund_id: id,
                order_id: OrderId::from_i64(1),
                status: RefundStatus::Succeeded,
                amount_fen: 0,
            },
        )])
    }

    fn check(movements: &[FundsMovement]) -> FundsFound {
        let mut c = FundsCheck::default();
        let paid = ours_paid(&[("up_1", 1), ("up_2", 2)]);
        let refunded = ours_refunded("rf_1", 9);
        for line in [
            payment("up_1", "4200001", 10_000, 60),
            payment("up_2", "4200002", 83, 0),
            payment("others_1", "4200003", 1_234, 7),
            BillLine::Refund(refund("rf_1", "5030001", 2_500, 15)),
            BillLine::RefundAccepted(refund("rf_others", "5030002", 100, 1)),
        ] {
            c.expect(&line, &paid, &refunded);
        }
        let mut counted = MovementTotals::default();
        for m in movements {
            m.add_to(&mut counted);
            c.moved(m);
        }
        c.finish(counted)
    }

    fn agreeing() -> Vec<FundsMovement> {
        use MovementKind::{Fee, FeeReturned, Other, Payment, Refund};
        vec![
            moved(Payment, "4200001", 10_000),
            moved(Fee, "4200001", -60),
            moved(Payment, "4200002", 83),
            moved(Payment, "4200003", 1_234),
            moved(Fee, "4200003", -7),
            moved(Refund, "5030001", -2_500),
            moved(FeeReturned, "5030001", 15),
            moved(Refund, "5030002", -100),
            moved(FeeReturned, "5030002", 1),
            // Another app's trade, and a withdrawal: counted, not errors.
            moved(Payment, "4200099", 500),
            moved(Other, "", -5_000),
        ]
    }

    #[test]
    fn movements_that_agree_with_the_trade_bill_add_up_to_its_money() {
        let found = check(&agreeing());
        assert_eq!(found.mismatches, []);
        let t = found.totals;
        assert_eq!(
            (t.movements, t.income_fen, t.expense_fen),
            (11, 11_833, 7_667)
        );
        assert_eq!(
            (t.payments_fen, t.refunds_fen, t.fees_fen),
            (11_317, 2_600, 67 - 16)
        );
        assert_eq!(t.other_fen(), 500 - 5_000);
    }

    #[test]
    fn a_fee_of_paygate_that_differs_is_named_by_its_order_and_nothing_else() {
        let mut movements = agreeing();
        movements[1].fen = -50;
        let found = check(&movements);
        assert_eq!(found.mismatches.len(), 1, "{found:?}");
        let d = found.mismatches[0].discrepancy();
        assert_eq!(
            (d.kind, d.upstream_no.as_str(), d.order_id, d.resolution),
            (
                DiscrepancyKind::FundsMismatch,
                "up_1",
                Some(OrderId::from_i64(1)),
                Resolution::Anomaly
            )
        );
        assert_eq!((d.billed_fen, d.ours_fen), (Some(9_950), Some(9_940)));
        assert_eq!(
            d.detail,
            "booked under 4200001: fees taken 60 fen in the trade bill, 50 fen in the account bill"
        );
    }

    #[test]
    fn a_missing_movement_of_a_refund_or_of_others_is_found() {
        let mut movements = agreeing();
        // paygate's refund without its money out; another system's trade without its fee.
        let gone = [
            ("5030001", MovementKind::Refund),
            ("4200003", MovementKind::Fee),
        ];
        movements.retain(|m| !gone.contains(&(m.booked_under.as_str(), m.kind)));
        let found = check(&movements);
        let named: Vec<_> = found
            .mismatches
            .iter()
            .map(|m| (m.upstream_no.as_str(), m.refund_id))
            .collect();
        assert_eq!(named, [("rf_1", Some(9)), (OTHERS, None)]);
        assert_eq!(
            found.mismatches[1].discrepancy().detail,
            "the trade bill's other trades: fees taken 7 fen in the trade bill, 0 fen in the \
             account bill"
        );
    }

    #[test]
    fn numbers_that_are_not_plain_digits_are_kept_as_text_and_never_confused() {
        assert_eq!(
            digits("4200000263202403057700134212"),
            Some(4_200_000_263_202_403_057_700_134_212)
        );
        for text in ["", "007", "12a", "１２", &"9".repeat(39)] {
            assert_eq!(digits(text), None, "{text:?}");
        }
        let mut c = FundsCheck::default();
        let none = HashMap::new();
        for (no, transaction) in [("up_1", "007"), ("up_2", "7"), ("up_3", "T-9")] {
            c.expect(
                &payment(no, transaction, 100, 1),
                &ours_paid(&[(no, 1)]),
                &none,
            );
        }
        for no in ["007", "7", "T-9"] {
            c.moved(&moved(MovementKind::Payment, no, 100));
            c.moved(&moved(MovementKind::Fee, no, -1));
        }
        let found = c.finish(MovementTotals::default());
        assert_eq!(found.mismatches, []);
        assert_eq!((found.totals.payments_fen, found.totals.fees_fen), (300, 3));
    }

    #[test]
    fn errors_of_the_account_bill_say_so() {
        let e = account_bill(BillError::Unusable("cut".to_owned()));
        assert_eq!(e.to_string(), "the bill is unusable: the account bill: cut");
    }
}

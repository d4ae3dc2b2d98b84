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

/// paygate's line that names a disagreement, when its order's id alone cannot: a refund, or a
/// payment through one of a channel-neutral order's attempts.
#[derive(Debug)]
struct OurLine {
    upstream_no: String,
    order_id: OrderId,
    refund_id: Option<i64>,
}

/// The number a disagreement about the trade bill's other lines is recorded under.
pub const OTHERS: &str = "totals";

/// Which of paygate's lines a disagreement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// A payment under its order's own upstream number, which the check does not keep (no text
    /// per line): the run looks it up by the order.
    Order(OrderId),
    /// A line whose upstream number is this: a refund, a payment through an attempt, or
    /// [`OTHERS`].
    No(String),
}

/// A disagreement between the two bills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsMismatch {
    pub named: Named,
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
    /// As a discrepancy recorded under `upstream_no` (for [`Named::Order`], the order's upstream
    /// number): `billed_fen` what the account bill moved, `ours_fen` what the trade bill (which
    /// paygate's records were matched against) says should have.
    #[must_use]
    pub fn discrepancy(&self, upstream_no: &str) -> Discrepancy {
        let whose = match &self.booked_under {
            Some(no) => format!("booked under {no}"),
            None => "the trade bill's other trades".to_owned(),
        };
        Discrepancy {
            kind: DiscrepancyKind::FundsMismatch,
            upstream_no: upstream_no.to_owned(),
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
    /// Those [`Named::No`] by upstream number, then those [`Named::Order`] by order.
    pub mismatches: Vec<FundsMismatch>,
}

/// A channel's number as the check keeps it. The channels' numbers are plain digits (WeChat Pay's
/// 28 to 32, Alipay's 28), kept as the number they are: 16 bytes that stand for exactly one text,
/// so two numbers never share their money — which a hash could make them do, and a shortfall under
/// one would then be hidden by a surplus under the other. Any other text is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Digits([u64; 2]),
    Text(Box<str>),
}

impl Key {
    fn of(no: &str) -> Self {
        match digits(no) {
            Some(n) => Self::Digits(split(n)),
            None => Self::Text(no.into()),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Digits([high, low]) => {
                write!(f, "{}", (u128::from(*high) << 64) | u128::from(*low))
            }
            Self::Text(t) => f.write_str(t),
        }
    }
}

/// A `u128` as two `u64`s: the entries stay aligned to 8 bytes, with no padding.
fn split(n: u128) -> [u64; 2] {
    // Truncation takes the low half, as meant.
    #[allow(clippy::cast_possible_truncation)]
    let low = n as u64;
    let high = u64::try_from(n >> 64).unwrap_or(u64::MAX);
    [high, low]
}

/// `no` as a number, when it is one that no other text reads as (no leading zero).
fn digits(no: &str) -> Option<u128> {
    let plain = !no.is_empty()
        && no.len() <= 38
        && !(no.len() > 1 && no.starts_with('0'))
        && no.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| no.parse().ok()).flatten()
}

/// Who a number's money names, in one `i64`: a payment of paygate's order (its id, which is
/// positive), [`SEE_NAMES`] for a line kept in [`FundsCheck::names`], [`NOBODY`] for none of
/// paygate's lines.
const NOBODY: i64 = 0;
const SEE_NAMES: i64 = -1;

/// One number's money: what the trade bill's lines booked under it moved, and that less what the
/// account bill's movements under it moved. 88 bytes, whatever the numbers.
#[derive(Debug, Clone, Copy)]
struct Booked {
    who: i64,
    billed: Money,
    /// Zero when the two bills agree.
    owed: Money,
}

impl Booked {
    fn new(who: i64, money: Money) -> Self {
        Self {
            who,
            billed: money,
            owed: money,
        }
    }

    /// Takes in another entry of the same number: paygate's payment names the number before any
    /// other of its lines, as it comes first in the trade bill.
    fn merge(&mut self, other: &Self) {
        self.billed.add(&other.billed);
        self.owed.add(&other.owed);
        if self.who <= 0 && (other.who > 0 || self.who == NOBODY) {
            self.who = other.who;
        }
    }
}

/// What the trade bill's lines moved, by the number the account bill books them under, less what
/// the account bill then moved under each. A number of digits costs one entry of a flat array
/// sorted once the trade bill is read (no text, no per-entry allocation, no hash table's slack):
/// some 90 MB for a million lines, paygate's or not.
#[derive(Debug, Default)]
pub struct FundsCheck {
    /// Appended in the trade bill's order; sorted by number (and each number's entries merged)
    /// before the first movement is set against them.
    by_digits: Vec<([u64; 2], Booked)>,
    sorted: bool,
    by_text: HashMap<Box<str>, Booked>,
    /// paygate's lines that an order's id cannot name, first line under a number kept.
    names: HashMap<Key, OurLine>,
    /// What all the trade bill's lines moved.
    billed: Money,
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
                payments.get(&p.upstream_order_no).map(|o| {
                    let by_order = o.attempt.is_none() && o.order_id.as_i64() > 0;
                    let line = OurLine {
                        upstream_no: p.upstream_order_no.clone(),
                        order_id: o.order_id,
                        refund_id: None,
                    };
                    (by_order.then_some(o.order_id.as_i64()), line)
                }),
            ),
            BillLine::Refund(r) | BillLine::RefundAccepted(r) => (
                &r.channel_no,
                Money {
                    refunds: r.amount_fen,
                    fees_returned: r.fee_returned_fen,
                    ..Money::default()
                },
                refunds.get(&r.upstream_refund_no).map(|o| {
                    let line = OurLine {
                        upstream_no: r.upstream_refund_no.clone(),
                        order_id: o.order_id,
                        refund_id: Some(o.refund_id),
                    };
                    (None, line)
                }),
            ),
        };
        self.billed.add(&money);
        let key = Key::of(no);
        let who = match ours {
            None => NOBODY,
            Some((Some(order), _)) => order,
            Some((None, line)) => {
                self.names.entry(key.clone()).or_insert(line);
                SEE_NAMES
            }
        };
        let booked = Booked::new(who, money);
        match key {
            Key::Digits(n) => {
                self.by_digits.push((n, booked));
                self.sorted = false;
            }
            Key::Text(t) => match self.by_text.get_mut(&t) {
                Some(b) => b.merge(&booked),
                None => {
                    self.by_text.insert(t, booked);
                }
            },
        }
    }

    /// Sorts the numbers and merges each one's entries, in place.
    fn sort(&mut self) {
        if self.sorted {
            return;
        }
        self.by_digits.sort_unstable_by_key(|(n, _)| *n);
        let mut kept = 0;
        for i in 0..self.by_digits.len() {
            if kept > 0 && self.by_digits[kept - 1].0 == self.by_digits[i].0 {
                let next = self.by_digits[i].1;
                self.by_digits[kept - 1].1.merge(&next);
            } else {
                self.by_digits.swap(kept, i);
                kept += 1;
            }
        }
        self.by_digits.truncate(kept);
        self.by_digits.shrink_to_fit();
        self.sorted = true;
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
        self.sort();
        let booked = match Key::of(&m.booked_under) {
            Key::Digits(n) => self
                .by_digits
                .binary_search_by_key(&n, |(k, _)| *k)
                .ok()
                .and_then(|i| self.by_digits.get_mut(i))
                .map(|(_, b)| b),
            Key::Text(t) => self.by_text.get_mut(&t),
        };
        if let Some(booked) = booked {
            booked.owed = booked.owed.minus(&money);
        }
    }

    /// The account bill's figures, given what its movements added up to, and each disagreement.
    #[must_use]
    pub fn finish(mut self, counted: MovementTotals) -> FundsFound {
        self.sort();
        let (mut owed, mut others_owed, mut ours_billed) =
            (Money::default(), Money::default(), Money::default());
        let mut mismatches = Vec::new();
        let numbers = std::mem::take(&mut self.by_digits)
            .into_iter()
            .map(|(n, b)| (Key::Digits(n), b));
        let texts = std::mem::take(&mut self.by_text)
            .into_iter()
            .map(|(t, b)| (Key::Text(t), b));
        for (no, booked) in numbers.chain(texts) {
            owed.add(&booked.owed);
            if booked.who == NOBODY {
                others_owed.add(&booked.owed);
                continue;
            }
            ours_billed.add(&booked.billed);
            if booked.owed == Money::default() {
                continue;
            }
            let (named, order_id, refund_id) = if booked.who > 0 {
                let order = OrderId::from_i64(booked.who);
                (Named::Order(order), order, None)
            } else {
                match self.names.remove(&no) {
                    Some(line) => (Named::No(line.upstream_no), line.order_id, line.refund_id),
                    // Every line marked so was kept by its number.
                    None => continue,
                }
            };
            mismatches.push(FundsMismatch {
                named,
                booked_under: Some(no.to_string()),
                order_id: Some(order_id),
                refund_id,
                billed: booked.billed,
                moved: booked.billed.minus(&booked.owed),
            });
        }
        if others_owed != Money::default() {
            let others_billed = self.billed.minus(&ours_billed);
            mismatches.push(FundsMismatch {
                named: Named::No(OTHERS.to_owned()),
                booked_under: None,
                order_id: None,
                refund_id: None,
                billed: others_billed,
                moved: others_billed.minus(&others_owed),
            });
        }
        mismatches.sort_by(|a, b| match (&a.named, &b.named) {
            (Named::No(x), Named::No(y)) => x.cmp(y),
            (Named::Order(x), Named::Order(y)) => x.as_i64().cmp(&y.as_i64()),
            (Named::No(_), Named::Order(_)) => std::cmp::Ordering::Less,
            (Named::Order(_), Named::No(_)) => std::cmp::Ordering::Greater,
        });
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
        // A payment under its order's own number is named by the order, its number looked up.
        assert_eq!(
            found.mismatches[0].named,
            Named::Order(OrderId::from_i64(1))
        );
        let d = found.mismatches[0].discrepancy("up_1");
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
            .map(|m| (m.named.clone(), m.refund_id))
            .collect();
        assert_eq!(
            named,
            [
                (Named::No("rf_1".to_owned()), Some(9)),
                (Named::No(OTHERS.to_owned()), None)
            ]
        );
        assert_eq!(
            found.mismatches[1].discrepancy(OTHERS).detail,
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
    fn lines_under_one_number_are_one_sum_named_by_paygates_payment_wherever_they_came() {
        // Alipay books a trade's refunds under the trade's number: the refund comes later in the
        // trade bill, and numbers that differ only past 64 bits stay apart.
        let (trade, twin) = (
            "4200000000000000000000000001",
            "4200000000000000000000000002",
        );
        let paid = ours_paid(&[("up_1", 1), ("up_2", 2)]);
        let refunded = ours_refunded("rf_1", 9);
        let mut c = FundsCheck::default();
        for line in [
            payment("up_2", twin, 500, 3),
            BillLine::Refund(refund("rf_1", trade, 2_500, 15)),
            payment("up_1", trade, 10_000, 60),
        ] {
            c.expect(&line, &paid, &refunded);
        }
        for (kind, no, fen) in [
            (MovementKind::Payment, trade, 10_000),
            (MovementKind::Fee, trade, -60),
            (MovementKind::Refund, trade, -2_500),
            (MovementKind::Payment, twin, 500),
            (MovementKind::Fee, twin, -3),
        ] {
            c.moved(&moved(kind, no, fen));
        }
        let found = c.finish(MovementTotals::default());
        assert_eq!(found.mismatches.len(), 1, "{found:?}");
        let m = &found.mismatches[0];
        assert_eq!(
            (&m.named, m.order_id, m.refund_id, m.booked_under.as_deref()),
            (
                &Named::Order(OrderId::from_i64(1)),
                Some(OrderId::from_i64(1)),
                None,
                Some(trade)
            )
        );
        assert_eq!(
            m.discrepancy("up_1").detail,
            format!(
                "booked under {trade}: fees given back 15 fen in the trade bill, 0 fen in the \
                 account bill"
            )
        );
    }

    #[test]
    fn a_payment_through_an_attempt_is_named_by_the_attempts_number() {
        let mut paid = ours_paid(&[("attempt_no", 4)]);
        if let Some(p) = paid.get_mut("attempt_no") {
            p.attempt = Some(crate::domain::PayAttemptId::from_i64(7));
        }
        let mut c = FundsCheck::default();
        c.expect(
            &payment("attempt_no", "4200000009", 300, 2),
            &paid,
            &HashMap::new(),
        );
        c.moved(&moved(MovementKind::Payment, "4200000009", 300));
        let found = c.finish(MovementTotals::default());
        let named: Vec<_> = found
            .mismatches
            .iter()
            .map(|m| (&m.named, m.order_id))
            .collect();
        assert_eq!(
            named,
            [(
                &Named::No("attempt_no".to_owned()),
                Some(OrderId::from_i64(4))
            )]
        );
    }

    #[test]
    fn errors_of_the_account_bill_say_so() {
        let e = account_bill(BillError::Unusable("cut".to_owned()));
        assert_eq!(e.to_string(), "the bill is unusable: the account bill: cut");
    }
}

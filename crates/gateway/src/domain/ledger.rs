//! The site's money, kept double-entry: what each site is owed, and what the operator earned.
//!
//! Every movement of money is a [`Movement`]: two or more entries, each an [`Account`] and a signed
//! amount of fen, that sum to zero. **Debits are positive, credits negative.** A movement is
//! written in the same database transaction as the state change that causes it (an order becoming
//! paid, a refund succeeding), once per cause and kind, and never changed afterwards: a correction
//! would be a movement of its own.
//!
//! ## Chart of accounts
//!
//! Every entry belongs to one site, so each site has its own set of these accounts; the operator's
//! accounts are the operator's share of that site's money.
//!
//! | account | kind | what it holds |
//! |---|---|---|
//! | `channel_clearing` | asset | money the channel collected for the site's orders and settles to the operator's merchant account (direct-merchant mode: the whole payment), less what it paid back to payers |
//! | `site_balance.paid` | liability | the site's balance: what its payers paid (credit) |
//! | `site_balance.refunded` | liability (contra) | the site's balance: what was given back to its payers (debit) |
//! | `site_balance.fees` | liability (contra) | the site's balance: the operator's fees it owes (debit) |
//! | `site_balance.shared` | liability (contra) | the site's balance: what the channel paid to profit-sharing receivers (debit) |
//! | `operator.fee_income` | income | the operator's fee earned on the site's orders (credit) |
//! | `receivers.splits_payable` | liability | what was paid out to profit-sharing receivers (credit) |
//!
//! The site's balance is the four `site_balance.*` accounts together; each of the figures a site
//! sees ([`Balance`]) is the sum of one of them, and its net is what the operator owes the site.
//!
//! ## Movements
//!
//! | kind | cause | debit | credit |
//! |---|---|---|---|
//! | `payment` | an order, when it becomes paid | `channel_clearing` | `site_balance.paid` |
//! | `fee` | the same order, in the same transaction (none when the fee is 0) | `site_balance.fees` | `operator.fee_income` |
//! | `refund` | a refund, when it succeeds | `site_balance.refunded` | `channel_clearing` |
//! | `split` | the shares of a split the channel paid | `site_balance.shared` | `receivers.splits_payable` |
//! | `fee` (service-provider mode) | the operator's fee split, when it ends: what it took (cause: the split), and what it did not (cause: the order, owed) | `site_balance.fees` | `operator.fee_income` |
//!
//! A site served as a sub-merchant (WeChat Pay) or as its own Alipay merchant is paid to its own
//! merchant account, so the operator's fee there is taken by profit sharing (the order's
//! `split_plan`) rather than held back: it is booked when the fee split ends, not at payment.
//! `channel_clearing` then stands for the money the channel collected for the site at its own
//! merchant account.
//!
//! A refund does not give the fee back: the fee is the price of carrying the payment, which was
//! carried whatever happened to it later, and keeping it makes a payment and its refund no free way
//! to move money through the operator's account. So a site can owe the operator (a negative net)
//! after refunding a whole order.

use super::{Amount, DomainError, OrderId, SiteId};

/// An account of the chart above. The names are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    ChannelClearing,
    SitePaid,
    SiteRefunded,
    SiteFees,
    SiteShared,
    OperatorFeeIncome,
    ReceiversSplitsPayable,
}

impl Account {
    pub const ALL: [Self; 7] = [
        Self::ChannelClearing,
        Self::SitePaid,
        Self::SiteRefunded,
        Self::SiteFees,
        Self::SiteShared,
        Self::OperatorFeeIncome,
        Self::ReceiversSplitsPayable,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChannelClearing => "channel_clearing",
            Self::SitePaid => "site_balance.paid",
            Self::SiteRefunded => "site_balance.refunded",
            Self::SiteFees => "site_balance.fees",
            Self::SiteShared => "site_balance.shared",
            Self::OperatorFeeIncome => "operator.fee_income",
            Self::ReceiversSplitsPayable => "receivers.splits_payable",
        }
    }

    /// # Errors
    /// `Malformed` for a name not in the chart.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(DomainError::Malformed { field: "account" })
    }
}

/// What a movement is. The names are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    Payment,
    Fee,
    Refund,
    Split,
}

impl MovementKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Fee => "fee",
            Self::Refund => "refund",
            Self::Split => "split",
        }
    }
}

/// What caused a movement. With the movement's kind, it is booked once: the same payment twice is
/// the same cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    Order(OrderId),
    /// A refund, by its row id.
    Refund(i64),
    /// A profit-sharing split, by its row id.
    Split(i64),
}

impl Cause {
    /// The stored `(cause, cause_id)` pair.
    #[must_use]
    pub fn columns(self) -> (&'static str, i64) {
        match self {
            Self::Order(id) => ("order", id.as_i64()),
            Self::Refund(id) => ("refund", id),
            Self::Split(id) => ("split", id),
        }
    }
}

/// One entry: an account and a signed amount (debit positive, credit negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub account: Account,
    pub amount_fen: i64,
}

/// A balanced set of entries with its cause. Only the constructors below make one, each from a
/// positive amount as one debit and one credit of it, so every movement sums to zero by
/// construction (and the database refuses one that does not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub kind: MovementKind,
    pub cause: Cause,
    pub site_id: SiteId,
    pub order_id: OrderId,
    /// How the amount was arrived at, for a person reading the ledger.
    pub detail: String,
    entries: [Entry; 2],
}

impl Movement {
    fn transfer(
        kind: MovementKind,
        cause: Cause,
        site_id: SiteId,
        order_id: OrderId,
        (debit, credit, fen): (Account, Account, i64),
        detail: String,
    ) -> Self {
        Self {
            kind,
            cause,
            site_id,
            order_id,
            detail,
            entries: [
                Entry {
                    account: debit,
                    amount_fen: fen,
                },
                Entry {
                    account: credit,
                    amount_fen: -fen,
                },
            ],
        }
    }

    /// An order's payment: the channel collected `amount` for the site.
    #[must_use]
    pub fn payment(site_id: SiteId, order_id: OrderId, amount: Amount) -> Self {
        Self::transfer(
            MovementKind::Payment,
            Cause::Order(order_id),
            site_id,
            order_id,
            (Account::ChannelClearing, Account::SitePaid, amount.as_i64()),
            format!("order paid, {} fen", amount.as_i64()),
        )
    }

    /// The operator's fee on an order paid for `amount` under `schedule`; `None` when it is 0.
    #[must_use]
    pub fn fee(
        site_id: SiteId,
        order_id: OrderId,
        amount: Amount,
        schedule: FeeSchedule,
    ) -> Option<Self> {
        let fee = schedule.fee_of(amount);
        (fee > 0).then(|| {
            Self::transfer(
                MovementKind::Fee,
                Cause::Order(order_id),
                site_id,
                order_id,
                (Account::SiteFees, Account::OperatorFeeIncome, fee),
                format!(
                    "{} bps + {} fen of {} fen, half-up, at most the amount",
                    schedule.rate_bps(),
                    schedule.fixed_fen(),
                    amount.as_i64()
                ),
            )
        })
    }

    /// A refund of `amount` that reached the payer.
    #[must_use]
    pub fn refund(site_id: SiteId, order_id: OrderId, refund_id: i64, amount: Amount) -> Self {
        Self::transfer(
            MovementKind::Refund,
            Cause::Refund(refund_id),
            site_id,
            order_id,
            (
                Account::SiteRefunded,
                Account::ChannelClearing,
                amount.as_i64(),
            ),
            format!("refund succeeded, {} fen", amount.as_i64()),
        )
    }

    /// The shares of a split that the channel paid to its receivers, `amount` in all.
    #[must_use]
    pub fn split(site_id: SiteId, order_id: OrderId, split_id: i64, amount: Amount) -> Self {
        Self::transfer(
            MovementKind::Split,
            Cause::Split(split_id),
            site_id,
            order_id,
            (
                Account::SiteShared,
                Account::ReceiversSplitsPayable,
                amount.as_i64(),
            ),
            format!("split to receivers, {} fen", amount.as_i64()),
        )
    }

    /// The operator's fee on a sub-merchant's order, `amount` of it taken from the site's own
    /// merchant account by the fee split `split_id`.
    #[must_use]
    pub fn fee_taken(site_id: SiteId, order_id: OrderId, split_id: i64, amount: Amount) -> Self {
        Self::transfer(
            MovementKind::Fee,
            Cause::Split(split_id),
            site_id,
            order_id,
            (
                Account::SiteFees,
                Account::OperatorFeeIncome,
                amount.as_i64(),
            ),
            format!("fee taken by profit sharing, {} fen", amount.as_i64()),
        )
    }

    /// The operator's fee on a sub-merchant's order that its fee split could not take: owed, as
    /// a direct merchant's fee is.
    #[must_use]
    pub fn fee_owed(site_id: SiteId, order_id: OrderId, amount: Amount) -> Self {
        Self::transfer(
            MovementKind::Fee,
            Cause::Order(order_id),
            site_id,
            order_id,
            (
                Account::SiteFees,
                Account::OperatorFeeIncome,
                amount.as_i64(),
            ),
            format!(
                "fee the fee split did not take, {} fen, owed",
                amount.as_i64()
            ),
        )
    }

    /// The debit, then the credit.
    #[must_use]
    pub fn entries(&self) -> &[Entry; 2] {
        &self.entries
    }
}

/// The operator's fee on a site's orders: a rate in basis points (1/100 of a percent) and a fixed
/// part in fen. The default charges nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeeSchedule {
    rate_bps: i64,
    fixed_fen: i64,
}

impl FeeSchedule {
    /// 100%: a fee is never more than the amount anyway.
    pub const MAX_RATE_BPS: i64 = 10_000;

    /// # Errors
    /// `FeeOutOfRange` for a rate outside 0–10000 bps or a fixed fee outside 0–[`Amount::MAX_FEN`].
    pub fn parse(rate_bps: i64, fixed_fen: i64) -> Result<Self, DomainError> {
        if !(0..=Self::MAX_RATE_BPS).contains(&rate_bps) {
            return Err(DomainError::FeeOutOfRange {
                field: "rate_bps",
                max: Self::MAX_RATE_BPS,
            });
        }
        if !(0..=Amount::MAX_FEN).contains(&fixed_fen) {
            return Err(DomainError::FeeOutOfRange {
                field: "fixed_fen",
                max: Amount::MAX_FEN,
            });
        }
        Ok(Self {
            rate_bps,
            fixed_fen,
        })
    }

    #[must_use]
    pub fn rate_bps(self) -> i64 {
        self.rate_bps
    }

    #[must_use]
    pub fn fixed_fen(self) -> i64 {
        self.fixed_fen
    }

    /// The fee on `amount`: the rate's share rounded to the fen half-up on the exact integer
    /// product (`amount × rate_bps / 10000`, an exact half going up), plus the fixed part, and
    /// never more than the amount. Integers only: `amount × rate_bps` is at most
    /// 2^31 × 10^4, far within `i64`.
    #[must_use]
    pub fn fee_of(self, amount: Amount) -> i64 {
        let fen = amount.as_i64();
        let share = (fen * self.rate_bps + Self::MAX_RATE_BPS / 2) / Self::MAX_RATE_BPS;
        (share + self.fixed_fen).min(fen)
    }
}

/// A site's balance, each figure the sum of one `site_balance.*` account's entries, as positive
/// fen: what its payers paid, what was refunded, the operator's fees, and what was split to
/// receivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balance {
    pub paid: i64,
    pub refunded: i64,
    pub fees: i64,
    pub shared: i64,
}

impl Balance {
    /// The balance from the sums of a site's accounts (debit positive, credit negative). Accounts
    /// that are not the site's balance are left out.
    #[must_use]
    pub fn from_sums(sums: impl IntoIterator<Item = (Account, i64)>) -> Self {
        let mut balance = Self::default();
        for (account, sum) in sums {
            match account {
                // A credit: what the site is owed grows.
                Account::SitePaid => balance.paid -= sum,
                Account::SiteRefunded => balance.refunded += sum,
                Account::SiteFees => balance.fees += sum,
                Account::SiteShared => balance.shared += sum,
                Account::ChannelClearing
                | Account::OperatorFeeIncome
                | Account::ReceiversSplitsPayable => {}
            }
        }
        balance
    }

    /// What the operator owes the site: paid, less refunded, fees and splits. Negative when the
    /// site owes the operator (fees on orders refunded in full).
    #[must_use]
    pub fn net(self) -> i64 {
        self.paid - self.refunded - self.fees - self.shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fee(rate_bps: i64, fixed_fen: i64, fen: i64) -> i64 {
        FeeSchedule::parse(rate_bps, fixed_fen)
            .unwrap()
            .fee_of(Amount::parse(fen).unwrap())
    }

    #[test]
    fn the_fee_is_rounded_half_up_on_the_exact_product() {
        assert_eq!(fee(60, 0, 10_000), 60, "0.6% of 100.00");
        assert_eq!(fee(60, 0, 1), 0, "0.006 fen rounds down");
        assert_eq!(fee(60, 0, 83), 0, "0.498 fen rounds down");
        assert_eq!(fee(60, 0, 84), 1, "0.504 fen rounds up");
        assert_eq!(fee(200, 0, 25), 1, "exactly 0.5 fen goes up");
        assert_eq!(fee(200, 0, 24), 0, "0.48 fen goes down");
        assert_eq!(fee(200, 0, 75), 2, "exactly 1.5 fen goes up");
        assert_eq!(fee(0, 0, 10_000), 0);
        assert_eq!(fee(0, 30, 10_000), 30, "fixed only");
        assert_eq!(fee(60, 30, 10_000), 90);
        assert_eq!(
            fee(10_000, 0, Amount::MAX_FEN),
            Amount::MAX_FEN,
            "no overflow"
        );
    }

    #[test]
    fn the_fee_is_never_more_than_the_amount() {
        assert_eq!(fee(0, 500, 100), 100);
        assert_eq!(fee(10_000, 1, 1), 1);
        assert_eq!(fee(60, Amount::MAX_FEN, 1), 1);
    }

    #[test]
    fn a_schedule_out_of_range_is_refused() {
        assert!(FeeSchedule::parse(-1, 0).is_err());
        assert!(FeeSchedule::parse(10_001, 0).is_err());
        assert!(FeeSchedule::parse(0, -1).is_err());
        assert!(FeeSchedule::parse(0, Amount::MAX_FEN + 1).is_err());
        assert_eq!(FeeSchedule::parse(0, 0).unwrap(), FeeSchedule::default());
    }

    #[test]
    fn every_movement_sums_to_zero() {
        let site = SiteId::parse("site_a").unwrap();
        let order = OrderId::from_i64(7);
        let amount = Amount::parse(10_000).unwrap();
        let schedule = FeeSchedule::parse(60, 0).unwrap();
        let movements = [
            Movement::payment(site.clone(), order, amount),
            Movement::fee(site.clone(), order, amount, schedule).unwrap(),
            Movement::refund(site.clone(), order, 3, Amount::parse(2_500).unwrap()),
        ];
        for m in &movements {
            assert_eq!(m.entries().iter().map(|e| e.amount_fen).sum::<i64>(), 0);
        }
        assert_eq!(
            Movement::fee(site, order, amount, FeeSchedule::default()),
            None
        );
        let sums = movements.iter().flat_map(|m| m.entries()).fold(
            std::collections::BTreeMap::<Account, i64>::new(),
            |mut sums, e| {
                *sums.entry(e.account).or_default() += e.amount_fen;
                sums
            },
        );
        let balance = Balance::from_sums(sums);
        assert_eq!(
            balance,
            Balance {
                paid: 10_000,
                refunded: 2_500,
                fees: 60,
                shared: 0
            }
        );
        assert_eq!(balance.net(), 7_440);
    }

    #[test]
    fn account_names_round_trip() {
        for a in Account::ALL {
            assert_eq!(Account::parse(a.as_str()), Ok(a));
        }
        assert!(Account::parse("cash").is_err());
    }
}

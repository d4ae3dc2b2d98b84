//! A site's statement of one bill day: its payments and refunds of the day, each with the fee
//! the channel's bill attributes to it once a reconciliation has read that bill, and the sums;
//! and what the day changed in the site's balance in paygate's ledger (the operator's fees and the
//! profit-sharing splits included).

use super::{Balance, BillDay, Channel, SiteId, Timestamp};

/// A payment of the site on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementPayment {
    pub out_trade_no: String,
    pub channel: Channel,
    /// The channel's number (WeChat Pay's `transaction_id`, Alipay's `trade_no`).
    pub transaction_id: Option<String>,
    pub amount_fen: i64,
    /// The fee the channel kept, as its bill states; `None` until a bill has listed it.
    pub fee_fen: Option<i64>,
    pub paid_at: Timestamp,
}

/// A refund of the site that reached the payer on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRefund {
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub channel: Channel,
    pub amount_fen: i64,
    /// The part of the payment's fee the channel gave back, as its bill states; `None` until a
    /// bill has listed it.
    pub fee_returned_fen: Option<i64>,
    pub succeeded_at: Timestamp,
}

/// What a statement adds up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatementTotals {
    pub payments: i64,
    pub paid_fen: i64,
    pub refunds: i64,
    pub refunded_fen: i64,
    /// Fees kept less fees given back, of the lines whose fee is known.
    pub fees_fen: i64,
    /// Paid less refunded less fees.
    pub net_fen: i64,
    /// Lines whose fee no bill has stated yet (the day is not reconciled, or not yet whole).
    pub fees_pending: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub site_id: SiteId,
    pub day: BillDay,
    pub payments: Vec<StatementPayment>,
    pub refunds: Vec<StatementRefund>,
    /// The ledger's movements of the site's balance booked on the day.
    pub balance: Balance,
}

impl Statement {
    #[must_use]
    pub fn totals(&self) -> StatementTotals {
        let mut t = StatementTotals::default();
        for p in &self.payments {
            t.payments += 1;
            t.paid_fen += p.amount_fen;
            match p.fee_fen {
                Some(fee) => t.fees_fen += fee,
                None => t.fees_pending += 1,
            }
        }
        for r in &self.refunds {
            t.refunds += 1;
            t.refunded_fen += r.amount_fen;
            match r.fee_returned_fen {
                Some(fee) => t.fees_fen -= fee,
                None => t.fees_pending += 1,
            }
        }
        t.net_fen = t.paid_fen - t.refunded_fen - t.fees_fen;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_nets_payments_refunds_and_the_fees_known_so_far() {
        let at = Timestamp::from_millis(0);
        let pay = |fen, fee| StatementPayment {
            out_trade_no: format!("o_{fen}"),
            channel: Channel::Wechat,
            transaction_id: None,
            amount_fen: fen,
            fee_fen: fee,
            paid_at: at,
        };
        let statement = Statement {
            site_id: SiteId::parse("site_test").unwrap(),
            day: BillDay::of(at),
            payments: vec![pay(10_000, Some(60)), pay(2_990, None)],
            refunds: vec![StatementRefund {
                out_trade_no: "o_10000".into(),
                out_refund_no: "r1".into(),
                channel: Channel::Wechat,
                amount_fen: 2_500,
                fee_returned_fen: Some(15),
                succeeded_at: at,
            }],
            balance: Balance::default(),
        };
        assert_eq!(
            statement.totals(),
            StatementTotals {
                payments: 2,
                paid_fen: 12_990,
                refunds: 1,
                refunded_fen: 2_500,
                fees_fen: 45,
                net_fen: 10_445,
                fees_pending: 1,
            }
        );
    }
}

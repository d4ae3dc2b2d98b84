//! A channel's trade bill as paygate reads it, whichever channel wrote it: the payments and
//! refunds of one day of one merchant account, each with the channel's fee.

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
    /// The channel's number its money is booked under in the account bill: WeChat Pay's refund
    /// id (微信退款单号); Alipay books a refund under its trade's number (支付宝交易号).
    pub channel_no: String,
    /// The refunded amount, in fen, positive.
    pub amount_fen: i64,
    /// The part of the payment's fee the channel gave back with it, in fen (zero or more).
    pub fee_returned_fen: i64,
}

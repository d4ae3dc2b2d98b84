//! Alipay refunds: `alipay.trade.refund` answers synchronously; `alipay.trade.fastpay.refund.query`
//! settles what that answer left open.

use super::super::{AlipayAccount, ChannelError, RefundState};
use super::transformers;
use crate::domain::{Order, Refund};

/// Sends the refund. Safe to repeat: Alipay answers a repeat of the same `out_request_no` (and
/// amount) as the same refund, without moving money again.
///
/// `fund_change = Y` is the money moving now. `N` is a repeat of a refund made earlier or one that
/// moved nothing; the refund query tells which.
pub(in crate::channels) async fn refund(
    account: &AlipayAccount,
    order: &Order,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    let answer = super::client_for(account, order)?
        .refund(&transformers::refund_request(order, refund))
        .await?;
    if answer.out_trade_no != order.upstream_order_no.as_str() {
        return Err(super::unknown("the answer is about another trade"));
    }
    if answer.fund_change {
        return Ok(RefundState::Succeeded {
            channel_refund_id: Some(answer.trade_no),
            at: answer
                .gmt_refund_pay
                .map(super::super::status::timestamp_of),
        });
    }
    match query_refund(account, order, refund).await? {
        // Alipay answered the refund without an error and moved nothing, yet has no refund
        // under the number: not settled; asked again later.
        RefundState::NotFound => Ok(RefundState::Processing {
            channel_refund_id: None,
        }),
        settled => Ok(settled),
    }
}

pub(in crate::channels) async fn query_refund(
    account: &AlipayAccount,
    order: &Order,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    let answer = super::client_for(account, order)?
        .query_refund(&transformers::refund_query(order, refund))
        .await?;
    transformers::refund_state(&answer, refund)
}

//! WeChat Pay refunds: `POST /v3/refund/domestic/refunds` and its query. The outcome comes later,
//! by `REFUND.*` notification or query, unless WeChat Pay answers with it at once.

use super::super::{ChannelError, RefundState, WechatAccount};
use super::transformers;
use crate::domain::{Order, Refund};

/// Sends the refund. Safe to repeat: WeChat Pay answers a repeat of the same number with the same
/// refund.
pub(in crate::channels) async fn refund(
    account: &WechatAccount,
    order: &Order,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    let request = transformers::new_refund(account, order, refund);
    let answer = account.client.refund(&request).await?;
    transformers::refund_state(&answer, refund)
}

pub(in crate::channels) async fn query_refund(
    account: &WechatAccount,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    match account
        .client
        .query_refund(refund.upstream_refund_no.as_str(), None)
        .await
    {
        Ok(answer) => transformers::refund_state(&answer, refund),
        Err(e) if e.upstream_code() == Some(transformers::RESOURCE_NOT_EXISTS) => {
            Ok(RefundState::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

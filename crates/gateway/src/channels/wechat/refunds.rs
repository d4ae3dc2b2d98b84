//! WeChat Pay refunds: `POST /v3/refund/domestic/refunds` and its query. The outcome comes later,
//! by `REFUND.*` notification or query, unless WeChat Pay answers with it at once. A
//! sub-merchant's refunds go through the service provider (`partner`).

use super::super::{ChannelError, RefundState, WechatAccount};
use super::{partner, transformers};
use crate::domain::{Order, Refund};

/// Sends the refund. Safe to repeat: WeChat Pay answers a repeat of the same number with the same
/// refund.
pub(in crate::channels) async fn refund(
    account: &WechatAccount,
    order: &Order,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    if let Some(sub) = &order.sub_merchant {
        return partner::refund(account, sub, order, refund).await;
    }
    let request = transformers::new_refund(&account.notify_url, order, refund);
    let answer = account.client.refund(&request).await?;
    transformers::refund_state(&answer, refund)
}

pub(in crate::channels) async fn query_refund(
    account: &WechatAccount,
    order: &Order,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    if let Some(sub) = &order.sub_merchant {
        return partner::query_refund(account, sub, order, refund).await;
    }
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

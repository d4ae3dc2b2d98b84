//! Alipay royalty splits (分账): each receiver bound to the app first
//! (`alipay.trade.royalty.relation.bind`, which takes a bound receiver as it is), then
//! `alipay.trade.order.settle` with paygate's split number as `out_request_no`, and
//! `alipay.trade.order.settle.query` until every share is final. A merchant's order is split with
//! its own `app_auth_token`, like every other call about it. Nothing bounds an Alipay split but
//! what was paid.

use ::alipay::{
    AccountType, Receiver, RelationRequest, RoyaltyDetail, RoyaltySplit, RoyaltyState, SettleQuery,
    SettleRequest,
};

use super::super::split::{ShareOutcome, SplitState};
use super::super::status::timestamp_of;
use super::super::{AlipayAccount, ChannelError};
use super::{client_for, unknown};
use crate::domain::{Order, ReceiverResult, ReceiverType, Split, SplitShare};

/// Alipay's code for a settlement it does not have.
const SETTLE_NOT_EXIST: &str = "ACQ.TRADE_SETTLE_NOT_EXIST";

fn trade_no(order: &Order) -> Result<&str, ChannelError> {
    order
        .upstream
        .trade_no
        .as_deref()
        .or(order.upstream.transaction_id.as_deref())
        .ok_or_else(|| ChannelError::Invalid("the order has no trade_no: not paid".into()))
}

fn account_type(kind: ReceiverType) -> Result<AccountType, ChannelError> {
    match kind {
        ReceiverType::AlipayUserId => Ok(AccountType::UserId),
        ReceiverType::AlipayLoginName => Ok(AccountType::LoginName),
        ReceiverType::WechatMerchant | ReceiverType::WechatOpenid => Err(ChannelError::Invalid(
            format!("{} is not an Alipay receiver", kind.as_str()),
        )),
    }
}

/// Binds the split's receivers, then settles it. Safe to repeat: binding again changes nothing,
/// and Alipay answers a repeat of the same `out_request_no` with the same settlement.
pub(in crate::channels) async fn split(
    account: &AlipayAccount,
    order: &Order,
    split: &Split,
) -> Result<SplitState, ChannelError> {
    let client = client_for(account, order)?;
    let receivers = split
        .shares
        .iter()
        .map(|s| {
            Ok(Receiver {
                account_type: account_type(s.receiver.kind)?,
                account: s.receiver.account.as_str().to_owned(),
                name: s.receiver.name.as_ref().map(|n| n.as_str().to_owned()),
                memo: None,
            })
        })
        .collect::<Result<Vec<_>, ChannelError>>()?;
    client
        .bind_royalty_receivers(&RelationRequest {
            out_request_no: split.upstream_split_no.as_str().to_owned(),
            receivers,
        })
        .await?;
    let splits = split
        .shares
        .iter()
        .map(|s| {
            let mut one = RoyaltySplit::transfer(
                account_type(s.receiver.kind)?,
                s.receiver.account.as_str(),
                s.receiver.amount.fen(),
            );
            one.desc = Some(split.description_text().to_owned());
            Ok(one)
        })
        .collect::<Result<Vec<_>, ChannelError>>()?;
    let answer = client
        .settle(&SettleRequest {
            out_request_no: split.upstream_split_no.as_str().to_owned(),
            trade_no: trade_no(order)?.to_owned(),
            splits,
            royalty_finish: split.unfreeze_rest,
        })
        .await?;
    match query_split(account, order, split).await? {
        // Settled without an error, and yet not found: asked again later.
        SplitState::NotFound => Ok(SplitState::Processing {
            channel_split_id: answer.settle_no,
        }),
        state => Ok(state),
    }
}

pub(in crate::channels) async fn query_split(
    account: &AlipayAccount,
    order: &Order,
    split: &Split,
) -> Result<SplitState, ChannelError> {
    let query = SettleQuery::Request {
        trade_no: trade_no(order)?.to_owned(),
        out_request_no: split.upstream_split_no.as_str().to_owned(),
    };
    let answer = match client_for(account, order)?.query_settle(&query).await {
        Ok(answer) => answer,
        Err(e) if e.upstream_code() == Some(SETTLE_NOT_EXIST) => return Ok(SplitState::NotFound),
        Err(e) => return Err(e.into()),
    };
    if answer
        .out_request_no
        .as_deref()
        .is_some_and(|no| no != split.upstream_split_no.as_str())
    {
        return Err(unknown("the answer is about another settlement"));
    }
    let mut shares = Vec::with_capacity(split.shares.len());
    let mut at = None;
    for share in &split.shares {
        let Some(detail) = listed(&answer.details, share) else {
            return Ok(SplitState::Processing {
                channel_split_id: None,
            });
        };
        let result = match detail.state {
            RoyaltyState::Processing => {
                return Ok(SplitState::Processing {
                    channel_split_id: None,
                });
            }
            RoyaltyState::Success => ReceiverResult::Succeeded,
            RoyaltyState::Fail => ReceiverResult::Failed,
        };
        at = at.max(detail.execute_dt.map(timestamp_of));
        shares.push(ShareOutcome {
            result,
            channel_detail_id: None,
            fail_reason: detail.error_code.clone(),
        });
    }
    Ok(SplitState::Finished {
        channel_split_id: None,
        shares,
        at,
    })
}

fn listed<'a>(details: &'a [RoyaltyDetail], share: &SplitShare) -> Option<&'a RoyaltyDetail> {
    details.iter().find(|d| {
        d.trans_in.as_deref() == Some(share.receiver.account.as_str())
            && d.amount == share.receiver.amount.fen()
    })
}

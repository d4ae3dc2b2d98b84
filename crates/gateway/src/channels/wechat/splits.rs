//! WeChat Pay profit sharing (分账): each receiver is added first (`receivers/add`, which takes a
//! receiver added before as it is), then `POST /v3/profitsharing/orders` with paygate's split
//! number as `out_order_no`, and `GET /v3/profitsharing/orders/{out_order_no}` until finished. A
//! sub-merchant's order goes through the service provider with `sub_mchid`; how much it may
//! split away is the ratio the sub-merchant authorised, which WeChat Pay says.
//!
//! A site's split unfreezes nothing (`unfreeze_unsplit: false`): an order may be split more than
//! once. The last of paygate's own planned splits of an order the site did not make for profit
//! sharing itself unfreezes the rest, which would otherwise stay frozen for 180 days.

use wechatpay::{
    NewReceiver, NewSplit, NewUnfreeze, ReceiverResult as WxResult, ReceiverType as WxType,
    RelationType, Split as Answer, SplitReceiver, SplitState as WxState,
};

use super::super::split::{ShareOutcome, SplitState};
use super::super::status::timestamp_of;
use super::super::{ChannelError, WechatAccount};
use super::{appid, partner, transformers};
use crate::domain::{
    Channel, Order, ReceiverResult, ReceiverType, Split, SplitPurpose, SplitRatio, SplitShare,
};

/// The client, appid and sub-merchant the order's splits are made with.
struct Sharer<'a> {
    client: &'a wechatpay::Client,
    appid: String,
    sub_mchid: Option<String>,
}

fn sharer<'a>(account: &'a WechatAccount, order: &Order) -> Result<Sharer<'a>, ChannelError> {
    match &order.sub_merchant {
        Some(sub) => {
            let p = partner::provider(account, order)?;
            Ok(Sharer {
                client: &p.client,
                appid: p.sp_appid.clone(),
                sub_mchid: Some(sub.sub_mchid.as_str().to_owned()),
            })
        }
        None => Ok(Sharer {
            client: &account.client,
            appid: appid(account, order)?,
            sub_mchid: None,
        }),
    }
}

fn transaction_id(order: &Order) -> Result<&str, ChannelError> {
    order
        .upstream
        .transaction_id
        .as_deref()
        .ok_or_else(|| ChannelError::Invalid("the order has no transaction_id: not paid".into()))
}

fn receiver_type(kind: ReceiverType) -> Result<WxType, ChannelError> {
    match kind {
        ReceiverType::WechatMerchant => Ok(WxType::MerchantId),
        ReceiverType::WechatOpenid => Ok(WxType::PersonalOpenid),
        ReceiverType::AlipayUserId | ReceiverType::AlipayLoginName => Err(ChannelError::Invalid(
            format!("{} is not a WeChat Pay receiver", kind.as_str()),
        )),
    }
}

/// How much of the order may be split away: 30% for a direct merchant, the sub-merchant's own
/// authorised ratio through a service provider.
pub(in crate::channels) async fn ratio(
    account: &WechatAccount,
    order: &Order,
) -> Result<SplitRatio, ChannelError> {
    let Some(sub) = &order.sub_merchant else {
        return Ok(SplitRatio::WECHAT_DIRECT);
    };
    let answer = partner::provider(account, order)?
        .client
        .query_sub_merchant_max_ratio(sub.sub_mchid.as_str())
        .await?;
    SplitRatio::parse(answer.max_ratio).map_err(|e| ChannelError::Unknown {
        channel: Channel::Wechat,
        message: format!("max_ratio {}: {e}", answer.max_ratio),
    })
}

/// Adds the split's receivers, then sends it. Safe to repeat: adding a receiver again changes
/// nothing, and WeChat Pay answers a repeat of the same `out_order_no` with the same split.
pub(in crate::channels) async fn split(
    account: &WechatAccount,
    order: &Order,
    split: &Split,
) -> Result<SplitState, ChannelError> {
    let s = sharer(account, order)?;
    // The operator's fee goes to the service provider itself.
    let relation = match split.purpose {
        SplitPurpose::Fee => RelationType::ServiceProvider,
        SplitPurpose::Site | SplitPurpose::Ledger => RelationType::Partner,
    };
    for share in &split.shares {
        let r = &share.receiver;
        let mut receiver = NewReceiver::new(
            &s.appid,
            receiver_type(r.kind)?,
            r.account.as_str(),
            relation,
        );
        receiver.sub_mchid.clone_from(&s.sub_mchid);
        receiver.name = r.name.as_ref().map(|n| n.as_str().to_owned());
        s.client.add_profit_sharing_receiver(&receiver).await?;
    }
    let receivers = split
        .shares
        .iter()
        .map(|share| {
            let r = &share.receiver;
            Ok(SplitReceiver::new(
                receiver_type(r.kind)?,
                r.account.as_str(),
                r.amount.as_i64(),
                split.description_text(),
            ))
        })
        .collect::<Result<Vec<_>, ChannelError>>()?;
    let request = NewSplit {
        sub_mchid: s.sub_mchid.clone(),
        sub_appid: None,
        appid: s.appid.clone(),
        transaction_id: transaction_id(order)?.to_owned(),
        out_order_no: split.upstream_split_no.as_str().to_owned(),
        receivers,
        unfreeze_unsplit: split.unfreeze_rest,
    };
    let answer = s.client.share_profit(&request).await?;
    state_of(&answer, split)
}

/// Unfreezes what `order` has left unsplit (`POST /v3/profitsharing/orders/unfreeze`, with
/// `sub_mchid` for a sub-merchant's order) under paygate's number `out_order_no`; a repeat is the
/// same request. For when no split could carry `unfreeze_unsplit`.
pub(in crate::channels) async fn unfreeze(
    account: &WechatAccount,
    order: &Order,
    out_order_no: &str,
) -> Result<(), ChannelError> {
    let s = sharer(account, order)?;
    let request = NewUnfreeze {
        sub_mchid: s.sub_mchid.clone(),
        transaction_id: transaction_id(order)?.to_owned(),
        out_order_no: out_order_no.to_owned(),
        description: "解冻剩余资金".to_owned(),
    };
    s.client.unfreeze_profit_sharing(&request).await?;
    Ok(())
}

pub(in crate::channels) async fn query_split(
    account: &WechatAccount,
    order: &Order,
    split: &Split,
) -> Result<SplitState, ChannelError> {
    let s = sharer(account, order)?;
    let no = split.upstream_split_no.as_str();
    let transaction_id = transaction_id(order)?;
    let answer = match &s.sub_mchid {
        Some(sub) => {
            s.client
                .query_partner_profit_sharing(sub, no, transaction_id)
                .await
        }
        None => s.client.query_profit_sharing(no, transaction_id).await,
    };
    match answer {
        Ok(answer) => state_of(&answer, split),
        Err(e) if e.upstream_code() == Some(transformers::RESOURCE_NOT_EXISTS) => {
            Ok(SplitState::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

/// The answer, share by share in the split's order. A share the answer does not list, or still
/// pending, keeps the split processing: never a failure for what was not said.
fn state_of(answer: &Answer, split: &Split) -> Result<SplitState, ChannelError> {
    if answer.out_order_no != split.upstream_split_no.as_str() {
        return Err(ChannelError::Unknown {
            channel: Channel::Wechat,
            message: "the answer is about another split".to_owned(),
        });
    }
    let channel_split_id = Some(answer.order_id.clone());
    match answer.state {
        WxState::Processing => return Ok(SplitState::Processing { channel_split_id }),
        WxState::Finished => {}
    }
    let mut shares = Vec::with_capacity(split.shares.len());
    let mut at = None;
    for share in &split.shares {
        let Some(found) = listed(answer, share)? else {
            return Ok(SplitState::Processing { channel_split_id });
        };
        let result = match found.result {
            WxResult::Pending => return Ok(SplitState::Processing { channel_split_id }),
            WxResult::Success => ReceiverResult::Succeeded,
            WxResult::Closed => ReceiverResult::Failed,
        };
        at = at.max(found.finish_time.map(timestamp_of));
        shares.push(ShareOutcome {
            result,
            channel_detail_id: found.detail_id.clone(),
            fail_reason: found.fail_reason.clone(),
        });
    }
    Ok(SplitState::Finished {
        channel_split_id,
        shares,
        at,
    })
}

fn listed<'a>(
    answer: &'a Answer,
    share: &SplitShare,
) -> Result<Option<&'a wechatpay::SplitReceiverResult>, ChannelError> {
    let kind = receiver_type(share.receiver.kind)?;
    Ok(answer.receivers.iter().find(|r| {
        r.receiver_type == kind
            && r.account == share.receiver.account.as_str()
            && r.amount == share.receiver.amount.as_i64()
    }))
}

//! Combined orders (合单) on WeChat Pay: one create under `/v3/combine-transactions/…` for the
//! platform's sub-orders, each an order of paygate's. WeChat Pay knows a sub-order only through its
//! combined order (its own number is not answered by the ordinary query), so a sub-order is
//! queried and closed through the combined order, and its payment arrives in the combined
//! notification, one sub-order per entry.
//!
//! A combined order is either the operator's direct merchant's (`combine_mchid` and each `mchid`
//! are its own) or the service provider's for its sub-merchants (`combine_mchid` and each `mchid`
//! are `sp_mchid`, each sub-order names the `sub_mchid` its money settles to, under `sp_appid`).
//! WeChat Pay does not mix them: a service provider's combined order lists only its own
//! sub-merchants (合单支付常见问题: "服务商模式的子单列表只支持同一个服务商下的特约商户"), so a
//! direct sub-order beside a sub-merchant's is refused here, as the service refuses it before.

use wechatpay::{
    CombineAmount, CombineCloseSubOrder, CombineNewOrder, CombineSubOrder, SettleInfo,
};
use wechatpay::{CombineSubTransaction, CombineTransaction};

use super::super::callback::NewsRefusal;
use super::super::status::expiry_of;
use super::super::{ChannelError, UpstreamStatus};
use super::{Kind, WechatAccount, transformers};
use crate::domain::{CombinedOrder, Method, Order, PayMethod, UpstreamFields, UpstreamOrderNo};

/// The merchant that makes a combined order and the app it pays under: the direct merchant, or
/// the service provider when its sub-orders are sub-merchants'.
struct Combiner<'a> {
    client: &'a wechatpay::Client,
    mchid: &'a str,
    appid: &'a str,
    notify_url: &'a str,
}

impl<'a> Combiner<'a> {
    /// Who combines `subs` paid by `method`: all of them the direct merchant's, or all of them
    /// sub-merchants' of the service provider.
    fn of(
        account: &'a WechatAccount,
        method: PayMethod,
        subs: &[Order],
    ) -> Result<Self, ChannelError> {
        let served = subs.iter().filter(|o| o.sub_merchant.is_some()).count();
        if served == 0 {
            return Ok(Self {
                client: &account.client,
                mchid: &account.mchid,
                appid: account
                    .appids
                    .for_method(method.method())
                    .ok_or(ChannelError::NotConfigured(method))?,
                notify_url: &account.notify_url,
            });
        }
        if served != subs.len() {
            return Err(ChannelError::Invalid(
                "a combined order mixes the direct merchant's sub-orders with sub-merchants'"
                    .to_owned(),
            ));
        }
        let partner = account
            .partner
            .as_ref()
            .ok_or(ChannelError::NotConfigured(method))?;
        // Sub-merchants' payers pay under the service provider's official account, as their
        // ordinary orders do; an App payment would need the provider's open-platform app.
        match method.method() {
            Method::Native | Method::Jsapi | Method::H5 => Ok(Self {
                client: &partner.client,
                mchid: &partner.sp_mchid,
                appid: &partner.sp_appid,
                notify_url: &partner.notify_url,
            }),
            Method::App | Method::Miniapp | Method::Qr | Method::Wap | Method::Page => {
                Err(ChannelError::NotConfigured(method))
            }
        }
    }
}

fn sub_mchid_of(order: &Order) -> Option<String> {
    order
        .sub_merchant
        .as_ref()
        .map(|m| m.sub_mchid.as_str().to_owned())
}

/// A combined order's sub-order as a combined notification names it, with the combined order's
/// own fields it is judged by.
#[derive(Debug)]
pub(in crate::channels) struct CombinedNews {
    pub(in crate::channels) combine_appid: String,
    pub(in crate::channels) combine_mchid: String,
    pub(in crate::channels) combine_out_trade_no: String,
    pub(in crate::channels) sub: CombineSubTransaction,
}

impl CombinedNews {
    /// One piece of news per sub-order of the verified combined transaction.
    pub(in crate::channels) fn split(t: CombineTransaction) -> Vec<Self> {
        t.sub_orders
            .into_iter()
            .map(|sub| Self {
                combine_appid: t.combine_appid.clone(),
                combine_mchid: t.combine_mchid.clone(),
                combine_out_trade_no: t.combine_out_trade_no.clone(),
                sub,
            })
            .collect()
    }
}

/// Creates the combined order upstream; the answer is every sub-order's pay parameters (the
/// payer pays them all at once). Idempotent: built from stored fields only, so a repeat is
/// answered as the same combined order.
pub(in crate::channels) async fn create(
    account: &WechatAccount,
    kind: Kind,
    combined: &CombinedOrder,
    subs: &[Order],
) -> Result<UpstreamFields, ChannelError> {
    let method = combined.pay_method;
    let combiner = Combiner::of(account, method, subs)?;
    let first = subs
        .first()
        .ok_or_else(|| ChannelError::Invalid("a combined order without sub-orders".to_owned()))?;
    let mut sub_orders = Vec::with_capacity(subs.len());
    for sub in subs {
        sub_orders.push(CombineSubOrder {
            mchid: combiner.mchid.to_owned(),
            // WeChat Pay requires attach on every sub-order: the site's, or paygate's number.
            attach: sub.attach.as_ref().map_or_else(
                || sub.upstream_order_no.as_str().to_owned(),
                |a| a.as_str().to_owned(),
            ),
            amount: CombineAmount::cny(sub.amount.as_i64()),
            out_trade_no: sub.upstream_order_no.as_str().to_owned(),
            description: sub.description.as_str().to_owned(),
            sub_mchid: sub_mchid_of(sub),
            // The payer pays under `combine_appid`; a sub-merchant's own app is not involved.
            sub_appid: None,
            detail: None,
            goods_tag: None,
            // Made for profit sharing (the operator's fee split): WeChat Pay keeps it frozen.
            settle_info: sub.profit_sharing.then_some(SettleInfo {
                profit_sharing: true,
            }),
        });
    }
    let mut request = CombineNewOrder {
        combine_appid: combiner.appid.to_owned(),
        combine_out_trade_no: combined.upstream_no.as_str().to_owned(),
        scene_info: None,
        sub_orders,
        time_start: None,
        time_expire: Some(expiry_of(combined.expires_at)?),
        notify_url: combiner.notify_url.to_owned(),
    };
    let client = combiner.client;
    match kind {
        Kind::Native => Ok(UpstreamFields {
            code_url: Some(client.create_combine_native_order(&request).await?.code_url),
            ..UpstreamFields::default()
        }),
        Kind::Jsapi => {
            let openid = first
                .payer
                .openid
                .as_ref()
                .ok_or_else(|| ChannelError::missing("the payer's openid", method))?;
            let answer = client
                .create_combine_jsapi_order(&request, openid.as_str())
                .await?;
            Ok(prepay(answer.prepay_id))
        }
        Kind::H5 => {
            request.scene_info = Some(transformers::h5_scene(first)?);
            Ok(UpstreamFields {
                h5_url: Some(client.create_combine_h5_order(&request).await?.h5_url),
                ..UpstreamFields::default()
            })
        }
        Kind::App => Ok(prepay(
            client.create_combine_app_order(&request).await?.prepay_id,
        )),
        // WeChat Pay combines for JSAPI (a mini-program's too, under its appid), but paygate's
        // combined orders offer the four methods above.
        Kind::Miniapp => Err(ChannelError::NotConfigured(method)),
    }
}

fn prepay(prepay_id: String) -> UpstreamFields {
    UpstreamFields {
        prepay_id: Some(prepay_id),
        ..UpstreamFields::default()
    }
}

/// What became of the sub-order `order`, by querying its combined order `combine_no`.
pub(super) async fn query(
    account: &WechatAccount,
    combine_no: &UpstreamOrderNo,
    order: &Order,
) -> Result<UpstreamStatus, ChannelError> {
    let combiner = Combiner::of(account, order.pay_method, std::slice::from_ref(order))?;
    match combiner
        .client
        .query_combine_order(combine_no.as_str())
        .await
    {
        Ok(t) => {
            let sub = t
                .sub_orders
                .iter()
                .find(|s| s.out_trade_no == order.upstream_order_no.as_str())
                .ok_or_else(|| ChannelError::Unknown {
                    channel: crate::domain::Channel::Wechat,
                    message: "the combined order's answer does not list the sub-order".to_owned(),
                })?;
            if t.combine_mchid != combiner.mchid
                || sub.mchid != combiner.mchid
                || sub.sub_mchid != sub_mchid_of(order)
            {
                return Err(ChannelError::Unknown {
                    channel: crate::domain::Channel::Wechat,
                    message: "the combined order's answer names another merchant".to_owned(),
                });
            }
            sub_status(sub)
        }
        Err(e) if e.upstream_code() == Some(transformers::ORDER_NOT_EXIST) => {
            Ok(UpstreamStatus::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

/// Closes the combined order `combine_no` with all its sub-orders `subs` (WeChat Pay closes them
/// together or not at all).
pub(in crate::channels) async fn close(
    account: &WechatAccount,
    combine_no: &UpstreamOrderNo,
    subs: &[Order],
) -> Result<(), ChannelError> {
    let first = subs
        .first()
        .ok_or_else(|| ChannelError::Invalid("a combined order without sub-orders".to_owned()))?;
    let combiner = Combiner::of(account, first.pay_method, subs)?;
    let sub_orders: Vec<CombineCloseSubOrder> = subs
        .iter()
        .map(|s| CombineCloseSubOrder {
            mchid: combiner.mchid.to_owned(),
            out_trade_no: s.upstream_order_no.as_str().to_owned(),
            sub_mchid: sub_mchid_of(s),
            sub_appid: None,
        })
        .collect();
    combiner
        .client
        .close_combine_order(combine_no.as_str(), combiner.appid, &sub_orders)
        .await
        .map_err(ChannelError::from)
}

/// What verified news of one sub-order means for `order`: the order must be a sub-order of that
/// combined order, combined by the merchant its order is paid through (the direct merchant, or the
/// service provider with the order's own sub-merchant) under that merchant's app; then it reads
/// like a query's answer.
pub(in crate::channels) fn read(
    account: &WechatAccount,
    news: &CombinedNews,
    order: &Order,
) -> Result<UpstreamStatus, NewsRefusal> {
    let combiner = Combiner::of(account, order.pay_method, std::slice::from_ref(order))
        .map_err(|e| NewsRefusal::Mismatch(format!("order {}: {e}", order.id.as_i64())))?;
    let named = (
        news.combine_mchid.as_str(),
        news.sub.mchid.as_str(),
        Some(news.combine_appid.as_str()),
        Some(news.combine_out_trade_no.as_str()),
        news.sub.sub_mchid.as_deref(),
    );
    let expected = (
        combiner.mchid,
        combiner.mchid,
        Some(combiner.appid),
        order.combine_no.as_ref().map(UpstreamOrderNo::as_str),
        order.sub_merchant.as_ref().map(|m| m.sub_mchid.as_str()),
    );
    if named != expected {
        return Err(NewsRefusal::Mismatch(format!(
            "verified combined TRANSACTION.SUCCESS for order {} names (combine_mchid, mchid, \
             combine_appid, combine_out_trade_no, sub_mchid) {named:?}; the order is {expected:?}",
            order.id.as_i64()
        )));
    }
    sub_status(&news.sub).map_err(|e| NewsRefusal::Malformed(e.to_string()))
}

fn sub_status(sub: &CombineSubTransaction) -> Result<UpstreamStatus, ChannelError> {
    transformers::status_of(
        sub.trade_state,
        sub.transaction_id.as_deref(),
        sub.success_time,
        Some(sub.amount.total_amount),
    )
}

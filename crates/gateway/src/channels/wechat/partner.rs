//! Orders of a site served as a sub-merchant: the same calls as a direct merchant's, through the
//! service provider's partner endpoints (`/v3/pay/partner/transactions/…`, refunds with
//! `sub_mchid`), with the sub-merchant the order was stored for.
//!
//! Native, JSAPI and H5 pay under the service provider's official account (`sp_appid`, a JSAPI
//! payer's `sp_openid`); a mini-program pays under the sub-merchant's own appid (`sub_appid`, the
//! payer's `sub_openid`). App payments of sub-merchants are not offered: they would need the
//! sub-merchant's open-platform app, which a site has no setting for.

use wechatpay::{PartnerNewOrder, PartnerPayerId, PartnerTransaction, TradeRef};

use super::super::{ChannelError, PayParams, RefundState, UpstreamStatus, WechatPartner};
use super::{Kind, WechatAccount, prepay, transformers};
use crate::domain::{Order, Refund, UpstreamFields, WechatSubMerchant};

/// The service provider, which a sub-merchant's order needs.
pub(super) fn provider<'a>(
    account: &'a WechatAccount,
    order: &Order,
) -> Result<&'a WechatPartner, ChannelError> {
    account
        .partner
        .as_ref()
        .ok_or(ChannelError::NotConfigured(order.pay_method))
}

/// Which appid the order pays under, and whether the payer's openid is under the sub-merchant's.
fn appid_of(
    partner: &WechatPartner,
    sub: &WechatSubMerchant,
    kind: Kind,
    order: &Order,
) -> Result<(String, bool), ChannelError> {
    match kind {
        Kind::Native | Kind::Jsapi | Kind::H5 => Ok((partner.sp_appid.clone(), false)),
        Kind::Miniapp => sub
            .sub_appid
            .as_ref()
            .map(|a| (a.as_str().to_owned(), true))
            .ok_or(ChannelError::NotConfigured(order.pay_method)),
        Kind::App => Err(ChannelError::NotConfigured(order.pay_method)),
    }
}

/// Whether a sub-merchant's orders can be made with `kind` (the service provider configured).
pub(in crate::channels) fn offers(
    account: &WechatAccount,
    sub: &WechatSubMerchant,
    kind: Kind,
) -> bool {
    account.partner.is_some()
        && match kind {
            Kind::Native | Kind::Jsapi | Kind::H5 => true,
            Kind::Miniapp => sub.sub_appid.is_some(),
            Kind::App => false,
        }
}

pub(super) async fn create(
    account: &WechatAccount,
    sub: &WechatSubMerchant,
    kind: Kind,
    order: &Order,
) -> Result<UpstreamFields, ChannelError> {
    let partner = provider(account, order)?;
    let (appid, sub_app) = appid_of(partner, sub, kind, order)?;
    let direct = transformers::new_order(&partner.notify_url, &appid, order)?;
    let mut request = PartnerNewOrder::new(
        &partner.sp_appid,
        sub.sub_mchid.as_str(),
        &direct.description,
        &direct.out_trade_no,
        &direct.notify_url,
        direct.amount,
    );
    request.time_expire = direct.time_expire;
    request.attach = direct.attach;
    request.settle_info = direct.settle_info;
    request.merchant.sub_appid = sub.sub_appid.as_ref().map(|a| a.as_str().to_owned());
    let client = &partner.client;
    match kind {
        Kind::Native => {
            let answer = client.create_partner_native_order(&request).await?;
            Ok(UpstreamFields {
                code_url: Some(answer.code_url),
                ..UpstreamFields::default()
            })
        }
        Kind::Jsapi | Kind::Miniapp => {
            let openid = order
                .payer
                .openid
                .as_ref()
                .ok_or_else(|| ChannelError::missing("the payer's openid", order.pay_method))?;
            let payer = if sub_app {
                PartnerPayerId::SubOpenid(openid.as_str().to_owned())
            } else {
                PartnerPayerId::SpOpenid(openid.as_str().to_owned())
            };
            let answer = client.create_partner_jsapi_order(&request, &payer).await?;
            Ok(prepay(answer.prepay_id))
        }
        Kind::H5 => {
            request.scene_info = Some(transformers::h5_scene(order)?);
            let answer = client.create_partner_h5_order(&request).await?;
            Ok(UpstreamFields {
                h5_url: Some(answer.h5_url),
                ..UpstreamFields::default()
            })
        }
        Kind::App => Err(ChannelError::NotConfigured(order.pay_method)),
    }
}

/// JSAPI and mini-program parameters are signed by the service provider, for the appid the
/// payer's openid is under.
pub(super) fn pay_params(
    account: &WechatAccount,
    sub: &WechatSubMerchant,
    kind: Kind,
    order: &Order,
) -> Result<PayParams, ChannelError> {
    let partner = provider(account, order)?;
    let stored = |field: Option<&String>, name: &str| super::super::stored(order, field, name);
    let upstream = &order.upstream;
    match kind {
        Kind::Native => Ok(PayParams::WechatNative {
            code_url: stored(upstream.code_url.as_ref(), "code_url")?,
        }),
        Kind::Jsapi | Kind::Miniapp => {
            let prepay_id = stored(upstream.prepay_id.as_ref(), "prepay_id")?;
            let (appid, _) = appid_of(partner, sub, kind, order)?;
            let params = partner.client.jsapi_pay_params(&appid, &prepay_id).into();
            Ok(if kind == Kind::Jsapi {
                PayParams::WechatJsapi(params)
            } else {
                PayParams::WechatMiniapp(params)
            })
        }
        Kind::H5 => Ok(PayParams::WechatH5 {
            h5_url: stored(upstream.h5_url.as_ref(), "h5_url")?,
        }),
        Kind::App => Err(ChannelError::NotConfigured(order.pay_method)),
    }
}

pub(super) async fn query(
    account: &WechatAccount,
    sub: &WechatSubMerchant,
    order: &Order,
) -> Result<UpstreamStatus, ChannelError> {
    let partner = provider(account, order)?;
    let trade = TradeRef::OutTradeNo(order.upstream_order_no.as_str().to_owned());
    match partner
        .client
        .query_partner_order(&trade, sub.sub_mchid.as_str())
        .await
    {
        Ok(t) => {
            check_merchant(partner, sub, &t, order).map_err(|message| ChannelError::Unknown {
                channel: crate::domain::Channel::Wechat,
                message,
            })?;
            transformers::status(&t, order)
        }
        Err(e) if e.upstream_code() == Some(transformers::ORDER_NOT_EXIST) => {
            Ok(UpstreamStatus::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn close(
    account: &WechatAccount,
    sub: &WechatSubMerchant,
    order: &Order,
) -> Result<(), ChannelError> {
    provider(account, order)?
        .client
        .close_partner_order(order.upstream_order_no.as_str(), sub.sub_mchid.as_str())
        .await
        .map_err(ChannelError::from)
}

pub(super) async fn refund(
    account: &WechatAccount,
    sub: &WechatSubMerchant,
    order: &Order,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    let partner = provider(account, order)?;
    let mut request = transformers::new_refund(&partner.notify_url, order, refund);
    request.sub_mchid = Some(sub.sub_mchid.as_str().to_owned());
    let answer = partner.client.refund(&request).await?;
    transformers::refund_state(&answer, refund)
}

pub(super) async fn query_refund(
    account: &WechatAccount,
    sub: &WechatSubMerchant,
    order: &Order,
    refund: &Refund,
) -> Result<RefundState, ChannelError> {
    let partner = provider(account, order)?;
    match partner
        .client
        .query_refund(
            refund.upstream_refund_no.as_str(),
            Some(sub.sub_mchid.as_str()),
        )
        .await
    {
        Ok(answer) => transformers::refund_state(&answer, refund),
        Err(e) if e.upstream_code() == Some(transformers::RESOURCE_NOT_EXISTS) => {
            Ok(RefundState::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

/// A partner transaction (queried or called back) must name the service provider, the order's
/// sub-merchant and the appids the order pays under; `Err` says what it named instead.
pub(in crate::channels) fn check_merchant(
    partner: &WechatPartner,
    sub: &WechatSubMerchant,
    t: &PartnerTransaction,
    order: &Order,
) -> Result<(), String> {
    let m = &t.merchant;
    let expected_sub_appid = sub.sub_appid.as_ref().map(|a| a.as_str());
    let named = (
        m.sp_mchid.as_str(),
        m.sub_mchid.as_str(),
        m.sp_appid.as_str(),
        m.sub_appid.as_deref(),
    );
    let expected = (
        partner.sp_mchid.as_str(),
        sub.sub_mchid.as_str(),
        partner.sp_appid.as_str(),
        expected_sub_appid,
    );
    if named == expected {
        Ok(())
    } else {
        Err(format!(
            "partner transaction for order {} names (sp_mchid, sub_mchid, sp_appid, sub_appid) \
             {named:?}; the order is {expected:?}",
            order.id.as_i64()
        ))
    }
}

//! WeChat Pay v3: everything paygate does with a direct merchant. Native, JSAPI, mini-program, H5
//! and App orders, query and close here; the account in `account`, the request/response
//! transformers in `transformers`, refunds in `refunds`, notifications in `callback`. An order
//! stored for a sub-merchant goes through the service provider instead (`partner`).

mod account;
pub(super) mod callback;
pub(super) mod combine;
pub(super) mod oauth;
pub(super) mod partner;
pub(super) mod refunds;
pub(super) mod splits;
mod transformers;

pub use account::{WechatAccount, WechatAppIds, WechatPartner};
pub use oauth::{OauthError, WechatOauth};

use wechatpay::TradeRef;

use super::{ChannelError, PayParams, UpstreamStatus};
use crate::domain::{Order, UpstreamFields};

/// Which `/v3/pay/transactions/{kind}` an order goes to, and under which appid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Native,
    Jsapi,
    Miniapp,
    H5,
    App,
}

/// The appid the order's method pays under.
fn appid(account: &WechatAccount, order: &Order) -> Result<String, ChannelError> {
    account
        .appids
        .for_method(order.pay_method.method())
        .map(str::to_owned)
        .ok_or(ChannelError::NotConfigured(order.pay_method))
}

pub(super) async fn create(
    account: &WechatAccount,
    kind: Kind,
    order: &Order,
) -> Result<UpstreamFields, ChannelError> {
    if order.combine_no.is_some() {
        return Err(ChannelError::Invalid(format!(
            "order {} is a combined order's sub-order: it is created with its combined order",
            order.id.as_i64()
        )));
    }
    if let Some(sub) = &order.sub_merchant {
        return partner::create(account, sub, kind, order).await;
    }
    let appid = appid(account, order)?;
    let mut request = transformers::new_order(&account.notify_url, &appid, order)?;
    let client = &account.client;
    match kind {
        Kind::Native => {
            let answer = client.create_native_order(&request).await?;
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
            let answer = client.create_jsapi_order(&request, openid.as_str()).await?;
            Ok(prepay(answer.prepay_id))
        }
        Kind::H5 => {
            request.scene_info = Some(transformers::h5_scene(order)?);
            let answer = client.create_h5_order(&request).await?;
            Ok(UpstreamFields {
                h5_url: Some(answer.h5_url),
                ..UpstreamFields::default()
            })
        }
        Kind::App => {
            let answer = client.create_app_order(&request).await?;
            Ok(prepay(answer.prepay_id))
        }
    }
}

fn prepay(prepay_id: String) -> UpstreamFields {
    UpstreamFields {
        prepay_id: Some(prepay_id),
        ..UpstreamFields::default()
    }
}

pub(super) fn pay_params(
    account: &WechatAccount,
    kind: Kind,
    order: &Order,
) -> Result<PayParams, ChannelError> {
    if let Some(sub) = &order.sub_merchant {
        return partner::pay_params(account, sub, kind, order);
    }
    let stored = |field: Option<&String>, name: &str| super::stored(order, field, name);
    let upstream = &order.upstream;
    let client = &account.client;
    match kind {
        Kind::Native => Ok(PayParams::WechatNative {
            code_url: stored(upstream.code_url.as_ref(), "code_url")?,
        }),
        Kind::Jsapi | Kind::Miniapp => {
            let prepay_id = stored(upstream.prepay_id.as_ref(), "prepay_id")?;
            let params = client
                .jsapi_pay_params(&appid(account, order)?, &prepay_id)
                .into();
            Ok(if kind == Kind::Jsapi {
                PayParams::WechatJsapi(params)
            } else {
                PayParams::WechatMiniapp(params)
            })
        }
        Kind::H5 => Ok(PayParams::WechatH5 {
            h5_url: stored(upstream.h5_url.as_ref(), "h5_url")?,
        }),
        Kind::App => {
            let prepay_id = stored(upstream.prepay_id.as_ref(), "prepay_id")?;
            let params = client.app_pay_params(&appid(account, order)?, &prepay_id, None);
            Ok(PayParams::WechatApp(params.into()))
        }
    }
}

pub(super) async fn query(
    account: &WechatAccount,
    order: &Order,
) -> Result<UpstreamStatus, ChannelError> {
    if let Some(combine_no) = &order.combine_no {
        return combine::query(account, combine_no, order).await;
    }
    if let Some(sub) = &order.sub_merchant {
        return partner::query(account, sub, order).await;
    }
    let no = order.upstream_order_no.as_str();
    match account
        .client
        .query_order(&TradeRef::OutTradeNo(no.to_owned()))
        .await
    {
        Ok(transaction) => transformers::status(&transaction, order),
        Err(e) if e.upstream_code() == Some(transformers::ORDER_NOT_EXIST) => {
            Ok(UpstreamStatus::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

/// WeChat Pay answers a close of an already closed order with 204, like the first one.
pub(super) async fn close(account: &WechatAccount, order: &Order) -> Result<(), ChannelError> {
    if order.combine_no.is_some() {
        return Err(ChannelError::Invalid(format!(
            "order {} is a combined order's sub-order: it is closed with all of them",
            order.id.as_i64()
        )));
    }
    if let Some(sub) = &order.sub_merchant {
        return partner::close(account, sub, order).await;
    }
    account
        .client
        .close_order(order.upstream_order_no.as_str())
        .await
        .map_err(ChannelError::from)
}

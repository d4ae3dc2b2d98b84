//! Alipay OpenAPI: everything paygate does with an app. QR (precreate), JSAPI and mini-program
//! (create with the buyer), WAP and page (signed browser redirect), App (order string), query and
//! close here; the account in `account`, the request/response transformers in `transformers`,
//! refunds in `refunds`, notifications in `callback`. An order paid to a merchant that
//! authorised the app is called about with that merchant's token ([`client_for`]).

mod account;
pub(super) mod callback;
pub(super) mod refunds;
pub(super) mod splits;
mod transformers;

pub use account::AlipayAccount;

pub(super) use transformers::unsignable_field;

use std::borrow::Cow;

use ::alipay::{PagePayRequest, TradeRef, WapPayRequest};

use super::{ChannelError, PayParams, UpstreamStatus};
use crate::domain::{Channel, Order, UpstreamFields};

/// Which Alipay payment an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Qr,
    Jsapi,
    Miniapp,
    Wap,
    Page,
    App,
}

pub(super) async fn create(
    account: &AlipayAccount,
    kind: Kind,
    order: &Order,
) -> Result<UpstreamFields, ChannelError> {
    let request = transformers::order(account, order)?;
    let client = client_for(account, order)?;
    match kind {
        Kind::Qr => {
            let answer = client.precreate(&request).await?;
            Ok(UpstreamFields {
                qr_code: Some(answer.qr_code),
                ..UpstreamFields::default()
            })
        }
        Kind::Jsapi | Kind::Miniapp => {
            let create = transformers::create_request(request, order)?;
            let answer = client.create(&create).await?;
            Ok(UpstreamFields {
                trade_no: Some(answer.trade_no),
                ..UpstreamFields::default()
            })
        }
        // The payer's browser or app brings the signed request to Alipay (see `pay_params`);
        // Alipay creates the trade then, so there is nothing to call and nothing to store.
        Kind::Wap | Kind::Page | Kind::App => Ok(UpstreamFields::default()),
    }
}

pub(super) fn pay_params(
    account: &AlipayAccount,
    kind: Kind,
    order: &Order,
) -> Result<PayParams, ChannelError> {
    let stored = |field: Option<&String>, name: &str| super::stored(order, field, name);
    let upstream = &order.upstream;
    let client = client_for(account, order)?;
    match kind {
        Kind::Qr => Ok(PayParams::AlipayQr {
            qr_code: stored(upstream.qr_code.as_ref(), "qr_code")?,
        }),
        Kind::Jsapi => Ok(PayParams::AlipayJsapi {
            trade_no: stored(upstream.trade_no.as_ref(), "trade_no")?,
        }),
        Kind::Miniapp => Ok(PayParams::AlipayMiniapp {
            trade_no: stored(upstream.trade_no.as_ref(), "trade_no")?,
        }),
        Kind::Wap => {
            let page = client.wap_pay(&WapPayRequest {
                order: transformers::order(account, order)?,
                return_url: transformers::return_url(account, order),
                quit_url: None,
            })?;
            Ok(PayParams::AlipayWap { url: page.url })
        }
        Kind::Page => {
            let page = client.page_pay(&PagePayRequest {
                order: transformers::order(account, order)?,
                return_url: transformers::return_url(account, order),
            })?;
            Ok(PayParams::AlipayPage { url: page.url })
        }
        Kind::App => Ok(PayParams::AlipayApp {
            order_string: client.app_pay(&transformers::order(account, order)?)?,
        }),
    }
}

pub(super) async fn query(
    account: &AlipayAccount,
    order: &Order,
) -> Result<UpstreamStatus, ChannelError> {
    let trade = TradeRef::OutTradeNo(order.upstream_order_no.as_str().to_owned());
    match client_for(account, order)?.query_order(&trade).await {
        Ok(answer) => transformers::status(&transformers::Trade::of_query(&answer), order),
        // Real Alipay says this for a QR/WAP/page/App payment until the payer opens it.
        Err(e) if e.upstream_code() == Some(transformers::TRADE_NOT_EXIST) => {
            Ok(UpstreamStatus::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

/// Alipay answers `ACQ.TRADE_STATUS_ERROR` both for a paid trade and for one already closed; a
/// query tells them apart, so that closing twice is `Ok` as on WeChat Pay.
pub(super) async fn close(account: &AlipayAccount, order: &Order) -> Result<(), ChannelError> {
    let trade = TradeRef::OutTradeNo(order.upstream_order_no.as_str().to_owned());
    let refusal = match client_for(account, order)?.close_order(&trade).await {
        Ok(_) => return Ok(()),
        Err(e) if e.upstream_code() == Some(transformers::TRADE_STATUS_ERROR) => e,
        Err(e) => return Err(e.into()),
    };
    match query(account, order).await? {
        UpstreamStatus::Closed => Ok(()),
        UpstreamStatus::NotPaid
        | UpstreamStatus::Paying
        | UpstreamStatus::Paid { .. }
        | UpstreamStatus::Failed
        | UpstreamStatus::Refunded
        | UpstreamStatus::NotFound => Err(ChannelError::from(refusal)),
    }
}

/// The client an order's calls are made with: the app's own, or, for an order paid to a merchant
/// that authorised the app, a view carrying that merchant's token and expecting its account. Such
/// an order is never called about without the token: Alipay would take the call as the app's own,
/// answer that it has no such trade, and paygate would believe it.
pub(super) fn client_for<'a>(
    account: &'a AlipayAccount,
    order: &Order,
) -> Result<Cow<'a, ::alipay::Client>, ChannelError> {
    match (&order.alipay_seller_id, &order.alipay_auth) {
        (None, _) => Ok(Cow::Borrowed(&account.client)),
        (Some(seller), Some(token)) => Ok(Cow::Owned(
            account
                .client
                .acting_for(token.expose())
                .with_seller_id(seller.as_str()),
        )),
        (Some(seller), None) => Err(ChannelError::Invalid(format!(
            "order {} is Alipay merchant {seller}'s, and its site has no app_auth_token for it",
            order.id.as_i64()
        ))),
    }
}

/// For messages that must name the channel without an upstream error at hand.
pub(super) fn unknown(message: &str) -> ChannelError {
    ChannelError::Unknown {
        channel: Channel::Alipay,
        message: message.to_owned(),
    }
}

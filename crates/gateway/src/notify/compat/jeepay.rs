//! Jeepay's notice of a paid order: a signed POST form (`compat::jeepay::PayNotice`), answered
//! `SUCCESS`. The order as Jeepay shows it is built here once, for the notice and for
//! `/api/pay/query` alike, so both always say the same.

use channel_core::Fen;
use compat::jeepay::{PayNotice, PayOrderView, PayState, WayCode};
use url::Url;

use crate::domain::{
    Channel, CompatKey, Method, NotificationEvent, Order, OrderStatus, Protocol, Timestamp,
    compat_trade_no,
};

/// The `Origin` keys a Jeepay order keeps: the request's fields paygate's order has no place for.
pub mod origin_keys {
    pub const WAY_CODE: &str = "wayCode";
    pub const BODY: &str = "body";
    pub const CLIENT_IP: &str = "clientIp";
    pub const EXT_PARAM: &str = "extParam";
}

/// Jeepay's `state` for the order as it stands. A cashier order still waiting for the payer to
/// pick a way is `0`, as Jeepay's own `QR_CASHIER` orders are until then.
#[must_use]
pub fn jeepay_state(order: &Order) -> PayState {
    match order.status {
        OrderStatus::Created => PayState::Created,
        OrderStatus::Pending if order.is_unbound() => PayState::Created,
        OrderStatus::Pending => PayState::Paying,
        OrderStatus::Paid => PayState::Succeeded,
        OrderStatus::Failed => PayState::Failed,
        OrderStatus::Closed => PayState::Closed,
        OrderStatus::Refunded => PayState::Refunded,
    }
}

/// The order as Jeepay shows it in `state`, if it was made through Jeepay and `key` has an appId.
#[must_use]
pub fn jeepay_pay_order(order: &Order, key: &CompatKey, state: PayState) -> Option<PayOrderView> {
    let origin = order
        .origin
        .as_ref()
        .filter(|o| o.protocol == Protocol::Jeepay)?;
    let asked = WayCode::parse(origin.get(origin_keys::WAY_CODE)?).ok()?;
    let failure = order
        .upstream
        .error
        .as_deref()
        .filter(|_| order.status == OrderStatus::Failed);
    let (err_code, err_msg) = match failure.map(|e| e.split_once(": ")) {
        Some(Some((code, msg))) => (Some(code.to_owned()), Some(msg.to_owned())),
        Some(None) => (None, failure.map(str::to_owned)),
        None => (None, None),
    };
    Some(PayOrderView {
        pay_order_id: compat_trade_no(order.id, order.created_at),
        mch_no: key.key_id.clone(),
        app_id: key.app_id.clone()?,
        mch_order_no: order.out_trade_no.as_str().to_owned(),
        if_code: (!order.is_unbound()).then(|| if_code(order.pay_method.channel()).to_owned()),
        way_code: way_code(order, asked),
        amount: Fen(order.amount.as_i64()),
        state,
        client_ip: origin.get(origin_keys::CLIENT_IP).map(str::to_owned),
        subject: order.description.as_str().to_owned(),
        body: origin
            .get(origin_keys::BODY)
            .unwrap_or(order.description.as_str())
            .to_owned(),
        channel_order_no: order
            .upstream
            .transaction_id
            .clone()
            .or_else(|| order.upstream.trade_no.clone()),
        err_code,
        err_msg,
        ext_param: origin.get(origin_keys::EXT_PARAM).map(str::to_owned),
        success_time: order.paid_at.map(Timestamp::as_millis),
        created_at: order.created_at.as_millis(),
    })
}

/// Jeepay's interface code for a channel.
fn if_code(channel: Channel) -> &'static str {
    match channel {
        Channel::Wechat => "wxpay",
        Channel::Alipay => "alipay",
    }
}

/// The way the order is paid: once a cashier order is paid, the way the payer took (Jeepay
/// updates its `wayCode` the same way); before that, or for a method no Jeepay way names, the one
/// asked for.
fn way_code(order: &Order, asked: WayCode) -> WayCode {
    if order.is_unbound() {
        return asked;
    }
    match (order.pay_method.channel(), order.pay_method.method()) {
        (Channel::Wechat, Method::Native) => WayCode::WxNative,
        (Channel::Wechat, Method::Jsapi) => WayCode::WxJsapi,
        (Channel::Wechat, Method::Miniapp) => WayCode::WxLite,
        (Channel::Wechat, Method::H5) => WayCode::WxH5,
        (Channel::Alipay, Method::Qr) => WayCode::AliQr,
        (Channel::Alipay, Method::Jsapi) => WayCode::AliJsapi,
        (Channel::Alipay, Method::Wap) => WayCode::AliWap,
        (Channel::Alipay, Method::Page) => WayCode::AliPc,
        (Channel::Wechat, Method::App | Method::Qr | Method::Wap | Method::Page)
        | (Channel::Alipay, Method::App | Method::Miniapp | Method::Native | Method::H5) => asked,
    }
}

/// The notice of the paid order of `event`, under the site's Jeepay `key`.
pub(super) fn notice(
    event: &NotificationEvent,
    key: &CompatKey,
    url: &Url,
) -> Result<compat::Notice, String> {
    // The event is the payment itself: the order may have been refunded since, but what is
    // announced is that it was paid.
    let order = jeepay_pay_order(&event.order, key, PayState::Succeeded).ok_or_else(|| {
        "the order or the site's Jeepay key lacks what the notice needs".to_owned()
    })?;
    let notice = PayNotice {
        order,
        req_time: Timestamp::now().as_millis(),
        notify_url: url.clone(),
    };
    Ok(notice.render(key.secret.expose()))
}

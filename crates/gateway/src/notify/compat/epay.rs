//! EPay's notice of a paid order: a GET with the signed query (`compat::epay::notice`).

use url::Url;

use crate::domain::{Channel, CompatKey, NotificationEvent, compat_trade_no};

/// EPay's name for the channel an order was paid through.
#[must_use]
pub fn epay_type_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Wechat => compat::epay::PayType::Wxpay.as_str(),
        Channel::Alipay => compat::epay::PayType::Alipay.as_str(),
    }
}

/// What EPay's notification and `return_url` say of a paid order.
#[must_use]
pub fn epay_paid_order(order: &crate::domain::Order, pid: &str) -> Option<compat::epay::PaidOrder> {
    Some(compat::epay::PaidOrder {
        pid: pid.parse().ok()?,
        trade_no: compat_trade_no(order.id, order.created_at),
        out_trade_no: order.out_trade_no.as_str().to_owned(),
        type_name: epay_type_name(order.pay_method.channel()).to_owned(),
        name: order.description.as_str().to_owned(),
        money_fen: order.amount.as_i64(),
        param: order.attach.as_ref().map(|a| a.as_str().to_owned()),
    })
}

/// The notice of the paid order of `event`, under the site's EPay `key`.
pub(super) fn notice(
    event: &NotificationEvent,
    key: &CompatKey,
    url: &Url,
) -> Result<compat::Notice, String> {
    let paid = epay_paid_order(&event.order, &key.key_id)
        .ok_or_else(|| "the site's EPay pid is not a number".to_owned())?;
    compat::epay::notice(&paid, key.secret.expose(), url.as_str()).map_err(|e| e.to_string())
}

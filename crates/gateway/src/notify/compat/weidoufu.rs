//! weidoufu's notice of a paid order: a JSON POST `{sign, content}` signed with the site's secret
//! key (`compat::weidoufu::paid_notice`, provisional: all of it rests on one client's code).

use channel_core::money::Fen;
use compat::weidoufu::{PaidOrder, PayType, TradeType};
use url::Url;

use crate::domain::{Channel, CompatKey, Method, NotificationEvent, Order, compat_trade_no};

/// The notice of the paid order of `event`, under the site's weidoufu `key`.
pub(super) fn notice(
    event: &NotificationEvent,
    key: &CompatKey,
    url: &Url,
) -> Result<compat::Notice, String> {
    let paid = paid_order(&event.order, url)?;
    Ok(compat::weidoufu::paid_notice(&paid, key.secret.expose()))
}

fn paid_order(order: &Order, url: &Url) -> Result<PaidOrder, String> {
    let paid_at = order
        .paid_at
        .ok_or_else(|| "the paid order has no payment time".to_owned())?;
    let channel_no = match order.pay_method.channel() {
        Channel::Wechat => &order.upstream.transaction_id,
        Channel::Alipay => &order.upstream.trade_no,
    };
    Ok(PaidOrder {
        notify_url: url.clone(),
        mch_trade_no: compat_trade_no(order.id, order.created_at),
        out_order_no: order.out_trade_no.as_str().to_owned(),
        transaction_id: channel_no.clone().unwrap_or_default(),
        total_fee: Fen(order.amount.as_i64()),
        attach: order.attach.as_ref().map(|a| a.as_str().to_owned()),
        trade_type: trade_type(order.pay_method.method()),
        pay_type: match order.pay_method.channel() {
            Channel::Wechat => PayType::WeChat,
            Channel::Alipay => PayType::Alipay,
        },
        // paygate does not keep the payer's bank; the client stores the field as it comes.
        bank_type: String::new(),
        paid_at_unix: paid_at.as_millis().div_euclid(1000),
        nonce_str: channel_core::nonce::alphanumeric(32),
    })
}

/// How the order was paid, from the method that paid it: a checkout-page order is told the way
/// its payer actually paid.
fn trade_type(method: Method) -> TradeType {
    match method {
        Method::Native | Method::Qr | Method::Page => TradeType::Native,
        Method::Jsapi => TradeType::Jsapi,
        Method::Miniapp => TradeType::Miniapp,
        Method::H5 | Method::Wap => TradeType::Mobile,
        Method::App => TradeType::App,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_is_told_as_weidoufus_nearest_trade_type() {
        let expected = [
            (Method::Native, 2),
            (Method::Qr, 2),
            (Method::Page, 2),
            (Method::Jsapi, 3),
            (Method::App, 4),
            (Method::H5, 6),
            (Method::Wap, 6),
            (Method::Miniapp, 9),
        ];
        for (method, code) in expected {
            assert_eq!(trade_type(method).code(), code, "{method:?}");
        }
    }
}

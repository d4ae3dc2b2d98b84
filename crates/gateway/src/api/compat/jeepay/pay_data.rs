//! Ways and what the payer is given: which paygate method a `wayCode` is, and the `payDataType`
//! and `payData` Jeepay's answer gives for it.

use compat::jeepay::{PayData, PayDataType, WayCode};
use serde_json::json;

use crate::channels::PayParams;
use crate::domain::{Channel, Method, OrderMethod, OrderStatus, PayMethod};
use crate::service::OrderView;

/// The method an order for `way` is made with; the cashier is paygate's checkout page, where the
/// payer picks one.
pub(super) fn method_of(way: WayCode) -> Option<OrderMethod> {
    let (channel, method) = match way {
        WayCode::QrCashier => return Some(OrderMethod::Any),
        WayCode::AliQr => (Channel::Alipay, Method::Qr),
        WayCode::AliPc => (Channel::Alipay, Method::Page),
        WayCode::AliWap => (Channel::Alipay, Method::Wap),
        WayCode::AliJsapi => (Channel::Alipay, Method::Jsapi),
        WayCode::WxNative => (Channel::Wechat, Method::Native),
        WayCode::WxH5 => (Channel::Wechat, Method::H5),
        WayCode::WxJsapi => (Channel::Wechat, Method::Jsapi),
        WayCode::WxLite => (Channel::Wechat, Method::Miniapp),
    };
    PayMethod::new(channel, method).ok().map(OrderMethod::Fixed)
}

/// What the payer is given, while the order can be paid (Jeepay gives it for orders created,
/// paying or paid; a paid order has nothing left to give).
pub(super) fn pay_data(view: &OrderView) -> Option<PayData> {
    let (kind, data) = match &view.pay_params {
        Some(PayParams::WechatNative { code_url }) => (PayDataType::CodeUrl, code_url.clone()),
        Some(PayParams::AlipayQr { qr_code }) => (PayDataType::CodeUrl, qr_code.clone()),
        Some(PayParams::WechatH5 { h5_url }) => (PayDataType::PayUrl, h5_url.clone()),
        Some(PayParams::AlipayWap { url } | PayParams::AlipayPage { url }) => {
            (PayDataType::PayUrl, url.clone())
        }
        // The JSON Jeepay's `WX_JSAPI`/`WX_LITE` answers carry: WeChat's own field names.
        Some(PayParams::WechatJsapi(params) | PayParams::WechatMiniapp(params)) => {
            (PayDataType::WxApp, serde_json::to_string(params).ok()?)
        }
        Some(PayParams::AlipayJsapi { trade_no } | PayParams::AlipayMiniapp { trade_no }) => (
            PayDataType::AliApp,
            json!({ "alipayTradeNo": trade_no }).to_string(),
        ),
        // No way served through Jeepay makes App payments.
        Some(PayParams::WechatApp(_) | PayParams::AlipayApp { .. }) => return None,
        None if view.order.is_unbound() && view.order.status == OrderStatus::Pending => {
            (PayDataType::PayUrl, view.checkout_url.clone())
        }
        None => return None,
    };
    Some(PayData { kind, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_is_a_method_paygate_has() {
        let ways = [
            (WayCode::AliQr, "alipay.qr"),
            (WayCode::AliPc, "alipay.page"),
            (WayCode::AliWap, "alipay.wap"),
            (WayCode::AliJsapi, "alipay.jsapi"),
            (WayCode::WxNative, "wechat.native"),
            (WayCode::WxH5, "wechat.h5"),
            (WayCode::WxJsapi, "wechat.jsapi"),
            (WayCode::WxLite, "wechat.miniapp"),
        ];
        for (way, dotted) in ways {
            let expected = PayMethod::parse_dotted(dotted).unwrap();
            assert_eq!(
                method_of(way),
                Some(OrderMethod::Fixed(expected)),
                "{way:?}"
            );
        }
        assert_eq!(method_of(WayCode::QrCashier), Some(OrderMethod::Any));
    }
}

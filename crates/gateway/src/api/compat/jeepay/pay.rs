//! `/api/pay/unifiedOrder`: a signed request made into an order through the same service as `/v1`,
//! answered with the order's state and what the payer is to be given.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use compat::jeepay::{PayOrderCreated, UnifiedOrder, WayCode};

use super::pay_data::{method_of, pay_data};
use super::{Ctx, Failure, authorise, params, upstream_or_store};
use crate::domain::{
    Amount, BuyerId, Currency, Description, ExpireMinutes, NotifyUrl, Openid, OrderRequest, Origin,
    OutTradeNo, Payer, Protocol, ReturnUrl, compat_trade_no, parse_client_ip,
};
use crate::notify::{jeepay_origin, jeepay_state};
use crate::service::ServiceError;

/// Without `expiredTime`, an order may be paid for two hours, as Jeepay's may.
const DEFAULT_EXPIRY_MINUTES: i64 = 120;
/// Jeepay's columns: `body` holds 256 characters, `extParam` 128.
const BODY_MAX_CHARS: usize = 256;
const EXT_PARAM_MAX_CHARS: usize = 128;

pub(super) async fn unified_order(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let params = params::read(&headers, &uri, &body)?;
    let unverified = UnifiedOrder::parse(&params)?;
    let authorised = authorise(&ctx, unverified).await?;
    let request = &authorised.request.request;
    let order = order_request(request)?;
    let origin = origin_of(request)?;
    let view = ctx
        .orders
        .create_through(&authorised.site, order, origin, Vec::new())
        .await
        .map_err(|e| refused(&e, &request.mch_order_no))?;
    let created = PayOrderCreated {
        pay_order_id: compat_trade_no(view.order.id, view.order.created_at),
        mch_order_no: view.order.out_trade_no.as_str().to_owned(),
        order_state: jeepay_state(&view.order),
        pay_data: pay_data(&view),
        err_code: None,
        err_msg: None,
    };
    Ok(authorised.answer(&created))
}

/// The order `/v1` would make of the same request.
fn order_request(request: &UnifiedOrder) -> Result<OrderRequest, Failure> {
    let pay_method =
        method_of(request.way_code).ok_or_else(|| Failure::business("不支持的支付方式"))?;
    Ok(OrderRequest {
        out_trade_no: OutTradeNo::parse(&request.mch_order_no)
            .map_err(|_| Failure::business("商户订单号格式不正确：须为6到64位字母、数字、_或-"))?,
        pay_method,
        amount: Amount::parse(request.amount.0)
            .map_err(|_| Failure::business("支付金额超出上限"))?,
        currency: Currency::default(),
        description: Description::parse(&request.subject)
            .map_err(|_| Failure::business("商品标题须为1到127个可见字符"))?,
        // `extParam` is the merchant's, returned as given: it is kept with the order's origin
        // instead, so the channels' limits on what `attach` may hold never apply to it.
        attach: None,
        notify_url: request
            .notify_url
            .as_ref()
            .map(|u| NotifyUrl::parse(u.as_str()))
            .transpose()
            .map_err(|_| Failure::business("异步通知地址格式不正确"))?,
        return_url: request
            .return_url
            .as_ref()
            .map(|u| ReturnUrl::parse(u.as_str()))
            .transpose()
            .map_err(|_| Failure::business("同步通知地址格式不正确"))?,
        payer: payer_of(request)?,
        expire_minutes: expiry(request.expired_time)?,
        profit_sharing: false,
    })
}

/// The payer fields the way needs: the openid of `WX_JSAPI`/`WX_LITE`, the buyer of `ALI_JSAPI`,
/// and the payer's address, which `WX_H5` cannot do without.
fn payer_of(request: &UnifiedOrder) -> Result<Payer, Failure> {
    let user = request.channel_user();
    let client_ip = request
        .client_ip
        .as_deref()
        .and_then(|ip| parse_client_ip(ip).ok());
    let payer = match request.way_code {
        WayCode::WxJsapi | WayCode::WxLite => Payer {
            openid: user
                .map(Openid::parse)
                .transpose()
                .map_err(|_| Failure::business("openid格式不正确"))?,
            ..Payer::default()
        },
        WayCode::AliJsapi => Payer {
            buyer_id: user
                .map(BuyerId::parse)
                .transpose()
                .map_err(|_| Failure::business("用户ID格式不正确"))?,
            ..Payer::default()
        },
        WayCode::WxH5 if client_ip.is_none() => {
            return Err(Failure::business("WX_H5 支付需要用户的IP地址(clientIp)"));
        }
        WayCode::WxH5 => Payer {
            client_ip,
            ..Payer::default()
        },
        WayCode::AliQr
        | WayCode::AliPc
        | WayCode::AliWap
        | WayCode::WxNative
        | WayCode::QrCashier => Payer::default(),
    };
    Ok(payer)
}

/// `expiredTime` is in seconds; paygate counts whole minutes, so a part of one counts as one. Zero
/// or less is no expiry given, as in Jeepay.
fn expiry(seconds: Option<i64>) -> Result<ExpireMinutes, Failure> {
    let minutes = match seconds {
        // Positive, so the sum cannot wrap below and saturates above.
        Some(s) if s > 0 => s.saturating_add(59) / 60,
        _ => DEFAULT_EXPIRY_MINUTES,
    };
    ExpireMinutes::parse(minutes).map_err(|_| Failure::business("订单失效时间不能超过24小时"))
}

/// What the order remembers for its notice and queries. Part of its fingerprint: a retry that
/// changes `body` or `extParam` is another order.
fn origin_of(request: &UnifiedOrder) -> Result<Origin, Failure> {
    let body = text_within(&request.body, BODY_MAX_CHARS)
        .ok_or_else(|| Failure::business("商品描述信息不能超过256个字符"))?;
    let ext_param = match request.ext_param.as_deref() {
        Some(ext) => Some(
            text_within(ext, EXT_PARAM_MAX_CHARS)
                .ok_or_else(|| Failure::business("商户扩展参数不能超过128个字符"))?,
        ),
        None => None,
    };
    Ok(Origin::new(Protocol::Jeepay)
        .with(jeepay_origin::WAY_CODE, Some(request.way_code.as_str()))
        .with(jeepay_origin::BODY, Some(body))
        .with(jeepay_origin::CLIENT_IP, request.client_ip.as_deref())
        .with(jeepay_origin::EXT_PARAM, ext_param))
}

/// `text` if it has at most `max` characters and no control character.
fn text_within(text: &str, max: usize) -> Option<&str> {
    (text.chars().count() <= max && !text.chars().any(char::is_control)).then_some(text)
}

/// A service refusal in Jeepay's words.
fn refused(e: &ServiceError, mch_order_no: &str) -> Failure {
    match e {
        ServiceError::OutTradeNoConflict => {
            Failure::business(format!("商户订单[{mch_order_no}]已存在"))
        }
        ServiceError::PaymentNotConfigured(_) => Failure::business("商户应用不支持该支付方式"),
        ServiceError::UnsignableForAlipay { .. } => {
            Failure::business("支付宝订单的商品标题不能包含 & 或 =")
        }
        other => upstream_or_store(
            other,
            "支付通道拒绝",
            "支付通道暂无应答，请用同一商户订单号重试",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_in_seconds_becomes_whole_minutes_within_a_day() {
        let minutes = |s| expiry(s).map(ExpireMinutes::get).map_err(|f| f.error);
        assert_eq!(minutes(None), Ok(120));
        assert_eq!(minutes(Some(0)), Ok(120));
        assert_eq!(minutes(Some(-5)), Ok(120));
        assert_eq!(minutes(Some(1)), Ok(1));
        assert_eq!(minutes(Some(60)), Ok(1));
        assert_eq!(minutes(Some(61)), Ok(2));
        assert_eq!(minutes(Some(86_400)), Ok(1440));
        assert!(minutes(Some(86_401)).is_err());
    }

    #[test]
    fn free_text_is_kept_only_within_its_length_and_without_controls() {
        assert_eq!(text_within("一个月", 3), Some("一个月"));
        assert_eq!(text_within("一个月", 2), None);
        assert_eq!(text_within("a\u{0}b", 10), None);
    }
}

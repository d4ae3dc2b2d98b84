//! `submit.php` and `mapi.php`: a payment request, verified over the raw fields as received, made
//! into an order through the same service as `/v1`, then answered with where the payer pays.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use compat::epay::{
    Device, EpayError, Fields, PayAnswer, PayEntry, PayRequest, PayTarget, PayType,
};

use super::super::form_params;
use super::{Ctx, Failure, back, merchant, trouble};
use crate::channels::PayParams;
use crate::checkout::Agent;
use crate::domain::{
    Amount, Attach, Channel, Currency, Description, ExpireMinutes, Method, NotifyUrl, OrderMethod,
    OrderRequest, OrderStatus, Origin, OutTradeNo, PayMethod, Payer, Protocol, ReturnUrl,
    compat_trade_no, parse_client_ip,
};
use crate::service::{OrderView, ServiceError};

/// `submit.php`: the payer's browser brings the signed request (GET, or a form POST) and is sent
/// on to pay: to the channel's page for `type=alipay|wxpay`, to the checkout page without a type.
pub(super) async fn submit(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    // As the EPay server: the query when it names a merchant, else the form.
    let in_query = uri
        .query()
        .is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "pid"));
    let fields = Fields::from_params(&form_params(&uri, &body, !in_query));
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match start(&ctx, &fields, PayEntry::Submit, agent).await {
        Ok(started) => Redirect::to(&started.browser_url()).into_response(),
        Err(failure) => failure.page(),
    }
}

/// `mapi.php`: the merchant's server posts the signed form and gets JSON back.
pub(super) async fn mapi(State(ctx): State<Ctx>, uri: Uri, body: Bytes) -> Response {
    let fields = Fields::from_params(&form_params(&uri, &body, true));
    match start(&ctx, &fields, PayEntry::Mapi, "").await {
        Ok(started) => axum::Json(started.answer().to_json()).into_response(),
        Err(failure) => failure.json(),
    }
}

/// An order made, and how its payer pays.
struct Started {
    view: OrderView,
}

impl Started {
    fn trade_no(&self) -> String {
        compat_trade_no(self.view.order.id, self.view.order.created_at)
    }

    /// Where a browser goes: the channel's own page where it has one, else the checkout page.
    fn browser_url(&self) -> String {
        match &self.view.pay_params {
            Some(PayParams::AlipayWap { url } | PayParams::AlipayPage { url }) => url.clone(),
            Some(PayParams::WechatH5 { h5_url }) => h5_url.clone(),
            _ => self.view.checkout_url.clone(),
        }
    }

    /// `mapi.php`'s answer: a QR code's content where the method is one, else a URL to open.
    fn answer(&self) -> PayAnswer {
        let target = match &self.view.pay_params {
            Some(PayParams::WechatNative { code_url }) => PayTarget::QrCode(code_url.clone()),
            Some(PayParams::AlipayQr { qr_code }) => PayTarget::QrCode(qr_code.clone()),
            _ => PayTarget::PayUrl(self.browser_url()),
        };
        PayAnswer {
            trade_no: self.trade_no(),
            target,
        }
    }
}

async fn start(
    ctx: &Ctx,
    fields: &Fields,
    entry: PayEntry,
    agent: &str,
) -> Result<Started, Failure> {
    if fields.value("pid").is_none() {
        return Err(EpayError::no_parameters().into());
    }
    let pid = fields.pid()?;
    let (key, site) = merchant(ctx, pid, || EpayError::invalid("商户不存在！")).await?;
    if !compat::epay::verify(fields.all(), key.secret.expose()) {
        return Err(Failure::credentials(EpayError::bad_signature()));
    }
    let request = PayRequest::parse(fields, entry)?;
    let wanted = method_for(&request, entry, agent);
    let order = order_request(&request, wanted, &ctx.settings.public_url)?;
    let origin = Origin::new(Protocol::Epay).with("return_url", request.return_url.as_deref());
    let created = match ctx
        .orders
        .create_through(&site, order.clone(), origin.clone(), Vec::new())
        .await
    {
        // The method is not one the site may use: the checkout page offers those it may, as
        // the EPay server sends such a payer to its cashier.
        Err(ServiceError::PaymentNotConfigured(OrderMethod::Fixed(_))) => {
            let any = OrderRequest {
                pay_method: OrderMethod::Any,
                ..order
            };
            ctx.orders
                .create_through(&site, any, origin, Vec::new())
                .await
        }
        other => other,
    };
    let view = created.map_err(|e| refused(&e, &request.out_trade_no))?;
    match view.order.status {
        OrderStatus::Paid | OrderStatus::Refunded => Err(EpayError::invalid(format!(
            "该订单({})已完成支付，请勿重复发起支付",
            request.out_trade_no
        ))
        .into()),
        OrderStatus::Closed | OrderStatus::Failed => Err(EpayError::invalid(format!(
            "该订单({})已关闭，请更换订单号重新发起支付",
            request.out_trade_no
        ))
        .into()),
        OrderStatus::Created | OrderStatus::Pending => Ok(Started { view }),
    }
}

/// Which method pays the order: the one its `type` names, in the form that fits where the payer
/// is; the checkout page (any method) without a type, or inside WeChat, where paying needs the
/// payer's openid, which the checkout page obtains.
fn method_for(request: &PayRequest, entry: PayEntry, agent: &str) -> OrderMethod {
    // A browser says where it is as the checkout page reads it.
    let device = match (entry, Agent::of(Some(agent))) {
        (PayEntry::Mapi, _) => request.device,
        (PayEntry::Submit, Agent::WechatApp) => Device::Wechat,
        (PayEntry::Submit, Agent::AlipayApp) => Device::Alipay,
        (PayEntry::Submit, Agent::PhoneBrowser) => Device::Mobile,
        (PayEntry::Submit, Agent::Desktop) => Device::Jump,
    };
    let fixed = |channel, method| {
        PayMethod::new(channel, method).map_or(OrderMethod::Any, OrderMethod::Fixed)
    };
    match (request.pay_type, device) {
        (None, _) | (Some(PayType::Wxpay), Device::Wechat) => OrderMethod::Any,
        (Some(PayType::Alipay), Device::Pc) => fixed(Channel::Alipay, Method::Qr),
        (Some(PayType::Alipay), Device::Jump) => fixed(Channel::Alipay, Method::Page),
        (Some(PayType::Alipay), _) => fixed(Channel::Alipay, Method::Wap),
        // A phone browser outside WeChat pays by H5, which needs the payer's address.
        (Some(PayType::Wxpay), Device::Mobile | Device::OtherApp | Device::Alipay)
            if request.clientip.is_some() =>
        {
            fixed(Channel::Wechat, Method::H5)
        }
        (Some(PayType::Wxpay), Device::Pc | Device::Jump) => fixed(Channel::Wechat, Method::Native),
        (Some(PayType::Wxpay), _) => OrderMethod::Any,
    }
}

/// The order `/v1` would make of the same request. Its `return_url` is paygate's return route,
/// which knows the merchant's from the order's origin.
fn order_request(
    request: &PayRequest,
    pay_method: OrderMethod,
    public_url: &str,
) -> Result<OrderRequest, EpayError> {
    let invalid_no = || EpayError::invalid("订单号(out_trade_no)格式不正确");
    let out_trade_no = OutTradeNo::parse(&request.out_trade_no).map_err(|_| invalid_no())?;
    let return_url = match &request.return_url {
        // The merchant's own is where the payer's browser is sent back: an http(s) URL only.
        Some(theirs) if !is_web_url(theirs) => {
            return Err(EpayError::invalid("回调地址(return_url)格式不正确"));
        }
        Some(_) => Some(
            ReturnUrl::parse(&back::route_of(public_url, request.pid, &out_trade_no))
                .map_err(|_| EpayError::invalid("回调地址(return_url)格式不正确"))?,
        ),
        None => None,
    };
    Ok(OrderRequest {
        out_trade_no,
        pay_method,
        amount: Amount::parse(request.money_fen).map_err(|_| EpayError::invalid("金额不合法"))?,
        currency: Currency::default(),
        description: Description::parse(&request.name)
            .map_err(|_| EpayError::invalid("商品名称(name)格式不正确"))?,
        attach: request
            .param
            .as_deref()
            .map(Attach::parse)
            .transpose()
            .map_err(|_| EpayError::invalid("附加参数(param)不能超过128个字符"))?,
        notify_url: Some(
            NotifyUrl::parse(&request.notify_url)
                .map_err(|_| EpayError::invalid("通知地址(notify_url)格式不正确"))?,
        ),
        return_url,
        payer: Payer {
            client_ip: request
                .clientip
                .as_deref()
                .and_then(|ip| parse_client_ip(ip).ok()),
            ..Payer::default()
        },
        expire_minutes: ExpireMinutes::default(),
        profit_sharing: false,
    })
}

/// Whether `url` is an http(s) URL with a host: where a browser may be sent back to (a fragment, a
/// single-page app's route, is allowed here, unlike in paygate's own `return_url`).
fn is_web_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// A service refusal in EPay's words. The channel's own refusal is `-2`, as EPay's.
fn refused(e: &ServiceError, out_trade_no: &str) -> Failure {
    let client = |msg: String| Failure::client(EpayError::invalid(msg));
    match e {
        ServiceError::OutTradeNoConflict => client(format!(
            "该订单({out_trade_no})支付参数有变化，请更换订单号重新发起支付"
        )),
        ServiceError::PaymentNotConfigured(_) => {
            Failure::client(EpayError::channel("当前商户没有可用的支付方式"))
        }
        ServiceError::UnsignableForAlipay { field } => {
            let field = if *field == "description" {
                "name"
            } else {
                "param"
            };
            client(format!("支付宝订单的{field}不能包含 & 或 ="))
        }
        ServiceError::UpstreamRefused { code, message, .. } => Failure::answered(
            EpayError::channel(format!("支付通道拒绝：{code} {message}")),
            StatusCode::BAD_GATEWAY,
        ),
        ServiceError::UpstreamUnknown { .. } => Failure::answered(
            EpayError::channel("支付通道暂无应答，请用同一订单号重试"),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        other => trouble(other),
    }
}

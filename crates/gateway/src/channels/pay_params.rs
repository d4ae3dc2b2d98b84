//! What a payer's side needs to pay an order, per method, as the site (or the checkout page)
//! receives it. Serialized with a `type` tag (`wechat_native`, `alipay_wap`, …).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PayParams {
    /// Show `code_url` as a QR code.
    WechatNative { code_url: String },
    /// `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` inside WeChat.
    WechatJsapi(WechatJsapiParams),
    /// `wx.requestPayment(…)` in a mini-program.
    WechatMiniapp(WechatJsapiParams),
    /// Redirect the phone browser to `h5_url`.
    WechatH5 { h5_url: String },
    /// The App SDK's `PayReq`.
    WechatApp(WechatAppParams),
    /// Show `qr_code` as a QR code.
    AlipayQr { qr_code: String },
    /// `AlipayJSBridge` / `my.tradePay({tradeNO})` inside Alipay.
    AlipayJsapi { trade_no: String },
    /// `my.tradePay({tradeNO})` in an Alipay mini-program.
    AlipayMiniapp { trade_no: String },
    /// Redirect the phone browser to this signed gateway URL.
    AlipayWap { url: String },
    /// Redirect the desktop browser to this signed gateway URL.
    AlipayPage { url: String },
    /// Hand `order_string` to the Alipay App SDK unchanged.
    AlipayApp { order_string: String },
}

impl PayParams {
    /// The channel the parameters pay through.
    #[must_use]
    pub fn channel(&self) -> crate::domain::Channel {
        use crate::domain::Channel;
        match self {
            Self::WechatNative { .. }
            | Self::WechatJsapi(_)
            | Self::WechatMiniapp(_)
            | Self::WechatH5 { .. }
            | Self::WechatApp(_) => Channel::Wechat,
            Self::AlipayQr { .. }
            | Self::AlipayJsapi { .. }
            | Self::AlipayMiniapp { .. }
            | Self::AlipayWap { .. }
            | Self::AlipayPage { .. }
            | Self::AlipayApp { .. } => Channel::Alipay,
        }
    }
}

/// The JSAPI / mini-program bundle, with WeChat's own field names. `paySign` is SHA256withRSA
/// with the merchant key over `appId\ntimeStamp\nnonceStr\npackage\n`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WechatJsapiParams {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=…`.
    pub package: String,
    /// `RSA`.
    pub sign_type: String,
    pub pay_sign: String,
}

/// The App bundle, with the names of WeChat's App invoke documentation. `sign` is SHA256withRSA
/// with the merchant key over `appid\ntimestamp\nnoncestr\nprepayid\n`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WechatAppParams {
    pub appid: String,
    pub partnerid: String,
    pub prepayid: String,
    /// `Sign=WXPay`.
    pub package: String,
    pub noncestr: String,
    pub timestamp: String,
    pub sign: String,
}

impl From<wechatpay::JsapiPayParams> for WechatJsapiParams {
    fn from(p: wechatpay::JsapiPayParams) -> Self {
        Self {
            app_id: p.app_id,
            time_stamp: p.time_stamp,
            nonce_str: p.nonce_str,
            package: p.package,
            sign_type: p.sign_type,
            pay_sign: p.pay_sign,
        }
    }
}

impl From<wechatpay::AppPayParams> for WechatAppParams {
    fn from(p: wechatpay::AppPayParams) -> Self {
        Self {
            appid: p.app_id,
            partnerid: p.partner_id,
            prepayid: p.prepay_id,
            package: p.package,
            noncestr: p.nonce_str,
            timestamp: p.time_stamp,
            sign: p.sign,
        }
    }
}

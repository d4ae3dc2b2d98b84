//! The JSON answers to pay requests: `{code, message, data}`, `code` 1 for success and 0 for
//! failure, serialised by the gateway's HTTP layer.
//!
//! - Mini-program (seed 001): `data: {mch_trade_no, out_order_no, jsapi}` with the WeChat `jsapi`
//!   fields or Alipay's `{trade_no}`; a failure carries `jsapi: ""`. Its page shows no `status`.
//! - Native: the page was not found; the MyDotnet client reads `data.code_url` and declares
//!   `status` and `data.qrcode` ("base64 编码的二维码图片"), so a native answer has
//!   `status: "success"|"fail"`, `data: {mch_trade_no, out_order_no, code_url, qrcode?}`.
//! - Mobile (H5), like the app page: `status`, `data: {mch_trade_no, out_order_no, todo_url}`.
//! - The native and mobile failure shapes are not documented; they mirror the mini-program's
//!   (same `data` numbers, no link) with `status: "fail"`.

use serde::{Serialize, Serializer};

const SUCCESS: &str = "成功";

/// One answer; `D` is the endpoint's `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer<D> {
    /// 1 success, 0 failure.
    pub code: u8,
    pub message: String,
    /// `"success"` or `"fail"` on the native and mobile endpoints only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    pub data: D,
}

/// Which order an answer is about. On a failure either number may be `""`: weidoufu's own
/// failure example has both, but a request refused before any order exists has no `mch_trade_no`.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    /// paygate's number for the order, shown to the merchant as weidoufu's.
    pub mch_trade_no: &'a str,
    pub out_order_no: &'a str,
}

/// `data` of a mini-program answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MiniappData {
    pub mch_trade_no: String,
    pub out_order_no: String,
    /// `""` on a failure.
    #[serde(serialize_with = "jsapi_or_empty")]
    pub jsapi: Option<Jsapi>,
}

/// What the mini-program needs to open the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Jsapi {
    /// The arguments of `wx.requestPayment`.
    WeChat(WeChatJsapi),
    /// The Alipay trade number `my.tradePay` takes.
    Alipay { trade_no: String },
}

/// WeChat's mini-program payment arguments, all strings as the seed shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeChatJsapi {
    pub app_id: String,
    pub timestamp: String,
    pub nonce_str: String,
    /// `prepay_id=…`.
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

/// `data` of a native answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NativeData {
    pub mch_trade_no: String,
    pub out_order_no: String,
    /// The link the QR code encodes (`weixin://…`, `https://qr.alipay.com/…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_url: Option<String>,
    /// The QR code as a base64 image, when the gateway draws one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qrcode: Option<String>,
}

/// `data` of a mobile (H5) answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MobileData {
    pub mch_trade_no: String,
    pub out_order_no: String,
    /// The link that opens the WeChat or Alipay app to pay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub todo_url: Option<String>,
}

#[must_use]
pub fn miniapp_success(placed: Placed<'_>, jsapi: Jsapi) -> Answer<MiniappData> {
    answer(
        true,
        Status::Absent,
        SUCCESS,
        miniapp_data(placed, Some(jsapi)),
    )
}

/// `message` is the refusal's text, such as a [`super::RequestError`]'s.
#[must_use]
pub fn miniapp_failure(placed: Placed<'_>, message: &str) -> Answer<MiniappData> {
    answer(false, Status::Absent, message, miniapp_data(placed, None))
}

#[must_use]
pub fn native_success(
    placed: Placed<'_>,
    code_url: &str,
    qrcode: Option<&str>,
) -> Answer<NativeData> {
    answer(
        true,
        Status::Present,
        SUCCESS,
        NativeData {
            mch_trade_no: placed.mch_trade_no.to_owned(),
            out_order_no: placed.out_order_no.to_owned(),
            code_url: Some(code_url.to_owned()),
            qrcode: qrcode.map(str::to_owned),
        },
    )
}

#[must_use]
pub fn native_failure(placed: Placed<'_>, message: &str) -> Answer<NativeData> {
    answer(
        false,
        Status::Present,
        message,
        NativeData {
            mch_trade_no: placed.mch_trade_no.to_owned(),
            out_order_no: placed.out_order_no.to_owned(),
            code_url: None,
            qrcode: None,
        },
    )
}

#[must_use]
pub fn mobile_success(placed: Placed<'_>, todo_url: &str) -> Answer<MobileData> {
    answer(
        true,
        Status::Present,
        SUCCESS,
        mobile_data(placed, Some(todo_url)),
    )
}

#[must_use]
pub fn mobile_failure(placed: Placed<'_>, message: &str) -> Answer<MobileData> {
    answer(false, Status::Present, message, mobile_data(placed, None))
}

/// Whether an endpoint's answers say `status` beside `code`.
#[derive(Clone, Copy)]
enum Status {
    Absent,
    Present,
}

fn answer<D>(succeeded: bool, status: Status, message: &str, data: D) -> Answer<D> {
    Answer {
        code: u8::from(succeeded),
        message: message.to_owned(),
        status: match status {
            Status::Absent => None,
            Status::Present => Some(if succeeded { "success" } else { "fail" }),
        },
        data,
    }
}

fn miniapp_data(placed: Placed<'_>, jsapi: Option<Jsapi>) -> MiniappData {
    MiniappData {
        mch_trade_no: placed.mch_trade_no.to_owned(),
        out_order_no: placed.out_order_no.to_owned(),
        jsapi,
    }
}

fn mobile_data(placed: Placed<'_>, todo_url: Option<&str>) -> MobileData {
    MobileData {
        mch_trade_no: placed.mch_trade_no.to_owned(),
        out_order_no: placed.out_order_no.to_owned(),
        todo_url: todo_url.map(str::to_owned),
    }
}

fn jsapi_or_empty<S: Serializer>(jsapi: &Option<Jsapi>, serializer: S) -> Result<S::Ok, S::Error> {
    match jsapi {
        Some(jsapi) => jsapi.serialize(serializer),
        None => serializer.serialize_str(""),
    }
}

#[cfg(test)]
mod tests;

//! The paid-order notification. **Provisional**: weidoufu's notification page was never found;
//! all of this comes from the one client, MyDotnet (`PayController.OrderNotify`,
//! `OrderNotifyMsg.cs`), and is kept in this file so it is easy to change.
//!
//! - POST, `application/json`: `{"sign":"…","content":{…}}`, `content`'s members in the client's
//!   declared order `mch_trade_no, out_order_no, transaction_id, total_fee, attach, trade_type,
//!   pay_type, bank_type, pay_time, status, nonce_str`, numbers as numbers, the rest as strings.
//! - `sign = UPPER(MD5(lowerhex(HMAC-SHA256(key = secret_key, content's JSON text))))`. The
//!   client re-serialises `content` (Newtonsoft, compact, declared order) before signing, so
//!   `content` is written here exactly as Newtonsoft would write it back, including its escapes of
//!   U+0085, U+2028 and U+2029; a verifier over the raw `content` text agrees too.
//! - An older revision of the same client read `content` as a JSON *string* and took the MD5 of the
//!   raw HMAC bytes; the later revision (object, hex) is followed here, as COMPAT §2 says.
//! - `status` is 2 (paid); only paid orders are notified.
//! - Acknowledged by [`Ack::SuccessStatusAndTrue`]: the client answers HTTP 200 with
//!   `{"status":200,"success":true,…}` when it took the notice and `"success":false` when it
//!   refused it (bad sign, unknown order, or an order it already holds as paid), so a bare 2xx or
//!   the word `success` somewhere in the body would count refusals as received.

use channel_core::money::Fen;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use super::PayType;
use crate::{Ack, Notice, NoticeMethod, md5_hex_upper};

/// How the order was paid (`trade_type`), as the client documents it: "1-刷卡支付；2-扫码支付；
/// 3-公众号支付；4-App 支付；6-手机网站支付；9-小程序支付".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeType {
    /// Payment code scanned by the merchant.
    Micropay,
    /// QR code scanned by the payer (`/pay/native`).
    Native,
    /// Inside the WeChat or Alipay app's browser.
    Jsapi,
    App,
    /// H5 (`/pay/mobile`).
    Mobile,
    /// Mini-program (`/pay/miniapp`).
    Miniapp,
}

impl TradeType {
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Micropay => 1,
            Self::Native => 2,
            Self::Jsapi => 3,
            Self::App => 4,
            Self::Mobile => 6,
            Self::Miniapp => 9,
        }
    }
}

/// What a paid order's notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOrder {
    pub notify_url: Url,
    pub mch_trade_no: String,
    pub out_order_no: String,
    /// The channel's transaction number.
    pub transaction_id: String,
    pub total_fee: Fen,
    /// As the request sent it; `""` when it had none.
    pub attach: Option<String>,
    pub trade_type: TradeType,
    pub pay_type: PayType,
    /// The payer's bank type as the channel reports it (`OTHERS`, `CMB_CREDIT`, …), or `""`.
    pub bank_type: String,
    /// Seconds since the Unix epoch; sent as Beijing time, `2021-05-11 11:31:08`.
    pub paid_at_unix: i64,
    /// A fresh random string for each notification.
    pub nonce_str: String,
}

/// The notification of `order`, signed with the merchant's `secret_key`.
#[must_use]
pub fn paid_notice(order: &PaidOrder, secret_key: &str) -> Notice {
    let content = content_text(order);
    let sign = notice_sign(&content, secret_key);
    Notice {
        method: NoticeMethod::PostJson,
        url: order.notify_url.clone(),
        body: format!(r#"{{"sign":"{sign}","content":{content}}}"#).into_bytes(),
        ack: Ack::SuccessStatusAndTrue("success"),
    }
}

/// The sign of a notification whose `content` is the JSON text `content`.
#[must_use]
pub fn notice_sign(content: &str, secret_key: &str) -> String {
    // HMAC takes keys of any length, so this never fails; the fallback keeps it total.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
    mac.update(content.as_bytes());
    md5_hex_upper(&hex::encode(mac.finalize().into_bytes()))
}

fn content_text(order: &PaidOrder) -> String {
    format!(
        concat!(
            r#"{{"mch_trade_no":{},"out_order_no":{},"transaction_id":{},"total_fee":{},"#,
            r#""attach":{},"trade_type":{},"pay_type":{},"bank_type":{},"pay_time":{},"#,
            r#""status":2,"nonce_str":{}}}"#
        ),
        json_string(&order.mch_trade_no),
        json_string(&order.out_order_no),
        json_string(&order.transaction_id),
        order.total_fee.0,
        json_string(order.attach.as_deref().unwrap_or("")),
        order.trade_type.code(),
        order.pay_type.code(),
        json_string(&order.bank_type),
        json_string(&beijing_time(order.paid_at_unix)),
        json_string(&order.nonce_str),
    )
}

/// `text` as a JSON string the way Newtonsoft.Json writes it by default, so the client's
/// re-serialisation gives back these bytes.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `unix_seconds` as `YYYY-MM-DD HH:MM:SS` in Beijing time (UTC+8, no daylight saving).
fn beijing_time(unix_seconds: i64) -> String {
    // Outside 1970–9999 is no payment's time; clamping keeps the arithmetic in range.
    let local = unix_seconds.clamp(0, 253_402_271_999) + 8 * 3600;
    let (year, month, day) = civil_date(local.div_euclid(86_400));
    let second_of_day = local.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;

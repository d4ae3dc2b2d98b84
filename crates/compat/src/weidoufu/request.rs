//! The pay requests `/pay/miniapp`, `/pay/native` and `/pay/mobile`, parsed from their JSON
//! object into typed values. Limits are the documentation's (`string(32)`, `string(128)`, …),
//! counted in characters; fields the gateway does not use are still signed, then ignored.

use std::net::IpAddr;

use channel_core::money::Fen;
use serde_json::{Map, Value};
use url::Url;

use super::RequestError;
use super::fields::Fields;
use super::ledger::{self, LedgerEntry};

/// Which channel pays (`pay_type`). weidoufu also lists 3 (云闪付) on some pages; paygate has no
/// UnionPay channel, so 3 is refused like any other number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayType {
    WeChat,
    Alipay,
}

impl PayType {
    /// The number on the wire.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::WeChat => 1,
            Self::Alipay => 2,
        }
    }

    fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::WeChat),
            2 => Some(Self::Alipay),
            _ => None,
        }
    }
}

/// `out_order_no`: 18 to 32 ASCII letters or digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOrderNo(String);

impl OutOrderNo {
    /// # Errors
    /// [`RequestError::BadOrderNo`] for anything but 18 to 32 ASCII letters or digits.
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        if (18..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(RequestError::BadOrderNo)
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What every pay request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub access_key: String,
    /// The goods' name, at most 32 characters.
    pub body: String,
    pub out_order_no: OutOrderNo,
    pub pay_type: PayType,
    /// From 1 to 999 999 999 fen.
    pub total_fee: Fen,
    pub notify_url: Url,
    /// Returned unchanged in the notification; at most 128 characters.
    pub attach: Option<String>,
    /// Empty without profit sharing; the amounts never add up to more than `total_fee`.
    pub ledger: Vec<LedgerEntry>,
}

/// Who pays a mini-program order: `openid` for WeChat, `buyer_id` for Alipay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payer {
    WeChat { openid: String },
    Alipay { buyer_id: String },
}

/// `POST /pay/miniapp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniappRequest {
    pub order: Order,
    /// Of the channel `order.pay_type` names.
    pub payer: Payer,
}

/// `POST /pay/native`: a QR code to scan. The native page was not found; `expire` is taken from
/// the MyDotnet client's request type for this endpoint (where it is commented out, with the same
/// text as on the mobile and app pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeRequest {
    pub order: Order,
    /// 1 to 60; 30 when not given.
    pub expire_minutes: u8,
}

/// `POST /pay/mobile`: H5 payment, a link that opens the WeChat or Alipay app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileRequest {
    pub order: Order,
    /// weidoufu's application id (configured by their support); optional here, as paygate does not
    /// need it to place the order.
    pub appid: Option<String>,
    /// 1 to 60; 30 when not given.
    pub expire_minutes: u8,
    /// Where the payer goes once paid.
    pub return_url: Option<Url>,
    /// Where the payer goes on giving up.
    pub quit_url: Option<Url>,
    /// The payer's IP address (`client_ip`). Not in weidoufu's documentation: a field of
    /// paygate's, signed like the others, without which WeChat's H5 payment cannot be asked for
    /// (the request comes from the merchant's server, whose address is not the payer's).
    pub client_ip: Option<IpAddr>,
}

/// The `access_key` of a request, to find the secret key that [`super::verify`] needs before the
/// request is parsed.
///
/// # Errors
/// [`RequestError::Missing`] without it, [`RequestError::NotText`] or
/// [`RequestError::TooLong`] for one that is no key.
pub fn access_key(fields: &Map<String, Value>) -> Result<&str, RequestError> {
    Fields(fields).required_text("access_key", 32)
}

impl MiniappRequest {
    /// # Errors
    /// The first field found wrong, as the answer's `message` should say it.
    pub fn parse(fields: &Map<String, Value>) -> Result<Self, RequestError> {
        let fields = Fields(fields);
        let order = Order::read(&fields)?;
        // The payer ids are `string(32)` in the documentation, but Alipay's newer `open_id` is
        // longer than that; 128 only keeps the field bounded.
        let payer = match order.pay_type {
            PayType::WeChat => Payer::WeChat {
                openid: fields
                    .text("openid", 128)?
                    .ok_or(RequestError::MissingOpenid)?
                    .to_owned(),
            },
            PayType::Alipay => Payer::Alipay {
                buyer_id: fields
                    .text("buyer_id", 128)?
                    .ok_or(RequestError::MissingBuyerId)?
                    .to_owned(),
            },
        };
        Ok(Self { order, payer })
    }
}

impl NativeRequest {
    /// # Errors
    /// The first field found wrong, as the answer's `message` should say it.
    pub fn parse(fields: &Map<String, Value>) -> Result<Self, RequestError> {
        let fields = Fields(fields);
        Ok(Self {
            order: Order::read(&fields)?,
            expire_minutes: expire_minutes(&fields)?,
        })
    }
}

impl MobileRequest {
    /// # Errors
    /// The first field found wrong, as the answer's `message` should say it.
    pub fn parse(fields: &Map<String, Value>) -> Result<Self, RequestError> {
        let fields = Fields(fields);
        Ok(Self {
            order: Order::read(&fields)?,
            appid: fields.text("appid", 32)?.map(str::to_owned),
            expire_minutes: expire_minutes(&fields)?,
            return_url: fields.url("return_url")?,
            quit_url: fields.url("quit_url")?,
            client_ip: fields
                .text("client_ip", 45)?
                .map(|ip| ip.parse().map_err(|_| RequestError::BadClientIp))
                .transpose()?,
        })
    }
}

impl Order {
    fn read(fields: &Fields<'_>) -> Result<Self, RequestError> {
        let access_key = fields.required_text("access_key", 32)?.to_owned();
        let body = fields.required_text("body", 32)?.to_owned();
        let out_order_no = match fields.text("out_order_no", 32) {
            Ok(Some(text)) => OutOrderNo::parse(text)?,
            Ok(None) => return Err(RequestError::Missing("out_order_no")),
            Err(_) => return Err(RequestError::BadOrderNo),
        };
        let pay_type = match fields.integer("pay_type") {
            Ok(None) => return Err(RequestError::Missing("pay_type")),
            Ok(Some(code)) => PayType::from_code(code).ok_or(RequestError::BadPayType)?,
            Err(()) => return Err(RequestError::BadPayType),
        };
        let total_fee = fields.total_fee()?;
        let notify_url = fields
            .url("notify_url")?
            .ok_or(RequestError::Missing("notify_url"))?;
        let attach = fields.text("attach", 128)?.map(str::to_owned);
        let ledger = ledger::parse(fields.get("ledger"), total_fee)?;
        Ok(Self {
            access_key,
            body,
            out_order_no,
            pay_type,
            total_fee,
            notify_url,
            attach,
            ledger,
        })
    }
}

/// `expire`: "订单过期分钟，默认 30，最大值 60".
fn expire_minutes(fields: &Fields<'_>) -> Result<u8, RequestError> {
    match fields.integer("expire") {
        Ok(None) => Ok(30),
        Ok(Some(minutes)) => u8::try_from(minutes)
            .ok()
            .filter(|minutes| (1..=60).contains(minutes))
            .ok_or(RequestError::BadExpire),
        Err(()) => Err(RequestError::BadExpire),
    }
}

#[cfg(test)]
mod tests;

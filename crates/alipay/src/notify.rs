//! Asynchronous notifications (`trade_status_sync`): verified, then decoded into a typed value.

use std::collections::BTreeMap;

use channel_core::{Fen, RsaPublicKey};
use time::OffsetDateTime;

use crate::order::TradeStatus;
use crate::sign::{SignTypeIn, sign_content};
use crate::{Client, Error, SignatureFailure, china_time};

/// The exact body to answer a notification with once it is handled; anything else makes Alipay
/// retry (about 8 times over 25 hours).
pub const NOTIFICATION_ACK: &str = "success";

/// A verified trade notification. Alipay also sends one for each refund (`refund_fee` set,
/// `trade_status` still `TRADE_SUCCESS`, or `TRADE_CLOSED` once fully refunded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub notify_id: String,
    pub notify_type: String,
    pub notify_time: OffsetDateTime,
    pub app_id: String,
    pub trade_no: String,
    pub out_trade_no: String,
    pub trade_status: TradeStatus,
    pub total_amount: Fen,
    pub receipt_amount: Option<Fen>,
    pub buyer_pay_amount: Option<Fen>,
    pub invoice_amount: Option<Fen>,
    pub point_amount: Option<Fen>,
    /// Total refunded so far, on refund notifications.
    pub refund_fee: Option<Fen>,
    /// The refund's `out_request_no`, on refund notifications.
    pub out_biz_no: Option<String>,
    pub buyer_id: Option<String>,
    pub buyer_open_id: Option<String>,
    pub seller_id: Option<String>,
    pub gmt_create: Option<OffsetDateTime>,
    pub gmt_payment: Option<OffsetDateTime>,
    pub gmt_refund: Option<OffsetDateTime>,
    pub gmt_close: Option<OffsetDateTime>,
    pub passback_params: Option<String>,
    /// Every field as received (less `sign`), for logging and fields not typed here.
    pub fields: BTreeMap<String, String>,
}

impl Client {
    /// Verifies a notification's form body (`application/x-www-form-urlencoded`, UTF-8) and
    /// decodes it. Checks that `sign_type` is `RSA2` and that it is addressed to this app (and to
    /// this merchant account, when [`crate::Config::seller_id`] is set).
    ///
    /// A verified notification proves only that Alipay signed the text `k=v&k=v…`: values are
    /// signed raw, so a value containing `&` and `=` (a `subject` the merchant chose) can be
    /// re-split into other fields with the same signature. Confirm a payment with
    /// [`Client::query_order`] before acting on it.
    ///
    /// # Errors
    /// [`Error::Signature`] when unsigned, forged, altered or for another app; [`Error::Decode`]
    /// when it is not a well-formed trade notification.
    pub fn verify_notification(&self, form_body: &[u8]) -> Result<Notification, Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(form_body)
            .map_err(|e| Error::Decode(format!("notification form: {e}")))?;
        self.verify_notification_fields(pairs)
    }

    /// Like [`Client::verify_notification`], for a form already decoded into fields.
    ///
    /// # Errors
    /// As [`Client::verify_notification`]; a field given twice is [`Error::Decode`].
    pub fn verify_notification_fields<I, K, V>(&self, fields: I) -> Result<Notification, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut map = BTreeMap::new();
        for (k, v) in fields {
            let k = k.into();
            if map.insert(k.clone(), v.into()).is_some() {
                // Which value was signed would be ambiguous.
                return Err(Error::Decode(format!(
                    "notification field {k:?} given twice"
                )));
            }
        }
        let fields = verify_fields(self.alipay_public_key(), map)?;
        let n = decode(fields)?;
        if n.app_id != self.app_id() {
            return Err(Error::Signature(SignatureFailure::ForeignApp));
        }
        if let Some(seller) = self.seller_id()
            && n.seller_id.as_deref() != Some(seller)
        {
            return Err(Error::Signature(SignatureFailure::ForeignSeller));
        }
        Ok(n)
    }
}

/// The only `sign_type` verified here (RSA, SHA1withRSA, is long deprecated for new apps).
const SIGN_TYPE: &str = "RSA2";

/// Checks the signature over the fields (sorted, `sign` and `sign_type` left out) and returns the
/// fields without `sign`.
fn verify_fields(
    key: &RsaPublicKey,
    mut fields: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Error> {
    // Alipay always sends it; since it is outside the signed text, anyone could change it, and a
    // notification claiming another algorithm is not one this key can vouch for.
    if fields.get("sign_type").map(String::as_str) != Some(SIGN_TYPE) {
        return Err(Error::Signature(SignatureFailure::SignType));
    }
    let sign = fields.remove("sign").filter(|s| !s.is_empty());
    let sign = sign.ok_or(Error::Signature(SignatureFailure::Missing))?;
    let content = sign_content(
        fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignTypeIn::Excluded,
    );
    key.verify_base64(content.as_bytes(), &sign)
        .map_err(|_| Error::Signature(SignatureFailure::BadSignature))?;
    Ok(fields)
}

fn decode(fields: BTreeMap<String, String>) -> Result<Notification, Error> {
    let get = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
    let need = |k: &str| get(k).ok_or_else(|| Error::Decode(format!("notification lacks {k}")));
    let amount = |k: &str| -> Result<Option<Fen>, Error> {
        get(k)
            .map(|v| Fen::parse_yuan(&v).map_err(|e| Error::Decode(format!("{k}: {e}"))))
            .transpose()
    };
    let time = |k: &str| -> Result<Option<OffsetDateTime>, Error> {
        get(k)
            .map(|v| china_time::parse(&v).map_err(|e| Error::Decode(format!("{k}: {e}"))))
            .transpose()
    };
    let status = need("trade_status")?;
    let trade_status = TradeStatus::parse(&status)
        .ok_or_else(|| Error::Decode(format!("unknown trade_status {status:?}")))?;
    Ok(Notification {
        notify_id: need("notify_id")?,
        notify_type: need("notify_type")?,
        notify_time: time("notify_time")?
            .ok_or_else(|| Error::Decode("notification lacks notify_time".into()))?,
        app_id: need("app_id")?,
        trade_no: need("trade_no")?,
        out_trade_no: need("out_trade_no")?,
        trade_status,
        total_amount: amount("total_amount")?
            .ok_or_else(|| Error::Decode("notification lacks total_amount".into()))?,
        receipt_amount: amount("receipt_amount")?,
        buyer_pay_amount: amount("buyer_pay_amount")?,
        invoice_amount: amount("invoice_amount")?,
        point_amount: amount("point_amount")?,
        refund_fee: amount("refund_fee")?,
        out_biz_no: get("out_biz_no"),
        buyer_id: get("buyer_id"),
        buyer_open_id: get("buyer_open_id"),
        seller_id: get("seller_id"),
        gmt_create: time("gmt_create")?,
        gmt_payment: time("gmt_payment")?,
        gmt_refund: time("gmt_refund")?,
        gmt_close: time("gmt_close")?,
        passback_params: get("passback_params"),
        fields,
    })
}

//! Notifications (callbacks): verify the signature over the raw body first, then decrypt the
//! resource with the APIv3 key, then decode it into the type its event announces.

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::certificates::EncryptedResource;
use crate::client::Client;
use crate::combine::CombineTransaction;
use crate::config::ApiV3Key;
use crate::error::{Error, Result};
use crate::model::{PartnerTransaction, TradeState, Transaction};
use crate::profitsharing::ProfitSharingNotice;
use crate::refunds::RefundStatus;
use crate::verify::{KeyRing, SignedHeaders};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Envelope {
    id: String,
    #[serde(with = "crate::timefmt")]
    create_time: OffsetDateTime,
    event_type: String,
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    summary: String,
    resource: EncryptedResource,
}

/// A verified, decrypted notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: String,
    pub create_time: OffsetDateTime,
    pub event_type: String,
    pub resource_type: String,
    pub summary: String,
    pub original_type: Option<String>,
    /// The decrypted resource exactly as WeChat Pay sent it.
    pub plaintext: String,
    pub event: NotificationEvent,
}

/// What the notification says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationEvent {
    /// TRANSACTION.SUCCESS for a direct merchant's order.
    TransactionSuccess(Transaction),
    /// TRANSACTION.SUCCESS for a sub-merchant's order (service-provider mode).
    PartnerTransactionSuccess(PartnerTransaction),
    /// TRANSACTION.SUCCESS for a combined order.
    CombineTransactionSuccess(CombineTransaction),
    /// REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED; `refund_status` matches the event.
    Refund(RefundNotice),
    /// PROFITSHARING.SUCCESS: a split paid this receiver.
    ProfitSharingSuccess(ProfitSharingNotice),
    /// PROFITSHARING.RETURN: money went back from this receiver to the merchant that split.
    ProfitSharingReturn(ProfitSharingNotice),
    /// An event this crate does not model (payscore, complaints, …): see `event_type` and `plaintext`.
    Unmodelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNoticeAmount {
    pub total: i64,
    pub refund: i64,
    pub payer_total: i64,
    pub payer_refund: i64,
}

/// The resource of a REFUND.* notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    /// Direct merchants' notifications carry `mchid`; service providers' carry `sp_mchid` and `sub_mchid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mchid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_mchid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub refund_id: String,
    pub out_refund_no: String,
    pub refund_status: RefundStatus,
    #[serde(
        default,
        with = "crate::timefmt::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub success_time: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    pub amount: RefundNoticeAmount,
}

/// Verifies and decrypts a notification with the given keys, at time `now` (unix seconds).
///
/// # Errors
/// [`Error::Signature`] (checked first, on the raw body), [`Error::Decrypt`], [`Error::Decode`].
pub fn verify_notification(
    headers: &HeaderMap,
    body: &[u8],
    keys: &KeyRing,
    apiv3_key: &ApiV3Key,
    now: i64,
) -> Result<Notification> {
    SignedHeaders::from_headers(headers)?.verify(body, keys, now)?;
    decrypt_verified(body, apiv3_key)
}

impl Client {
    /// Verifies (fetching platform certificates first if the serial is new and downloading is
    /// configured), decrypts and decodes a notification received at the merchant's `notify_url`.
    /// Pass the raw body bytes, untouched.
    ///
    /// # Errors
    /// [`Error::Signature`], [`Error::Decrypt`], [`Error::Decode`]. Answer WeChat Pay with a 4xx/5xx
    /// on any of them so that it retries; never act on an unverified notification.
    pub async fn verify_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification> {
        self.verify_answer(headers, body).await?;
        decrypt_verified(body, &self.inner.apiv3_key)
    }
}

fn decrypt_verified(body: &[u8], apiv3_key: &ApiV3Key) -> Result<Notification> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| Error::decode("notification", e))?;
    let plaintext = envelope.resource.decrypt(apiv3_key)?;
    let event = decode_event(&envelope.event_type, &plaintext)?;
    Ok(Notification {
        id: envelope.id,
        create_time: envelope.create_time,
        event_type: envelope.event_type,
        resource_type: envelope.resource_type,
        summary: envelope.summary,
        original_type: envelope.resource.original_type,
        plaintext,
        event,
    })
}

fn decode_event(event_type: &str, plaintext: &str) -> Result<NotificationEvent> {
    let decode = |e: serde_json::Error| Error::decode(event_type, e);
    let value: serde_json::Value = serde_json::from_str(plaintext).map_err(decode)?;
    let has = |k: &str| value.get(k).is_some();
    match event_type {
        "TRANSACTION.SUCCESS" => {
            let event = if has("combine_out_trade_no") {
                NotificationEvent::CombineTransactionSuccess(
                    serde_json::from_value(value).map_err(decode)?,
                )
            } else if has("sp_mchid") {
                let t: PartnerTransaction = serde_json::from_value(value).map_err(decode)?;
                require_success(event_type, t.trade_state)?;
                NotificationEvent::PartnerTransactionSuccess(t)
            } else {
                let t: Transaction = serde_json::from_value(value).map_err(decode)?;
                require_success(event_type, t.trade_state)?;
                NotificationEvent::TransactionSuccess(t)
            };
            Ok(event)
        }
        "REFUND.SUCCESS" | "REFUND.ABNORMAL" | "REFUND.CLOSED" => {
            let r: RefundNotice = serde_json::from_value(value).map_err(decode)?;
            let expected = match event_type {
                "REFUND.SUCCESS" => RefundStatus::Success,
                "REFUND.ABNORMAL" => RefundStatus::Abnormal,
                _ => RefundStatus::Closed,
            };
            if r.refund_status != expected {
                return Err(Error::Decode(format!(
                    "{event_type} carries refund_status {:?}",
                    r.refund_status
                )));
            }
            Ok(NotificationEvent::Refund(r))
        }
        "PROFITSHARING.SUCCESS" => Ok(NotificationEvent::ProfitSharingSuccess(
            serde_json::from_value(value).map_err(decode)?,
        )),
        "PROFITSHARING.RETURN" => Ok(NotificationEvent::ProfitSharingReturn(
            serde_json::from_value(value).map_err(decode)?,
        )),
        _ => Ok(NotificationEvent::Unmodelled),
    }
}

fn require_success(event_type: &str, state: TradeState) -> Result<()> {
    if state == TradeState::Success {
        Ok(())
    } else {
        Err(Error::Decode(format!(
            "{event_type} carries trade_state {state:?}"
        )))
    }
}

#[cfg(test)]
#[path = "callback_tests.rs"]
mod tests;

//! WeChat Pay notifications: the resource encrypted with the merchant's APIv3 key inside the
//! `encrypt-resource` envelope, signed with `Wechatpay-*` headers, retried on WeChat's schedule.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::Sim;
use super::crypto::{aead_encrypt, china_time, now_unix};
use crate::callbacks::{Delivery, Prepared, Success};

/// Waits before each retry: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24 h 4 min).
pub fn retry_delays() -> Vec<Duration> {
    [
        15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
    ]
    .into_iter()
    .map(Duration::from_secs)
    .collect()
}

/// What to notify.
pub struct Event<'a> {
    pub mchid: &'a str,
    pub url: &'a str,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, …
    pub event_type: &'a str,
    pub summary: &'a str,
    /// `transaction` or `refund`: the resource's `original_type` and associated data.
    pub original_type: &'a str,
    pub resource: &'a Value,
    /// out_trade_no or out_refund_no, for the log.
    pub reference: &'a str,
}

/// Encrypts, signs and hands the notification to the delivery engine. Call only after the state
/// change it reports is persisted.
pub fn send(sim: &Sim, e: &Event<'_>) {
    let Some(apiv3_key) = sim
        .store
        .read(|s| s.merchants.get(e.mchid).map(|m| m.apiv3_key.clone()))
    else {
        tracing::error!(mchid = e.mchid, "notification for an unknown merchant");
        return;
    };
    let nonce = channel_core::nonce::alphanumeric(12);
    let plaintext = e.resource.to_string();
    let ciphertext = match aead_encrypt(&apiv3_key, &nonce, e.original_type, plaintext.as_bytes()) {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(mchid = e.mchid, error = %err, "cannot encrypt notification (APIv3 key?)");
            return;
        }
    };
    let mut id_digits = [0u8; 8];
    channel_core::nonce::fill(&mut id_digits);
    let envelope = json!({
        "id": format!("EV-{}", u64::from_be_bytes(id_digits) % 10_u64.pow(18)),
        "create_time": china_time(time::OffsetDateTime::now_utc()),
        "resource_type": "encrypt-resource",
        "event_type": e.event_type,
        "summary": e.summary,
        "resource": {
            "original_type": e.original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": e.original_type,
            "nonce": nonce,
        }
    });
    let body = envelope.to_string();
    let signer_sim = sim.clone();
    let mchid = e.mchid.to_owned();
    // Each attempt is signed afresh: receivers refuse timestamps 5 minutes old, and retries go on
    // for a day.
    let prepare = Arc::new(move |_attempt: u32| {
        let (signer, serial) = signer_sim.signer(Some(&mchid));
        let timestamp = now_unix().to_string();
        let nonce = channel_core::nonce::alphanumeric(32);
        let signature = signer
            .key()
            .sign_base64(format!("{timestamp}\n{nonce}\n{body}\n").as_bytes());
        Prepared {
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Wechatpay-Timestamp".into(), timestamp),
                ("Wechatpay-Nonce".into(), nonce),
                ("Wechatpay-Signature".into(), signature),
                ("Wechatpay-Serial".into(), serial),
                (
                    "Wechatpay-Signature-Type".into(),
                    "WECHATPAY2-SHA256-RSA2048".into(),
                ),
                (
                    "Request-ID".into(),
                    channel_core::nonce::alphanumeric(32).to_uppercase(),
                ),
                ("User-Agent".into(), "Mozilla/4.0".into()),
            ],
            body: body.clone(),
        }
    });
    sim.ctx.callbacks().deliver(Delivery {
        channel: super::CHANNEL.to_owned(),
        event: e.event_type.to_owned(),
        reference: e.reference.to_owned(),
        merchant: e.mchid.to_owned(),
        url: e.url.to_owned(),
        prepare,
        success: Success::StatusIn(vec![200, 204]),
        retry_delays: retry_delays(),
    });
}

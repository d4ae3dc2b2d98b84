//! `[alipay]`: an Alipay app in public-key mode, parsed into a ready `alipay::Config`.

use crate::domain::{ReceiverAccount, ReceiverName};
use channel_core::{RsaPrivateKey, RsaPublicKey};

use super::ConfigError;
use super::raw::{Raw, known};

/// A configured Alipay app. The keys were parsed once here to fail at start with the setting's
/// name; `alipay::Client::new` parses the same text again.
#[derive(Debug, Clone)]
pub struct AlipaySettings {
    pub app_id: String,
    pub client: alipay::Config,
    /// How long after payment the merchant's contract lets a trade be refunded
    /// (`alipay.refund_window`; 90 days, Alipay's standard, unless set).
    pub refund_window: std::time::Duration,
    /// The operator's own account (`alipay.seller_id`) with its registered name
    /// (`alipay.seller_name`), when the name is set: the operator's fee on the orders of sites
    /// served as their own Alipay merchants is then taken by royalty to it.
    pub fee_receiver: Option<(ReceiverAccount, ReceiverName)>,
}

fn missing(name: &'static str) -> ConfigError {
    ConfigError::Missing {
        setting: name,
        section: "alipay",
        env: known(name).map_or("", |k| k.env),
    }
}

/// Alipay's merchant account ids (PID, 合作伙伴身份): 16 digits starting with 2088.
fn is_partner_id(s: &str) -> bool {
    s.len() == 16 && s.starts_with("2088") && s.bytes().all(|b| b.is_ascii_digit())
}

fn key_file(raw: &Raw, name: &'static str) -> Result<String, ConfigError> {
    let path = raw.path(name)?.ok_or_else(|| missing(name))?;
    raw.read_file(name, &path)
}

pub(crate) fn parse(raw: &Raw) -> Result<Option<AlipaySettings>, ConfigError> {
    if !raw.has_section("alipay") {
        return Ok(None);
    }
    let app_id = raw
        .text("alipay.app_id")?
        .ok_or_else(|| missing("alipay.app_id"))?;
    if !app_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(raw.invalid("alipay.app_id", "must be letters and digits"));
    }
    let private_key = key_file(raw, "alipay.app_private_key_file")?;
    RsaPrivateKey::from_pem(&private_key)
        .map_err(|e| raw.invalid("alipay.app_private_key_file", e.to_string()))?;
    let public_key = key_file(raw, "alipay.alipay_public_key_file")?;
    RsaPublicKey::from_pem(&public_key)
        .map_err(|e| raw.invalid("alipay.alipay_public_key_file", e.to_string()))?;
    // Alipay signs every merchant's notifications with the same key: the account a notification
    // names must be checked against this one, so paygate must know it.
    let seller_id = raw
        .text("alipay.seller_id")?
        .ok_or_else(|| missing("alipay.seller_id"))?;
    if !is_partner_id(&seller_id) {
        return Err(raw.invalid(
            "alipay.seller_id",
            "must be the merchant's Alipay account id: 2088 and 12 more digits",
        ));
    }
    let fee_receiver = raw
        .text("alipay.seller_name")?
        .map(|name| {
            let name = ReceiverName::parse(&name).map_err(|_| {
                raw.invalid("alipay.seller_name", "1-64 characters of visible text")
            })?;
            let account = ReceiverAccount::parse(&seller_id)
                .map_err(|_| raw.invalid("alipay.seller_id", "not an account"))?;
            Ok::<_, ConfigError>((account, name))
        })
        .transpose()?;
    let mut client =
        alipay::Config::new(app_id.clone(), private_key, public_key).with_seller_id(seller_id);
    if let Some(url) = raw.text("alipay.gateway_url")? {
        let parsed =
            url::Url::parse(&url).map_err(|e| raw.invalid("alipay.gateway_url", e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(raw.invalid("alipay.gateway_url", "must be an http(s) URL"));
        }
        client = client.with_gateway_url(url);
    }
    let refund_window = raw
        .duration("alipay.refund_window")?
        .unwrap_or(crate::domain::RefundWindows::ALIPAY_DEFAULT);
    if refund_window.is_zero() {
        return Err(raw.invalid(
            "alipay.refund_window",
            "must be longer than zero: the time the contract allows for refunds, such as 90d",
        ));
    }
    Ok(Some(AlipaySettings {
        app_id,
        client,
        refund_window,
        fee_receiver,
    }))
}

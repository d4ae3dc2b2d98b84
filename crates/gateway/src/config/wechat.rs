//! `[wechat]`: a direct WeChat Pay merchant and, optionally, the service provider it also is,
//! parsed into ready `wechatpay::Config`s.

use crate::domain::ReceiverName;
use channel_core::RsaPrivateKey;
use channel_core::rsa::Certificate;
use wechatpay::{ApiV3Key, Verification, WechatpayPublicKey};

use super::ConfigError;
use super::raw::{Raw, known};

/// A configured WeChat Pay merchant: keys parsed, verification chosen, base URL set.
#[derive(Debug)]
pub struct WechatSettings {
    pub mchid: String,
    /// Official account (公众号) appid: Native, JSAPI, H5.
    pub appid: String,
    pub miniapp_appid: Option<String>,
    pub app_appid: Option<String>,
    pub client: wechatpay::Config,
    /// Web authorisation under the official account (`wechat.appsecret`), for JSAPI payments of
    /// channel-neutral orders inside WeChat.
    pub oauth: Option<crate::channels::WechatOauth>,
    /// The operator as a service provider (`wechat.sp_mchid`, `wechat.sp_appid`).
    pub service_provider: Option<ServiceProviderSettings>,
}

/// A service provider (服务商) that serves sites as its sub-merchants. It signs with the
/// `[wechat]` key material: an operator that is only a service provider gives its number as both
/// `mchid` and `sp_mchid`.
#[derive(Debug)]
pub struct ServiceProviderSettings {
    pub sp_mchid: String,
    pub sp_appid: String,
    /// The service provider's registered name (`wechat.sp_name`): set, the operator's fee on
    /// sub-merchants' orders is taken by profit sharing to `sp_mchid`.
    pub sp_name: Option<ReceiverName>,
    /// The client configuration signing as `sp_mchid`; `None` when it is `mchid`'s (one number,
    /// one client).
    pub client: Option<wechatpay::Config>,
}

fn required(raw: &Raw, name: &'static str) -> Result<String, ConfigError> {
    raw.text(name)?.ok_or_else(|| missing(name))
}

fn missing(name: &'static str) -> ConfigError {
    ConfigError::Missing {
        setting: name,
        section: "wechat",
        env: known(name).map_or("", |k| k.env),
    }
}

pub(crate) fn parse(raw: &Raw) -> Result<Option<WechatSettings>, ConfigError> {
    if !raw.has_section("wechat") {
        return Ok(None);
    }
    let mchid = required(raw, "wechat.mchid")?;
    if !mchid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(raw.invalid("wechat.mchid", "must be digits"));
    }
    let appid = required(raw, "wechat.appid")?;
    let miniapp_appid = raw.text("wechat.miniapp_appid")?;
    let app_appid = raw.text("wechat.app_appid")?;
    let client = client_config(raw, &mchid)?;
    let service_provider = service_provider(raw, &mchid)?;
    let oauth = match raw.text("wechat.appsecret")? {
        Some(secret) => {
            let authorize = raw
                .text("wechat.oauth_base_url")?
                .unwrap_or_else(|| "https://open.weixin.qq.com".to_owned());
            let api = raw
                .text("wechat.sns_base_url")?
                .unwrap_or_else(|| "https://api.weixin.qq.com".to_owned());
            let oauth = crate::channels::WechatOauth::new(appid.clone(), secret, &authorize, &api)
                .map_err(|e| raw.invalid("wechat.appsecret", e.to_string()))?;
            Some(oauth)
        }
        None => None,
    };
    Ok(Some(WechatSettings {
        oauth,
        mchid,
        appid,
        miniapp_appid,
        app_appid,
        client,
        service_provider,
    }))
}

/// The client configuration of merchant `mchid`, signing with the `[wechat]` key material. Read
/// once per client at start-up.
fn client_config(raw: &Raw, mchid: &str) -> Result<wechatpay::Config, ConfigError> {
    let serial = required(raw, "wechat.merchant_serial")?;
    let key_path = raw
        .path("wechat.merchant_key_file")?
        .ok_or_else(|| missing("wechat.merchant_key_file"))?;
    let key_pem = raw.read_file("wechat.merchant_key_file", &key_path)?;
    let private_key = RsaPrivateKey::from_pem(&key_pem)
        .map_err(|e| raw.invalid("wechat.merchant_key_file", e.to_string()))?;
    let apiv3_key = apiv3_key(raw)?;
    let verification = verification(raw)?;
    let mut client = wechatpay::Config::new(mchid, &serial, private_key, apiv3_key, verification)
        .map_err(|e| raw.invalid("wechat.merchant_serial", e.to_string()))?;
    if let Some(url) = raw.text("wechat.api_base_url")? {
        client = client
            .with_base_url(&url)
            .map_err(|e| raw.invalid("wechat.api_base_url", e.to_string()))?;
    }
    Ok(client)
}

/// `wechat.sp_mchid` and `wechat.sp_appid`, both or neither.
fn service_provider(
    raw: &Raw,
    mchid: &str,
) -> Result<Option<ServiceProviderSettings>, ConfigError> {
    let sp_mchid = raw.text("wechat.sp_mchid")?;
    let sp_appid = raw.text("wechat.sp_appid")?;
    let (sp_mchid, sp_appid) = match (sp_mchid, sp_appid) {
        (None, None) => return Ok(None),
        (Some(m), Some(a)) => (m, a),
        (Some(_), None) => return Err(missing("wechat.sp_appid")),
        (None, Some(_)) => return Err(missing("wechat.sp_mchid")),
    };
    if !sp_mchid.bytes().all(|b| b.is_ascii_digit()) || sp_mchid.is_empty() {
        return Err(raw.invalid("wechat.sp_mchid", "must be digits"));
    }
    let client = if sp_mchid == mchid {
        None
    } else {
        Some(client_config(raw, &sp_mchid)?)
    };
    let sp_name = raw
        .text("wechat.sp_name")?
        .map(|name| {
            ReceiverName::parse(&name)
                .map_err(|_| raw.invalid("wechat.sp_name", "1-64 characters of visible text"))
        })
        .transpose()?;
    Ok(Some(ServiceProviderSettings {
        sp_mchid,
        sp_appid,
        sp_name,
        client,
    }))
}

/// Inline or from a file, not both: two sources of one secret would let them drift apart.
fn apiv3_key(raw: &Raw) -> Result<ApiV3Key, ConfigError> {
    let inline = raw.text("wechat.apiv3_key")?;
    let file = raw.path("wechat.apiv3_key_file")?;
    let (name, text) = match (inline, file) {
        (Some(_), Some(_)) => {
            return Err(raw.invalid(
                "wechat.apiv3_key",
                "give either wechat.apiv3_key or wechat.apiv3_key_file, not both",
            ));
        }
        (Some(key), None) => ("wechat.apiv3_key", key),
        (None, Some(path)) => (
            "wechat.apiv3_key_file",
            raw.read_file("wechat.apiv3_key_file", &path)?
                .trim()
                .to_owned(),
        ),
        (None, None) => return Err(missing("wechat.apiv3_key")),
    };
    // The wechatpay error says only the length, never the key.
    ApiV3Key::new(&text).map_err(|e| raw.invalid(name, e.to_string()))
}

/// The WeChat Pay public key (the default for new merchants), platform certificates, or both.
fn verification(raw: &Raw) -> Result<Verification, ConfigError> {
    let mut verification = Verification::default();
    let id = raw.text("wechat.public_key_id")?;
    let file = raw.path("wechat.public_key_file")?;
    match (id, file) {
        (Some(id), Some(path)) => {
            let pem = raw.read_file("wechat.public_key_file", &path)?;
            verification.public_key = Some(
                WechatpayPublicKey::from_pem(&id, &pem)
                    .map_err(|e| raw.invalid("wechat.public_key_file", e.to_string()))?,
            );
        }
        (Some(_), None) => return Err(missing("wechat.public_key_file")),
        (None, Some(_)) => return Err(missing("wechat.public_key_id")),
        (None, None) => {}
    }
    for path in raw.path_list("wechat.platform_certificate_files")? {
        let pem = raw.read_file("wechat.platform_certificate_files", &path)?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            raw.invalid(
                "wechat.platform_certificate_files",
                format!("{}: {e}", path.display()),
            )
        })?;
        verification.certificates.push(cert);
    }
    verification.download_certificates = raw
        .bool("wechat.download_platform_certificates")?
        .unwrap_or(false);
    if verification.public_key.is_none()
        && verification.certificates.is_empty()
        && !verification.download_certificates
    {
        return Err(raw.invalid(
            "wechat.public_key_id",
            "no way to verify WeChat Pay's answers: set wechat.public_key_id and \
             wechat.public_key_file, or platform certificates",
        ));
    }
    Ok(verification)
}

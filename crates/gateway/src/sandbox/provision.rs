//! Sets up the sandbox channel accounts: registers a WeChat Pay merchant and an Alipay app with the
//! simulator's control API, then builds clients that talk to the simulator exactly as they would to
//! the real channels (signed requests, every answer verified).

use std::time::Duration;

use channel_core::{RsaPrivateKey, nonce};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::channels::{AlipayAccount, WechatAccount, WechatAppIds, WechatOauth, WechatPartner};
use crate::domain::{ReceiverAccount, ReceiverName};

/// The sandbox's own credentials: what a real operator would get from WeChat Pay and Alipay.
/// Generated once and kept (by the caller) so that orders in the simulator's state stay valid
/// across restarts. `Debug` hides the keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxKeys {
    pub wechat_mchid: String,
    /// Serial number of the (imaginary) merchant API certificate.
    pub wechat_serial: String,
    /// PKCS#8 PEM.
    pub wechat_merchant_key_pem: String,
    /// 32 ASCII characters.
    pub wechat_apiv3_key: String,
    pub wechat_appids: WechatAppIds,
    /// The official account's AppSecret (web authorisation, for JSAPI inside WeChat). Keys kept
    /// before it existed get one when read back.
    #[serde(default = "mp_secret")]
    pub wechat_mp_secret: String,
    pub alipay_app_id: String,
    /// PKCS#8 PEM.
    pub alipay_app_private_key_pem: String,
}

impl std::fmt::Debug for SandboxKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxKeys")
            .field("wechat_mchid", &self.wechat_mchid)
            .field("wechat_serial", &self.wechat_serial)
            .field("wechat_appids", &self.wechat_appids)
            .field("alipay_app_id", &self.alipay_app_id)
            .finish_non_exhaustive()
    }
}

/// Why the sandbox accounts could not be set up. Messages never contain keys.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("sandbox key generation failed: {0}")]
    Keys(String),
    #[error("simulator control API {what}: {message}")]
    Simulator { what: &'static str, message: String },
    #[error("sandbox {channel} client: {message}")]
    Client {
        channel: &'static str,
        message: String,
    },
}

impl SandboxKeys {
    /// Fresh credentials: two 2048-bit RSA keys, a random APIv3 key, and ids shaped like real ones.
    ///
    /// # Panics
    /// Only if the system's crypto library cannot generate an RSA key, which leaves nothing secure
    /// to run on (the same stance as `channel_core::nonce::fill`). [`SandboxKeys::try_generate`]
    /// reports it instead.
    #[must_use]
    pub fn generate() -> Self {
        #[allow(clippy::expect_used)]
        Self::try_generate().expect("RSA key generation failed")
    }

    /// [`SandboxKeys::generate`], reporting a crypto library failure.
    ///
    /// # Errors
    /// `Keys` when an RSA key cannot be generated or encoded.
    pub fn try_generate() -> Result<Self, ProvisionError> {
        let key_pem = || {
            RsaPrivateKey::generate()
                .and_then(|k| k.to_pkcs8_pem())
                .map_err(|e| ProvisionError::Keys(e.to_string()))
        };
        Ok(Self {
            // WeChat Pay mchids are 10 digits; serials 40 upper-case hex digits; appids `wx` + 16 hex.
            wechat_mchid: format!("19{}", digits(8)),
            wechat_serial: hex_upper(20),
            wechat_merchant_key_pem: key_pem()?,
            wechat_apiv3_key: nonce::alphanumeric(32),
            wechat_mp_secret: mp_secret(),
            wechat_appids: WechatAppIds {
                mp: appid(),
                miniapp: Some(appid()),
                app: Some(appid()),
            },
            // Alipay app ids are 16 digits starting with the year of creation.
            alipay_app_id: format!("2021{}", digits(12)),
            alipay_app_private_key_pem: key_pem()?,
        })
    }
}

/// WeChat AppSecrets are 32 hex digits.
fn mp_secret() -> String {
    hex_upper(16).to_ascii_lowercase()
}

fn digits(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    nonce::fill(&mut bytes);
    bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
}

fn hex_upper(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    nonce::fill(&mut b);
    hex::encode_upper(b)
}

fn appid() -> String {
    let mut b = [0u8; 8];
    nonce::fill(&mut b);
    format!("wx{}", hex::encode(b))
}

#[derive(Deserialize)]
struct MerchantRegistered {
    public_key_id: String,
    public_key_pem: String,
}

#[derive(Deserialize)]
struct AppRegistered {
    alipay_public_key_pem: String,
    /// The merchant account the simulator's notifications name.
    seller_id: String,
}

/// How the simulated WeChat Pay ends the refunds it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimRefunds {
    /// Each succeeds on its own shortly after (2 s at the simulator's time scale).
    SucceedOnTheirOwn,
    /// Each stays `PROCESSING` until the control API settles it.
    WaitForControl,
}

/// The sub-merchants bound to the sandbox merchant as a service provider: the numbers a site can
/// be served as in sandbox mode. The simulator refuses any other, as WeChat Pay does.
pub const SANDBOX_SUB_MCHIDS: [&str; 3] = ["1900000109", "1900000110", "1900000111"];

/// Registers `keys` with the simulator at `sim_base_url` (WeChat Pay merchant in public-key mode,
/// Alipay app) and returns the two accounts, their clients pointed at the simulator with full
/// response verification, and notify URLs under `public_url` (`/callbacks/wechat/{mchid}`,
/// `/callbacks/alipay/{app_id}`). Registering again is harmless: the simulator keeps its own keys,
/// so a restart with the same `keys` finds its orders.
///
/// `refunds` says how the simulated WeChat Pay ends refunds: on its own, like the real one mostly
/// does a few seconds later (the sandbox), or only when the test settles them.
///
/// # Errors
/// `Simulator` when the control API cannot be reached or refuses; `Keys` or `Client` when the keys
/// or the simulator's answer cannot be used.
pub async fn provision(
    sim_base_url: &str,
    keys: &SandboxKeys,
    public_url: &str,
    refunds: SimRefunds,
) -> Result<(WechatAccount, AlipayAccount), ProvisionError> {
    let sim = sim_base_url.trim_end_matches('/');
    let public = public_url.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| ProvisionError::Simulator {
            what: "client",
            message: e.to_string(),
        })?;
    let wechat = wechat_account(&http, sim, keys, public, refunds).await?;
    let alipay = alipay_account(&http, sim, keys, public).await?;
    Ok((wechat, alipay))
}

async fn wechat_account(
    http: &reqwest::Client,
    sim: &str,
    keys: &SandboxKeys,
    public: &str,
    refunds: SimRefunds,
) -> Result<WechatAccount, ProvisionError> {
    let client_err = |e: wechatpay::Error| ProvisionError::Client {
        channel: "WeChat Pay",
        message: e.to_string(),
    };
    let merchant_key = RsaPrivateKey::from_pem(&keys.wechat_merchant_key_pem)
        .map_err(|e| ProvisionError::Keys(format!("WeChat Pay merchant key: {e}")))?;
    let merchant_public = merchant_key
        .public_key()
        .map_err(|e| ProvisionError::Keys(e.to_string()))?;
    let ids = &keys.wechat_appids;
    let appids: Vec<&str> = [
        Some(ids.mp.as_str()),
        ids.miniapp.as_deref(),
        ids.app.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let registered: MerchantRegistered = post(
        http,
        format!("{sim}/sim/wechat/merchants"),
        &json!({
            "mchid": keys.wechat_mchid,
            "serial_no": keys.wechat_serial,
            "merchant_public_key_pem": merchant_public.to_pem(),
            "apiv3_key": keys.wechat_apiv3_key,
            "appids": appids,
            "mode": "public_key",
            "auto_refund": refunds == SimRefunds::SucceedOnTheirOwn,
            // As a service provider, the merchant has these sub-merchants bound to it.
            "sub_merchants": SANDBOX_SUB_MCHIDS
                .iter()
                .map(|sub| json!({ "sub_mchid": sub }))
                .collect::<Vec<_>>(),
            // It receives the operator's fee from its sub-merchants, and asked WeChat Pay (in
            // its merchant platform) to be told when a share reaches it.
            "profit_sharing_notify_url": WechatAccount::callback_url(public, &keys.wechat_mchid),
        }),
        "WeChat Pay merchant registration",
    )
    .await?;
    let platform_key = wechatpay::WechatpayPublicKey::from_pem(
        &registered.public_key_id,
        &registered.public_key_pem,
    )
    .map_err(client_err)?;
    let config = wechatpay::Config::new(
        &keys.wechat_mchid,
        &keys.wechat_serial,
        merchant_key,
        wechatpay::ApiV3Key::new(&keys.wechat_apiv3_key).map_err(client_err)?,
        wechatpay::Verification::public_key(platform_key),
    )
    .and_then(|c| c.with_base_url(sim))
    .map_err(client_err)?;
    let _: serde_json::Value = post(
        http,
        format!("{sim}/sim/wechat/oauth/apps"),
        &json!({ "appid": keys.wechat_appids.mp, "secret": keys.wechat_mp_secret }),
        "WeChat official account registration",
    )
    .await?;
    let oauth = WechatOauth::new(
        keys.wechat_appids.mp.clone(),
        keys.wechat_mp_secret.clone(),
        sim,
        sim,
    )
    .map_err(|e| ProvisionError::Client {
        channel: "WeChat OAuth",
        message: e.to_string(),
    })?;
    WechatAccount::new(
        config,
        keys.wechat_mchid.clone(),
        keys.wechat_appids.clone(),
        public,
    )
    .map(|account| {
        // The sandbox merchant is a service provider too, under its own number and official
        // account, so that a site can be tried as a sub-merchant.
        let partner = WechatPartner::new(
            account.client.clone(),
            keys.wechat_mchid.clone(),
            keys.wechat_appids.mp.clone(),
            public,
        );
        // The operator's fee on sub-merchants' orders goes to the sandbox service provider.
        let partner = match ReceiverName::parse(SANDBOX_PROVIDER_NAME) {
            Ok(name) => partner.with_fee_receiver_name(name),
            Err(_) => partner,
        };
        account.with_oauth(oauth).with_partner(partner)
    })
    .map_err(|e| ProvisionError::Client {
        channel: "WeChat Pay",
        message: e.to_string(),
    })
}

async fn alipay_account(
    http: &reqwest::Client,
    sim: &str,
    keys: &SandboxKeys,
    public: &str,
) -> Result<AlipayAccount, ProvisionError> {
    let app_public = RsaPrivateKey::from_pem(&keys.alipay_app_private_key_pem)
        .and_then(|k| k.public_key())
        .map_err(|e| ProvisionError::Keys(format!("Alipay app key: {e}")))?;
    let notify_url = AlipayAccount::notify_url(public, &keys.alipay_app_id);
    let registered: AppRegistered = post(
        http,
        format!("{sim}/sim/alipay/apps"),
        &json!({
            "app_id": keys.alipay_app_id,
            "app_public_key_pem": app_public.to_pem(),
            "notify_url": notify_url,
        }),
        "Alipay app registration",
    )
    .await?;
    let config = alipay::Config::new(
        keys.alipay_app_id.clone(),
        keys.alipay_app_private_key_pem.clone(),
        registered.alipay_public_key_pem,
    )
    .with_gateway_url(format!("{sim}/gateway.do"))
    .with_seller_id(registered.seller_id.clone());
    let mut account =
        AlipayAccount::new(config, keys.alipay_app_id.clone(), public).map_err(|e| {
            ProvisionError::Client {
                channel: "Alipay",
                message: e.to_string(),
            }
        })?;
    // The operator's fee on merchants' orders goes to the sandbox's own account by royalty.
    if let (Ok(seller), Ok(name)) = (
        ReceiverAccount::parse(&registered.seller_id),
        ReceiverName::parse(SANDBOX_PROVIDER_NAME),
    ) {
        account.fee_receiver = Some((seller, name));
    }
    Ok(account)
}

/// One control API call. The simulator's error bodies describe the input, never echo keys.
async fn post<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: String,
    body: &serde_json::Value,
    what: &'static str,
) -> Result<T, ProvisionError> {
    let fail = |message: String| ProvisionError::Simulator { what, message };
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(300).collect();
        return Err(fail(format!("HTTP {status}: {excerpt}")));
    }
    response
        .json()
        .await
        .map_err(|e| fail(format!("unreadable answer: {}", e.without_url())))
}

/// The sandbox service provider's registered name: the receiver of the operator's fee.
pub const SANDBOX_PROVIDER_NAME: &str = "paygate 沙箱服务商";

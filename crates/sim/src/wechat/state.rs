//! What the WeChat Pay simulator remembers (persisted as `wechat.json` and its journal in the
//! state dir).

use serde::{Deserialize, Serialize};

use super::profitsharing::model as sharing;
use crate::persist::{TrackedMap, TrackedValue, journaled};

/// The whole persisted state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WechatState {
    /// Signs answers to callers whose merchant is unknown (their own platform key cannot be chosen).
    pub fallback_key_pem: TrackedValue<Option<String>>,
    pub merchants: TrackedMap<String, Merchant>,
    /// Keyed by [`order_key`].
    pub orders: TrackedMap<String, Order>,
    /// Keyed by [`order_key`] with the out_refund_no.
    pub refunds: TrackedMap<String, Refund>,
    /// Keyed by `combine_mchid|combine_out_trade_no`.
    pub combines: TrackedMap<String, Combine>,
    /// Makes transaction and refund ids unique.
    pub seq: TrackedValue<u64>,
    /// Official accounts' AppSecrets for web authorisation, by appid (`POST /sim/wechat/oauth/apps`).
    #[serde(default)]
    pub oauth_apps: TrackedMap<String, OAuthApp>,
    /// Profit sharing receivers, by `profitsharing::model::receiver_key`.
    #[serde(default)]
    pub sharing_receivers: TrackedMap<String, sharing::Receiver>,
    /// By [`order_key`]: only orders paid with `settle_info.profit_sharing` have one.
    #[serde(default)]
    pub sharing_ledgers: TrackedMap<String, sharing::Ledger>,
    /// Splits and unfreezes, by `profitsharing::model::split_key`.
    #[serde(default)]
    pub splits: TrackedMap<String, sharing::Split>,
    /// Returns of splits, by `profitsharing::model::return_key`.
    #[serde(default)]
    pub split_returns: TrackedMap<String, sharing::Return>,
    /// Service providers' sub-merchants (受理关系), by [`sub_merchant_key`].
    #[serde(default)]
    pub sub_merchants: TrackedMap<String, SubMerchant>,
}

journaled!(WechatState {
    fallback_key_pem,
    merchants,
    orders,
    refunds,
    combines,
    seq,
    oauth_apps,
    sharing_receivers,
    sharing_ledgers,
    splits,
    split_returns,
    sub_merchants,
});

impl WechatState {
    /// An appid the simulator knows: bound to a merchant or a sub-merchant, or an official account
    /// with a secret.
    pub fn knows_appid(&self, appid: &str) -> bool {
        self.oauth_apps.contains_key(appid)
            || self
                .merchants
                .values()
                .any(|m| m.appids.iter().any(|a| a == appid))
            || self
                .sub_merchants
                .values()
                .any(|m| m.sub_appids.iter().any(|a| a == appid))
    }

    /// The key of the order of `trade_type` whose create call answered `prepay_id`.
    pub fn order_by_prepay_id(&self, prepay_id: &str, trade_type: TradeType) -> Option<String> {
        self.orders
            .iter()
            .find(|(_, o)| o.trade_type == trade_type && o.prepay_id.as_deref() == Some(prepay_id))
            .map(|(k, _)| k.clone())
    }
}

/// A sub-merchant (特约商户) bound to a service provider: the provider may order, refund and
/// split for it, under the provider's `sp_appid` or one of the sub-merchant's own `sub_appids`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubMerchant {
    pub sp_mchid: String,
    pub sub_mchid: String,
    pub sub_appids: Vec<String>,
    /// The most of a payment the provider may split away from the sub-merchant, in
    /// ten-thousandths (万分比, as `/v3/profitsharing/merchant-configs` answers it): the ratio the
    /// sub-merchant authorised.
    #[serde(default = "default_max_ratio")]
    pub max_ratio: i64,
}

/// 30%: what WeChat Pay allows a direct merchant, and the simulator's sub-merchants by default
/// (a real sub-merchant authorises its own ratio; 30% is the usual ceiling).
pub const DEFAULT_MAX_RATIO: i64 = 3000;

fn default_max_ratio() -> i64 {
    DEFAULT_MAX_RATIO
}

pub fn sub_merchant_key(sp_mchid: &str, sub_mchid: &str) -> String {
    format!("{sp_mchid}|{sub_mchid}")
}

/// An official account (公众号) as web authorisation knows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthApp {
    pub appid: String,
    pub secret: String,
}

/// How the merchant verifies the simulator's signatures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `Wechatpay-Serial` is the WeChat Pay public key id (the default for new merchants).
    #[default]
    PublicKey,
    /// `Wechatpay-Serial` is the platform certificate's serial; `/v3/certificates` serves it.
    Certificate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Merchant {
    pub mchid: String,
    /// The merchant API certificate serial the merchant signs with.
    pub serial_no: String,
    pub merchant_public_key_pem: String,
    pub apiv3_key: String,
    pub appids: Vec<String>,
    pub mode: Mode,
    /// Refunds turn SUCCESS on their own shortly after they are made (else: control API only).
    pub auto_refund: bool,
    pub platform: Platform,
    /// Where this merchant, as a profit-sharing receiver, wants `PROFITSHARING.*` notifications
    /// (a merchant platform setting at WeChat Pay); `None`: it gets none.
    #[serde(default)]
    pub profit_sharing_notify_url: Option<String>,
}

/// The simulator's side of a merchant: its signing key and the two ways to name it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Platform {
    pub private_key_pem: String,
    pub public_key_pem: String,
    pub public_key_id: String,
    pub serial_no: String,
    pub certificate_pem: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TradeState {
    #[serde(rename = "NOTPAY")]
    NotPay,
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "REFUND")]
    Refund,
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "PAYERROR")]
    PayError,
}

impl TradeState {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotPay => "NOTPAY",
            Self::Success => "SUCCESS",
            Self::Refund => "REFUND",
            Self::Closed => "CLOSED",
            Self::PayError => "PAYERROR",
        }
    }

    pub fn desc(self) -> &'static str {
        match self {
            Self::NotPay => "未支付",
            Self::Success => "支付成功",
            Self::Refund => "转入退款",
            Self::Closed => "已关闭",
            Self::PayError => "支付失败",
        }
    }

    /// Money has moved: the order can be refunded and can no longer be closed.
    pub fn is_paid(self) -> bool {
        match self {
            Self::Success | Self::Refund => true,
            Self::NotPay | Self::Closed | Self::PayError => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TradeType {
    #[serde(rename = "NATIVE")]
    Native,
    #[serde(rename = "JSAPI")]
    Jsapi,
    #[serde(rename = "MWEB")]
    H5,
    #[serde(rename = "APP")]
    App,
}

impl TradeType {
    pub fn code(self) -> &'static str {
        match self {
            Self::Native => "NATIVE",
            Self::Jsapi => "JSAPI",
            Self::H5 => "MWEB",
            Self::App => "APP",
        }
    }

    pub fn from_path(kind: &str) -> Option<Self> {
        match kind {
            "native" => Some(Self::Native),
            "jsapi" => Some(Self::Jsapi),
            "h5" => Some(Self::H5),
            "app" => Some(Self::App),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// The direct merchant, or the service provider (sp_mchid) in partner mode.
    pub mchid: String,
    pub sub_mchid: Option<String>,
    /// appid, or sp_appid in partner mode.
    pub appid: String,
    pub sub_appid: Option<String>,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub trade_type: TradeType,
    pub state: TradeState,
    pub description: String,
    pub attach: Option<String>,
    pub notify_url: String,
    pub total: i64,
    pub currency: String,
    /// Unix seconds.
    pub time_expire: Option<i64>,
    pub openid: Option<String>,
    /// `openid` is a sub_openid (partner mode).
    pub sub_openid: bool,
    /// The answer to the create call, repeated for an identical repeat.
    pub prepay: Answer,
    /// The prepay_id behind the answer (inside `h5_url` for H5); `None` for Native, for combined
    /// orders' sub-orders, and in state written before it was kept.
    #[serde(default)]
    pub prepay_id: Option<String>,
    /// The H5 pay link last issued (H5 orders only).
    #[serde(default)]
    pub h5_link: Option<H5Link>,
    /// The create request's digest, to tell an identical repeat from a reuse.
    pub request: RequestDigest,
    pub success_time: Option<String>,
    /// Sum of refunds that are not CLOSED/ABNORMAL.
    pub refunded: i64,
    pub combine: Option<String>,
    pub created: i64,
    /// The amount the bill shows for this order when it is not `total` (set through the control
    /// API, to test reconciliation); `None` in every ordinary order.
    #[serde(default)]
    pub bill_total: Option<i64>,
    /// The fee the fund-flow bill takes for this payment when it is not the fee the trade bill
    /// shows (set through the control API, to test reconciliation; `Some(0)`: no fee movement);
    /// `None` in every ordinary order.
    #[serde(default)]
    pub fund_flow_fee: Option<i64>,
    /// Fees given back by this order's refunds that are not CLOSED, fen.
    #[serde(default)]
    pub fee_returned: i64,
}

impl Order {
    /// What the bill shows as paid: `total`, unless overridden.
    pub fn billed_total(&self) -> i64 {
        self.bill_total.unwrap_or(self.total)
    }
}

/// An H5 order's pay link (`h5::link`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct H5Link {
    /// The link's `package`: only the latest link of an order opens its pay page.
    pub package: String,
    /// Unix seconds; the link lasts five minutes from here.
    pub issued: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefundStatus {
    #[serde(rename = "PROCESSING")]
    Processing,
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "ABNORMAL")]
    Abnormal,
}

impl RefundStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Processing => "PROCESSING",
            Self::Success => "SUCCESS",
            Self::Closed => "CLOSED",
            Self::Abnormal => "ABNORMAL",
        }
    }

    /// The notification event for reaching this status, if any.
    pub fn event(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Processing => None,
            Self::Success => Some(("REFUND.SUCCESS", "退款成功")),
            Self::Closed => Some(("REFUND.CLOSED", "退款关闭")),
            Self::Abnormal => Some(("REFUND.ABNORMAL", "退款异常")),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    pub order_key: String,
    pub mchid: String,
    pub sub_mchid: Option<String>,
    pub out_refund_no: String,
    pub refund_id: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub refund: i64,
    pub total: i64,
    pub currency: String,
    pub status: RefundStatus,
    pub create_time: String,
    /// `create_time` in unix seconds, for ending the refund on its own (0 in state written before
    /// it was kept: long ago).
    #[serde(default)]
    pub created_unix: i64,
    pub success_time: Option<String>,
    pub request: RequestDigest,
    /// The fee given back with this refund, fen (0 in state written before fees were kept).
    #[serde(default)]
    pub fee_returned: i64,
    /// When the refund was closed, for a CLOSED refund.
    #[serde(default)]
    pub closed_time: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Combine {
    pub combine_appid: String,
    pub combine_mchid: String,
    pub combine_out_trade_no: String,
    pub trade_type: TradeType,
    /// Keys of the sub-orders in `orders`.
    pub sub_orders: Vec<String>,
    pub openid: Option<String>,
    pub notify_url: String,
    pub prepay: Answer,
    pub request: RequestDigest,
    pub scene_info: Option<serde_json::Value>,
}

/// A create call's answer, kept as its JSON text: parsed, its one field took a map's node of about
/// 600 bytes, for every order the simulator holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answer(Box<serde_json::value::RawValue>);

impl Answer {
    #[must_use]
    pub fn of(answer: &serde_json::Value) -> Self {
        // Serializing a `Value` cannot fail; `null` stands in all the same.
        Self(serde_json::value::to_raw_value(answer).unwrap_or_default())
    }

    /// No answer (orders made without a create call of their own).
    #[must_use]
    pub fn none() -> Self {
        Self::of(&serde_json::Value::Null)
    }

    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    #[must_use]
    pub fn is_none(&self) -> bool {
        self.0.get() == "null"
    }
}

/// What a create or refund request said, as a SHA-256 of its JSON: enough to tell an identical
/// repeat from a reuse of the same number with other content, in 32 bytes instead of the whole
/// request (kept for every order, the requests were half of the simulator's memory).
///
/// Stored as hex; state written when the whole request was kept is read by digesting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDigest([u8; 32]);

impl RequestDigest {
    /// serde_json's maps keep their keys sorted, so equal values have one text and one digest.
    #[must_use]
    pub fn of(request: &serde_json::Value) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(request.to_string().as_bytes()).into())
    }
}

impl Serialize for RequestDigest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for RequestDigest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let digest = value
            .as_str()
            .and_then(|text| hex::decode(text).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        // A request was a JSON object (or null for a combined order's sub-order), never a string.
        Ok(digest.map_or_else(|| Self::of(&value), Self))
    }
}

/// The key of an order: the same out_trade_no may exist under different (sub-)merchants.
pub fn order_key(mchid: &str, sub_mchid: Option<&str>, out_trade_no: &str) -> String {
    format!("{mchid}|{}|{out_trade_no}", sub_mchid.unwrap_or(""))
}

#[cfg(test)]
mod kept_request_tests {
    use serde_json::json;

    use super::{Answer, RequestDigest};

    #[test]
    fn equal_requests_have_one_digest_whatever_their_key_order() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"amount":{"total":1,"currency":"CNY"},"appid":"wx1"}"#)
                .unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"appid":"wx1","amount":{"currency":"CNY","total":1}}"#)
                .unwrap();
        assert_eq!(RequestDigest::of(&a), RequestDigest::of(&b));
        assert_ne!(
            RequestDigest::of(&a),
            RequestDigest::of(&json!({"appid": "wx1"}))
        );
    }

    #[test]
    fn state_that_kept_whole_requests_reads_as_their_digest() {
        let request = json!({"appid": "wx1", "amount": {"total": 1}});
        let old: RequestDigest = serde_json::from_value(request.clone()).unwrap();
        assert_eq!(old, RequestDigest::of(&request));
        let written = serde_json::to_value(&old).unwrap();
        assert!(written.is_string());
        assert_eq!(
            serde_json::from_value::<RequestDigest>(written).unwrap(),
            old
        );
        let null: RequestDigest = serde_json::from_value(serde_json::Value::Null).unwrap();
        assert_eq!(null, RequestDigest::of(&serde_json::Value::Null));
    }

    #[test]
    fn an_answer_is_kept_as_its_text_and_reads_and_writes_as_the_json_it_was() {
        let answer = json!({"code_url": "weixin://wxpay/bizpayurl?pr=abc"});
        let kept = Answer::of(&answer);
        assert_eq!(kept.to_value(), answer);
        assert!(!kept.is_none() && Answer::none().is_none());
        // State files hold the answer as the object it was, before and after.
        let written = serde_json::to_string(&kept).unwrap();
        assert_eq!(written, r#"{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}"#);
        let read: Answer = serde_json::from_str(&written).unwrap();
        assert_eq!(read.to_value(), answer);
    }
}

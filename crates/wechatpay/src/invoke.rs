//! Parameters a payer's WeChat needs to start paying a prepay order, signed with the merchant key.

use channel_core::{RsaPrivateKey, nonce};
use serde::Serialize;

use crate::client::Client;

/// For `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` and mini-program `wx.requestPayment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsapiPayParams {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=…`.
    pub package: String,
    /// Always `RSA` in API v3.
    pub sign_type: String,
    pub pay_sign: String,
}

/// For the App SDK's `PayReq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppPayParams {
    pub app_id: String,
    /// The merchant id (a sub-merchant's for a service provider).
    pub partner_id: String,
    pub prepay_id: String,
    /// Always `Sign=WXPay`.
    pub package: String,
    pub time_stamp: String,
    pub nonce_str: String,
    pub sign: String,
}

/// Signs `appId\ntimeStamp\nnonceStr\npackage\n`.
#[must_use]
pub fn jsapi_pay_params(
    key: &RsaPrivateKey,
    appid: &str,
    prepay_id: &str,
    timestamp: i64,
    nonce_str: &str,
) -> JsapiPayParams {
    let package = format!("prepay_id={prepay_id}");
    let time_stamp = timestamp.to_string();
    let pay_sign =
        key.sign_base64(format!("{appid}\n{time_stamp}\n{nonce_str}\n{package}\n").as_bytes());
    JsapiPayParams {
        app_id: appid.to_owned(),
        time_stamp,
        nonce_str: nonce_str.to_owned(),
        package,
        sign_type: "RSA".into(),
        pay_sign,
    }
}

/// Signs `appid\ntimestamp\nnoncestr\nprepayid\n`.
#[must_use]
pub fn app_pay_params(
    key: &RsaPrivateKey,
    appid: &str,
    partner_id: &str,
    prepay_id: &str,
    timestamp: i64,
    nonce_str: &str,
) -> AppPayParams {
    let time_stamp = timestamp.to_string();
    let sign =
        key.sign_base64(format!("{appid}\n{time_stamp}\n{nonce_str}\n{prepay_id}\n").as_bytes());
    AppPayParams {
        app_id: appid.to_owned(),
        partner_id: partner_id.to_owned(),
        prepay_id: prepay_id.to_owned(),
        package: "Sign=WXPay".into(),
        time_stamp,
        nonce_str: nonce_str.to_owned(),
        sign,
    }
}

impl Client {
    /// JSAPI / mini-program parameters for `prepay_id`, with a fresh timestamp and nonce.
    #[must_use]
    pub fn jsapi_pay_params(&self, appid: &str, prepay_id: &str) -> JsapiPayParams {
        jsapi_pay_params(
            &self.inner.private_key,
            appid,
            prepay_id,
            self.inner.clock.now(),
            &nonce::alphanumeric(32),
        )
    }

    /// App parameters for `prepay_id`; `partner_id` is this client's mchid, or `sub_mchid` if given.
    #[must_use]
    pub fn app_pay_params(
        &self,
        appid: &str,
        prepay_id: &str,
        sub_mchid: Option<&str>,
    ) -> AppPayParams {
        let partner_id = sub_mchid.unwrap_or(&self.inner.mchid);
        app_pay_params(
            &self.inner.private_key,
            appid,
            partner_id,
            prepay_id,
            self.inner.clock.now(),
            &nonce::alphanumeric(32),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsapi_sign_covers_the_four_lines() {
        let key = RsaPrivateKey::generate().unwrap();
        let p = jsapi_pay_params(
            &key,
            "wx8888888888888888",
            "wx201410272009395522657a690389285100",
            1_414_561_699,
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        );
        assert_eq!(p.package, "prepay_id=wx201410272009395522657a690389285100");
        assert_eq!(p.sign_type, "RSA");
        key.public_key()
            .unwrap()
            .verify_base64(
                b"wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n",
                &p.pay_sign,
            )
            .unwrap();
        let json = serde_json::to_value(&p).unwrap();
        for k in [
            "appId",
            "timeStamp",
            "nonceStr",
            "package",
            "signType",
            "paySign",
        ] {
            assert!(json.get(k).is_some(), "{k}");
        }
    }

    #[test]
    fn app_sign_covers_appid_timestamp_nonce_prepayid() {
        let key = RsaPrivateKey::generate().unwrap();
        let p = app_pay_params(
            &key,
            "wxapp",
            "1900000109",
            "WX1217752501201407033233368018",
            1_414_561_699,
            "n1",
        );
        assert_eq!(p.package, "Sign=WXPay");
        key.public_key()
            .unwrap()
            .verify_base64(
                b"wxapp\n1414561699\nn1\nWX1217752501201407033233368018\n",
                &p.sign,
            )
            .unwrap();
        let json = serde_json::to_value(&p).unwrap();
        for k in [
            "partnerId",
            "prepayId",
            "package",
            "timeStamp",
            "nonceStr",
            "sign",
        ] {
            assert!(json.get(k).is_some(), "{k}");
        }
    }
}

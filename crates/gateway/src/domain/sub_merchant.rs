//! A site served as a merchant of its own under the operator: a WeChat Pay sub-merchant (特约商户)
//! of the operator as service provider (服务商), whose orders paygate makes through the partner
//! endpoints with `sp_mchid` and `sub_mchid`; or an Alipay merchant that authorised the operator's
//! app (第三方应用授权), whose calls carry its `app_auth_token`. Either way the site's payments
//! settle to its own account.

use super::DomainError;
use super::token::is_token_char;

/// A sub-merchant: its number and, optionally, its own appid (the sub-merchant's mini-program,
/// under which its payers' openids are issued).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WechatSubMerchant {
    pub sub_mchid: SubMchid,
    pub sub_appid: Option<WechatAppId>,
}

impl WechatSubMerchant {
    /// The sub-merchant as stored, both columns or neither.
    ///
    /// # Errors
    /// `Malformed` for a stored value that does not parse, or an appid without a number.
    pub fn from_columns(
        sub_mchid: Option<&str>,
        sub_appid: Option<&str>,
    ) -> Result<Option<Self>, DomainError> {
        match (sub_mchid, sub_appid) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(DomainError::Malformed {
                field: "wechat_sub_appid",
            }),
            (Some(mchid), appid) => Ok(Some(Self {
                sub_mchid: SubMchid::parse(mchid)?,
                sub_appid: appid.map(WechatAppId::parse).transpose()?,
            })),
        }
    }
}

/// A WeChat Pay merchant number: 8–32 digits (issued numbers are 10 today).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubMchid(String);

impl SubMchid {
    /// # Errors
    /// `Malformed` unless 8–32 ASCII digits.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if (8..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed {
                field: "wechat_sub_mchid",
            })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SubMchid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A WeChat appid: `wx` and 16 letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WechatAppId(String);

impl WechatAppId {
    /// # Errors
    /// `Malformed` for anything else.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let rest = s.strip_prefix("wx").unwrap_or_default();
        if rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed {
                field: "wechat_sub_appid",
            })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for WechatAppId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Alipay merchant that authorised the operator's app: its account, which its trades'
/// notifications name as `seller_id`, and the token the app calls for it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayMerchant {
    pub seller_id: AlipaySellerId,
    pub app_auth_token: AppAuthToken,
}

/// An Alipay merchant account (`user_id`, `seller_id`): `2088` and 12 more digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlipaySellerId(String);

impl AlipaySellerId {
    /// # Errors
    /// `Malformed` unless 16 digits starting `2088`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.len() == 16 && s.starts_with("2088") && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed {
                field: "alipay_seller_id",
            })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AlipaySellerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A merchant's `app_auth_token`: with the app's key, whoever holds it acts as the merchant, so it
/// is a secret: sealed at rest, never printed (`Debug` hides it), and only ever sent to Alipay.
/// 1–128 characters of `[A-Za-z0-9_.-]`.
#[derive(Clone, PartialEq, Eq)]
pub struct AppAuthToken(String);

impl AppAuthToken {
    /// # Errors
    /// `Malformed` for anything else (the message never repeats the value).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if (1..=128).contains(&s.len()) && s.chars().all(|c| is_token_char(c) || c == '.') {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed {
                field: "alipay_app_auth_token",
            })
        }
    }

    /// The token itself, for the one call that sends it to Alipay and for sealing.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AppAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppAuthToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_digits_and_appids_wx_and_sixteen() {
        assert!(SubMchid::parse("1900000109").is_ok());
        for bad in ["", "1234567", "19000001O9", " 1900000109", &"1".repeat(33)] {
            assert!(SubMchid::parse(bad).is_err(), "{bad:?}");
        }
        assert!(WechatAppId::parse("wxd678efh567hg6999").is_ok());
        for bad in [
            "wxd678efh567hg699",
            "xwd678efh567hg6999",
            "wxd678efh567hg699-",
            "",
        ] {
            assert!(WechatAppId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn alipay_accounts_are_2088_and_twelve_digits_and_tokens_never_print() {
        assert!(AlipaySellerId::parse("2088102146225135").is_ok());
        for bad in [
            "2088",
            "1088102146225135",
            "20881021462251350",
            "208810214622513x",
        ] {
            assert!(AlipaySellerId::parse(bad).is_err(), "{bad:?}");
        }
        let token = AppAuthToken::parse("202611BB9f0e6a3c2b14455f8e2bd1c2d3e4f5a6").unwrap();
        assert_eq!(format!("{token:?}"), "AppAuthToken(<redacted>)");
        for bad in ["", "has space", "new\nline", &"a".repeat(129)] {
            let err = AppAuthToken::parse(bad).unwrap_err().to_string();
            assert!(bad.is_empty() || !err.contains(bad), "{err}");
        }
    }

    #[test]
    fn a_stored_appid_needs_its_number() {
        assert_eq!(WechatSubMerchant::from_columns(None, None), Ok(None));
        assert!(WechatSubMerchant::from_columns(None, Some("wxd678efh567hg6999")).is_err());
        let both = WechatSubMerchant::from_columns(Some("1900000109"), Some("wxd678efh567hg6999"));
        assert_eq!(
            both.unwrap().unwrap().sub_appid.unwrap().as_str(),
            "wxd678efh567hg6999"
        );
    }
}

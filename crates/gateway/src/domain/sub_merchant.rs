//! A site served as a WeChat Pay sub-merchant (特约商户) of the operator, when the operator is a
//! service provider (服务商): its payments settle to the sub-merchant's own account, and paygate
//! calls WeChat Pay's partner endpoints with the service provider's `sp_mchid` and this
//! `sub_mchid`.

use super::DomainError;

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

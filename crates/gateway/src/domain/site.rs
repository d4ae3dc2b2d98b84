//! A site (the operator's customer): the entity, and its id, name, credentials and status.

use std::collections::BTreeSet;

use super::token::{is_token, random_with_prefix};
use super::{
    AlipayMerchant, DomainError, Mode, NotifyUrl, PayMethod, Timestamp, WechatSubMerchant,
};

/// A site with its keys in clear (in memory only). `SecretKey`'s `Debug` keeps it out of logs.
#[derive(Debug, Clone)]
pub struct Site {
    pub id: SiteId,
    pub name: SiteName,
    pub access_key: AccessKey,
    pub secret_key: SecretKey,
    pub notify_url: Option<NotifyUrl>,
    pub enabled_methods: BTreeSet<PayMethod>,
    /// Its notify URLs may lead to loopback, private, link-local and other non-public addresses:
    /// the operator's choice for a site on its own network. Off by default.
    pub allow_private_targets: bool,
    /// The WeChat Pay sub-merchant the operator serves the site as, when the operator is a service
    /// provider; `None`: the site is paid to the operator's own merchant.
    pub wechat_sub_merchant: Option<WechatSubMerchant>,
    /// The Alipay merchant the site is served as, when it authorised the operator's app; `None`:
    /// the site is paid to the operator's own Alipay account.
    pub alipay_merchant: Option<AlipayMerchant>,
    pub status: SiteStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Site {
    #[must_use]
    pub fn may_use(&self, method: PayMethod) -> bool {
        self.status == SiteStatus::Active && self.enabled_methods.contains(&method)
    }
}

/// A site's public id (`site_…`), shown in notifications as `site_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteId(String);

impl SiteId {
    /// A new random id: `site_` and 16 letters or digits.
    #[must_use]
    pub fn generate() -> Self {
        Self(random_with_prefix("site_", 16))
    }

    /// # Errors
    /// `Malformed` unless 1–64 characters of `[A-Za-z0-9_-]`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if is_token(s, 1, 64) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed { field: "site_id" })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SiteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A site's display name, for the operator: 1–64 characters without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteName(String);

impl SiteName {
    pub const MAX_CHARS: usize = 64;

    /// # Errors
    /// `Missing` when empty, `Malformed` when too long, `InvisibleCharacter` with control or
    /// format characters (a name may be shown beside an order, so the description's rule holds).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing { field: "name" });
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::Malformed { field: "name" });
        }
        super::text::refuse_invisible("name", s)?;
        Ok(Self(s.to_owned()))
    }

    /// A name read back from the database, checked as it was when stored: a site named before
    /// format characters were refused must stay usable.
    ///
    /// # Errors
    /// `Malformed` when empty, too long or with control characters.
    pub fn parse_stored(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() || s.chars().count() > Self::MAX_CHARS || s.chars().any(char::is_control) {
            return Err(DomainError::Malformed { field: "name" });
        }
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A site's access key (`X-1Pass-AK`): public, identifies the site.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessKey(String);

impl AccessKey {
    /// A new random AK: `ak_test_` (sandbox) or `ak_live_` and 24 letters or digits.
    #[must_use]
    pub fn generate(mode: Mode) -> Self {
        Self(random_with_prefix(&format!("ak_{}", mode.key_infix()), 24))
    }

    /// # Errors
    /// `Missing` when empty, `Malformed` unless 3–64 characters of `[A-Za-z0-9_-]`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing { field: "ak" });
        }
        if is_token(s, 3, 64) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed { field: "ak" })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A site's secret key: the HMAC key of its requests and of its notifications. Never printed:
/// `Debug` shows a placeholder and there is no `Display`; [`SecretKey::expose`] is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// A new random SK: `sk_test_` (sandbox) or `sk_live_` and 40 letters or digits (over 230
    /// bits).
    #[must_use]
    pub fn generate(mode: Mode) -> Self {
        Self(random_with_prefix(&format!("sk_{}", mode.key_infix()), 40))
    }

    /// # Errors
    /// `Malformed` unless 16–128 characters of `[A-Za-z0-9_-]`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if is_token(s, 16, 128) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed { field: "sk" })
        }
    }

    /// The secret itself, to sign or verify with, or to show once to the operator on creation.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Whether a site may use the API at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiteStatus {
    Active,
    Disabled,
}

impl SiteStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// # Errors
    /// `Malformed` for an unknown name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(DomainError::Malformed {
                field: "site_status",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_parse_back() {
        let id = SiteId::generate();
        assert!(id.as_str().starts_with("site_"));
        assert_eq!(SiteId::parse(id.as_str()), Ok(id));
        let ak = AccessKey::generate(Mode::Live);
        assert_eq!(AccessKey::parse(ak.as_str()), Ok(ak));
        let sk = SecretKey::generate(Mode::Live);
        assert_eq!(SecretKey::parse(sk.expose()), Ok(sk.clone()));
        assert_ne!(SecretKey::generate(Mode::Live), sk);
    }

    #[test]
    fn keys_show_their_mode() {
        assert!(
            AccessKey::generate(Mode::Sandbox)
                .as_str()
                .starts_with("ak_test_")
        );
        assert!(
            SecretKey::generate(Mode::Sandbox)
                .expose()
                .starts_with("sk_test_")
        );
        assert!(
            AccessKey::generate(Mode::Live)
                .as_str()
                .starts_with("ak_live_")
        );
        assert!(
            SecretKey::generate(Mode::Live)
                .expose()
                .starts_with("sk_live_")
        );
    }

    #[test]
    fn keys_from_before_modes_still_parse() {
        assert!(AccessKey::parse("ak_0123456789abcdefghijklmn").is_ok());
        assert!(SecretKey::parse("sk_0123456789abcdefghij0123456789abcdefghij").is_ok());
    }

    #[test]
    fn secret_key_is_never_printed() {
        let sk = SecretKey::generate(Mode::Sandbox);
        let shown = format!("{sk:?} {:?}", Some(&sk));
        assert!(!shown.contains(sk.expose()));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn malformed_keys_and_ids() {
        assert_eq!(AccessKey::parse("").unwrap_err().code(), "missing_fields");
        for bad in ["ak", "ak xxx", &"a".repeat(65)] {
            assert_eq!(AccessKey::parse(bad).unwrap_err().field(), "ak", "{bad}");
        }
        for bad in [
            "",
            "short_sk",
            &"s".repeat(129),
            "sk_with space_long_enough",
        ] {
            assert_eq!(SecretKey::parse(bad).unwrap_err().field(), "sk", "{bad}");
        }
        for bad in ["", "site/1", &"s".repeat(65)] {
            assert!(SiteId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            SiteId::parse("site_123").map(|s| s.to_string()),
            Ok("site_123".into())
        );
    }

    #[test]
    fn site_names() {
        assert!(SiteName::parse("我的小店").is_ok());
        assert!(SiteName::parse(&"n".repeat(64)).is_ok());
        assert_eq!(SiteName::parse("").unwrap_err().code(), "missing_fields");
        assert_eq!(
            SiteName::parse(&"n".repeat(65)).unwrap_err().field(),
            "name"
        );
        assert_eq!(SiteName::parse("a\tb").unwrap_err().field(), "name");
        let spoofed = SiteName::parse("shop\u{202E}").unwrap_err();
        assert_eq!(
            (spoofed.code(), spoofed.field()),
            ("invalid_characters", "name")
        );
        assert!(SiteName::parse_stored("shop\u{202E}").is_ok());
    }

    #[test]
    fn site_status_round_trips() {
        for s in [SiteStatus::Active, SiteStatus::Disabled] {
            assert_eq!(SiteStatus::parse(s.as_str()), Ok(s));
        }
        assert!(SiteStatus::parse("Active").is_err());
    }
}

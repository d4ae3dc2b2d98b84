//! A console user: who signs in to the operator console or a site's portal, and what they may see.

use super::token::{is_token, random_with_prefix};
use super::{DomainError, SiteId, Timestamp};

/// A user as stored, without their password hash or second-factor secret (the store keeps those
/// for the service's checks only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    pub disabled: bool,
    pub has_totp: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A user's id (`usr_…`), what sessions and the audit log name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// A new random id: `usr_` and 16 letters or digits.
    #[must_use]
    pub fn generate() -> Self {
        Self(random_with_prefix("usr_", 16))
    }

    /// # Errors
    /// `Malformed` unless 1–64 characters of `[A-Za-z0-9_-]`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if is_token(s, 1, 64) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed { field: "user_id" })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A sign-in address, lower-cased: `Ops@Example.com` and `ops@example.com` are one account, so
/// that nobody can register a look-alike of an existing user by changing the case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    /// Leading and trailing spaces are dropped (a pasted address often has them).
    ///
    /// # Errors
    /// `Missing` when empty; `Malformed` unless one `@` between a non-empty local part and domain,
    /// at most 254 characters, without spaces or control characters.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DomainError::Missing { field: "email" });
        }
        let malformed = DomainError::Malformed { field: "email" };
        if s.chars().count() > Self::MAX_LEN
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return Err(malformed);
        }
        match s.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.') =>
            {
                Ok(Self(s.to_lowercase()))
            }
            _ => Err(malformed),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user may see and do. A site user belongs to exactly one site, which the type carries:
/// a site role without a site, or an operator tied to a site, cannot be held.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including users and the audit log.
    Admin,
    /// Everything, read-only.
    Viewer,
    /// One site's orders, refunds, notifications and keys (the site portal).
    Site(SiteId),
}

impl Role {
    pub const NAMES: [&'static str; 3] = ["admin", "viewer", "site"];

    /// A role from its name and the site it is tied to.
    ///
    /// # Errors
    /// `Malformed` for an unknown name; `RoleSite` when a site role has no site or an operator role
    /// has one.
    pub fn parse(name: &str, site: Option<SiteId>) -> Result<Self, DomainError> {
        match (name, site) {
            ("admin", None) => Ok(Self::Admin),
            ("viewer", None) => Ok(Self::Viewer),
            ("site", Some(site)) => Ok(Self::Site(site)),
            ("admin" | "viewer" | "site", _) => Err(DomainError::RoleSite),
            _ => Err(DomainError::Malformed { field: "role" }),
        }
    }

    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
            Self::Site(_) => "site",
        }
    }

    #[must_use]
    pub fn site(&self) -> Option<&SiteId> {
        match self {
            Self::Site(site) => Some(site),
            Self::Admin | Self::Viewer => None,
        }
    }

    /// Which orders, refunds and notifications the user may see.
    #[must_use]
    pub fn scope(&self) -> Scope {
        match self {
            Self::Admin | Self::Viewer => Scope::All,
            Self::Site(site) => Scope::Site(site.clone()),
        }
    }

    /// Whether the user may change anything (refund, close, resend…) within their scope: everyone
    /// but a viewer.
    #[must_use]
    pub fn may_act(&self) -> bool {
        match self {
            Self::Admin | Self::Site(_) => true,
            Self::Viewer => false,
        }
    }
}

/// What a console user may see: every site, or one. Every lookup takes one and puts it in its
/// query, so that another site's objects are never read, let alone shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    Site(SiteId),
}

impl Scope {
    /// The one site this scope is limited to, if any.
    #[must_use]
    pub fn site(&self) -> Option<&SiteId> {
        match self {
            Self::All => None,
            Self::Site(site) => Some(site),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_one_account_whatever_their_case() {
        let a = Email::parse(" Ops@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "ops@example.com");
        assert_eq!(a, Email::parse("ops@example.com").unwrap());
        assert_eq!(
            Email::parse("").unwrap_err(),
            DomainError::Missing { field: "email" }
        );
        for bad in [
            "ops",
            "@example.com",
            "ops@",
            "a@b@c",
            "ops @example.com",
            "ops@.example",
            "ops@example.",
            "ops@exa\u{0}mple",
            "<ops@example.com>",
        ] {
            assert_eq!(
                Email::parse(bad).unwrap_err(),
                DomainError::Malformed { field: "email" },
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
        assert!(Email::parse("root@localhost").is_ok());
    }

    #[test]
    fn a_site_role_needs_its_site_and_only_it_has_one() {
        let site = SiteId::parse("site_abc").unwrap();
        assert_eq!(Role::parse("admin", None), Ok(Role::Admin));
        assert_eq!(Role::parse("viewer", None), Ok(Role::Viewer));
        assert_eq!(
            Role::parse("site", Some(site.clone())),
            Ok(Role::Site(site.clone()))
        );
        assert_eq!(Role::parse("site", None), Err(DomainError::RoleSite));
        assert_eq!(
            Role::parse("admin", Some(site.clone())),
            Err(DomainError::RoleSite)
        );
        assert_eq!(
            Role::parse("root", None),
            Err(DomainError::Malformed { field: "role" })
        );
        assert_eq!(Role::Site(site.clone()).name(), "site");
        assert_eq!(Role::Site(site.clone()).scope(), Scope::Site(site.clone()));
        assert_eq!(Role::Viewer.scope(), Scope::All);
        assert!(Role::Admin.may_act() && Role::Site(site).may_act());
        assert!(!Role::Viewer.may_act());
    }
}

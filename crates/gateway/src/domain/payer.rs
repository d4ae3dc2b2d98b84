//! Who pays, as far as a method needs to know: WeChat openid (JSAPI, mini-program), Alipay buyer id
//! (JSAPI, mini-program), the payer's IP (WeChat H5 requires it).

use std::net::IpAddr;

use super::DomainError;
use super::token::is_token;

/// A WeChat user's openid under one appid: 1–128 characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Openid(String);

impl Openid {
    /// # Errors
    /// `Malformed` for anything else.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if is_token(s, 1, 128) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed { field: "openid" })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An Alipay buyer: the classic 16-digit `2088…` user id or the newer open_id, 1–128 characters of
/// `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BuyerId(String);

impl BuyerId {
    /// # Errors
    /// `Malformed` for anything else.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if is_token(s, 1, 128) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed { field: "buyer_id" })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The payer fields an order carries; which ones a method requires is the API's check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Payer {
    pub openid: Option<Openid>,
    pub buyer_id: Option<BuyerId>,
    pub client_ip: Option<IpAddr>,
}

/// Parses the payer's IP address.
///
/// # Errors
/// `Malformed` unless an IPv4 or IPv6 address.
pub fn parse_client_ip(s: &str) -> Result<IpAddr, DomainError> {
    s.parse()
        .map_err(|_| DomainError::Malformed { field: "client_ip" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_fields() {
        assert!(Openid::parse("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").is_ok());
        assert_eq!(Openid::parse("").unwrap_err().field(), "openid");
        assert_eq!(Openid::parse("o u").unwrap_err().field(), "openid");
        assert!(BuyerId::parse("2088102146225135").is_ok());
        assert_eq!(
            BuyerId::parse(&"1".repeat(129)).unwrap_err().field(),
            "buyer_id"
        );
        assert!(parse_client_ip("203.0.113.7").is_ok());
        assert!(parse_client_ip("2001:db8::1").is_ok());
        assert_eq!(
            parse_client_ip("203.0.113").unwrap_err().field(),
            "client_ip"
        );
    }
}

//! Where paygate notifies a site. Only the syntax is checked here; whether the address may be reached
//! (no loopback, private or metadata addresses) is decided after DNS resolution at delivery time.

use super::DomainError;

/// An absolute `http` or `https` URL with a host, without credentials or fragment, ≤ 256 characters
/// (WeChat Pay's own `notify_url` limit, a sane bound for ours too).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotifyUrl(url::Url);

impl NotifyUrl {
    pub const MAX_LEN: usize = 256;

    /// # Errors
    /// `Missing` when empty, `InvalidUrl` otherwise when the URL is not acceptable.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        parse_http_url(s, "notify_url").map(Self)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    #[must_use]
    pub fn as_url(&self) -> &url::Url {
        &self.0
    }
}

/// An absolute `http` or `https` URL with a host, without credentials or fragment, of at most
/// [`NotifyUrl::MAX_LEN`] characters: what paygate accepts wherever a site names an address of its
/// own (`notify_url`, `return_url`). Refusals name `field`.
pub(super) fn parse_http_url(s: &str, field: &'static str) -> Result<url::Url, DomainError> {
    if s.is_empty() {
        return Err(DomainError::Missing { field });
    }
    let invalid = DomainError::InvalidUrl {
        field,
        max: NotifyUrl::MAX_LEN,
    };
    if s.len() > NotifyUrl::MAX_LEN {
        return Err(invalid);
    }
    let url = url::Url::parse(s).map_err(|_| invalid.clone())?;
    let acceptable = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none();
    if acceptable { Ok(url) } else { Err(invalid) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https() {
        for ok in [
            "https://shop.example.com/paid",
            "http://127.0.0.1:3000/n?x=1",
        ] {
            assert!(NotifyUrl::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_other_schemes_credentials_fragments_and_long_urls() {
        let long = format!("https://e.com/{}", "a".repeat(250));
        for bad in [
            "ftp://e.com/x",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@e.com/",
            "https://e.com/#frag",
            "not a url",
            "/relative",
            long.as_str(),
        ] {
            let err = NotifyUrl::parse(bad).unwrap_err();
            assert_eq!(
                (err.code(), err.field()),
                ("invalid_notify_url", "notify_url"),
                "{bad}"
            );
        }
        assert_eq!(NotifyUrl::parse("").unwrap_err().code(), "missing_fields");
    }
}

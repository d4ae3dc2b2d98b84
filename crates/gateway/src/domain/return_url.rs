//! Where the payer's browser goes once the order is paid: the checkout page sends it there, and
//! Alipay's WAP and PC page payments send it there from their own cashier.

use super::DomainError;
use super::notify_url::parse_http_url;

/// An absolute `http` or `https` URL with a host, without credentials or fragment, ≤ 256
/// characters: the same rules as [`super::NotifyUrl`]. Only a browser follows it, never paygate,
/// so no address check is needed; and a `javascript:` or `data:` URL can never be one, since the
/// checkout page navigates to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReturnUrl(url::Url);

impl ReturnUrl {
    /// # Errors
    /// `Missing` when empty, `InvalidUrl` (naming `return_url`) when the URL is not acceptable.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        parse_http_url(s, "return_url").map(Self)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_and_keeps_the_query() {
        let url = ReturnUrl::parse("https://shop.example.com/done?order=1").unwrap();
        assert_eq!(url.as_str(), "https://shop.example.com/done?order=1");
        assert!(ReturnUrl::parse("http://127.0.0.1:3000/").is_ok());
    }

    #[test]
    fn refuses_what_a_browser_could_run_or_what_hides_credentials() {
        let long = format!("https://e.com/{}", "a".repeat(250));
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "https://user:pw@e.com/",
            "https://e.com/#frag",
            "/relative",
            long.as_str(),
        ] {
            let err = ReturnUrl::parse(bad).unwrap_err();
            assert_eq!(
                (err.code(), err.field()),
                ("invalid_return_url", "return_url"),
                "{bad}"
            );
        }
        assert_eq!(ReturnUrl::parse("").unwrap_err().code(), "missing_fields");
    }
}

//! The page's only style and script, compiled into the binary and served inline, and the headers
//! that allow exactly them.

use std::sync::OnceLock;

use axum::http::{HeaderName, HeaderValue, header};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The checkout and error pages' style.
pub const STYLE: &str = include_str!("page.css");
/// The checkout page's script: countdown, live status, sandbox button.
pub const SCRIPT: &str = include_str!("page.js");

/// The script of the page that takes the payer on to the channel's own pay page: it sends the
/// page's one form (a button does the same without JavaScript).
pub const SUBMIT_SCRIPT: &str = "document.getElementById(\"to-channel\").submit();";

/// The Content-Security-Policy of the page that posts the payer on to a channel's pay page: only
/// its inline style and submit script, and forms only to `channel_origin`.
#[must_use]
pub fn onward_policy(channel_origin: &str) -> String {
    // Browsers hold a form's redirects to `form-action` too, and Alipay's gateway sends the payer
    // on to its cashier on another host of its own domain.
    let cashier = ["alipay.com", "alipaydev.com"]
        .iter()
        .find(|domain| {
            channel_origin.starts_with("https://")
                && (channel_origin.ends_with(&format!(".{domain}"))
                    || channel_origin.ends_with(&format!("//{domain}")))
        })
        .map_or_else(String::new, |domain| format!(" https://*.{domain}"));
    format!(
        "default-src 'none'; script-src {script}; style-src {style}; \
         form-action {channel_origin}{cashier}; frame-ancestors 'none'; base-uri 'none'",
        script = source_hash(SUBMIT_SCRIPT),
        style = source_hash(STYLE),
    )
}

/// `'sha256-…'`: how a CSP names one inline `<style>` or `<script>` by its exact content.
fn source_hash(content: &str) -> String {
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(content));
    format!("'sha256-{digest}'")
}

/// The Content-Security-Policy of the checkout and error pages. Nothing loads but the inline
/// style and script named by their hashes (so text that slipped past escaping still could not
/// run); the script talks only to paygate itself (status stream and polling); the QR code is
/// inline SVG; the page cannot be framed (clickjacking a payment page) nor rebased. Forms may
/// post only back to paygate, and only in sandbox mode, where the "simulate payment" form is
/// the one form of the page; in live mode no form may be sent anywhere.
#[must_use]
pub fn content_security_policy(sandbox: bool) -> &'static str {
    static LIVE: OnceLock<String> = OnceLock::new();
    static SANDBOX: OnceLock<String> = OnceLock::new();
    let policy = |form_action: &str| {
        format!(
            "default-src 'none'; script-src {script}; style-src {style}; img-src data:; \
             connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; \
             base-uri 'none'",
            script = source_hash(SCRIPT),
            style = source_hash(STYLE),
        )
    };
    if sandbox {
        SANDBOX.get_or_init(|| policy("'self'"))
    } else {
        LIVE.get_or_init(|| policy("'none'"))
    }
}

/// Sent with the checkout page and its error pages. The checkout token is in the URL, so a
/// `Referer` may carry only paygate's origin to a page linked from here (the channel's payment
/// page, the site's return page), never the path: WeChat's H5 payment wants the origin (it checks
/// it against the merchant's registered domain); and the answer, which shows the order as it is now, is not cached.
#[must_use]
pub fn security_headers(sandbox: bool) -> [(HeaderName, HeaderValue); 5] {
    let csp = HeaderValue::from_str(content_security_policy(sandbox))
        .unwrap_or(HeaderValue::from_static("default-src 'none'"));
    [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_served_style_and_script_and_nothing_inline_else() {
        for sandbox in [false, true] {
            let csp = content_security_policy(sandbox);
            assert!(
                csp.contains(&format!("script-src {}", source_hash(SCRIPT))),
                "{csp}"
            );
            assert!(
                csp.contains(&format!("style-src {}", source_hash(STYLE))),
                "{csp}"
            );
            assert!(!csp.contains("unsafe"), "{csp}");
            assert!(HeaderValue::from_str(csp).is_ok());
        }
        assert!(content_security_policy(true).contains("form-action 'self'"));
        assert!(content_security_policy(false).contains("form-action 'none'"));
    }

    #[test]
    fn the_inline_style_and_script_cannot_end_their_element_early() {
        assert!(!STYLE.contains("</"));
        assert!(!SCRIPT.contains("</"));
    }

    #[test]
    fn the_onward_page_posts_only_to_the_channel_and_its_cashier_hosts() {
        let live = onward_policy("https://openapi.alipay.com");
        assert!(
            live.contains("form-action https://openapi.alipay.com https://*.alipay.com;"),
            "{live}"
        );
        let sandbox = onward_policy("https://openapi-sandbox.dl.alipaydev.com");
        assert!(sandbox.contains("https://*.alipaydev.com;"), "{sandbox}");
        // A look-alike domain or plain HTTP gets no wildcard.
        for origin in [
            "https://evilalipay.com",
            "http://openapi.alipay.com",
            "http://127.0.0.1:9",
        ] {
            let csp = onward_policy(origin);
            assert!(csp.contains(&format!("form-action {origin};")), "{csp}");
        }
        assert!(live.contains(&format!("script-src {}", source_hash(SUBMIT_SCRIPT))));
    }
}

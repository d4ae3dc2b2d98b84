//! Forged requests. Two independent checks on every form that changes anything:
//!
//! - **Same origin** ([`same_origin_posts`]): any request but GET and HEAD must carry an `Origin`
//!   (or, from a browser that sends none, a `Referer`) on `public_url`'s origin. A page on another
//!   site cannot make a browser send ours; a request with neither header is refused too.
//! - **A token in the form**: a signed-in user's forms carry their session's CSRF token (random,
//!   kept with the session on the server, compared in constant time); the login form, which has no
//!   session yet, carries the random value of a short-lived cookie of its own (`pg_login`) that a
//!   page elsewhere can neither read nor set.
//!
//! The session cookie is also `SameSite=Strict`, so a cross-site request does not even carry it.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq as _;

use super::lang::lang_of;
use super::page::wrong_origin;

/// The origin every state-changing request must come from (`https://pay.example.com`,
/// `http://127.0.0.1:8080`), from `public_url`.
#[derive(Debug, Clone)]
pub(super) struct SameOrigin(String);

/// The longest origin a refusal repeats back: a header is the sender's to fill.
const SHOWN_ORIGIN_MAX: usize = 200;

impl SameOrigin {
    pub(super) fn of(public_url: &str) -> Self {
        let origin = url::Url::parse(public_url)
            .map(|u| u.origin().ascii_serialization())
            // An unparsable URL was refused by the settings; match nothing rather than anything.
            .unwrap_or_else(|_| "null".to_owned());
        Self(origin)
    }

    /// Where `headers` say the request comes from: the `Origin`, else the `Referer`'s origin;
    /// `None` when neither names one.
    fn sender(headers: &HeaderMap) -> Option<String> {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let origin = match text(header::ORIGIN) {
            Some(origin) => origin.to_owned(),
            None => url::Url::parse(text(header::REFERER)?)
                .ok()?
                .origin()
                .ascii_serialization(),
        };
        Some(origin.chars().take(SHOWN_ORIGIN_MAX).collect())
    }

    /// Whether `headers` say the request comes from this origin.
    pub(super) fn sent_from(&self, headers: &HeaderMap) -> bool {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        match (text(header::ORIGIN), text(header::REFERER)) {
            // `Origin: null` (a sandboxed frame, a privacy setting) is not ours either.
            (Some(origin), _) => origin == self.0,
            (None, Some(referer)) => {
                url::Url::parse(referer).is_ok_and(|u| u.origin().ascii_serialization() == self.0)
            }
            (None, None) => false,
        }
    }
}

/// Middleware: refuses (403) a request other than GET or HEAD not sent from [`SameOrigin`], with
/// a page that says so and names the address to open the console at: most often it is the
/// operator's own browser on another name of the same server (`localhost` for `127.0.0.1`).
pub(super) async fn same_origin_posts(
    State(origin): State<SameOrigin>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    if safe || origin.sent_from(req.headers()) {
        next.run(req).await
    } else {
        tracing::info!(
            path = req.uri().path(),
            "console: a form from another origin refused"
        );
        let lang = lang_of(req.uri(), req.headers());
        let sender = SameOrigin::sender(req.headers());
        wrong_origin(lang, &origin.0, sender.as_deref())
    }
}

/// Whether the token a form sent is `expected`, compared in constant time; an empty token never is.
pub(super) fn token_matches(expected: &str, sent: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn only_the_public_origin_may_post() {
        let ours = SameOrigin::of("https://pay.example.com/");
        assert!(ours.sent_from(&headers(&[(header::ORIGIN, "https://pay.example.com")])));
        assert!(ours.sent_from(&headers(&[(
            header::REFERER,
            "https://pay.example.com/console/orders/1"
        )])));
        for (name, value) in [
            (header::ORIGIN, "https://evil.example"),
            (header::ORIGIN, "http://pay.example.com"),
            (header::ORIGIN, "https://pay.example.com:8443"),
            (header::ORIGIN, "null"),
            (
                header::REFERER,
                "https://pay.example.com.evil.example/console",
            ),
            (header::REFERER, "not a url"),
        ] {
            assert!(
                !ours.sent_from(&headers(&[(name.clone(), value)])),
                "{name}: {value}"
            );
        }
        assert!(!ours.sent_from(&HeaderMap::new()), "neither header");
        // The Origin decides when there is one, whatever the Referer says.
        assert!(!ours.sent_from(&headers(&[
            (header::ORIGIN, "https://evil.example"),
            (header::REFERER, "https://pay.example.com/console"),
        ])));
    }

    #[test]
    fn the_sender_is_the_origin_else_the_referers_origin() {
        let sender = |pairs: &[(header::HeaderName, &str)]| SameOrigin::sender(&headers(pairs));
        assert_eq!(
            sender(&[(header::ORIGIN, "http://localhost:8080")]).as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(
            sender(&[(
                header::REFERER,
                "http://localhost:8080/console/orders/1?x=1"
            )])
            .as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(sender(&[(header::REFERER, "not a url")]), None);
        assert_eq!(sender(&[]), None);
        let long = format!("https://{}.example", "a".repeat(500));
        let shown = sender(&[(header::ORIGIN, long.as_str())]).unwrap();
        assert_eq!(shown.chars().count(), SHOWN_ORIGIN_MAX);
    }

    #[test]
    fn tokens_match_exactly_and_never_when_empty() {
        assert!(token_matches("abc123", "abc123"));
        assert!(!token_matches("abc123", "abc124"));
        assert!(!token_matches("abc123", "abc12"));
        assert!(!token_matches("abc123", ""));
        assert!(!token_matches("", ""));
    }
}

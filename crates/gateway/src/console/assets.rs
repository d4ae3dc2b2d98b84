//! The console's one stylesheet, compiled into the binary and served under a name that carries its
//! hash (so browsers may keep it for good, and a new build is fetched at once), and the headers of
//! every console page.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The stylesheet.
pub(super) const STYLE: &str = include_str!("console.css");

/// `console.<first 16 hex digits of its SHA-256>.css`.
static STYLE_FILE: LazyLock<String> = LazyLock::new(|| {
    let digest = hex::encode(Sha256::digest(STYLE));
    format!("console.{}.css", &digest[..16])
});

/// Where pages link the stylesheet.
pub(super) fn stylesheet_href() -> String {
    super::root::href(&format!("/console/assets/{}", *STYLE_FILE))
}

/// `GET /console/assets/{file}`: the stylesheet under its current name; anything else is a 404.
pub(super) async fn stylesheet(Path(file): Path<String>) -> Response {
    if file != *STYLE_FILE {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        STYLE,
    )
        .into_response()
}

/// Sent with every console page: nothing loads but the stylesheet from paygate itself (no script
/// at all), forms post only back to paygate, no page can be framed (clickjacking an action) or
/// rebased, the `Referer` of a link leaves only paygate's origin, and nothing is cached (pages
/// show money and personal data).
pub(super) fn page_headers() -> [(HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
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
    fn the_stylesheet_is_named_by_its_content() {
        assert!(stylesheet_href().starts_with("/console/assets/console."));
        assert!(stylesheet_href().ends_with(".css"));
        assert_eq!(
            stylesheet_href().len(),
            "/console/assets/console..css".len() + 16
        );
    }
}

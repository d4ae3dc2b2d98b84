//! Where the console is in the browser: `/console` under `public_url`'s path. Behind a proxy that
//! serves paygate under a prefix and strips it before forwarding (`public_url =
//! https://pay.example.com/gw`), the routes here are still `/console/…`, but every link, form,
//! redirect and cookie path the browser sees must be `/gw/console/…`: [`href`] makes them.
//!
//! The prefix is set for each request by [`with_prefix`], around the console's handlers, as a
//! task-local: every answer built while handling the request — a page, a redirect, an error page
//! from inside an extractor or the same-origin check — names the same paths without each of the
//! functions that build one being handed the settings.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// `public_url`'s path without its trailing slash: `""` at the root, `/gw` under a prefix.
#[derive(Debug, Clone)]
pub(super) struct Prefix(Arc<str>);

impl Prefix {
    pub(super) fn of(public_url: &str) -> Self {
        let path = url::Url::parse(public_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            // An unparsable URL was refused by the settings.
            .unwrap_or_default();
        Self(path.into())
    }
}

tokio::task_local! {
    static PREFIX: Prefix;
}

/// `path`, a console route (`/console`, `/console/orders/1?done=refund`), as the browser must ask
/// for it. Outside a request (unit tests) it is `path` itself.
pub(super) fn href(path: &str) -> String {
    PREFIX
        .try_with(|prefix| format!("{}{path}", prefix.0))
        .unwrap_or_else(|_| path.to_owned())
}

/// Middleware: handles the request with `prefix` for [`href`].
pub(super) async fn with_prefix(
    State(prefix): State<Prefix>,
    req: Request,
    next: Next,
) -> Response {
    PREFIX.scope(prefix, next.run(req)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paths_are_under_the_public_urls_path() {
        for (public_url, expected) in [
            ("http://127.0.0.1:8080", "/console/orders"),
            ("https://pay.example.com/", "/console/orders"),
            ("https://pay.example.com/gw", "/gw/console/orders"),
            ("https://pay.example.com/gw/", "/gw/console/orders"),
            ("https://example.com/a/b", "/a/b/console/orders"),
        ] {
            let prefix = Prefix::of(public_url);
            let made = PREFIX
                .scope(prefix, async { href("/console/orders") })
                .await;
            assert_eq!(made, expected, "{public_url}");
        }
        assert_eq!(href("/console"), "/console", "outside a request");
    }
}

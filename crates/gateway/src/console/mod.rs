//! The operator console and the sites' portal over HTTP: server-rendered pages (askama templates
//! compiled into the binary, one stylesheet served from it, no script), Chinese by default and
//! English by `?lang=en`, for the console users of `service::accounts`.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /console/login`, `POST /console/login` | anyone | sign in (and the second factor's code, when the user has one) |
//! | `POST /console/logout` | signed in | sign out |
//! | `GET /console` | signed in | the dashboard |
//! | `GET /console/orders` | signed in | the order search, a page at a time |
//! | `GET /console/orders/{id}` | signed in | an order and everything that happened to it |
//! | `POST /console/orders/{id}/{refund,close,query}` | admin, site | an action: first a confirmation page, then (`confirm=yes`) the action |
//! | `POST /console/orders/{id}/notifications/{event}/resend` | admin, site | likewise, a notification sent again |
//! | `GET /console/sites`, `GET /console/sites/{id}` | signed in | the sites in the user's scope, one site (a site user's portal) |
//! | `GET /console/sites/new`, `POST /console/sites` | admin | a new site, then to its keys |
//! | `POST /console/sites/{id}/edit` | admin; site (notify URL only) | a site's name, notify URL, methods |
//! | `POST /console/sites/{id}/{disable,enable,rotate}` | admin; site (rotate only) | confirmed first; a rotation then to the keys |
//! | `GET /console/sites/{id}/keys` | who made the SK, in that session | a new SK shown once (a reload says it was) |
//! | `GET /console/notifications?status=&site=` | signed in | notifications to sites in one status (failed by default), of one site if asked |
//! | `POST /console/notifications/resend-failed` | admin, site | every failed notification of a site sent again, confirmed first |
//! | `GET /console/anomalies[?show=all]` | signed in | open anomalies (or all), each with its order |
//! | `POST /console/anomalies/{id}/acknowledge` | admin | an anomaly seen to, with a note |
//! | `GET /console/sites/{id}/statement?date=&format=` | signed in | a site's statement of a day as a file (CSV or JSON, as the API's) |
//! | `GET /console/reconciliation[?before=]` | admin, viewer | the days reconciled or planned, a month a page |
//! | `GET /console/reconciliation/{channel}/{date}` | admin, viewer | one channel's day: its runs and discrepancies |
//! | `POST /console/reconciliation/{channel}/{date}/rerun` | admin | the day planned to be reconciled again, audited |
//! | `GET /console/users`, `POST /console/users` | admin | the console users; a new one |
//! | `POST /console/users/{id}/{disable,reset}` | admin | disable one (confirmed first, never oneself), give one a new password |
//! | `GET /console/audit` | admin | the audit log |
//! | `GET /console/assets/console.<hash>.css` | anyone | the stylesheet |
//!
//! Security, in one place each: the session cookie and who is signed in (`session`); the same
//! origin of every POST and the CSRF tokens (`csrf`); the client address behind trusted proxies
//! (`client`); the headers of every page (`assets`). What a user may see is decided by
//! `service::console`, in its queries: another site's order is not found (404), and a viewer's
//! POST is refused (403). A path that exists for another method only is a 404 too.

mod assets;
mod client;
mod csrf;
mod form;
mod format;
mod lang;
mod page;
mod pages;
mod root;
mod session;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get, post};

use crate::api::TrustedProxies;
use crate::service::{AccountService, ConsoleService};

pub use lang::Lang;

/// What the console needs: the account service (sign-in, sessions), the console service (reads
/// and actions) and its settings.
#[derive(Clone)]
pub struct ConsoleState {
    pub accounts: AccountService,
    pub console: ConsoleService,
    pub settings: ConsoleSettings,
}

#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// Where users reach paygate (`https://pay.example.com`): every form must be posted from its
    /// origin, and the session cookie is `Secure` when it is https. Its path, if any, is where a
    /// proxy serves paygate (`https://pay.example.com/gw`, the proxy stripping `/gw`): the
    /// console's links, redirects and cookies are under it (`root`).
    pub public_url: String,
    /// Sandbox mode: every page says so.
    pub sandbox: bool,
    /// The proxies whose `X-Forwarded-For` names the client (the per-address login limit and the
    /// audit log), as the API's per-client limit believes them.
    pub trusted_proxies: TrustedProxies,
}

impl ConsoleSettings {
    /// Whether cookies must be sent over https only.
    #[must_use]
    pub fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The console's routes. Every request that is not a GET must come from `public_url`'s origin.
pub fn router(state: ConsoleState) -> Router {
    let origin = csrf::SameOrigin::of(&state.settings.public_url);
    let prefix = root::Prefix::of(&state.settings.public_url);
    Router::new()
        .route(
            "/console/login",
            get(pages::login::form).post(pages::login::submit),
        )
        .route("/console/logout", post(pages::login::logout))
        .route("/console", get(pages::dashboard::show))
        .route("/console/orders", get(pages::orders::search))
        .route("/console/orders/{id}", get(pages::order::show))
        .route(
            "/console/orders/{id}/{action}",
            post(pages::actions::order_action),
        )
        .route(
            "/console/orders/{id}/notifications/{event}/resend",
            post(pages::actions::resend),
        )
        .route(
            "/console/sites",
            get(pages::sites::list).post(pages::sites::create),
        )
        .route("/console/sites/new", get(pages::sites::new_form))
        .route("/console/sites/{id}", get(pages::site::show))
        .route("/console/sites/{id}/keys", get(pages::sites::keys))
        .route(
            "/console/sites/{id}/statement",
            get(pages::statement::download),
        )
        .route("/console/sites/{id}/{action}", post(pages::site::act))
        .route(
            "/console/sites/{id}/protocols/{protocol}/{action}",
            post(pages::site_protocols::act),
        )
        .route("/console/notifications", get(pages::notifications::show))
        .route(
            "/console/notifications/resend-failed",
            post(pages::notifications::resend_failed),
        )
        .route("/console/anomalies", get(pages::anomalies::show))
        .route(
            "/console/anomalies/{id}/acknowledge",
            post(pages::anomalies::acknowledge),
        )
        .route("/console/reconciliation", get(pages::reconciliation::list))
        .route(
            "/console/reconciliation/{channel}/{date}",
            get(pages::reconciliation_day::show),
        )
        .route(
            "/console/reconciliation/{channel}/{date}/rerun",
            post(pages::reconciliation_day::rerun),
        )
        .route(
            "/console/users",
            get(pages::users::list).post(pages::users::create),
        )
        .route("/console/users/{id}/{action}", post(pages::users::act))
        .route("/console/audit", get(pages::audit::show))
        .route("/console/assets/{file}", get(assets::stylesheet))
        .route("/console/{*rest}", any(page::not_found))
        // An action's path opened in the browser (a GET of a POST-only route) is a page that does
        // not exist, like another site's objects: the same 404, never a 405 that tells it apart.
        .method_not_allowed_fallback(page::not_found)
        .route_layer(from_fn_with_state(origin, csrf::same_origin_posts))
        // Outermost: the same-origin check's refusal names the prefixed paths too.
        .route_layer(from_fn_with_state(prefix, root::with_prefix))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_only_behind_an_https_public_url() {
        let settings = |url: &str| ConsoleSettings {
            public_url: url.to_owned(),
            sandbox: false,
            trusted_proxies: TrustedProxies::default(),
        };
        assert!(settings("https://pay.example.com").secure());
        assert!(!settings("http://127.0.0.1:8080").secure());
    }
}

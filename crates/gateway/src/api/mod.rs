//! The merchant HTTP API: request signing, the 1Pass-compatible routes (seed 000), `/v1`, errors,
//! OpenAPI, health and metrics.
//!
//! | route | auth | answer |
//! |---|---|---|
//! | `POST /pay/wechat/native` | signed | seed 000's `{out_trade_no, code_url, prepay_id, status, checkout_url}` |
//! | `GET /pay/wechat/status?token=` | token | `{out_trade_no, status, amount_total, currency, description, expires_at, paid_at}` |
//! | `GET /pay/{wechat,alipay}/checkout?token=`, `GET /checkout/{token}` | token | the checkout page (HTML; `crate::checkout`) |
//! | `GET /pay/events?token=` | token | server-sent `status` events (the status route's JSON) until a final status |
//! | `GET /combined-checkout/{token}`, `…/status`, `…/events` | combined order's token | a combined order's page, its status, its status events (`checkout_combined`) |
//! | `POST /v1/orders`, `GET /v1/orders/{no}`, `POST /v1/orders/{no}/close` | signed | the order with `pay_params` and its refunds |
//! | `POST /v1/orders/{no}/refunds`, `GET /v1/refunds/{out_refund_no}` | signed | the refund |
//! | `POST /v1/orders/{no}/splits`, `GET /v1/splits/{out_split_no}` | signed | the split (分账) |
//! | `GET /v1/balance` | signed | the site's balance from the ledger: `{paid, refunded, fees, shared, net}` |
//! | `/openapi.json`, `/docs`, `/healthz`, `/readyz` | none | |
//!
//! The other protocols' routes (EPay's `submit.php`, `mapi.php`, `api.php`…) are adapters in
//! `compat`, outside the OpenAPI document: their clients follow those protocols' own documents.
//!
//! Every route of paygate's own API is listed once, in `routes.rs`. The app merges two more sets of unsigned routes into
//! this router ([`router`]'s `unsigned`): the channel callbacks (`crate::callbacks`, checked by the
//! channel's own signature) and, in sandbox mode, `/sandbox/*`.
//!
//! `/metrics` is not here: it is served on a listener of its own ([`metrics_router`]), by default on
//! loopback, as it tells anyone who can read it how much money moves.
//!
//! Every route's body is read whole within `http.body_read_timeout` ([`body`]); the unsigned routes
//! are also limited per client ([`rate_limit`]); [`serve`] adds the header deadline.

mod auth;
mod balance;
mod body;
mod checkout;
mod checkout_apps;
mod checkout_combined;
mod combined;
mod compat;
pub mod error;
mod events;
mod health;
mod input;
mod metrics;
mod notifications;
mod onepass;
pub mod openapi;
mod rate_limit;
mod refunds;
mod request;
mod routes;
mod server;
mod split_body;
mod splits;
mod statements;
mod v1;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware::from_fn_with_state;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use auth::nonce_retention;
pub use error::{ApiError, AuthError};
pub use metrics::{MetricsSettings, MetricsToken, router as metrics_router};
pub use rate_limit::{RateLimit, TrustedProxies};
pub use server::serve;
pub use statements::{StatementFormat, statement_response};

use crate::service::{
    CompatKeyService, Failpoint, NotificationService, OrderService, ServiceSettings, Services,
    SiteService,
};

/// What the API needs: the services (built once, by the app) and its settings.
#[derive(Clone)]
pub struct ApiState {
    pub services: Services,
    pub settings: ApiSettings,
}

/// The API's settings.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Where payers and sites reach this paygate (`http://127.0.0.1:8080`): `checkout_url` is built on it.
    pub public_url: String,
    /// Sandbox mode: the checkout page says that no real money moves.
    pub sandbox: bool,
    /// A test hook, only in test builds; see [`Failpoint`]. [`ApiSettings::new`] reads it from
    /// the environment.
    pub failpoint: Option<Failpoint>,
    /// How far `X-1Pass-Ts` may be from the server's clock (300 s); nonces are kept a little longer
    /// than twice that ([`nonce_retention`]).
    pub signature_window: Duration,
    /// The largest request body accepted.
    pub body_limit: usize,
    /// Deadlines for slow clients and the per-client limit.
    pub http: HttpSettings,
}

/// What protects paygate from slow and flooding clients (`[http]` in the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// How long a client may take to send a request's headers; also how long an idle keep-alive
    /// connection waits for its next request. Applied by [`serve`].
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body, all of it.
    pub body_read_timeout: Duration,
    /// The per-client limit on the unsigned routes; `None` turns it off.
    pub rate_limit: Option<RateLimit>,
    /// Whose `X-Forwarded-For` names the client (for the limit); none by default.
    pub trusted_proxies: TrustedProxies,
}

impl Default for HttpSettings {
    /// Ten seconds for a few hundred bytes of headers, or a body of at most 64 KiB, is generous for
    /// a payer on a poor mobile network and short for a client that means to hold connections.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            rate_limit: Some(RateLimit::DEFAULT),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

impl ApiSettings {
    /// What the services need to know of these settings.
    #[must_use]
    pub fn service_settings(&self) -> ServiceSettings {
        ServiceSettings {
            failpoint: self.failpoint,
            ..ServiceSettings::new(self.public_url.clone())
        }
    }

    pub const DEFAULT_SIGNATURE_WINDOW: Duration = Duration::from_secs(300);
    pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

    /// The defaults for a paygate reached at `public_url`; in a test build, with the failpoint
    /// read from `PAYGATE_FAILPOINT` (once, here, at start-up).
    #[must_use]
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            sandbox: false,
            failpoint: Failpoint::from_env(),
            signature_window: Self::DEFAULT_SIGNATURE_WINDOW,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            http: HttpSettings::default(),
        }
    }
}

/// What every handler gets: services, never the store. Shared behind one `Arc`: axum clones the
/// state for every request, and cloning each service's handles instead (a dozen reference counts
/// that every core touches) showed in the profile of status polling.
#[derive(Clone)]
pub(crate) struct Ctx(Arc<CtxInner>);

pub(crate) struct CtxInner {
    orders: OrderService,
    sites: SiteService,
    notifications: NotificationService,
    compat: CompatKeyService,
    settings: ApiSettings,
}

impl std::ops::Deref for Ctx {
    type Target = CtxInner;

    fn deref(&self) -> &CtxInner {
        &self.0
    }
}

/// The merchant API's routes, with request ids, tracing, metrics and the body rules, and `unsigned`:
/// routes composed by the app that take no merchant signature (the channel callbacks; in sandbox
/// mode `/sandbox/*`), which get the same layers, body rules and per-client limit as the API's own
/// unsigned routes. There is a JSON 404/405 fallback, so `unsigned` must not define one.
pub fn router(state: ApiState, unsigned: Router) -> Router {
    // Install the recorder before the first request records anything.
    let _ = metrics::handle();
    let body_limit = state.settings.body_limit;
    let body_rules = body_rules(&state.settings);
    let http = state.settings.http.clone();
    let Services {
        orders,
        sites,
        notifications,
        compat,
        // The console's: not the merchant API's business.
        accounts: _,
        console: _,
    } = state.services;
    let ctx = Ctx(Arc::new(CtxInner {
        orders,
        sites,
        notifications,
        compat,
        settings: state.settings,
    }));
    let request_id = HeaderName::from_static("x-request-id");
    let mut signed = routes::add(Router::new(), routes::signed())
        .route_layer(from_fn_with_state(body_rules, body::read_whole));
    if let Some(rate) = http.rate_limit {
        // Outside the body rules: a client out of failures is refused before its body is read.
        signed = signed.route_layer(from_fn_with_state(
            rate_limit::Limiter::new(rate, http.trusted_proxies.clone()),
            rate_limit::limit_failures,
        ));
    }
    // The other protocols' routes: signed in their own ways, so limited like the signed routes.
    let mut compat = compat::routes().route_layer(from_fn_with_state(body_rules, body::read_whole));
    if let Some(rate) = http.rate_limit {
        compat = compat.route_layer(from_fn_with_state(
            rate_limit::Limiter::new(rate, http.trusted_proxies.clone()),
            rate_limit::limit_failures,
        ));
    }
    let open = routes::add(Router::new(), routes::open());
    // The app's unsigned routes share the API's unsigned limiter.
    let open = open.with_state(ctx.clone()).merge(unsigned);
    Router::new()
        .merge(compat.with_state(ctx.clone()))
        .merge(signed.with_state(ctx))
        .merge(guard_unsigned(open, body_rules, &http))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(span))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

fn body_rules(settings: &ApiSettings) -> body::BodyRules {
    body::BodyRules {
        timeout: settings.http.body_read_timeout,
        limit: settings.body_limit,
    }
}

/// The body rules, then (outside them, so that a client over its limit is refused before its body
/// is read) the per-client limit.
fn guard_unsigned<S>(
    routes: Router<S>,
    body_rules: body::BodyRules,
    http: &HttpSettings,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let routes = routes.route_layer(from_fn_with_state(body_rules, body::read_whole));
    match http.rate_limit {
        Some(rate) => routes.route_layer(from_fn_with_state(
            rate_limit::Limiter::new(rate, http.trusted_proxies.clone()),
            rate_limit::limit,
        )),
        None => routes,
    }
}

/// One span per request, carrying its id. The path only, never the query: it may hold a token.
fn span<B>(req: &Request<B>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", id, method = %req.method(), path = req.uri().path())
}

/// JSON 404 for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

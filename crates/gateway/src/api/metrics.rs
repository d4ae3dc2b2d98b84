//! Prometheus metrics: requests by route and status, latency histograms, upstream calls (counted in
//! `service`), served at `/metrics` on a listener of their own (`metrics.listen`, loopback by
//! default), optionally behind a bearer token (`metrics.token`). Not on the API's listener: order
//! counts, amounts of activity and failure rates are the operator's business, not the internet's.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq as _;

/// Where `/metrics` is served (`[metrics]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `None` (`metrics.listen = "off"`): not served at all.
    pub listen: Option<SocketAddr>,
    /// When set, a scrape must send `Authorization: Bearer <token>`.
    pub token: Option<MetricsToken>,
    /// `listen` was given, not the default: an address that cannot be bound stops paygate. The
    /// default address taken by something else only costs the metrics, with a warning, so that
    /// the first start on a developer's machine does not fail over a side port.
    pub explicit: bool,
}

impl MetricsSettings {
    /// Loopback, on the port OpenTelemetry's Prometheus exporter uses (9090, the usual example, is
    /// Prometheus's own port, often on the same machine).
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";
}

/// The bearer token a scraper must present: at least 16 visible ASCII characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    pub const MIN_LEN: usize = 16;

    /// # Errors
    /// Why the text cannot be a token (without repeating it).
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.len() < Self::MIN_LEN || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be at least 16 visible ASCII characters, without spaces");
        }
        Ok(Self(s.to_owned()))
    }

    /// Whether `Authorization` carries this token, compared in constant time.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        bool::from(presented.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// The metrics listener's routes: `GET /metrics`, behind `token` when there is one.
pub fn router(token: Option<MetricsToken>) -> Router {
    // Install the recorder before the first scrape.
    let _ = handle();
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(token.map(Arc::new))
}

async fn scrape(State(token): State<Option<Arc<MetricsToken>>>, headers: HeaderMap) -> Response {
    match token {
        Some(token) if !token.admits(&headers) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            "metrics.token is set: send Authorization: Bearer <token>\n",
        )
            .into_response(),
        _ => render(),
    }
}

/// Latency buckets in seconds: a few ms for reads, up to the channels' 10 s-class timeouts.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide recorder. `metrics` has one global recorder, so every router in the process
/// (several in tests) shares it; `None` if another recorder was installed first.
pub(super) fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Middleware: counts and times every request under its route template (never the raw path, which
/// would carry order numbers into label values).
pub(super) async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "paygate_http_requests_total",
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status,
    )
    .increment(1);
    metrics::histogram!(
        "paygate_http_request_duration_seconds",
        "route" => route,
        "method" => method,
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// The Prometheus text format.
fn render() -> Response {
    let text = handle().map_or_else(String::new, |h| {
        h.run_upkeep();
        h.render()
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_is_admitted() {
        let token = MetricsToken::parse("0123456789abcdef").unwrap();
        assert!(token.admits(&bearer("Bearer 0123456789abcdef")));
        for wrong in [
            "Bearer 0123456789abcdeX",
            "Bearer 0123456789abcde",
            "Bearer 0123456789abcdef0",
            "Basic 0123456789abcdef",
            "0123456789abcdef",
            "Bearer ",
        ] {
            assert!(!token.admits(&bearer(wrong)), "{wrong}");
        }
        assert!(!token.admits(&HeaderMap::new()));
    }

    #[test]
    fn a_token_is_long_and_never_printed() {
        assert!(MetricsToken::parse("short").is_err());
        assert!(MetricsToken::parse("sixteen chars ok").is_err(), "spaces");
        let token = MetricsToken::parse("0123456789abcdef").unwrap();
        assert!(!format!("{token:?}").contains("0123"));
    }
}

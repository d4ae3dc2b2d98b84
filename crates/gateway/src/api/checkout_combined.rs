//! The payer's page of a combined order (合单), `GET /combined-checkout/{token}`, and its live
//! status: `…/status` (JSON, for polling) and `…/events` (server-sent events). The page is
//! `crate::checkout::CombinedPage`; its script is the single order's, fed the combined order's
//! status in the same shape, so it behaves as that page does. The token is the combined order's
//! own (`checkout_url` of `/v1/combined-orders`): a sub-order's token opens nothing here.

use std::collections::HashMap;

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::future::select_all;
use serde::Serialize;
use utoipa::ToSchema;

use super::Ctx;
use super::checkout::{Failure, query_param};
use super::error::{ApiError, ErrorBody};
use super::events::HEARTBEAT;
use crate::checkout::{CombinedCheckout, CombinedItem, CombinedPage, Lang, security_headers};
use crate::domain::{CheckoutToken, CombinedOrder, Order, PayerStatus, SiteId, Timestamp};
use crate::live::{OrderWatch, Signal};
use crate::service::{CombineError, OrderService};

/// The combined order's status as its page's script reads it: the shape of the single order's
/// status route, so that one script serves both pages.
#[derive(Debug, Serialize, ToSchema)]
pub struct CombinedStatus {
    /// `paid` once every sub-order is paid; `closed` or `failed` when one is; else `pending`
    /// (`created` before it reached WeChat Pay).
    #[schema(example = "pending")]
    pub status: &'static str,
    /// Fen: what the payer pays in all.
    pub amount_total: i64,
    #[schema(example = "CNY")]
    pub currency: &'static str,
    pub expires_at: String,
    pub paid_at: Option<String>,
}

impl CombinedStatus {
    fn of(combined: &CombinedOrder, sub_orders: &[Order]) -> Self {
        let s = PayerStatus::of(sub_orders);
        Self {
            status: s.status.as_str(),
            amount_total: combined.amount_total,
            currency: "CNY",
            expires_at: combined.expires_at.to_rfc3339(),
            paid_at: s.paid_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// The checkout page of a combined order.
#[utoipa::path(
    get, path = "/combined-checkout/{token}", tag = "Checkout",
    params(
        ("token" = String, Path, description = "The `ck_…` token of the combined order's checkout_url"),
        ("lang" = Option<String>, Query, description = "`en` for English; Chinese otherwise, unless `Accept-Language` prefers English"),
    ),
    responses(
        (status = 200, description = "The page: the total, each sub-order (site, description, amount), the way to pay, countdown, live status", content_type = "text/html"),
        (status = 404, description = "An HTML error page: no combined order has this token", content_type = "text/html"),
    )
)]
pub async fn page(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Response {
    let asked = query_param(&uri, "lang");
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = Lang::negotiate(asked.as_deref(), accept);
    let lang_in_url = asked.as_deref().and_then(Lang::from_tag).is_some();
    // Read from the path by hand rather than with `Path`: its rejection would answer plain text,
    // not the error page.
    let token = uri.path().strip_prefix("/combined-checkout/");
    let (status, html) = match render(&ctx, token, uri.path(), lang, lang_in_url).await {
        Ok(html) => (StatusCode::OK, html),
        Err(failure) => failure.page(lang),
    };
    (status, security_headers(ctx.settings.sandbox), Html(html)).into_response()
}

async fn render(
    ctx: &Ctx,
    token: Option<&str>,
    path: &str,
    lang: Lang,
    lang_in_url: bool,
) -> Result<String, Failure> {
    let token = token
        .and_then(|t| CheckoutToken::parse(t).ok())
        .ok_or(Failure::NotFound)?;
    let view = ctx
        .orders
        .combined_by_token(&token)
        .await
        .map_err(|e| failure_of(&e))?;
    let mut names: HashMap<String, String> = HashMap::new();
    let wanted =
        std::iter::once(&view.combined.platform).chain(view.sub_orders.iter().map(|o| &o.site_id));
    for id in wanted {
        if names.contains_key(id.as_str()) {
            continue;
        }
        let site = ctx.sites.by_id(id).await.map_err(|e| Failure::of(&e))?;
        let name = site.map_or_else(|| "paygate".to_owned(), |s| s.name.as_str().to_owned());
        names.insert(id.as_str().to_owned(), name);
    }
    let name_of = |id: &SiteId| names.get(id.as_str()).map_or("paygate", String::as_str);
    let page = CombinedPage::new(&CombinedCheckout {
        combined: &view.combined,
        path,
        status: PayerStatus::of(&view.sub_orders),
        items: view
            .sub_orders
            .iter()
            .map(|o| CombinedItem {
                site_name: name_of(&o.site_id),
                description: &o.description,
                amount: o.amount,
            })
            .collect(),
        site_name: name_of(&view.combined.platform),
        pay_params: view.pay_params.as_ref(),
        lang,
        lang_in_url,
        sandbox: ctx.settings.sandbox,
        now: Timestamp::now(),
    });
    page.render().map_err(|e| {
        tracing::error!(error = %e, "combined checkout: cannot render the page");
        Failure::Internal
    })
}

fn failure_of(e: &CombineError) -> Failure {
    match e {
        CombineError::Service(e) => Failure::of(e),
        CombineError::NotFound => Failure::NotFound,
        other => {
            tracing::error!(error = %other, "combined checkout: cannot serve the combined order");
            Failure::Internal
        }
    }
}

/// The combined order's status now, for its page to poll. Read as stored: nothing upstream.
#[utoipa::path(
    get, path = "/combined-checkout/{token}/status", tag = "Checkout",
    params(("token" = String, Path, description = "The `ck_…` token of the combined order's checkout_url")),
    responses(
        (status = 200, description = "The combined order's status for its payer", body = CombinedStatus),
        (status = 404, description = "combined_order_not_found (also a malformed token)", body = ErrorBody),
    )
)]
pub async fn status(
    State(ctx): State<Ctx>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let token = CheckoutToken::parse(&token).map_err(|_| CombineError::NotFound)?;
    let (combined, subs) = ctx.orders.combined_state_by_token(&token).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(CombinedStatus::of(&combined, &subs)),
    )
        .into_response())
}

/// The combined order's status now, then at every change of it, as `event: status` with the
/// status route's JSON; ends once it is `paid`, `closed` or `refunded`.
#[utoipa::path(
    get, path = "/combined-checkout/{token}/events", tag = "Checkout",
    params(("token" = String, Path, description = "The `ck_…` token of the combined order's checkout_url")),
    responses(
        (status = 200, content_type = "text/event-stream",
         description = "Server-sent events, as `GET /pay/events` sends an order's: `event: status` \
            with what `/combined-checkout/{token}/status` answers, first now and then each time it \
            changes; a `: ping` comment every 15 s."),
        (status = 404, description = "combined_order_not_found (also a malformed token)", body = ErrorBody),
    )
)]
pub async fn events(
    State(ctx): State<Ctx>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let token = CheckoutToken::parse(&token).map_err(|_| CombineError::NotFound)?;
    let hub = ctx.orders.order_changes();
    // Taken before the read, as for an order's stream: a change in between is not missed.
    let mark = hub.mark();
    let (combined, subs) = ctx.orders.combined_state_by_token(&token).await?;
    let watches = subs.iter().map(|o| hub.watch(o.id, mark)).collect();
    let first = CombinedStatus::of(&combined, &subs);
    let watching = Watching {
        watches,
        orders: ctx.orders.clone(),
        token,
        shown: None,
    };
    let stream = futures_util::stream::unfold(
        (Some(first), Some(watching)),
        |(next, watching)| async move {
            let mut watching = watching?;
            let status = match next {
                Some(status) => status,
                None => watching.next_change().await?,
            };
            let event = Event::default().event("status").json_data(&status);
            let done = matches!(status.status, "paid" | "closed" | "refunded");
            watching.shown = Some(status.status);
            Some((event, (None, (!done).then_some(watching))))
        },
    );
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text(" ping"));
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        sse,
    )
        .into_response())
}

/// One open stream: a watch on every sub-order (any of them changing may change the whole).
struct Watching {
    watches: Vec<OrderWatch>,
    orders: OrderService,
    token: CheckoutToken,
    shown: Option<&'static str>,
}

impl Watching {
    /// The status once it differs from the one shown; `None` ends the stream.
    async fn next_change(&mut self) -> Option<CombinedStatus> {
        loop {
            if self.watches.is_empty() {
                return None;
            }
            let changed = self.watches.iter_mut().map(|w| Box::pin(w.changed()));
            match select_all(changed).await.0 {
                Signal::Closing => return None,
                Signal::Changed => {}
            }
            match self.orders.combined_state_by_token(&self.token).await {
                Ok((combined, subs)) => {
                    let status = CombinedStatus::of(&combined, &subs);
                    if Some(status.status) != self.shown {
                        return Some(status);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a combined status stream could not read its order; ending it");
                    return None;
                }
            }
        }
    }
}

//! `GET /pay/events?token=ck_…`: the order's status as server-sent events, for the checkout page.
//!
//! The stream reads the order once when it opens, then only when this process's hub
//! ([`crate::live`]) says the order may have changed: thousands of open pages cost no database
//! query while nothing happens. Every event is exactly what `GET /pay/wechat/status` answers, and
//! one is sent only when the status differs from the last one sent, however many signals came.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::Ctx;
use super::error::{ApiError, ErrorBody};
use super::onepass::token_of;
use super::views::TokenStatus;
use crate::domain::{CheckoutToken, Order, OrderStatus};
use crate::live::{OrderWatch, Signal};
use crate::service::OrderService;

/// A comment this often keeps proxies and load balancers from closing a quiet stream, and lets the
/// server notice a payer who left (the write fails).
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The order's status now, then at every change, as `event: status` with the status route's JSON.
#[utoipa::path(
    get, path = "/pay/events", tag = "1Pass",
    params(("token" = String, Query, description = "The `ck_…` token of the order's checkout_url")),
    responses(
        (status = 200, content_type = "text/event-stream",
         description = "Server-sent events. First `event: status` with `data:` exactly what \
            `GET /pay/wechat/status` answers for the token, then one such event each time the \
            order's status changes. The stream ends after a final status for the page: `paid`, \
            `closed` or `refunded` (`failed` may still become `paid` when the payer retries). \
            A comment line `: ping` is sent every 15 s while nothing happens. A client should close \
            its EventSource on a final status: a browser otherwise reconnects and gets it again."),
        (status = 400, description = "missing_fields: no token", body = ErrorBody),
        (status = 404, description = "order_not_found", body = ErrorBody),
    )
)]
pub async fn stream(State(ctx): State<Ctx>, uri: Uri) -> Result<Response, ApiError> {
    let token = token_of(&uri)?;
    let hub = ctx.orders.order_changes();
    // Taken before the read: a change committed between the read and the subscription is then
    // noticed (see `OrderChanges::watch`).
    let mark = hub.mark();
    let order = ctx.orders.order_by_token(&token).await?;
    let watching = Watching {
        watch: hub.watch(order.id, mark),
        orders: ctx.orders.clone(),
        token,
        shown: order.status,
    };
    let events = futures_util::stream::unfold(Step::Show(Box::new(order), watching), step);
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT).text(" ping"));
    Ok((stream_headers(), sse).into_response())
}

/// Never stored (the events show the order), and not held back by a buffering proxy (nginx reads
/// `X-Accel-Buffering`): an event buffered until the stream ends would arrive too late.
fn stream_headers() -> [(HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        ),
    ]
}

/// Whether the checkout page has nothing more to wait for. `failed` is not final: WeChat Pay
/// reports a failed attempt and the payer may retry and pay. `paid` is final for the page even
/// though a refund may follow much later.
fn ends_stream(status: OrderStatus) -> bool {
    match status {
        OrderStatus::Paid | OrderStatus::Closed | OrderStatus::Refunded => true,
        OrderStatus::Created | OrderStatus::Pending | OrderStatus::Failed => false,
    }
}

enum Step {
    /// Send this order's status, then go on watching unless it is final.
    Show(Box<Order>, Watching),
    Wait(Watching),
    Done,
}

/// One open stream: its order's signals, and how to read the order again.
struct Watching {
    watch: OrderWatch,
    orders: OrderService,
    token: CheckoutToken,
    /// The status of the last event sent.
    shown: OrderStatus,
}

async fn step(step: Step) -> Option<(Result<Event, axum::Error>, Step)> {
    let (order, mut watching) = match step {
        Step::Done => return None,
        Step::Show(order, watching) => (*order, watching),
        Step::Wait(mut watching) => {
            let order = watching.next_change().await?;
            (order, watching)
        }
    };
    let event = Event::default()
        .event("status")
        .json_data(TokenStatus::from(&order));
    let next = if ends_stream(order.status) {
        Step::Done
    } else {
        watching.shown = order.status;
        Step::Wait(watching)
    };
    Some((event, next))
}

impl Watching {
    /// The order once its status differs from the one shown; `None` ends the stream (shutdown, or
    /// the order could not be read: the browser reconnects and starts again).
    async fn next_change(&mut self) -> Option<Order> {
        loop {
            match self.watch.changed().await {
                Signal::Closing => return None,
                Signal::Changed => {}
            }
            match self.orders.order_by_token(&self.token).await {
                Ok(order) if order.status != self.shown => return Some(order),
                // A duplicate signal (this node hears its own changes from PostgreSQL too), or a
                // change that left the status alone.
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "a status stream could not read its order; ending it");
                    return None;
                }
            }
        }
    }
}

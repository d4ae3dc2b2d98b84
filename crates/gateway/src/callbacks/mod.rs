//! Channel callbacks over HTTP: where WeChat Pay and Alipay tell paygate that an order was paid or
//! closed. This is only the adapter: the channel verifies and decodes (`crate::channels`, each
//! channel's `callback` module), and every change goes through
//! [`OrderService::apply_upstream`].
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /callbacks/wechat/{mchid}` | WeChat Pay's signed, encrypted envelope | 204; else 4xx/5xx `{"code":"FAIL","message":…}` |
//! | `POST /callbacks/alipay/{app_id}` | Alipay's signed form (`trade_status_sync`) | `success`; else `fail` |
//!
//! Nothing in a callback is believed before its signature verifies ([`rejected`] records those
//! that do not). Verified news is matched against paygate's order and, where the channel needs
//! it, confirmed with a query first ([`news`]); refund news is matched against paygate's refund and
//! its order ([`refund_news`]). A failure answer makes the channel retry, which is
//! what a mismatch needs: a human can look meanwhile, and nothing was recorded as paid.

mod news;
mod outcome;
mod refund_news;
mod rejected;
mod split_news;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::channels::{Callback, Channels, Received};
use crate::domain::Channel;
use crate::service::OrderService;

use outcome::{Answer, Outcome};

/// Callbacks are a few KB (WeChat's envelope, Alipay's form); anything much larger is not one.
const BODY_LIMIT: usize = 16 * 1024;

/// What the callback routes need: the channels (to verify and read) and the order service (to
/// find and change orders).
#[derive(Clone)]
pub struct State {
    pub orders: OrderService,
    pub channels: Channels,
}

/// The callback routes, one per channel, to merge into the API router (which adds request ids,
/// tracing and the request metrics).
pub fn routes<S>(state: State) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let route = |channel: Channel| {
        post(
            move |axum::extract::State(state): axum::extract::State<State>,
                  Path(account): Path<String>,
                  headers: HeaderMap,
                  body: Bytes| async move {
                // In a task of its own: a channel that hangs up before the answer (its own
                // timeout, under load) does not cancel the change half-way; its retry finds it
                // made.
                let work = tokio::spawn(async move {
                    receive(&state, channel, &account, &headers, &body).await
                });
                work.await.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "callback: the handling task failed");
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
                })
            },
        )
    };
    Router::new()
        .route("/callbacks/wechat/{account}", route(Channel::Wechat))
        .route("/callbacks/alipay/{account}", route(Channel::Alipay))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Body and headers in, the channel's answer out.
async fn receive(
    state: &State,
    channel: Channel,
    account: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let received = Received {
        account,
        headers,
        body,
    };
    let answer = match state.channels.decode_callback(channel, received).await {
        Ok(Callback::Trade(trade)) => news::handle(state, channel, &trade).await,
        Ok(Callback::Trades(all)) => news::handle_all(state, channel, &all).await,
        Ok(Callback::Refund(refund)) => refund_news::handle(state, channel, &refund).await,
        Ok(Callback::Split { upstream_split_no }) => {
            split_news::handle(state, &upstream_split_no).await
        }
        Ok(Callback::Ignored) => Answer::ok(Outcome::Ignored),
        Err(rejection) => rejected::handle(&state.orders, channel, received, rejection).await,
    };
    let reply = Channels::reply(channel, answer.reply(channel));
    if reply.content_type.is_empty() {
        return reply.status.into_response();
    }
    (
        reply.status,
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response()
}

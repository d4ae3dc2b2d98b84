//! Delivery of asynchronous notifications (callbacks) to merchants, with retries and a full log.
//!
//! A channel prepares what to send and hands a [`Delivery`] to [`CallbackEngine::deliver`]; the
//! engine posts it, judges the answer with the channel's [`Success`] rule, waits the channel's
//! retry schedule (multiplied by the time scale) between attempts, and logs every attempt (time,
//! HTTP status or transport error, latency). The payload is prepared anew for each attempt through
//! [`Delivery::prepare`], because some channels sign a timestamp that a receiver checks for
//! freshness (WeChat Pay re-signs every retry; a 24 h old signature would be refused).
//!
//! Fault switches ([`crate::faults`]) apply here for every channel: `drop_callbacks` logs the
//! callback as `dropped` and sends nothing; `callback_delay_ms` waits before the first attempt.
//!
//! At most [`IN_FLIGHT`] posts are under way at once; the others wait their turn (as the sender
//! pool of a real channel does), so a burst of payments becomes a queue in the simulator, not
//! thousands of open connections to the merchant at the same moment.
//!
//! The log is readable with [`CallbackEngine::records`] and `GET /sim/callbacks?channel=…`; tests can
//! await a condition on it with [`CallbackEngine::wait_for`]. The log and pending retries live in
//! memory only: after a restart, pending callbacks are not resumed. The log keeps the latest
//! [`LOG_LIMIT`] callbacks, so a sandbox gateway that runs for months does not grow with it.

use std::collections::VecDeque;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::SimContext;
use crate::faults::Faults;

/// Callback posts under way at once, over all channels.
pub const IN_FLIGHT: usize = 64;

/// Callbacks the log keeps, the latest ones (a record is a few KB: its signed body and headers).
pub const LOG_LIMIT: usize = 20_000;

/// One HTTP POST, ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// How a channel recognises "received" in the receiver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Success {
    /// One of these statuses (WeChat Pay: 200 or 204).
    StatusIn(Vec<u16>),
    /// A 2xx whose body, trimmed, is exactly this text (Alipay: `success`).
    Body(String),
}

impl Success {
    fn accepts(&self, status: u16, body: &str) -> bool {
        match self {
            Self::StatusIn(ok) => ok.contains(&status),
            Self::Body(text) => (200..300).contains(&status) && body.trim() == text,
        }
    }
}

/// Builds the request for attempt `n` (1-based).
pub type Preparer = Arc<dyn Fn(u32) -> Prepared + Send + Sync>;

/// A callback to deliver.
#[derive(Clone)]
pub struct Delivery {
    /// `"wechat"`, `"alipay"`: the log can be filtered by it.
    pub channel: String,
    /// The event as the channel names it, e.g. `TRANSACTION.SUCCESS`, `trade_status_sync`.
    pub event: String,
    /// What the callback is about, e.g. the out_trade_no or out_refund_no.
    pub reference: String,
    /// Who it is for (e.g. the mchid or app_id), so tests can filter.
    pub merchant: String,
    pub url: String,
    pub prepare: Preparer,
    pub success: Success,
    /// Waits before the 2nd, 3rd, … attempt, at time scale 1. Its length is the number of retries.
    pub retry_delays: Vec<Duration>,
}

/// Where a callback stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    Pending,
    Delivered,
    /// Every attempt of the schedule failed.
    GaveUp,
    /// Not sent because of the `drop_callbacks` fault.
    Dropped,
}

/// One try at delivering.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub number: u32,
    /// RFC 3339.
    pub at: String,
    pub status: Option<u16>,
    /// The start of the receiver's answer body (at most 200 characters).
    pub response: Option<String>,
    /// The transport error, when there was no HTTP answer.
    pub error: Option<String>,
    pub latency_ms: u64,
    pub success: bool,
}

/// A callback and what happened to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallbackRecord {
    pub id: String,
    pub channel: String,
    pub event: String,
    pub reference: String,
    pub merchant: String,
    pub url: String,
    /// The first attempt's headers and body (later ones differ only in freshness fields).
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub created_at: String,
    pub state: CallbackState,
    pub attempts: Vec<Attempt>,
}

/// Sends callbacks in background tasks and keeps the log.
#[derive(Clone)]
pub struct CallbackEngine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CallbackEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackEngine(..)")
    }
}

struct Inner {
    http: reqwest::Client,
    faults: Faults,
    time_scale: f64,
    shutdown: tokio::sync::watch::Receiver<bool>,
    in_flight: tokio::sync::Semaphore,
    log: Mutex<Log>,
    changed: tokio::sync::watch::Sender<u64>,
}

/// The latest callbacks, each named by its place in the sequence of every callback logged.
#[derive(Default)]
struct Log {
    /// The place of `records[0]`.
    first: usize,
    records: VecDeque<CallbackRecord>,
}

impl Log {
    /// Appends `record`, forgetting the oldest past [`LOG_LIMIT`]; returns its place.
    fn push(&mut self, record: CallbackRecord) -> usize {
        if self.records.len() == LOG_LIMIT {
            self.records.pop_front();
            self.first += 1;
        }
        self.records.push_back(record);
        self.first + self.records.len() - 1
    }

    fn get_mut(&mut self, place: usize) -> Option<&mut CallbackRecord> {
        let index = place.checked_sub(self.first)?;
        self.records.get_mut(index)
    }
}

impl CallbackEngine {
    #[must_use]
    pub fn new(
        http: reqwest::Client,
        faults: Faults,
        time_scale: f64,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let (changed, _) = tokio::sync::watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                http,
                faults,
                time_scale,
                shutdown,
                in_flight: tokio::sync::Semaphore::new(IN_FLIGHT),
                log: Mutex::new(Log::default()),
                changed,
            }),
        }
    }

    /// Logs the callback and starts delivering it in the background; returns its log id.
    pub fn deliver(&self, delivery: Delivery) -> String {
        let id = format!("cb_{}", channel_core::nonce::alphanumeric(20));
        let first = (delivery.prepare)(1);
        let faults = self.inner.faults.get();
        let record = CallbackRecord {
            id: id.clone(),
            channel: delivery.channel.clone(),
            event: delivery.event.clone(),
            reference: delivery.reference.clone(),
            merchant: delivery.merchant.clone(),
            url: delivery.url.clone(),
            headers: first.headers.clone(),
            body: first.body.clone(),
            created_at: now_rfc3339(),
            state: if faults.drop_callbacks {
                CallbackState::Dropped
            } else {
                CallbackState::Pending
            },
            attempts: Vec::new(),
        };
        // A record's place in the sequence names it for the attempts to come.
        let index = self.with_log(|log| log.push(record));
        if faults.drop_callbacks {
            tracing::info!(%id, event = %delivery.event, "callback dropped by fault injection");
            return id;
        }
        let engine = self.clone();
        let run_id = id.clone();
        let delay = Duration::from_millis(faults.callback_delay_ms);
        tokio::spawn(async move {
            let mut stop = engine.inner.shutdown.clone();
            tokio::select! {
                () = engine.run(&run_id, index, delivery, first, delay) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
        id
    }

    /// Attempt 1 sends `first`, prepared when the callback was logged (a WeChat Pay callback's
    /// preparation is an RSA signature: made once, not twice), unless a fault delays it; later
    /// attempts prepare anew, with fresh timestamps.
    async fn run(
        &self,
        id: &str,
        index: usize,
        d: Delivery,
        first: Prepared,
        first_delay: Duration,
    ) {
        let mut first = first_delay.is_zero().then_some(first);
        tokio::time::sleep(first_delay).await;
        let total = u32::try_from(d.retry_delays.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        for number in 1..=total {
            if number > 1 {
                let wait = d
                    .retry_delays
                    .get(number as usize - 2)
                    .copied()
                    .unwrap_or_default();
                tokio::time::sleep(wait.mul_f64(self.inner.time_scale)).await;
            }
            let prepared = first.take().unwrap_or_else(|| (d.prepare)(number));
            let attempt = self.attempt(&d, number, prepared).await;
            let success = attempt.success;
            tracing::info!(%id, number, status = ?attempt.status, error = ?attempt.error, "callback attempt");
            self.with_record(index, |r| {
                r.attempts.push(attempt);
                if success {
                    r.state = CallbackState::Delivered;
                } else if number == total {
                    r.state = CallbackState::GaveUp;
                }
            });
            if success {
                return;
            }
        }
    }

    async fn attempt(&self, d: &Delivery, number: u32, prepared: Prepared) -> Attempt {
        // The semaphore is never closed; without a permit the post goes anyway.
        let _permit = self.inner.in_flight.acquire().await.ok();
        let at = now_rfc3339();
        let started = Instant::now();
        let mut request = self.inner.http.post(&d.url).body(prepared.body);
        for (k, v) in &prepared.headers {
            request = request.header(k, v);
        }
        let result = match request.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                // Read the body within the same overall timeout the client enforces.
                match resp.text().await {
                    Ok(body) => Ok((status, body)),
                    Err(e) => Err(e.without_url().to_string()),
                }
            }
            Err(e) => Err(e.without_url().to_string()),
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok((status, body)) => Attempt {
                number,
                at,
                status: Some(status),
                success: d.success.accepts(status, &body),
                response: Some(body.chars().take(200).collect()),
                error: None,
                latency_ms,
            },
            Err(error) => Attempt {
                number,
                at,
                status: None,
                response: None,
                error: Some(error),
                latency_ms,
                success: false,
            },
        }
    }

    fn with_log<R>(&self, f: impl FnOnce(&mut Log) -> R) -> R {
        let out = {
            let mut log = self
                .inner
                .log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut log)
        };
        self.inner.changed.send_modify(|v| *v = v.wrapping_add(1));
        out
    }

    fn with_record(&self, index: usize, f: impl FnOnce(&mut CallbackRecord)) {
        self.with_log(|log| {
            if let Some(r) = log.get_mut(index) {
                f(r);
            }
        });
    }

    /// The log, oldest first, optionally of one channel only.
    #[must_use]
    pub fn records(&self, channel: Option<&str>) -> Vec<CallbackRecord> {
        let log = self
            .inner
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        log.records
            .iter()
            .filter(|r| channel.is_none_or(|c| r.channel == c))
            .cloned()
            .collect()
    }

    /// Waits until `done` holds for the log (checked after every change), or `timeout` passes.
    /// Returns the log as it was when `done` held, or `None` on timeout.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[CallbackRecord]) -> bool,
    ) -> Option<Vec<CallbackRecord>> {
        let mut rx = self.inner.changed.subscribe();
        let wait = async {
            loop {
                let log = self.records(None);
                if done(&log) {
                    return log;
                }
                if rx.changed().await.is_err() {
                    // The engine is gone; nothing will change any more.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok()
    }
}

/// Current UTC time, RFC 3339.
fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
struct LogQuery {
    channel: Option<String>,
}

/// `GET /sim/callbacks?channel=wechat|alipay`: the callback log of every (or one) channel.
pub fn router(ctx: SimContext) -> Router {
    Router::new()
        .route("/sim/callbacks", get(list))
        .with_state(ctx)
}

async fn list(
    State(ctx): State<SimContext>,
    Query(q): Query<LogQuery>,
) -> Json<Vec<CallbackRecord>> {
    Json(ctx.callbacks().records(q.channel.as_deref()))
}

/// Serves one channel's log; for `GET /sim/<channel>/callbacks` routes.
pub async fn list_channel(ctx: &SimContext, channel: &str) -> Json<Vec<CallbackRecord>> {
    Json(ctx.callbacks().records(Some(channel)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(reference: usize) -> CallbackRecord {
        CallbackRecord {
            id: format!("cb_{reference}"),
            channel: "wechat".into(),
            event: "TRANSACTION.SUCCESS".into(),
            reference: reference.to_string(),
            merchant: "1900000001".into(),
            url: "http://127.0.0.1/cb".into(),
            headers: Vec::new(),
            body: String::new(),
            created_at: String::new(),
            state: CallbackState::Pending,
            attempts: Vec::new(),
        }
    }

    #[test]
    fn the_log_keeps_the_latest_callbacks_and_forgets_the_oldest() {
        let mut log = Log::default();
        for i in 0..LOG_LIMIT + 3 {
            assert_eq!(log.push(record(i)), i);
        }
        assert_eq!(log.records.len(), LOG_LIMIT);
        // An attempt on a forgotten callback changes nothing; one on a kept callback finds it.
        assert!(log.get_mut(2).is_none());
        assert_eq!(
            log.get_mut(3).map(|r| r.reference.clone()),
            Some("3".into())
        );
        let last = LOG_LIMIT + 2;
        assert_eq!(
            log.get_mut(last).map(|r| r.reference.clone()),
            Some(last.to_string())
        );
        assert!(log.get_mut(last + 1).is_none());
    }
}

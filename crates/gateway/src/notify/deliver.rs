//! The `deliver_notification` job handler: one attempt per run. Load the event (with its order and
//! site), build the body, sign it, POST it, record the attempt, then mark the event delivered (2xx),
//! retry it on the schedule, or mark it failed once the schedule is exhausted.
//!
//! A job can run twice (a node died after the POST but before completing the job): the site then
//! gets the event again with the same `event_id` — notifications are at-least-once and sites dedupe
//! on the id. An event that is no longer `pending` is not sent again unless re-queued.

use std::time::{Duration, Instant};

use url::Url;

use super::NotifySettings;
use super::client::{Attempted, DeliveryError, NotifyClient};
use super::compat;
use super::guard::Targets;
use super::payload;
use super::sign::{HEADER_EVENT_ID, HEADER_NONCE, HEADER_SIGN, HEADER_TS, sign_notification};
use crate::domain::{
    Job, JobKind, JobSubject, Mode, NotificationEvent, NotificationStatus, Timestamp,
};
use crate::store::{NewAttempt, Settles, Store, StoreError};
use crate::workers::{BoxFuture, JobHandler, JobOutcome};

/// The error recorded when neither the order nor its site has a notify URL.
pub const NO_NOTIFY_URL: &str = "no notify_url";

/// Delivers notification events; give it to `workers::run`.
#[derive(Debug, Clone)]
pub struct Deliverer {
    store: Store,
    client: NotifyClient,
    settings: NotifySettings,
    node: String,
}

/// What one attempt came to, for the record and the metrics.
struct Outcome {
    http_status: Option<u16>,
    latency: Duration,
    error: Option<String>,
    excerpt: Option<String>,
    /// The target was a non-public address (reached or refused): the site is not shown details.
    private_target: bool,
    kind: OutcomeKind,
}

impl Outcome {
    /// An outcome without a request: nothing was sent.
    fn unsent(kind: OutcomeKind, error: String) -> Self {
        Self {
            http_status: None,
            latency: Duration::ZERO,
            error: Some(error),
            excerpt: None,
            private_target: false,
            kind,
        }
    }
}

/// One notification request, ready to send.
struct Request {
    method: reqwest::Method,
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// The protocol's acknowledgement rule; `None` for paygate's own (any 2xx).
    ack: Option<::compat::Ack>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutcomeKind {
    Delivered,
    /// An answer other than 2xx (a redirect included: none is followed).
    HttpError,
    Timeout,
    ConnectError,
    /// The target address is not allowed; no connection was made.
    Refused,
    RequestError,
    NoNotifyUrl,
    /// The order's protocol has no notification for this event: settled with nothing sent.
    NotInProtocol,
}

impl OutcomeKind {
    /// The `outcome` label of `paygate_notification_deliveries_total`.
    fn label(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::HttpError => "http_error",
            Self::Timeout => "timeout",
            Self::ConnectError => "connect_error",
            Self::Refused => "refused",
            Self::RequestError => "request_error",
            Self::NoNotifyUrl => "no_notify_url",
            Self::NotInProtocol => "not_in_protocol",
        }
    }
}

impl Deliverer {
    /// `node` names this process in the attempts it records (the worker's node id).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(
        store: Store,
        settings: NotifySettings,
        node: impl Into<String>,
    ) -> Result<Self, DeliveryError> {
        Ok(Self {
            store,
            client: NotifyClient::new(&settings)?,
            settings,
            node: node.into(),
        })
    }

    /// One attempt for the job's event.
    ///
    /// # Errors
    /// The store fails; nothing was sent after a failed load, and a failed record leaves the job to
    /// be retried.
    pub async fn deliver(&self, job: &Job) -> Result<JobOutcome, StoreError> {
        let JobSubject::Event(event_id) = &job.subject else {
            tracing::error!(job = job.id, subject = %job.subject, "notification job names no event; dropped");
            return Ok(JobOutcome::Done);
        };
        let Some(event) = self.store.notification(event_id).await? else {
            tracing::warn!(event_id = %event_id, "notification job for an unknown event; dropped");
            return Ok(JobOutcome::Done);
        };
        match event.status {
            NotificationStatus::Pending => {}
            // A duplicate or stale job: the event's fate is already settled.
            NotificationStatus::Delivered | NotificationStatus::Failed => {
                return Ok(JobOutcome::Done);
            }
        }
        // Cached by the store after its first read: the mode never changes.
        let mode = self.store.mode().await?;
        let now = Timestamp::now();
        let outcome = match notify_url(&event) {
            // The site's own notify URL takes paygate's format: an order made through another
            // protocol is told only at the URL it gave, as that protocol's server does.
            _ if event.order.origin.is_some() && event.order.notify_url.is_none() => {
                Outcome::unsent(
                    OutcomeKind::NotInProtocol,
                    "not sent: the order named no notify URL".to_owned(),
                )
            }
            Some(url) => self.attempt(&event, &url, mode).await,
            None => Outcome {
                http_status: None,
                latency: Duration::ZERO,
                error: Some(NO_NOTIFY_URL.to_owned()),
                excerpt: None,
                private_target: false,
                kind: OutcomeKind::NoNotifyUrl,
            },
        };
        let retry = match outcome.kind {
            // Without a URL there is nothing to retry against: the operator sets one and re-sends.
            OutcomeKind::Delivered | OutcomeKind::NoNotifyUrl | OutcomeKind::NotInProtocol => None,
            _ => u32::try_from(job.attempt)
                .ok()
                .and_then(|n| self.settings.retry_after(n)),
        };
        let settles = match (outcome.kind, retry) {
            (OutcomeKind::Delivered | OutcomeKind::NotInProtocol, _) => {
                Some(NotificationStatus::Delivered)
            }
            (_, None) => Some(NotificationStatus::Failed),
            (_, Some(_)) => None,
        };
        let completed = self.record(job, &event, now, &outcome, settles).await?;
        let over = if completed {
            JobOutcome::Completed
        } else {
            // Settled with a lease lost meanwhile, or not settled: the loop does the rest.
            JobOutcome::Done
        };
        match outcome.kind {
            OutcomeKind::Delivered => {
                tracing::info!(event_id = %event.id, attempt = event.attempts + 1, "notification delivered");
                return Ok(over);
            }
            OutcomeKind::NotInProtocol => return Ok(over),
            _ => {}
        }
        match retry {
            Some(wait) => {
                tracing::info!(
                    event_id = %event.id,
                    attempt = event.attempts + 1,
                    error = outcome.error.as_deref().unwrap_or_default(),
                    status = outcome.http_status,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "notification not delivered; will retry"
                );
                Ok(JobOutcome::RetryAt(Timestamp::now().plus(wait)))
            }
            None => {
                metrics::counter!("paygate_notifications_failed_total").increment(1);
                tracing::warn!(
                    event_id = %event.id,
                    attempts = event.attempts + 1,
                    error = outcome.error.as_deref().unwrap_or_default(),
                    status = outcome.http_status,
                    "notification failed: retries exhausted (re-send with `paygate notify resend`)"
                );
                Ok(over)
            }
        }
    }

    async fn attempt(&self, event: &NotificationEvent, url: &Url, mode: Mode) -> Outcome {
        let request = match self.request(event, url, mode).await {
            Ok(request) => request,
            Err(outcome) => return outcome,
        };
        let started = Instant::now();
        let Attempted {
            private_target,
            result,
        } = self
            .client
            .send(
                request.method,
                &request.url,
                &request.headers,
                request.body,
                self.targets(event),
            )
            .await;
        let elapsed = started.elapsed();
        let outcome = match result {
            Ok(response) => {
                let acknowledged = match request.ack {
                    None => response.is_success(),
                    Some(ack) => ack.accepts(response.status, &response.excerpt),
                };
                Outcome {
                    http_status: Some(response.status),
                    latency: response.latency,
                    error: (!acknowledged).then(|| match request.ack {
                        Some(_) if response.is_success() => {
                            format!("HTTP {}: not acknowledged", response.status)
                        }
                        _ => format!("HTTP {}", response.status),
                    }),
                    excerpt: Some(response.excerpt.clone()).filter(|e| !e.is_empty()),
                    private_target,
                    kind: if acknowledged {
                        OutcomeKind::Delivered
                    } else {
                        OutcomeKind::HttpError
                    },
                }
            }
            Err(e) => Outcome {
                http_status: None,
                latency: elapsed,
                kind: match e {
                    DeliveryError::Refused(_) => OutcomeKind::Refused,
                    DeliveryError::Timeout(_) => OutcomeKind::Timeout,
                    DeliveryError::Connect(_) => OutcomeKind::ConnectError,
                    DeliveryError::Request(_) | DeliveryError::Client(_) => {
                        OutcomeKind::RequestError
                    }
                },
                error: Some(e.to_string()),
                excerpt: None,
                private_target,
            },
        };
        metrics::counter!("paygate_notification_deliveries_total", "outcome" => outcome.kind.label())
            .increment(1);
        metrics::histogram!("paygate_notification_delivery_duration_seconds")
            .record(outcome.latency.as_secs_f64());
        outcome
    }

    /// The request that tells the site of `event`: paygate's own signed JSON, or for an order made
    /// through another protocol, that protocol's notice. An outcome instead when there is nothing
    /// to send (the protocol has no such notification, or no key to sign it with now).
    async fn request(
        &self,
        event: &NotificationEvent,
        url: &Url,
        mode: Mode,
    ) -> Result<Request, Outcome> {
        let Some(origin) = &event.order.origin else {
            let body = payload::body(event, mode);
            let signed = sign_notification(&event.site.secret_key, &body, Timestamp::now());
            return Ok(Request {
                method: reqwest::Method::POST,
                url: url.clone(),
                headers: vec![
                    ("Content-Type", "application/json".to_owned()),
                    (HEADER_TS, signed.ts),
                    (HEADER_NONCE, signed.nonce),
                    (HEADER_SIGN, signed.sign),
                    (HEADER_EVENT_ID, event.id.clone()),
                ],
                body,
                ack: None,
            });
        };
        let key = self
            .store
            .compat_key_of_site(&event.site.id, origin.protocol)
            .await
            .map_err(|e| Outcome::unsent(OutcomeKind::RequestError, format!("store: {e}")))?;
        match compat::render(event, origin, key.as_ref(), url) {
            compat::Rendered::Send(notice) => Ok(Request {
                method: match notice.method {
                    ::compat::NoticeMethod::Get => reqwest::Method::GET,
                    ::compat::NoticeMethod::PostForm | ::compat::NoticeMethod::PostJson => {
                        reqwest::Method::POST
                    }
                },
                headers: notice
                    .method
                    .content_type()
                    .map(|t| ("Content-Type", t.to_owned()))
                    .into_iter()
                    .collect(),
                url: notice.url,
                body: notice.body,
                ack: Some(notice.ack),
            }),
            compat::Rendered::NotInProtocol => Err(Outcome::unsent(
                OutcomeKind::NotInProtocol,
                format!(
                    "not sent: {} tells its sites of payments only",
                    origin.protocol.as_str()
                ),
            )),
            compat::Rendered::Unsignable(why) => {
                Err(Outcome::unsent(OutcomeKind::RequestError, why))
            }
        }
    }

    /// Private targets are for sandbox mode, or for a site the operator allowed them: a site on the
    /// operator's own network. Never for the others, whichever site allowed them.
    fn targets(&self, event: &NotificationEvent) -> Targets {
        if self.settings.allow_private_targets || event.site.allow_private_targets {
            Targets::AnyAddress
        } else {
            Targets::PublicOnly
        }
    }

    /// Records the attempt; where it settles the event, also the event's new status and the end of
    /// its job. `true` when the job was deleted with them.
    async fn record(
        &self,
        job: &Job,
        event: &NotificationEvent,
        at: Timestamp,
        outcome: &Outcome,
        settles: Option<NotificationStatus>,
    ) -> Result<bool, StoreError> {
        let attempt = NewAttempt {
            event_id: event.id.clone(),
            attempt_no: event.attempts.saturating_add(1),
            at,
            http_status: outcome.http_status,
            latency_ms: i64::try_from(outcome.latency.as_millis()).unwrap_or(i64::MAX),
            error: outcome.error.clone(),
            response_excerpt: outcome.excerpt.clone(),
            private_target: outcome.private_target,
            node: self.node.clone(),
        };
        let settles = settles.map(|status| Settles {
            status,
            at: Timestamp::now(),
            job: Some((job, self.node.as_str())),
        });
        self.store.record_attempt_settling(&attempt, settles).await
    }
}

/// The most specific URL the site gave: a refund's own (for its events), else the order's, else
/// the site's.
fn notify_url(event: &NotificationEvent) -> Option<Url> {
    event
        .refund
        .as_ref()
        .and_then(|r| r.notify_url.as_ref())
        .or(event.order.notify_url.as_ref())
        .or(event.site.notify_url.as_ref())
        .map(|u| u.as_url().clone())
}

impl JobHandler for Deliverer {
    fn kind(&self) -> JobKind {
        JobKind::DeliverNotification
    }

    fn handle(&self, job: Job) -> BoxFuture<'_, JobOutcome> {
        Box::pin(async move {
            match self.deliver(&job).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    // The database failed, not the site: try again soon without counting an attempt.
                    tracing::error!(event_id = %job.subject, error = %e, "notification delivery: store error");
                    let wait = self
                        .settings
                        .retry_after(0)
                        .unwrap_or(Duration::from_secs(15));
                    JobOutcome::RetryAt(Timestamp::now().plus(wait))
                }
            }
        })
    }
}

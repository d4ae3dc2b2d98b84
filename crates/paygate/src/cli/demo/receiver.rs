//! The site's notification endpoint: a tiny HTTP server on loopback that checks each
//! notification's signature with the site's SK as a site would, answers 200 to a verified one (so
//! paygate stops retrying) and 401 to any other, and hands what it got to the waiting step.
//!
//! Its port is taken ([`Bound`]) before the site exists, since the site's notify URL names it;
//! it starts answering ([`Bound::start`]) once the site's SK is known.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::secs;
use crate::cli::merchant::{Refusal, unix_now, verify_notification};

/// The path paygate posts to.
const PATH: &str = "/notify";

/// A loopback port taken for the receiver, not answering yet.
pub struct Bound {
    listener: TcpListener,
    pub url: String,
}

/// What one request amounted to.
enum Arrival {
    Verified(Value),
    Refused(String),
}

/// The running receiver; it stops when dropped.
pub struct Receiver {
    pub url: String,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
    /// `event_id`s handed out: a re-delivery of one (at least once) is not news.
    seen: HashSet<String>,
    task: JoinHandle<()>,
}

/// What the server's handler shares.
#[derive(Clone)]
struct Shared {
    sk: std::sync::Arc<str>,
    arrivals: mpsc::UnboundedSender<Arrival>,
}

impl Bound {
    pub async fn bind() -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the receiver on 127.0.0.1")?;
        let addr = listener.local_addr().context("the receiver's address")?;
        Ok(Self {
            listener,
            url: format!("http://{addr}{PATH}"),
        })
    }

    /// Starts answering, checking signatures with `sk`.
    pub fn start(self, sk: &str) -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            sk: sk.into(),
            arrivals: tx,
        };
        let app = axum::Router::new()
            .route(PATH, axum::routing::post(receive))
            .with_state(shared);
        let listener = self.listener;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the demo's notification receiver stopped");
            }
        });
        Receiver {
            url: self.url,
            arrivals: rx,
            seen: HashSet::new(),
            task,
        }
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The clock failing is no reason to believe a notification: it is refused as stale.
    let now = unix_now().unwrap_or(0);
    let (arrival, status) = match verify_notification(&shared.sk, header, &body, now) {
        Ok(()) => match serde_json::from_slice(&body) {
            Ok(json) => (Arrival::Verified(json), StatusCode::OK),
            Err(e) => (
                Arrival::Refused(format!("a signed body that is not JSON: {e}")),
                StatusCode::BAD_REQUEST,
            ),
        },
        Err(refusal) => (refused(&refusal), StatusCode::UNAUTHORIZED),
    };
    // The demo may have stopped listening (it failed or ended): the answer is all that is left.
    let _ = shared.arrivals.send(arrival);
    status
}

fn refused(refusal: &Refusal) -> Arrival {
    Arrival::Refused(format!("a notification failed verification: {refusal}"))
}

impl Receiver {
    /// The next new verified notification, which must be `event_type` for `out_trade_no`;
    /// waits at most `within`. One that fails verification ends the wait as an error.
    pub async fn next(
        &mut self,
        event_type: &str,
        out_trade_no: &str,
        within: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrival = tokio::time::timeout_at(deadline, self.arrivals.recv())
                .await
                .map_err(|_| {
                    anyhow::anyhow!("no {event_type} notification within {}", secs(within))
                })?
                .context("the receiver stopped")?;
            let body = match arrival {
                Arrival::Verified(body) => body,
                Arrival::Refused(why) => bail!("{why}"),
            };
            let event_id = body["event_id"].as_str().unwrap_or_default().to_owned();
            if !self.seen.insert(event_id) {
                continue;
            }
            let (got_type, got_order) = (
                body["event_type"].as_str().unwrap_or("?"),
                body["out_trade_no"].as_str().unwrap_or("?"),
            );
            if got_type != event_type || got_order != out_trade_no {
                bail!("expected {event_type} for {out_trade_no}, got {got_type} for {got_order}");
            }
            return Ok(body);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use gateway::domain::{SecretKey, Timestamp};
    use serde_json::json;

    use super::*;

    const SK: &str = "sk_test_0123456789abcdefghij";
    const WITHIN: Duration = Duration::from_secs(5);

    /// POSTs `body` to the receiver, signed by paygate's own code under `sk`, with `X-1Pass-Sign`
    /// replaced by `sign` when given; returns the HTTP status.
    async fn post(url: &str, body: &Value, sk: &str, sign: Option<&str>) -> u16 {
        let body = body.to_string();
        let sk = SecretKey::parse(sk).unwrap();
        let h = gateway::notify::sign_notification(&sk, body.as_bytes(), Timestamp::now());
        let http = crate::cli::merchant::loopback_client(WITHIN).unwrap();
        http.post(url)
            .header("X-1Pass-Ts", h.ts)
            .header("X-1Pass-Nonce", h.nonce)
            .header("X-1Pass-Sign", sign.unwrap_or(&h.sign))
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    fn event(id: &str, event_type: &str) -> Value {
        json!({"event_id": id, "event_type": event_type, "out_trade_no": "demo_1"})
    }

    #[tokio::test]
    async fn a_signed_notification_is_taken_once_and_answered_200() {
        let mut receiver = Bound::bind().await.unwrap().start(SK);
        let n = event("evt_1", "TRANSACTION.SUCCESS");
        assert_eq!(post(&receiver.url, &n, SK, None).await, 200);
        // Delivered again (at least once): not news, so the next one is what `next` gives.
        assert_eq!(post(&receiver.url, &n, SK, None).await, 200);
        let refund = event("evt_2", "REFUND.SUCCESS");
        assert_eq!(post(&receiver.url, &refund, SK, None).await, 200);
        let got = receiver.next("TRANSACTION.SUCCESS", "demo_1", WITHIN).await;
        assert_eq!(got.unwrap()["event_id"], "evt_1");
        let got = receiver.next("REFUND.SUCCESS", "demo_1", WITHIN).await;
        assert_eq!(got.unwrap()["event_id"], "evt_2");
    }

    #[tokio::test]
    async fn a_forged_notification_is_answered_401_and_fails_the_wait() {
        let mut receiver = Bound::bind().await.unwrap().start(SK);
        let n = event("evt_1", "TRANSACTION.SUCCESS");
        // Signed with another key, as a stranger on the machine would.
        assert_eq!(
            post(&receiver.url, &n, "sk_test_someone_else_000000", None).await,
            401
        );
        let err = receiver
            .next("TRANSACTION.SUCCESS", "demo_1", WITHIN)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("failed verification"), "{err:#}");
        assert_eq!(post(&receiver.url, &n, SK, Some("not-base64!")).await, 401);
    }

    #[tokio::test]
    async fn another_event_than_the_one_awaited_fails_the_wait_and_silence_times_out() {
        let mut receiver = Bound::bind().await.unwrap().start(SK);
        let err = receiver
            .next("TRANSACTION.SUCCESS", "demo_1", Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no TRANSACTION.SUCCESS notification within")
        );
        let closed = event("evt_1", "TRANSACTION.CLOSED");
        assert_eq!(post(&receiver.url, &closed, SK, None).await, 200);
        let err = receiver
            .next("TRANSACTION.SUCCESS", "demo_1", WITHIN)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("got TRANSACTION.CLOSED"),
            "{err:#}"
        );
    }
}

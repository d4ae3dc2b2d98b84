//! The site: its API client, creating orders as a site would and retrying the same body while
//! paygate is down, and its notification endpoint (`test_support::receiver`), holding each
//! request a while and checking what it was sent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use gateway::domain::SecretKey;
use serde_json::{Value, json};
use test_support::receiver::{Answer, Received, Receiver};

use super::super::serve::{SiteKeys, signed};
use super::Rng;
use super::upstream::Channel;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One order the test means to create (and maybe pay).
#[derive(Debug, Clone)]
pub struct OrderPlan {
    pub out_trade_no: String,
    pub channel: Channel,
    pub amount: u64,
    pub pay: bool,
}

impl OrderPlan {
    /// The `/v1/orders` body: the same bytes on every retry.
    pub fn body(&self) -> String {
        json!({
            "out_trade_no": self.out_trade_no,
            "channel": self.channel.name(),
            "method": self.channel.method(),
            "amount_total": self.amount,
            "description": format!("test order {}", self.out_trade_no),
        })
        .to_string()
    }
}

/// What became of a create.
#[derive(Debug)]
pub enum Created {
    /// 200, after `tries` requests.
    Yes { tries: u32 },
    /// No 200 before the client gave up; paygate may or may not have the order. The distinct
    /// errors, each with the first URL it came from.
    GaveUp { tries: u32, errors: Vec<String> },
    /// A final refusal (4xx other than 429): a bug in this scenario.
    Refused { status: u16, body: String },
}

/// A site calling paygate's signed API.
#[derive(Clone)]
pub struct SiteClient {
    http: reqwest::Client,
    keys: SiteKeys,
}

impl SiteClient {
    pub fn new(keys: SiteKeys) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
            keys,
        }
    }

    /// `POST /v1/orders` with the same body until a 200 (trying `bases` in turn, as a client behind
    /// a list of nodes), a final refusal, or `give_up_after`. Connection errors, timeouts, 429 and
    /// 5xx are retried with a short backoff.
    pub async fn create(&self, bases: &[String], body: &str, give_up_after: Duration) -> Created {
        let deadline = Instant::now() + give_up_after;
        let mut tries = 0_u32;
        let mut errors: Vec<String> = Vec::new();
        loop {
            let base = &bases[tries as usize % bases.len()];
            tries += 1;
            let sent = signed(
                &self.http,
                base,
                &self.keys,
                reqwest::Method::POST,
                "/v1/orders",
                body,
            )
            .send()
            .await;
            let error = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    if status == 200 {
                        return Created::Yes { tries };
                    }
                    if status != 429 && status < 500 {
                        return Created::Refused { status, body: text };
                    }
                    format!("{status} {text}")
                }
                Err(e) => format!("{e} ({:?})", std::error::Error::source(&e)),
            };
            if errors.len() < 10 && !errors.iter().any(|e| e.ends_with(&error)) {
                errors.push(format!("{base}: {error}"));
            }
            if Instant::now() >= deadline {
                return Created::GaveUp { tries, errors };
            }
            let backoff = 40 * u64::from(tries.min(8));
            tokio::time::sleep(Duration::from_millis(backoff)).await;
        }
    }
}

/// One notification as the site's receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub out_trade_no: String,
    pub event_type: String,
    pub arrived: Instant,
    pub answered: Option<Instant>,
    /// `X-1Pass-Sign` verified with the site's SK (false when no SK was set).
    pub signature_ok: bool,
    /// The body's `livemode` (`None` when missing or not a boolean).
    pub livemode: Option<bool>,
}

/// The site's notification endpoint: answers 200 after holding each request for a time drawn
/// from a range, and records everything. Stopped when dropped.
pub struct SiteReceiver {
    /// `http://127.0.0.1:PORT/notify`.
    pub url: String,
    endpoint: Receiver,
    /// Each request is held for a time in this range (ms) before the 200.
    hold: Arc<Mutex<(u64, u64)>>,
    sk: Mutex<Option<SecretKey>>,
}

impl SiteReceiver {
    pub fn start(hold_ms: (u64, u64), seed: u64) -> Self {
        let hold = Arc::new(Mutex::new(hold_ms));
        let rng = Mutex::new(Rng::new(seed ^ 0x0005_17E0));
        let range = Arc::clone(&hold);
        let endpoint = Receiver::start_answering(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            Vec::new(),
            move || {
                let (lo, hi) = *lock(&range);
                Answer::slow(200, Duration::from_millis(lock(&rng).range(lo, hi)))
            },
        );
        Self {
            url: endpoint.url("/notify"),
            endpoint,
            hold,
            sk: Mutex::new(None),
        }
    }

    /// The site's SK, to verify each notification's signature.
    pub fn set_secret(&self, sk: &str) {
        *lock(&self.sk) = Some(SecretKey::parse(sk).expect("site SK"));
    }

    pub fn set_hold(&self, lo_ms: u64, hi_ms: u64) {
        *lock(&self.hold) = (lo_ms, hi_ms);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        let sk = lock(&self.sk);
        self.endpoint
            .seen()
            .iter()
            .map(|r| delivery(r, sk.as_ref()))
            .collect()
    }

    /// Event ids that arrived while another delivery of the same event was still in flight.
    pub fn overlaps(&self) -> Vec<String> {
        let seen = self.endpoint.seen();
        let mut overlaps = Vec::new();
        for (i, later) in seen.iter().enumerate() {
            let id = event_id(later);
            let in_flight = seen[..i].iter().any(|earlier| {
                event_id(earlier) == id && earlier.answered.is_none_or(|done| done > later.at)
            });
            if in_flight {
                overlaps.push(id.to_owned());
            }
        }
        overlaps
    }

    /// Requests that were not a well-formed notification.
    pub fn malformed(&self) -> Vec<String> {
        self.endpoint
            .seen()
            .iter()
            .filter_map(|r| {
                let header = event_id(r);
                let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                let in_body = body["event_id"].as_str().unwrap_or_default();
                let well_formed = !header.is_empty()
                    && header == in_body
                    && r.method == "POST"
                    && r.path == "/notify";
                (!well_formed)
                    .then(|| format!("{} {} header {header:?} body {in_body:?}", r.method, r.path))
            })
            .collect()
    }

    /// The out_trade_nos notified at least once.
    pub fn notified_orders(&self) -> HashSet<String> {
        self.deliveries()
            .into_iter()
            .map(|d| d.out_trade_no)
            .collect()
    }

    /// The event ids delivered at least once.
    pub fn event_ids(&self) -> HashSet<String> {
        self.endpoint
            .seen()
            .iter()
            .map(|r| event_id(r).to_owned())
            .collect()
    }
}

fn event_id(r: &Received) -> &str {
    r.header("x-1pass-event-id")
}

fn delivery(r: &Received, sk: Option<&SecretKey>) -> Delivery {
    let json: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let signature_ok = sk.is_some_and(|sk| {
        gateway::notify::verify_notification(
            sk,
            r.header("x-1pass-ts"),
            r.header("x-1pass-nonce"),
            r.header("x-1pass-sign"),
            &r.body,
        )
    });
    Delivery {
        event_id: event_id(r).to_owned(),
        out_trade_no: json["out_trade_no"].as_str().unwrap_or_default().to_owned(),
        event_type: json["event_type"].as_str().unwrap_or_default().to_owned(),
        arrived: r.at,
        answered: r.answered,
        signature_ok,
        livemode: json["livemode"].as_bool(),
    }
}

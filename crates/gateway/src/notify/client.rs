//! The one HTTP client that talks to sites: it checks where a notify URL leads before sending
//! (see `guard`) and connects through a resolver that checks again; no proxy, no redirects, one
//! overall timeout, and at most `excerpt_limit` bytes of the answer are read.
//!
//! Whether private targets may be reached is chosen per delivery ([`Targets`]): the operator allows
//! it per site. The resolver is part of the HTTP client, so two clients are built once, guarded and
//! permissive, and each delivery takes one of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use super::NotifySettings;
use super::address::refused_class;
use super::guard::{self, TargetRefused, Targets, VettingResolver};

/// Why an attempt did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("refused: {0}")]
    Refused(#[from] TargetRefused),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("request failed: {0}")]
    Request(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// One POST: its result, and whether the target was a non-public address (reached because the
/// delivery allowed it, or refused). What such a target answered, and where the name led, are the
/// operator's business, not the site's.
#[derive(Debug)]
pub struct Attempted {
    pub private_target: bool,
    pub result: Result<Response, DeliveryError>,
}

/// What the site answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The first `excerpt_limit` bytes of the body, as (lossy) UTF-8.
    pub excerpt: String,
    /// From sending the request to the status line.
    pub latency: Duration,
}

impl Response {
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The client; cheap to clone, built once.
#[derive(Debug, Clone)]
pub struct NotifyClient {
    /// Its resolver refuses non-public addresses.
    guarded: reqwest::Client,
    /// Its resolver lets every address through.
    permissive: reqwest::Client,
    timeout: Duration,
    excerpt_limit: usize,
}

impl NotifyClient {
    /// # Errors
    /// `Client` when the TLS backend cannot be initialised.
    pub fn new(settings: &NotifySettings) -> Result<Self, DeliveryError> {
        Ok(Self {
            guarded: http_client(settings, false)?,
            permissive: http_client(settings, true)?,
            timeout: settings.timeout,
            excerpt_limit: settings.excerpt_limit,
        })
    }

    /// Sends `body` to `url` with `method` and `headers`, after checking where `url` leads.
    ///
    /// The result's error is `Refused` before any connection; `Timeout`, `Connect`, `Request` from
    /// the attempt itself.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &Url,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
        targets: Targets,
    ) -> Attempted {
        let vetted_private = match self.vet(url, targets).await {
            Ok(private) => private,
            Err(refused) => {
                return Attempted {
                    private_target: refused.is_private_address(),
                    result: Err(refused.into()),
                };
            }
        };
        let http = match targets {
            Targets::PublicOnly => &self.guarded,
            Targets::AnyAddress => &self.permissive,
        };
        let mut request = http.request(method, url.clone());
        if !body.is_empty() {
            request = request.body(body);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let started = Instant::now();
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let error = self.classify(&e);
                let private_target = vetted_private
                    || matches!(&error, DeliveryError::Refused(r) if r.is_private_address());
                return Attempted {
                    private_target,
                    result: Err(error),
                };
            }
        };
        let latency = started.elapsed();
        // The name may have changed its answer since it was vetted: judge the address actually
        // connected to as well (unknown counts as private).
        let private_target = vetted_private
            || response
                .remote_addr()
                .is_none_or(|a| refused_class(a.ip()).is_some());
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        // The status is the verdict; the body is only kept as an excerpt, and a body that breaks
        // off or runs past the timeout does not change the verdict.
        while excerpt.len() < self.excerpt_limit {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.excerpt_limit - excerpt.len();
                    excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        Attempted {
            private_target,
            result: Ok(Response {
                status,
                excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
                latency,
            }),
        }
    }

    /// Refuses a URL that is not http(s), or whose host is (or resolves to) a non-public address
    /// when `targets` is `PublicOnly`. Otherwise tells whether any of its addresses is non-public.
    ///
    /// # Errors
    /// `Refused`.
    pub async fn vet(&self, url: &Url, targets: Targets) -> Result<bool, TargetRefused> {
        guard::vet(url, targets).await
    }

    fn classify(&self, e: &reqwest::Error) -> DeliveryError {
        if let Some(refused) = find_source::<TargetRefused>(e) {
            return DeliveryError::Refused(refused.clone());
        }
        if e.is_timeout() {
            DeliveryError::Timeout(self.timeout)
        } else if e.is_connect() {
            DeliveryError::Connect(error_chain(e))
        } else {
            DeliveryError::Request(error_chain(e))
        }
    }
}

fn http_client(
    settings: &NotifySettings,
    allow_private: bool,
) -> Result<reqwest::Client, DeliveryError> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(VettingResolver { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(concat!("paygate-notify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeliveryError::Client(e.to_string()))
}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

/// The error and its causes on one line (reqwest's own message alone says little).
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

//! A per-client limit on the routes anyone may call without a signature (status polling, the
//! checkout page, channel callbacks, the sandbox's routes): a token bucket per client address, in
//! memory, per process. A client over its limit is answered `429 rate_limited` with `Retry-After`.
//!
//! The client is the connection's peer address, or, when that is a trusted proxy
//! (`http.trusted_proxies`), the address it forwarded ([`TrustedProxies`]); behind an untrusted
//! proxy every client has the proxy's address and shares one bucket (see the README). IPv6 clients are counted by their /64,
//! which one host usually holds whole. Signed merchant requests are not limited here: a site may
//! create orders as fast as it needs; only requests refused as unauthenticated are counted, in
//! buckets of their own ([`limit_failures`]).
//!
//! Memory is bounded: at most [`MAX_CLIENTS_PER_SHARD`] buckets per shard. A full shard first drops
//! the buckets that have refilled (they say nothing a new bucket would not), then the least recently
//! used one.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use super::error::ApiError;

/// How many requests a client may make: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimit {
    /// A checkout page polls its status every few seconds and a payer opens it a few times, so even
    /// a few hundred payers behind one NAT stay well under this; one address cannot make paygate
    /// verify more than about a hundred callback signatures or token lookups a second.
    pub const DEFAULT: Self = Self {
        per_second: 100,
        burst: 200,
    };
}

/// The reverse proxies whose `X-Forwarded-For` is believed (`http.trusted_proxies`). Behind them,
/// the client is the right-most forwarded address that is not one of them: the address the first
/// trusted proxy saw. Anything left of it was written by the client itself and proves nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    #[must_use]
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets.into())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer`.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        // Later headers were added by later hops, as were later items of one header.
        for value in headers.get_all("x-forwarded-for").iter().rev() {
            let Ok(text) = value.to_str() else {
                return client;
            };
            for item in text.rsplit(',') {
                let Ok(ip) = item.trim().parse::<IpAddr>() else {
                    return client;
                };
                if !self.contains(ip) {
                    return ip;
                }
                client = ip;
            }
        }
        client
    }
}

const SHARDS: usize = 16;
const MAX_CLIENTS_PER_SHARD: usize = 4096;

/// The buckets, shared by every connection. Cloning shares them.
#[derive(Clone)]
pub(crate) struct Limiter(Arc<Inner>);

struct Inner {
    rate: RateLimit,
    trusted: TrustedProxies,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl Limiter {
    pub(crate) fn new(rate: RateLimit, trusted: TrustedProxies) -> Self {
        Self(Arc::new(Inner {
            rate,
            trusted,
            // Random per process: a client cannot pick addresses that all land in one shard.
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }))
    }

    /// Takes one request from `client`'s bucket at `now`; `Err` says how long until it may retry.
    fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        self.with_bucket(client, now, |bucket, rate| bucket.take(rate, now))
    }

    /// Whether `client` has a request left at `now`, without taking it.
    fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        self.with_bucket(client, now, |bucket, rate| bucket.check(rate, now))
    }

    fn with_bucket<R>(
        &self,
        client: IpAddr,
        now: Instant,
        f: impl FnOnce(&mut Bucket, RateLimit) -> R,
    ) -> R {
        let inner = &*self.0;
        let key = client_key(client);
        // The modulo keeps the index below SHARDS, so the narrowing cannot lose anything.
        #[allow(clippy::cast_possible_truncation)]
        let shard = (inner.hasher.hash_one(key) % SHARDS as u64) as usize;
        // A panic elsewhere while holding the lock leaves the buckets usable: they are only counts.
        let mut buckets = inner.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= MAX_CLIENTS_PER_SHARD {
            make_room(&mut buckets, inner.rate, now);
        }
        let bucket = buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(inner.rate, now));
        f(bucket, inner.rate)
    }
}

/// Drops the buckets that have refilled; if none has, the least recently used one.
fn make_room(buckets: &mut HashMap<IpAddr, Bucket>, rate: RateLimit, now: Instant) {
    buckets.retain(|_, b| !b.is_full(rate, now));
    if buckets.len() >= MAX_CLIENTS_PER_SHARD {
        let oldest = buckets.iter().min_by_key(|(_, b)| b.at).map(|(k, _)| *k);
        if let Some(oldest) = oldest {
            buckets.remove(&oldest);
        }
    }
}

/// What a client is counted as: its IPv4 address (also when written as IPv6), or its IPv6 /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// A token bucket: `tokens` left at `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: RateLimit, now: Instant) -> Self {
        Self {
            tokens: f64::from(rate.burst),
            at: now,
        }
    }

    fn refilled(self, rate: RateLimit, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * f64::from(rate.per_second)).min(f64::from(rate.burst))
    }

    fn is_full(self, rate: RateLimit, now: Instant) -> bool {
        self.refilled(rate, now) >= f64::from(rate.burst)
    }

    fn check(self, rate: RateLimit, now: Instant) -> Result<(), Duration> {
        let tokens = self.refilled(rate, now);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - tokens) / f64::from(rate.per_second.max(1)),
            ))
        }
    }

    fn take(&mut self, rate: RateLimit, now: Instant) -> Result<(), Duration> {
        let tokens = self.refilled(rate, now);
        self.at = now;
        if tokens >= 1.0 {
            self.tokens = tokens - 1.0;
            Ok(())
        } else {
            self.tokens = tokens;
            let missing = (1.0 - tokens) / f64::from(rate.per_second.max(1));
            Err(Duration::from_secs_f64(missing))
        }
    }
}

/// Middleware: counts the request against its client, or answers 429.
pub(crate) async fn limit(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    match limiter.take(limiter.client(&req), Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => ApiError::RateLimited(wait).into_response(),
    }
}

/// Middleware for the signed routes: a request refused as unauthenticated (401) is counted against
/// its client, and a client out of such failures is answered 429 until its bucket refills. Each
/// failure costs paygate a key lookup and a hash of the body, so guessing and junk are slowed down,
/// while a site that signs correctly is never counted, however fast it sends.
/// Set on a response that refused a request's credentials while answering with another status than
/// 401: the other protocols answer a bad signature or an unknown merchant in their own way (EPay
/// with 400, Jeepay with 200), and the limit on failures counts them all the same.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CredentialsRefused;

pub(crate) async fn limit_failures(
    State(limiter): State<Limiter>,
    req: Request,
    next: Next,
) -> Response {
    let client = limiter.client(&req);
    if let Err(wait) = limiter.check(client, Instant::now()) {
        return ApiError::RateLimited(wait).into_response();
    }
    let response = next.run(req).await;
    if response.status() == StatusCode::UNAUTHORIZED
        || response.extensions().get::<CredentialsRefused>().is_some()
    {
        let _ = limiter.take(client, Instant::now());
    }
    response
}

impl Limiter {
    /// The request's client: its peer, or behind a trusted proxy the address that proxy saw.
    /// Served by `api::serve`, every request has its peer; a router served some other way has
    /// none, and then all its clients share one bucket, which limits too much rather than not at
    /// all.
    fn client(&self, req: &Request) -> IpAddr {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        self.0.trusted.client(peer, req.headers())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: RateLimit = RateLimit {
        per_second: 10,
        burst: 3,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_for_the_rate() {
        let limiter = Limiter::new(RATE, TrustedProxies::default());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(ip("203.0.113.7"), t0).is_ok());
        }
        let wait = limiter.take(ip("203.0.113.7"), t0).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // A tenth of a second later, one more request (10 per second).
        let t1 = t0 + Duration::from_millis(100);
        assert!(limiter.take(ip("203.0.113.7"), t1).is_ok());
        assert!(limiter.take(ip("203.0.113.7"), t1).is_err());
    }

    #[test]
    fn clients_do_not_share_buckets() {
        let limiter = Limiter::new(RATE, TrustedProxies::default());
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.take(ip("203.0.113.7"), t0).unwrap();
        }
        assert!(limiter.take(ip("203.0.113.7"), t0).is_err());
        assert!(limiter.take(ip("203.0.113.8"), t0).is_ok());
        assert!(limiter.take(ip("2001:db8:1:2::1"), t0).is_ok());
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64_and_mapped_ipv4_as_ipv4() {
        let limiter = Limiter::new(RATE, TrustedProxies::default());
        let t0 = Instant::now();
        for host in [
            "2001:db8:1:2::1",
            "2001:db8:1:2::2",
            "2001:db8:1:2:ffff:ffff:ffff:ffff",
        ] {
            limiter.take(ip(host), t0).unwrap();
        }
        assert!(limiter.take(ip("2001:db8:1:2:dead::beef"), t0).is_err());
        assert!(limiter.take(ip("2001:db8:1:3::1"), t0).is_ok());
        for _ in 0..3 {
            limiter.take(ip("198.51.100.1"), t0).unwrap();
        }
        assert!(limiter.take(ip("::ffff:198.51.100.1"), t0).is_err());
    }

    #[test]
    fn memory_stays_bounded_under_many_addresses() {
        let limiter = Limiter::new(RATE, TrustedProxies::default());
        let t0 = Instant::now();
        // No time passes, so no bucket refills: past the bound, each new address evicts one.
        for i in 0..(SHARDS * MAX_CLIENTS_PER_SHARD + 2000) {
            let n = u32::try_from(i).unwrap();
            let addr = IpAddr::from(n.to_be_bytes());
            let _ = limiter.take(addr, t0);
        }
        let held: usize = limiter
            .0
            .shards
            .iter()
            .map(|s| s.lock().unwrap().len())
            .sum();
        assert!(held <= SHARDS * MAX_CLIENTS_PER_SHARD, "{held}");
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_address_it_saw() {
        let trusted = TrustedProxies::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "192.0.2.1/32".parse().unwrap(),
        ]);
        let proxy = ip("10.1.2.3");
        // What the client wrote itself (the left part) proves nothing; the proxy's entry counts.
        let h = forwarded(&["1.1.1.1, 203.0.113.9"]);
        assert_eq!(trusted.client(proxy, &h), ip("203.0.113.9"));
        // Two trusted hops, one header each.
        let h = forwarded(&["6.6.6.6, 203.0.113.9", "192.0.2.1"]);
        assert_eq!(trusted.client(proxy, &h), ip("203.0.113.9"));
        // A peer that is not a trusted proxy is the client, whatever it forwards.
        assert_eq!(trusted.client(ip("203.0.113.50"), &h), ip("203.0.113.50"));
        // A mapped address is the same address.
        assert_eq!(
            trusted.client(ip("::ffff:10.1.2.3"), &forwarded(&["203.0.113.9"])),
            ip("203.0.113.9")
        );
        // Nothing usable forwarded: the proxy itself.
        assert_eq!(trusted.client(proxy, &HeaderMap::new()), proxy);
        assert_eq!(trusted.client(proxy, &forwarded(&["garbage"])), proxy);
        // Nothing trusted: the peer, always.
        assert_eq!(
            TrustedProxies::default().client(proxy, &forwarded(&["203.0.113.9"])),
            proxy
        );
    }
}

//! A per-client limit on the routes anyone may call without a signature (status polling, the
//! checkout page, channel callbacks, the sandbox's routes): a token bucket per client address, in
//! memory, per process. A client over its limit is answered `429 rate_limited` with `Retry-After`.
//!
//! The client is the connection's peer address; behind a reverse proxy every client has the
//! proxy's address and shares one bucket (see the README). IPv6 clients are counted by their /64,
//! which one host usually holds whole. Signed merchant requests are not limited here: a site may
//! create orders as fast as it needs.
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
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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

const SHARDS: usize = 16;
const MAX_CLIENTS_PER_SHARD: usize = 4096;

/// The buckets, shared by every connection. Cloning shares them.
#[derive(Clone)]
pub(crate) struct Limiter(Arc<Inner>);

struct Inner {
    rate: RateLimit,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl Limiter {
    pub(crate) fn new(rate: RateLimit) -> Self {
        Self(Arc::new(Inner {
            rate,
            // Random per process: a client cannot pick addresses that all land in one shard.
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }))
    }

    /// Takes one request from `client`'s bucket at `now`; `Err` says how long until it may retry.
    fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
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
        buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(inner.rate, now))
            .take(inner.rate, now)
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
    // Served by `api::serve`, every request has its peer. A router served some other way has no
    // peer: then all its clients share one bucket, which limits too much rather than not at all.
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    match limiter.take(client, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => ApiError::RateLimited(wait).into_response(),
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
        let limiter = Limiter::new(RATE);
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
        let limiter = Limiter::new(RATE);
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
        let limiter = Limiter::new(RATE);
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
        let limiter = Limiter::new(RATE);
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
}

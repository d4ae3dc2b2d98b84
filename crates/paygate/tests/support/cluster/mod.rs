//! Several processes working together, for the crash tests (`serve_crash.rs`,
//! `serve_crash_creates.rs`) and the many-node test (`serve_nodes.rs`), one module per part:
//!
//! - [`db`]: the nodes' throwaway PostgreSQL database (`test_support::db`, on
//!   `PAYGATE_TEST_POSTGRES_URL`) and the reads the tests check it with;
//! - [`upstream`]: a standalone `paygate sim` (it outlives every paygate) with a WeChat Pay
//!   merchant and an Alipay app registered and a config file pointing paygate at it, and the trade
//!   states it holds;
//! - [`nodes`]: `paygate serve` on a fixed port (so that a restart keeps the public URL the
//!   channels call back), on PostgreSQL with a config or as shipped (SQLite, sandbox), SIGKILLed
//!   and restarted at will; a balancer in front of several; the site
//!   created with the CLI, and the store read as the operator's commands read it;
//! - [`site`]: the site: its API client retrying while paygate is down, and its notification
//!   endpoint, which records every delivery and any two deliveries of one event in flight at once.
//!
//! Here: randomness that can be replayed, and small helpers. Loopback only; every wait is bounded.

pub mod db;
pub mod nodes;
pub mod site;
pub mod upstream;

use std::time::Duration;

use serde_json::Value;

/// SplitMix64: small, seeded, good enough to pick kill moments and delays.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// `PAYGATE_TEST_SEED` (to replay a failed run), else `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("PAYGATE_TEST_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// A port that was free a moment ago (a node keeps it across restarts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Unix milliseconds now (the unit of every time column).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A client for loopback only (never a proxy from the environment).
pub fn http() -> reqwest::Client {
    super::loopback_client(Duration::from_secs(15))
}

async fn post_json(url: &str, body: &Value) -> Value {
    let r = http()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "POST {url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url}: not JSON ({e}): {text}"))
}

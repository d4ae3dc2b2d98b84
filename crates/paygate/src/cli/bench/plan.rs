//! How long and how hard each scenario runs: the full run, whose figures go to `bench/RESULTS.md`,
//! and the quick smoke run CI makes, which only shows that every scenario completes without error.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    /// Keep-alive clients of the closed-loop create, pay and refund runs.
    pub clients: usize,
    /// Clients of the status poll and the `/healthz` ceiling.
    pub poll_clients: usize,
    pub closed_loop: Duration,
    /// Each open-loop rate runs this long.
    pub open_loop: Duration,
    /// Requests an open-loop run may have outstanding at once.
    pub in_flight: usize,
    pub max_requests: u64,
    pub poll: Duration,
    /// Orders made before the measured runs, for the streams and the polls.
    pub stock: u64,
    pub streams: usize,
    pub streams_window: Duration,
    pub callbacks: usize,
    pub refunds: usize,
    /// How long notifications may take to arrive after the last request, and the longest wait
    /// for paygate to be quiet before a scenario.
    pub settle: Duration,
    pub bounds_budget: Duration,
    pub direct: Duration,
}

impl Plan {
    pub fn full(clients: usize) -> Self {
        Self {
            quick: false,
            clients,
            poll_clients: clients * 2,
            closed_loop: Duration::from_secs(10),
            open_loop: Duration::from_secs(5),
            in_flight: 512,
            max_requests: 1_000_000,
            poll: Duration::from_secs(5),
            stock: 1000,
            streams: 1000,
            streams_window: Duration::from_secs(5),
            callbacks: 4000,
            refunds: 1000,
            settle: Duration::from_secs(120),
            bounds_budget: Duration::from_secs(3),
            direct: Duration::from_secs(10),
        }
    }

    pub fn quick(clients: usize) -> Self {
        Self {
            quick: true,
            clients: clients.min(8),
            poll_clients: clients.min(8),
            closed_loop: Duration::from_millis(500),
            open_loop: Duration::from_millis(300),
            in_flight: 64,
            max_requests: 100,
            poll: Duration::from_millis(300),
            stock: 40,
            streams: 40,
            streams_window: Duration::from_millis(500),
            callbacks: 30,
            refunds: 10,
            settle: Duration::from_secs(30),
            bounds_budget: Duration::from_millis(300),
            direct: Duration::from_millis(500),
        }
    }
}

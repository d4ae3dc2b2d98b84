//! The two ways load is offered. Closed loop: a fixed number of clients, each sending its next
//! request when the last one answered, which finds the most paygate can do. Open loop: requests
//! sent on a fixed schedule whatever paygate does, which is how real traffic arrives; each latency is
//! counted from when its request was due, not from when it could be sent, so a paygate that falls
//! behind shows it (no coordinated omission).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// What one run of requests gave.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Latencies of the requests that succeeded, sorted.
    pub latencies: Vec<Duration>,
    pub errors: u64,
    /// The first failure, to say what went wrong.
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Run {
    pub fn requests(&self) -> u64 {
        self.latencies.len() as u64 + self.errors
    }

    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        per_second(self.latencies.len() as u64, self.elapsed)
    }

    /// The `q` quantile (0..=1) of the successful requests' latency.
    pub fn quantile(&self, q: f64) -> Duration {
        quantile(&self.latencies, q)
    }

    pub fn max(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }

    fn from_parts(parts: Vec<Part>, elapsed: Duration) -> Self {
        let mut run = Self {
            elapsed,
            ..Self::default()
        };
        for part in parts {
            run.latencies.extend(part.latencies);
            run.errors += part.errors;
            if run.first_error.is_none() {
                run.first_error = part.first_error;
            }
        }
        run.latencies.sort_unstable();
        run
    }
}

/// `count` events over `elapsed`, per second.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        // Counts far below 2^52: exact as a float.
        #[allow(clippy::cast_precision_loss)]
        let count = count as f64;
        count / secs
    } else {
        0.0
    }
}

/// The `q` quantile of sorted `values` (nearest rank).
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // An index into a slice far below 2^52 elements: the conversions are exact.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[derive(Default)]
struct Part {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Part {
    fn record(&mut self, latency: Duration, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.latencies.push(latency),
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }
}

/// `clients` clients, each sending its next request when the last answered, until `duration` has
/// passed or `max` requests were sent. `op(i)` sends request number `i` (0, 1, 2, … across clients).
pub async fn closed_loop<F, Fut>(clients: usize, duration: Duration, max: u64, op: F) -> Run
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (op, next) = (op.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut part = Part::default();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max {
                    break;
                }
                let sent = Instant::now();
                let outcome = op(i).await;
                part.record(sent.elapsed(), outcome);
            }
            part
        }));
    }
    let parts = join_parts(tasks).await;
    Run::from_parts(parts, started.elapsed())
}

/// Requests due at `rate` per second for `duration`, each sent when due whatever happened to the
/// earlier ones, with at most `in_flight` outstanding (a request due while that many are waiting
/// waits too, and its wait counts in its latency).
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, in_flight: usize, op: F) -> Run
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    // Whole requests: a rate and a duration of a benchmark are small and positive.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let count = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(f64::MIN_POSITIVE));
    let slots = Arc::new(Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..count {
        let due = started + interval.mul_f64(precise(i));
        tokio::time::sleep_until(due.into()).await;
        let (op, slots) = (op.clone(), Arc::clone(&slots));
        tasks.push(tokio::spawn(async move {
            let mut part = Part::default();
            let outcome = match slots.acquire_owned().await {
                Ok(_slot) => op(i).await,
                Err(_) => Err("the request slots were closed".to_owned()),
            };
            part.record(due.elapsed(), outcome);
            part
        }));
    }
    let parts = join_parts(tasks).await;
    Run::from_parts(parts, started.elapsed())
}

/// `i` as a float: request numbers stay far below 2^52.
#[allow(clippy::cast_precision_loss)]
fn precise(i: u64) -> f64 {
    i as f64
}

async fn join_parts(tasks: Vec<tokio::task::JoinHandle<Part>>) -> Vec<Part> {
    let mut parts = Vec::with_capacity(tasks.len());
    for task in tasks {
        parts.push(task.await.unwrap_or_else(|e| Part {
            latencies: Vec::new(),
            errors: 1,
            first_error: Some(format!("a load task ended abnormally: {e}")),
        }));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&values, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&values, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[tokio::test]
    async fn closed_loop_stops_at_max_and_counts_errors() {
        let run = closed_loop(4, Duration::from_secs(10), 40, |i| async move {
            if i % 10 == 0 {
                Err(format!("request {i} failed"))
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(run.requests(), 40);
        assert_eq!(run.errors, 4);
        assert!(run.first_error.is_some());
    }

    #[tokio::test]
    async fn open_loop_counts_latency_from_when_a_request_was_due() {
        // One slot and requests that take 20 ms, due every 5 ms: each waits behind the last, and
        // the waits show in the latencies.
        let run = open_loop(200.0, Duration::from_millis(50), 1, |_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(())
        })
        .await;
        assert_eq!(run.requests(), 10);
        assert!(run.max() >= Duration::from_millis(150), "{:?}", run.max());
    }
}

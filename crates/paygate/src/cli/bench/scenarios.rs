//! The scenarios, in the order one backend's run goes through them. Each gives rows for the report;
//! a scenario that cannot finish gives a row with errors rather than stopping the run, so that the
//! report always shows every scenario and the command's exit status says whether all held.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::client::Client;
use super::load::{self, Run};
use super::plan::Plan;
use super::receiver::{EventKey, Receiver};
use super::report::{Bound, MemoryRow, Row};
use super::server::{Backend, Server};

/// What the scenarios share on one backend.
pub struct Stand<'a> {
    pub backend: Backend,
    pub server: &'a Server,
    pub client: Client,
    pub receiver: &'a Receiver,
    pub plan: &'a Plan,
    /// Orders created so far and not yet paid: `(out_trade_no, checkout token)`.
    pub unpaid: Arc<Mutex<Vec<(String, String)>>>,
    /// Every out_trade_no of the run is this and a number…
    pub prefix: String,
    /// …taken from here, whichever run creates it.
    pub numbers: Arc<std::sync::atomic::AtomicU64>,
}

/// A row of `run`, with paygate's peak memory while it ran.
fn row(stand: &Stand<'_>, scenario: &str, load: String, run: &Run, bound: Option<Bound>) -> Row {
    Row::new(
        scenario,
        stand.backend.name(),
        load,
        run,
        bound,
        stand.server.memory().peak,
    )
}

impl Stand<'_> {
    /// Creates `count` orders with `clients` at once (setup, not measured).
    pub async fn stock(&self, count: u64, clients: usize) -> Run {
        self.create_run(clients, Duration::from_secs(600), count)
            .await
    }

    async fn create_run(&self, clients: usize, duration: Duration, max: u64) -> Run {
        let op = self.create_op();
        load::closed_loop(clients, duration, max, op).await
    }

    /// Creates order `i` and keeps it among the unpaid.
    fn create_op(
        &self,
    ) -> impl Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
    + Clone
    + Send
    + Sync
    + 'static {
        let client = self.client.clone();
        let unpaid = Arc::clone(&self.unpaid);
        let prefix = self.prefix.clone();
        let numbers = Arc::clone(&self.numbers);
        move |_| {
            let (client, unpaid) = (client.clone(), Arc::clone(&unpaid));
            let n = numbers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let no = format!("{prefix}{n:08}");
            Box::pin(async move {
                let token = client.create_native(&no).await?;
                unpaid.lock().await.push((no, token));
                Ok(())
            })
        }
    }

    /// Order creation at its most: `clients` keep-alive clients, each creating the next order as
    /// soon as the last one answered.
    pub async fn create_closed_loop(&self, bound: Bound) -> (Row, f64) {
        let plan = self.plan;
        let run = self
            .create_run(plan.clients, plan.closed_loop, plan.max_requests)
            .await;
        let throughput = run.throughput();
        let load = format!("closed loop, {} clients", plan.clients);
        (
            row(self, "create order", load, &run, Some(bound)),
            throughput,
        )
    }

    /// Order creation at a fixed rate, as real traffic comes.
    pub async fn create_open_loop(&self, rate: f64, share: &str, bound: Bound) -> Row {
        let plan = self.plan;
        let run = load::open_loop(rate, plan.open_loop, plan.in_flight, self.create_op()).await;
        let load = format!("open loop, {rate:.0}/s ({share} of the bound)");
        row(self, "create order", load, &run, Some(bound))
    }

    /// `GET /healthz` as fast as it goes: what paygate's HTTP stack alone allows, the bound of
    /// the status poll.
    pub async fn http_ceiling(&self) -> (Row, f64) {
        let plan = self.plan;
        let client = self.client.clone();
        let run = load::closed_loop(
            plan.poll_clients,
            plan.poll,
            plan.max_requests * 10,
            move |_| {
                let client = client.clone();
                async move { client.healthz().await }
            },
        )
        .await;
        let load = format!("closed loop, {} clients", plan.poll_clients);
        let throughput = run.throughput();
        (
            row(self, "GET /healthz (no database)", load, &run, None),
            throughput,
        )
    }

    /// The checkout page's status poll on the orders created so far.
    pub async fn status_polling(&self, bound: Bound) -> Row {
        let plan = self.plan;
        let tokens: Arc<Vec<String>> = Arc::new(
            self.unpaid
                .lock()
                .await
                .iter()
                .take(1000)
                .map(|(_, t)| t.clone())
                .collect(),
        );
        let client = self.client.clone();
        let run = if tokens.is_empty() {
            failed_run("no orders to poll")
        } else {
            load::closed_loop(
                plan.poll_clients,
                plan.poll,
                plan.max_requests * 10,
                move |i| {
                    let (client, tokens) = (client.clone(), Arc::clone(&tokens));
                    async move {
                        let token = &tokens[usize::try_from(i).unwrap_or(0) % tokens.len()];
                        client.status(token).await
                    }
                },
            )
            .await
        };
        let load = format!("closed loop, {} clients", plan.poll_clients);
        row(
            self,
            "status poll GET /pay/wechat/status",
            load,
            &run,
            Some(bound),
        )
    }

    /// Checkout pages left open on their status stream: what they cost while nothing changes.
    pub async fn open_streams(&self) -> MemoryRow {
        let plan = self.plan;
        let tokens: Vec<String> = self
            .unpaid
            .lock()
            .await
            .iter()
            .take(plan.streams)
            .map(|(_, t)| t.clone())
            .collect();
        // What paygate does anyway (its workers poll for due jobs): subtracted from what it does
        // with the pages open. The orders just made woke the workers once each; let that pass.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = self.quiet_window().await;
        let before = self.server.memory().rss;
        let mut streams = Vec::with_capacity(tokens.len());
        let mut errors = 0u64;
        let mut first_error = None;
        let opening = tokens.chunks(100).map(|chunk| {
            let client = self.client.clone();
            let chunk = chunk.to_vec();
            tokio::spawn(async move {
                let mut out = Vec::new();
                for token in chunk {
                    out.push(client.open_stream(&token).await);
                }
                out
            })
        });
        for task in opening.collect::<Vec<_>>() {
            for opened in task.await.unwrap_or_default() {
                match opened {
                    Ok(stream) => streams.push(stream),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        // Let what opening them cost settle before the quiet window is measured.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let open = self.quiet_window().await;
        let after = self.server.memory().rss;
        let count = streams.len();
        drop(streams);
        // Background work may not have settled before: the quieter of the two windows is idle.
        let idle_after = self.quiet_window().await;
        let idle = if idle_after.1 < idle.1 {
            idle_after
        } else {
            idle
        };
        MemoryRow::streams(
            self.backend.name(),
            count,
            errors,
            first_error,
            before,
            after,
            open.0,
            open.1 - idle.1,
        )
    }

    /// Waits until paygate is quiet (under 5% of a core over half a second), at most `within`:
    /// what one scenario left behind (the checks of the orders it made, notifications it queued)
    /// is not measured with the next.
    pub async fn settle(&self, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let before = self.server.cpu_time();
            tokio::time::sleep(Duration::from_millis(500)).await;
            let busy = self.server.cpu_time().saturating_sub(before);
            if busy < Duration::from_millis(25) || started.elapsed() >= within {
                return started.elapsed();
            }
        }
    }

    /// paygate's CPU use (in cores) and database queries per second over a quiet window.
    async fn quiet_window(&self) -> (f64, f64) {
        let (cpu0, q0, t0) = (self.server.cpu_time(), self.queries().await, Instant::now());
        tokio::time::sleep(self.plan.streams_window).await;
        let (cpu1, q1) = (self.server.cpu_time(), self.queries().await);
        let secs = t0.elapsed().as_secs_f64();
        (
            cpu1.saturating_sub(cpu0).as_secs_f64() / secs,
            (q1 - q0) / secs,
        )
    }

    /// paygate's count of database queries so far (NaN when `/metrics` cannot be read).
    async fn queries(&self) -> f64 {
        self.server
            .metric(&self.client.http, "paygate_db_queries_total")
            .await
            .unwrap_or(f64::NAN)
    }

    /// Payers pay: the simulator signs and encrypts a `TRANSACTION.SUCCESS` for each order and
    /// posts it to paygate, which verifies, decrypts and applies it (the order paid and its
    /// notification queued in one transaction) and then notifies the site. Two rows: the callbacks
    /// paygate took, and the notifications the site received.
    pub async fn callbacks_and_notifications(
        &self,
        callback_bound: Bound,
        notify_bound: Bound,
    ) -> (Row, Row, Vec<String>) {
        let plan = self.plan;
        let orders: Vec<(String, String)> = {
            let mut unpaid = self.unpaid.lock().await;
            let take = plan.callbacks.min(unpaid.len());
            unpaid.drain(..take).collect()
        };
        let (nos, tokens): (Vec<String>, Vec<String>) = orders.into_iter().unzip();
        let started_at = time::OffsetDateTime::now_utc();
        let client = self.client.clone();
        let (pays, marks) = each_once(plan.clients, tokens, move |token| {
            let client = client.clone();
            async move {
                client.pay(&token).await?;
                Ok(Instant::now())
            }
        })
        .await;
        let keys: Vec<EventKey> = nos
            .iter()
            .map(|no| ("TRANSACTION.SUCCESS".to_owned(), no.clone()))
            .collect();
        let arrivals = self.receiver.arrivals(&keys, plan.settle).await;
        let intake = self.callback_log(nos.len(), started_at).await;

        // Notification latency: from the payer's pay call answered to the site holding it.
        let mut notify = Run::default();
        for (arrived, paid) in arrivals.iter().zip(&marks) {
            match (arrived, paid) {
                (Some(a), Some(p)) => notify.latencies.push(a.saturating_duration_since(*p)),
                _ => {
                    notify.errors += 1;
                    notify.first_error.get_or_insert_with(|| {
                        "a paid order's notification did not arrive".to_owned()
                    });
                }
            }
        }
        notify.latencies.sort_unstable();
        let first = arrivals.iter().flatten().min();
        let last = arrivals.iter().flatten().max();
        notify.elapsed = match (first, last) {
            (Some(f), Some(l)) => l.saturating_duration_since(*f),
            _ => Duration::ZERO,
        };
        let mut intake = intake;
        intake.errors += pays.errors;
        // The payments' own failure says more than the missing callbacks that follow from it.
        if pays.first_error.is_some() {
            intake.first_error = pays.first_error;
        }
        let load = format!("{} payments, {} payers at once", nos.len(), plan.clients);
        let callback_row = row(
            self,
            "callback intake (TRANSACTION.SUCCESS → paid + outbox)",
            load.clone(),
            &intake,
            Some(callback_bound),
        );
        let notify_row = row(
            self,
            "notification delivery (to the site, signature checked)",
            load,
            &notify,
            Some(notify_bound),
        );
        (callback_row, notify_row, nos)
    }

    /// The simulator's own record of the `count` payment callbacks sent since `started_at`: when
    /// each was sent and how long paygate took to answer it, to the millisecond it keeps.
    async fn callback_log(&self, count: usize, started_at: time::OffsetDateTime) -> Run {
        let url = format!("{}/sim/wechat/callbacks", self.server.sim_url);
        let records: Vec<serde_json::Value> = match self.client.http.get(url).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(e) => return failed_run(&format!("the simulator's callback log: {e}")),
        };
        let at = |v: &serde_json::Value| {
            v.as_str().and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
        };
        let mut run = Run::default();
        let mut end = started_at;
        let mut seen = 0usize;
        for record in &records {
            let reference = record["reference"].as_str().unwrap_or_default();
            let since = at(&record["created_at"]).is_some_and(|t| t >= started_at);
            if record["event"] != "TRANSACTION.SUCCESS" || !since {
                continue;
            }
            seen += 1;
            let attempts = record["attempts"].as_array().cloned().unwrap_or_default();
            let Some(answered) = attempts.iter().find(|a| a["success"] == true) else {
                run.errors += 1;
                run.first_error.get_or_insert_with(|| {
                    format!("paygate did not take the callback for {reference}: {attempts:?}")
                });
                continue;
            };
            if attempts.len() > 1 {
                run.errors += 1;
                run.first_error.get_or_insert_with(|| {
                    format!(
                        "paygate refused a callback for {reference} before taking it: {attempts:?}"
                    )
                });
            }
            let latency = Duration::from_millis(answered["latency_ms"].as_u64().unwrap_or(0));
            run.latencies.push(latency);
            let sent = at(&answered["at"]).unwrap_or(started_at);
            end = end.max(sent + latency);
        }
        if seen != count {
            run.errors += count.abs_diff(seen) as u64;
            run.first_error.get_or_insert_with(|| {
                format!("{count} payments, but {seen} payment callbacks in the simulator's log")
            });
        }
        run.latencies.sort_unstable();
        // From the first payment asked for to the last callback answered.
        run.elapsed = (end - started_at).try_into().unwrap_or_default();
        run
    }

    /// Refunds of paid orders, the whole amount each: the signed request paygate sends and whose
    /// answer it verifies; each refund then settles in the simulator and is notified.
    pub async fn refunds(&self, paid: &[String], bound: Bound) -> (Row, Option<Duration>) {
        let plan = self.plan;
        let nos: Vec<String> = paid.iter().take(plan.refunds).cloned().collect();
        let client = self.client.clone();
        let (mut run, marks) = each_once(plan.clients, nos.clone(), move |no| {
            let client = client.clone();
            async move {
                let sent = Instant::now();
                client.refund(&no, &format!("R{no}")).await?;
                Ok(sent)
            }
        })
        .await;
        // Every refund must end (the simulator settles them on its own) and be notified.
        let keys: Vec<EventKey> = nos
            .iter()
            .map(|no| ("REFUND.SUCCESS".to_owned(), format!("R{no}")))
            .collect();
        let arrivals = self
            .receiver
            .arrivals(&keys, plan.settle + Duration::from_secs(5))
            .await;
        let mut to_final: Vec<Duration> = Vec::new();
        for (arrived, sent) in arrivals.iter().zip(&marks) {
            match (arrived, sent) {
                (Some(a), Some(s)) => to_final.push(a.saturating_duration_since(*s)),
                (None, Some(_)) => {
                    run.errors += 1;
                    run.first_error.get_or_insert_with(|| {
                        "a refund's REFUND.SUCCESS did not arrive".to_owned()
                    });
                }
                _ => {}
            }
        }
        to_final.sort_unstable();
        let median = (!to_final.is_empty()).then(|| load::quantile(&to_final, 0.5));
        let load = format!("{} refunds, {} at once", nos.len(), plan.clients);
        (
            row(
                self,
                "refund (create; then final in the simulator)",
                load,
                &run,
                Some(bound),
            ),
            median,
        )
    }
}

/// `op` once for each of `items`, `clients` at a time; with the instant each success returned
/// (when it was sent or answered, as `op` sees fit), by item.
async fn each_once<F, Fut>(clients: usize, items: Vec<String>, op: F) -> (Run, Vec<Option<Instant>>)
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Instant, String>> + Send + 'static,
{
    let marks = Arc::new(std::sync::Mutex::new(vec![None; items.len()]));
    let (count, items) = (items.len() as u64, Arc::new(items));
    let recorded = Arc::clone(&marks);
    let run = load::closed_loop(clients, Duration::from_secs(600), count, move |i| {
        let (op, items, marks) = (op.clone(), Arc::clone(&items), Arc::clone(&recorded));
        async move {
            let i = usize::try_from(i).map_err(|e| e.to_string())?;
            let item = items.get(i).ok_or("no such item")?.clone();
            let at = op(item).await?;
            if let Ok(mut marks) = marks.lock() {
                marks[i] = Some(at);
            }
            Ok(())
        }
    })
    .await;
    let marks = marks.lock().map(|m| m.clone()).unwrap_or_default();
    (run, marks)
}

/// A run that could not start, counted as one error.
pub fn failed_run(why: &str) -> Run {
    Run {
        errors: 1,
        first_error: Some(why.to_owned()),
        ..Run::default()
    }
}

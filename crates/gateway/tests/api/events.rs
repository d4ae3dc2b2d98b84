//! `GET /pay/events`: a checkout page's live status. The first event is what the status route
//! answers, the next ones come when the order's status changes (on this node or, on PostgreSQL,
//! another), the stream ends after a final status, and open streams cost the database nothing while
//! no order changes.

use std::time::{Duration, Instant};

use gateway::api::RateLimit;
use gateway::domain::{OrderStatus, Timestamp, UpstreamFields};
use gateway::store::{Store, Transition};
use serde_json::{Value, json};
use test_support::wait::eventually;

use crate::api_tests;
use crate::support::Backend;
use crate::support::app::TestApp;

/// How long a test waits for an event it expects.
const WITHIN: Duration = Duration::from_secs(5);

/// What a stream sent next.
#[derive(Debug, PartialEq)]
enum Item {
    /// `event: status` with its `data:` line, as sent.
    Status(String),
    /// A comment line (the heartbeat).
    Comment(String),
    /// The server ended the stream.
    End,
}

/// An open `GET /pay/events` answer, read block by block.
struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

impl EventStream {
    async fn open(base: &str, token: &str) -> Self {
        let resp = reqwest::get(format!("{base}/pay/events?token={token}"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(header("content-type").as_deref(), Some("text/event-stream"));
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(header("x-accel-buffering").as_deref(), Some("no"));
        Self {
            resp,
            buf: String::new(),
        }
    }

    /// The next block, or `None` if nothing came within `within`.
    async fn next_within(&mut self, within: Duration) -> Option<Item> {
        tokio::time::timeout(within, self.next()).await.ok()
    }

    async fn next(&mut self) -> Item {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                return parse(block.trim_end());
            }
            match self.resp.chunk().await.unwrap() {
                Some(bytes) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => {
                    assert!(self.buf.is_empty(), "a partial event: {:?}", self.buf);
                    return Item::End;
                }
            }
        }
    }

    /// The next status event's data, as JSON (skipping heartbeats).
    async fn status(&mut self) -> Value {
        loop {
            match self.next_within(WITHIN).await {
                Some(Item::Status(data)) => return serde_json::from_str(&data).unwrap(),
                Some(Item::Comment(_)) => {}
                other => panic!("expected a status event, got {other:?}"),
            }
        }
    }

    async fn ends(&mut self) {
        assert_eq!(self.next_within(WITHIN).await, Some(Item::End));
    }
}

fn parse(block: &str) -> Item {
    if block.lines().all(|l| l.starts_with(':')) {
        return Item::Comment(block.to_owned());
    }
    let field = |name: &str| {
        block
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim_start().to_owned()))
    };
    assert_eq!(field("event:").as_deref(), Some("status"), "{block}");
    Item::Status(field("data:").unwrap())
}

/// A pending WeChat Native order; its checkout token.
async fn pending_order(app: &TestApp, no: &str) -> String {
    let v = app
        .create_native(&json!({"out_trade_no": no, "description": "VIP月卡", "amount_total": 2990}))
        .await;
    let checkout = v.assert_ok()["checkout_url"].as_str().unwrap().to_owned();
    checkout.split("token=").nth(1).unwrap().to_owned()
}

/// On PostgreSQL, waits until `nodes` listeners hear order changes (their `LISTEN` is the last
/// statement of their connection), so that no listener's first connection re-reads every stream
/// in the middle of a measurement.
async fn listening(app: &TestApp, nodes: i64) {
    if app.db.backend != Backend::Postgres {
        return;
    }
    eventually(WITHIN, "the order change listeners", || async {
        let n = app
            .db
            .count(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .await;
        (n >= nodes).then_some(())
    })
    .await;
}

/// Closes a pending order straight through the store, as the expiry job would.
async fn close(store: &Store, app: &TestApp, no: &str) {
    let order = app.stored(&app.site, no).await;
    let done = store
        .transition(&Transition {
            order_id: order.id,
            from: OrderStatus::Pending,
            to: OrderStatus::Closed,
            reason: "expired".into(),
            upstream: UpstreamFields::default(),
            at: Timestamp::now(),
        })
        .await
        .unwrap();
    assert!(done.won());
}

api_tests! {
    async fn a_stream_shows_the_status_then_the_payment_and_ends(app: TestApp) {
        let token = pending_order(&app, "order_events_1").await;
        let mut events = EventStream::open(&app.base, &token).await;
        let first = match events.next_within(WITHIN).await {
            Some(Item::Status(data)) => data,
            other => panic!("{other:?}"),
        };
        // Exactly the status route's answer.
        assert_eq!(first, app.status(&token).await.text);
        assert_eq!(serde_json::from_str::<Value>(&first).unwrap()["status"], "pending");

        app.sim_wechat_pay(&app.site, "order_events_1").await;
        let paid_at = Instant::now();
        let paid = events.status().await;
        assert_eq!(paid["status"], "paid", "{paid}");
        assert!(paid_at.elapsed() < Duration::from_secs(2), "{:?}", paid_at.elapsed());
        assert_eq!(paid, app.status(&token).await.json);
        events.ends().await;
    }

    async fn a_stream_on_a_final_order_shows_it_and_ends_at_once(app: TestApp) {
        let token = pending_order(&app, "order_events_2").await;
        app.sim_wechat_pay(&app.site, "order_events_2").await;
        eventually(WITHIN, "the payment", || async {
            (app.stored_status(&app.site, "order_events_2").await == OrderStatus::Paid).then_some(())
        })
        .await;
        let mut events = EventStream::open(&app.base, &token).await;
        assert_eq!(events.status().await["status"], "paid");
        events.ends().await;
    }

    async fn a_stream_needs_a_known_token(app: TestApp) {
        app.get("/pay/events?token=ck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await.assert_error(404, "order_not_found");
        app.get("/pay/events?token=not_a_token").await.assert_error(404, "order_not_found");
        app.get("/pay/events").await.assert_error(400, "missing_fields");
    }

    async fn a_change_that_leaves_the_status_alone_sends_nothing(app: TestApp) {
        let token = pending_order(&app, "order_events_3").await;
        let mut events = EventStream::open(&app.base, &token).await;
        assert_eq!(events.status().await["status"], "pending");
        // A signal without a change (a duplicate, as a node hears its own changes from
        // PostgreSQL): the stream re-reads and stays quiet.
        let order = app.stored(&app.site, "order_events_3").await;
        app.db.store.order_changes().publish(order.id);
        assert_eq!(events.next_within(Duration::from_millis(300)).await, None);
        close(&app.db.store, &app, "order_events_3").await;
        assert_eq!(events.status().await["status"], "closed");
        events.ends().await;
    }

    async fn opening_streams_is_limited_per_client_like_status_polling(app: TestApp) {
        let app = TestApp::spawn_tuned(app.kill(), |s| {
            s.http.rate_limit = Some(RateLimit { per_second: 1, burst: 3 });
        })
        .await;
        let token = pending_order(&app, "order_events_4").await;
        let mut open = Vec::new();
        for _ in 0..3 {
            open.push(EventStream::open(&app.base, &token).await);
        }
        app.get(&format!("/pay/events?token={token}")).await.assert_error(429, "rate_limited");
    }

    async fn open_streams_cost_no_queries_while_nothing_changes(app: TestApp) {
        // One test client opens every stream from one address: no per-client limit here.
        let app = TestApp::spawn_tuned(app.kill(), |s| s.http.rate_limit = None).await;
        listening(&app, 1).await;
        let mut tokens = Vec::new();
        for n in 0..20 {
            tokens.push(pending_order(&app, &format!("order_many_{n}")).await);
        }
        // 200 pages: ten on each of 20 orders.
        let mut streams = Vec::new();
        for token in &tokens {
            for _ in 0..10 {
                streams.push(EventStream::open(&app.base, token).await);
            }
        }
        for s in &mut streams {
            assert_eq!(s.status().await["status"], "pending");
        }
        let store = &app.db.store;
        assert_eq!(store.order_changes().watched_orders(), 20);
        let before = store.queries();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(store.queries(), before, "open streams queried the database while nothing changed");

        // One order changes: its ten streams re-read it, no other stream does.
        close(store, &app, "order_many_0").await;
        let (changed, quiet) = streams.split_at_mut(10);
        for s in changed {
            assert_eq!(s.status().await["status"], "closed");
            s.ends().await;
        }
        for s in quiet.iter_mut() {
            assert_eq!(s.next_within(Duration::from_millis(5)).await, None);
        }
        // `transition` is two store calls (the write, the read back); one re-read per stream of
        // the changed order, and at most one more per stream on PostgreSQL, where the change is
        // also heard back from the database.
        let spent = store.queries() - before;
        assert!((2 + 10..=2 + 20).contains(&spent), "{spent} store calls");
    }
}

/// Two nodes on one PostgreSQL database: a page held open on node B sees the payment that node A
/// records (the simulator's callback reaches A).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_on_one_node_sees_a_payment_recorded_by_another() {
    crate::support::app::with_app(Backend::Postgres, |app: TestApp| async move {
        let b = Observer::start(&app).await;
        listening(&app, 2).await;
        let token = pending_order(&app, "order_events_nodes").await;
        let mut events = EventStream::open(&b.base, &token).await;
        assert_eq!(events.status().await["status"], "pending");
        app.sim_wechat_pay(&app.site, "order_events_nodes").await;
        assert_eq!(events.status().await["status"], "paid");
        events.ends().await;
        // The ended stream's watch is gone from node B's hub with it.
        eventually(WITHIN, "the watch to go", || async {
            (b.store.order_changes().watched_orders() == 0).then_some(())
        })
        .await;
    })
    .await;
}

/// A node whose connection for hearing other nodes is cut reconnects, and its open streams re-read
/// their orders once, so a change made meanwhile is not missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_lost_its_listener_connection_still_sees_changes() {
    crate::support::app::with_app(Backend::Postgres, |app: TestApp| async move {
        let b = Observer::start(&app).await;
        listening(&app, 2).await;
        let token = pending_order(&app, "order_events_cut").await;
        let mut events = EventStream::open(&b.base, &token).await;
        assert_eq!(events.status().await["status"], "pending");
        app.db
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .await;
        close(&app.db.store, &app, "order_events_cut").await;
        assert_eq!(events.status().await["status"], "closed");
        events.ends().await;
    })
    .await;
}

/// A second node on the same database: its own store (so its own hub), the merchant API's router
/// and the listener for other nodes' changes; no channels (it only serves pages here).
struct Observer {
    base: String,
    store: Store,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Observer {
    async fn start(app: &TestApp) -> Self {
        let store = Store::connect(&app.db.url, &app.db.master_key)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let settings = gateway::api::ApiSettings::new(app.public_url.clone());
        let services = gateway::service::Services::new(
            store.clone(),
            gateway::channels::Channels::new(None, None),
            settings.service_settings(),
        );
        let router = gateway::api::router(
            gateway::api::ApiState { services, settings },
            axum::Router::new(),
        );
        let tasks = vec![
            tokio::spawn(gateway::api::serve(
                listener,
                router,
                Duration::from_secs(10),
                std::future::pending(),
            )),
            tokio::spawn(gateway::live::run(store.clone(), std::future::pending())),
        ];
        Self { base, store, tasks }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

//! A running paygate for API tests: its own database (see `db`), an in-process simulator with the
//! sandbox accounts provisioned on it, a demo site with every method enabled, and the router served
//! on `127.0.0.1:0` (the merchant API, the callbacks and the console, as the app composes them).
//! `TestApp` has one signed-request helper per endpoint.
//!
//! The signing here is written independently of `gateway::api::auth`, from seed 000's Node example,
//! so that a server-side mistake cannot hide behind the same mistake in the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::OnceLock;

use base64::Engine as _;
use gateway::api::{ApiSettings, ApiState, router};
use gateway::channels::Channels;
use gateway::console::{ConsoleSettings, ConsoleState};
use gateway::domain::{OrderStatus, OutTradeNo, PayMethod, Site, SiteName, Timestamp};
use gateway::sandbox::provision::{SandboxKeys, provision};
use gateway::service::{AccountPolicy, AccountService, PasswordCost, Services};
use gateway::store::NewSite;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::db::{Backend, TestDb};

/// Generating RSA keys is the slowest part of set-up; one set serves every test of the process
/// (each test registers it with its own simulator).
pub fn sandbox_keys() -> &'static SandboxKeys {
    static KEYS: OnceLock<SandboxKeys> = OnceLock::new();
    KEYS.get_or_init(SandboxKeys::generate)
}

pub struct TestApp {
    pub db: TestDb,
    /// `http://127.0.0.1:PORT`, where this node listens.
    pub base: String,
    /// What it tells payers and channels (the first node's `base` for later nodes).
    pub public_url: String,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` of its metrics listener (`/metrics` only).
    pub metrics_base: String,
    /// The demo site (every method enabled).
    pub site: Site,
    pub sim: sim::RunningSim,
    pub sim_dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub channels: Channels,
    /// The sandbox accounts `channels` holds, for tests that talk to the simulator as paygate does.
    pub wechat: gateway::channels::WechatAccount,
    pub alipay: gateway::channels::AlipayAccount,
    /// The account service the console signs in with (the default policy at a lighter hashing
    /// cost), for tests to create users.
    pub accounts: AccountService,
    server: ServerTask,
}

/// The server task, stopped when the app is dropped (so a finished test leaves nothing running
/// against its database).
struct ServerTask(Vec<tokio::task::JoinHandle<()>>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// What a stopped node leaves behind for the next one.
pub struct Node {
    pub db: TestDb,
    pub sim: sim::RunningSim,
    pub sim_dir: tempfile::TempDir,
    pub public_url: Option<String>,
}

/// An answer: status, and the body as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub json: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The `error` code of an error answer.
    pub fn code(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.text
        );
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, 200, "body: {}", self.text);
        &self.json
    }
}

/// How to sign a request; the default is a correct signature by the demo site.
#[derive(Debug, Clone, Default)]
pub struct Signing {
    pub ak: Option<String>,
    pub sk: Option<String>,
    pub ts: Option<String>,
    pub nonce: Option<String>,
    /// Header names to leave out.
    pub omit: Vec<&'static str>,
}

/// `base64url(HMAC-SHA256(sk, canonical))` without padding, as Node's `digest('base64url')`.
pub fn seed_sign(sk: &str, ts: &str, nonce: &str, method: &str, path: &str, body: &[u8]) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    let canonical = format!("{ts}\n{nonce}\n{method}\n{path}\n{body_hash}");
    let mut mac = Hmac::<Sha256>::new_from_slice(sk.as_bytes()).unwrap();
    mac.update(canonical.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

pub fn unix_now() -> i64 {
    Timestamp::now().as_millis() / 1000
}

pub fn fresh_nonce() -> String {
    channel_core::nonce::alphanumeric(32)
}

impl TestApp {
    /// A paygate on `db` with a fresh simulator.
    pub async fn spawn(db: TestDb) -> Self {
        let sim_dir = tempfile::tempdir().unwrap();
        let sim = test_support::sim::start(Some(sim_dir.path()), 0.001).await;
        Self::spawn_with(
            Node {
                db,
                sim,
                sim_dir,
                public_url: None,
            },
            None,
        )
        .await
    }

    /// A paygate on what `node` left (a second node, or the same node restarted after a crash),
    /// optionally with a failpoint. It keeps the earlier node's public URL, as a restarted node or
    /// a node behind the same load balancer does: the channel requests carry it (`notify_url`).
    pub async fn spawn_with(node: Node, failpoint: Option<gateway::service::Failpoint>) -> Self {
        Self::spawn_tuned(node, |settings| settings.failpoint = failpoint).await
    }

    /// A paygate on what `node` left, with its API settings changed by `tune` (a shorter signing
    /// window, a lower rate limit).
    pub async fn spawn_tuned(node: Node, tune: impl FnOnce(&mut ApiSettings)) -> Self {
        Self::spawn_full(node, tune, light_account_policy()).await
    }

    /// A fresh paygate whose console signs in under `policy` (shorter session expiries).
    pub async fn spawn_with_policy(db: TestDb, policy: AccountPolicy) -> Self {
        let sim_dir = tempfile::tempdir().unwrap();
        let sim = test_support::sim::start(Some(sim_dir.path()), 0.001).await;
        let node = Node {
            db,
            sim,
            sim_dir,
            public_url: None,
        };
        Self::spawn_full(node, |_| {}, policy).await
    }

    async fn spawn_full(
        node: Node,
        tune: impl FnOnce(&mut ApiSettings),
        policy: AccountPolicy,
    ) -> Self {
        let Node {
            db,
            sim,
            sim_dir,
            public_url,
        } = node;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let public_url = public_url.unwrap_or_else(|| base.clone());
        let (wechat, alipay) = provision(
            &sim.base_url,
            sandbox_keys(),
            &public_url,
            gateway::sandbox::provision::SimRefunds::SucceedOnTheirOwn,
        )
        .await
        .unwrap();
        let channels = Channels::new(Some(wechat.clone()), Some(alipay.clone()));
        let site = new_site(&db, "demo").await;
        let mut settings = ApiSettings::new(public_url.clone());
        settings.sandbox = true;
        tune(&mut settings);
        let header_read_timeout = settings.http.header_read_timeout;
        let mut services = Services::new(
            db.store.clone(),
            channels.clone(),
            settings.service_settings(),
        );
        services.accounts = AccountService::new(db.store.clone(), policy);
        let accounts = services.accounts.clone();
        // As the app composes them: the callbacks and the console beside the merchant API.
        let unsigned = gateway::callbacks::routes(gateway::callbacks::State {
            orders: services.orders.clone(),
            channels: channels.clone(),
        })
        .merge(gateway::console::router(ConsoleState {
            accounts: services.accounts.clone(),
            console: services.console.clone(),
            settings: ConsoleSettings {
                public_url: public_url.clone(),
                sandbox: settings.sandbox,
                trusted_proxies: settings.http.trusted_proxies.clone(),
            },
        }));
        let app = router(ApiState { services, settings }, unsigned);
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_base = format!("http://{}", metrics_listener.local_addr().unwrap());
        let serve = |listener, router| {
            tokio::spawn(gateway::api::serve(
                listener,
                router,
                header_read_timeout,
                std::future::pending(),
            ))
        };
        let server = ServerTask(vec![
            serve(listener, app),
            serve(metrics_listener, gateway::api::metrics_router(None)),
            // As `serve` runs it: on PostgreSQL, other nodes' order changes reach this node's
            // status streams.
            tokio::spawn(gateway::live::run(db.store.clone(), std::future::pending())),
        ]);
        Self {
            db,
            base,
            public_url,
            addr,
            metrics_base,
            site,
            sim,
            sim_dir,
            http: reqwest::Client::new(),
            channels,
            wechat,
            alipay,
            accounts,
            server,
        }
    }

    /// Stops serving and hands back the database and simulator, as a crashed node leaves them.
    pub fn kill(self) -> Node {
        drop(self.server);
        Node {
            db: self.db,
            sim: self.sim,
            sim_dir: self.sim_dir,
            public_url: Some(self.public_url),
        }
    }

    /// Another site with every method enabled.
    pub async fn another_site(&self, name: &str) -> Site {
        new_site(&self.db, name).await
    }

    /// A request signed by `site` (or as `signing` says).
    pub async fn signed_as(
        &self,
        site: &Site,
        method: &str,
        path_and_query: &str,
        body: &str,
        signing: Signing,
    ) -> Reply {
        let ak = signing
            .ak
            .unwrap_or_else(|| site.access_key.as_str().to_owned());
        let sk = signing
            .sk
            .unwrap_or_else(|| site.secret_key.expose().to_owned());
        let ts = signing.ts.unwrap_or_else(|| unix_now().to_string());
        let nonce = signing.nonce.unwrap_or_else(fresh_nonce);
        let sign = seed_sign(&sk, &ts, &nonce, method, path_and_query, body.as_bytes());
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{path_and_query}", self.base),
            )
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        for (name, value) in [
            ("X-1Pass-AK", ak),
            ("X-1Pass-Ts", ts),
            ("X-1Pass-Nonce", nonce),
            ("X-1Pass-Sign", sign),
        ] {
            if !signing.omit.contains(&name) {
                req = req.header(name, value);
            }
        }
        reply(req.send().await.unwrap()).await
    }

    pub async fn signed(&self, method: &str, path_and_query: &str, body: &str) -> Reply {
        self.signed_as(&self.site, method, path_and_query, body, Signing::default())
            .await
    }

    /// `POST /pay/wechat/native`.
    pub async fn create_native(&self, body: &Value) -> Reply {
        self.signed("POST", "/pay/wechat/native", &body.to_string())
            .await
    }

    /// `POST /pay/wechat/native` with a raw body.
    pub async fn create_native_raw(&self, body: &str) -> Reply {
        self.signed("POST", "/pay/wechat/native", body).await
    }

    /// `POST /v1/orders` as `site`.
    pub async fn create_order_as(&self, site: &Site, body: &Value) -> Reply {
        self.signed_as(
            site,
            "POST",
            "/v1/orders",
            &body.to_string(),
            Signing::default(),
        )
        .await
    }

    pub async fn create_order(&self, body: &Value) -> Reply {
        self.create_order_as(&self.site, body).await
    }

    /// `GET /v1/orders/{no}` as `site`.
    pub async fn get_order_as(&self, site: &Site, no: &str) -> Reply {
        self.signed_as(
            site,
            "GET",
            &format!("/v1/orders/{no}"),
            "",
            Signing::default(),
        )
        .await
    }

    pub async fn get_order(&self, no: &str) -> Reply {
        self.get_order_as(&self.site, no).await
    }

    /// `POST /v1/orders/{no}/close` as `site`.
    pub async fn close_order_as(&self, site: &Site, no: &str) -> Reply {
        self.signed_as(
            site,
            "POST",
            &format!("/v1/orders/{no}/close"),
            "",
            Signing::default(),
        )
        .await
    }

    pub async fn close_order(&self, no: &str) -> Reply {
        self.close_order_as(&self.site, no).await
    }

    /// An unsigned GET (status, checkout, docs, health).
    pub async fn get(&self, path_and_query: &str) -> Reply {
        let resp = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .unwrap();
        reply(resp).await
    }

    /// The `/metrics` text, from the metrics listener.
    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.metrics_base);
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `GET /pay/wechat/status?token=`.
    pub async fn status(&self, token: &str) -> Reply {
        self.get(&format!("/pay/wechat/status?token={token}")).await
    }

    /// Changes the simulator's fault switches (`{"api_error_rate":1.0}`; `None` turns all off).
    pub async fn sim_faults(&self, patch: Option<Value>) {
        let url = format!("{}/sim/faults", self.sim.base_url);
        let resp = match patch {
            Some(p) => self.http.post(url).json(&p).send().await.unwrap(),
            None => self.http.delete(url).send().await.unwrap(),
        };
        assert!(resp.status().is_success(), "{:?}", resp.text().await);
    }

    /// How many orders the WeChat simulator holds (read from its state file).
    pub fn sim_wechat_orders(&self) -> usize {
        test_support::sim::wechat_orders(self.sim_dir.path()).len()
    }

    /// The stored order, bypassing the API.
    pub async fn stored(&self, site: &Site, no: &str) -> gateway::domain::Order {
        self.db
            .store
            .find_order(&site.id, &OutTradeNo::parse(no).unwrap())
            .await
            .unwrap()
            .unwrap()
    }

    /// The payer pays a WeChat order in the simulator.
    pub async fn sim_wechat_pay(&self, site: &Site, no: &str) {
        let order = self.stored(site, no).await;
        let mchid = &sandbox_keys().wechat_mchid;
        let url = format!(
            "{}/sim/wechat/orders/{}/pay?mchid={mchid}",
            self.sim.base_url,
            order.upstream_order_no.as_str()
        );
        let resp = self.http.post(url).send().await.unwrap();
        assert!(resp.status().is_success(), "{:?}", resp.text().await);
    }

    pub async fn stored_status(&self, site: &Site, no: &str) -> OrderStatus {
        self.stored(site, no).await.status
    }
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        json,
        text,
        headers,
    }
}

async fn new_site(db: &TestDb, name: &str) -> Site {
    let new = NewSite {
        name: SiteName::parse(name).unwrap(),
        notify_url: None,
        enabled_methods: PayMethod::all().into_iter().collect::<BTreeSet<_>>(),
        allow_private_targets: false,
    };
    db.store.create_site(new, Timestamp::now()).await.unwrap()
}

/// The default account policy with a light Argon2id cost: the cost itself is tested beside the
/// hasher, and every console test signs in.
pub fn light_account_policy() -> AccountPolicy {
    AccountPolicy {
        password_cost: PasswordCost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..AccountPolicy::default()
    }
}

/// Runs `test` against a fresh paygate on `backend`.
pub async fn with_app<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    super::db::run(backend, |db| async move {
        let app = TestApp::spawn(db).await;
        test(app).await;
    })
    .await;
}

/// One `mod $name { sqlite, postgres }` pair of tests per scenario, each with its own paygate.
/// The body takes the whole app (`let app = app;`): one touching only some of its fields would
/// otherwise capture those alone and drop the rest, the simulator with it.
#[macro_export]
macro_rules! api_tests {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    $crate::support::app::with_app($crate::support::Backend::Sqlite, |$app: TestApp| async move { let $app = $app; $body }).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    $crate::support::app::with_app($crate::support::Backend::Postgres, |$app: TestApp| async move { let $app = $app; $body }).await;
                }
            }
        )*
    };
}

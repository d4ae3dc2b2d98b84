//! Each test gets its own database: a SQLite file in a temp dir, or a throwaway PostgreSQL database
//! (`pg_test_<random>`) that is dropped afterwards, also when the test panics.

// Test helpers outside `#[test]` functions: a failure here is the test failing, so unwrap is right.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::resume_unwind;

use gateway::crypto::MasterKey;
use gateway::domain::{
    Amount, Channel, Currency, Description, ExpireMinutes, Method, Mode, NewOrder, Order,
    OrderRequest, OutTradeNo, PayMethod, Payer, Site, SiteName, Timestamp,
};
use gateway::store::{InsertOutcome, NewSite, Store};
use sqlx::Connection as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store under test, the URL it was opened from (for raw reads), and its master key.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pub backend: Backend,
    pub master_key: MasterKey,
}

/// Runs the scenario `test` against a fresh, migrated database of `backend`.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("paygate.db").display()
            );
            let db = open(backend, url).await;
            let outcome = tokio::spawn(test(db)).await;
            drop(dir);
            if let Err(e) = outcome {
                resume_unwind(e.into_panic());
            }
        }
        Backend::Postgres => {
            let admin_url = std::env::var("PAYGATE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let name = format!(
                "pg_test_{}",
                channel_core::nonce::alphanumeric(16).to_lowercase()
            );
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin_url).unwrap();
            url.set_path(&name);
            let db = open(backend, url.to_string()).await;
            let outcome = tokio::spawn(test(db)).await;
            // FORCE ends the test's pooled connections, which may still be closing.
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .unwrap();
            if let Err(e) = outcome {
                resume_unwind(e.into_panic());
            }
        }
    }
}

async fn open(backend: Backend, url: String) -> TestDb {
    let master_key = MasterKey::generate();
    let store = Store::connect(&url, &master_key).await.unwrap();
    store.migrate().await.unwrap();
    // Like a database `serve` initialised without channel credentials.
    store
        .record_mode(Mode::Sandbox, Timestamp::now())
        .await
        .unwrap();
    TestDb {
        store,
        url,
        backend,
        master_key,
    }
}

/// Generates one `mod $name { sqlite, postgres }` pair of tests per scenario, so every storage
/// behaviour is written once and checked on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($db:ident: TestDb) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    $crate::support::run($crate::support::Backend::Sqlite, |$db: TestDb| async move $body).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    $crate::support::run($crate::support::Backend::Postgres, |$db: TestDb| async move $body).await;
                }
            }
        )*
    };
}

pub fn now() -> Timestamp {
    Timestamp::now()
}

pub async fn new_site(store: &Store, name: &str) -> Site {
    let new = NewSite {
        name: SiteName::parse(name).unwrap(),
        notify_url: None,
        enabled_methods: BTreeSet::from([PayMethod::new(Channel::Wechat, Method::Native).unwrap()]),
        allow_private_targets: false,
    };
    store.create_site(new, now()).await.unwrap()
}

/// Seed 000's example order.
pub fn seed_request(out_trade_no: &str) -> OrderRequest {
    OrderRequest {
        out_trade_no: OutTradeNo::parse(out_trade_no).unwrap(),
        pay_method: PayMethod::new(Channel::Wechat, Method::Native).unwrap(),
        amount: Amount::parse(2990).unwrap(),
        currency: Currency::Cny,
        description: Description::parse("VIP月卡").unwrap(),
        attach: None,
        notify_url: None,
        payer: Payer::default(),
        expire_minutes: ExpireMinutes::default(),
    }
}

pub async fn insert(store: &Store, site: &Site, request: OrderRequest) -> InsertOutcome {
    let new = NewOrder::prepare(site.id.clone(), request, now());
    store.insert_order_if_absent(&new).await.unwrap()
}

/// A freshly inserted order of seed 000's example.
pub async fn created_order(store: &Store, site: &Site, out_trade_no: &str) -> Order {
    match insert(store, site, seed_request(out_trade_no)).await {
        InsertOutcome::Inserted(order) => order,
        InsertOutcome::Existing(order) => panic!("{out_trade_no} existed already: {order:?}"),
    }
}

impl TestDb {
    /// One integer from a raw query, bypassing the repository (to check what is really stored).
    pub async fn count(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
        }
    }

    /// Runs one raw statement, bypassing the repository (to stage what a crash would leave).
    pub async fn execute(&self, sql: &str) {
        self.try_execute(sql).await.unwrap();
    }

    /// As [`TestDb::execute`], for a statement the database may refuse.
    pub async fn try_execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql)
                    .execute(&mut c)
                    .await
                    .map(|d| d.rows_affected())
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query(sql)
                    .execute(&mut c)
                    .await
                    .map(|d| d.rows_affected())
            }
        }
    }

    /// The raw `sites.secret_key_sealed` column of one site.
    pub async fn raw_sealed_sk(&self, site: &Site) -> Vec<u8> {
        let sql = "SELECT secret_key_sealed FROM sites WHERE id = $1";
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(site.id.as_str())
                    .fetch_one(&mut c)
                    .await
                    .unwrap()
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(site.id.as_str())
                    .fetch_one(&mut c)
                    .await
                    .unwrap()
            }
        }
    }
}

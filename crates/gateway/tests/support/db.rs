//! Each test gets its own database from `test_support::db` (a SQLite file in a temp dir, or a
//! throwaway PostgreSQL database `pg_test_<random>`, dropped afterwards, also when the test panics),
//! opened as `serve` opens it: migrated and recorded as a sandbox, like a database initialised
//! without channel credentials.

// Test helpers outside `#[test]` functions: a failure here is the test failing, so unwrap is right.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::future::Future;

use gateway::crypto::MasterKey;
use gateway::domain::{
    Amount, Channel, Currency, Description, ExpireMinutes, Method, Mode, NewOrder, Order,
    OrderRequest, OutTradeNo, PayMethod, Payer, Site, SiteName, Timestamp,
};
use gateway::store::{InsertOutcome, NewSite, Store};
pub use test_support::db::Backend;
use test_support::db::{Database, ThrowawayDb};

/// The store under test, the URL it was opened from (for raw reads), and its master key.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pub backend: Backend,
    pub master_key: MasterKey,
    /// The same database, for raw statements that bypass the store.
    raw: Database,
}

/// Runs the scenario `test` against a fresh, migrated database of `backend`.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    // Held here rather than by the `TestDb`, which a test may take apart: removed once the test
    // is over, also when it panics.
    let database = ThrowawayDb::create(backend).await;
    test(open(&database).await).await;
}

async fn open(database: &ThrowawayDb) -> TestDb {
    let master_key = MasterKey::generate();
    let store = Store::connect(database.url(), &master_key).await.unwrap();
    store.migrate().await.unwrap();
    // Like a database `serve` initialised without channel credentials.
    store
        .record_mode(Mode::Sandbox, Timestamp::now())
        .await
        .unwrap();
    TestDb {
        store,
        url: database.url().to_owned(),
        backend: database.backend(),
        master_key,
        raw: Database::clone(database),
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
                    $crate::support::run($crate::support::Backend::Sqlite, |$db: TestDb| async move { let $db = $db; $body }).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    $crate::support::run($crate::support::Backend::Postgres, |$db: TestDb| async move { let $db = $db; $body }).await;
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
        pay_method: PayMethod::new(Channel::Wechat, Method::Native)
            .unwrap()
            .into(),
        amount: Amount::parse(2990).unwrap(),
        currency: Currency::Cny,
        description: Description::parse("VIP月卡").unwrap(),
        attach: None,
        notify_url: None,
        return_url: None,
        payer: Payer::default(),
        expire_minutes: ExpireMinutes::default(),
        profit_sharing: false,
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
        self.raw.count(sql).await
    }

    /// The bytes one raw query selects (a sealed column, to see it is sealed).
    pub async fn bytes(&self, sql: &str) -> Vec<u8> {
        self.raw.scalar(sql).await.unwrap()
    }

    /// Runs one raw statement, bypassing the repository (to stage what a crash would leave).
    pub async fn execute(&self, sql: &str) {
        self.try_execute(sql).await.unwrap();
    }

    /// As [`TestDb::execute`], for a statement the database may refuse.
    pub async fn try_execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        self.raw.execute(sql).await
    }

    /// The raw `sites.secret_key_sealed` column of one site.
    pub async fn raw_sealed_sk(&self, site: &Site) -> Vec<u8> {
        let id = site.id.as_str();
        assert!(
            id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{id}"
        );
        self.raw
            .scalar(&format!(
                "SELECT secret_key_sealed FROM sites WHERE id = '{id}'"
            ))
            .await
            .unwrap()
    }
}

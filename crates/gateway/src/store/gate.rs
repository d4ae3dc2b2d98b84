//! SQLite's write gate: this process's writers take turns here before they go to the database.
//!
//! SQLite admits one writer at a time. A writer that finds the lock taken waits in SQLite's busy
//! handler, which sleeps with growing back-off (1, 2, 5, 10 … 100 ms at a time) instead of waking
//! when the lock is freed, and lets a late writer overtake one that has slept long: under a burst
//! of writes, some wait hundreds of milliseconds for a lock that was free most of that time. Here
//! they queue first come, first served, on an async lock that hands over at once.
//!
//! The gate is taken before a connection is taken from the pool, so writers waiting their turn
//! hold no connection and readers (which WAL lets run beside the writer, and which never take the
//! gate) are not starved of them. Every write of this process passes it: [`super::with_write!`]
//! for a single statement, [`super::with_write_tx!`] for a transaction. Another process writing
//! to the same file (`paygate site create` beside `serve`) still meets `busy_timeout`.
//!
//! No write may be made while the gate is held but by the holder's own connection: the store's
//! methods are leaf operations, each one statement or one transaction that calls no other method
//! until it has committed, so the gate is never asked for twice by one task.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use super::StoreError;
use super::group_commit::GroupCommit;

/// The turn of one writer at a time, and the sync that makes its commit durable after its turn
/// (`group_commit.rs`); cheap to clone (all clones are the same gate).
#[derive(Debug, Clone)]
pub(crate) struct WriteGate {
    turn: Arc<Mutex<()>>,
    commits: GroupCommit,
}

impl WriteGate {
    /// The gate of the database file `database`.
    pub(crate) fn for_file(database: &Path) -> Self {
        Self {
            turn: Arc::default(),
            commits: GroupCommit::for_file(database),
        }
    }

    /// Waits for this writer's turn (tokio's mutex is fair: first come, first served); the turn
    /// ends when the guard is dropped, which must be after the commit or rollback.
    pub(crate) async fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// After the turn: waits until this writer's commit is on disk. Nothing a write did may be
    /// told to anyone before.
    ///
    /// # Errors
    /// `Durability` when the sync failed.
    pub(crate) async fn durable(&self) -> Result<(), StoreError> {
        self.commits
            .durable()
            .await
            .map_err(|e| StoreError::Durability(e.to_string()))
    }

    #[cfg(test)]
    pub(crate) fn commits(&self) -> &GroupCommit {
        &self.commits
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use test_support::db::{Backend, ThrowawayDb};

    use crate::crypto::MasterKey;
    use crate::domain::{
        AccessKey, Amount, ApiNonce, Channel, Currency, Description, ExpireMinutes, JobKind,
        Method, Mode, NewOrder, OrderRequest, OrderStatus, OutTradeNo, PayMethod, Payer, SiteName,
        Timestamp, UpstreamFields,
    };
    use crate::store::{
        InsertOutcome, NewSite, OrderFilter, Pool, Store, Transition, connect_sqlite,
    };

    fn request(out_trade_no: &str) -> OrderRequest {
        OrderRequest {
            out_trade_no: OutTradeNo::parse(out_trade_no).unwrap(),
            pay_method: PayMethod::new(Channel::Wechat, Method::Native)
                .unwrap()
                .into(),
            amount: Amount::parse(2990).unwrap(),
            currency: Currency::Cny,
            description: Description::parse("gate").unwrap(),
            attach: None,
            notify_url: None,
            return_url: None,
            payer: Payer::default(),
            expire_minutes: ExpireMinutes::default(),
            profit_sharing: false,
        }
    }

    /// With no busy timeout at all, a write that found SQLite's lock taken would fail at once
    /// ("database is locked"): so if none of these concurrent writers fails, none of them ever met
    /// another at SQLite's lock, they all waited their turn at the gate.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_of_one_store_never_meet_at_sqlites_lock() {
        let database = ThrowawayDb::create(Backend::Sqlite).await;
        let (pool, gate) = connect_sqlite(database.url(), Duration::ZERO)
            .await
            .unwrap();
        let store = Store::on(Pool::Sqlite(pool, gate), &MasterKey::generate());
        store.migrate().await.unwrap();
        store
            .record_mode(Mode::Sandbox, Timestamp::now())
            .await
            .unwrap();
        let site = store
            .create_site(
                NewSite {
                    name: SiteName::parse("gate").unwrap(),
                    notify_url: None,
                    enabled_methods: BTreeSet::from([PayMethod::new(
                        Channel::Wechat,
                        Method::Native,
                    )
                    .unwrap()]),
                    allow_private_targets: false,
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
        let ak = AccessKey::generate(Mode::Sandbox);
        // What one order creation writes (its nonce, the order with its job, the `pending`
        // transition), 32 times at once, beside a worker claiming jobs.
        let creates = (0..32).map(|i| {
            let (store, site, ak) = (store.clone(), site.clone(), ak.clone());
            tokio::spawn(async move {
                let nonce = ApiNonce::parse(&format!("nonce-gate-{i}")).unwrap();
                let window = Duration::from_secs(600);
                assert!(
                    store
                        .remember_nonce(&ak, &nonce, Timestamp::now(), window)
                        .await
                        .unwrap()
                );
                let new = NewOrder::prepare(
                    site.id.clone(),
                    request(&format!("gate_{i}")),
                    Timestamp::now(),
                );
                let InsertOutcome::Inserted(order) =
                    store.insert_order_if_absent(&new).await.unwrap()
                else {
                    panic!("order gate_{i} existed");
                };
                let pending = Transition {
                    order_id: order.id,
                    from: OrderStatus::Created,
                    to: OrderStatus::Pending,
                    reason: "upstream_accepted".to_owned(),
                    upstream: UpstreamFields::default(),
                    at: Timestamp::now(),
                };
                assert!(store.transition(&pending).await.unwrap().won());
            })
        });
        let claims = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let kinds = [JobKind::CheckOrder];
                let lease = Duration::from_secs(60);
                store
                    .claim_jobs(&kinds, &format!("worker-{i}"), Timestamp::now(), lease, 4)
                    .await
                    .unwrap();
            })
        });
        let tasks: Vec<_> = creates.chain(claims).collect();
        for task in tasks {
            task.await.unwrap();
        }
        let filter = OrderFilter {
            site: Some(site.id.clone()),
            status: Some(OrderStatus::Pending),
            since: None,
            limit: 100,
        };
        assert_eq!(store.list_orders(&filter).await.unwrap().len(), 32);
        // SQLite does not sync at commit; every write waited for the group commit's sync instead,
        // and none returned before one had covered it.
        let Pool::Sqlite(pool, gate) = &store.pool else {
            unreachable!()
        };
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(synchronous, 1, "NORMAL");
        let (issued, synced) = gate.commits().tickets();
        assert!(issued >= 3 * 32 + 8, "one ticket per write: {issued}");
        assert_eq!(synced, issued);
    }
}

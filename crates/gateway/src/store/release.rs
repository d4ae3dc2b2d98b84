//! What the pools check of a connection handed back before it serves again.

/// Whether a connection handed back may serve again: only outside a transaction. A task cancelled
/// between its `BEGIN` and sqlx's record of the transaction (a client that hung up mid-request)
/// leaves the connection in a transaction that no `Transaction` value will ever end; back in the
/// pool it would hold SQLite's write lock, so that every other writer waits out `busy_timeout`,
/// and refuse every later `BEGIN`. Such a connection is closed instead, which ends its
/// transaction. A transaction dropped the usual way has queued its rollback: the ping lets it run
/// first, so only the stranded kind is closed.
pub(super) fn outside_transaction<C: sqlx::Connection>(
    conn: &mut C,
) -> futures_util::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if conn.is_in_transaction() {
            conn.ping().await?;
        }
        let stranded = conn.is_in_transaction();
        if stranded {
            tracing::warn!("a connection came back inside a transaction; closing it");
        }
        Ok(!stranded)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::Connection as _;
    use test_support::db::{Backend, ThrowawayDb};

    use crate::crypto::MasterKey;
    use crate::domain::{Mode, Timestamp};
    use crate::store::{Pool, Store, connect_postgres, connect_sqlite};

    /// A connection left inside a transaction that nothing will end, as a task cancelled right
    /// after its `BEGIN` leaves it, handed back to the pool.
    async fn strand_a_transaction(store: &Store) {
        match &store.pool {
            Pool::Sqlite(pool, _) => {
                let mut conn = pool.acquire().await.unwrap();
                std::mem::forget(conn.begin_with("BEGIN IMMEDIATE").await.unwrap());
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await.unwrap();
                std::mem::forget(conn.begin().await.unwrap());
            }
        }
        // The release runs in a task of its own.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    async fn store_on(backend: Backend, db: &ThrowawayDb, key: &MasterKey) -> Store {
        let pool = match backend {
            // No busy timeout: a write lock held by the stranded transaction fails a writer at once.
            Backend::Sqlite => {
                let (pool, gate) = connect_sqlite(db.url(), Duration::ZERO).await.unwrap();
                Pool::Sqlite(pool, gate)
            }
            Backend::Postgres => Pool::Postgres(connect_postgres(db.url()).await.unwrap()),
        };
        Store::on(pool, key)
    }

    async fn a_stranded_transaction_is_closed_not_reused(backend: Backend) {
        let db = ThrowawayDb::create(backend).await;
        let key = MasterKey::generate();
        let store = store_on(backend, &db, &key).await;
        store.migrate().await.unwrap();
        strand_a_transaction(&store).await;
        // Every connection of the pool serves a write in turn; each is committed for good.
        for _ in 0..20 {
            store
                .record_mode(Mode::Sandbox, Timestamp::now())
                .await
                .unwrap();
            store.ping().await.unwrap();
        }
        let writes = (0..20).map(|i| {
            let store = store.clone();
            async move {
                store
                    .remember_nonce(
                        &crate::domain::AccessKey::generate(Mode::Sandbox),
                        &crate::domain::ApiNonce::parse(&format!("stranded-{i}")).unwrap(),
                        Timestamp::now(),
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap()
            }
        });
        assert!(
            futures_util::future::join_all(writes)
                .await
                .into_iter()
                .all(|fresh| fresh)
        );
        // Seen from another pool: none of them went into a transaction that never ends.
        let other = store_on(backend, &db, &key).await;
        let count = |store: Store| async move {
            match &store.pool {
                Pool::Sqlite(pool, _) => {
                    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM api_nonces")
                        .fetch_one(pool)
                        .await
                        .unwrap()
                }
                Pool::Postgres(pool) => {
                    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM api_nonces")
                        .fetch_one(pool)
                        .await
                        .unwrap()
                }
            }
        };
        assert_eq!(count(other).await, 20);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stranded_sqlite_transaction_is_closed_not_reused() {
        a_stranded_transaction_is_closed_not_reused(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stranded_postgres_transaction_is_closed_not_reused() {
        a_stranded_transaction_is_closed_not_reused(Backend::Postgres).await;
    }
}

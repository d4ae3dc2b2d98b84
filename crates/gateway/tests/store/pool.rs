//! The connection pool across a PostgreSQL restart: connections the server cut are replaced.

use std::time::Duration;

use test_support::db::Backend;

use crate::support::run;

#[tokio::test]
async fn pooled_postgres_connections_cut_by_the_server_are_replaced_after_idling() {
    run(Backend::Postgres, |db| async move {
        // Several connections pooled, as after a burst of requests.
        let uses: Vec<_> = (0..4).map(|_| db.store.ping()).collect();
        for used in futures_util::future::join_all(uses).await {
            used.unwrap();
        }
        // What a server restart does to them.
        let cut = "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                   WHERE datname = current_database() AND pid <> pg_backend_pid()";
        assert!(db.count(cut).await >= 1);
        // Idle long enough to be checked before use: every request finds a live connection.
        tokio::time::sleep(Duration::from_secs(11)).await;
        let uses: Vec<_> = (0..4).map(|_| db.store.ping()).collect();
        for used in futures_util::future::join_all(uses).await {
            used.unwrap();
        }
    })
    .await;
}

//! Where the benchmarks find PostgreSQL, read the same way by each.

use std::time::Duration;

use sqlx::Connection as _;

/// The admin URL when PostgreSQL answers there (and is not switched off with
/// `PAYGATE_BENCH_POSTGRES=0`); throwaway databases are created beside it.
pub async fn admin_url() -> Option<String> {
    if std::env::var("PAYGATE_BENCH_POSTGRES").is_ok_and(|v| v == "0") {
        return None;
    }
    let url = std::env::var("PAYGATE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| test_support::db::DEFAULT_ADMIN_URL.to_owned());
    let connect = sqlx::PgConnection::connect(&url);
    let reachable = tokio::time::timeout(Duration::from_secs(3), connect)
        .await
        .is_ok_and(|c| c.is_ok());
    reachable.then_some(url)
}

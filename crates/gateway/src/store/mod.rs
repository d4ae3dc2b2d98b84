//! Storage on SQLite (one node, the default) or PostgreSQL (production, many nodes).
//!
//! This module holds SQL and row mapping only. What it reads back (sites, orders, notification
//! events, attempts, jobs, anomalies) are `crate::domain` types, parsed again from every row; what
//! it takes to write one (`NewSite`, `NewAttempt`, `NewAnomaly`, `Transition`…) is defined beside
//! the SQL that writes it.
//!
//! The backend is chosen from the URL's scheme. Backend differences live in five places only: the
//! migrations folders, [`Pool`] with the [`with_pool!`] / [`with_write!`] / [`with_write_tx!`]
//! macros below (SQLite's writers also pass its write gate, `gate.rs`), `connect`, the job claim
//! in `jobs.rs` (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and [`Store::change_notice`]
//! (PostgreSQL tells other nodes of a status change). SQL text is
//! otherwise shared: both backends accept `$1`-style parameters, `ON CONFLICT` and `RETURNING`, and
//! every column is TEXT, BIGINT or bytes.

mod accounts;
mod anomalies;
mod attempts;
mod audit;
mod combine_grants;
mod combined_orders;
mod compat_keys;
mod deployment;
mod error;
mod gate;
mod group_commit;
mod jobs;
mod key_displays;
mod ledger;
mod nonces;
mod notifications;
mod orders;
mod queues;
mod reconciliation;
mod reconciliation_reads;
mod refunds;
mod release;
mod rows;
mod search;
mod sessions;
mod site_receivers;
mod sites;
mod splits;
mod stats;
mod transitions;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::watch;

pub use accounts::{Credentials, FailedLogin, FailureCounts, NewUser};
pub use anomalies::NewAnomaly;
pub use audit::AuditRecord;
pub use combined_orders::CombinedInsert;
pub use error::StoreError;
pub use key_displays::KeyShown;
pub use nonces::NonceUse;
pub use notifications::{NewAttempt, Settles};
pub use orders::{InsertOutcome, ListedOrder, OrderFilter};
pub use queues::{Acknowledgement, ListedAnomaly, ListedEvent};
pub use reconciliation::{LOOKUP_BATCH, NewDiscrepancy, PaidOrder, SucceededRefund};
pub use reconciliation_reads::{ListedRun, PlannedRun};
pub use refunds::{
    FinishOutcome, ListedRefund, RefundFilter, RefundFinish, RefundTotals, ReserveOutcome,
};
pub use search::{MethodFilter, OrderCursor, OrderPage, OrderSearch};
pub use sessions::NewSession;
pub use sites::{NewSite, SiteUpdate};
pub use splits::{HeldTotals, SplitFinish, SplitFinishOutcome, SplitReserveOutcome};
pub use stats::{CreatedDay, DailyFigures, OpenCounts, PaidGroup, Period, Tally};
pub use transitions::{Transition, TransitionOutcome};

use crate::crypto::{MasterKey, SecretBox};
use crate::domain::OrderId;
use crate::live::OrderChanges;
use gate::WriteGate;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The one backend-specific value. Both pools are cheap handles (`Arc` inside), so is `Store`.
/// SQLite's comes with the gate its writers pass (`gate.rs`).
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool, WriteGate),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool: the body is compiled once per backend, so
/// shared SQL and row types are checked against both. For reads only: a write goes through
/// [`with_write!`] or [`with_write_tx!`].
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {{
        $store.count_query();
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool, _) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    }};
}

/// Like [`with_pool!`], for a single statement that writes (autocommit). On SQLite the statement
/// waits for its turn at the write gate before it takes a connection from the pool.
macro_rules! with_write {
    ($store:expr, $pool:ident => $body:expr) => {{
        $store.count_query();
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool, gate) => {
                let done = {
                    let _turn = gate.turn().await;
                    $body
                };
                gate.durable().await?;
                done
            }
            $crate::store::Pool::Postgres($pool) => $body,
        }
    }};
}

/// Like [`with_pool!`], inside a write transaction `$tx` that `$body` must commit. On SQLite the
/// transaction waits for its turn at the write gate, then takes the write lock up front (`BEGIN
/// IMMEDIATE`): a deferred transaction upgrading its read lock could fail with SQLITE_BUSY, and
/// another process's writer is waited for on `busy_timeout`. The turn ends after `$body`, so after
/// its commit or rollback (or, on an early return, after the dropped transaction's rollback was
/// queued on its connection).
macro_rules! with_write_tx {
    ($store:expr, $tx:ident => $body:expr) => {{
        $store.count_query();
        match &$store.pool {
            $crate::store::Pool::Sqlite(pool, gate) => {
                let done = {
                    let _turn = gate.turn().await;
                    let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    $body
                };
                gate.durable().await?;
                done
            }
            $crate::store::Pool::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                $body
            }
        }
    }};
}

pub(crate) use {with_pool, with_write, with_write_tx};

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The repository: the database's mode, sites, orders and their events, API nonces,
/// notifications, jobs, anomalies, console users with their sessions, and the audit log.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    secrets: SecretBox,
    /// Signalled after a commit that made a job due now (a new notification, a resend, an expedited
    /// check), so this process's workers pick it up at once instead of at their next poll. Other
    /// nodes find it by polling.
    work_due: Arc<watch::Sender<u64>>,
    /// The database's mode once read: recorded once and never changed, so it is safe to keep.
    mode: Arc<OnceLock<crate::domain::Mode>>,
    /// Told after a commit that changed an order's status, so this process's open status streams
    /// re-read it. Other nodes hear of it through PostgreSQL (see `crate::live`).
    changes: OrderChanges,
    /// How many times this store went to the database (see [`Store::queries`]).
    queries: Arc<AtomicU64>,
}

impl Store {
    /// Opens `sqlite://PATH?mode=rwc` or `postgres://…` (also `postgresql://`). Secrets at rest are
    /// sealed under `master_key`. Does not migrate: call [`Store::migrate`].
    ///
    /// # Errors
    /// `UnsupportedUrl` for another scheme; `Database` when the database cannot be opened.
    pub async fn connect(url: &str, master_key: &MasterKey) -> Result<Self, StoreError> {
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        let pool = match scheme {
            "sqlite" => {
                let (pool, gate) = connect_sqlite(url, SQLITE_BUSY_TIMEOUT).await?;
                Pool::Sqlite(pool, gate)
            }
            "postgres" | "postgresql" => Pool::Postgres(connect_postgres(url).await?),
            _ => {
                return Err(StoreError::UnsupportedUrl {
                    scheme: scheme.to_owned(),
                });
            }
        };
        Ok(Self::on(pool, master_key))
    }

    fn on(pool: Pool, master_key: &MasterKey) -> Self {
        Self {
            pool,
            secrets: SecretBox::new(master_key),
            work_due: Arc::new(watch::Sender::new(0)),
            mode: Arc::new(OnceLock::new()),
            changes: OrderChanges::new(),
            queries: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Applies the embedded migrations not yet applied; a no-op when up to date. Safe to run from
    /// several nodes at once on PostgreSQL (sqlx takes an advisory lock).
    ///
    /// # Errors
    /// `Migrate` when a migration fails or an applied one was changed.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool, gate) => {
                {
                    let _turn = gate.turn().await;
                    SQLITE_MIGRATIONS.run(pool).await?;
                }
                gate.durable().await?;
            }
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    ///
    /// # Errors
    /// `Database` when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    #[must_use]
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(..) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Wakes this process's workers (see `workers::run`): call after committing a job due now by
    /// other means than the store's own methods, which already do.
    pub fn wake_workers(&self) {
        // A counter rather than a one-shot signal: every worker lane sees the change, whether it
        // was waiting at this instant or busy (claiming, recording an outcome).
        self.work_due.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes at each [`Store::wake_workers`] after the moment of this call.
    pub(crate) fn work_due(&self) -> watch::Receiver<u64> {
        self.work_due.subscribe()
    }

    /// The hub this store tells of committed status changes, for status streams to watch.
    #[must_use]
    pub fn order_changes(&self) -> &OrderChanges {
        &self.changes
    }

    /// Tells this process's watchers of `order` that it changed: call after the commit.
    fn changed(&self, order: OrderId) {
        self.changes.publish(order);
    }

    /// The statement that tells other nodes, on commit, that an order changed (run it inside the
    /// transaction that changes it, with the channel and the order id as parameters); `None` on
    /// SQLite, which has no other nodes.
    fn change_notice(&self) -> Option<&'static str> {
        match self.pool {
            Pool::Sqlite(..) => None,
            Pool::Postgres(_) => Some("SELECT pg_notify($1, $2)"),
        }
    }

    /// The PostgreSQL pool, for the listener that hears other nodes' changes.
    pub(crate) fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Sqlite(..) => None,
            Pool::Postgres(pool) => Some(pool),
        }
    }

    /// How many times this store (and its clones) went to the database since it was opened: one
    /// per read or write call, whatever number of statements that call runs. For tests and
    /// benchmarks that check what a path costs, such as open status streams costing nothing while
    /// no order changes.
    #[must_use]
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    fn count_query(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        // The same count for operators (`/metrics`): what a node asks of the database, e.g. that
        // open checkout pages cost no query while their orders do not change.
        metrics::counter!("paygate_db_queries_total").increment(1);
    }

    /// Closes the pool, waiting for connections in use to be returned (graceful shutdown).
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }
}

/// How long a SQLite write waits for another process's writer (this process's writers queue at
/// the write gate instead, `gate.rs`).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

async fn connect_sqlite(
    url: &str,
    busy_timeout: Duration,
) -> Result<(SqlitePool, WriteGate), StoreError> {
    let options = SqliteConnectOptions::from_str(url)?;
    // The database holds every order and the sealed keys: owner-only, like the master key. The
    // file is tightened before opening, so that the `-wal` and `-shm` files SQLite creates beside
    // it take its mode; after opening, a new database file and WAL files that an earlier run left
    // with a looser mode are tightened too. In-memory databases have no file and are left alone.
    let file = options.get_filename().to_owned();
    restrict_to_owner(&file)?;
    let options = options
        // WAL lets readers run beside the one writer. A commit is made durable before anyone is
        // told about it, even on power loss, by the write gate's group commit, which syncs the WAL
        // once for every commit made while the previous sync ran (`group_commit.rs`); FULL would
        // sync it after each commit, in turn, while the next writer waits.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(busy_timeout)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        // A connection to a local file does not go stale, and the ping sqlx would send before
        // every use is one more round trip to the connection's thread: for a write, while it holds
        // the write gate.
        .test_before_acquire(false)
        .after_release(|conn, _| release::outside_transaction(conn))
        .connect_with(options)
        .await?;
    for path in [file.clone(), sidecar(&file, "-wal"), sidecar(&file, "-shm")] {
        restrict_to_owner(&path)?;
    }
    Ok((pool, WriteGate::for_file(&file)))
}

/// `paygate.db` → `paygate.db-wal`.
fn sidecar(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Takes group and other access away from `path` (0644 → 0600) if it is a file that exists.
fn restrict_to_owner(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let failed = |source| StoreError::Permissions {
            path: path.display().to_string(),
            source,
        };
        let mode = match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => meta.permissions().mode() & 0o777,
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(failed(e)),
        };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(failed)?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A pooled PostgreSQL connection idle this long is pinged before it is used again.
const PG_PING_AFTER_IDLE: Duration = Duration::from_secs(10);

async fn connect_postgres(url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(16)
        // sqlx would ping the server before every use of a pooled connection: a network round
        // trip per query, which halved the status polls PostgreSQL served. A connection used
        // moments ago is alive; one idle for a while (the server may have restarted meanwhile) is
        // still pinged, and replaced if it does not answer.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PG_PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(Duration::from_secs(10))
        .after_release(|conn, _| release::outside_transaction(conn))
        .connect(url)
        .await
}

//! A throwaway database per test: a SQLite file in a temp dir, or a PostgreSQL database
//! `pg_test_<random>` created beside an admin URL and dropped (`WITH (FORCE)`, so connections the
//! test left open do not keep it) when the handle is dropped, also when the test panics.
//!
//! The handle gives the URL to open the store under test with, and (as any [`Database`]) raw
//! statements and reads that bypass it (to check what is really stored, or to stage what a crash
//! would leave).

use std::ops::Deref;
use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection as _, Postgres, Row as _, Sqlite};

/// Where the throwaway PostgreSQL databases are created, unless [`ADMIN_URL_VAR`] says otherwise.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The environment variable naming another admin URL.
pub const ADMIN_URL_VAR: &str = "PAYGATE_TEST_POSTGRES_URL";

/// How long dropping a database may take before the test reports it left behind.
const DROP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// [`ADMIN_URL_VAR`], else [`DEFAULT_ADMIN_URL`].
#[must_use]
pub fn admin_url() -> String {
    std::env::var(ADMIN_URL_VAR).unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A database by URL, read and written raw, bypassing the code under test. Each call opens a
/// connection of its own, so nothing is held between calls.
#[derive(Debug, Clone)]
pub struct Database {
    url: String,
    backend: Backend,
}

/// A database nobody else uses, removed when this is dropped.
#[derive(Debug)]
pub struct ThrowawayDb {
    database: Database,
    place: Place,
}

impl Deref for ThrowawayDb {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.database
    }
}

#[derive(Debug)]
enum Place {
    /// The temp dir holding the SQLite file (and its journal), removed with it.
    File {
        _dir: tempfile::TempDir,
    },
    Server {
        admin_url: String,
        name: String,
    },
}

impl ThrowawayDb {
    /// A fresh database of `backend`; PostgreSQL on [`admin_url`].
    ///
    /// # Panics
    /// When it cannot be created (no PostgreSQL there): the test cannot run.
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => {
                let admin_url = admin_url();
                Self::postgres_on(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "cannot create a PostgreSQL database on {admin_url} (set {ADMIN_URL_VAR}): {e}"
                    )
                })
            }
        }
    }

    /// A SQLite file in a fresh temp dir (created on first connection: `mode=rwc`).
    ///
    /// # Panics
    /// When no temp dir can be made.
    #[must_use]
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir()
            .unwrap_or_else(|e| panic!("cannot make a temp dir for a SQLite database: {e}"));
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("paygate.db").display()
        );
        Self {
            database: Database {
                url,
                backend: Backend::Sqlite,
            },
            place: Place::File { _dir: dir },
        }
    }

    /// A fresh PostgreSQL database on the server of `admin_url`, which must allow creating one.
    ///
    /// # Errors
    /// The server cannot be reached, or refuses.
    pub async fn postgres_on(admin_url: &str) -> Result<Self, sqlx::Error> {
        let name = format!(
            "pg_test_{}",
            channel_core::nonce::alphanumeric(16).to_lowercase()
        );
        let mut url =
            url::Url::parse(admin_url).map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        url.set_path(&name);
        Ok(Self {
            database: Database {
                url: url.to_string(),
                backend: Backend::Postgres,
            },
            place: Place::Server {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }
}

impl Database {
    /// The database at `url` (`sqlite:` or `postgres:`), e.g. the one a `paygate serve` under
    /// test writes to.
    ///
    /// # Panics
    /// The URL names neither.
    #[must_use]
    pub fn at(url: &str) -> Self {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            panic!("not a SQLite or PostgreSQL URL: {url}")
        };
        Self {
            url: url.to_owned(),
            backend,
        }
    }

    /// The database's URL, as paygate takes it (`--database-url`, `Store::connect`).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// One integer from a raw query, e.g. a `COUNT(*)`.
    ///
    /// # Panics
    /// When the query fails: the test is wrong.
    pub async fn count(&self, sql: &str) -> i64 {
        self.scalar(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The one value of a one-row, one-column query.
    ///
    /// # Errors
    /// The query fails, returns no row, or a value of another type.
    pub async fn scalar<T>(&self, sql: &str) -> Result<T, sqlx::Error>
    where
        T: Send
            + Unpin
            + for<'r> sqlx::Decode<'r, Sqlite>
            + sqlx::Type<Sqlite>
            + for<'r> sqlx::Decode<'r, Postgres>
            + sqlx::Type<Postgres>,
    {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::query_scalar(sql).fetch_one(&mut c).await
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await?;
                sqlx::query_scalar(sql).fetch_one(&mut c).await
            }
        }
    }

    /// Runs one raw statement; the number of rows it changed.
    ///
    /// # Errors
    /// The database refuses it (which some tests expect).
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::query(sql)
                    .execute(&mut c)
                    .await
                    .map(|d| d.rows_affected())
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await?;
                sqlx::query(sql)
                    .execute(&mut c)
                    .await
                    .map(|d| d.rows_affected())
            }
        }
    }

    /// Every row of a query, each value as text (NULL as the empty string), for assertions and
    /// failure messages that need no types.
    ///
    /// # Errors
    /// The query fails.
    pub async fn rows(&self, sql: &str) -> Result<Vec<Vec<String>>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await?;
                let rows = sqlx::query(sql).fetch_all(&mut c).await?;
                Ok(rows.iter().map(sqlite_texts).collect())
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await?;
                let rows = sqlx::query(sql).fetch_all(&mut c).await?;
                Ok(rows.iter().map(postgres_texts).collect())
            }
        }
    }
}

/// A row's values as text, whatever their column types (the ones paygate's schema uses).
macro_rules! texts_of {
    ($name:ident, $row:ty) => {
        fn $name(row: &$row) -> Vec<String> {
            (0..row.len())
                .map(|i| {
                    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                        return v.unwrap_or_default();
                    }
                    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                        return v.map(|v| v.to_string()).unwrap_or_default();
                    }
                    if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                        return v.map(|v| v.to_string()).unwrap_or_default();
                    }
                    if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                        return v.map(|v| v.to_string()).unwrap_or_default();
                    }
                    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                        return v.map(|v| v.to_string()).unwrap_or_default();
                    }
                    "<?>".to_owned()
                })
                .collect()
        }
    };
}

texts_of!(sqlite_texts, SqliteRow);
texts_of!(postgres_texts, PgRow);

impl Drop for ThrowawayDb {
    fn drop(&mut self) {
        let Place::Server { admin_url, name } = &self.place else {
            // The temp dir removes the file.
            return;
        };
        // Drop cannot await, and may run inside the test's runtime (where blocking on another
        // runtime is refused): a thread of its own, with its own runtime, does it.
        let (admin_url, name) = (admin_url.clone(), name.clone());
        let what = name.clone();
        let dropped = std::thread::spawn(move || drop_database(&admin_url, &name)).join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop the test database {what}: {e}"),
            Err(_) => {
                eprintln!("could not drop the test database {what}: the dropping thread panicked")
            }
        }
    }
}

fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    runtime.block_on(async {
        let work = async {
            let mut admin = sqlx::PgConnection::connect(admin_url).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
            admin.close().await
        };
        match tokio::time::timeout(DROP_TIMEOUT, work).await {
            Ok(done) => done.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {DROP_TIMEOUT:?}")),
        }
    })
}

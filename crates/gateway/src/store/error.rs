//! What can go wrong in the store. Database failures are errors, never a silent `None`.

use crate::crypto::CryptoError;
use crate::domain::OrderStatus;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Only the scheme is shown: the rest of a database URL may hold a password.
    #[error("unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl { scheme: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row that does not parse back into domain types: written by something else, or a bug.
    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("secret at rest: {0}")]
    Crypto(#[from] CryptoError),
    /// Refused by the domain before touching the database (see `OrderStatus::can_become`).
    #[error("an order cannot go from {} to {}", from.as_str(), to.as_str())]
    IllegalTransition { from: OrderStatus, to: OrderStatus },
    #[error("no such {0}")]
    NotFound(&'static str),
    /// A value that must be unique (a user's email) is already used.
    #[error("this {0} is already taken")]
    Taken(&'static str),
    /// The SQLite files could not be made owner-only.
    #[error("cannot make {path} readable by its owner only: {source}")]
    Permissions {
        path: String,
        source: std::io::Error,
    },
    /// Keys and notifications depend on the mode, which `serve` (or the first operator command)
    /// records when it initialises the database.
    #[error("the database has no recorded mode (sandbox or live) yet: start `paygate serve` once")]
    ModeNotRecorded,
    /// A commit was made but the sync that puts it on disk failed: whether it survives a power
    /// loss is unknown.
    #[error("syncing the database to disk failed: {0}")]
    Durability(String),
}

impl StoreError {
    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

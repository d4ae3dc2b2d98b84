//! The database's mode (sandbox or live): recorded once, never changed (the table refuses updates
//! and deletes), and cached after the first read since it cannot change under a running process.

use crate::domain::{Mode, Timestamp};

use super::{Store, StoreError, with_pool, with_write};

impl Store {
    /// The mode this database was initialised in, if it was.
    ///
    /// # Errors
    /// `Database`; `Corrupt` for a value the table's CHECK should have refused.
    pub async fn recorded_mode(&self) -> Result<Option<Mode>, StoreError> {
        if let Some(mode) = self.mode.get() {
            return Ok(Some(*mode));
        }
        let sql = "SELECT mode FROM deployment WHERE id = 1";
        let text: Option<String> = with_pool!(self, pool => sqlx::query_scalar(sql)
            .fetch_optional(pool)
            .await)?;
        let Some(text) = text else { return Ok(None) };
        let mode = Mode::parse(&text).map_err(|e| StoreError::corrupt("database mode", e))?;
        Ok(Some(*self.mode.get_or_init(|| mode)))
    }

    /// Records `mode` unless a mode is already recorded, and returns the one that holds now: the
    /// first initialisation wins, also between nodes starting at the same time.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn record_mode(&self, mode: Mode, now: Timestamp) -> Result<Mode, StoreError> {
        let sql = "INSERT INTO deployment (id, mode, initialised_at) VALUES (1, $1, $2) \
                   ON CONFLICT (id) DO NOTHING";
        with_write!(self, pool => sqlx::query(sql)
            .bind(mode.as_str())
            .bind(now.as_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        self.recorded_mode()
            .await?
            .ok_or(StoreError::NotFound("recorded database mode"))
    }

    /// The recorded mode, which anything that depends on it (new keys, `livemode`) needs.
    ///
    /// # Errors
    /// `ModeNotRecorded` on a database no command has initialised yet; `Database`, `Corrupt`.
    pub async fn mode(&self) -> Result<Mode, StoreError> {
        self.recorded_mode()
            .await?
            .ok_or(StoreError::ModeNotRecorded)
    }

    /// Whether the database already holds sites: one that does but has no recorded mode was used by
    /// a paygate from before modes, and what it was cannot be guessed.
    ///
    /// # Errors
    /// `Database`.
    pub async fn has_sites(&self) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) FROM sites";
        let n: i64 = with_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)?;
        Ok(n > 0)
    }
}

//! Console sessions, kept in the database so that any node serves them. The table holds the
//! SHA-256 of each token, never the token.

use std::time::Duration;

use crate::domain::{AuditEntry, PasswordHash, Session, SessionToken, Timestamp, UserId};

use super::audit::insert_audit;
use super::{Store, StoreError, with_write, with_write_tx};

/// A session to start at a successful login.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token: &'a SessionToken,
    pub user_id: &'a UserId,
    /// The hash the password was just verified against: if it changed since (a reset), the login
    /// loses.
    pub verified_hash: &'a PasswordHash,
    pub csrf_token: &'a str,
    pub ip: Option<&'a str>,
    pub at: Timestamp,
    pub expires_at: Timestamp,
    /// The session the browser still held, if any: ended, so a login never keeps an old token.
    pub replaces: Option<&'a SessionToken>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_id: String,
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    ip: Option<String>,
}

impl Store {
    /// Starts a session and writes `audit`, in one transaction, if the user may still sign in: not
    /// disabled, not locked, and with the password hash that was verified. Clears the user's
    /// failure count. False when the user may not (nothing is written).
    ///
    /// # Errors
    /// `Database`.
    pub async fn start_session(
        &self,
        new: &NewSession<'_>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let claim = "UPDATE users SET failed_logins = 0, locked_until = NULL \
                     WHERE id = $1 AND disabled = 0 AND password_hash = $2 \
                     AND (locked_until IS NULL OR locked_until <= $3)";
        let insert = "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, \
                      last_seen_at, expires_at, ip) VALUES ($1, $2, $3, $4, $4, $5, $6)";
        with_write_tx!(self, tx => {
            let claimed = sqlx::query(claim)
                .bind(new.user_id.as_str())
                .bind(new.verified_hash.as_phc())
                .bind(new.at.as_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if !claimed {
                return Ok(false);
            }
            if let Some(old) = new.replaces {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(old.hash())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(insert)
                .bind(new.token.hash())
                .bind(new.user_id.as_str())
                .bind(new.csrf_token)
                .bind(new.at.as_millis())
                .bind(new.expires_at.as_millis())
                .bind(new.ip)
                .execute(&mut *tx)
                .await?;
            insert_audit!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(true)
    }

    /// The live session of `token`, its last use moved to `now`. `None` when there is none, when
    /// it was idle for `idle` or longer, when it passed its absolute expiry, or when its user is
    /// disabled: one atomic statement, so a session cannot be used after any of these.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn touch_session(
        &self,
        token: &SessionToken,
        now: Timestamp,
        idle: Duration,
    ) -> Result<Option<Session>, StoreError> {
        let sql = "UPDATE sessions SET last_seen_at = $1 \
                   WHERE token_hash = $2 AND last_seen_at > $3 AND expires_at > $1 \
                   AND EXISTS (SELECT 1 FROM users \
                               WHERE users.id = sessions.user_id AND users.disabled = 0) \
                   RETURNING user_id, csrf_token, created_at, last_seen_at, expires_at, ip";
        let row = with_write!(self, pool => sqlx::query_as::<_, SessionRow>(sql)
            .bind(now.as_millis())
            .bind(token.hash())
            .bind(now.minus(idle).as_millis())
            .fetch_optional(pool)
            .await)?;
        row.map(|r| {
            Ok(Session {
                user_id: UserId::parse(&r.user_id)
                    .map_err(|e| StoreError::corrupt("session", e))?,
                csrf_token: r.csrf_token,
                created_at: Timestamp::from_millis(r.created_at),
                last_seen_at: Timestamp::from_millis(r.last_seen_at),
                expires_at: Timestamp::from_millis(r.expires_at),
                ip: r.ip,
            })
        })
        .transpose()
    }

    /// Ends the session of `token` and writes `audit`, in one transaction; false (and no entry)
    /// when there was no such session.
    ///
    /// # Errors
    /// `Database`.
    pub async fn end_session(
        &self,
        token: &SessionToken,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        with_write_tx!(self, tx => {
            let ended = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token.hash())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if ended {
                // An SK waiting for this session's page is no one's to take any more.
                sqlx::query("DELETE FROM key_displays WHERE session_hash = $1")
                    .bind(token.hash())
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, audit)?;
                tx.commit().await?;
            }
            Ok(ended)
        })
    }

    /// Deletes sessions past their absolute expiry or idle for `idle`, and the SKs waiting for a
    /// page (`key_displays`) that expired or whose session is gone; returns how many sessions.
    /// Run periodically: a dead session is refused anyway and an expired SK is never shown, this
    /// keeps the tables small and no SK kept longer than its few minutes.
    ///
    /// # Errors
    /// `Database`.
    pub async fn purge_sessions(&self, now: Timestamp, idle: Duration) -> Result<u64, StoreError> {
        let sessions = "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2";
        let displays = "DELETE FROM key_displays WHERE expires_at <= $1 OR NOT EXISTS \
                        (SELECT 1 FROM sessions WHERE sessions.token_hash = key_displays.session_hash)";
        with_write_tx!(self, tx => {
            let affected = sqlx::query(sessions)
                .bind(now.as_millis())
                .bind(now.minus(idle).as_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(displays)
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(affected)
        })
    }
}

//! Console users: their accounts, password hashes, sealed second-factor secrets, and the counters
//! that lock an account or a client address after failed logins. Every change that the audit log
//! records is written with its entry, in one transaction.

use std::time::Duration;

use crate::domain::{
    AuditEntry, Email, PasswordHash, Role, SiteId, Timestamp, TotpSecret, User, UserId,
};

use super::audit::insert_audit;
use super::rows::flag;
use super::{Store, StoreError, with_pool, with_write, with_write_tx};

/// What it takes to create a user; the id is generated.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub role: Role,
    pub password_hash: PasswordHash,
}

/// A user with what signing in checks: for the account service only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: PasswordHash,
    pub totp: Option<TotpSecret>,
    /// While this is in the future, no password is even checked.
    pub locked_until: Option<Timestamp>,
}

/// A failed login, counted against the client address and (when the email named one) the account.
#[derive(Debug, Clone)]
pub struct FailedLogin<'a> {
    pub user: Option<&'a UserId>,
    pub ip: Option<&'a str>,
    pub at: Timestamp,
    /// The account locks at this many wrong passwords in a row...
    pub account_limit: u32,
    /// ... for this long.
    pub lock_for: Duration,
    /// The window of the address's count.
    pub ip_window: Duration,
}

/// What a failed login's counting found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCounts {
    /// Failures from the address in its current window (0 without an address).
    pub ip_failures: u32,
    /// Set when the account is now locked (by this failure or an earlier one).
    pub locked_until: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    role: String,
    site_id: Option<String>,
    password_hash: String,
    totp_secret_sealed: Option<Vec<u8>>,
    disabled: i64,
    locked_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const USER_COLUMNS: &str = "id, email, role, site_id, password_hash, totp_secret_sealed, disabled, \
     locked_until, created_at, updated_at";

/// The sealed TOTP secret is bound to its user: copied onto another row it would not open.
fn totp_aad(user: &UserId) -> Vec<u8> {
    format!("paygate/user-totp/{}", user.as_str()).into_bytes()
}

fn user_from_row(r: &UserRow) -> Result<User, StoreError> {
    let bad = |e: crate::domain::DomainError| StoreError::corrupt("user", format!("{}: {e}", r.id));
    let site = r
        .site_id
        .as_deref()
        .map(SiteId::parse)
        .transpose()
        .map_err(bad)?;
    Ok(User {
        id: UserId::parse(&r.id).map_err(bad)?,
        email: Email::parse(&r.email).map_err(bad)?,
        role: Role::parse(&r.role, site).map_err(bad)?,
        disabled: flag(r.disabled)
            .ok_or_else(|| StoreError::corrupt("user", format!("{}: disabled", r.id)))?,
        has_totp: r.totp_secret_sealed.is_some(),
        created_at: Timestamp::from_millis(r.created_at),
        updated_at: Timestamp::from_millis(r.updated_at),
    })
}

/// A unique or foreign key the database refused, by kind.
fn refused_key(e: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    match e {
        sqlx::Error::Database(db) => Some(db.kind()),
        _ => None,
    }
}

impl Store {
    /// Creates a user and writes `audit` with it.
    ///
    /// # Errors
    /// `Taken("email")` when a user has this email (in any case); `NotFound("site")` when a site
    /// user's site does not exist; `Database`.
    pub async fn create_user(
        &self,
        new: &NewUser,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<User, StoreError> {
        let id = UserId::generate();
        let sql = "INSERT INTO users (id, email, role, site_id, password_hash, created_at, \
                   updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                   ON CONFLICT (email) DO NOTHING";
        let audit = audit.clone().on("user", id.as_str());
        let inserted = with_write_tx!(self, tx => {
            let done = sqlx::query(sql)
                .bind(id.as_str())
                .bind(new.email.as_str())
                .bind(new.role.name())
                .bind(new.role.site().map(SiteId::as_str))
                .bind(new.password_hash.as_phc())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await;
            let inserted = match done {
                Ok(done) => done.rows_affected() == 1,
                Err(e) if refused_key(&e) == Some(sqlx::error::ErrorKind::ForeignKeyViolation) => {
                    return Err(StoreError::NotFound("site"));
                }
                Err(e) => return Err(e.into()),
            };
            if inserted {
                insert_audit!(tx, &audit)?;
                tx.commit().await?;
            }
            inserted
        });
        if !inserted {
            return Err(StoreError::Taken("email"));
        }
        Ok(User {
            id,
            email: new.email.clone(),
            role: new.role.clone(),
            disabled: false,
            has_totp: false,
            created_at: now,
            updated_at: now,
        })
    }

    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await)?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        Ok(self.credentials(email).await?.map(|c| c.user))
    }

    /// Every user, oldest first.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id");
        let rows = with_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql)
            .fetch_all(pool)
            .await)?;
        rows.iter().map(user_from_row).collect()
    }

    /// The user with this email and what signing in checks.
    ///
    /// # Errors
    /// `Database`, `Corrupt`, `Crypto` (wrong master key).
    pub async fn credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, UserRow>(&sql)
            .bind(email.as_str())
            .fetch_optional(pool)
            .await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        let totp = row
            .totp_secret_sealed
            .as_deref()
            .map(|sealed| self.secrets.open(sealed, &totp_aad(&user.id)))
            .transpose()?
            .map(TotpSecret::from_bytes);
        Ok(Some(Credentials {
            user,
            password_hash: PasswordHash::from_phc(row.password_hash),
            totp,
            locked_until: row.locked_until.map(Timestamp::from_millis),
        }))
    }

    /// Counts a failed login and writes `audit`, in one transaction. Both counts are single atomic
    /// statements, so concurrent failures (on any node) are each counted once. The account's tenth
    /// wrong password in a row locks it and starts its count again.
    ///
    /// # Errors
    /// `Database`.
    pub async fn record_failed_login(
        &self,
        failed: &FailedLogin<'_>,
        audit: &AuditEntry,
    ) -> Result<FailureCounts, StoreError> {
        let count_ip = "INSERT INTO login_failures (ip, window_start, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (ip) DO UPDATE SET \
             failures = CASE WHEN login_failures.window_start <= $3 THEN 1 \
                        ELSE login_failures.failures + 1 END, \
             window_start = CASE WHEN login_failures.window_start <= $3 THEN $2 \
                            ELSE login_failures.window_start END \
             RETURNING failures";
        let count_user = "UPDATE users SET \
             failed_logins = CASE WHEN failed_logins + 1 >= $1 THEN 0 ELSE failed_logins + 1 END, \
             locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END, \
             updated_at = $3 \
             WHERE id = $4 RETURNING locked_until";
        let at = failed.at;
        with_write_tx!(self, tx => {
            let ip_failures = match failed.ip {
                Some(ip) => sqlx::query_scalar::<_, i64>(count_ip)
                    .bind(ip)
                    .bind(at.as_millis())
                    .bind(at.minus(failed.ip_window).as_millis())
                    .fetch_one(&mut *tx)
                    .await?,
                None => 0,
            };
            let locked_until = match failed.user {
                Some(user) => sqlx::query_scalar::<_, Option<i64>>(count_user)
                    .bind(i64::from(failed.account_limit))
                    .bind(at.plus(failed.lock_for).as_millis())
                    .bind(at.as_millis())
                    .bind(user.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .flatten()
                    .map(Timestamp::from_millis)
                    .filter(|until| *until > at),
                None => None,
            };
            insert_audit!(tx, audit)?;
            tx.commit().await?;
            Ok(FailureCounts {
                ip_failures: u32::try_from(ip_failures).unwrap_or(u32::MAX),
                locked_until,
            })
        })
    }

    /// Failures from `ip` in its current window (0 once the window has passed).
    ///
    /// # Errors
    /// `Database`.
    pub async fn ip_failures(
        &self,
        ip: &str,
        now: Timestamp,
        window: Duration,
    ) -> Result<u32, StoreError> {
        let sql = "SELECT failures FROM login_failures WHERE ip = $1 AND window_start > $2";
        let n = with_pool!(self, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(ip)
            .bind(now.minus(window).as_millis())
            .fetch_optional(pool)
            .await)?;
        Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Deletes the per-address failure counts whose window (`window` long) has ended; returns how
    /// many. Run periodically: an ended window counts for nothing anyway (it starts again at the
    /// next failure), this only keeps the table from holding every address that ever failed.
    ///
    /// # Errors
    /// `Database`.
    pub async fn purge_login_failures(
        &self,
        now: Timestamp,
        window: Duration,
    ) -> Result<u64, StoreError> {
        let sql = "DELETE FROM login_failures WHERE window_start <= $1";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(now.minus(window).as_millis())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected)
    }

    /// Disables a user and ends all their sessions, with `audit`, in one transaction.
    ///
    /// # Errors
    /// `NotFound("user")`; `Database`.
    pub async fn disable_user(
        &self,
        id: &UserId,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE users SET disabled = 1, updated_at = $1 WHERE id = $2";
        self.change_user_ending_sessions(sql, None, id, now, audit)
            .await
    }

    /// Replaces a user's password hash, clears their failure count and lock, and ends all their
    /// sessions, with `audit`, in one transaction.
    ///
    /// # Errors
    /// `NotFound("user")`; `Database`.
    pub async fn set_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE users SET password_hash = $3, failed_logins = 0, locked_until = NULL, \
                   updated_at = $1 WHERE id = $2";
        self.change_user_ending_sessions(sql, Some(hash.as_phc()), id, now, audit)
            .await
    }

    /// Runs `update` (`$1` now, `$2` the id, `$3` the optional `extra`), deletes the user's
    /// sessions and writes `audit`.
    async fn change_user_ending_sessions(
        &self,
        update: &str,
        extra: Option<&str>,
        id: &UserId,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        with_write_tx!(self, tx => {
            let mut query = sqlx::query(update).bind(now.as_millis()).bind(id.as_str());
            if let Some(extra) = extra {
                query = query.bind(extra);
            }
            if query.execute(&mut *tx).await?.rows_affected() != 1 {
                return Err(StoreError::NotFound("user"));
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            insert_audit!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets (or with `None` removes) a user's TOTP secret, sealed under the master key.
    ///
    /// # Errors
    /// `NotFound("user")`; `Database`, `Crypto`.
    pub async fn set_totp_secret(
        &self,
        id: &UserId,
        secret: Option<&TotpSecret>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sealed = secret
            .map(|s| self.secrets.seal(s.expose(), &totp_aad(id)))
            .transpose()?;
        let sql = "UPDATE users SET totp_secret_sealed = $1, updated_at = $2 WHERE id = $3";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(sealed)
            .bind(now.as_millis())
            .bind(id.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if affected == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound("user"))
        }
    }
}

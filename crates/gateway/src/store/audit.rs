//! The audit log. Entries are written by the store methods that make the change they record, in the
//! same transaction ([`insert_audit!`]), so no change goes unrecorded and no record describes a
//! change that was rolled back.

use crate::domain::{Actor, AuditEntry, Timestamp};

use super::{Store, StoreError, with_pool};

pub(super) const INSERT_AUDIT: &str = "INSERT INTO audit_log \
     (at, actor_user_id, actor_email, action, object_kind, object_id, ip, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The actor's id and email columns: both NULL for the command line and for nobody known.
pub(super) fn actor_columns(actor: &Actor) -> (Option<&str>, Option<&str>) {
    match actor {
        Actor::User { id, email } => (Some(id.as_str()), Some(email.as_str())),
        Actor::Cli | Actor::Anonymous => (None, None),
    }
}

/// Writes `$entry` (an `&AuditEntry`) inside the transaction `$tx`.
macro_rules! insert_audit {
    ($tx:ident, $entry:expr) => {{
        let entry: &$crate::domain::AuditEntry = $entry;
        let (actor_id, actor_email) = super::audit::actor_columns(&entry.actor);
        let (kind, id) = entry
            .object
            .as_ref()
            .map_or((None, None), |(k, i)| (Some(k.as_str()), Some(i.as_str())));
        sqlx::query(super::audit::INSERT_AUDIT)
            .bind(entry.at.as_millis())
            .bind(actor_id)
            .bind(actor_email)
            .bind(entry.action.as_str())
            .bind(kind)
            .bind(id)
            .bind(entry.ip.as_deref())
            .bind(entry.detail.as_str())
            .execute(&mut *$tx)
            .await
    }};
}
pub(super) use insert_audit;

/// One line of the audit log as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: Timestamp,
    /// `None` for the command line or nobody known.
    pub actor_user_id: Option<String>,
    pub actor_email: Option<String>,
    pub action: String,
    pub object_kind: Option<String>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor_user_id: Option<String>,
    actor_email: Option<String>,
    action: String,
    object_kind: Option<String>,
    object_id: Option<String>,
    ip: Option<String>,
    detail: String,
}

impl Store {
    /// The latest `limit` entries, newest first.
    ///
    /// # Errors
    /// `Database`.
    pub async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = "SELECT id, at, actor_user_id, actor_email, action, object_kind, object_id, ip, \
                   detail FROM audit_log ORDER BY id DESC LIMIT $1";
        let rows = with_pool!(self, pool => sqlx::query_as::<_, AuditRow>(sql)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                at: Timestamp::from_millis(r.at),
                actor_user_id: r.actor_user_id,
                actor_email: r.actor_email,
                action: r.action,
                object_kind: r.object_kind,
                object_id: r.object_id,
                ip: r.ip,
                detail: r.detail,
            })
            .collect())
    }

    /// Records an entry on its own, for an action that changes nothing in the database.
    ///
    /// # Errors
    /// `Database`.
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        super::with_write_tx!(self, tx => {
            insert_audit!(tx, entry)?;
            tx.commit().await?;
        });
        Ok(())
    }
}

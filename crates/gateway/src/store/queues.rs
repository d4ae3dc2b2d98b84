//! What needs a person, listed for the console within a user's scope: notifications in one
//! delivery status (the failed ones above all) and anomalies, newest first, each naming its order.
//! Light rows: a list does not open sites' keys or load whole orders.

use crate::domain::{EventType, NotificationStatus, OrderId, Scope, SiteId, Timestamp};

use super::search::{Arg, Conditions, bind_all};
use super::{Store, StoreError, with_pool};

/// A notification event as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEvent {
    pub id: String,
    pub site_id: SiteId,
    pub order_id: OrderId,
    pub out_trade_no: String,
    pub event_type: EventType,
    pub status: NotificationStatus,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
}

/// An anomaly as the console lists it; `order` is `(id, out_trade_no)` when it is about one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAnomaly {
    pub id: i64,
    pub kind: String,
    pub channel: String,
    pub order: Option<(OrderId, String)>,
    pub detail: String,
    pub occurrences: i64,
    pub at: Timestamp,
    pub last_at: Timestamp,
    /// When a person saw to it, who (their email) and their note; `None` while it is open.
    pub acknowledged: Option<Acknowledgement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub at: Timestamp,
    pub by: String,
    pub note: String,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    site_id: String,
    order_id: i64,
    out_trade_no: String,
    event_type: String,
    status: String,
    attempts: i64,
    created_at: i64,
    last_attempt_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AnomalyRow {
    id: i64,
    kind: String,
    channel: String,
    order_id: Option<i64>,
    out_trade_no: Option<String>,
    detail: String,
    occurrences: i64,
    at: i64,
    last_at: Option<i64>,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    ack_note: Option<String>,
}

impl Store {
    /// The latest `limit` notification events in `status` within `scope` (of one site, with
    /// `site`), newest first.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn list_events_in_scope(
        &self,
        scope: &Scope,
        site: Option<&SiteId>,
        status: NotificationStatus,
        limit: u32,
    ) -> Result<Vec<ListedEvent>, StoreError> {
        let c = event_conditions(scope, site, status, "e.");
        let sql = format!(
            "SELECT e.id, e.site_id, e.order_id, o.out_trade_no, e.event_type, e.status, \
             e.attempts, e.created_at, e.last_attempt_at \
             FROM notification_events e JOIN orders o ON o.id = e.order_id{} \
             ORDER BY e.created_at DESC, e.id DESC LIMIT {}",
            c.where_clause(),
            limit.max(1)
        );
        let rows = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, EventRow>(&sql), c).fetch_all(pool).await
        })?;
        rows.into_iter()
            .map(|r| {
                let bad = |what: &str| {
                    StoreError::corrupt("notification event", format!("{}: {what}", r.id))
                };
                Ok(ListedEvent {
                    site_id: SiteId::parse(&r.site_id).map_err(|_| bad("site_id"))?,
                    order_id: OrderId::from_i64(r.order_id),
                    event_type: EventType::parse(&r.event_type).ok_or_else(|| bad("event_type"))?,
                    status: NotificationStatus::parse(&r.status).ok_or_else(|| bad("status"))?,
                    out_trade_no: r.out_trade_no,
                    attempts: r.attempts,
                    created_at: Timestamp::from_millis(r.created_at),
                    last_attempt_at: r.last_attempt_at.map(Timestamp::from_millis),
                    id: r.id,
                })
            })
            .collect()
    }

    /// How many notification events are in `status` within `scope` (of one site, with `site`).
    ///
    /// # Errors
    /// `Database`.
    pub async fn count_events_in_scope(
        &self,
        scope: &Scope,
        site: Option<&SiteId>,
        status: NotificationStatus,
    ) -> Result<i64, StoreError> {
        let c = event_conditions(scope, site, status, "");
        let sql = format!(
            "SELECT COUNT(*) FROM notification_events{}",
            c.where_clause()
        );
        Ok(with_pool!(self, pool => {
            bind_all!(sqlx::query_scalar::<_, i64>(&sql), c).fetch_one(pool).await
        })?)
    }

    /// The latest `limit` anomalies within `scope` (by when they last happened), newest first; the
    /// open ones only with `open_only`. A site sees only those about its orders; anomalies about no
    /// order are the operators'.
    ///
    /// # Errors
    /// `Database`.
    pub async fn list_anomalies_in_scope(
        &self,
        scope: &Scope,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<ListedAnomaly>, StoreError> {
        let mut c = Conditions::default();
        c.scope(scope, "o.site_id");
        if open_only {
            c.add_fixed("a.acknowledged_at IS NULL");
        }
        let sql = format!(
            "SELECT a.id, a.kind, a.channel, a.order_id, o.out_trade_no, a.detail, a.occurrences, \
             a.at, a.last_at, a.acknowledged_at, a.acknowledged_by, a.ack_note \
             FROM anomalies a LEFT JOIN orders o ON o.id = a.order_id{} \
             ORDER BY COALESCE(a.last_at, a.at) DESC, a.id DESC LIMIT {}",
            c.where_clause(),
            limit.max(1)
        );
        let rows = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, AnomalyRow>(&sql), c).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| ListedAnomaly {
                order: r
                    .order_id
                    .zip(r.out_trade_no)
                    .map(|(id, no)| (OrderId::from_i64(id), no)),
                id: r.id,
                kind: r.kind,
                channel: r.channel,
                detail: r.detail,
                occurrences: r.occurrences,
                at: Timestamp::from_millis(r.at),
                last_at: Timestamp::from_millis(r.last_at.unwrap_or(r.at)),
                acknowledged: r.acknowledged_at.map(|at| Acknowledgement {
                    at: Timestamp::from_millis(at),
                    by: r.acknowledged_by.unwrap_or_default(),
                    note: r.ack_note.unwrap_or_default(),
                }),
            })
            .collect())
    }
}

/// Events in `status` within `scope`, of `site` when given; `prefix` is the table's alias and a
/// dot (`e.`), or nothing.
fn event_conditions(
    scope: &Scope,
    site: Option<&SiteId>,
    status: NotificationStatus,
    prefix: &str,
) -> Conditions {
    let mut c = Conditions::default();
    c.scope(scope, &format!("{prefix}site_id"));
    if let Some(site) = site {
        c.add(Arg::Text(site.as_str().to_owned()), |n| {
            format!("{prefix}site_id = ${n}")
        });
    }
    c.add(Arg::Text(status.as_str().to_owned()), |n| {
        format!("{prefix}status = ${n}")
    });
    c
}

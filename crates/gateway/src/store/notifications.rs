//! The notification outbox (events written by `transition`) and the log of delivery attempts.

use std::collections::HashMap;

use crate::domain::{
    Attempt, EventType, Job, NotificationEvent, NotificationStatus, OrderId, Site, SiteId,
    Timestamp,
};

use super::rows::flag;
use super::{Store, StoreError, with_pool, with_write, with_write_tx};

/// One delivery attempt, as the deliverer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    pub event_id: String,
    pub attempt_no: i32,
    pub at: Timestamp,
    /// `None` when no HTTP answer came (refused, timed out, blocked target).
    pub http_status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// Already bounded by the deliverer; stored as given.
    pub response_excerpt: Option<String>,
    /// See [`Attempt::private_target`].
    pub private_target: bool,
    /// The node that made the attempt.
    pub node: String,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    site_id: String,
    order_id: i64,
    event_type: String,
    status: String,
    attempts: i64,
    created_at: i64,
    last_attempt_at: Option<i64>,
    delivered_at: Option<i64>,
    refund_id: Option<i64>,
    split_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    id: i64,
    event_id: String,
    attempt_no: i64,
    at: i64,
    http_status: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    response_excerpt: Option<String>,
    private_target: i64,
    node: String,
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;

    fn try_from(r: AttemptRow) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::corrupt("delivery attempt", format!("{}: {what}", r.id));
        let private_target = flag(r.private_target).ok_or_else(|| bad("private_target"))?;
        Ok(Self {
            attempt_no: i32::try_from(r.attempt_no).map_err(|_| bad("attempt_no"))?,
            http_status: r
                .http_status
                .map(u16::try_from)
                .transpose()
                .map_err(|_| bad("http_status"))?,
            id: r.id,
            event_id: r.event_id,
            at: Timestamp::from_millis(r.at),
            latency_ms: r.latency_ms,
            error: r.error,
            response_excerpt: r.response_excerpt,
            private_target,
            node: r.node,
        })
    }
}

const SELECT_EVENTS: &str = "SELECT id, site_id, order_id, event_type, status, attempts, \
     created_at, last_attempt_at, delivered_at, refund_id, split_id FROM notification_events";

/// What an attempt settles (see [`Store::record_attempt_settling`]).
#[derive(Debug, Clone, Copy)]
pub struct Settles<'a> {
    /// The event's new status, and when it was reached.
    pub status: NotificationStatus,
    pub at: Timestamp,
    /// The delivery job, now over, with the node that holds its lease.
    pub job: Option<(&'a Job, &'a str)>,
}

impl Store {
    /// The event with its order and site, for delivery; `None` for an unknown id.
    ///
    /// # Errors
    /// `Database`, `Corrupt`, `Crypto` (the site's SK does not open).
    pub async fn notification(
        &self,
        event_id: &str,
    ) -> Result<Option<NotificationEvent>, StoreError> {
        let sql = format!("{SELECT_EVENTS} WHERE id = $1");
        let row = with_pool!(self, pool => sqlx::query_as::<_, EventRow>(&sql)
            .bind(event_id)
            .fetch_optional(pool)
            .await)?;
        match row {
            Some(row) => Ok(Some(self.event_from_row(row, &mut HashMap::new()).await?)),
            None => Ok(None),
        }
    }

    /// Records one attempt and counts it on the event (`attempts`, `last_attempt_at`), in one
    /// transaction.
    ///
    /// # Errors
    /// `NotFound` for an unknown event; `Database`.
    pub async fn record_attempt(&self, attempt: &NewAttempt) -> Result<(), StoreError> {
        self.record_attempt_settling(attempt, None)
            .await
            .map(|_| ())
    }

    /// [`Store::record_attempt`], and in the same transaction what the attempt settles: the
    /// event's new status as [`Store::mark_notification`] sets it, and the delivery job deleted as
    /// [`Store::complete_job`] would. The attempt that delivers an event, or its last, ends both
    /// with one commit instead of three. `true` when the job was deleted; `false` when its lease
    /// was lost meanwhile (the attempt and the status are recorded all the same) or none was given.
    ///
    /// # Errors
    /// `NotFound` for an unknown event (nothing is written); `Database`.
    pub async fn record_attempt_settling(
        &self,
        attempt: &NewAttempt,
        settles: Option<Settles<'_>>,
    ) -> Result<bool, StoreError> {
        let status = settles.map(|s| s.status.as_str());
        let delivered_at = settles
            .filter(|s| s.status == NotificationStatus::Delivered)
            .map(|s| s.at.as_millis());
        let job = settles.and_then(|s| s.job);
        let insert = "INSERT INTO delivery_attempts (event_id, attempt_no, at, http_status, \
                      latency_ms, error, response_excerpt, private_target, node) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        let count = "UPDATE notification_events SET attempts = attempts + 1, last_attempt_at = $1, \
                     status = COALESCE($3, status), delivered_at = COALESCE($4, delivered_at) \
                     WHERE id = $2";
        with_write_tx!(self, tx => {
            let counted = sqlx::query(count)
                .bind(attempt.at.as_millis())
                .bind(&attempt.event_id)
                .bind(status)
                .bind(delivered_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if counted != 1 {
                tx.rollback().await?;
                return Err(StoreError::NotFound("notification event"));
            }
            sqlx::query(insert)
                .bind(&attempt.event_id)
                .bind(i64::from(attempt.attempt_no))
                .bind(attempt.at.as_millis())
                .bind(attempt.http_status.map(i64::from))
                .bind(attempt.latency_ms)
                .bind(attempt.error.as_deref())
                .bind(attempt.response_excerpt.as_deref())
                .bind(i64::from(attempt.private_target))
                .bind(&attempt.node)
                .execute(&mut *tx)
                .await?;
            let completed = match job {
                Some((job, owner)) => {
                    sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2")
                        .bind(job.id)
                        .bind(owner)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1
                }
                None => false,
            };
            tx.commit().await?;
            Ok(completed)
        })
    }

    /// Sets the event's status; `Delivered` also records `at` as `delivered_at`.
    ///
    /// # Errors
    /// `NotFound` for an unknown event; `Database`.
    pub async fn mark_notification(
        &self,
        event_id: &str,
        status: NotificationStatus,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let delivered_at = (status == NotificationStatus::Delivered).then_some(at.as_millis());
        let sql = "UPDATE notification_events \
                   SET status = $1, delivered_at = COALESCE($2, delivered_at) WHERE id = $3";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(status.as_str())
            .bind(delivered_at)
            .bind(event_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if affected == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound("notification event"))
        }
    }

    /// The event's attempts, first first.
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn attempts(&self, event_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let sql = "SELECT id, event_id, attempt_no, at, http_status, latency_ms, error, \
                   response_excerpt, private_target, node FROM delivery_attempts \
                   WHERE event_id = $1 ORDER BY id";
        let rows = with_pool!(self, pool => sqlx::query_as::<_, AttemptRow>(sql)
            .bind(event_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Attempt::try_from).collect()
    }

    /// The events of one of the site's orders, oldest first; empty for another site's order.
    ///
    /// # Errors
    /// As [`Store::notification`].
    pub async fn notifications_for_order(
        &self,
        site: &SiteId,
        order: OrderId,
    ) -> Result<Vec<NotificationEvent>, StoreError> {
        let sql =
            format!("{SELECT_EVENTS} WHERE order_id = $1 AND site_id = $2 ORDER BY created_at, id");
        let rows = with_pool!(self, pool => sqlx::query_as::<_, EventRow>(&sql)
            .bind(order.as_i64())
            .bind(site.as_str())
            .fetch_all(pool)
            .await)?;
        self.events_from_rows(rows).await
    }

    /// Events for the operator, newest first: of one site or all (`None`), in one status or all.
    ///
    /// # Errors
    /// As [`Store::notification`].
    pub async fn list_notifications(
        &self,
        site: Option<&SiteId>,
        status: Option<NotificationStatus>,
    ) -> Result<Vec<NotificationEvent>, StoreError> {
        let sql = format!(
            "{SELECT_EVENTS} WHERE ($1 IS NULL OR site_id = $1) AND ($2 IS NULL OR status = $2) \
             ORDER BY created_at DESC, id DESC"
        );
        let rows = with_pool!(self, pool => sqlx::query_as::<_, EventRow>(&sql)
            .bind(site.map(SiteId::as_str))
            .bind(status.map(NotificationStatus::as_str))
            .fetch_all(pool)
            .await)?;
        self.events_from_rows(rows).await
    }

    async fn events_from_rows(
        &self,
        rows: Vec<EventRow>,
    ) -> Result<Vec<NotificationEvent>, StoreError> {
        // Lists are mostly of one site: open its SK once, not once per event.
        let mut sites = HashMap::new();
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            events.push(self.event_from_row(row, &mut sites).await?);
        }
        Ok(events)
    }

    async fn event_from_row(
        &self,
        r: EventRow,
        sites: &mut HashMap<String, Site>,
    ) -> Result<NotificationEvent, StoreError> {
        let bad =
            |what: &str| StoreError::corrupt("notification event", format!("{}: {what}", r.id));
        let site = match sites.get(&r.site_id) {
            Some(site) => site.clone(),
            None => {
                let id = SiteId::parse(&r.site_id).map_err(|_| bad("site_id"))?;
                let site = self
                    .find_site(&id)
                    .await?
                    .ok_or_else(|| bad("no such site"))?;
                sites.insert(r.site_id.clone(), site.clone());
                site
            }
        };
        let order = self
            .order_by_id(OrderId::from_i64(r.order_id))
            .await?
            .ok_or_else(|| bad("no such order"))?;
        let refund = match r.refund_id {
            Some(id) => Some(
                self.refund_by_id(id)
                    .await?
                    .ok_or_else(|| bad("no such refund"))?,
            ),
            None => None,
        };
        let split = match r.split_id {
            Some(id) => Some(
                self.split_by_id(id)
                    .await?
                    .ok_or_else(|| bad("no such split"))?,
            ),
            None => None,
        };
        Ok(NotificationEvent {
            event_type: EventType::parse(&r.event_type).ok_or_else(|| bad("event_type"))?,
            status: NotificationStatus::parse(&r.status).ok_or_else(|| bad("status"))?,
            attempts: i32::try_from(r.attempts).map_err(|_| bad("attempts"))?,
            created_at: Timestamp::from_millis(r.created_at),
            last_attempt_at: r.last_attempt_at.map(Timestamp::from_millis),
            delivered_at: r.delivered_at.map(Timestamp::from_millis),
            id: r.id,
            order,
            refund,
            split,
            site,
        })
    }
}

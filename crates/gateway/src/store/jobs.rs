//! Leased background jobs: claimed by one node at a time, taken over when a lease runs out.
//!
//! A job is at-least-once: a node that dies after doing the work but before completing the job leaves
//! it to be claimed again once its lease expires, so handlers must be idempotent. What the leases do
//! guarantee is that no two owners hold the same job at the same moment.

use std::time::Duration;

use crate::domain::{AuditEntry, Job, JobKind, JobSubject, OrderId, SiteId, Timestamp, is_token};

use super::audit::insert_audit;
use super::{Pool, Store, StoreError, with_pool, with_write, with_write_tx};

/// The `subject` column: the event id, or the order or refund id in decimal.
pub(super) fn subject_column(subject: &JobSubject) -> String {
    match subject {
        JobSubject::Event(id) => id.clone(),
        JobSubject::Order(id) | JobSubject::PaidOrder(id) => id.as_i64().to_string(),
        JobSubject::Refund(id) | JobSubject::Split(id) => id.to_string(),
        JobSubject::Bill(channel, day) => format!("{}:{day}", channel.as_str()),
    }
}

/// What a stored subject of a job of `kind` names; `None` when it names no event or order.
fn subject_from_column(kind: JobKind, text: &str) -> Option<JobSubject> {
    match kind {
        // An event id is a token (the API refuses anything else as one).
        JobKind::DeliverNotification => {
            is_token(text, 1, 64).then(|| JobSubject::Event(text.to_owned()))
        }
        JobKind::CheckOrder => text
            .parse()
            .ok()
            .map(|id| JobSubject::Order(OrderId::from_i64(id))),
        JobKind::CheckRefund => text.parse().ok().map(JobSubject::Refund),
        JobKind::CheckSplit => text.parse().ok().map(JobSubject::Split),
        JobKind::SplitPaidOrder => text
            .parse()
            .ok()
            .map(|id| JobSubject::PaidOrder(OrderId::from_i64(id))),
        JobKind::ReconcileDay => {
            let (channel, day) = text.split_once(':')?;
            Some(JobSubject::Bill(
                crate::domain::Channel::parse(channel).ok()?,
                crate::domain::BillDay::parse(day)?,
            ))
        }
    }
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    subject: String,
    due_at: i64,
    attempt: i64,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let bad = |what: String| StoreError::corrupt("job", format!("{}: {what}", r.id));
        let kind = JobKind::parse(&r.kind).ok_or_else(|| bad(format!("kind {:?}", r.kind)))?;
        Ok(Self {
            subject: subject_from_column(kind, &r.subject)
                .ok_or_else(|| bad(format!("{} subject {:?}", kind.as_str(), r.subject)))?,
            attempt: i32::try_from(r.attempt).map_err(|_| bad(format!("attempt {}", r.attempt)))?,
            id: r.id,
            due_at: Timestamp::from_millis(r.due_at),
        })
    }
}

/// Inserts a job, or makes the existing one of the same kind and subject due at `due_at` again with
/// its schedule restarted (its lease, if any, is left to its holder).
pub(super) const UPSERT_JOB: &str = "INSERT INTO jobs (kind, subject, due_at, attempt) \
     VALUES ($1, $2, $3, 0) \
     ON CONFLICT (kind, subject) DO UPDATE SET due_at = excluded.due_at, attempt = 0";

impl Store {
    /// Claims up to `limit` due jobs of these kinds whose lease is free or expired, leasing them to
    /// `owner` until `now + lease`; earliest due first.
    ///
    /// PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent claimers on many nodes take disjoint
    /// sets without waiting on each other. SQLite (one node): the same statement under
    /// `BEGIN IMMEDIATE`, after its turn at the write gate, which serializes claimers.
    ///
    /// A claimed job whose stored subject names no event or order is deleted, not returned.
    ///
    /// # Errors
    /// `Database`.
    pub async fn claim_jobs(
        &self,
        kinds: &[JobKind],
        owner: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        if kinds.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let until = now.plus(lease).as_millis();
        // The one backend-specific statement: PostgreSQL locks the chosen rows and skips rows other
        // claimers hold; SQLite has no arrays, so the kinds travel as a JSON array.
        self.count_query();
        let mut rows: Vec<JobRow> = match &self.pool {
            Pool::Postgres(pool) => {
                let sql = "UPDATE jobs SET lease_owner = $1, lease_until = $2 \
                           WHERE id IN (SELECT id FROM jobs \
                               WHERE kind = ANY($3) AND due_at <= $4 \
                               AND (lease_until IS NULL OR lease_until < $4) \
                               ORDER BY due_at, id LIMIT $5 \
                               FOR UPDATE SKIP LOCKED) \
                           RETURNING id, kind, subject, due_at, attempt";
                sqlx::query_as(sql)
                    .bind(owner)
                    .bind(until)
                    .bind(&kinds)
                    .bind(now.as_millis())
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
            Pool::Sqlite(pool, gate) => {
                let sql = "UPDATE jobs SET lease_owner = $1, lease_until = $2 \
                           WHERE id IN (SELECT id FROM jobs \
                               WHERE kind IN (SELECT value FROM json_each($3)) AND due_at <= $4 \
                               AND (lease_until IS NULL OR lease_until < $4) \
                               ORDER BY due_at, id LIMIT $5) \
                           RETURNING id, kind, subject, due_at, attempt";
                let kinds = serde_json::to_string(&kinds)
                    .map_err(|e| StoreError::corrupt("job kinds", e))?;
                // As `with_write_tx!`: its turn at the write gate, then the write lock up front,
                // and the claim durable before its jobs run.
                let rows = {
                    let _turn = gate.turn().await;
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    let rows = sqlx::query_as(sql)
                        .bind(owner)
                        .bind(until)
                        .bind(kinds)
                        .bind(now.as_millis())
                        .bind(i64::from(limit))
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    rows
                };
                gate.durable().await?;
                rows
            }
        };
        // RETURNING does not keep the subquery's order.
        rows.sort_by_key(|r| (r.due_at, r.id));
        let mut jobs = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id;
            match Job::try_from(row) {
                Ok(job) => jobs.push(job),
                Err(refused) => self.drop_claimed(id, owner, &refused).await?,
            }
        }
        Ok(jobs)
    }

    /// Deletes a job just claimed whose row does not decode (its subject names no event or order).
    /// No handler could act on it, and left in place it would be claimed and refused again each
    /// time its lease ran out; failing the whole claim instead would strand the good jobs claimed
    /// with it until their leases expired.
    async fn drop_claimed(
        &self,
        id: i64,
        owner: &str,
        refused: &StoreError,
    ) -> Result<(), StoreError> {
        tracing::error!(job = id, error = %refused, "claimed job names nothing to act on; dropped");
        let sql = "DELETE FROM jobs WHERE id = $1 AND lease_owner = $2";
        with_write!(self, pool => sqlx::query(sql)
            .bind(id)
            .bind(owner)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Deletes the job if `owner` still holds it. `false`: the lease was lost (expired and taken, or
    /// the job was deleted meanwhile, e.g. the order became final); the caller does nothing more.
    ///
    /// # Errors
    /// `Database`.
    pub async fn complete_job(&self, job: &Job, owner: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM jobs WHERE id = $1 AND lease_owner = $2";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(job.id)
            .bind(owner)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected == 1)
    }

    /// Frees the job and makes it due again at `due_at` with `attempt + 1`, if `owner` still holds it.
    ///
    /// # Errors
    /// `Database`.
    pub async fn reschedule_job(
        &self,
        job: &Job,
        owner: &str,
        due_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET due_at = $1, attempt = attempt + 1, \
                   lease_owner = NULL, lease_until = NULL \
                   WHERE id = $2 AND lease_owner = $3";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(due_at.as_millis())
            .bind(job.id)
            .bind(owner)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected == 1)
    }

    /// Extends `owner`'s leases on `jobs` (the ones it is running) to `now + lease`, so that a job
    /// running longer than one lease is not taken over while its node lives. A lease another owner
    /// took meanwhile, or of a job that is gone, is left alone. Returns how many were extended.
    ///
    /// # Errors
    /// `Database`.
    pub async fn renew_leases(
        &self,
        owner: &str,
        jobs: &[i64],
        now: Timestamp,
        lease: Duration,
    ) -> Result<u64, StoreError> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let ids: Vec<String> = (0..jobs.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2 AND id IN ({})",
            ids.join(", ")
        );
        let until = now.plus(lease).as_millis();
        let affected = with_write!(self, pool => {
            let mut q = sqlx::query(&sql).bind(until).bind(owner);
            for id in jobs {
                q = q.bind(*id);
            }
            q.execute(pool).await.map(|done| done.rows_affected())
        })?;
        Ok(affected)
    }

    /// Frees every lease `owner` holds (graceful shutdown), so other nodes need not wait for them to
    /// expire. Returns how many were freed.
    ///
    /// # Errors
    /// `Database`.
    pub async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let sql = "UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1";
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(owner)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(affected)
    }

    /// Makes the event's delivery due now again (operator resend): the event goes back to `pending`
    /// and its job is inserted, or made due now with the retry schedule restarted. With `site`, only
    /// that site's event is found (a site asking through the API); `None` is the operator (CLI).
    /// Returns whether the event was found.
    ///
    /// A job currently leased keeps its lease: its holder is delivering right now and will complete
    /// or reschedule it; taking the lease away could let two nodes deliver at once.
    ///
    /// # Errors
    /// `Database`.
    pub async fn requeue_notification(
        &self,
        site: Option<&SiteId>,
        event_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.requeue(site, event_id, now, None).await
    }

    /// [`Store::requeue_notification`], with `audit` written in the same transaction when the
    /// event is found (nothing is written when it is not).
    ///
    /// # Errors
    /// `Database`.
    pub async fn requeue_notification_audited(
        &self,
        site: Option<&SiteId>,
        event_id: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.requeue(site, event_id, now, Some(audit)).await
    }

    async fn requeue(
        &self,
        site: Option<&SiteId>,
        event_id: &str,
        now: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let reset = "UPDATE notification_events SET status = 'pending' \
                     WHERE id = $1 AND ($2 IS NULL OR site_id = $2)";
        let found = with_write_tx!(self, tx => {
            let found = sqlx::query(reset)
                .bind(event_id)
                .bind(site.map(SiteId::as_str))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if found {
                let subject = JobSubject::Event(event_id.to_owned());
                sqlx::query(UPSERT_JOB)
                    .bind(subject.kind().as_str())
                    .bind(subject_column(&subject))
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
                if let Some(audit) = audit {
                    insert_audit!(tx, audit)?;
                }
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            found
        });
        if found {
            self.wake_workers();
        }
        Ok(found)
    }

    /// [`Store::requeue_notification`] for every `failed` event of `site` at once, with the audit
    /// entry `audit` makes of their number, in one transaction. Returns how many were requeued.
    ///
    /// # Errors
    /// `Database`.
    pub async fn requeue_failed_notifications(
        &self,
        site: &SiteId,
        now: Timestamp,
        audit: impl FnOnce(u64) -> AuditEntry,
    ) -> Result<u64, StoreError> {
        // `WHERE` before `ON CONFLICT`: SQLite needs it to read the upsert of an INSERT … SELECT.
        let jobs = "INSERT INTO jobs (kind, subject, due_at, attempt) \
                    SELECT $1, id, $2, 0 FROM notification_events \
                    WHERE site_id = $3 AND status = 'failed' \
                    ON CONFLICT (kind, subject) DO UPDATE SET due_at = excluded.due_at, attempt = 0";
        let reset = "UPDATE notification_events SET status = 'pending' \
                     WHERE site_id = $1 AND status = 'failed'";
        let requeued = with_write_tx!(self, tx => {
            sqlx::query(jobs)
                .bind(JobKind::DeliverNotification.as_str())
                .bind(now.as_millis())
                .bind(site.as_str())
                .execute(&mut *tx)
                .await?;
            let requeued = sqlx::query(reset)
                .bind(site.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            insert_audit!(tx, &audit(requeued))?;
            tx.commit().await?;
            requeued
        });
        if requeued > 0 {
            self.wake_workers();
        }
        Ok(requeued)
    }

    /// Makes the order's check job due now, if it has one and it is due later (a callback failed
    /// verification: ask the channel instead of trusting or ignoring it). Returns whether a job was
    /// moved. A final order has no check job, so nothing happens for it.
    ///
    /// # Errors
    /// `Database`.
    pub async fn expedite_check(
        &self,
        order_id: OrderId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET due_at = $1 WHERE kind = $2 AND subject = $3 AND due_at > $1";
        let subject = JobSubject::Order(order_id);
        let affected = with_write!(self, pool => sqlx::query(sql)
            .bind(now.as_millis())
            .bind(subject.kind().as_str())
            .bind(subject_column(&subject))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if affected == 1 {
            self.wake_workers();
        }
        Ok(affected == 1)
    }

    /// The job about `subject`, whatever its lease (operator views and tests).
    ///
    /// # Errors
    /// `Database`, `Corrupt`.
    pub async fn find_job(&self, subject: &JobSubject) -> Result<Option<Job>, StoreError> {
        let sql =
            "SELECT id, kind, subject, due_at, attempt FROM jobs WHERE kind = $1 AND subject = $2";
        let row = with_pool!(self, pool => sqlx::query_as::<_, JobRow>(sql)
            .bind(subject.kind().as_str())
            .bind(subject_column(subject))
            .fetch_optional(pool)
            .await)?;
        row.map(Job::try_from).transpose()
    }
}

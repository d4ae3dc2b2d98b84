//! The console dashboard's figures, summed by the database within the user's scope, per local day:
//! what was paid (by site and channel), how many of the orders created were paid, and what was
//! refunded; and what needs a person now. Each is one statement, answered from an index that holds
//! every column it reads (migration 0012), so a month of a million orders is summed without
//! visiting the orders themselves. Money is summed as BIGINT fen (PostgreSQL's SUM of a BIGINT is
//! NUMERIC, hence the casts).

use crate::domain::{Scope, Timestamp};

use super::search::{Arg, Conditions, bind_all};
use super::{Store, StoreError, with_pool};

/// `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// A count and the fen it adds up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: i64,
    pub fen: i64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.count += other.count;
        self.fen += other.fen;
    }
}

/// What was paid on one local day at one site through one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidGroup {
    pub day: i64,
    pub site_id: String,
    pub channel: String,
    pub paid: Tally,
}

/// The orders created on one local day, and how many of them are paid by now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedDay {
    pub day: i64,
    pub created: i64,
    pub paid: i64,
}

/// A period's figures per local day (days without any are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyFigures {
    /// Orders paid (by when they were paid; refunded ones too: they were paid).
    pub paid: Vec<PaidGroup>,
    /// Orders created.
    pub created: Vec<CreatedDay>,
    /// Refunds that reached the payer (by when they did).
    pub refunded: Vec<(i64, Tally)>,
}

/// What needs a person now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenCounts {
    /// Anomalies nobody has acknowledged yet (about the scope's orders, for a site).
    pub anomalies: i64,
    /// Notifications every retry of which failed.
    pub failed_notifications: i64,
    /// Orders `created` since before the instant given, or `pending` past their expiry before it.
    pub stuck_orders: i64,
}

#[derive(sqlx::FromRow)]
struct PaidRow {
    day: i64,
    site_id: String,
    channel: String,
    count: i64,
    fen: i64,
}

#[derive(sqlx::FromRow)]
struct CreatedRow {
    day: i64,
    created: i64,
    paid: i64,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: i64,
    count: i64,
    fen: i64,
}

#[derive(sqlx::FromRow)]
struct OpenRow {
    anomalies: i64,
    failed: i64,
    stuck: i64,
}

const DAY_MS: i64 = 86_400_000;

impl Store {
    /// The figures of `period` within `scope`, per local day: the days of a time zone
    /// `utc_offset_ms` ahead of UTC, each numbered by the whole days since the epoch in that zone
    /// (`(at + utc_offset_ms) / 86_400_000`). A period meant to be whole days starts at a local
    /// midnight.
    ///
    /// # Errors
    /// `Database`.
    pub async fn daily_figures(
        &self,
        scope: &Scope,
        period: Period,
        utc_offset_ms: i64,
    ) -> Result<DailyFigures, StoreError> {
        // The offset is a constant of the code, not input: written into the SQL so that both
        // backends see plain BIGINT arithmetic.
        let day = |column: &str| format!("({column} + {utc_offset_ms}) / {DAY_MS}");
        let paid = in_period(scope, "paid_at", period, &["paid_at IS NOT NULL"]);
        let paid_sql = format!(
            "SELECT {d} AS day, site_id, channel, COUNT(*) AS count, \
             COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) AS fen FROM orders{w} \
             GROUP BY {d}, site_id, channel",
            d = day("paid_at"),
            w = paid.where_clause()
        );
        let created = in_period(scope, "created_at", period, &[]);
        let created_sql = format!(
            "SELECT {d} AS day, COUNT(*) AS created, \
             COALESCE(CAST(SUM(CASE WHEN paid_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), 0) \
             AS paid FROM orders{w} GROUP BY {d}",
            d = day("created_at"),
            w = created.where_clause()
        );
        let refunded = in_period(scope, "succeeded_at", period, &["status = 'succeeded'"]);
        let refunded_sql = format!(
            "SELECT {d} AS day, COUNT(*) AS count, \
             COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) AS fen FROM refunds{w} GROUP BY {d}",
            d = day("succeeded_at"),
            w = refunded.where_clause()
        );
        let paid_rows = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, PaidRow>(&paid_sql), paid).fetch_all(pool).await
        })?;
        let created_rows = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, CreatedRow>(&created_sql), created)
                .fetch_all(pool)
                .await
        })?;
        let refunded_rows = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, DayRow>(&refunded_sql), refunded)
                .fetch_all(pool)
                .await
        })?;
        Ok(DailyFigures {
            paid: paid_rows
                .into_iter()
                .map(|r| PaidGroup {
                    day: r.day,
                    site_id: r.site_id,
                    channel: r.channel,
                    paid: Tally {
                        count: r.count,
                        fen: r.fen,
                    },
                })
                .collect(),
            created: created_rows
                .into_iter()
                .map(|r| CreatedDay {
                    day: r.day,
                    created: r.created,
                    paid: r.paid,
                })
                .collect(),
            refunded: refunded_rows
                .into_iter()
                .map(|r| {
                    (
                        r.day,
                        Tally {
                            count: r.count,
                            fen: r.fen,
                        },
                    )
                })
                .collect(),
        })
    }

    /// What needs a person, within `scope`, in one statement; orders count as stuck as
    /// [`OpenCounts`] says, with `stuck_before` as the instant.
    ///
    /// # Errors
    /// `Database`.
    pub async fn open_counts(
        &self,
        scope: &Scope,
        stuck_before: Timestamp,
    ) -> Result<OpenCounts, StoreError> {
        const STUCK: &str = "(status = 'created' AND created_at < $1) \
                             OR (status = 'pending' AND expires_at < $1)";
        let stuck_at = stuck_before.as_millis();
        let row = match scope.site() {
            None => {
                let sql = format!(
                    "SELECT \
                     (SELECT COUNT(*) FROM anomalies WHERE acknowledged_at IS NULL) AS anomalies, \
                     (SELECT COUNT(*) FROM notification_events WHERE status = 'failed') AS failed, \
                     (SELECT COUNT(*) FROM orders WHERE {STUCK}) AS stuck"
                );
                with_pool!(self, pool => {
                    sqlx::query_as::<_, OpenRow>(&sql).bind(stuck_at).fetch_one(pool).await
                })?
            }
            Some(site) => {
                // A site's anomalies are those of its orders: found from the few open anomalies,
                // never by listing the site's orders.
                let sql = format!(
                    "SELECT \
                     (SELECT COUNT(*) FROM anomalies a JOIN orders o ON o.id = a.order_id \
                      WHERE a.acknowledged_at IS NULL AND o.site_id = $2) AS anomalies, \
                     (SELECT COUNT(*) FROM notification_events \
                      WHERE status = 'failed' AND site_id = $2) AS failed, \
                     (SELECT COUNT(*) FROM orders WHERE site_id = $2 AND ({STUCK})) AS stuck"
                );
                with_pool!(self, pool => {
                    sqlx::query_as::<_, OpenRow>(&sql)
                        .bind(stuck_at)
                        .bind(site.as_str())
                        .fetch_one(pool)
                        .await
                })?
            }
        };
        Ok(OpenCounts {
            anomalies: row.anomalies,
            failed_notifications: row.failed,
            stuck_orders: row.stuck,
        })
    }
}

/// Rows of `scope` whose `column` falls within `period`, and `fixed`.
fn in_period(scope: &Scope, column: &str, period: Period, fixed: &[&str]) -> Conditions {
    let mut c = Conditions::default();
    c.scope(scope, "site_id");
    for clause in fixed {
        c.add_fixed(clause);
    }
    c.add(Arg::Int(period.from.as_millis()), |n| {
        format!("{column} >= ${n}")
    });
    c.add(Arg::Int(period.to.as_millis()), |n| {
        format!("{column} < ${n}")
    });
    c
}

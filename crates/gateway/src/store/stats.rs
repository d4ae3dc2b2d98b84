//! The console dashboard's figures, summed by the database within the user's scope: what was paid
//! and refunded in a period (in all, by channel, by site, by day), how many of the orders created
//! in it were paid, and what needs a person now. Money is summed as BIGINT fen (PostgreSQL's SUM
//! of a BIGINT is NUMERIC, hence the casts).

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

/// A period's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodFigures {
    /// Orders paid in the period (by when they were paid; refunded ones too: they were paid).
    pub paid: Tally,
    /// Orders created in the period...
    pub created: i64,
    /// ... of which paid by now.
    pub created_paid: i64,
    /// Refunds that reached the payer in the period.
    pub refunded: Tally,
    /// `paid` by channel name, largest amount first.
    pub by_channel: Vec<(String, Tally)>,
    /// `paid` by site id, largest amount first.
    pub by_site: Vec<(String, Tally)>,
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
struct TallyRow {
    key: String,
    count: i64,
    fen: i64,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: i64,
    count: i64,
    fen: i64,
}

const PAID: &str = "paid_at IS NOT NULL";

impl Store {
    /// The figures of `period` within `scope`.
    ///
    /// # Errors
    /// `Database`.
    pub async fn period_figures(
        &self,
        scope: &Scope,
        period: Period,
    ) -> Result<PeriodFigures, StoreError> {
        let paid = paid_conditions(scope, period);
        let paid_tally = format!(
            "SELECT '' AS key, COUNT(*) AS count, \
             COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) AS fen FROM orders{}",
            paid.where_clause()
        );
        let grouped = |column: &str| {
            format!(
                "SELECT {column} AS key, COUNT(*) AS count, \
                 COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) AS fen FROM orders{} \
                 GROUP BY {column} ORDER BY fen DESC, key",
                paid.where_clause()
            )
        };
        let mut created = Conditions::default();
        created.scope(scope, "site_id");
        created.add(Arg::Int(period.from.as_millis()), |n| {
            format!("created_at >= ${n}")
        });
        created.add(Arg::Int(period.to.as_millis()), |n| {
            format!("created_at < ${n}")
        });
        let created_sql = format!(
            "SELECT COUNT(*), COALESCE(CAST(SUM(CASE WHEN {PAID} THEN 1 ELSE 0 END) AS BIGINT), 0) \
             FROM orders{}",
            created.where_clause()
        );
        let mut refunded = Conditions::default();
        refunded.scope(scope, "site_id");
        refunded.add_fixed("status = 'succeeded'");
        refunded.add(Arg::Int(period.from.as_millis()), |n| {
            format!("succeeded_at >= ${n}")
        });
        refunded.add(Arg::Int(period.to.as_millis()), |n| {
            format!("succeeded_at < ${n}")
        });
        let refunded_sql = format!(
            "SELECT '' AS key, COUNT(*) AS count, \
             COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) AS fen FROM refunds{}",
            refunded.where_clause()
        );
        let (by_channel_sql, by_site_sql) = (grouped("channel"), grouped("site_id"));
        let tally = |row: TallyRow| {
            (
                row.key,
                Tally {
                    count: row.count,
                    fen: row.fen,
                },
            )
        };
        let paid_row = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, TallyRow>(&paid_tally), paid).fetch_one(pool).await
        })?;
        let by_channel = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, TallyRow>(&by_channel_sql), paid).fetch_all(pool).await
        })?;
        let by_site = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, TallyRow>(&by_site_sql), paid).fetch_all(pool).await
        })?;
        let (created_count, created_paid): (i64, i64) = with_pool!(self, pool => {
            bind_all!(sqlx::query_as(&created_sql), created).fetch_one(pool).await
        })?;
        let refunded_row = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, TallyRow>(&refunded_sql), refunded)
                .fetch_one(pool)
                .await
        })?;
        Ok(PeriodFigures {
            paid: tally(paid_row).1,
            created: created_count,
            created_paid,
            refunded: tally(refunded_row).1,
            by_channel: by_channel.into_iter().map(tally).collect(),
            by_site: by_site.into_iter().map(tally).collect(),
        })
    }

    /// What was paid in `period` within `scope`, per local day: the days of a time zone
    /// `utc_offset_ms` ahead of UTC, each numbered by the whole days since the epoch in that zone
    /// (`(paid_at + utc_offset_ms) / 86_400_000`). Days without payments are left out.
    ///
    /// # Errors
    /// `Database`.
    pub async fn paid_per_day(
        &self,
        scope: &Scope,
        period: Period,
        utc_offset_ms: i64,
    ) -> Result<Vec<(i64, Tally)>, StoreError> {
        let c = paid_conditions(scope, period);
        // The offset is a constant of the code, not input: written into the SQL so that both
        // backends see plain BIGINT arithmetic.
        let sql = format!(
            "SELECT (paid_at + {utc_offset_ms}) / 86400000 AS day, COUNT(*) AS count, \
             COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) AS fen FROM orders{} \
             GROUP BY (paid_at + {utc_offset_ms}) / 86400000 ORDER BY day",
            c.where_clause()
        );
        let rows = with_pool!(self, pool => {
            bind_all!(sqlx::query_as::<_, DayRow>(&sql), c).fetch_all(pool).await
        })?;
        Ok(rows
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
            .collect())
    }

    /// What needs a person, within `scope`; orders count as stuck as [`OpenCounts`] says, with
    /// `stuck_before` as the instant.
    ///
    /// # Errors
    /// `Database`.
    pub async fn open_counts(
        &self,
        scope: &Scope,
        stuck_before: Timestamp,
    ) -> Result<OpenCounts, StoreError> {
        let mut anomalies = Conditions::default();
        anomalies.add_fixed("acknowledged_at IS NULL");
        if let Some(site) = scope.site() {
            anomalies.add(Arg::Text(site.as_str().to_owned()), |n| {
                format!("order_id IN (SELECT id FROM orders WHERE site_id = ${n})")
            });
        }
        let anomalies_sql = format!("SELECT COUNT(*) FROM anomalies{}", anomalies.where_clause());
        let mut failed = Conditions::default();
        failed.scope(scope, "site_id");
        failed.add_fixed("status = 'failed'");
        let failed_sql = format!(
            "SELECT COUNT(*) FROM notification_events{}",
            failed.where_clause()
        );
        let mut stuck = Conditions::default();
        stuck.scope(scope, "site_id");
        stuck.add(Arg::Int(stuck_before.as_millis()), |n| {
            format!(
                "((status = 'created' AND created_at < ${n}) \
                 OR (status = 'pending' AND expires_at < ${n}))"
            )
        });
        let stuck_sql = format!("SELECT COUNT(*) FROM orders{}", stuck.where_clause());
        Ok(OpenCounts {
            anomalies: self.count(&anomalies_sql, &anomalies).await?,
            failed_notifications: self.count(&failed_sql, &failed).await?,
            stuck_orders: self.count(&stuck_sql, &stuck).await?,
        })
    }

    async fn count(&self, sql: &str, c: &Conditions) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            bind_all!(sqlx::query_scalar::<_, i64>(sql), c).fetch_one(pool).await
        })?)
    }
}

/// Orders of `scope` paid within `period`.
fn paid_conditions(scope: &Scope, period: Period) -> Conditions {
    let mut c = Conditions::default();
    c.scope(scope, "site_id");
    c.add_fixed(PAID);
    c.add(Arg::Int(period.from.as_millis()), |n| {
        format!("paid_at >= ${n}")
    });
    c.add(Arg::Int(period.to.as_millis()), |n| {
        format!("paid_at < ${n}")
    });
    c
}

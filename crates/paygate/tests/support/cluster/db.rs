//! The nodes' database: a throwaway PostgreSQL database (`test_support::db`, dropped when this
//! is, also when the test panics), and the reads that check what paygate stored.

use std::collections::HashMap;

use test_support::db::{Backend, ThrowawayDb};

use super::unix_ms;

/// paygate's database, shared by every node of a test.
pub struct ClusterDb(ThrowawayDb);

/// An order as paygate stored it.
#[derive(Debug, Clone)]
pub struct PaygateOrder {
    pub out_trade_no: String,
    pub status: String,
}

impl ClusterDb {
    pub async fn create() -> Self {
        Self(ThrowawayDb::create(Backend::Postgres).await)
    }

    /// The database's URL, for `--database-url`.
    pub fn url(&self) -> &str {
        self.0.url()
    }

    /// Rows of a query, each a list of text fields (NULL is the empty string).
    pub async fn query(&self, sql: &str) -> Vec<Vec<String>> {
        self.0
            .rows(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql:?}: {e}"))
    }

    /// The one value of a one-row, one-column query, as text.
    pub async fn scalar(&self, sql: &str) -> String {
        self.query(sql)
            .await
            .first()
            .and_then(|row| row.first().cloned())
            .unwrap_or_default()
    }

    /// Every order: (upstream_order_no → order).
    pub async fn orders(&self) -> HashMap<String, PaygateOrder> {
        self.query("SELECT upstream_order_no, out_trade_no, status FROM orders")
            .await
            .into_iter()
            .filter_map(|row| match row.as_slice() {
                [upstream, out_trade_no, status] => Some((
                    upstream.clone(),
                    PaygateOrder {
                        out_trade_no: out_trade_no.clone(),
                        status: status.clone(),
                    },
                )),
                _ => None,
            })
            .collect()
    }

    /// Every `TRANSACTION.SUCCESS` event: out_trade_no → (event id, status).
    pub async fn success_events(&self) -> HashMap<String, (String, String)> {
        self.query(
            "SELECT o.out_trade_no, e.id, e.status FROM notification_events e \
             JOIN orders o ON o.id = e.order_id WHERE e.event_type = 'TRANSACTION.SUCCESS'",
        )
        .await
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [no, id, status] => Some((no.clone(), (id.clone(), status.clone()))),
            _ => None,
        })
        .collect()
    }

    /// What the database knows about one order, for failure messages.
    pub async fn explain(&self, out_trade_no: &str) -> String {
        let no = out_trade_no.replace('\'', "");
        let order = self
            .query(&format!(
                "SELECT id, status, upstream_order_no FROM orders WHERE out_trade_no = '{no}'"
            ))
            .await;
        let jobs = self
            .query(&format!(
                "SELECT j.kind, j.subject, j.due_at, j.attempt, j.lease_owner, j.lease_until FROM jobs j \
                 WHERE j.subject IN (SELECT CAST(id AS TEXT) FROM orders WHERE out_trade_no = '{no}') \
                 OR j.subject IN (SELECT e.id FROM notification_events e JOIN orders o ON o.id = e.order_id \
                                  WHERE o.out_trade_no = '{no}')"
            ))
            .await;
        let events = self
            .query(&format!(
                "SELECT e.id, e.status, e.attempts FROM notification_events e JOIN orders o \
                 ON o.id = e.order_id WHERE o.out_trade_no = '{no}'"
            ))
            .await;
        let attempts = self
            .query(&format!(
                "SELECT a.event_id, a.attempt_no, a.at, a.http_status, a.error, a.node FROM delivery_attempts a \
                 JOIN notification_events e ON e.id = a.event_id JOIN orders o ON o.id = e.order_id \
                 WHERE o.out_trade_no = '{no}' ORDER BY a.at"
            ))
            .await;
        format!(
            "{out_trade_no}: order {order:?}, jobs {jobs:?}, events {events:?}, attempts {attempts:?} (now {})",
            unix_ms()
        )
    }
}

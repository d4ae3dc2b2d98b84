//! Queries a callback may prompt: bounded, so that untrusted input can bring an order's check
//! forward or confirm news, but never make paygate call the channel in a stream.

use std::time::Duration;

use crate::domain::{OrderId, Timestamp};

use super::OrderService;

impl OrderService {
    /// Asks for the order to be checked with the channel now instead of at its next scheduled
    /// check (after a callback that could not be trusted), at most once per order every
    /// [`CALLBACK_QUERY_GAP`]: untrusted input may prompt a query, never a stream of them. Best
    /// effort: the scheduled check still comes.
    pub async fn expedite_check(&self, order: OrderId) {
        if !self
            .claim_callback_query(order, QueryReason::Unverified)
            .await
        {
            return;
        }
        if let Err(e) = self.store.expedite_check(order, Timestamp::now()).await {
            tracing::error!(order = order.as_i64(), error = %e, "could not expedite the order's check");
        }
    }

    /// Whether a callback may make paygate ask the channel about `order` now (see
    /// [`Store::claim_callback_query`](crate::store::Store::claim_callback_query)). A database
    /// failure says no: the order's scheduled check still asks.
    pub async fn claim_callback_query(&self, order: OrderId, reason: QueryReason) -> bool {
        let claimed = self
            .store
            .claim_callback_query(order, reason.as_str(), Timestamp::now(), CALLBACK_QUERY_GAP)
            .await;
        claimed.unwrap_or_else(|e| {
            tracing::error!(order = order.as_i64(), error = %e, "could not claim a callback query");
            false
        })
    }
}

/// How long after one query a callback prompted, another callback may prompt the next one for
/// the same order and reason. Short enough that a real payment behind a junk callback is found
/// within minutes (the check schedule runs besides), long enough that a flood costs one call.
pub const CALLBACK_QUERY_GAP: Duration = Duration::from_secs(180);

/// Why a callback makes paygate ask the channel. Each reason has its own budget, so that junk
/// callbacks cannot use up the query that confirms a genuine one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryReason {
    /// A callback that failed verification names an order: its check is brought forward.
    Unverified,
    /// A verified callback is confirmed before it is acted on.
    Confirm,
}

impl QueryReason {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unverified => "unverified",
            Self::Confirm => "confirm",
        }
    }
}

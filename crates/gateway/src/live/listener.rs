//! Hearing other nodes' changes: on PostgreSQL every committed status change also runs
//! `pg_notify('paygate_order_changed', <order id>)` in its transaction (delivered on commit, never
//! for a rolled-back change), and each node keeps one `LISTEN` connection that forwards what it
//! hears to its own hub. A node hears its own changes too; that costs its watchers one extra
//! re-read at most, as they emit only a status that really changed.
//!
//! Notifications sent while the connection is down are lost for good, so every (re)connection is
//! followed by [`OrderChanges::publish_all`]: each open stream re-reads its order once.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use super::OrderChanges;
use crate::domain::OrderId;

/// The PostgreSQL notification channel; the payload is the order's id in decimal.
pub const CHANNEL: &str = "paygate_order_changed";

/// Forwards notifications from `pool`'s database to `hub`, reconnecting with a backoff, forever.
pub(super) async fn forward(pool: PgPool, hub: OrderChanges) {
    let mut failures = 0_u32;
    loop {
        match listen(&pool).await {
            Ok(mut listener) => {
                tracing::debug!("listening for order changes of other nodes");
                failures = 0;
                // Whatever was committed while no connection listened went unheard.
                hub.publish_all();
                hear(&mut listener, &hub).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other nodes' order changes");
            }
        }
        failures = failures.saturating_add(1);
        tokio::time::sleep(backoff(failures)).await;
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Forwards until the connection fails in a way the listener does not repair by itself.
async fn hear(listener: &mut PgListener, hub: &OrderChanges) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notice)) => match notice.payload().parse::<i64>() {
                Ok(id) => hub.publish(OrderId::from_i64(id)),
                Err(_) => {
                    // Not ours to understand; re-reading everything is always safe.
                    tracing::warn!(payload = notice.payload(), "unexpected order change notice");
                    hub.publish_all();
                }
            },
            // The connection was lost and has already been re-established (and the channel
            // listened to again); what was sent in between is lost.
            Ok(None) => {
                tracing::info!("order change listener reconnected");
                hub.publish_all();
            }
            Err(e) => {
                tracing::warn!(error = %e, "order change listener failed; reconnecting");
                return;
            }
        }
    }
}

/// 0.25 s, doubling, at most 10 s: a database restart is heard within seconds, a long outage
/// costs a connection attempt every 10 s.
fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(6);
    Duration::from_millis(250 * (1 << exp)).min(Duration::from_secs(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_ten_seconds() {
        let waits: Vec<_> = (1..=8).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 10000, 10000]);
    }
}

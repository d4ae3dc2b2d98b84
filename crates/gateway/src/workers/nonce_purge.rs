//! Deletes expired API nonces. They are only kept a little longer than twice the signing window
//! (11 minutes by default); a stale row is harmless (it is taken over on reuse), so this only
//! bounds the table. Every node does it; the deletes are idempotent.

use std::future::Future;
use std::time::Duration;

use crate::domain::Timestamp;
use crate::store::Store;

/// How often expired nonces are deleted.
const INTERVAL: Duration = Duration::from_secs(300);

/// Deletes nonces older than `retention` every few minutes until `shutdown`.
pub async fn purge_nonces(store: Store, retention: Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        match store.purge_nonces(Timestamp::now(), retention).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "expired API nonces purged"),
            // Harmless until the next run: an expired nonce row is taken over on reuse.
            Err(e) => tracing::warn!(error = %e, "purging expired API nonces failed"),
        }
    }
}

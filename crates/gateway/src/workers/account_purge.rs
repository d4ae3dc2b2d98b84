//! Deletes dead console sessions and ended per-address login-failure windows
//! (`AccountService::purge_expired`). A dead session is refused anyway and an ended window counts
//! for nothing, so this only bounds the tables. Every node does it; the deletes are idempotent.

use std::future::Future;
use std::time::Duration;

use crate::domain::Timestamp;
use crate::service::AccountService;

/// How often the purge runs (its first run is at start).
pub const ACCOUNT_PURGE_INTERVAL: Duration = Duration::from_secs(300);

/// Purges every `interval` until `shutdown`, starting at once.
pub async fn purge_accounts(
    accounts: AccountService,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        match accounts.purge_expired(Timestamp::now()).await {
            Ok((0, 0)) => {}
            Ok((sessions, failures)) => {
                tracing::debug!(
                    sessions,
                    failures,
                    "dead console sessions and login failures purged"
                );
            }
            // Harmless until the next run: dead rows are refused or ignored where they are read.
            Err(e) => tracing::warn!(error = %e, "purging dead console sessions failed"),
        }
    }
}

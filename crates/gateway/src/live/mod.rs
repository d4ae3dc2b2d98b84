//! Live order status: who is told, in this process, that an order may have changed, so that open
//! checkout pages (`GET /pay/events`) learn of a payment without polling the database.
//!
//! - [`OrderChanges`] (`hub.rs`): the in-process hub, one `watch` channel per watched order. The
//!   store publishes to it after committing a status change (`Store::transition`, and the refund
//!   that makes an order `refunded`).
//! - `listener.rs`: on PostgreSQL, the same changes made by other nodes, heard through
//!   `LISTEN paygate_order_changed` and published to this node's hub. SQLite is one node: the
//!   store's own publish is all there is.
//!
//! [`run`] is the background task the app starts beside its workers.

mod hub;
mod listener;

use std::future::Future;

pub use hub::{Mark, OrderChanges, OrderWatch, Signal};
pub use listener::CHANNEL;

use crate::store::Store;

/// Until `shutdown` resolves: on PostgreSQL, forwards other nodes' changes to `store`'s hub. Then
/// closes the hub, which ends every open stream so that the server's graceful shutdown can finish.
pub async fn run(store: Store, shutdown: impl Future<Output = ()>) {
    let hub = store.order_changes().clone();
    match store.postgres_pool() {
        Some(pool) => {
            tokio::select! {
                () = shutdown => {}
                () = listener::forward(pool.clone(), hub.clone()) => {}
            }
        }
        None => shutdown.await,
    }
    hub.close();
}

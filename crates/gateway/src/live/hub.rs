//! The in-process hub of "this order may have changed" signals: one `watch` channel per order that
//! someone is watching, created by the first watcher and removed with the last. Publishing touches
//! only the watched order's channel, so a change wakes the streams of that order and no other; an
//! order nobody watches costs one map lookup.
//!
//! A signal carries no data: a watcher re-reads the order. A `watch` channel keeps only "changed
//! since you last looked", so signals that arrive faster than a watcher reads coalesce into one
//! re-read and none is ever lost (there is no lag to recover from, unlike a broadcast queue).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::domain::OrderId;

/// The hub. Cloning shares it.
#[derive(Debug, Clone)]
pub struct OrderChanges(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    watched: Mutex<HashMap<OrderId, watch::Sender<()>>>,
    /// Bumped by every publish, before the channels are touched: a watcher that read its order
    /// before subscribing compares it to learn whether a signal may have gone by in between.
    generation: AtomicU64,
    /// `true` once the process is shutting down: every watcher ends.
    closing: watch::Sender<bool>,
}

/// Where the hub stood before a watcher read its order ([`OrderChanges::mark`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark(u64);

/// What a watcher is woken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The order may have changed: read it again.
    Changed,
    /// The process is shutting down: stop watching.
    Closing,
}

impl Default for OrderChanges {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderChanges {
    #[must_use]
    pub fn new() -> Self {
        Self(Arc::new(Inner {
            watched: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            closing: watch::Sender::new(false),
        }))
    }

    /// Signals the watchers of `order` (if any): call after the change is committed.
    pub fn publish(&self, order: OrderId) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = self.watched().get(&order) {
            tx.send_replace(());
        }
    }

    /// Signals every watcher: for when changes may have been missed (the cross-node listener lost
    /// its connection), each watcher re-reads its order once.
    pub fn publish_all(&self) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        for tx in self.watched().values() {
            tx.send_replace(());
        }
    }

    /// Ends every watch, now and later: the process is shutting down, and open streams must end
    /// for the server's graceful shutdown to finish (a browser reconnects to another node).
    pub fn close(&self) {
        self.0.closing.send_replace(true);
    }

    /// Take before reading the order that will be watched, and give to [`OrderChanges::watch`].
    #[must_use]
    pub fn mark(&self) -> Mark {
        Mark(self.0.generation.load(Ordering::SeqCst))
    }

    /// Starts watching `order`. `since` is the mark taken before the order was read: if anything
    /// was published since, the first [`OrderWatch::changed`] returns at once, so a change
    /// committed between that read and this subscription is not missed (at the price of one
    /// re-read, only when something was published in that instant).
    #[must_use]
    pub fn watch(&self, order: OrderId, since: Mark) -> OrderWatch {
        let rx = self
            .watched()
            .entry(order)
            .or_insert_with(|| watch::Sender::new(()))
            .subscribe();
        // Subscribed first, compared after: a publish that this comparison does not see took the
        // map's lock after the subscription, so it signals this watcher.
        let missed = self.mark() != since;
        OrderWatch {
            hub: self.clone(),
            order,
            rx: Some(rx),
            closing: self.0.closing.subscribe(),
            pending: missed,
        }
    }

    /// How many orders are watched now.
    #[must_use]
    pub fn watched_orders(&self) -> usize {
        self.watched().len()
    }

    fn watched(&self) -> MutexGuard<'_, HashMap<OrderId, watch::Sender<()>>> {
        // The map stays consistent whatever a panicking holder did: every operation on it is one
        // insert, lookup or remove.
        self.0
            .watched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One watcher of one order. Dropping it unsubscribes; the last one removes the order's channel.
#[derive(Debug)]
pub struct OrderWatch {
    hub: OrderChanges,
    order: OrderId,
    /// Always `Some` until dropped (taken in `drop` to count the receivers left).
    rx: Option<watch::Receiver<()>>,
    closing: watch::Receiver<bool>,
    /// A signal may have gone by before the subscription (see [`OrderChanges::watch`]).
    pending: bool,
}

impl OrderWatch {
    /// Resolves at the next signal for this order (or at once if one came since the last call),
    /// or when the hub closes.
    pub async fn changed(&mut self) -> Signal {
        if *self.closing.borrow() {
            return Signal::Closing;
        }
        if std::mem::take(&mut self.pending) {
            return Signal::Changed;
        }
        let Some(rx) = self.rx.as_mut() else {
            return Signal::Closing;
        };
        tokio::select! {
            changed = rx.changed() => match changed {
                Ok(()) => Signal::Changed,
                // The sender lives in the hub's map while this receiver does; gone means the hub
                // itself is gone, which is the process ending.
                Err(_) => Signal::Closing,
            },
            _ = self.closing.wait_for(|closing| *closing) => Signal::Closing,
        }
    }
}

impl Drop for OrderWatch {
    fn drop(&mut self) {
        let mut watched = self.hub.watched();
        drop(self.rx.take());
        // Under the lock, so a watcher subscribing now either finds the channel before this
        // check (and keeps it alive) or after its removal (and creates a new one).
        if watched
            .get(&self.order)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            watched.remove(&self.order);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn id(n: i64) -> OrderId {
        OrderId::from_i64(n)
    }

    async fn soon(watch: &mut OrderWatch) -> Option<Signal> {
        tokio::time::timeout(Duration::from_millis(50), watch.changed())
            .await
            .ok()
    }

    #[tokio::test]
    async fn a_watcher_is_woken_by_its_order_only() {
        let hub = OrderChanges::new();
        let mut one = hub.watch(id(1), hub.mark());
        let mut two = hub.watch(id(2), hub.mark());
        hub.publish(id(1));
        assert_eq!(soon(&mut one).await, Some(Signal::Changed));
        assert_eq!(soon(&mut two).await, None);
        // Nothing new since: no second wake.
        assert_eq!(soon(&mut one).await, None);
    }

    #[tokio::test]
    async fn signals_that_come_faster_than_a_watcher_reads_coalesce_and_are_never_lost() {
        let hub = OrderChanges::new();
        let mut w = hub.watch(id(1), hub.mark());
        hub.publish(id(1));
        hub.publish(id(1));
        hub.publish(id(1));
        assert_eq!(soon(&mut w).await, Some(Signal::Changed));
        assert_eq!(soon(&mut w).await, None);
    }

    #[tokio::test]
    async fn a_publish_between_reading_the_order_and_watching_it_is_not_missed() {
        let hub = OrderChanges::new();
        let mark = hub.mark();
        // The order is read here, then changed and published by someone else…
        hub.publish(id(1));
        let mut w = hub.watch(id(1), mark);
        assert_eq!(soon(&mut w).await, Some(Signal::Changed));
        // …while a watcher that started after it is not woken for it.
        let mut later = hub.watch(id(1), hub.mark());
        assert_eq!(soon(&mut later).await, None);
    }

    #[tokio::test]
    async fn publish_all_wakes_every_watcher_once() {
        let hub = OrderChanges::new();
        let mut watches: Vec<_> = (0..5).map(|n| hub.watch(id(n), hub.mark())).collect();
        hub.publish_all();
        for w in &mut watches {
            assert_eq!(soon(w).await, Some(Signal::Changed));
            assert_eq!(soon(w).await, None);
        }
    }

    #[tokio::test]
    async fn closing_ends_every_watch() {
        let hub = OrderChanges::new();
        let mut w = hub.watch(id(1), hub.mark());
        hub.close();
        assert_eq!(soon(&mut w).await, Some(Signal::Closing));
        let mut late = hub.watch(id(2), hub.mark());
        assert_eq!(soon(&mut late).await, Some(Signal::Closing));
    }

    #[tokio::test]
    async fn an_order_is_forgotten_with_its_last_watcher() {
        let hub = OrderChanges::new();
        let a = hub.watch(id(1), hub.mark());
        let b = hub.watch(id(1), hub.mark());
        assert_eq!(hub.watched_orders(), 1);
        drop(a);
        assert_eq!(hub.watched_orders(), 1);
        drop(b);
        assert_eq!(hub.watched_orders(), 0);
        // Publishing to an order nobody watches does nothing, and creates nothing.
        hub.publish(id(1));
        assert_eq!(hub.watched_orders(), 0);
    }
}

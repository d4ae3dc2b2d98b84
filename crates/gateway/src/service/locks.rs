//! Serialises the upstream work on one order within this process.
//!
//! Correctness does not depend on it: the channel call is idempotent and status changes are
//! compare-and-set, so two nodes racing on one order still end with one upstream order. The lock
//! only spares the channel 49 redundant calls when 50 identical requests arrive at one node at once.

use tokio::sync::{Mutex, MutexGuard};

use crate::domain::OrderId;

/// A fixed set of stripes, so there is nothing to clean up; unrelated orders sharing a stripe only
/// wait for each other's upstream call, which is rare and harmless.
pub(super) struct OrderLocks {
    stripes: Vec<Mutex<()>>,
}

impl OrderLocks {
    // Held across the upstream call (up to its timeout): enough stripes that unrelated orders
    // rarely queue behind a slow one.
    const STRIPES: usize = 1024;

    pub(super) async fn lock(&self, order: OrderId) -> MutexGuard<'_, ()> {
        let n = self.stripes.len() as u64;
        let index = order.as_i64().unsigned_abs() % n;
        // `index < n`, so it fits and is in range.
        let stripe = usize::try_from(index).unwrap_or(0);
        match self.stripes.get(stripe) {
            Some(m) => m.lock().await,
            None => self.stripes[0].lock().await,
        }
    }
}

impl Default for OrderLocks {
    fn default() -> Self {
        Self {
            stripes: (0..Self::STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

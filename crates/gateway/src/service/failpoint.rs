//! Test hooks: points where a create or a refund can be made to stop, so that a test can kill
//! paygate there.
//!
//! They exist only with the gateway's `failpoints` feature, which no build of the binary turns on.
//! The crates' dev-dependencies do (the gateway's on itself, `paygate`'s on the gateway), and with
//! resolver 2+ dev-dependency features only count when test targets are built: `cargo test` builds
//! the library, and the `paygate` binary the tests spawn, with failpoints; `cargo build` and
//! `cargo build --release` build them without. There, [`Failpoint`] has no value, so
//! `Option<Failpoint>` can only be `None`, nothing reads `PAYGATE_FAILPOINT`, and no create can hang.

/// A point where a create or a refund stops when told to.
#[cfg(feature = "failpoints")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// After the channel accepted an order and before paygate records it, wait forever: the crash
    /// test SIGKILLs the process there.
    HangAfterUpstreamCreate,
    /// After a refund was stored and its amount reserved, before the channel hears of it.
    HangAfterRefundReserved,
    /// After the channel answered a refund call, before paygate records the answer.
    HangAfterUpstreamRefund,
}

/// Without the `failpoints` feature there is no failpoint to set.
#[cfg(not(feature = "failpoints"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {}

impl Failpoint {
    /// The failpoint named by `PAYGATE_FAILPOINT`, read once at start-up (never per request). An
    /// unknown name is ignored (and logged), so a typo cannot turn a node into a hanging one.
    #[cfg(feature = "failpoints")]
    #[must_use]
    pub fn from_env() -> Option<Self> {
        let name = std::env::var("PAYGATE_FAILPOINT").ok()?;
        match name.as_str() {
            "hang_after_upstream_create" => Some(Self::HangAfterUpstreamCreate),
            "hang_after_refund_reserved" => Some(Self::HangAfterRefundReserved),
            "hang_after_upstream_refund" => Some(Self::HangAfterUpstreamRefund),
            "" => None,
            other => {
                tracing::warn!(failpoint = other, "unknown PAYGATE_FAILPOINT ignored");
                None
            }
        }
    }

    /// None: this build has no failpoints, and reads no environment variable for them.
    #[cfg(not(feature = "failpoints"))]
    #[must_use]
    pub fn from_env() -> Option<Self> {
        None
    }
}

#[cfg(feature = "failpoints")]
impl super::OrderService {
    /// Hangs forever when `point` is the failpoint this process was started with.
    pub(super) async fn hang_at(&self, point: Failpoint) {
        if self.settings.failpoint == Some(point) {
            tracing::warn!(failpoint = ?point, "failpoint: hanging");
            std::future::pending::<()>().await;
        }
    }
}

//! Reconciliation: each day's channel bill set against paygate's orders and refunds, so that every
//! fen is accounted for. A channel's bill is read into channel-neutral lines (`bill.rs`); each
//! line is matched against what paygate recorded by pure decision functions (`matching.rs`); a run
//! of a day (`run.rs`) acts on the verdicts and records what it found.

pub mod alipay;
pub mod bill;
pub mod job;
pub mod matching;
pub mod run;
mod stream;
pub mod wechat;

pub use bill::{BillPayment, BillRefund};
pub use job::{ReconcileJob, ReconcileSettings};
pub use matching::{
    PaymentVerdict, RefundVerdict, UnbilledVerdict, match_payment, match_refund, unbilled_payment,
};
pub use run::{BillChunk, BillError, BillLine, ReconcileError, Reconciler, RunSummary};

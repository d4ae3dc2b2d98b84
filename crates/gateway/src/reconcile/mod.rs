//! Reconciliation: each day's channel bill set against paygate's orders and refunds, so that every
//! fen is accounted for. A channel's trade bill is read into channel-neutral lines (`bill.rs`);
//! each line is matched against what paygate recorded by pure decision functions (`matching.rs`);
//! a run of a day (`run.rs`) acts on the verdicts and records what it found. The day's account
//! bill is read into movements of the balance and set against the money the trade bill's lines
//! moved (`funds.rs`). Each channel has an adapter per bill: `wechat.rs` and `wechat_funds.rs`,
//! `alipay.rs` and `alipay_funds.rs`.

pub mod alipay;
pub mod alipay_funds;
pub mod bill;
pub mod funds;
pub mod job;
pub mod matching;
pub mod run;
mod stream;
pub mod wechat;
pub mod wechat_funds;

pub use bill::{BillPayment, BillRefund};
pub use funds::{FundsChunk, FundsMovement, MovementKind, MovementTotals};
pub use job::{ReconcileJob, ReconcileSettings};
pub use matching::{
    PaymentVerdict, RefundVerdict, UnbilledVerdict, match_payment, match_refund, unbilled_payment,
};
pub use run::{BillChunk, BillError, BillLine, ReconcileError, Reconciler, RunSummary};

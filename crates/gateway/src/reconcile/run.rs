//! One run of one day of one channel account: the bill's lines, a batch at a time, matched against
//! paygate's records; each line that does not match recorded with what was done about it; then the
//! payments and refunds paygate recorded on the day that the bill did not list, each checked with
//! the channel; last, the day's account bill, set against the money the trade bill's lines moved
//! (`funds.rs`).
//!
//! Nothing is changed on the bill's word alone. A payment or refund the bill has and paygate lacks
//! is confirmed by asking the channel, then recorded through the path all upstream news takes
//! (`OrderService::apply_upstream`, `apply_refund_state`), which notifies the site; everything else
//! is an anomaly for a person. A run is repeatable: a second run of the day records no line twice,
//! repairs nothing twice (the first repair made the line match) and notifies nobody twice.

use std::collections::HashSet;

use tokio::sync::mpsc;

use crate::domain::{
    AnomalyKind, BillDay, BillTotals, Channel, Discrepancy, DiscrepancyKind, FundsTotals, OrderId,
    OrderStatus, Resolution, Timestamp, UpstreamOrderNo, UpstreamRefundNo,
};
use crate::service::{Applied, OrderService, RefundApplied, ResultSource, ServiceError};
use crate::store::{LOOKUP_BATCH, NewDiscrepancy, Store, SucceededRefund};

use super::bill::{BillPayment, BillRefund};
use super::funds::{FundsCheck, FundsChunk, MovementTotals, Named, account_bill};
use super::matching::{
    PaymentVerdict, RefundVerdict, UnbilledVerdict, match_payment, match_refund, unbilled_payment,
    unbilled_refund,
};

/// One line of a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillLine {
    Payment(BillPayment),
    Refund(BillRefund),
    /// A refund the channel accepted on the day, and so took from the balance, that had not
    /// reached the payer when the bill was made (still processing, or closed or abnormal since).
    /// Its outcome is the refund checks' business: it is set only against the account bill.
    RefundAccepted(BillRefund),
}

impl BillLine {
    /// Adds the line to what a bill adds up to.
    pub fn add_to(&self, t: &mut BillTotals) {
        match self {
            Self::Payment(p) => {
                t.payments += 1;
                t.payments_fen += p.amount_fen;
                t.fees_fen += p.fee_fen;
            }
            Self::Refund(r) => {
                t.refunds += 1;
                t.refunds_fen += r.amount_fen;
                t.fees_fen -= r.fee_returned_fen;
            }
            // Not a refund that reached the payer: the trade bill's totals leave it out.
            Self::RefundAccepted(_) => {}
        }
    }
}

/// What a channel adapter sends while it reads a bill: how many lines it holds when the bill says
/// so up front, its lines in batches, then what the bill's own summary says it adds up to. A
/// stream that ends without the summary was cut short.
#[derive(Debug)]
pub enum BillChunk {
    Total(i64),
    Lines(Vec<BillLine>),
    Summary(BillTotals),
}

/// A run records how far it has read every this many lines (for `paygate reconcile` to show):
/// a write per few batches, never one per line.
const PROGRESS_EVERY: i64 = 5_000;

/// Why a day could not be reconciled (now: a later run tries again).
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    /// The channel has not published the day's bill yet.
    #[error("the bill of {0} is not available yet")]
    NotYetAvailable(BillDay),
    /// The file is not the bill it should be: corrupt, truncated, a hash that does not match, a
    /// summary that does not add up.
    #[error("the bill is unusable: {0}")]
    Unusable(String),
    /// The channel could not be reached or refused the request.
    #[error("the channel: {0}")]
    Channel(String),
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Bill(#[from] BillError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for ReconcileError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Service(ServiceError::Store(e))
    }
}

/// What a run found, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub totals: BillTotals,
    pub matched: i64,
    /// Discrepancies this run recorded (not those an earlier run of the day had).
    pub new_discrepancies: i64,
    /// What the account bill says moved.
    pub funds: FundsTotals,
}

/// Runs days against bills.
#[derive(Clone)]
pub struct Reconciler {
    store: Store,
    orders: OrderService,
}

/// One account's day being run.
struct Day<'a> {
    reconciler: &'a Reconciler,
    id: i64,
    channel: Channel,
    day: BillDay,
    /// Orders the bill named, whatever became of them: the rest of the day's payments are
    /// unbilled.
    seen: HashSet<OrderId>,
    /// Refunds the bill named, likewise.
    seen_refunds: HashSet<i64>,
    /// What the trade bill's lines moved, for the account bill to be set against.
    funds: FundsCheck,
    summary: RunSummary,
}

impl Reconciler {
    #[must_use]
    pub fn new(store: Store, orders: OrderService) -> Self {
        Self { store, orders }
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs `day` of `channel`'s `account` over the trade bill `bill` streams, then over the
    /// account bill `funds` opens once the trade bill is done. The run's row says `complete` only
    /// when both bills were read whole and each one's summary agreed with its lines; otherwise
    /// `failed`, with why, and the error is returned so the caller tries again later.
    ///
    /// # Errors
    /// `Bill` for a bill that could not be read whole; `Service` when paygate's own database
    /// failed.
    pub async fn run(
        &self,
        channel: Channel,
        account: &str,
        day: BillDay,
        bill: Result<mpsc::Receiver<Result<BillChunk, BillError>>, BillError>,
        funds: impl Future<Output = Result<mpsc::Receiver<Result<FundsChunk, BillError>>, BillError>>
        + Send,
    ) -> Result<RunSummary, ReconcileError> {
        let id = self
            .store
            .start_reconciliation(channel, account, day, Timestamp::now())
            .await?;
        let mut run = Day {
            reconciler: self,
            id,
            channel,
            day,
            seen: HashSet::new(),
            seen_refunds: HashSet::new(),
            funds: FundsCheck::default(),
            summary: RunSummary::default(),
        };
        let outcome: Result<(), ReconcileError> = async {
            run.read(bill?).await?;
            run.unbilled().await?;
            run.unbilled_refunds().await?;
            run.read_funds(funds.await.map_err(account_bill)?).await
        }
        .await;
        let now = Timestamp::now();
        match outcome {
            Ok(()) => {
                self.store
                    .finish_reconciliation(id, Ok((&run.summary.totals, run.summary.matched)), now)
                    .await?;
                Ok(run.summary)
            }
            Err(e) => {
                self.store
                    .finish_reconciliation(id, Err(&e.to_string()), now)
                    .await?;
                Err(e)
            }
        }
    }
}

impl Day<'_> {
    async fn read(
        &mut self,
        mut bill: mpsc::Receiver<Result<BillChunk, BillError>>,
    ) -> Result<(), ReconcileError> {
        let mut counted = BillTotals::default();
        let (mut total, mut recorded) = (None, 0);
        while let Some(chunk) = bill.recv().await {
            match chunk? {
                BillChunk::Total(lines) => total = Some(lines),
                BillChunk::Lines(lines) => {
                    for batch in lines.chunks(LOOKUP_BATCH) {
                        self.batch(batch, &mut counted).await?;
                    }
                    let read = counted.payments + counted.refunds;
                    if read - recorded >= PROGRESS_EVERY {
                        recorded = read;
                        self.reconciler
                            .store
                            .record_reconciliation_progress(self.id, read, total)
                            .await?;
                    }
                }
                BillChunk::Summary(stated) => {
                    if stated != counted {
                        return Err(BillError::Unusable(format!(
                            "its summary ({stated:?}) does not add up to its lines ({counted:?})"
                        ))
                        .into());
                    }
                    self.summary.totals = counted;
                    return Ok(());
                }
            }
        }
        Err(BillError::Unusable("it ends before its summary".to_owned()).into())
    }

    async fn batch(
        &mut self,
        lines: &[BillLine],
        counted: &mut BillTotals,
    ) -> Result<(), ReconcileError> {
        let store = &self.reconciler.store;
        let mut payment_nos = Vec::new();
        let mut refund_nos = Vec::new();
        for line in lines {
            match line {
                BillLine::Payment(p) => payment_nos.push(p.upstream_order_no.clone()),
                BillLine::Refund(r) | BillLine::RefundAccepted(r) => {
                    refund_nos.push(r.upstream_refund_no.clone());
                }
            }
        }
        let payments = store.our_payments(self.channel, &payment_nos).await?;
        let refunds = store.our_refunds(self.channel, &refund_nos).await?;
        for line in lines {
            self.funds.expect(line, &payments, &refunds);
        }
        // The fees of paygate's own payments and refunds, for its sites' statements.
        let mut payment_fees = Vec::new();
        let mut refund_fees = Vec::new();
        for line in lines {
            line.add_to(counted);
            match line {
                BillLine::Payment(p) => {
                    let ours = payments.get(&p.upstream_order_no);
                    if let Some(ours) = ours {
                        self.seen.insert(ours.order_id);
                    }
                    let verdict = match_payment(p, ours);
                    if let (
                        Some(ours),
                        PaymentVerdict::Matched | PaymentVerdict::PaidUpstreamOnly,
                    ) = (ours, &verdict)
                    {
                        payment_fees.push((ours.order_id, p.fee_fen));
                    }
                    self.payment(
                        p,
                        ours.map(|o| o.order_id),
                        ours.map(|o| o.amount_fen),
                        verdict,
                    )
                    .await?;
                }
                BillLine::Refund(r) => {
                    let ours = refunds.get(&r.upstream_refund_no);
                    if let Some(ours) = ours {
                        self.seen_refunds.insert(ours.refund_id);
                    }
                    let verdict = match_refund(r, ours);
                    if let (
                        Some(ours),
                        RefundVerdict::Matched | RefundVerdict::SucceededUpstreamOnly,
                    ) = (ours, &verdict)
                    {
                        refund_fees.push((ours.refund_id, r.fee_returned_fen));
                    }
                    self.refund(
                        r,
                        ours.map(|o| (o.order_id, o.refund_id, o.amount_fen)),
                        verdict,
                    )
                    .await?;
                }
                // Listed on its day's bill all the same: not one the bill lacks.
                BillLine::RefundAccepted(r) => {
                    if let Some(ours) = refunds.get(&r.upstream_refund_no) {
                        self.seen_refunds.insert(ours.refund_id);
                    }
                }
            }
        }
        store
            .record_billed_fees(&payment_fees, &refund_fees)
            .await?;
        Ok(())
    }

    async fn payment(
        &mut self,
        line: &BillPayment,
        order: Option<OrderId>,
        ours_fen: Option<i64>,
        verdict: PaymentVerdict,
    ) -> Result<(), ReconcileError> {
        let no = &line.upstream_order_no;
        let (kind, resolution, detail) = match verdict {
            PaymentVerdict::Matched => {
                self.summary.matched += 1;
                return Ok(());
            }
            PaymentVerdict::NotOurs => (
                DiscrepancyKind::NotOurs,
                Resolution::Listed,
                format!(
                    "{} fen paid, transaction {}: not an order of paygate",
                    line.amount_fen, line.transaction_id
                ),
            ),
            PaymentVerdict::AmountMismatch {
                ours_fen,
                billed_fen,
            } => (
                DiscrepancyKind::AmountMismatch,
                Resolution::Anomaly,
                format!(
                    "billed {billed_fen} fen paid for an order of {ours_fen} fen, transaction {}",
                    line.transaction_id
                ),
            ),
            PaymentVerdict::OtherPayment => (
                DiscrepancyKind::OtherPayment,
                Resolution::Anomaly,
                format!(
                    "billed paid by transaction {}; paygate has the order paid by another transaction or upstream order",
                    line.transaction_id
                ),
            ),
            PaymentVerdict::PaidUpstreamOnly => {
                let (resolution, detail) = self.repair_payment(no).await?;
                (DiscrepancyKind::PaidUpstreamOnly, resolution, detail)
            }
        };
        let discrepancy = Discrepancy {
            kind,
            upstream_no: no.clone(),
            order_id: order,
            refund_id: None,
            billed_fen: Some(line.amount_fen),
            ours_fen,
            resolution,
            detail,
            at: Timestamp::now(),
        };
        self.record(discrepancy).await
    }

    /// Asks the channel about a payment the bill has and paygate lacks, and records its answer
    /// through the upstream-news path.
    async fn repair_payment(&self, no: &str) -> Result<(Resolution, String), ReconcileError> {
        let orders = &self.reconciler.orders;
        let Ok(number) = UpstreamOrderNo::parse(no) else {
            return Ok((
                Resolution::Anomaly,
                format!("{no} is not a number paygate uses"),
            ));
        };
        let Some(order) = orders.order_by_upstream_no(&number).await? else {
            return Ok((Resolution::Retry, format!("order {no} was not found again")));
        };
        let status = match orders.query_channel(&order).await {
            Ok(status) => status,
            Err(e) => {
                return Ok((
                    Resolution::Retry,
                    format!("the channel could not be asked: {e}"),
                ));
            }
        };
        Ok(
            match orders
                .apply_upstream(&order, &status, ResultSource::Reconciliation)
                .await?
            {
                Applied::Changed(now) if now.status == OrderStatus::Paid => (
                    Resolution::Repaired,
                    format!(
                        "confirmed by the channel and recorded paid (was {}); the site is notified",
                        order.status.as_str()
                    ),
                ),
                Applied::Unchanged(now)
                    if now.status == OrderStatus::Paid || now.status == OrderStatus::Refunded =>
                {
                    (Resolution::Repaired, "recorded paid meanwhile".to_owned())
                }
                Applied::Changed(now) | Applied::Unchanged(now) => (
                    Resolution::Anomaly,
                    format!(
                        "the channel answers {status:?}; the order stays {}",
                        now.status.as_str()
                    ),
                ),
                Applied::Refused(kind) => (
                    Resolution::Anomaly,
                    format!("the channel's answer was refused as {}", kind.as_str()),
                ),
            },
        )
    }

    async fn refund(
        &mut self,
        line: &BillRefund,
        ours: Option<(OrderId, i64, i64)>,
        verdict: RefundVerdict,
    ) -> Result<(), ReconcileError> {
        let (kind, resolution, detail) = match verdict {
            RefundVerdict::Matched => {
                self.summary.matched += 1;
                return Ok(());
            }
            RefundVerdict::NotOurs => (
                DiscrepancyKind::RefundNotOurs,
                Resolution::Listed,
                format!(
                    "{} fen refunded of {}: not a refund of paygate",
                    line.amount_fen, line.upstream_order_no
                ),
            ),
            RefundVerdict::AmountMismatch {
                ours_fen,
                billed_fen,
            } => (
                DiscrepancyKind::RefundAmountMismatch,
                Resolution::Anomaly,
                format!("billed {billed_fen} fen refunded for a refund of {ours_fen} fen"),
            ),
            RefundVerdict::OutcomeMismatch { ours } => (
                DiscrepancyKind::RefundOutcomeMismatch,
                Resolution::Anomaly,
                format!(
                    "billed as refunded; paygate has the refund {}",
                    ours.as_str()
                ),
            ),
            RefundVerdict::SucceededUpstreamOnly => {
                let (resolution, detail) = self.repair_refund(&line.upstream_refund_no).await?;
                (
                    DiscrepancyKind::RefundSucceededUpstreamOnly,
                    resolution,
                    detail,
                )
            }
        };
        let discrepancy = Discrepancy {
            kind,
            upstream_no: line.upstream_refund_no.clone(),
            order_id: ours.map(|(order, _, _)| order),
            refund_id: ours.map(|(_, refund, _)| refund),
            billed_fen: Some(line.amount_fen),
            ours_fen: ours.map(|(_, _, fen)| fen),
            resolution,
            detail,
            at: Timestamp::now(),
        };
        self.record(discrepancy).await
    }

    /// Asks the channel about a refund the bill has as paid out and paygate still processes, and
    /// records its answer through the refund-news path.
    async fn repair_refund(&self, no: &str) -> Result<(Resolution, String), ReconcileError> {
        let orders = &self.reconciler.orders;
        let Ok(number) = UpstreamRefundNo::parse(no) else {
            return Ok((
                Resolution::Anomaly,
                format!("{no} is not a number paygate uses"),
            ));
        };
        let Some(refund) = orders.refund_by_upstream_no(&number).await? else {
            return Ok((
                Resolution::Retry,
                format!("refund {no} was not found again"),
            ));
        };
        let Some(order) = orders.order_by_id(refund.order_id).await? else {
            return Ok((
                Resolution::Retry,
                format!("the order of refund {no} was not found"),
            ));
        };
        let state = match orders.query_refund_channel(&order, &refund).await {
            Ok(state) => state,
            Err(e) => {
                return Ok((
                    Resolution::Retry,
                    format!("the channel could not be asked: {e}"),
                ));
            }
        };
        Ok(match orders.apply_refund_state(&refund, &state).await? {
            RefundApplied::Ended(now) | RefundApplied::Unchanged(now)
                if now.status == crate::domain::RefundStatus::Succeeded =>
            {
                (
                    Resolution::Repaired,
                    "confirmed by the channel and recorded succeeded; the site is notified"
                        .to_owned(),
                )
            }
            RefundApplied::Ended(now) | RefundApplied::Unchanged(now) => (
                Resolution::Anomaly,
                format!(
                    "the channel answers {state:?}; the refund stays {}",
                    now.status.as_str()
                ),
            ),
        })
    }

    /// The payments paygate recorded on the day that the bill did not name.
    async fn unbilled(&mut self) -> Result<(), ReconcileError> {
        let (from, to) = self.day.bounds();
        let mut after = None;
        loop {
            let page = self
                .reconciler
                .store
                .paid_orders_between(self.channel, from, to, after, 500)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.order_id);
            for paid in page {
                if self.seen.contains(&paid.order_id) {
                    continue;
                }
                let Some((kind, resolution, detail)) = self.unbilled_payment(paid.order_id).await?
                else {
                    continue;
                };
                let discrepancy = Discrepancy {
                    kind,
                    upstream_no: paid.upstream_order_no,
                    order_id: Some(paid.order_id),
                    refund_id: None,
                    billed_fen: None,
                    ours_fen: Some(paid.amount_fen),
                    resolution,
                    detail,
                    at: Timestamp::now(),
                };
                self.record(discrepancy).await?;
            }
        }
    }

    async fn unbilled_payment(&self, order: OrderId) -> Result<Option<Unbilled>, ReconcileError> {
        let orders = &self.reconciler.orders;
        let Some(order) = orders.order_by_id(order).await? else {
            return Ok(None);
        };
        let asked = match orders.query_channel(&order).await {
            Ok(asked) => asked,
            Err(e) => return Ok(Some(not_asked(DiscrepancyKind::PaidHereOnly, &e))),
        };
        Ok(unbilled(
            unbilled_payment(self.day, &asked),
            (
                DiscrepancyKind::MissingFromBill,
                DiscrepancyKind::PaidHereOnly,
            ),
            "paid in paygate",
            &asked,
        ))
    }

    /// The refunds paygate recorded as paid out on the day that the bill did not name.
    async fn unbilled_refunds(&mut self) -> Result<(), ReconcileError> {
        let (from, to) = self.day.bounds();
        let mut after = None;
        loop {
            let page = self
                .reconciler
                .store
                .succeeded_refunds_between(self.channel, from, to, after, 500)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.refund_id);
            for refund in page {
                if self.seen_refunds.contains(&refund.refund_id) {
                    continue;
                }
                let Some((kind, resolution, detail)) = self.unbilled_refund(&refund).await? else {
                    continue;
                };
                let discrepancy = Discrepancy {
                    kind,
                    upstream_no: refund.upstream_refund_no,
                    order_id: Some(refund.order_id),
                    refund_id: Some(refund.refund_id),
                    billed_fen: None,
                    ours_fen: Some(refund.amount_fen),
                    resolution,
                    detail,
                    at: Timestamp::now(),
                };
                self.record(discrepancy).await?;
            }
        }
    }

    async fn unbilled_refund(
        &self,
        refund: &SucceededRefund,
    ) -> Result<Option<Unbilled>, ReconcileError> {
        let orders = &self.reconciler.orders;
        let (Some(stored), Some(order)) = (
            orders.refund_by_id(refund.refund_id).await?,
            orders.order_by_id(refund.order_id).await?,
        ) else {
            return Ok(None);
        };
        let asked = match orders.query_refund_channel(&order, &stored).await {
            Ok(asked) => asked,
            Err(e) => return Ok(Some(not_asked(DiscrepancyKind::RefundHereOnly, &e))),
        };
        Ok(unbilled(
            unbilled_refund(self.day, &asked),
            (
                DiscrepancyKind::RefundMissingFromBill,
                DiscrepancyKind::RefundHereOnly,
            ),
            "paid out in paygate",
            &asked,
        ))
    }

    /// Sets the account bill's movements against what the trade bill's lines moved, once the
    /// whole account bill was read and its summary agreed with its movements; records each
    /// disagreement and the account bill's figures.
    async fn read_funds(
        &mut self,
        mut bill: mpsc::Receiver<Result<FundsChunk, BillError>>,
    ) -> Result<(), ReconcileError> {
        let mut counted = MovementTotals::default();
        while let Some(chunk) = bill.recv().await {
            match chunk.map_err(account_bill)? {
                FundsChunk::Movements(movements) => {
                    for m in &movements {
                        m.add_to(&mut counted);
                        self.funds.moved(m);
                    }
                }
                FundsChunk::Summary(stated) => {
                    if stated != counted {
                        return Err(BillError::Unusable(format!(
                            "the account bill's summary ({stated:?}) does not add up to its \
                             movements ({counted:?})"
                        ))
                        .into());
                    }
                    let found = std::mem::take(&mut self.funds).finish(counted);
                    for mismatch in found.mismatches {
                        let upstream_no = match &mismatch.named {
                            Named::No(no) => no.clone(),
                            Named::Order(order) => self.order_no(*order).await?,
                        };
                        self.record(mismatch.discrepancy(&upstream_no)).await?;
                    }
                    self.summary.funds = found.totals;
                    self.reconciler
                        .store
                        .record_funds(self.id, &found.totals)
                        .await?;
                    return Ok(());
                }
            }
        }
        Err(BillError::Unusable("the account bill ends before its summary".to_owned()).into())
    }

    /// The upstream number of `order`, which names a disagreement about its payment.
    async fn order_no(&self, order: OrderId) -> Result<String, ReconcileError> {
        let found = self.reconciler.orders.order_by_id(order).await?;
        Ok(found.map_or_else(
            || format!("order {}", order.as_i64()),
            |o| o.upstream_order_no.as_str().to_owned(),
        ))
    }

    /// Records a discrepancy, and, the first time it is left to a person, its anomaly.
    async fn record(&mut self, discrepancy: Discrepancy) -> Result<(), ReconcileError> {
        let new = self
            .reconciler
            .store
            .record_discrepancy(&NewDiscrepancy {
                reconciliation_id: self.id,
                discrepancy: discrepancy.clone(),
            })
            .await?;
        if !new {
            return Ok(());
        }
        self.summary.new_discrepancies += 1;
        // A repair the upstream-news path declined has its anomaly from that path already (a
        // payment of an order paygate closed, an amount it refused).
        let reported = discrepancy.kind == DiscrepancyKind::PaidUpstreamOnly;
        if discrepancy.resolution == Resolution::Anomaly && !reported {
            let kind = match discrepancy.kind {
                DiscrepancyKind::AmountMismatch => AnomalyKind::AmountMismatch,
                DiscrepancyKind::RefundOutcomeMismatch => AnomalyKind::RefundOutcomeMismatch,
                _ => AnomalyKind::BillMismatch,
            };
            let detail = format!(
                "{} bill of {}: {} {}: {}",
                self.channel.as_str(),
                self.day,
                discrepancy.kind.as_str(),
                discrepancy.upstream_no,
                discrepancy.detail
            );
            let key = format!(
                "{}:reconcile:{}:{}:{}",
                kind.as_str(),
                self.day,
                discrepancy.kind.as_str(),
                discrepancy.upstream_no
            );
            self.reconciler
                .orders
                .report_counted_anomaly(kind, self.channel, discrepancy.order_id, key, detail)
                .await;
        }
        Ok(())
    }
}

/// What a payment or refund paygate has and its bill lacks is: its kind, what was done, why.
type Unbilled = (DiscrepancyKind, Resolution, String);

/// The discrepancy of a line paygate has and its bill lacks, once the channel was asked: none
/// when the channel dates it on another day; `kinds.0` when the channel has it paid and the bill
/// still lacks it, `kinds.1` when the channel does not have it paid.
fn unbilled(
    verdict: UnbilledVerdict,
    kinds: (DiscrepancyKind, DiscrepancyKind),
    here: &str,
    asked: &dyn std::fmt::Debug,
) -> Option<Unbilled> {
    match verdict {
        UnbilledVerdict::BilledOnAnotherDay => None,
        UnbilledVerdict::MissingFromBill => Some((
            kinds.0,
            Resolution::Anomaly,
            format!("absent from the bill; the channel answers {asked:?}"),
        )),
        UnbilledVerdict::NotPaidUpstream => Some((
            kinds.1,
            Resolution::Anomaly,
            format!("{here}, absent from the bill; the channel answers {asked:?}"),
        )),
    }
}

/// A line paygate has and its bill lacks, which the channel could not be asked about: the next
/// run asks again.
fn not_asked(kind: DiscrepancyKind, error: &dyn std::fmt::Display) -> Unbilled {
    (
        kind,
        Resolution::Retry,
        format!("absent from the bill; the channel could not be asked: {error}"),
    )
}

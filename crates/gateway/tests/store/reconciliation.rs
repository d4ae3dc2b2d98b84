//! Reconciliation in the store: paygate's side of a bill's numbers, a day's payments page by
//! page, and a run's row and discrepancies, which a second run of the day does not duplicate.

#![allow(clippy::unwrap_used)] // test helpers: a failed set-up step is a failing test

use gateway::domain::{
    Amount, BillDay, BillTotals, Channel, Discrepancy, DiscrepancyKind, FundsTotals, Method,
    NewRefund, Order, OrderRequest, OrderStatus, OutRefundNo, PayMethod, Payer,
    ReconciliationStatus, RefundRequest, RefundStatus, Resolution, Site, Timestamp, UpstreamFields,
};
use gateway::store::{InsertOutcome, NewDiscrepancy, ReserveOutcome, Store, Transition};

use crate::on_both_backends;
use crate::support::{TestDb, insert, new_site, now, seed_request};

/// An order of `fen`, moved through `path` with the channel's transaction id on the last step.
async fn order(store: &Store, site: &Site, no: &str, fen: i64, path: &[OrderStatus]) -> Order {
    let request = OrderRequest {
        amount: Amount::parse(fen).unwrap(),
        ..seed_request(no)
    };
    let InsertOutcome::Inserted(mut order) = insert(store, site, request).await else {
        panic!("{no} existed");
    };
    for to in path {
        let t = Transition {
            order_id: order.id,
            from: order.status,
            to: *to,
            reason: "test".into(),
            upstream: UpstreamFields {
                transaction_id: (*to == OrderStatus::Paid).then(|| format!("4200{no}")),
                ..UpstreamFields::default()
            },
            at: now(),
        };
        order = store.transition(&t).await.unwrap().into_order();
    }
    order
}

fn discrepancy(kind: DiscrepancyKind, no: &str, resolution: Resolution) -> Discrepancy {
    Discrepancy {
        kind,
        upstream_no: no.to_owned(),
        order_id: None,
        refund_id: None,
        billed_fen: Some(100),
        ours_fen: None,
        resolution,
        detail: format!("{} {no}", resolution.as_str()),
        at: now(),
    }
}

on_both_backends! {
    async fn a_bills_numbers_find_paygates_orders_attempts_and_refunds_of_that_channel(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let paid = order(&db.store, &site, "o_paid", 1000, &[OrderStatus::Pending, OrderStatus::Paid]).await;
        let open = order(&db.store, &site, "o_open", 2990, &[OrderStatus::Pending]).await;
        let wechat = PayMethod::new(Channel::Wechat, Method::Jsapi).unwrap();
        let attempt = db.store.insert_pay_attempt(open.id, wechat, &Payer::default(), now()).await.unwrap();
        let numbers: Vec<String> = [
            paid.upstream_order_no.as_str(),
            open.upstream_order_no.as_str(),
            attempt.upstream_order_no.as_str(),
            "someone_elses",
        ]
        .map(str::to_owned)
        .to_vec();
        let found = db.store.our_payments(Channel::Wechat, &numbers).await.unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        let p = &found[paid.upstream_order_no.as_str()];
        assert_eq!((p.order_id, p.status, p.amount_fen), (paid.id, OrderStatus::Paid, 1000));
        assert_eq!(p.transaction_id.as_deref(), Some("4200o_paid"));
        assert!(p.paid_through_this && p.attempt.is_none());
        let o = &found[open.upstream_order_no.as_str()];
        assert_eq!((o.status, o.transaction_id.as_deref()), (OrderStatus::Pending, None));
        let a = &found[attempt.upstream_order_no.as_str()];
        assert_eq!((a.order_id, a.attempt), (open.id, Some(attempt.id)));
        assert!(!a.paid_through_this, "the order was not paid through this attempt");
        // Another channel's bill never names them.
        assert!(db.store.our_payments(Channel::Alipay, &numbers).await.unwrap().is_empty());
        assert!(db.store.our_payments(Channel::Wechat, &[]).await.unwrap().is_empty());

        let request = RefundRequest {
            out_refund_no: OutRefundNo::parse("r1").unwrap(),
            amount: Amount::parse(300).unwrap(),
            reason: None,
            notify_url: None,
        };
        let later = Timestamp::from_millis(now().as_millis() + 60_000);
        let ReserveOutcome::Reserved(refund) =
            db.store.reserve_refund(&NewRefund::prepare(&paid, request, now()), later).await.unwrap()
        else {
            panic!("refund not reserved");
        };
        let refund_numbers = vec![refund.upstream_refund_no.as_str().to_owned(), "nobody".to_owned()];
        let refunds = db.store.our_refunds(Channel::Wechat, &refund_numbers).await.unwrap();
        assert_eq!(refunds.len(), 1);
        let r = &refunds[refund.upstream_refund_no.as_str()];
        assert_eq!((r.refund_id, r.order_id, r.status, r.amount_fen), (refund.id, paid.id, RefundStatus::Processing, 300));
        assert!(db.store.our_refunds(Channel::Alipay, &refund_numbers).await.unwrap().is_empty());
    }

    async fn a_days_payments_come_page_by_page_within_the_day_and_channel(db: TestDb) {
        let site = new_site(&db.store, "shop").await;
        let mut paid = Vec::new();
        for i in 0..5 {
            paid.push(order(&db.store, &site, &format!("o_paid_{i}"), 100 + i, &[OrderStatus::Pending, OrderStatus::Paid]).await);
        }
        order(&db.store, &site, "o_open", 100, &[OrderStatus::Pending]).await;
        let day = BillDay::of(now());
        let (from, to) = day.bounds();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = db.store.paid_orders_between(Channel::Wechat, from, to, after, 2).await.unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|p| p.order_id);
            seen.extend(page);
        }
        let ids: Vec<_> = seen.iter().map(|p| p.order_id).collect();
        assert_eq!(ids, paid.iter().map(|o| o.id).collect::<Vec<_>>());
        assert_eq!(seen[4].amount_fen, 104);
        assert_eq!(seen[0].upstream_order_no, paid[0].upstream_order_no.as_str());
        let (yesterday, midnight) = day.previous().bounds();
        assert!(db.store.paid_orders_between(Channel::Wechat, yesterday, midnight, None, 10).await.unwrap().is_empty());
        assert!(db.store.paid_orders_between(Channel::Alipay, from, to, None, 10).await.unwrap().is_empty());
    }

    async fn a_day_run_again_keeps_what_was_done_and_retries_only_what_could_not_be(db: TestDb) {
        let day = BillDay::parse("2026-11-29").unwrap();
        let id = db.store.start_reconciliation(Channel::Wechat, "1900000001", day, now()).await.unwrap();
        let record = |kind, no, resolution| NewDiscrepancy {
            reconciliation_id: id,
            discrepancy: discrepancy(kind, no, resolution),
        };
        assert!(db.store.record_discrepancy(&record(DiscrepancyKind::PaidUpstreamOnly, "up_1", Resolution::Repaired)).await.unwrap());
        assert!(db.store.record_discrepancy(&record(DiscrepancyKind::PaidUpstreamOnly, "up_2", Resolution::Retry)).await.unwrap());
        assert!(db.store.record_discrepancy(&record(DiscrepancyKind::NotOurs, "other_1", Resolution::Listed)).await.unwrap());
        let totals = BillTotals { payments: 3, payments_fen: 300, refunds: 1, refunds_fen: 50, fees_fen: 2 };
        db.store.finish_reconciliation(id, Ok((&totals, 1)), now()).await.unwrap();

        // The same day again: the same row; the repaired line stays repaired (the second run
        // finds it matched and has nothing to add), the retried one gets its outcome.
        let again = db.store.start_reconciliation(Channel::Wechat, "1900000001", day, now()).await.unwrap();
        assert_eq!(again, id);
        let (running, _) = db.store.reconciliation(Channel::Wechat, "1900000001", day).await.unwrap().unwrap();
        assert_eq!(running.status, ReconciliationStatus::Running);
        assert!(!db.store.record_discrepancy(&record(DiscrepancyKind::PaidUpstreamOnly, "up_1", Resolution::Anomaly)).await.unwrap());
        assert!(db.store.record_discrepancy(&record(DiscrepancyKind::PaidUpstreamOnly, "up_2", Resolution::Repaired)).await.unwrap());
        assert!(!db.store.record_discrepancy(&record(DiscrepancyKind::NotOurs, "other_1", Resolution::Listed)).await.unwrap());
        db.store.finish_reconciliation(id, Ok((&totals, 1)), now()).await.unwrap();
        let (run, found) = db.store.reconciliation(Channel::Wechat, "1900000001", day).await.unwrap().unwrap();
        assert_eq!(run.status, ReconciliationStatus::Complete);
        assert_eq!((run.totals, run.matched, run.totals.net_fen()), (totals, 1, 248));
        let lines: Vec<_> = found.iter().map(|d| (d.kind, d.upstream_no.as_str(), d.resolution)).collect();
        assert_eq!(lines, [
            (DiscrepancyKind::NotOurs, "other_1", Resolution::Listed),
            (DiscrepancyKind::PaidUpstreamOnly, "up_1", Resolution::Repaired),
            (DiscrepancyKind::PaidUpstreamOnly, "up_2", Resolution::Repaired),
        ]);

        // A failed run says why and is not a report; the totals of the last complete run stay.
        db.store.start_reconciliation(Channel::Wechat, "1900000001", day, now()).await.unwrap();
        db.store.finish_reconciliation(id, Err("the bill's SHA1 does not match"), now()).await.unwrap();
        let (failed, _) = db.store.reconciliation(Channel::Wechat, "1900000001", day).await.unwrap().unwrap();
        assert_eq!(failed.status, ReconciliationStatus::Failed);
        assert_eq!(failed.error.as_deref(), Some("the bill's SHA1 does not match"));
        // Another account's, channel's or day's run is another row.
        assert!(db.store.reconciliation(Channel::Alipay, "1900000001", day).await.unwrap().is_none());
        assert!(db.store.reconciliation(Channel::Wechat, "1900000002", day).await.unwrap().is_none());
        assert!(db.store.reconciliation(Channel::Wechat, "1900000001", day.previous()).await.unwrap().is_none());
    }

    async fn an_account_bills_figures_are_kept_beside_the_trade_bills_totals(db: TestDb) {
        let day = BillDay::parse("2026-11-30").unwrap();
        let totals = BillTotals { payments: 2, payments_fen: 300, refunds: 1, refunds_fen: 50, fees_fen: 2 };
        // A report from before paygate read account bills has none.
        let id = db.store.start_reconciliation(Channel::Alipay, "2021000000000001", day, now()).await.unwrap();
        db.store.finish_reconciliation(id, Ok((&totals, 2)), now()).await.unwrap();
        let (run, _) = db.store.reconciliation(Channel::Alipay, "2021000000000001", day).await.unwrap().unwrap();
        assert_eq!(run.funds, None);

        let funds = FundsTotals { movements: 6, income_fen: 10_302, expense_fen: 10_052, payments_fen: 300, refunds_fen: 50, fees_fen: 2 };
        db.store.start_reconciliation(Channel::Alipay, "2021000000000001", day, now()).await.unwrap();
        db.store.record_funds(id, &funds).await.unwrap();
        db.store.finish_reconciliation(id, Ok((&totals, 2)), now()).await.unwrap();
        let (run, _) = db.store.reconciliation(Channel::Alipay, "2021000000000001", day).await.unwrap().unwrap();
        assert_eq!((run.status, run.funds), (ReconciliationStatus::Complete, Some(funds)));
        let f = run.funds.unwrap();
        assert_eq!((f.net_fen(), f.other_fen()), (250, 250 - 248));
        assert_eq!(db.count("SELECT funds_expense_fen FROM reconciliations").await, 10_052);
    }

    async fn a_running_day_records_how_far_it_has_read_and_a_new_run_starts_again_from_nothing(db: TestDb) {
        let day = BillDay::parse("2026-11-29").unwrap();
        let id = db.store.start_reconciliation(Channel::Alipay, "2021000000000001", day, now()).await.unwrap();
        let progress = |r: &gateway::domain::Reconciliation| (r.status, r.lines_read, r.lines_total);
        let runs = db.store.runs_of_day(day).await.unwrap();
        assert_eq!(runs.iter().map(progress).collect::<Vec<_>>(), [(ReconciliationStatus::Running, 0, None)]);
        // The total, once the bill has said it, stays when later records do not know it.
        db.store.record_reconciliation_progress(id, 5_000, Some(12_000)).await.unwrap();
        db.store.record_reconciliation_progress(id, 10_000, None).await.unwrap();
        let runs = db.store.runs_of_day(day).await.unwrap();
        assert_eq!(progress(&runs[0]), (ReconciliationStatus::Running, 10_000, Some(12_000)));
        // Complete: the bill's own count, read in full.
        let totals = BillTotals { payments: 11_000, payments_fen: 1_100_000, refunds: 1_000, refunds_fen: 50_000, fees_fen: 6_300 };
        db.store.finish_reconciliation(id, Ok((&totals, 11_990)), now()).await.unwrap();
        let (run, _) = db.store.reconciliation(Channel::Alipay, "2021000000000001", day).await.unwrap().unwrap();
        assert_eq!(progress(&run), (ReconciliationStatus::Complete, 12_000, Some(12_000)));
        // An ended run's progress is not written over; a new run of the day starts from nothing.
        db.store.record_reconciliation_progress(id, 3, Some(4)).await.unwrap();
        assert_eq!(progress(&db.store.runs_of_day(day).await.unwrap()[0]), (ReconciliationStatus::Complete, 12_000, Some(12_000)));
        db.store.start_reconciliation(Channel::Alipay, "2021000000000001", day, now()).await.unwrap();
        assert_eq!(progress(&db.store.runs_of_day(day).await.unwrap()[0]), (ReconciliationStatus::Running, 0, None));
        assert!(db.store.runs_of_day(day.previous()).await.unwrap().is_empty());
    }
}

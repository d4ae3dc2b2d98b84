//! A day reconciled end to end: a real paygate (SQLite and PostgreSQL) with the simulators as the
//! channels, a bill whose lines the test writes from what the simulator holds, and the run that
//! repairs what the channel confirms, lists others' trades, reports the rest, and does nothing a
//! second time. The account bills' check is in `funds.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod busy_day;
mod funds;

use std::time::Duration;

use gateway::channels::UpstreamStatus;
use gateway::domain::{
    BillDay, BillTotals, Channel, DiscrepancyKind, Order, OrderStatus, ReconciliationStatus,
    RefundStatus, Resolution, Site, Timestamp, UpstreamFields,
};
use gateway::reconcile::{
    BillChunk, BillError, BillLine, BillPayment, BillRefund, FundsChunk, FundsMovement,
    MovementKind, MovementTotals, ReconcileError, Reconciler,
};
use gateway::service::{OrderService, ServiceSettings};
use gateway::store::Transition;
use serde_json::json;
use tokio::sync::mpsc;

use support::app::TestApp;

const ACCOUNT: &str = "1900000001";

/// The fee the bill says the channel kept: 0.6 %, rounded to the fen.
fn fee(fen: i64) -> i64 {
    (fen * 6 + 500) / 1000
}

async fn created(app: &TestApp, site: &Site, no: &str, fen: i64) -> Order {
    let body = json!({"out_trade_no": no, "channel": "wechat", "method": "native",
        "description": "对账", "amount_total": fen});
    app.create_order_as(site, &body).await.assert_ok();
    app.stored(site, no).await
}

async fn until(app: &TestApp, site: &Site, no: &str, status: OrderStatus) -> Order {
    for _ in 0..200 {
        let order = app.stored(site, no).await;
        if order.status == status {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} never became {status:?}");
}

/// The line the channel's bill has for `order`, with the transaction paygate recorded or, for a
/// payment paygate missed, the one the simulator did.
async fn billed(app: &TestApp, order: &Order, fen: i64) -> BillLine {
    let transaction_id = match &order.upstream.transaction_id {
        Some(t) => t.clone(),
        None => match app.channels.query(order).await.unwrap() {
            UpstreamStatus::Paid { transaction_id, .. } => transaction_id,
            other => panic!(
                "{} is {other:?} in the simulator",
                order.out_trade_no.as_str()
            ),
        },
    };
    BillLine::Payment(BillPayment {
        upstream_order_no: order.upstream_order_no.as_str().to_owned(),
        transaction_id,
        amount_fen: fen,
        fee_fen: fee(fen),
    })
}

fn totals(lines: &[BillLine]) -> BillTotals {
    let mut t = BillTotals::default();
    for line in lines {
        line.add_to(&mut t);
    }
    t
}

/// The bill as an adapter would stream it: the lines in two batches, then the summary (unless
/// `cut`, which ends the stream early as a truncated file would).
fn stream(
    lines: &[BillLine],
    summary: Option<BillTotals>,
) -> mpsc::Receiver<Result<BillChunk, BillError>> {
    let (tx, rx) = mpsc::channel(2);
    let lines = lines.to_vec();
    tokio::spawn(async move {
        let half = lines.len() / 2;
        tx.send(Ok(BillChunk::Lines(lines[..half].to_vec())))
            .await
            .unwrap();
        tx.send(Ok(BillChunk::Lines(lines[half..].to_vec())))
            .await
            .unwrap();
        if let Some(summary) = summary {
            tx.send(Ok(BillChunk::Summary(summary))).await.unwrap();
        }
    });
    rx
}

/// The account bill's movements that agree with `lines`: each payment's money in and its fee out,
/// each refund's money out and the fee it gives back, booked under the channel's numbers.
fn agreeing_funds(lines: &[BillLine]) -> Vec<FundsMovement> {
    let mut out = Vec::new();
    let mut add = |kind, no: &str, fen: i64| {
        if fen != 0 {
            out.push(FundsMovement {
                kind,
                booked_under: no.to_owned(),
                fen,
            });
        }
    };
    for line in lines {
        match line {
            BillLine::Payment(p) => {
                add(MovementKind::Payment, &p.transaction_id, p.amount_fen);
                add(MovementKind::Fee, &p.transaction_id, -p.fee_fen);
            }
            BillLine::Refund(r) | BillLine::RefundAccepted(r) => {
                add(MovementKind::Refund, &r.channel_no, -r.amount_fen);
                add(MovementKind::FeeReturned, &r.channel_no, r.fee_returned_fen);
            }
        }
    }
    out
}

/// An account bill as an adapter would stream it: its movements, then their totals (unless
/// `cut`).
fn funds_stream(
    movements: &[FundsMovement],
    cut: bool,
) -> mpsc::Receiver<Result<FundsChunk, BillError>> {
    let (tx, rx) = mpsc::channel(2);
    let mut counted = MovementTotals::default();
    for m in movements {
        m.add_to(&mut counted);
    }
    tx.try_send(Ok(FundsChunk::Movements(movements.to_vec())))
        .unwrap();
    if !cut {
        tx.try_send(Ok(FundsChunk::Summary(counted))).unwrap();
    }
    rx
}

/// The account bill that agrees with `lines`, opened.
fn funds_of(
    lines: &[BillLine],
) -> std::future::Ready<Result<mpsc::Receiver<Result<FundsChunk, BillError>>, BillError>> {
    std::future::ready(Ok(funds_stream(&agreeing_funds(lines), false)))
}

async fn success_events(app: &TestApp, order: &Order) -> i64 {
    app.db
        .count(&format!(
            "SELECT COUNT(*) FROM notification_events WHERE order_id = {} AND event_type = 'TRANSACTION.SUCCESS'",
            order.id.as_i64()
        ))
        .await
}

api_tests! {
    async fn a_day_is_matched_repaired_listed_and_reported_once(app: TestApp) {
        let site = app.site.clone();
        // Paid as usual, then partly refunded.
        created(&app, &site, "o_paid_000000001", 10_000).await;
        app.sim_wechat_pay(&site, "o_paid_000000001").await;
        let paid = until(&app, &site, "o_paid_000000001", OrderStatus::Paid).await;
        let body = json!({"out_refund_no": "r_paid_1", "amount": 2_500}).to_string();
        app.signed("POST", "/v1/orders/o_paid_000000001/refunds", &body).await.assert_ok();
        let mut refund = None;
        for _ in 0..200 {
            let r = app.db.store.refunds_for_order(&site.id, paid.id).await.unwrap();
            if r.first().is_some_and(|r| r.status == RefundStatus::Succeeded) {
                refund = r.into_iter().next();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let refund = refund.expect("the refund never succeeded");
        // Paid upstream, its callback lost and its checks stopped: paygate still has it pending.
        let lost = created(&app, &site, "o_lost_000000001", 2_990).await;
        app.db.execute(&format!("DELETE FROM jobs WHERE kind = 'check_order' AND subject = '{}'", lost.id.as_i64())).await;
        app.sim_faults(Some(json!({"drop_callbacks": true}))).await;
        app.sim_wechat_pay(&site, "o_lost_000000001").await;
        app.sim_faults(None).await;
        // Paid, but the bill has another amount.
        created(&app, &site, "o_diff_000000001", 500).await;
        app.sim_wechat_pay(&site, "o_diff_000000001").await;
        let diff = until(&app, &site, "o_diff_000000001", OrderStatus::Paid).await;
        // Paid in paygate only (the channel never had the money).
        let phantom = created(&app, &site, "o_here_000000001", 800).await;
        let t = Transition {
            order_id: phantom.id,
            from: OrderStatus::Pending,
            to: OrderStatus::Paid,
            reason: "test".into(),
            upstream: UpstreamFields::default(),
            at: Timestamp::now(),
        };
        assert!(app.db.store.transition(&t).await.unwrap().won());

        let mut lines = vec![
            billed(&app, &paid, 10_000).await,
            billed(&app, &lost, 2_990).await,
            billed(&app, &diff, 501).await,
            BillLine::Payment(BillPayment {
                upstream_order_no: "another_system_0001".into(),
                transaction_id: "4200000000000001".into(),
                amount_fen: 1_234,
                fee_fen: fee(1_234),
            }),
            BillLine::Refund(BillRefund {
                upstream_order_no: paid.upstream_order_no.as_str().to_owned(),
                upstream_refund_no: refund.upstream_refund_no.as_str().to_owned(),
                channel_no: "50300000000000000001".into(),
                amount_fen: 2_500,
                fee_returned_fen: fee(2_500),
            }),
        ];
        let summary = totals(&lines);
        let orders = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let reconciler = Reconciler::new(app.db.store.clone(), orders);
        let day = BillDay::of(Timestamp::now());

        let first = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, Some(summary))), funds_of(&lines)).await.unwrap();
        assert_eq!((first.totals, first.matched, first.new_discrepancies), (summary, 2, 4));
        // The account bill agrees: it moved what the trade bill lists, to the fen.
        let f = first.funds;
        assert_eq!((f.payments_fen, f.refunds_fen, f.fees_fen, f.other_fen()), (summary.payments_fen, summary.refunds_fen, summary.fees_fen, 0));
        assert_eq!(f.net_fen(), summary.net_fen());
        // The lost payment is paid, by reconciliation, and its site is told once.
        let repaired = until(&app, &site, "o_lost_000000001", OrderStatus::Paid).await;
        let history = app.db.store.order_events(&site.id, repaired.id).await.unwrap();
        assert!(history.iter().any(|e| e.reason == "reconciliation paid"), "{history:?}");
        assert_eq!(success_events(&app, &repaired).await, 1);
        let (run, found) = app.db.store.reconciliation(Channel::Wechat, ACCOUNT, day).await.unwrap().unwrap();
        assert_eq!(run.totals.net_fen(), summary.payments_fen - summary.refunds_fen - summary.fees_fen);
        let report: Vec<_> = found.iter().map(|d| (d.kind, d.upstream_no.clone(), d.resolution)).collect();
        assert_eq!(report, [
            (DiscrepancyKind::AmountMismatch, diff.upstream_order_no.as_str().to_owned(), Resolution::Anomaly),
            (DiscrepancyKind::NotOurs, "another_system_0001".to_owned(), Resolution::Listed),
            (DiscrepancyKind::PaidHereOnly, phantom.upstream_order_no.as_str().to_owned(), Resolution::Anomaly),
            (DiscrepancyKind::PaidUpstreamOnly, lost.upstream_order_no.as_str().to_owned(), Resolution::Repaired),
        ]);
        // The fees the bill states are attributed to paygate's own payments and refunds.
        let fee_of = |table: &str, column: &str, id: i64| format!("SELECT COALESCE({column}, -1) FROM {table} WHERE id = {id}");
        assert_eq!(app.db.count(&fee_of("orders", "channel_fee_fen", paid.id.as_i64())).await, fee(10_000));
        assert_eq!(app.db.count(&fee_of("orders", "channel_fee_fen", lost.id.as_i64())).await, fee(2_990));
        assert_eq!(app.db.count(&fee_of("orders", "channel_fee_fen", diff.id.as_i64())).await, -1);
        assert_eq!(app.db.count(&fee_of("refunds", "channel_fee_returned_fen", refund.id)).await, fee(2_500));
        let anomalies = app.db.count("SELECT COUNT(*) FROM anomalies").await;
        assert_eq!(anomalies, 2);
        // The site's statement of the day: its four payments and one refund, with the fees the
        // bill stated for the lines it matched.
        let statement = app.signed("GET", &format!("/v1/statements/{day}"), "").await;
        statement.assert_ok();
        assert_eq!(statement.json["totals"], json!({
            "payments": 4, "paid": 14_290, "refunds": 1, "refunded": 2_500,
            "fees": fee(10_000) + fee(2_990) - fee(2_500),
            "net": 14_290 - 2_500 - (fee(10_000) + fee(2_990) - fee(2_500)),
            "fees_pending": 2,
        }));
        // Beside the bills' figures, what the day changed in the site's balance in paygate's own
        // ledger: the four payments and the refund, no operator's fee.
        assert_eq!(statement.json["balance"], json!({
            "paid": 14_290, "refunded": 2_500, "fees": 0, "shared": 0, "net": 14_290 - 2_500,
        }));
        let csv = app.signed("GET", &format!("/v1/statements/{day}?format=csv"), "").await;
        csv.assert_ok();
        assert!(csv.text.starts_with("kind,out_trade_no,out_refund_no,channel,transaction_id,at,amount,fee,net\n"), "{}", csv.text);
        assert!(csv.text.contains("\nrefund,o_paid_000000001,r_paid_1,wechat,,"), "{}", csv.text);
        assert!(csv.text.ends_with(&format!(
            "\ntotal,,,,,,{},{},{}\nbalance,,,,,,{},0,{}\n",
            14_290 - 2_500, 63, 14_290 - 2_500 - 63, 14_290 - 2_500, 14_290 - 2_500
        )), "{}", csv.text);

        // The same day again: the same report, nothing repaired or told twice, no new anomaly.
        let second = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, Some(summary))), funds_of(&lines)).await.unwrap();
        assert_eq!((second.totals, second.new_discrepancies), (summary, 0));
        let (_, again) = app.db.store.reconciliation(Channel::Wechat, ACCOUNT, day).await.unwrap().unwrap();
        assert_eq!(again, found);
        assert_eq!(success_events(&app, &repaired).await, 1);
        assert_eq!(app.db.count("SELECT COUNT(*) FROM anomalies").await, anomalies);
        assert_eq!(app.db.count("SELECT CAST(SUM(occurrences) AS BIGINT) FROM anomalies").await, anomalies);

        // A bill cut short, or whose summary does not add up, is no report.
        let cut = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, None)), funds_of(&lines)).await;
        assert!(matches!(cut, Err(ReconcileError::Bill(BillError::Unusable(_)))), "{cut:?}");
        let (failed, _) = app.db.store.reconciliation(Channel::Wechat, ACCOUNT, day).await.unwrap().unwrap();
        assert_eq!(failed.status, ReconciliationStatus::Failed);
        lines.pop();
        let wrong = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, Some(summary))), funds_of(&lines)).await;
        assert!(matches!(wrong, Err(ReconcileError::Bill(BillError::Unusable(_)))), "{wrong:?}");
        let later = reconciler.run(Channel::Wechat, ACCOUNT, day, Err(BillError::NotYetAvailable(day)), funds_of(&lines)).await;
        assert!(matches!(later, Err(ReconcileError::Bill(BillError::NotYetAvailable(_)))), "{later:?}");
        let (failed, _) = app.db.store.reconciliation(Channel::Wechat, ACCOUNT, day).await.unwrap().unwrap();
        assert_eq!(failed.status, ReconciliationStatus::Failed);
        assert!(failed.error.unwrap().contains("not available yet"));
    }

    async fn a_bill_whose_hash_does_not_match_fails_the_run_for_a_retry(app: TestApp) {
        use std::io::Write as _;

        // WeChat Pay answers the application with a SHA1 that is not the file's.
        let day = BillDay::of(Timestamp::now());
        let mchid = support::app::sandbox_keys().wechat_mchid.clone();
        let dir = tempfile::tempdir().unwrap();
        let gzip = dir.path().join("bill.gz");
        let mut encoder = flate2::write::GzEncoder::new(std::fs::File::create(&gzip).unwrap(), flate2::Compression::default());
        encoder.write_all("交易时间,公众账号ID\n".as_bytes()).unwrap();
        encoder.finish().unwrap();
        app.sim.ctx.prepare_bill(sim::PreparedBill::WechatTrade {
            mchid: mchid.clone(),
            bill_date: day.to_string(),
            gzip,
            sha1: "0".repeat(40),
        });
        let bill = gateway::reconcile::wechat::open(&app.wechat.client, day).await;
        assert!(matches!(&bill, Err(BillError::Unusable(why)) if why.contains("SHA1")), "{bill:?}");

        let orders = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let reconciler = Reconciler::new(app.db.store.clone(), orders);
        let funds = gateway::reconcile::wechat_funds::open(&app.wechat.client, day);
        let run = reconciler.run(Channel::Wechat, &mchid, day, bill, funds).await;
        assert!(matches!(run, Err(ReconcileError::Bill(BillError::Unusable(_)))), "{run:?}");
        let (failed, found) = app.db.store.reconciliation(Channel::Wechat, &mchid, day).await.unwrap().unwrap();
        assert_eq!((failed.status, found.len()), (ReconciliationStatus::Failed, 0));
        assert!(failed.error.unwrap().contains("does not match"));
    }

    async fn a_site_reads_its_own_statement_and_no_other_sites(app: TestApp) {
        let other = app.another_site("other shop").await;
        for (site, no, fen) in [(&app.site, "o_mine_000000001", 1_000), (&other, "o_theirs_00000001", 7_000)] {
            created(&app, site, no, fen).await;
            app.sim_wechat_pay(site, no).await;
            until(&app, site, no, OrderStatus::Paid).await;
        }
        let day = BillDay::of(Timestamp::now());
        let mine = app.signed("GET", &format!("/v1/statements/{day}"), "").await;
        mine.assert_ok();
        assert_eq!(mine.json["site_id"], app.site.id.as_str());
        assert_eq!(mine.json["totals"]["paid"], 1_000);
        assert_eq!(mine.json["totals"]["fees_pending"], 1);
        assert!(mine.json["payments"][0]["fee"].is_null());
        assert!(!mine.text.contains("o_theirs"), "{}", mine.text);
        let theirs = app.signed_as(&other, "GET", &format!("/v1/statements/{day}"), "", Default::default()).await;
        assert_eq!(theirs.json["totals"]["paid"], 7_000);
        assert!(!theirs.text.contains("o_mine"), "{}", theirs.text);
        // Another day has nothing; a date that is not one, or an unknown format, is refused.
        let before = app.signed("GET", &format!("/v1/statements/{}", day.previous()), "").await;
        assert_eq!(before.json["totals"]["payments"], 0);
        for bad in ["2026-02-30", "20261129", "today"] {
            let r = app.signed("GET", &format!("/v1/statements/{bad}"), "").await;
            r.assert_error(400, "invalid_field");
            assert_eq!(r.json["field"], "date");
        }
        let r = app.signed("GET", &format!("/v1/statements/{day}?format=xml"), "").await;
        r.assert_error(400, "invalid_field");
        // Unsigned, it is no one's.
        let unsigned = app.http.get(format!("{}/v1/statements/{day}", app.base)).send().await.unwrap();
        assert_eq!(unsigned.status(), 401);
    }

    async fn a_day_of_alipay_is_read_from_its_real_bill_and_repaired(app: TestApp) {
        let site = app.site.clone();
        let app_id = app.alipay.app_id.clone();
        let sim = |path: String| {
            let url = format!("{}{path}", app.sim.base_url);
            let http = app.http.clone();
            async move {
                let r = http.post(url).send().await.unwrap();
                assert!(r.status().is_success(), "{:?}", r.text().await);
            }
        };
        let alipay_order = |no: &'static str, fen: i64| {
            let body = json!({"out_trade_no": no, "channel": "alipay", "method": "qr",
                "description": "对账", "amount_total": fen});
            let app = &app;
            let site = &site;
            async move {
                app.create_order_as(site, &body).await.assert_ok();
                app.stored(site, no).await
            }
        };
        let paid = alipay_order("a_paid_000000001", 10_000).await;
        sim(format!("/sim/alipay/trades/{}/pay?app_id={app_id}", paid.upstream_order_no.as_str())).await;
        let paid = until(&app, &site, "a_paid_000000001", OrderStatus::Paid).await;
        let lost = alipay_order("a_lost_000000001", 2_990).await;
        app.db.execute(&format!("DELETE FROM jobs WHERE kind = 'check_order' AND subject = '{}'", lost.id.as_i64())).await;
        sim(format!("/sim/alipay/trades/{}/pay-silently?app_id={app_id}", lost.upstream_order_no.as_str())).await;
        let diff = alipay_order("a_diff_000000001", 500).await;
        sim(format!("/sim/alipay/trades/{}/pay?app_id={app_id}", diff.upstream_order_no.as_str())).await;
        until(&app, &site, "a_diff_000000001", OrderStatus::Paid).await;
        sim(format!("/sim/alipay/trades/{}/billed-amount?app_id={app_id}&amount=5.01", diff.upstream_order_no.as_str())).await;
        sim(format!("/sim/alipay/trades/another_system_0002/record?app_id={app_id}&amount=12.34")).await;

        let orders = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let reconciler = Reconciler::new(app.db.store.clone(), orders);
        let day = BillDay::of(Timestamp::now());
        let bill = gateway::reconcile::alipay::open(&app.alipay.client, day).await;
        let funds = gateway::reconcile::alipay_funds::open(&app.alipay.client, day);
        let summary = reconciler.run(Channel::Alipay, &app_id, day, bill, funds).await.unwrap();
        assert_eq!((summary.totals.payments, summary.totals.payments_fen), (4, 10_000 + 2_990 + 501 + 1_234));
        assert_eq!(summary.matched, 1);
        let (_, found) = app.db.store.reconciliation(Channel::Alipay, &app_id, day).await.unwrap().unwrap();
        let report: Vec<_> = found.iter().map(|d| (d.kind, d.upstream_no.clone(), d.resolution)).collect();
        assert_eq!(report, [
            (DiscrepancyKind::AmountMismatch, diff.upstream_order_no.as_str().to_owned(), Resolution::Anomaly),
            (DiscrepancyKind::NotOurs, "another_system_0002".to_owned(), Resolution::Listed),
            (DiscrepancyKind::PaidUpstreamOnly, lost.upstream_order_no.as_str().to_owned(), Resolution::Repaired),
        ]);
        until(&app, &site, "a_lost_000000001", OrderStatus::Paid).await;
        let fee = app.db.count(&format!("SELECT channel_fee_fen FROM orders WHERE id = {}", paid.id.as_i64())).await;
        assert_eq!(fee, 60);
        // Again: nothing new.
        let bill = gateway::reconcile::alipay::open(&app.alipay.client, day).await;
        let funds = gateway::reconcile::alipay_funds::open(&app.alipay.client, day);
        assert_eq!(reconciler.run(Channel::Alipay, &app_id, day, bill, funds).await.unwrap().new_discrepancies, 0);
        // A day Alipay has no bill of is not a report yet.
        let empty = day.previous();
        let bill = gateway::reconcile::alipay::open(&app.alipay.client, empty).await;
        assert!(matches!(bill, Err(BillError::NotYetAvailable(_))), "{bill:?}");
    }

    async fn a_merchants_own_trades_are_not_looked_for_in_the_apps_bill(app: TestApp) {
        let app_id = app.alipay.app_id.clone();
        let seller = "2088102146225135";
        let url = format!("{}/sim/alipay/app-auth", app.sim.base_url);
        let auth: serde_json::Value = app.http.post(url).json(&json!({"app_id": app_id, "merchant_id": seller}))
            .send().await.unwrap().json().await.unwrap();
        let site = app.another_site("merchant of its own").await;
        let update = gateway::store::SiteUpdate {
            alipay_merchant: Some(Some(gateway::domain::AlipayMerchant {
                seller_id: gateway::domain::AlipaySellerId::parse(seller).unwrap(),
                app_auth_token: gateway::domain::AppAuthToken::parse(auth["app_auth_token"].as_str().unwrap()).unwrap(),
            })),
            ..gateway::store::SiteUpdate::default()
        };
        app.db.store.update_site(&site.id, &update, Timestamp::now(), &gateway::domain::AuditEntry::by(
            Timestamp::now(), &gateway::domain::ActedBy::from(gateway::domain::Actor::Cli), gateway::domain::AuditAction::SiteUpdate)).await.unwrap();
        let paid = |site: Site, no: &'static str, merchant: Option<&'static str>| {
            let app = &app;
            let app_id = app_id.clone();
            async move {
                let body = json!({"out_trade_no": no, "channel": "alipay", "method": "qr", "description": "对账", "amount_total": 2_990});
                app.create_order_as(&site, &body).await.assert_ok();
                let order = app.stored(&site, no).await;
                let merchant = merchant.map(|m| format!("&merchant_id={m}")).unwrap_or_default();
                let url = format!("{}/sim/alipay/trades/{}/pay?app_id={app_id}{merchant}", app.sim.base_url, order.upstream_order_no.as_str());
                assert!(app.http.post(url).send().await.unwrap().status().is_success());
                until(app, &site, no, OrderStatus::Paid).await
            }
        };
        paid(site.clone(), "m_merchants_0001", Some(seller)).await;
        paid(app.site.clone(), "m_operators_001", None).await;

        let orders = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let reconciler = Reconciler::new(app.db.store.clone(), orders);
        let day = BillDay::of(Timestamp::now());
        let bill = gateway::reconcile::alipay::open(&app.alipay.client, day).await;
        let funds = gateway::reconcile::alipay_funds::open(&app.alipay.client, day);
        let summary = reconciler.run(Channel::Alipay, &app_id, day, bill, funds).await.unwrap();
        // The app's bill lists its own trade only; the merchant's is not missing from it.
        assert_eq!((summary.totals.payments, summary.matched, summary.new_discrepancies), (1, 1, 0));
    }

    async fn a_day_of_wechat_pay_is_read_from_its_real_bill_and_repaired(app: TestApp) {
        let site = app.site.clone();
        let mchid = support::app::sandbox_keys().wechat_mchid.clone();
        let post = |path: String, body: Option<serde_json::Value>| {
            let url = format!("{}{path}", app.sim.base_url);
            let http = app.http.clone();
            async move {
                let mut req = http.post(url);
                if let Some(body) = body {
                    req = req.json(&body);
                }
                let r = req.send().await.unwrap();
                assert!(r.status().is_success(), "{:?}", r.text().await);
            }
        };
        created(&app, &site, "w_paid_000000001", 10_000).await;
        app.sim_wechat_pay(&site, "w_paid_000000001").await;
        let paid = until(&app, &site, "w_paid_000000001", OrderStatus::Paid).await;
        let body = json!({"out_refund_no": "r_w_paid_1", "amount": 2_500}).to_string();
        app.signed("POST", "/v1/orders/w_paid_000000001/refunds", &body).await.assert_ok();
        for _ in 0..200 {
            let r = app.db.store.refunds_for_order(&site.id, paid.id).await.unwrap();
            if r.first().is_some_and(|r| r.status == RefundStatus::Succeeded) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let lost = created(&app, &site, "w_lost_000000001", 2_990).await;
        app.db.execute(&format!("DELETE FROM jobs WHERE kind = 'check_order' AND subject = '{}'", lost.id.as_i64())).await;
        post(format!("/sim/wechat/orders/{}/pay-silently?mchid={mchid}", lost.upstream_order_no.as_str()), None).await;
        created(&app, &site, "w_diff_000000001", 500).await;
        app.sim_wechat_pay(&site, "w_diff_000000001").await;
        let diff = until(&app, &site, "w_diff_000000001", OrderStatus::Paid).await;
        post(format!("/sim/wechat/orders/{}/bill-amount?mchid={mchid}", diff.upstream_order_no.as_str()), Some(json!({"amount": 501}))).await;
        post("/sim/wechat/external-trades".to_owned(), Some(json!({"mchid": mchid, "out_trade_no": "another_system_0003", "amount": 1_234}))).await;

        let orders = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let reconciler = Reconciler::new(app.db.store.clone(), orders);
        let day = BillDay::of(Timestamp::now());
        let bill = gateway::reconcile::wechat::open(&app.wechat.client, day).await;
        let funds = gateway::reconcile::wechat_funds::open(&app.wechat.client, day);
        let summary = reconciler.run(Channel::Wechat, &mchid, day, bill, funds).await.unwrap();
        assert_eq!((summary.totals.payments, summary.totals.payments_fen), (4, 10_000 + 2_990 + 501 + 1_234));
        assert_eq!((summary.totals.refunds, summary.totals.refunds_fen), (1, 2_500));
        assert_eq!(summary.matched, 2, "the payment and its refund");
        // What the run counted is what the channel's own summary rows say, to the fen.
        let text = app.wechat.client.trade_bill(day.date(), Some(wechatpay::TradeBillType::All), None).await.unwrap();
        let mut reader = wechatpay::TradeBillReader::new(&text[..]).unwrap();
        while reader.next_row().unwrap().is_some() {}
        let stated = reader.summary().unwrap();
        assert_eq!(stated.fee, summary.totals.fees_fen);
        assert_eq!(stated.total, summary.totals.payments_fen);
        assert_eq!(stated.requested_refund, Some(summary.totals.refunds_fen));
        assert_eq!(stated.rows, 5, "four payments and a refund");
        let (_, found) = app.db.store.reconciliation(Channel::Wechat, &mchid, day).await.unwrap().unwrap();
        let report: Vec<_> = found.iter().map(|d| (d.kind, d.upstream_no.clone(), d.resolution)).collect();
        assert_eq!(report, [
            (DiscrepancyKind::AmountMismatch, diff.upstream_order_no.as_str().to_owned(), Resolution::Anomaly),
            (DiscrepancyKind::NotOurs, "another_system_0003".to_owned(), Resolution::Listed),
            (DiscrepancyKind::PaidUpstreamOnly, lost.upstream_order_no.as_str().to_owned(), Resolution::Repaired),
        ]);
        until(&app, &site, "w_lost_000000001", OrderStatus::Paid).await;
        assert_eq!(app.db.count(&format!("SELECT channel_fee_fen FROM orders WHERE id = {}", paid.id.as_i64())).await, 60);
        let bill = gateway::reconcile::wechat::open(&app.wechat.client, day).await;
        let funds = gateway::reconcile::wechat_funds::open(&app.wechat.client, day);
        assert_eq!(reconciler.run(Channel::Wechat, &mchid, day, bill, funds).await.unwrap().new_discrepancies, 0);
        let bill = gateway::reconcile::wechat::open(&app.wechat.client, day.previous()).await;
        assert!(matches!(bill, Err(BillError::NotYetAvailable(_))), "{bill:?}");
    }

    async fn the_days_are_planned_and_each_run_plans_the_next(app: TestApp) {
        use gateway::domain::{JobKind, JobSubject};
        use gateway::reconcile::job::{CATCH_UP_DAYS, due_at, plan_recent_days};
        use gateway::reconcile::{ReconcileJob, ReconcileSettings};
        use gateway::workers::{JobHandler, JobOutcome};

        let settings = ReconcileSettings::default();
        let now = Timestamp::now();
        let today = BillDay::of(now);
        // Yesterday's Alipay day is reconciled already: a start plans every other recent day.
        let yesterday = today.previous();
        let store = &app.db.store;
        let id = store.start_reconciliation(Channel::Alipay, &app.alipay.app_id, yesterday, now).await.unwrap();
        store.finish_reconciliation(id, Ok((&BillTotals::default(), 0)), now).await.unwrap();
        plan_recent_days(store, &app.channels, settings, now).await.unwrap();
        let planned = |channel: &str| format!("SELECT COUNT(*) FROM jobs WHERE kind = 'reconcile_day' AND subject LIKE '{channel}:%'");
        assert_eq!(app.db.count(&planned("wechat")).await, CATCH_UP_DAYS);
        assert_eq!(app.db.count(&planned("alipay")).await, CATCH_UP_DAYS - 1);
        // A second start plans nothing more.
        plan_recent_days(store, &app.channels, settings, now).await.unwrap();
        assert_eq!(app.db.count("SELECT COUNT(*) FROM jobs WHERE kind = 'reconcile_day'").await, 2 * CATCH_UP_DAYS - 1);

        // Today's Alipay day, asked for now, runs through the job and plans tomorrow's run.
        store.request_reconciliation(Channel::Alipay, today, now).await.unwrap();
        let jobs = store.claim_jobs(&[JobKind::ReconcileDay], "test", Timestamp::now(), Duration::from_secs(60), 100).await.unwrap();
        let job = jobs.into_iter().find(|j| j.subject == JobSubject::Bill(Channel::Alipay, today)).expect("today's job is due");
        let orders = OrderService::new(store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let handler = ReconcileJob::new(Reconciler::new(store.clone(), orders), app.channels.clone(), settings);
        // No trade today yet: the simulator has no bill of the day, which is not yet due.
        assert!(matches!(handler.handle(job.clone()).await, JobOutcome::RetryAt(_)));
        let (failed, _) = store.reconciliation(Channel::Alipay, &app.alipay.app_id, today).await.unwrap().unwrap();
        assert_eq!(failed.status, ReconciliationStatus::Failed);
        // With a payment, the bill exists and the run completes.
        let body = json!({"out_trade_no": "a_job_0000000001", "channel": "alipay", "method": "qr",
            "description": "对账", "amount_total": 100});
        app.create_order_as(&app.site, &body).await.assert_ok();
        let order = app.stored(&app.site, "a_job_0000000001").await;
        let url = format!("{}/sim/alipay/trades/{}/pay?app_id={}", app.sim.base_url, order.upstream_order_no.as_str(), app.alipay.app_id);
        assert!(app.http.post(url).send().await.unwrap().status().is_success());
        until(&app, &app.site, "a_job_0000000001", OrderStatus::Paid).await;
        assert_eq!(handler.handle(job).await, JobOutcome::Done);
        let (run, _) = store.reconciliation(Channel::Alipay, &app.alipay.app_id, today).await.unwrap().unwrap();
        assert_eq!((run.status, run.matched), (ReconciliationStatus::Complete, 1));
        let tomorrow = app.db.count(&format!(
            "SELECT due_at FROM jobs WHERE kind = 'reconcile_day' AND subject = 'alipay:{}'",
            today.next()
        )).await;
        assert_eq!(tomorrow, due_at(today.next(), settings).as_millis());
    }
}

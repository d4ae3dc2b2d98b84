//! A busy day of WeChat Pay: a thousand orders, some of them partly refunded, with five cases of
//! each kind of discrepancy made in the simulator or in paygate. The run over the simulator's
//! real bill reports exactly those, pays and notifies the payments paygate missed (a lost
//! callback, a close that lost its race with the payment), adds up to the bill's own summary to
//! the fen, and a second run changes and sends nothing.

use std::collections::BTreeSet;

use futures_util::future::join_all;

use super::*;

const ORDERS: usize = 1_000;
const INJECTED: usize = 5;
/// Every tenth order paid as usual is partly refunded.
const REFUND_EVERY: usize = 10;

/// What becomes of order `i` of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Paid upstream, its callback dropped and its checks stopped: paygate has it pending.
    Lost,
    /// Paid upstream, its callback dropped, and closed by paygate (the close lost the race).
    ClosedButPaid,
    /// Recorded paid in paygate; the channel never had the money.
    PaidHereOnly,
    /// Paid, and the bill says another amount.
    AmountDiffers,
    /// Paid as usual.
    Paid,
}

fn fate(i: usize) -> Fate {
    match i / INJECTED {
        0 => Fate::Lost,
        1 => Fate::ClosedButPaid,
        2 => Fate::PaidHereOnly,
        3 => Fate::AmountDiffers,
        _ => Fate::Paid,
    }
}

fn number(i: usize) -> String {
    format!("busy_{i:011}")
}

fn amount(i: usize) -> i64 {
    100 + i64::try_from(i).unwrap() * 7
}

fn refunded(i: usize) -> bool {
    fate(i) == Fate::Paid && i % REFUND_EVERY == 0
}

async fn in_chunks<F, Fut>(count: usize, each: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let all: Vec<usize> = (0..count).collect();
    for chunk in all.chunks(32) {
        join_all(chunk.iter().map(|&i| each(i))).await;
    }
}

/// Waits for `sql` to count `expected`: a thousand payments' callbacks take a while on a machine
/// busy with other tests, and a callback the gateway could not take in time is retried by the
/// simulator on WeChat Pay's schedule.
async fn eventually_count(app: &TestApp, what: &str, sql: &str, expected: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while std::time::Instant::now() < deadline {
        if app.db.count(sql).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {} instead of {expected}", app.db.count(sql).await);
}

async fn sim_post(app: &TestApp, path: &str, body: Option<serde_json::Value>) {
    let mut req = app.http.post(format!("{}{path}", app.sim.base_url));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {:?}", r.text().await);
}

api_tests! {
    async fn a_busy_day_reports_exactly_the_injected_discrepancies_and_repairs_the_missed_payments(app: TestApp) {
        let site = app.site.clone();
        let mchid = support::app::sandbox_keys().wechat_mchid.clone();
        in_chunks(ORDERS, |i| {
            let (app, site) = (&app, &site);
            async move {
                created(app, site, &number(i), amount(i)).await;
            }
        })
        .await;
        let numbers: Vec<String> = (0..ORDERS).map(number).collect();
        let orders: Vec<Order> = join_all(numbers.iter().map(|no| app.stored(&site, no))).await;
        let upstream_no = |i: usize| orders[i].upstream_order_no.as_str().to_owned();

        // Checks stopped for the orders paygate is to miss; their callbacks never arrive.
        for order in &orders[..2 * INJECTED] {
            app.db.execute(&format!("DELETE FROM jobs WHERE kind = 'check_order' AND subject = '{}'", order.id.as_i64())).await;
            sim_post(&app, &format!("/sim/wechat/orders/{}/pay-silently?mchid={mchid}", order.upstream_order_no.as_str()), None).await;
        }
        for order in &orders[INJECTED..2 * INJECTED] {
            let close = Transition {
                order_id: order.id,
                from: OrderStatus::Pending,
                to: OrderStatus::Closed,
                reason: "expired".into(),
                upstream: UpstreamFields::default(),
                at: Timestamp::now(),
            };
            assert!(app.db.store.transition(&close).await.unwrap().won());
        }
        for order in &orders[2 * INJECTED..3 * INJECTED] {
            let phantom = Transition {
                order_id: order.id,
                from: OrderStatus::Pending,
                to: OrderStatus::Paid,
                reason: "test".into(),
                upstream: UpstreamFields::default(),
                at: Timestamp::now(),
            };
            assert!(app.db.store.transition(&phantom).await.unwrap().won());
        }
        let paid_normally = ORDERS - 3 * INJECTED;
        in_chunks(ORDERS, |i| {
            let (app, site) = (&app, &site);
            async move {
                if matches!(fate(i), Fate::AmountDiffers | Fate::Paid) {
                    app.sim_wechat_pay(site, &number(i)).await;
                }
            }
        })
        .await;
        let paid_sql = "SELECT COUNT(*) FROM orders WHERE status = 'paid'";
        eventually_count(&app, "orders paid", paid_sql, i64::try_from(paid_normally + INJECTED).unwrap()).await;
        for i in 3 * INJECTED..4 * INJECTED {
            sim_post(&app, &format!("/sim/wechat/orders/{}/bill-amount?mchid={mchid}", upstream_no(i)), Some(json!({"amount": amount(i) + 1}))).await;
        }
        for k in 0..INJECTED {
            sim_post(&app, "/sim/wechat/external-trades", Some(json!({"mchid": mchid, "out_trade_no": format!("elsewhere_{k:04}"), "amount": 1_000 + k}))).await;
        }
        // Refunds: one of every tenth order paid as usual, for a part of it.
        let refunds: Vec<usize> = (0..ORDERS).filter(|&i| refunded(i)).collect();
        join_all(refunds.iter().map(|&i| {
            let app = &app;
            async move {
                let body = json!({"out_refund_no": format!("r_{}", number(i)), "amount": amount(i) / 3}).to_string();
                app.signed("POST", &format!("/v1/orders/{}/refunds", number(i)), &body).await.assert_ok();
            }
        }))
        .await;
        let succeeded_sql = "SELECT COUNT(*) FROM refunds WHERE status = 'succeeded'";
        eventually_count(&app, "refunds succeeded", succeeded_sql, i64::try_from(refunds.len()).unwrap()).await;
        // Refunds paygate has as paid out that the channel never made.
        let fake_refunds: Vec<usize> = (0..ORDERS).filter(|&i| fate(i) == Fate::Paid && !refunded(i)).take(INJECTED).collect();
        let now = Timestamp::now().as_millis();
        for &i in &fake_refunds {
            app.db.execute(&format!(
                "INSERT INTO refunds (order_id, site_id, out_refund_no, upstream_refund_no, channel, amount_fen, \
                 fingerprint, status, created_at, updated_at, succeeded_at) \
                 VALUES ({}, '{}', 'ghost_{i}', 'ghost_refund_{i:08}', 'wechat', 50, 'x', 'succeeded', {now}, {now}, {now})",
                orders[i].id.as_i64(),
                site.id.as_str(),
            )).await;
        }

        let service = OrderService::new(app.db.store.clone(), app.channels.clone(), ServiceSettings::new(app.public_url.clone()));
        let reconciler = Reconciler::new(app.db.store.clone(), service);
        let day = BillDay::of(Timestamp::now());
        let bill = gateway::reconcile::wechat::open(&app.wechat.client, day).await;
        let funds = gateway::reconcile::wechat_funds::open(&app.wechat.client, day);
        let first = reconciler.run(Channel::Wechat, &mchid, day, bill, funds).await.unwrap();

        // Exactly what was injected, each with what was done about it.
        let (_, found) = app.db.store.reconciliation(Channel::Wechat, &mchid, day).await.unwrap().unwrap();
        let report: BTreeSet<_> = found.iter().map(|d| (d.kind.as_str(), d.upstream_no.clone(), d.resolution.as_str())).collect();
        let mut expected = BTreeSet::new();
        for i in 0..ORDERS {
            let line = match fate(i) {
                Fate::Lost | Fate::ClosedButPaid => (DiscrepancyKind::PaidUpstreamOnly, Resolution::Repaired),
                Fate::PaidHereOnly => (DiscrepancyKind::PaidHereOnly, Resolution::Anomaly),
                Fate::AmountDiffers => (DiscrepancyKind::AmountMismatch, Resolution::Anomaly),
                Fate::Paid => continue,
            };
            expected.insert((line.0.as_str(), upstream_no(i), line.1.as_str()));
        }
        for k in 0..INJECTED {
            expected.insert((DiscrepancyKind::NotOurs.as_str(), format!("elsewhere_{k:04}"), Resolution::Listed.as_str()));
        }
        for &i in &fake_refunds {
            expected.insert((DiscrepancyKind::RefundHereOnly.as_str(), format!("ghost_refund_{i:08}"), Resolution::Anomaly.as_str()));
        }
        assert_eq!(report, expected);
        assert_eq!(found.len(), 6 * INJECTED);
        assert_eq!(first.new_discrepancies, i64::try_from(6 * INJECTED).unwrap());
        let billed_as_paid = ORDERS - 4 * INJECTED;
        assert_eq!(first.matched, i64::try_from(billed_as_paid + refunds.len()).unwrap());

        // The payments paygate missed, the closed ones too, are paid and their site told, once.
        for i in 0..2 * INJECTED {
            let order = app.stored(&site, &number(i)).await;
            assert_eq!(order.status, OrderStatus::Paid, "{}", number(i));
            assert_eq!(success_events(&app, &order).await, 1, "{}", number(i));
            let history = app.db.store.order_events(&site.id, order.id).await.unwrap();
            assert!(history.iter().any(|e| e.reason == "reconciliation paid"), "{history:?}");
        }

        // What the run counted is what the channel's own summary rows say, to the fen.
        let text = app.wechat.client.trade_bill(day.date(), Some(wechatpay::TradeBillType::All), None).await.unwrap();
        let mut reader = wechatpay::TradeBillReader::new(&text[..]).unwrap();
        while reader.next_row().unwrap().is_some() {}
        let stated = reader.summary().unwrap();
        assert_eq!(stated.rows, u64::try_from(ORDERS - INJECTED + INJECTED + refunds.len()).unwrap(), "paid here only is not billed; others' trades are");
        assert_eq!(stated.total, first.totals.payments_fen);
        assert_eq!(stated.requested_refund, Some(first.totals.refunds_fen));
        assert_eq!(stated.fee, first.totals.fees_fen);
        let (run, _) = app.db.store.reconciliation(Channel::Wechat, &mchid, day).await.unwrap().unwrap();
        assert_eq!(run.totals, first.totals);
        // Each of paygate's billed payments carries the fee its bill line states; the statement
        // adds them up (the missed ones included).
        let fees_of_ours = app.db.count("SELECT CAST(COALESCE(SUM(channel_fee_fen), 0) AS BIGINT) FROM orders").await;
        let fees_returned = app.db.count("SELECT CAST(COALESCE(SUM(channel_fee_returned_fen), 0) AS BIGINT) FROM refunds").await;
        let statement = app.signed("GET", &format!("/v1/statements/{day}"), "").await;
        statement.assert_ok();
        assert_eq!(statement.json["totals"]["fees"], fees_of_ours - fees_returned);

        // The same day again: the same report, nothing repaired, told or reported twice.
        let anomalies = app.db.count("SELECT COUNT(*) FROM anomalies").await;
        let events = app.db.count("SELECT COUNT(*) FROM notification_events").await;
        let bill = gateway::reconcile::wechat::open(&app.wechat.client, day).await;
        let funds = gateway::reconcile::wechat_funds::open(&app.wechat.client, day);
        let second = reconciler.run(Channel::Wechat, &mchid, day, bill, funds).await.unwrap();
        // The payments repaired the first time match now.
        let repaired = i64::try_from(2 * INJECTED).unwrap();
        assert_eq!((second.totals, second.matched, second.new_discrepancies), (first.totals, first.matched + repaired, 0));
        let (_, again) = app.db.store.reconciliation(Channel::Wechat, &mchid, day).await.unwrap().unwrap();
        assert_eq!(again, found);
        assert_eq!(app.db.count("SELECT COUNT(*) FROM anomalies").await, anomalies);
        assert_eq!(app.db.count("SELECT COUNT(*) FROM notification_events").await, events);
    }
}

//! The account bills (WeChat Pay's fund-flow bill, Alipay's `signcustomer` bill) set against the
//! money the trade bill says moved: a clean day agrees to the fen, a fee the account bill took
//! otherwise is one `funds_mismatch` reported once, and an account bill cut short is no report.

use std::io::Write;

use gateway::domain::AnomalyKind;
use gateway::reconcile::{alipay, alipay_funds, wechat, wechat_funds};

use super::*;

/// The simulator's control API answers 2xx to `path`, with `body` as JSON if any.
async fn sim_control(app: &TestApp, path: String, body: Option<serde_json::Value>) {
    let mut req = app.http.post(format!("{}{path}", app.sim.base_url));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {:?}", r.text().await);
}

async fn paid_alipay(app: &TestApp, no: &str, fen: i64) -> Order {
    let body = json!({"out_trade_no": no, "channel": "alipay", "method": "qr",
        "description": "对账", "amount_total": fen});
    app.create_order_as(&app.site, &body).await.assert_ok();
    let order = app.stored(&app.site, no).await;
    let path = format!(
        "/sim/alipay/trades/{}/pay?app_id={}",
        order.upstream_order_no.as_str(),
        app.alipay.app_id
    );
    sim_control(app, path, None).await;
    until(app, &app.site, no, OrderStatus::Paid).await
}

async fn paid_wechat(app: &TestApp, no: &str, fen: i64) -> Order {
    created(app, &app.site, no, fen).await;
    app.sim_wechat_pay(&app.site, no).await;
    until(app, &app.site, no, OrderStatus::Paid).await
}

/// Refunds `fen` of the order `no` through the API and waits until the channel paid it out.
async fn refunded(app: &TestApp, order: &Order, refund_no: &str, fen: i64) {
    let body = json!({"out_refund_no": refund_no, "amount": fen}).to_string();
    let path = format!("/v1/orders/{}/refunds", order.out_trade_no.as_str());
    app.signed("POST", &path, &body).await.assert_ok();
    for _ in 0..200 {
        let refunds = app
            .db
            .store
            .refunds_for_order(&app.site.id, order.id)
            .await
            .unwrap();
        if refunds
            .iter()
            .any(|r| r.out_refund_no.as_str() == refund_no && r.status == RefundStatus::Succeeded)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("refund {refund_no} never succeeded");
}

fn reconciler(app: &TestApp) -> Reconciler {
    let orders = OrderService::new(
        app.db.store.clone(),
        app.channels.clone(),
        ServiceSettings::new(app.public_url.clone()),
    );
    Reconciler::new(app.db.store.clone(), orders)
}

/// The fees both simulators charge and give back on this file's day: 0.6 % of 100.00, 29.90 and
/// 12.34 kept; 0.15 given back with a refund of 25.00 and all 0.18 with the full refund of 29.90.
const FEES_KEPT: i64 = 60 + 18 + 7;
const FEES_BACK: i64 = 15 + 18;

/// Two of paygate's payments (one refunded in part, one in full) and another system's trade.
async fn usual_day(app: &TestApp, channel: Channel) {
    let (a, b) = match channel {
        Channel::Wechat => (
            paid_wechat(app, "f_paid_00000001", 10_000).await,
            paid_wechat(app, "f_full_00000001", 2_990).await,
        ),
        Channel::Alipay => (
            paid_alipay(app, "f_paid_00000001", 10_000).await,
            paid_alipay(app, "f_full_00000001", 2_990).await,
        ),
    };
    refunded(app, &a, "f_r_part_1", 2_500).await;
    refunded(app, &b, "f_r_full_1", 2_990).await;
    match channel {
        Channel::Wechat => {
            let mchid = support::app::sandbox_keys().wechat_mchid.clone();
            let body = json!({"mchid": mchid, "out_trade_no": "f_others_0000001", "amount": 1_234});
            sim_control(app, "/sim/wechat/external-trades".to_owned(), Some(body)).await;
        }
        Channel::Alipay => {
            let path = format!(
                "/sim/alipay/trades/f_others_0000001/record?app_id={}&amount=12.34",
                app.alipay.app_id
            );
            sim_control(app, path, None).await;
        }
    }
}

/// The channel's account and both of its bills of `day`, read through its adapters.
async fn run_day(app: &TestApp, channel: Channel, day: BillDay) -> gateway::reconcile::RunSummary {
    let reconciler = reconciler(app);
    match channel {
        Channel::Wechat => {
            let mchid = support::app::sandbox_keys().wechat_mchid.clone();
            let bill = wechat::open(&app.wechat.client, day).await;
            reconciler
                .run(
                    channel,
                    &mchid,
                    day,
                    bill,
                    wechat_funds::open(&app.wechat.client, day),
                )
                .await
                .unwrap()
        }
        Channel::Alipay => {
            let bill = alipay::open(&app.alipay.client, day).await;
            reconciler
                .run(
                    channel,
                    &app.alipay.app_id,
                    day,
                    bill,
                    alipay_funds::open(&app.alipay.client, day),
                )
                .await
                .unwrap()
        }
    }
}

fn account(app: &TestApp, channel: Channel) -> String {
    match channel {
        Channel::Wechat => support::app::sandbox_keys().wechat_mchid.clone(),
        Channel::Alipay => app.alipay.app_id.clone(),
    }
}

/// What the channel's own account-bill summary says came in and went out, and in how many rows.
async fn stated_by_the_channel(app: &TestApp, channel: Channel, day: BillDay) -> (u64, i64, i64) {
    match channel {
        Channel::Wechat => {
            let text = app
                .wechat
                .client
                .fund_flow_bill(day.date(), Some(wechatpay::FundAccountType::Basic), None)
                .await
                .unwrap();
            let mut reader = wechatpay::FundFlowBillReader::new(&text[..]).unwrap();
            while reader.next_row().unwrap().is_some() {}
            let s = reader.summary().unwrap();
            (s.rows, s.income, s.expense)
        }
        Channel::Alipay => {
            let url = app
                .alipay
                .client
                .bill_download_url(
                    ::alipay::BillType::SignCustomer,
                    ::alipay::BillPeriod::Day(day.date()),
                )
                .await
                .unwrap();
            let file = tempfile::NamedTempFile::new().unwrap();
            let mut out = tokio::fs::File::from_std(file.reopen().unwrap());
            app.alipay
                .client
                .download_bill(&url.bill_download_url, &mut out)
                .await
                .unwrap();
            let total = ::alipay::AccountBill::open(file.path())
                .unwrap()
                .summary()
                .total
                .clone();
            (
                total.income_count + total.outgo_count,
                total.income.0,
                -total.outgo.0,
            )
        }
    }
}

async fn a_clean_day_agrees_to_the_fen(app: &TestApp, channel: Channel) {
    usual_day(app, channel).await;
    let day = BillDay::of(Timestamp::now());
    let summary = run_day(app, channel, day).await;
    let (t, f) = (summary.totals, summary.funds);
    assert_eq!(
        (t.payments_fen, t.refunds_fen, t.fees_fen),
        (10_000 + 2_990 + 1_234, 2_500 + 2_990, FEES_KEPT - FEES_BACK)
    );
    // The account bill moved exactly what the trade bill lists, and nothing else.
    assert_eq!(
        (f.payments_fen, f.refunds_fen, f.fees_fen, f.other_fen()),
        (t.payments_fen, t.refunds_fen, t.fees_fen, 0),
        "{channel:?}"
    );
    assert_eq!(
        (f.income_fen, f.expense_fen),
        (t.payments_fen + FEES_BACK, t.refunds_fen + FEES_KEPT)
    );
    assert_eq!(f.net_fen(), t.net_fen());
    // What paygate counted is what the channel's own summary of the file says.
    let (rows, income, expense) = stated_by_the_channel(app, channel, day).await;
    assert_eq!(
        (i64::try_from(rows).unwrap(), income, expense),
        (f.movements, f.income_fen, f.expense_fen),
        "{channel:?}"
    );
    let (run, found) = app
        .db
        .store
        .reconciliation(channel, &account(app, channel), day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.funds),
        (ReconciliationStatus::Complete, Some(f))
    );
    let kinds: Vec<_> = found
        .iter()
        .map(|d| (d.kind, d.upstream_no.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(DiscrepancyKind::NotOurs, "f_others_0000001")],
        "{channel:?}"
    );
}

async fn a_fee_taken_otherwise_is_one_funds_mismatch(app: &TestApp, channel: Channel, taken: i64) {
    usual_day(app, channel).await;
    let order = app.stored(&app.site, "f_paid_00000001").await;
    let upstream = order.upstream_order_no.as_str().to_owned();
    match channel {
        Channel::Wechat => {
            let mchid = support::app::sandbox_keys().wechat_mchid.clone();
            let path = format!("/sim/wechat/orders/{upstream}/fund-flow-fee?mchid={mchid}");
            sim_control(app, path, Some(json!({"fee": taken}))).await;
        }
        Channel::Alipay => {
            let amount = format!("{}.{:02}", taken / 100, taken % 100);
            let path = format!(
                "/sim/alipay/trades/{upstream}/account-fee?app_id={}&amount={amount}",
                app.alipay.app_id
            );
            sim_control(app, path, None).await;
        }
    }
    let day = BillDay::of(Timestamp::now());
    let first = run_day(app, channel, day).await;
    // The trade bill is as it was: only the account bill's fee differs.
    assert_eq!(first.totals.fees_fen, FEES_KEPT - FEES_BACK);
    assert_eq!(first.funds.fees_fen, FEES_KEPT - FEES_BACK - 60 + taken);
    assert_eq!(
        first.new_discrepancies, 2,
        "the other system's trade, listed, and the fee"
    );
    let (run, found) = app
        .db
        .store
        .reconciliation(channel, &account(app, channel), day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, ReconciliationStatus::Complete);
    let funds: Vec<_> = found
        .iter()
        .filter(|d| d.kind == DiscrepancyKind::FundsMismatch)
        .collect();
    assert_eq!(funds.len(), 1, "{found:?}");
    let d = funds[0];
    assert_eq!(
        (
            d.upstream_no.as_str(),
            d.order_id,
            d.refund_id,
            d.resolution
        ),
        (upstream.as_str(), Some(order.id), None, Resolution::Anomaly)
    );
    // What moved under the number: WeChat Pay books the payment under its transaction, Alipay the
    // payment and its refund (25.00 out, 0.15 back) under the trade.
    let refund_net = match channel {
        Channel::Wechat => 0,
        Channel::Alipay => -2_500 + 15,
    };
    assert_eq!(
        (d.billed_fen, d.ours_fen),
        (
            Some(10_000 - taken + refund_net),
            Some(10_000 - 60 + refund_net)
        )
    );
    assert!(
        d.detail.ends_with(&format!(
            "fees taken 60 fen in the trade bill, {taken} fen in the account bill"
        )),
        "{}",
        d.detail
    );
    let anomalies = |sql: &'static str| async move { app.db.count(sql).await };
    assert_eq!(anomalies("SELECT COUNT(*) FROM anomalies").await, 1);
    let kind = format!(
        "SELECT COUNT(*) FROM anomalies WHERE kind = '{}' AND order_id = {}",
        AnomalyKind::BillMismatch.as_str(),
        order.id.as_i64()
    );
    assert_eq!(app.db.count(&kind).await, 1);

    // The same day again: the same report, no second discrepancy or anomaly.
    let second = run_day(app, channel, day).await;
    assert_eq!((second.new_discrepancies, second.funds), (0, first.funds));
    let (_, again) = app
        .db
        .store
        .reconciliation(channel, &account(app, channel), day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, found);
    assert_eq!(
        anomalies("SELECT CAST(SUM(occurrences) AS BIGINT) FROM anomalies").await,
        1
    );
}

/// WeChat Pay's fund-flow bill of `lines`, written out by hand: a header, a 交易 income and a
/// 扣除交易手续费 expense per payment, the summary.
fn fund_flow_file(lines: &[BillLine]) -> String {
    let yuan = |fen: i64| format!("{}.{:02}", fen / 100, fen % 100);
    let mut text = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\r\n".to_owned();
    let (mut income, mut expense, mut rows) = (0, 0, 0);
    for line in lines {
        let BillLine::Payment(p) = line else {
            panic!("payments only")
        };
        for (kind, way, fen) in [
            ("交易", "收入", p.amount_fen),
            ("扣除交易手续费", "支出", p.fee_fen),
        ] {
            rows += 1;
            if way == "收入" {
                income += fen
            } else {
                expense += fen
            }
            text.push_str(&format!(
                "`2026-01-01 10:00:00,`{},`1900000001202601010000{rows:04},`交易,`{kind},`{way},`{},`{},`system,`,`{}\r\n",
                p.transaction_id, yuan(fen), yuan(income - expense), p.upstream_order_no
            ));
        }
    }
    text.push_str("资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\r\n");
    text.push_str(&format!(
        "`{rows},`{},`{},`{},`{}\r\n",
        rows / 2,
        yuan(income),
        rows / 2,
        yuan(expense)
    ));
    text
}

fn on_disk(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

api_tests! {
    async fn a_past_day_without_trades_is_complete_and_its_account_bill_empty(app: TestApp) {
        use gateway::domain::JobKind;
        use gateway::reconcile::{ReconcileJob, ReconcileSettings};
        use gateway::workers::{JobHandler, JobOutcome};

        let store = &app.db.store;
        // Three days back: the day after it has ended, and its bill fell due, at any hour of today
        // in China (two days back is not past that before the morning's publication).
        let day = BillDay::of(Timestamp::now()).previous().previous().previous();
        store.request_reconciliation(Channel::Wechat, day, Timestamp::now()).await.unwrap();
        let jobs = store.claim_jobs(&[JobKind::ReconcileDay], "test", Timestamp::now(), Duration::from_secs(60), 10).await.unwrap();
        let handler = ReconcileJob::new(reconciler(&app), app.channels.clone(), ReconcileSettings::default());
        assert_eq!(handler.handle(jobs.into_iter().next().unwrap()).await, JobOutcome::Done);
        let (run, found) = store.reconciliation(Channel::Wechat, &account(&app, Channel::Wechat), day).await.unwrap().unwrap();
        assert_eq!((run.status, run.totals, run.funds), (ReconciliationStatus::Complete, BillTotals::default(), Some(gateway::domain::FundsTotals::default())));
        assert_eq!(found, []);
    }

    async fn a_clean_day_of_wechat_pay_moves_to_the_fen_what_its_trade_bill_lists(app: TestApp) {
        a_clean_day_agrees_to_the_fen(&app, Channel::Wechat).await;
    }

    async fn a_clean_day_of_alipay_moves_to_the_fen_what_its_trade_bill_lists(app: TestApp) {
        a_clean_day_agrees_to_the_fen(&app, Channel::Alipay).await;
    }

    async fn a_fee_the_fund_flow_bill_took_otherwise_is_one_funds_mismatch_reported_once(app: TestApp) {
        a_fee_taken_otherwise_is_one_funds_mismatch(&app, Channel::Wechat, 50).await;
    }

    async fn a_fee_missing_from_alipays_account_bill_is_one_funds_mismatch_reported_once(app: TestApp) {
        a_fee_taken_otherwise_is_one_funds_mismatch(&app, Channel::Alipay, 0).await;
    }

    async fn an_account_bill_cut_short_or_not_out_yet_fails_the_run_and_is_no_report(app: TestApp) {
        let order = paid_wechat(&app, "f_cut_000000001", 10_000).await;
        let lines = vec![billed(&app, &order, 10_000).await];
        let summary = totals(&lines);
        let reconciler = reconciler(&app);
        let day = BillDay::of(Timestamp::now());
        let whole = fund_flow_file(&lines);

        // Read whole from a file the test wrote, the account bill agrees and the day is complete.
        let file = on_disk(&whole);
        let funds = std::future::ready(Ok(wechat_funds::read_file(file.path().to_owned())));
        let done = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, Some(summary))), funds).await.unwrap();
        assert_eq!((done.funds.movements, done.funds.payments_fen, done.funds.fees_fen), (2, 10_000, fee(10_000)));
        assert_eq!(done.new_discrepancies, 0);

        // Cut short (the summary lost, or the file ends inside it), streamed without its summary,
        // or not published yet: the run fails and the day is no report.
        let without_summary = whole.split("资金流水总笔数").next().unwrap().to_owned();
        let inside = whole[..whole.len() - 8].to_owned();
        for text in [without_summary, inside] {
            let file = on_disk(&text);
            let funds = std::future::ready(Ok(wechat_funds::read_file(file.path().to_owned())));
            let cut = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, Some(summary))), funds).await;
            assert!(matches!(cut, Err(ReconcileError::Bill(BillError::Unusable(_)))), "{cut:?}");
            let (failed, _) = app.db.store.reconciliation(Channel::Wechat, ACCOUNT, day).await.unwrap().unwrap();
            assert_eq!(failed.status, ReconciliationStatus::Failed);
            assert!(failed.error.as_deref().unwrap().contains("the account bill"), "{failed:?}");
        }
        let streamed = std::future::ready(Ok(funds_stream(&agreeing_funds(&lines), true)));
        let cut = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, Some(summary))), streamed).await;
        assert!(matches!(cut, Err(ReconcileError::Bill(BillError::Unusable(_)))), "{cut:?}");
        let later = std::future::ready(Err(BillError::NotYetAvailable(day)));
        let cut = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, Some(summary))), later).await;
        assert!(matches!(cut, Err(ReconcileError::Bill(BillError::NotYetAvailable(_)))), "{cut:?}");
        let (failed, found) = app.db.store.reconciliation(Channel::Wechat, ACCOUNT, day).await.unwrap().unwrap();
        assert_eq!(failed.status, ReconciliationStatus::Failed);
        assert_eq!(found, []);

        // A fee movement missing from the file is one funds_mismatch; read whole again, the day
        // completes with the same report.
        let no_fee: String = whole.lines().filter(|l| !l.contains("扣除交易手续费")).map(|l| {
            if l.starts_with("`2,") { "`1,`1,`100.00,`0,`0.00".to_owned() } else { l.to_owned() }
        }).map(|l| l + "\r\n").collect();
        let file = on_disk(&no_fee);
        let funds = std::future::ready(Ok(wechat_funds::read_file(file.path().to_owned())));
        let short = reconciler.run(Channel::Wechat, ACCOUNT, day, Ok(stream(&lines, Some(summary))), funds).await.unwrap();
        assert_eq!(short.new_discrepancies, 1);
        let (run, found) = app.db.store.reconciliation(Channel::Wechat, ACCOUNT, day).await.unwrap().unwrap();
        assert_eq!(run.status, ReconciliationStatus::Complete);
        let report: Vec<_> = found.iter().map(|d| (d.kind, d.upstream_no.as_str(), d.billed_fen, d.ours_fen)).collect();
        assert_eq!(report, [(DiscrepancyKind::FundsMismatch, order.upstream_order_no.as_str(), Some(10_000), Some(10_000 - fee(10_000)))]);
    }
}

//! Reconciliation and statements in the console: operators read the days and a day's report (its
//! figures, its discrepancies linking to their orders), an admin plans a day again (audited), and
//! nobody else may; a site user sees no reconciliation, and downloads their own site's statement —
//! the API's bytes — and no other site's. Dates that are not days, odd paths and forged forms are
//! refused with the console's pages, never a 500.

use std::time::Duration;

use gateway::domain::{
    BillDay, Channel, JobSubject, Order, OrderStatus, Reconciliation, RefundStatus, Role, Site,
    Timestamp,
};
use gateway::reconcile::Reconciler;
use gateway::service::{OrderService, ServiceSettings};
use serde_json::json;

use crate::support::app::{Signing, TestApp};
use crate::{Browser, Page, console_tests, paid_order, user};

/// `fen` as the console writes yuan (below a thousand yuan: no separators).
fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

async fn until_paid(app: &TestApp, site: &Site, no: &str) -> Order {
    for _ in 0..200 {
        let order = app.stored(site, no).await;
        if order.status == OrderStatus::Paid {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {no} was never recorded as paid");
}

/// A day of Alipay reconciled from the simulator's real bill: one payment matched, one paid
/// upstream whose callback was lost (repaired), one billed at another amount (an anomaly), and
/// another system's trade (listed). The run, and the orders of the lost and the mismatched lines.
async fn reconciled_alipay_day(app: &TestApp, day: BillDay) -> (Reconciliation, Order, Order) {
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
    let create = |no: &'static str, fen: i64| {
        let body = json!({"out_trade_no": no, "channel": "alipay", "method": "qr",
            "description": "对账", "amount_total": fen});
        let app = &app;
        let site = &site;
        async move {
            app.create_order_as(site, &body).await.assert_ok();
            app.stored(site, no).await
        }
    };
    let paid = create("a_paid_000000001", 10_000).await;
    sim(format!(
        "/sim/alipay/trades/{}/pay?app_id={app_id}",
        paid.upstream_order_no.as_str()
    ))
    .await;
    until_paid(app, &site, "a_paid_000000001").await;
    let lost = create("a_lost_000000001", 2_990).await;
    app.db
        .execute(&format!(
            "DELETE FROM jobs WHERE kind = 'check_order' AND subject = '{}'",
            lost.id.as_i64()
        ))
        .await;
    sim(format!(
        "/sim/alipay/trades/{}/pay-silently?app_id={app_id}",
        lost.upstream_order_no.as_str()
    ))
    .await;
    let diff = create("a_diff_000000001", 500).await;
    sim(format!(
        "/sim/alipay/trades/{}/pay?app_id={app_id}",
        diff.upstream_order_no.as_str()
    ))
    .await;
    until_paid(app, &site, "a_diff_000000001").await;
    sim(format!(
        "/sim/alipay/trades/{}/billed-amount?app_id={app_id}&amount=5.01",
        diff.upstream_order_no.as_str()
    ))
    .await;
    sim(format!(
        "/sim/alipay/trades/another_system_0002/record?app_id={app_id}&amount=12.34"
    ))
    .await;
    let orders = OrderService::new(
        app.db.store.clone(),
        app.channels.clone(),
        ServiceSettings::new(app.public_url.clone()),
    );
    let reconciler = Reconciler::new(app.db.store.clone(), orders);
    let bill = gateway::reconcile::alipay::open(&app.alipay.client, day).await;
    let funds = gateway::reconcile::alipay_funds::open(&app.alipay.client, day);
    reconciler
        .run(Channel::Alipay, &app_id, day, bill, funds)
        .await
        .unwrap();
    let (run, found) = app
        .db
        .store
        .reconciliation(Channel::Alipay, &app_id, day)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.len(), 3, "{found:?}");
    (run, lost, diff)
}

/// How many `data-testid="{id}"` the page has.
fn count(page: &Page, id: &str) -> usize {
    page.body.matches(&format!("data-testid=\"{id}\"")).count()
}

console_tests! {
    async fn operators_read_the_days_and_an_admin_alone_runs_one_again(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        user(&app, "viewer@example.com", Role::Viewer).await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        let day = BillDay::of(Timestamp::now());
        let (run, lost, diff) = reconciled_alipay_day(&app, day).await;
        // WeChat Pay's bill of the day failed, and the day before is planned, not run yet.
        let mchid = app.wechat.mchid.clone();
        let failed = app.db.store.start_reconciliation(Channel::Wechat, &mchid, day, Timestamp::now()).await.unwrap();
        app.db.store.finish_reconciliation(failed, Err("hash mismatch: the bill is corrupt"), Timestamp::now()).await.unwrap();
        let due = Timestamp::now().plus(Duration::from_secs(3600));
        app.db.store.request_reconciliation(Channel::Wechat, day.previous(), due).await.unwrap();

        let mut ops = Browser::signed_in(&app, "ops@example.com").await;
        ops.get("/console").await.assert_status(200).assert_contains("data-testid=\"nav-reconciliation\"");
        let list = ops.get("/console/reconciliation").await;
        list.assert_status(200);
        assert_eq!(count(&list, "day-row"), 3, "{}", list.body);
        let t = &run.totals;
        assert_eq!((t.payments, t.payments_fen), (4, 10_000 + 2_990 + 501 + 1_234));
        for figure in [
            format!("data-testid=\"day-payments\">{}<", t.payments),
            format!("data-testid=\"day-paid\">{}<", yuan(t.payments_fen)),
            format!("data-testid=\"day-fees\">{}<", yuan(t.fees_fen)),
            format!("data-testid=\"day-net\">{}<", yuan(t.net_fen())),
            format!("data-testid=\"day-matched\">{}<", run.matched),
            "<strong class=\"error-text\">3</strong>".to_owned(),
            format!("href=\"/console/reconciliation/alipay/{day}\""),
            format!("href=\"/console/reconciliation/wechat/{}\"", day.previous()),
            "hash mismatch: the bill is corrupt".to_owned(),
            "data-status=\"planned\"".to_owned(),
            "data-status=\"failed\"".to_owned(),
            "data-status=\"complete\"".to_owned(),
        ] {
            list.assert_contains(&figure);
        }
        // Newest first: today's two accounts, then yesterday's plan.
        let today = list.body.find(&format!("/console/reconciliation/alipay/{day}")).unwrap();
        let yesterday = list.body.find(&format!("/console/reconciliation/wechat/{}", day.previous())).unwrap();
        assert!(today < yesterday);
        assert_eq!(count(&list, "next-page"), 0, "one page");

        let report = ops.get(&format!("/console/reconciliation/alipay/{day}")).await;
        report.assert_status(200);
        assert_eq!(count(&report, "discrepancy-row"), 3, "{}", report.body);
        // The account bill's figures beside the trade bill's.
        let funds = run.funds.expect("the account bill was read");
        report
            .assert_contains(&format!("data-testid=\"funds-movements\">{}<", funds.movements))
            .assert_contains(&format!("data-testid=\"funds-net\">¥{}<", yuan(funds.net_fen())));
        report
            .assert_contains(&format!("data-testid=\"run-paid\">¥{}<", yuan(t.payments_fen)))
            .assert_contains(&format!("data-testid=\"run-net\">¥{}<", yuan(t.net_fen())))
            .assert_contains("data-kind=\"amount_mismatch\" data-resolution=\"anomaly\"")
            .assert_contains("data-kind=\"paid_upstream_only\" data-resolution=\"repaired\"")
            .assert_contains("data-kind=\"not_ours\" data-resolution=\"listed\"")
            .assert_contains(&format!("<a href=\"/console/orders/{}\" data-testid=\"discrepancy-order\">a_diff_000000001</a>", diff.id.as_i64()))
            .assert_contains(&format!("<a href=\"/console/orders/{}\" data-testid=\"discrepancy-order\">a_lost_000000001</a>", lost.id.as_i64()))
            .assert_contains("another_system_0002")
            .assert_contains(">5.01<").assert_contains(">5.00<")
            .assert_contains("data-testid=\"rerun-form\"");
        // Another system's trade is no order of paygate's: no link.
        assert_eq!(count(&report, "discrepancy-order"), 2);
        // The link leads to the order, which shows the fee its bill stated.
        let order = ops.get(&format!("/console/orders/{}", lost.id.as_i64())).await;
        order.assert_status(200).assert_contains("渠道手续费（账单，元）");
        let wechat = ops.get(&format!("/console/reconciliation/wechat/{day}")).await;
        wechat.assert_status(200).assert_contains("data-testid=\"run-error\">hash mismatch: the bill is corrupt<");
        let planned = ops.get(&format!("/console/reconciliation/wechat/{}?lang=en", day.previous())).await;
        planned.assert_status(200).assert_contains("data-testid=\"not-run\"").assert_contains("planned for ");

        // Run again: audited, then planned due now.
        let csrf = report.csrf();
        let rerun = format!("/console/reconciliation/alipay/{day}/rerun");
        let asked = Timestamp::now();
        let done = ops.post(&rerun, &[("csrf", &csrf)]).await;
        done.assert_status(303);
        assert_eq!(done.location(), Some(format!("/console/reconciliation/alipay/{day}?done=rerun").as_str()));
        ops.get(done.location().unwrap()).await.assert_status(200).assert_contains("data-testid=\"notice\"").assert_contains("data-testid=\"day-planned\"");
        let job = app.db.store.find_job(&JobSubject::Bill(Channel::Alipay, day)).await.unwrap().expect("planned");
        assert!(job.due_at >= asked.minus(Duration::from_secs(1)) && job.due_at <= Timestamp::now(), "{job:?}");
        let entry = app.db.store.list_audit(1).await.unwrap().remove(0);
        assert_eq!(entry.action, "reconciliation.request");
        assert_eq!((entry.object_kind.as_deref(), entry.object_id.as_deref()), (Some("reconciliation"), Some(format!("alipay:{day}").as_str())));
        assert_eq!((entry.actor_email.as_deref(), entry.ip.as_deref()), (Some("ops@example.com"), Some("127.0.0.1")));
        let audited = app.db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'reconciliation.request'").await;
        assert_eq!(audited, 1);

        // A forged form, none, or one from elsewhere plans nothing.
        app.db.execute("DELETE FROM jobs WHERE kind = 'reconcile_day'").await;
        ops.post(&rerun, &[("csrf", "forged0000000000000000000000000")]).await.assert_status(403);
        ops.post(&rerun, &[]).await.assert_status(403);
        ops.post_from(&rerun, &[("csrf", &csrf)], Some("https://evil.example")).await.assert_status(403);
        ops.post_from(&rerun, &[("csrf", &csrf)], None).await.assert_status(403);

        // A viewer reads, without the button, and their forms are refused.
        let mut viewer = Browser::signed_in(&app, "viewer@example.com").await;
        viewer.get("/console").await.assert_contains("data-testid=\"nav-reconciliation\"");
        viewer.get("/console/reconciliation").await.assert_status(200).assert_contains("data-testid=\"day-row\"");
        let seen = viewer.get(&format!("/console/reconciliation/alipay/{day}")).await;
        seen.assert_status(200).assert_contains("data-testid=\"discrepancy-row\"").assert_lacks("data-testid=\"rerun-form\"");
        viewer.post(&rerun, &[("csrf", &seen.csrf())]).await.assert_status(403);

        // A site user sees none of it, by the menu or by the URL, and may not plan a day.
        let mut shop = Browser::signed_in(&app, "shop@example.com").await;
        let dashboard = shop.get("/console").await;
        dashboard.assert_status(200).assert_lacks("nav-reconciliation");
        for path in [
            "/console/reconciliation".to_owned(),
            format!("/console/reconciliation?before={day}"),
            format!("/console/reconciliation/alipay/{day}"),
            format!("/console/reconciliation/wechat/{}", day.previous()),
        ] {
            let page = shop.get(&path).await;
            page.assert_status(403).assert_lacks("a_diff_000000001").assert_lacks("another_system");
        }
        shop.post(&rerun, &[("csrf", &dashboard.csrf())]).await.assert_status(403);

        assert_eq!(app.db.count("SELECT COUNT(*) FROM jobs WHERE kind = 'reconcile_day'").await, 0, "nothing planned");
        assert_eq!(app.db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'reconciliation.request'").await, 1, "nothing audited");
    }

    async fn odd_days_channels_and_paths_get_the_consoles_400_and_404_pages(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let day = BillDay::of(Timestamp::now());
        let mchid = app.wechat.mchid.clone();
        let id = app.db.store.start_reconciliation(Channel::Wechat, &mchid, day, Timestamp::now()).await.unwrap();
        app.db.store.finish_reconciliation(id, Ok((&Default::default(), 0)), Timestamp::now()).await.unwrap();
        let mut ops = Browser::signed_in(&app, "ops@example.com").await;
        let csrf = ops.csrf().await;
        for bad in ["2026-02-30", "2026-2-1", "2026-13-01", "20261129", "99999999999999999999-01-01", "2026-01-01%00", "..%2F..%2Fconsole%2Faudit", "%27%20OR%201%3D1--", "2026-01-01T00:00:00Z"] {
            let page = ops.get(&format!("/console/reconciliation/wechat/{bad}")).await;
            page.assert_status(400).assert_contains("data-testid=\"error\"");
            ops.post(&format!("/console/reconciliation/wechat/{bad}/rerun"), &[("csrf", &csrf)]).await.assert_status(400);
            ops.get(&format!("/console/reconciliation?before={bad}")).await.assert_status(400).assert_contains("data-testid=\"error\"");
        }
        // A channel paygate does not know, a day neither run nor planned, a path of no page.
        for path in [
            format!("/console/reconciliation/paypal/{day}"),
            format!("/console/reconciliation/WECHAT/{day}"),
            format!("/console/reconciliation/alipay/{day}"),
            "/console/reconciliation/wechat/2000-01-01".to_owned(),
            "/console/reconciliation/wechat/9999-12-31".to_owned(),
            format!("/console/reconciliation/wechat/{day}/rerun"),
            format!("/console/reconciliation/wechat/{day}/extra/more"),
            "/console/reconciliation/wechat".to_owned(),
        ] {
            ops.get(&path).await.assert_status(404).assert_contains("data-testid=\"error\"");
        }
        for path in [
            format!("/console/reconciliation/paypal/{day}/rerun"),
            "/console/reconciliation/wechat/2000-01-01/rerun".to_owned(),
            format!("/console/reconciliation/wechat/{day}"),
        ] {
            ops.post(&path, &[("csrf", &csrf)]).await.assert_status(404);
        }
        assert_eq!(app.db.count("SELECT COUNT(*) FROM jobs WHERE kind = 'reconcile_day'").await, 0);
        // Tomorrow, planned for when its bill is out: shown, but not to be run before it begins.
        let tomorrow = day.next();
        let due = Timestamp::now().plus(Duration::from_secs(86_400));
        app.db.store.request_reconciliation(Channel::Wechat, tomorrow, due).await.unwrap();
        let planned = ops.get(&format!("/console/reconciliation/wechat/{tomorrow}")).await;
        planned.assert_status(200).assert_contains("data-testid=\"day-planned\"").assert_lacks("data-testid=\"rerun-form\"");
        ops.post(&format!("/console/reconciliation/wechat/{tomorrow}/rerun"), &[("csrf", &csrf)]).await.assert_status(404);
        let job = app.db.store.find_job(&JobSubject::Bill(Channel::Wechat, tomorrow)).await.unwrap().unwrap();
        assert_eq!(job.due_at, due, "not moved");
        assert_eq!(app.db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'reconciliation.request'").await, 0);
        app.db.execute("DELETE FROM jobs WHERE kind = 'reconcile_day'").await;
        // An empty day is a report too.
        let empty = ops.get(&format!("/console/reconciliation/wechat/{day}")).await;
        empty.assert_status(200).assert_contains("data-testid=\"no-discrepancies\"").assert_contains("data-testid=\"run-net\">¥0.00<");
        ops.get("/console/reconciliation?before=2000-01-01").await.assert_status(200).assert_contains("data-testid=\"no-days\"");
    }

    async fn the_days_are_paged_a_month_at_a_time_newest_first_with_the_planned_ones(app: TestApp) {
        user(&app, "viewer@example.com", Role::Viewer).await;
        let today = BillDay::of(Timestamp::now());
        let mchid = app.wechat.mchid.clone();
        let mut day = today;
        let mut days = Vec::new();
        for _ in 0..33 {
            day = day.previous();
            days.push(day);
            let id = app.db.store.start_reconciliation(Channel::Wechat, &mchid, day, Timestamp::now()).await.unwrap();
            app.db.store.finish_reconciliation(id, Ok((&Default::default(), 0)), Timestamp::now()).await.unwrap();
        }
        // Planned, not run: today's, and an old day of Alipay's beyond the first page.
        app.db.store.request_reconciliation(Channel::Wechat, today, Timestamp::now()).await.unwrap();
        let old = days[31];
        app.db.store.request_reconciliation(Channel::Alipay, old, Timestamp::now()).await.unwrap();
        let mut viewer = Browser::signed_in(&app, "viewer@example.com").await;
        let first = viewer.get("/console/reconciliation").await;
        first.assert_status(200);
        assert_eq!(count(&first, "day-row"), 30, "{}", first.body);
        first.assert_contains(&format!("/console/reconciliation/wechat/{today}\""));
        let last_shown = days[28];
        first
            .assert_contains(&format!("/console/reconciliation/wechat/{last_shown}\""))
            .assert_lacks(&format!("/console/reconciliation/wechat/{}\"", days[29]))
            .assert_contains(&format!("href=\"/console/reconciliation?before={last_shown}\" rel=\"next\""))
            .assert_lacks("data-testid=\"first-page\"");
        let second = viewer.get(&format!("/console/reconciliation?before={last_shown}")).await;
        second.assert_status(200).assert_contains("data-testid=\"first-page\"").assert_lacks("data-testid=\"next-page\"");
        // Days 30 to 33 back, and the old day's Alipay plan beside its WeChat Pay run.
        assert_eq!(count(&second, "day-row"), 5, "{}", second.body);
        second
            .assert_contains(&format!("/console/reconciliation/alipay/{old}\""))
            .assert_contains(&format!("/console/reconciliation/wechat/{}\"", days[32]))
            .assert_lacks(&format!("/console/reconciliation/wechat/{last_shown}\""));
    }

    async fn a_site_downloads_its_own_statement_as_the_api_gives_it_and_no_other_sites(app: TestApp) {
        let other = app.another_site("other shop").await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        user(&app, "viewer@example.com", Role::Viewer).await;
        user(&app, "ops@example.com", Role::Admin).await;
        let mine = paid_order(&app, &app.site, "o_mine_000000001", 10_000).await;
        paid_order(&app, &other, "o_theirs_00000001", 7_000).await;
        let body = json!({"out_refund_no": "r_mine_1", "amount": 2_500}).to_string();
        app.signed("POST", "/v1/orders/o_mine_000000001/refunds", &body).await.assert_ok();
        for _ in 0..200 {
            let refunds = app.db.store.refunds_for_order(&app.site.id, gateway::domain::OrderId::from_i64(mine)).await.unwrap();
            if refunds.first().is_some_and(|r| r.status == RefundStatus::Succeeded) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let day = BillDay::of(Timestamp::now());
        let site = app.site.id.as_str().to_owned();
        let theirs = other.id.as_str().to_owned();

        let mut shop = Browser::signed_in(&app, "shop@example.com").await;
        let portal = shop.get(&format!("/console/sites/{site}")).await;
        portal.assert_status(200).assert_contains("data-testid=\"statement-form\"").assert_contains("type=\"date\"")
            .assert_contains(&format!("action=\"/console/sites/{site}/statement\""));
        for (format, query) in [("csv", "&format=csv"), ("json", "&format=json"), ("json", "")] {
            let api = app.signed("GET", &format!("/v1/statements/{day}?format={format}"), "").await;
            api.assert_ok();
            let file = shop.get(&format!("/console/sites/{site}/statement?date={day}{query}")).await;
            file.assert_status(200);
            assert_eq!(file.body, api.text, "{format}: the API's bytes");
            assert_eq!(file.headers["content-type"], api.headers["content-type"]);
            assert_eq!(
                file.headers["content-disposition"].to_str().unwrap(),
                format!("attachment; filename=\"statement-{site}-{day}.{format}\"")
            );
            assert_eq!(file.headers["cache-control"], "no-store");
            assert!(file.body.contains("o_mine_000000001") && !file.body.contains("o_theirs"), "{}", file.body);
        }
        let csv = shop.get(&format!("/console/sites/{site}/statement?date={day}&format=csv")).await;
        assert!(csv.body.contains("\nrefund,o_mine_000000001,r_mine_1,wechat,,"), "{}", csv.body);
        // Another site's, by changing the id in the URL: not found, as its page is.
        for query in [format!("date={day}&format=csv"), format!("date={day}")] {
            let page = shop.get(&format!("/console/sites/{theirs}/statement?{query}")).await;
            page.assert_status(404).assert_lacks("o_theirs").assert_lacks("other shop");
        }
        for id in ["site_doesnotexist", "..", "%2E%2E%2Fadmin", "site_x%00", "x'--"] {
            shop.get(&format!("/console/sites/{id}/statement?date={day}&format=csv")).await.assert_status(404);
        }
        // Dates that are not days, and formats that are not CSV or JSON: the 400 page.
        for bad in ["", "2026-02-30", "2026-2-1", "99999999999999999999-01-01", "..%2F..%2Fetc%2Fpasswd", "2026-01-01T00:00:00Z", "%E2%80%8B2026-01-01"] {
            let page = shop.get(&format!("/console/sites/{site}/statement?date={bad}&format=csv")).await;
            page.assert_status(400).assert_contains("data-testid=\"error-message\"").assert_contains("YYYY-MM-DD");
        }
        for bad in ["xml", "CSV", "", "csv%00"] {
            shop.get(&format!("/console/sites/{site}/statement?date={day}&format={bad}")).await.assert_status(400);
        }
        shop.post(&format!("/console/sites/{site}/statement"), &[("csrf", &portal.csrf())]).await.assert_status(404);

        // An operator downloads any site's, from its page: the bytes that site's API call gets.
        for email in ["viewer@example.com", "ops@example.com"] {
            let mut operator = Browser::signed_in(&app, email).await;
            operator.get(&format!("/console/sites/{theirs}")).await.assert_status(200).assert_contains("data-testid=\"statement-form\"");
            let api = app.signed_as(&other, "GET", &format!("/v1/statements/{day}?format=csv"), "", Signing::default()).await;
            let file = operator.get(&format!("/console/sites/{theirs}/statement?date={day}&format=csv")).await;
            file.assert_status(200);
            assert_eq!(file.body, api.text);
            assert!(file.body.contains("o_theirs_00000001") && !file.body.contains("o_mine"), "{}", file.body);
        }
        // A day without trades is a statement too, of nothing.
        let empty = shop.get(&format!("/console/sites/{site}/statement?date=2000-01-01&format=json")).await;
        empty.assert_status(200);
        let json: serde_json::Value = serde_json::from_str(&empty.body).unwrap();
        assert_eq!(json["totals"]["payments"], 0);
    }
}

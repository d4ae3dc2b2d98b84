//! The actions on an order from its page: each confirmed first, each reaching the service the API
//! uses, each in the audit log with who, what, which order and from where.

use std::time::Duration;

use gateway::domain::{OrderId, OrderStatus, Role};

use crate::support::app::TestApp;
use crate::{Browser, Page, console_tests, paid_order, pending_order, user};

/// The confirmation page's form, posted as a person clicking "confirm" would.
async fn confirm(browser: &mut Browser, page: &Page, action: &str) -> Page {
    page.assert_status(200)
        .assert_contains("data-testid=\"confirm\"");
    let mut fields = Vec::new();
    for name in ["csrf", "confirm", "amount", "reason", "out_refund_no"] {
        if let Some(value) = page.hidden(name) {
            fields.push((name, value));
        }
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(action, &fields).await
}

/// The amounts of the demo site's order's refunds.
async fn refunded_fen(app: &TestApp, order: i64) -> Vec<i64> {
    app.db
        .store
        .refunds_for_order(&app.site.id, OrderId::from_i64(order))
        .await
        .unwrap()
        .iter()
        .map(|r| r.amount.as_i64())
        .collect()
}

console_tests! {
    async fn a_refund_typed_in_yuan_reaches_the_refund_service_after_its_confirmation(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let order = paid_order(&app, &app.site, "o_refund", 10_000).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let page = browser.get(&format!("/console/orders/{order}")).await;
        page.assert_status(200).assert_contains("data-testid=\"refund-form\"");
        let action = format!("/console/orders/{order}/refund");
        let asked = browser.post(&action, &[("csrf", &page.csrf()), ("amount", "10.5"), ("reason", "客户退货")]).await;
        // Nothing is done before the confirmation, which says how much, exactly.
        asked.assert_contains("10.50").assert_contains("o_refund");
        assert!(refunded_fen(&app, order).await.is_empty());
        let number = asked.hidden("out_refund_no").unwrap();
        assert!(number.starts_with("op_"), "{number}");
        let done = confirm(&mut browser, &asked, &action).await;
        done.assert_status(303);
        assert_eq!(done.location(), Some(format!("/console/orders/{order}?done=refund").as_str()));
        assert_eq!(refunded_fen(&app, order).await, [1050]);
        let refund = app.db.store.find_refund(&app.site.id, &gateway::domain::OutRefundNo::parse(&number).unwrap()).await.unwrap().unwrap();
        assert_eq!(refund.reason.unwrap().as_str(), "客户退货");
        // The same confirmation again is the same refund, not a second one.
        confirm(&mut browser, &asked, &action).await.assert_status(303);
        assert_eq!(refunded_fen(&app, order).await, [1050]);
        let after = browser.get(&format!("/console/orders/{order}?done=refund")).await;
        after.assert_contains("退款已提交").assert_contains("data-testid=\"refund-row\"").assert_contains(">10.50<");
        // The simulator settles it, and the site is told, as for a refund through the API.
        for _ in 0..200 {
            let r = app.db.store.refund_by_id(refund.id).await.unwrap().unwrap();
            if r.status != gateway::domain::RefundStatus::Processing {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = app.db.store.list_audit(20).await.unwrap();
        let entry = log.iter().find(|e| e.action == "order.refund").unwrap();
        assert_eq!(entry.actor_email.as_deref(), Some("ops@example.com"));
        assert_eq!(entry.object_kind.as_deref(), Some("order"));
        assert_eq!(entry.object_id.as_deref(), Some(order.to_string().as_str()));
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        assert!(entry.detail.contains("o_refund") && entry.detail.contains("10.50"), "{}", entry.detail);
    }

    async fn refund_amounts_are_read_exactly_or_refused(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let order = paid_order(&app, &app.site, "o_yuan", 10_000).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let csrf = browser.csrf().await;
        let action = format!("/console/orders/{order}/refund");
        for bad in ["10.505", "-1", "1e2", ".5", "12.", "0", "0.00", "012", "1,000", "¥5", "", "99999999999"] {
            let page = browser.post(&action, &[("csrf", &csrf), ("amount", bad)]).await;
            page.assert_status(400).assert_contains("金额格式不对");
            let page = browser.post(&action, &[("csrf", &csrf), ("amount", bad), ("confirm", "yes")]).await;
            page.assert_status(400);
        }
        assert!(refunded_fen(&app, order).await.is_empty());
        for (typed, shown) in [("0.01", "0.01"), ("12", "12.00"), ("12.3", "12.30"), ("99.99", "99.99")] {
            let page = browser.post(&action, &[("csrf", &csrf), ("amount", typed)]).await;
            page.assert_status(200).assert_contains(shown);
        }
        // More than is left: the refund service says no, the page says why, the log says it was tried.
        let too_much = browser.post(&action, &[("csrf", &csrf), ("amount", "100.01"), ("confirm", "yes")]).await;
        too_much.assert_status(409).assert_contains("data-testid=\"notice\"");
        assert!(refunded_fen(&app, order).await.is_empty());
        let log = app.db.store.list_audit(5).await.unwrap();
        assert!(log.iter().any(|e| e.action == "order.refund" && e.detail.contains("refused")));
    }

    async fn an_open_order_is_closed_and_asked_about_from_its_page(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let order = pending_order(&app, &app.site, "o_close").await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let page = browser.get(&format!("/console/orders/{order}")).await;
        page.assert_contains("data-testid=\"close\"");
        let query = format!("/console/orders/{order}/query");
        let asked = browser.post(&query, &[("csrf", &page.csrf())]).await;
        let done = confirm(&mut browser, &asked, &query).await;
        done.assert_status(303);
        assert_eq!(done.location(), Some(format!("/console/orders/{order}?done=query_not_paid").as_str()));
        browser.get(done.location().unwrap()).await.assert_contains("未支付");
        let close = format!("/console/orders/{order}/close");
        let asked = browser.post(&close, &[("csrf", &page.csrf())]).await;
        assert_eq!(app.stored_status(&app.site, "o_close").await, OrderStatus::Pending);
        confirm(&mut browser, &asked, &close).await.assert_status(303);
        assert_eq!(app.stored_status(&app.site, "o_close").await, OrderStatus::Closed);
        let page = browser.get(&format!("/console/orders/{order}")).await;
        page.assert_contains("data-status=\"closed\"").assert_contains("closed_by_site").assert_lacks("data-testid=\"close\"");
        let actions: Vec<_> = app.db.store.list_audit(10).await.unwrap().into_iter().map(|e| e.action).collect();
        assert!(actions.contains(&"order.close".to_owned()) && actions.contains(&"order.query".to_owned()), "{actions:?}");
    }

    async fn a_notification_is_sent_again_from_the_order_page(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let order = paid_order(&app, &app.site, "o_notify", 10_000).await;
        let event = app.db.store.notifications_for_order(&app.site.id, OrderId::from_i64(order)).await.unwrap()[0].id.clone();
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let page = browser.get(&format!("/console/orders/{order}")).await;
        page.assert_contains(&event).assert_contains("TRANSACTION.SUCCESS");
        // The timeline tells the story in order, whatever clock each step's time came from.
        let at = |text: &str| page.body.find(text).unwrap_or_else(|| panic!("{text}: {}", page.body));
        assert!(at("upstream_accepted") < at("→ 已支付"));
        assert!(at("→ 已支付") < at(&format!("TRANSACTION.SUCCESS {event}")));
        let action = format!("/console/orders/{order}/notifications/{event}/resend");
        let asked = browser.post(&action, &[("csrf", &page.csrf())]).await;
        asked.assert_contains(&event);
        let done = confirm(&mut browser, &asked, &action).await;
        done.assert_status(303);
        assert_eq!(done.location(), Some(format!("/console/orders/{order}?done=resend").as_str()));
        let log = app.db.store.list_audit(5).await.unwrap();
        assert!(log.iter().any(|e| e.action == "notification.resend" && e.detail.contains(&event)));
        // An event id that is not this order's is not found.
        browser.post(
            &format!("/console/orders/{order}/notifications/evt_nope/resend"),
            &[("csrf", &page.csrf()), ("confirm", "yes")],
        ).await.assert_status(404);
    }

    async fn a_refused_action_is_explained_in_the_pages_language(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let order = paid_order(&app, &app.site, "o_refused", 10_000).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let csrf = browser.csrf().await;
        let refund = format!("/console/orders/{order}/refund");
        let close = format!("/console/orders/{order}/close");
        let too_much = [("csrf", csrf.as_str()), ("amount", "100.01"), ("confirm", "yes")];
        let closing = [("csrf", csrf.as_str()), ("confirm", "yes")];
        // Chinese, all of it: not the service's English.
        browser.post(&refund, &too_much).await
            .assert_status(409)
            .assert_contains("操作未完成：退款金额超过了可退金额：还可退 100.00 元。")
            .assert_lacks("exceeds");
        browser.post(&close, &closing).await
            .assert_status(409)
            .assert_contains("操作未完成：订单已经是“已支付”，不能关闭。")
            .assert_lacks("already");
        // English on the English page.
        browser.get("/console?lang=en").await.assert_status(200);
        browser.post(&refund, &too_much).await
            .assert_status(409)
            .assert_contains("Not done: The refund is more than what is left to refund: 100.00 yuan.")
            .assert_lacks("退款金额");
        browser.post(&close, &closing).await
            .assert_status(409)
            .assert_contains("status is Paid: it can no longer be closed.");
        assert!(refunded_fen(&app, order).await.is_empty());
    }
}

/// A node that dies while the channel answers a refund (the failpoint hangs it there, as the
/// crash tests kill it there): the refund may be made upstream, so who asked for it is already in
/// the audit log.
async fn refund_asked_then_the_node_dies(backend: crate::support::Backend) {
    crate::support::run(backend, |db| async move {
        let sim_dir = tempfile::tempdir().unwrap();
        let sim = test_support::sim::start(Some(sim_dir.path()), 0.001).await;
        let node = crate::support::app::Node {
            db,
            sim,
            sim_dir,
            public_url: None,
        };
        let hang = gateway::service::Failpoint::HangAfterUpstreamRefund;
        let app = TestApp::spawn_with(node, Some(hang)).await;
        user(&app, "ops@example.com", Role::Admin).await;
        let order = paid_order(&app, &app.site, "o_dies", 10_000).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let action = format!("/console/orders/{order}/refund");
        let csrf = browser.csrf().await;
        let asked = browser
            .post(&action, &[("csrf", &csrf), ("amount", "12.30")])
            .await;
        let number = asked.hidden("out_refund_no").unwrap();
        let confirmed = [
            ("csrf", csrf.as_str()),
            ("amount", "12.30"),
            ("out_refund_no", number.as_str()),
            ("confirm", "yes"),
        ];
        let answer =
            tokio::time::timeout(Duration::from_secs(3), browser.post(&action, &confirmed)).await;
        assert!(answer.is_err(), "the node answered: {answer:?}");
        let log = app.db.store.list_audit(20).await.unwrap();
        let entry = log
            .iter()
            .find(|e| e.action == "order.refund" && e.detail.contains(&number))
            .unwrap_or_else(|| panic!("no audit entry of refund {number}: {log:?}"));
        assert_eq!(entry.actor_email.as_deref(), Some("ops@example.com"));
        assert_eq!(entry.object_id.as_deref(), Some(order.to_string().as_str()));
        assert!(
            entry.detail.contains("12.30") && entry.detail.contains("asked"),
            "{}",
            entry.detail
        );
    })
    .await;
}

mod a_refund_is_in_the_audit_log_before_the_channel_is_asked {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::refund_asked_then_the_node_dies(crate::support::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::refund_asked_then_the_node_dies(crate::support::Backend::Postgres).await;
    }
}

//! The order search and the dashboard: filters, keyset pages that neither repeat nor skip an order
//! when many share one creation time, and the figures of paid orders.

use std::collections::BTreeSet;

use gateway::domain::{AnomalyKind, Channel, NewOrder, OrderId, Role, Scope, Site, Timestamp};
use gateway::store::NewAnomaly;
use gateway::store::{InsertOutcome, OrderSearch};

use crate::support::app::TestApp;
use crate::support::seed_request;
use crate::{Browser, console_tests, paid_order, pending_order, user};

/// `count` orders of `site` all created at `at`, numbered `{prefix}{i}`; their ids.
async fn orders_at(
    app: &TestApp,
    site: &Site,
    prefix: &str,
    count: usize,
    at: Timestamp,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..count {
        let new = NewOrder::prepare(
            site.id.clone(),
            seed_request(&format!("order_{prefix}_{i:03}")),
            at,
        );
        match app.db.store.insert_order_if_absent(&new).await.unwrap() {
            InsertOutcome::Inserted(order) => ids.push(order.id.as_i64()),
            InsertOutcome::Existing(_) => panic!("order_{prefix}_{i} existed"),
        }
    }
    ids
}

fn search(scope: Scope) -> OrderSearch {
    OrderSearch::every(scope, 4)
}

/// The link to the next page in an orders page, if there is one.
fn next_link(page: &crate::Page) -> Option<String> {
    let marker = "rel=\"next\"";
    let at = page.body.find(marker)?;
    let start = page.body[..at].rfind("href=\"")? + "href=\"".len();
    let end = page.body[start..].find('"')? + start;
    Some(
        page.body[start..end]
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

console_tests! {
    async fn keyset_pages_neither_repeat_nor_skip_orders_of_one_instant(app: TestApp) {
        let other = app.another_site("other shop").await;
        let t = |s: i64| Timestamp::from_millis(1_700_000_000_000 + s * 1000);
        let mut ours = orders_at(&app, &app.site, "a", 10, t(1)).await;
        orders_at(&app, &other, "x", 6, t(2)).await;
        ours.extend(orders_at(&app, &app.site, "b", 7, t(2)).await);
        ours.extend(orders_at(&app, &app.site, "c", 5, t(3)).await);
        for (scope, want) in [(Scope::Site(app.site.id.clone()), ours.len()), (Scope::All, ours.len() + 6)] {
            let mut seen = Vec::new();
            let mut q = search(scope.clone());
            let mut pages = 0;
            loop {
                let page = app.db.store.search_orders(&q).await.unwrap();
                assert!(page.orders.len() <= 4);
                seen.extend(page.orders.iter().map(|o| (o.order.created_at, o.order.id)));
                pages += 1;
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen.len(), want, "{scope:?}");
            let distinct: BTreeSet<_> = seen.iter().collect();
            assert_eq!(distinct.len(), want, "no order twice");
            let mut sorted = seen.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            assert_eq!(seen, sorted, "newest first, then by id");
            assert_eq!(pages, want.div_ceil(4));
            if let Scope::Site(_) = scope {
                let ids: BTreeSet<_> = seen.iter().map(|(_, id)| id.as_i64()).collect();
                assert_eq!(ids, ours.iter().copied().collect());
            }
        }
    }

    async fn the_search_page_follows_its_next_links_through_every_order(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let at = Timestamp::now();
        let ids = orders_at(&app, &app.site, "p", 61, at).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let mut seen = BTreeSet::new();
        let mut path = "/console/orders?status=created".to_owned();
        let mut pages = 0;
        loop {
            let page = browser.get(&path).await;
            page.assert_status(200);
            let rows = page.body.matches("data-testid=\"order-row\"").count();
            for id in &ids {
                if page.body.contains(&format!("href=\"/console/orders/{id}\"")) {
                    assert!(seen.insert(*id), "order {id} on two pages; at {path}");
                }
            }
            pages += 1;
            match next_link(&page) {
                Some(next) => {
                    assert_eq!(rows, 50);
                    assert!(next.contains("status=created") && next.contains("after="), "{next}");
                    path = next;
                }
                None => {
                    assert_eq!(rows, 11);
                    page.assert_contains("data-testid=\"first-page\"");
                    break;
                }
            }
        }
        assert_eq!(pages, 2);
        assert_eq!(seen.len(), 61);
    }

    async fn orders_are_found_by_number_transaction_status_and_date(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let paid = paid_order(&app, &app.site, "o_paid", 10_000).await;
        pending_order(&app, &app.site, "o_open").await;
        let transaction = app.stored(&app.site, "o_paid").await.upstream.transaction_id.unwrap();
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let by_number = browser.get("/console/orders?out_trade_no=o_paid").await;
        by_number.assert_status(200).assert_contains(&format!("/console/orders/{paid}")).assert_lacks("o_open");
        browser.get(&format!("/console/orders?transaction_id={transaction}")).await
            .assert_contains("o_paid").assert_lacks("o_open");
        browser.get("/console/orders?status=pending").await.assert_contains("o_open").assert_lacks("o_paid");
        browser.get("/console/orders?channel=alipay").await.assert_contains("data-testid=\"no-orders\"");
        browser.get("/console/orders?method=native&channel=wechat").await.assert_contains("o_open").assert_contains("o_paid");
        let today = gateway::service::console::local_date(gateway::service::console::local_day(Timestamp::now()));
        browser.get(&format!("/console/orders?from={today}&to={today}")).await.assert_contains("o_paid");
        browser.get("/console/orders?to=2000-01-01").await.assert_contains("data-testid=\"no-orders\"");
        let bad = browser.get("/console/orders?out_trade_no=has%20space&from=2024-02-30").await;
        bad.assert_status(200).assert_contains("data-testid=\"invalid\"").assert_lacks("data-testid=\"order-row\"");
        // Stuck orders: none of these is.
        browser.get("/console/orders?stuck=1").await.assert_contains("data-testid=\"no-orders\"");
    }

    async fn the_dashboard_counts_paid_orders_and_draws_their_day(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let other = app.another_site("other shop").await;
        paid_order(&app, &app.site, "order_1", 10_000).await;
        paid_order(&app, &other, "order_2", 2_990).await;
        pending_order(&app, &app.site, "order_3").await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let page = browser.get("/console").await;
        page.assert_status(200);
        let today = &page.body[page.body.find("data-testid=\"period-today\"").unwrap()..];
        let today = &today[..today.find("</div>").unwrap()];
        assert!(today.contains("data-testid=\"paid-count\">2<"), "{today}");
        assert!(today.contains("¥129.90"), "{today}");
        // Two of three new orders paid.
        assert!(today.contains("66.6%"), "{today}");
        page.assert_contains("data-testid=\"chart\"").assert_contains("data-fen=\"12990\"");
        page.assert_contains("data-testid=\"by-site\"").assert_contains("other shop");
        page.assert_contains("data-testid=\"by-channel\"").assert_contains("微信支付");
    }

    async fn failed_notifications_and_anomalies_are_listed_within_the_scope(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let other = app.another_site("other shop").await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        let ours = paid_order(&app, &app.site, "o_ours_failed", 10_000).await;
        let theirs = paid_order(&app, &other, "o_theirs_failed", 10_000).await;
        app.db.execute("UPDATE notification_events SET status = 'failed'").await;
        let anomaly = |order: Option<i64>, detail: &str| NewAnomaly {
            kind: AnomalyKind::AmountMismatch,
            channel: Channel::Wechat,
            order_id: order.map(OrderId::from_i64),
            dedupe_key: format!("amount_mismatch:{detail}"),
            detail: detail.to_owned(),
            at: Timestamp::now(),
        };
        for (order, detail) in [(Some(ours), "ours"), (Some(theirs), "theirs"), (None, "nobody's")] {
            app.db.store.record_anomaly(&anomaly(order, detail)).await.unwrap();
        }
        let mut ops = Browser::signed_in(&app, "ops@example.com").await;
        let dashboard = ops.get("/console").await;
        dashboard.assert_contains("href=\"/console/notifications?status=failed\"").assert_contains("href=\"/console/anomalies\"");
        let failed = ops.get("/console/notifications?status=failed").await;
        failed.assert_status(200).assert_contains("o_ours_failed").assert_contains("o_theirs_failed");
        ops.get("/console/notifications?status=delivered").await.assert_contains("data-testid=\"no-events\"");
        let all = ops.get("/console/anomalies").await;
        assert_eq!(all.body.matches("data-testid=\"anomaly-row\"").count(), 3, "{}", all.body);
        let mut shop = Browser::signed_in(&app, "shop@example.com").await;
        shop.get("/console/notifications").await.assert_contains("o_ours_failed").assert_lacks("o_theirs_failed");
        let theirs_hidden = shop.get("/console/anomalies").await;
        assert_eq!(theirs_hidden.body.matches("data-testid=\"anomaly-row\"").count(), 1, "{}", theirs_hidden.body);
        theirs_hidden.assert_contains("o_ours_failed").assert_lacks("theirs").assert_lacks("nobody");
        let counts = shop.get("/console").await;
        let attention = &counts.body[counts.body.find("data-testid=\"anomalies\"").unwrap()..];
        assert!(attention.starts_with("data-testid=\"anomalies\"><strong>1<"), "{attention}");
    }
}

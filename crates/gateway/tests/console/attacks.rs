//! The console attacked from outside: forms without their token or with another session's, posts
//! from another origin, another site's objects by direct URL, a viewer trying to act. Each refusal
//! leaves nothing done.

use gateway::domain::{Role, Site};

use crate::support::app::TestApp;
use crate::{Browser, console_tests, paid_order, pending_order, user};

/// How many refunds the order has, straight from the database.
async fn refunds_of(app: &TestApp, order: i64) -> i64 {
    app.db
        .count(&format!(
            "SELECT COUNT(*) FROM refunds WHERE order_id = {order}"
        ))
        .await
}

async fn site_user(app: &TestApp, site: &Site, email: &str) {
    user(app, email, Role::Site(site.id.clone())).await;
}

console_tests! {
    async fn a_form_without_its_token_or_with_a_forged_one_is_refused(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let order = paid_order(&app, &app.site, "o_csrf", 10_000).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let path = format!("/console/orders/{order}/refund");
        for csrf in [None, Some(""), Some("forged-token-0000000000000000000")] {
            let mut fields = vec![("amount", "1.00"), ("confirm", "yes")];
            if let Some(csrf) = csrf {
                fields.push(("csrf", csrf));
            }
            browser.post(&path, &fields).await.assert_status(403);
        }
        // Another session's token (the attacker's own) is no better.
        let mut attacker = Browser::signed_in(&app, "ops@example.com").await;
        let theirs = attacker.csrf().await;
        browser.post(&path, &[("amount", "1.00"), ("confirm", "yes"), ("csrf", &theirs)]).await.assert_status(403);
        assert_eq!(refunds_of(&app, order).await, 0);
    }

    async fn a_post_from_another_origin_or_from_nowhere_is_refused(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let order = paid_order(&app, &app.site, "o_origin", 10_000).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let csrf = browser.csrf().await;
        let path = format!("/console/orders/{order}/refund");
        let fields = [("csrf", csrf.as_str()), ("amount", "1.00"), ("confirm", "yes")];
        for origin in [Some("https://evil.example"), Some("null"), None] {
            browser.post_from(&path, &fields, origin).await.assert_status(403);
        }
        // Not even the login form or the logout.
        browser.post_from("/console/logout", &[("csrf", &csrf)], Some("https://evil.example")).await.assert_status(403);
        browser.get("/console").await.assert_status(200);
        assert_eq!(refunds_of(&app, order).await, 0);
        // The same form from paygate's own origin goes through.
        let done = browser.post(&path, &fields).await;
        done.assert_status(303);
        assert_eq!(refunds_of(&app, order).await, 1);
    }

    async fn a_form_from_another_name_of_the_server_is_refused_with_the_address_to_use(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let port = app.addr.port();
        // The operator opened the console at localhost while public_url names 127.0.0.1.
        let localhost = format!("http://localhost:{port}");
        let mut browser = Browser::new(&app);
        browser.origin = localhost.clone();
        let refused = browser.sign_in("ops@example.com", crate::PASSWORD).await;
        refused
            .assert_status(403)
            .assert_contains("data-testid=\"go-to\"")
            .assert_contains(&format!("这个表单是从 {localhost} 提交的，但控制台的地址是 {}。", app.base))
            .assert_contains(&format!("href=\"{}/console\"", app.base));
        refused.assert_contains("<html lang=\"zh-CN\">");
        // In English when asked, naming the same addresses.
        let csrf = browser.get("/console/login").await.csrf();
        let english = browser
            .post("/console/login?lang=en", &[("csrf", &csrf), ("email", "ops@example.com"), ("password", crate::PASSWORD)])
            .await;
        english
            .assert_status(403)
            .assert_contains(&format!("This form was sent from {localhost}, but the console"))
            .assert_contains(&format!("address is {}. So that no other site", app.base))
            .assert_lacks("这个表单");
        // A request that names no origin at all is told where to go too.
        let nowhere = browser.post_from("/console/logout", &[("csrf", "x")], None).await;
        nowhere
            .assert_status(403)
            .assert_contains(&format!("只接受从 {} 提交的表单", app.base));
    }

    async fn another_sites_order_is_not_found_by_direct_url(app: TestApp) {
        let other = app.another_site("other shop").await;
        site_user(&app, &app.site, "shop@example.com").await;
        let theirs = paid_order(&app, &other, "o_theirs", 10_000).await;
        let pending = pending_order(&app, &other, "o_theirs_open").await;
        let ours = paid_order(&app, &app.site, "o_ours", 10_000).await;
        let mut browser = Browser::signed_in(&app, "shop@example.com").await;
        browser.get(&format!("/console/orders/{ours}")).await.assert_status(200);
        let not_found = browser.get(&format!("/console/orders/{theirs}")).await;
        not_found.assert_status(404).assert_lacks("o_theirs");
        // The same page as for an order that does not exist at all.
        let missing = browser.get("/console/orders/999999").await;
        missing.assert_status(404);
        assert_eq!(missing.body, not_found.body);
        let csrf = browser.csrf().await;
        for (order, action) in [(theirs, "refund"), (pending, "close"), (theirs, "query")] {
            for confirm in ["", "yes"] {
                let page = browser.post(
                    &format!("/console/orders/{order}/{action}"),
                    &[("csrf", &csrf), ("amount", "1.00"), ("confirm", confirm)],
                ).await;
                page.assert_status(404);
            }
        }
        let event = app.db.store.notifications_for_order(&other.id, gateway::domain::OrderId::from_i64(theirs)).await.unwrap();
        let event = &event[0].id;
        // Their actions' and event's paths opened in the browser: the same 404 as a missing page.
        for path in [
            format!("/console/orders/{theirs}/refund"),
            format!("/console/orders/{ours}/refund"),
            format!("/console/orders/{theirs}/notifications/{event}/resend"),
            format!("/console/sites/{}/rotate", other.id),
            "/console/notifications/resend-failed".to_owned(),
        ] {
            let page = browser.get(&path).await;
            page.assert_status(404);
            assert_eq!(page.body, missing.body, "{path}");
        }
        // Their event through our order, and through theirs: not found either way.
        for order in [ours, theirs] {
            browser.post(
                &format!("/console/orders/{order}/notifications/{event}/resend"),
                &[("csrf", &csrf), ("confirm", "yes")],
            ).await.assert_status(404);
        }
        assert_eq!(refunds_of(&app, theirs).await, 0);
        assert_eq!(app.stored_status(&other, "o_theirs_open").await, gateway::domain::OrderStatus::Pending);
    }

    async fn a_site_user_searches_and_counts_their_own_site_only(app: TestApp) {
        let other = app.another_site("other shop").await;
        site_user(&app, &app.site, "shop@example.com").await;
        paid_order(&app, &other, "o_theirs", 77_700).await;
        paid_order(&app, &app.site, "o_ours", 10_000).await;
        let mut browser = Browser::signed_in(&app, "shop@example.com").await;
        let list = browser.get("/console/orders").await;
        list.assert_status(200).assert_contains("o_ours").assert_lacks("o_theirs");
        // Asking for the other site by name finds nothing, rather than their orders.
        let asked = browser.get(&format!("/console/orders?site={}", other.id)).await;
        asked.assert_status(200).assert_lacks("o_theirs").assert_contains("data-testid=\"no-orders\"");
        browser.get("/console/orders?out_trade_no=o_theirs").await.assert_lacks("o_theirs</a>");
        let dashboard = browser.get("/console").await;
        dashboard.assert_status(200).assert_contains("¥100.00").assert_lacks("777.00").assert_lacks("other shop");
    }

    async fn a_viewer_sees_but_cannot_act(app: TestApp) {
        user(&app, "viewer@example.com", Role::Viewer).await;
        let order = paid_order(&app, &app.site, "o_view", 10_000).await;
        let mut browser = Browser::signed_in(&app, "viewer@example.com").await;
        let page = browser.get(&format!("/console/orders/{order}")).await;
        page.assert_status(200).assert_contains("o_view").assert_lacks("refund-form").assert_lacks("data-testid=\"query\"");
        let csrf = page.csrf();
        for action in ["refund", "close", "query"] {
            for confirm in ["", "yes"] {
                browser.post(
                    &format!("/console/orders/{order}/{action}"),
                    &[("csrf", &csrf), ("amount", "1.00"), ("confirm", confirm)],
                ).await.assert_status(403);
            }
        }
        let event = &app.db.store.notifications_for_order(&app.site.id, gateway::domain::OrderId::from_i64(order)).await.unwrap()[0].id;
        browser.post(
            &format!("/console/orders/{order}/notifications/{event}/resend"),
            &[("csrf", &csrf), ("confirm", "yes")],
        ).await.assert_status(403);
        assert_eq!(refunds_of(&app, order).await, 0);
        // Nor read the audit log: that is the admins'.
        browser.get("/console/audit").await.assert_status(403);
        browser.get("/console").await.assert_lacks("/console/audit");
    }

    async fn the_audit_log_is_for_admins(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        site_user(&app, &app.site, "shop@example.com").await;
        let mut shop = Browser::signed_in(&app, "shop@example.com").await;
        shop.get("/console/audit").await.assert_status(403);
        let mut ops = Browser::signed_in(&app, "ops@example.com").await;
        let log = ops.get("/console/audit").await;
        log.assert_status(200).assert_contains("shop@example.com").assert_contains(">login<");
        ops.get("/console").await.assert_contains("/console/audit");
    }
}

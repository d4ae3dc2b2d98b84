//! A site's balance on its page: from the ledger, the same figures `GET /v1/balance` gives the
//! site, with the operator's fee; a site user sees their own site's only.

use gateway::domain::{ActedBy, Actor, FeeSchedule, Role};
use gateway::service::SiteService;

use crate::support::app::TestApp;
use crate::{Browser, console_tests, paid_order, user};

console_tests! {
    async fn the_site_page_shows_its_balance_and_fee(app: TestApp) {
        let schedule = FeeSchedule::parse(60, 0).unwrap();
        SiteService::new(app.db.store.clone())
            .set_fee(&app.site.id, schedule, &ActedBy::from(Actor::Cli))
            .await
            .unwrap()
            .unwrap();
        paid_order(&app, &app.site, "order_balance_001", 10_000).await;
        let other = app.another_site("other").await;
        paid_order(&app, &other, "order_balance_002", 500).await;

        user(&app, "ops@example.com", Role::Admin).await;
        let mut admin = Browser::signed_in(&app, "ops@example.com").await;
        let page = admin.get(&format!("/console/sites/{}?lang=en", app.site.id)).await;
        page.assert_status(200).assert_contains("data-testid=\"balance\" data-net-fen=\"9940\"");
        let shown = ["balance-paid", "balance-refunded", "balance-fees", "balance-shared", "balance-net"]
            .map(|id| page.testid_text(id));
        assert_eq!(shown, ["100.00", "0.00", "0.60", "0.00", "99.40"].map(str::to_owned));
        assert_eq!(page.testid_text("site-fee"), "0.60% + 0.00 yuan per order");
        let theirs = admin.get(&format!("/console/sites/{}?lang=en", other.id)).await;
        assert_eq!(theirs.testid_text("balance-net"), "5.00");
        assert_eq!(theirs.testid_text("site-fee"), "0.00% + 0.00 yuan per order");

        // A site user's portal shows their own balance; another site's page is not found.
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        let mut shop = Browser::signed_in(&app, "shop@example.com").await;
        let own = shop.get(&format!("/console/sites/{}", app.site.id)).await;
        own.assert_status(200);
        assert_eq!(own.testid_text("balance-net"), "99.40");
        shop.get(&format!("/console/sites/{}", other.id)).await.assert_status(404).assert_lacks("data-testid=\"balance\"");
    }
}

console_tests! {
    async fn an_orders_refundable_amount_leaves_out_what_its_splits_hold(app: TestApp) {
        let no = "order_split_refundable";
        let body = serde_json::json!({"out_trade_no": no, "channel": "wechat", "method": "native",
            "description": "VIP年卡", "amount_total": 10_000, "profit_sharing": true});
        app.create_order_as(&app.site, &body).await.assert_ok();
        app.sim_wechat_pay(&app.site, no).await;
        for _ in 0..200 {
            if app.stored_status(&app.site, no).await == gateway::domain::OrderStatus::Paid {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let split = serde_json::json!({"out_split_no": "split_console_1",
            "receivers": [{"type": "PERSONAL_OPENID", "account": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "amount": 2000}]});
        let path = format!("/v1/orders/{no}/splits");
        app.signed_as(&app.site, "POST", &path, &split.to_string(), crate::support::app::Signing::default())
            .await
            .assert_ok();
        let id = app.stored(&app.site, no).await.id.as_i64();

        user(&app, "ops@example.com", Role::Admin).await;
        let mut admin = Browser::signed_in(&app, "ops@example.com").await;
        let page = admin.get(&format!("/console/orders/{id}?lang=en")).await;
        page.assert_status(200)
            .assert_contains("<dt>Refundable (yuan)</dt><dd>80.00</dd>")
            .assert_contains("placeholder=\"80.00\"");
        // The split itself is listed with who asked for it and its receiver's share.
        page.assert_contains("data-testid=\"splits\"")
            .assert_contains("<td class=\"mono\">split_console_1</td><td>Site&#39;s split</td><td class=\"num\">20.00</td>")
            .assert_contains("PERSONAL_OPENID oUpF8uMuAJO_M2pxb1Q9zNjWeS6o · 20.00 · Pending");
        // An order not made for profit sharing has no such section.
        let plain = paid_order(&app, &app.site, "order_not_for_sharing", 500).await;
        admin.get(&format!("/console/orders/{plain}?lang=en")).await.assert_status(200).assert_lacks("Profit-sharing splits");
    }
}

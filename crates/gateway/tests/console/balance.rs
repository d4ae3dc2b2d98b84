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

//! Notifications to sites in the console: filtered by site, sent again one at a time or every
//! failed one of a site at once (confirmed first, through the same resend as `paygate notify
//! resend --failed`, audited); a site user resends their own site's only.

use gateway::domain::{NotificationStatus, Role, Site};

use crate::support::app::TestApp;
use crate::{Browser, Page, console_tests, paid_order, user};

/// The statuses of `site`'s notification events.
async fn statuses(app: &TestApp, site: &Site) -> Vec<NotificationStatus> {
    app.db
        .store
        .list_notifications(Some(&site.id), None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.status)
        .collect()
}

/// Each site's payments notified, and every notification failed.
async fn failed_everywhere(app: &TestApp) -> Site {
    let other = app.another_site("other shop").await;
    paid_order(app, &app.site, "o_ours_1", 10_000).await;
    paid_order(app, &app.site, "o_ours_2", 20_000).await;
    paid_order(app, &other, "o_theirs_1", 30_000).await;
    app.db
        .execute("UPDATE notification_events SET status = 'failed'")
        .await;
    other
}

async fn confirm(browser: &mut Browser, asked: &Page) -> Page {
    asked
        .assert_status(200)
        .assert_contains("data-testid=\"confirm\"");
    let fields = [
        ("csrf", asked.hidden("csrf").unwrap()),
        ("confirm", asked.hidden("confirm").unwrap()),
        ("site", asked.hidden("site").unwrap()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser
        .post("/console/notifications/resend-failed", &fields)
        .await
}

console_tests! {
    async fn every_failed_notification_of_a_site_is_sent_again_after_a_confirmation(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let other = failed_everywhere(&app).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let all = browser.get("/console/notifications?status=failed").await;
        all.assert_contains("o_ours_1").assert_contains("o_theirs_1").assert_contains("data-testid=\"total\">(3)");
        // Without a site there is no "every failed one" to send.
        all.assert_lacks("data-testid=\"resend-failed\"");
        let ours = browser.get(&format!("/console/notifications?status=failed&site={}", app.site.id)).await;
        ours.assert_contains("o_ours_1").assert_contains("o_ours_2").assert_lacks("o_theirs_1")
            .assert_contains("data-testid=\"total\">(2)").assert_contains("data-testid=\"resend-failed\"");
        let asked = browser.post("/console/notifications/resend-failed", &[("csrf", &ours.csrf()), ("site", app.site.id.as_str())]).await;
        asked.assert_contains("demo").assert_contains("2");
        assert_eq!(statuses(&app, &app.site).await, [NotificationStatus::Failed; 2], "not before the confirmation");
        let done = confirm(&mut browser, &asked).await;
        done.assert_status(303);
        let back = done.location().unwrap().to_owned();
        assert!(back.ends_with("&queued=2"), "{back}");
        browser.get(&back).await.assert_contains("data-testid=\"notice\"").assert_contains("2");
        assert_eq!(statuses(&app, &app.site).await, [NotificationStatus::Pending; 2]);
        assert_eq!(statuses(&app, &other).await, [NotificationStatus::Failed], "another site's stay");
        // Each is due for delivery now, as a single resend makes it.
        let due = app.db.count("SELECT COUNT(*) FROM jobs WHERE kind = 'deliver_notification'").await;
        assert!(due >= 2, "{due}");
        let entry = app.db.store.list_audit(1).await.unwrap().remove(0);
        assert_eq!(entry.action, "notification.resend_failed");
        assert_eq!(entry.object_id.as_deref(), Some(app.site.id.as_str()));
        assert_eq!(entry.actor_email.as_deref(), Some("ops@example.com"));
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        assert!(entry.detail.starts_with("2 "), "{}", entry.detail);
        // Each row has its own resend too: the order page's.
        let one = browser.get(&format!("/console/notifications?status=failed&site={}", other.id)).await;
        one.assert_contains("/console/orders/").assert_contains("data-testid=\"resend\"");
    }

    async fn a_site_user_resends_their_own_sites_failed_notifications_only(app: TestApp) {
        let other = failed_everywhere(&app).await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        user(&app, "viewer@example.com", Role::Viewer).await;
        let mut shop = Browser::signed_in(&app, "shop@example.com").await;
        // Their list offers their own site's, whatever the URL asks.
        let list = shop.get("/console/notifications?status=failed").await;
        list.assert_contains("data-testid=\"total\">(2)").assert_contains("data-testid=\"resend-failed\"").assert_lacks("o_theirs_1").assert_lacks("f-site");
        let asked_for_theirs = shop.get(&format!("/console/notifications?status=failed&site={}", other.id)).await;
        asked_for_theirs.assert_contains("data-testid=\"total\">(0)").assert_lacks("o_theirs_1").assert_lacks("resend-failed\"");
        let csrf = list.csrf();
        for confirmed in ["", "yes"] {
            let page = shop.post("/console/notifications/resend-failed", &[("csrf", &csrf), ("site", other.id.as_str()), ("confirm", confirmed)]).await;
            page.assert_status(404).assert_lacks("other shop");
        }
        assert_eq!(statuses(&app, &other).await, [NotificationStatus::Failed]);
        let done = shop.post("/console/notifications/resend-failed", &[("csrf", &csrf), ("site", app.site.id.as_str()), ("confirm", "yes")]).await;
        done.assert_status(303);
        assert_eq!(statuses(&app, &app.site).await, [NotificationStatus::Pending; 2]);
        // A viewer sees them all and sends none.
        let mut viewer = Browser::signed_in(&app, "viewer@example.com").await;
        let page = viewer.get(&format!("/console/notifications?status=failed&site={}", other.id)).await;
        page.assert_contains("o_theirs_1").assert_lacks("resend-failed\"").assert_lacks("data-testid=\"resend\"");
        for confirmed in ["", "yes"] {
            viewer.post("/console/notifications/resend-failed", &[("csrf", &page.csrf()), ("site", other.id.as_str()), ("confirm", confirmed)]).await.assert_status(403);
        }
        // Nor does a form without its token, or from elsewhere.
        shop.post("/console/notifications/resend-failed", &[("site", other.id.as_str()), ("confirm", "yes")]).await.assert_status(403);
        let mut ops_like = Browser::signed_in(&app, "shop@example.com").await;
        let csrf = ops_like.csrf().await;
        ops_like.post_from("/console/notifications/resend-failed", &[("csrf", &csrf), ("site", app.site.id.as_str()), ("confirm", "yes")], Some("https://evil.example")).await.assert_status(403);
        assert_eq!(statuses(&app, &other).await, [NotificationStatus::Failed]);
    }
}

//! A site's other protocols in the console: an admin turns EPay on and sees its key once (on the
//! answer itself, never stored by the browser), rotates it after confirming and turns it off, each in
//! the audit log; a site user sees their protocols and may rotate a key but not turn one on or off;
//! a viewer and another site's user change nothing; a form without its token is refused.

use gateway::domain::{Protocol, Role};

use crate::support::app::TestApp;
use crate::{Browser, console_tests, user};

async fn epay_key(app: &TestApp) -> Option<String> {
    app.db
        .store
        .compat_key_of_site(&app.site.id, Protocol::Epay)
        .await
        .unwrap()
        .map(|k| k.secret.expose().to_owned())
}

async fn audited(app: &TestApp, action: &str) -> usize {
    let entries = app.db.store.list_audit(100).await.unwrap();
    entries.iter().filter(|e| e.action == action).count()
}

console_tests! {
    async fn an_admin_turns_epay_on_sees_its_key_once_rotates_it_and_turns_it_off(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let id = app.site.id.clone();
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let page = browser.get(&format!("/console/sites/{id}")).await;
        page.assert_status(200)
            .assert_contains("data-testid=\"protocols\"")
            .assert_contains("data-testid=\"enable-epay\"")
            .assert_contains("data-testid=\"enable-jeepay\"")
            .assert_lacks("data-testid=\"rotate-epay\"");
        let csrf = page.csrf();

        let on = browser.post(&format!("/console/sites/{id}/protocols/epay/enable"), &[("csrf", &csrf)]).await;
        on.assert_status(200).assert_contains("data-testid=\"keys-once\"");
        assert_eq!(on.headers.get("cache-control").unwrap(), "no-store");
        let key = on.testid_text("key-key");
        assert_eq!(Some(key.clone()), epay_key(&app).await);
        let pid = on.testid_text("key-pid");
        assert!(pid.parse::<u64>().is_ok(), "{pid}");
        assert_eq!(audited(&app, "compat.enable").await, 1);
        // The site's page shows the pid, never the key.
        let page = browser.get(&format!("/console/sites/{id}")).await;
        page.assert_contains(&format!("pid {pid}")).assert_contains("data-testid=\"rotate-epay\"").assert_lacks(&key);
        // Enabling again changes nothing.
        let again = browser.post(&format!("/console/sites/{id}/protocols/epay/enable"), &[("csrf", &csrf)]).await;
        again.assert_status(303);
        assert_eq!(epay_key(&app).await, Some(key.clone()));

        // Rotating: confirmed first, then a new key, the old one gone.
        let rotate = format!("/console/sites/{id}/protocols/epay/rotate");
        let asked = browser.post(&rotate, &[("csrf", &csrf)]).await;
        asked.assert_status(200).assert_contains("data-testid=\"confirm\"");
        assert_eq!(epay_key(&app).await, Some(key.clone()), "not before the confirmation");
        let rotated = browser.post(&rotate, &[("csrf", &csrf), ("confirm", "yes")]).await;
        rotated.assert_status(200);
        let new_key = rotated.testid_text("key-key");
        assert_ne!(new_key, key);
        assert_eq!(rotated.testid_text("key-pid"), pid, "the pid stays");
        assert_eq!(epay_key(&app).await, Some(new_key));

        // Turning it off: confirmed, then gone.
        let disable = format!("/console/sites/{id}/protocols/epay/disable");
        browser.post(&disable, &[("csrf", &csrf)]).await.assert_status(200);
        assert!(epay_key(&app).await.is_some());
        let off = browser.post(&disable, &[("csrf", &csrf), ("confirm", "yes")]).await;
        off.assert_status(303);
        assert_eq!(epay_key(&app).await, None);
        for action in ["compat.rotate", "compat.disable"] {
            assert_eq!(audited(&app, action).await, 1, "{action}");
        }
    }

    async fn a_site_user_rotates_their_key_but_turns_nothing_on_or_off(app: TestApp) {
        let other = app.another_site("other shop").await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        let audit = gateway::domain::AuditEntry::new(gateway::domain::Timestamp::now(), gateway::domain::Actor::Cli, gateway::domain::AuditAction::CompatEnable);
        app.db.store.enable_compat(&app.site.id, Protocol::Epay, gateway::domain::Timestamp::now(), &audit).await.unwrap();
        app.db.store.enable_compat(&other.id, Protocol::Epay, gateway::domain::Timestamp::now(), &audit).await.unwrap();
        let id = app.site.id.clone();
        let mut browser = Browser::signed_in(&app, "shop@example.com").await;
        let page = browser.get(&format!("/console/sites/{id}")).await;
        page.assert_status(200).assert_contains("data-testid=\"rotate-epay\"").assert_lacks("data-testid=\"disable-epay\"").assert_lacks("data-testid=\"enable-jeepay\"");
        let csrf = page.csrf();
        for (protocol, action) in [("jeepay", "enable"), ("epay", "disable")] {
            for confirmed in ["", "yes"] {
                browser.post(&format!("/console/sites/{id}/protocols/{protocol}/{action}"), &[("csrf", &csrf), ("confirm", confirmed)]).await.assert_status(403);
            }
        }
        // Another site's protocols are not found, whatever is asked.
        let theirs = app.db.store.compat_key_of_site(&other.id, Protocol::Epay).await.unwrap().unwrap();
        for action in ["enable", "rotate", "disable"] {
            browser.post(&format!("/console/sites/{}/protocols/epay/{action}", other.id), &[("csrf", &csrf), ("confirm", "yes")]).await.assert_status(404);
        }
        assert_eq!(app.db.store.compat_key_of_site(&other.id, Protocol::Epay).await.unwrap().unwrap().secret, theirs.secret);
        // Their own key is theirs to rotate.
        let rotated = browser.post(&format!("/console/sites/{id}/protocols/epay/rotate"), &[("csrf", &csrf), ("confirm", "yes")]).await;
        rotated.assert_status(200);
        assert_eq!(Some(rotated.testid_text("key-key")), epay_key(&app).await);
        assert!(app.db.store.compat_key_of_site(&app.site.id, Protocol::Jeepay).await.unwrap().is_none());
    }

    async fn a_viewer_and_a_form_without_its_token_change_no_protocol(app: TestApp) {
        user(&app, "viewer@example.com", Role::Viewer).await;
        user(&app, "ops@example.com", Role::Admin).await;
        let id = app.site.id.clone();
        let mut viewer = Browser::signed_in(&app, "viewer@example.com").await;
        let page = viewer.get(&format!("/console/sites/{id}")).await;
        page.assert_status(200).assert_contains("data-testid=\"protocols\"").assert_lacks("data-testid=\"enable-epay\"");
        let csrf = page.csrf();
        viewer.post(&format!("/console/sites/{id}/protocols/epay/enable"), &[("csrf", &csrf)]).await.assert_status(403);
        let mut admin = Browser::signed_in(&app, "ops@example.com").await;
        admin.post(&format!("/console/sites/{id}/protocols/epay/enable"), &[("csrf", "forged")]).await.assert_status(403);
        let token = admin.csrf().await;
        admin.post(&format!("/console/sites/{id}/protocols/paypal/enable"), &[("csrf", &token)]).await.assert_status(404);
        assert_eq!(epay_key(&app).await, None);
        assert_eq!(audited(&app, "compat.enable").await, 0);
    }

    async fn an_order_made_through_another_protocol_says_so_with_the_number_its_client_knows(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let new = gateway::domain::NewOrder::prepare(app.site.id.clone(), crate::support::seed_request("epay_made_000001"), gateway::domain::Timestamp::now())
            .made_through(gateway::domain::Origin::new(Protocol::Epay));
        let gateway::store::InsertOutcome::Inserted(order) = app.db.store.insert_order_if_absent(&new).await.unwrap() else {
            panic!("inserted");
        };
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let page = browser.get(&format!("/console/orders/{}", order.id.as_i64())).await;
        let number = gateway::domain::compat_trade_no(order.id, order.created_at);
        page.assert_status(200).assert_contains(&format!("epay · {number}"));
    }
}

//! Console users managed from the console by an admin: created (any role, a site user with their
//! site), disabled after a confirmation (their sessions end at once; never oneself), given a new
//! password; each through the account service and in the audit log. Nobody else may.

use gateway::domain::{Email, Role};

use crate::support::app::TestApp;
use crate::{Browser, PASSWORD, console_tests, user};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn find(app: &TestApp, email: &str) -> Option<gateway::domain::User> {
    app.accounts
        .find_user(&Email::parse(email).unwrap())
        .await
        .unwrap()
}

console_tests! {
    async fn an_admin_creates_users_disables_one_and_resets_a_password(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let mut ops = Browser::signed_in(&app, "ops@example.com").await;
        let page = ops.get("/console/users").await;
        page.assert_status(200).assert_contains("ops@example.com").assert_contains("data-testid=\"user-form\"");
        // Mine is the one row without a disable button.
        page.assert_lacks("data-testid=\"disable-user\"");
        let csrf = page.csrf();
        let site = app.site.id.as_str();
        for (email, role, site, password, again, status) in [
            ("not an email", "viewer", "", PASSWORD, PASSWORD, 400),
            ("shop@example.com", "site", "", PASSWORD, PASSWORD, 400),
            ("shop@example.com", "admin", site, PASSWORD, PASSWORD, 400),
            ("shop@example.com", "root", "", PASSWORD, PASSWORD, 400),
            ("shop@example.com", "site", site, PASSWORD, "another one entirely", 400),
            ("shop@example.com", "site", site, "short", "short", 400),
            ("shop@example.com", "site", "site_doesnotexist", PASSWORD, PASSWORD, 400),
            ("OPS@example.com", "viewer", "", PASSWORD, PASSWORD, 409),
        ] {
            let answer = ops.post("/console/users", &[
                ("csrf", &csrf), ("email", email), ("role", role), ("site", site),
                ("password", password), ("password_again", again),
            ]).await;
            answer.assert_status(status).assert_contains("data-testid=\"notice\"").assert_lacks(password);
        }
        assert!(find(&app, "shop@example.com").await.is_none());
        let created = ops.post("/console/users", &[
            ("csrf", &csrf), ("email", "Shop@Example.com"), ("role", "site"), ("site", site),
            ("password", PASSWORD), ("password_again", PASSWORD),
        ]).await;
        created.assert_status(303);
        assert_eq!(created.location(), Some("/console/users?done=created"));
        let shop = find(&app, "shop@example.com").await.unwrap();
        assert_eq!(shop.role, Role::Site(app.site.id.clone()));
        let listed = ops.get("/console/users?done=created").await;
        listed.assert_contains("shop@example.com").assert_contains("demo").assert_lacks("$argon2");
        let entry = app.db.store.list_audit(1).await.unwrap().remove(0);
        assert_eq!(entry.action, "user.create");
        assert_eq!(entry.actor_email.as_deref(), Some("ops@example.com"));
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        assert!(entry.detail.contains("shop@example.com"), "{}", entry.detail);

        // The new user signs in; a new password ends that session and replaces the old one.
        let mut shop_browser = Browser::signed_in(&app, "shop@example.com").await;
        let reset = format!("/console/users/{}/reset", shop.id);
        ops.post(&reset, &[("csrf", &csrf), ("password", NEW_PASSWORD), ("password_again", "something else")]).await.assert_status(400);
        ops.post(&reset, &[("csrf", &csrf), ("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)]).await.assert_status(303);
        shop_browser.get("/console").await.assert_status(303);
        Browser::new(&app).sign_in("shop@example.com", PASSWORD).await.assert_status(401);
        Browser::new(&app).sign_in("shop@example.com", NEW_PASSWORD).await.assert_status(303);
        assert_eq!(app.db.store.list_audit(5).await.unwrap().iter().filter(|e| e.action == "user.reset_password").count(), 1);

        // Disabling is confirmed first; then their sessions end at once.
        let mut shop_browser = Browser::new(&app);
        shop_browser.sign_in("shop@example.com", NEW_PASSWORD).await.assert_status(303);
        let disable = format!("/console/users/{}/disable", shop.id);
        let asked = ops.post(&disable, &[("csrf", &csrf)]).await;
        asked.assert_status(200).assert_contains("shop@example.com").assert_contains("data-testid=\"confirm\"");
        assert!(!find(&app, "shop@example.com").await.unwrap().disabled, "not before the confirmation");
        ops.post(&disable, &[("csrf", &csrf), ("confirm", "yes")]).await.assert_status(303);
        assert!(find(&app, "shop@example.com").await.unwrap().disabled);
        shop_browser.get("/console").await.assert_status(303);
        let entry = app.db.store.list_audit(1).await.unwrap().remove(0);
        assert_eq!((entry.action.as_str(), entry.object_id.as_deref()), ("user.disable", Some(shop.id.as_str())));

        // Never oneself; an unknown user is not found.
        let me = find(&app, "ops@example.com").await.unwrap();
        ops.post(&format!("/console/users/{}/disable", me.id), &[("csrf", &csrf), ("confirm", "yes")]).await.assert_status(409);
        assert!(!find(&app, "ops@example.com").await.unwrap().disabled);
        ops.post("/console/users/usr_nobody/disable", &[("csrf", &csrf), ("confirm", "yes")]).await.assert_status(404);
    }

    async fn only_an_admin_manages_users(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        user(&app, "viewer@example.com", Role::Viewer).await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        let ops_id = find(&app, "ops@example.com").await.unwrap().id;
        for email in ["viewer@example.com", "shop@example.com"] {
            let mut browser = Browser::signed_in(&app, email).await;
            let dashboard = browser.get("/console").await;
            dashboard.assert_lacks("/console/users");
            let csrf = dashboard.csrf();
            browser.get("/console/users").await.assert_status(403);
            // Making themselves (or a friend) an admin, locking the admin out, taking their account.
            browser.post("/console/users", &[
                ("csrf", &csrf), ("email", "friend@example.com"), ("role", "admin"), ("site", ""),
                ("password", PASSWORD), ("password_again", PASSWORD),
            ]).await.assert_status(403);
            browser.post(&format!("/console/users/{ops_id}/disable"), &[("csrf", &csrf), ("confirm", "yes")]).await.assert_status(403);
            browser.post(&format!("/console/users/{ops_id}/reset"), &[
                ("csrf", &csrf), ("password", "taken over at last"), ("password_again", "taken over at last"),
            ]).await.assert_status(403);
        }
        assert!(find(&app, "friend@example.com").await.is_none());
        assert!(!find(&app, "ops@example.com").await.unwrap().disabled);
        Browser::signed_in(&app, "ops@example.com").await;
        // An admin's form without its token, or from elsewhere, is refused too.
        let mut ops = Browser::signed_in(&app, "ops@example.com").await;
        let csrf = ops.csrf().await;
        let viewer = find(&app, "viewer@example.com").await.unwrap().id;
        ops.post(&format!("/console/users/{viewer}/disable"), &[("confirm", "yes")]).await.assert_status(403);
        ops.post_from(&format!("/console/users/{viewer}/disable"), &[("csrf", &csrf), ("confirm", "yes")], Some("https://evil.example")).await.assert_status(403);
        assert!(!find(&app, "viewer@example.com").await.unwrap().disabled);
    }
}

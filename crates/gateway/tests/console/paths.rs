//! The console behind a proxy that serves paygate under a path prefix and strips it
//! (`public_url = http://pay.example.com/gw`): the routes are still `/console/…` on paygate's
//! side, but every link, form, redirect and cookie the browser gets is under `/gw/console`, and
//! forms still come from `public_url`'s origin.

use gateway::domain::{BillDay, Channel, Role, Timestamp};

use crate::support::app::{Node, TestApp};
use crate::{Browser, PASSWORD, Page, pending_order, user};

const PUBLIC_URL: &str = "http://pay.example.com/gw";

/// What the proxy forwards of a path the browser asks for: the prefix stripped.
fn forwarded(path: &str) -> &str {
    path.strip_prefix("/gw")
        .unwrap_or_else(|| panic!("{path} is not under the prefix"))
}

/// Every `href`, `action` and `src` of `page` is under the prefix (or an anchor on the page, or
/// the console's whole public URL).
#[track_caller]
fn all_links_under_the_prefix(page: &Page) {
    for attribute in ["href=\"", "action=\"", "src=\""] {
        for (at, _) in page.body.match_indices(attribute) {
            let value = &page.body[at + attribute.len()..];
            let value = &value[..value.find('"').unwrap()];
            assert!(
                value.starts_with("/gw/console")
                    || value.starts_with('#')
                    || value.starts_with("http://pay.example.com/gw/console"),
                "{attribute}{value} in: {}",
                page.body
            );
        }
    }
}

async fn behind_a_prefix(backend: crate::support::Backend) {
    crate::support::run(backend, |db| async move {
        let sim_dir = tempfile::tempdir().unwrap();
        let sim = test_support::sim::start(Some(sim_dir.path()), 0.001).await;
        let node = Node {
            db,
            sim,
            sim_dir,
            public_url: Some(PUBLIC_URL.to_owned()),
        };
        let app = TestApp::spawn_with(node, None).await;
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::new(&app);
        browser.origin = "http://pay.example.com".to_owned();

        let form = browser.get("/console/login").await;
        form.assert_status(200)
            .assert_contains("action=\"/gw/console/login\"");
        all_links_under_the_prefix(&form);
        let login_cookie = form.set_cookie("pg_login").unwrap();
        assert!(
            login_cookie.contains("Path=/gw/console/login;"),
            "{login_cookie}"
        );

        let signed = browser.sign_in("ops@example.com", PASSWORD).await;
        signed.assert_status(303);
        assert_eq!(signed.location(), Some("/gw/console"));
        let session = signed.set_cookie("pg_session").unwrap();
        assert!(session.contains("Path=/gw/console;"), "{session}");

        let dashboard = browser.get(forwarded("/gw/console")).await;
        dashboard
            .assert_status(200)
            .assert_contains("href=\"/gw/console/orders\"");
        all_links_under_the_prefix(&dashboard);
        let english = browser.get("/console?lang=en").await;
        english
            .assert_status(200)
            .assert_contains("href=\"/gw/console?lang=zh\"");
        let lang_cookie = english.set_cookie("pg_lang").unwrap();
        assert!(lang_cookie.contains("Path=/gw/console;"), "{lang_cookie}");

        // An order's page, its action's confirmation and the redirect after it.
        let id = pending_order(&app, &app.site, "order_prefix_001").await;
        let order = browser.get(&format!("/console/orders/{id}")).await;
        order.assert_status(200);
        all_links_under_the_prefix(&order);
        let csrf = order.csrf();
        let asked = browser
            .post(&format!("/console/orders/{id}/query"), &[("csrf", &csrf)])
            .await;
        asked
            .assert_status(200)
            .assert_contains(&format!("action=\"/gw/console/orders/{id}/query\""));
        all_links_under_the_prefix(&asked);
        let done = browser
            .post(
                &format!("/console/orders/{id}/query"),
                &[("csrf", &csrf), ("confirm", "yes")],
            )
            .await;
        done.assert_status(303);
        let location = done.location().unwrap().to_owned();
        assert!(
            location.starts_with(&format!("/gw/console/orders/{id}?done=")),
            "{location}"
        );
        browser.get(forwarded(&location)).await.assert_status(200);

        // The days' reconciliation, a day's report and its run again, a site's statement form.
        let day = BillDay::of(Timestamp::now());
        let now = Timestamp::now();
        let run = app
            .db
            .store
            .start_reconciliation(Channel::Wechat, "1900000001", day, now)
            .await
            .unwrap();
        app.db
            .store
            .finish_reconciliation(run, Ok((&Default::default(), 0)), now)
            .await
            .unwrap();
        for path in [
            "/console/reconciliation".to_owned(),
            format!("/console/reconciliation/wechat/{day}"),
            format!("/console/sites/{}", app.site.id),
        ] {
            let page = browser.get(&path).await;
            page.assert_status(200);
            all_links_under_the_prefix(&page);
        }
        let rerun = browser
            .post(
                &format!("/console/reconciliation/wechat/{day}/rerun"),
                &[("csrf", &csrf)],
            )
            .await;
        rerun.assert_status(303);
        assert_eq!(
            rerun.location(),
            Some(format!("/gw/console/reconciliation/wechat/{day}?done=rerun").as_str())
        );

        // Error pages too: a page that does not exist, a POST-only path opened, a refusal.
        for path in [
            "/console/nothing-here",
            &format!("/console/orders/{id}/refund"),
        ] {
            let missing = browser.get(path).await;
            missing.assert_status(404);
            all_links_under_the_prefix(&missing);
        }
        let elsewhere = browser
            .post_from(
                "/console/logout",
                &[("csrf", &csrf)],
                Some("http://pay.example.com:8443"),
            )
            .await;
        elsewhere
            .assert_status(403)
            .assert_contains("href=\"http://pay.example.com/gw/console\"");
        all_links_under_the_prefix(&elsewhere);

        // Signing out removes the cookie where it was set.
        let out = browser.post("/console/logout", &[("csrf", &csrf)]).await;
        out.assert_status(303);
        assert_eq!(out.location(), Some("/gw/console/login"));
        let gone = out.set_cookie("pg_session").unwrap();
        assert!(
            gone.contains("Path=/gw/console;") && gone.contains("Max-Age=0"),
            "{gone}"
        );
        // Without a session, the way to sign in is under the prefix as well.
        let again = browser.get("/console/orders").await;
        again.assert_status(303);
        assert_eq!(again.location(), Some("/gw/console/login"));
    })
    .await;
}

mod under_a_path_prefix_every_link_redirect_and_cookie_is_under_it {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::behind_a_prefix(crate::support::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::behind_a_prefix(crate::support::Backend::Postgres).await;
    }
}

//! The sites in the console: an admin creates one (its keys shown once), edits, disables and
//! enables it and rotates its SK, each through the site service and in the audit log; a site user
//! sees their own site only and may change its notify URL and rotate its SK, nothing else; a viewer
//! changes nothing. Each refusal leaves the site as it was.

use gateway::domain::{NotifyUrl, Role, SecretKey, Site, SiteId, SiteStatus};

use crate::support::app::{Signing, TestApp};
use crate::{Browser, Page, console_tests, user};

/// The site as stored now.
async fn stored(app: &TestApp, id: &SiteId) -> Site {
    app.db.store.find_site(id).await.unwrap().unwrap()
}

/// A signed API request as `site` with `sk`: whether the API took the key.
async fn api_accepts(app: &TestApp, site: &Site, sk: &str) -> u16 {
    let signing = Signing {
        sk: Some(sk.to_owned()),
        ..Signing::default()
    };
    app.signed_as(site, "GET", "/v1/orders/no_such_order", "", signing)
        .await
        .status
}

/// Posts the confirmation page's form as a person clicking "confirm".
async fn confirm(browser: &mut Browser, asked: &Page, action: &str) -> Page {
    asked
        .assert_status(200)
        .assert_contains("data-testid=\"confirm\"");
    let csrf = asked.hidden("csrf").unwrap();
    browser
        .post(action, &[("csrf", &csrf), ("confirm", "yes")])
        .await
}

async fn audit_actions(app: &TestApp) -> Vec<(String, Option<String>, Option<String>)> {
    app.db
        .store
        .list_audit(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.object_id, e.ip))
        .collect()
}

console_tests! {
    async fn an_admin_creates_a_site_and_sees_its_keys_once(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let form = browser.get("/console/sites/new").await;
        form.assert_status(200).assert_contains("data-testid=\"site-form\"");
        let csrf = form.csrf();
        // What cannot be read is said, and nothing is created.
        let before = app.db.store.list_sites().await.unwrap().len();
        for (name, url, methods) in [
            ("", "", vec!["wechat.native"]),
            ("商城", "ftp://shop.example/n", vec!["wechat.native"]),
            ("商城", "https://user:pw@shop.example/n", vec!["wechat.native"]),
            ("商城", "", vec![]),
            ("商城", "", vec!["wechat.telepathy"]),
        ] {
            let mut fields = vec![("csrf", csrf.as_str()), ("name", name), ("notify_url", url), ("methods_shown", "1")];
            fields.extend(methods.iter().map(|m| ("method", *m)));
            browser.post("/console/sites", &fields).await.assert_status(400).assert_contains("data-testid=\"notice\"");
        }
        assert_eq!(app.db.store.list_sites().await.unwrap().len(), before);
        let created = browser.post("/console/sites", &[
            ("csrf", &csrf), ("name", "新商城"), ("notify_url", "https://shop.example/notify"),
            ("methods_shown", "1"), ("method", "wechat.native"), ("method", "alipay.qr"),
        ]).await;
        // The answer to the form is a redirect (reloading it would post the form again), to the
        // page that shows the keys once.
        created.assert_status(303);
        let keys_path = created.location().unwrap().to_owned();
        let id = keys_path
            .strip_prefix("/console/sites/")
            .and_then(|rest| rest.strip_suffix("/keys"))
            .map(|id| SiteId::parse(id).unwrap())
            .unwrap_or_else(|| panic!("{keys_path}"));
        let keys = browser.get(&keys_path).await;
        keys.assert_status(200).assert_contains("data-testid=\"keys-once\"");
        assert_eq!(keys.headers.get("cache-control").unwrap(), "no-store");
        assert_eq!(keys.testid_text("site-id"), id.as_str());
        let sk = keys.testid_text("sk");
        let created = keys;
        let site = stored(&app, &id).await;
        assert_eq!(site.secret_key.expose(), sk);
        assert_eq!(created.testid_text("ak"), site.access_key.as_str());
        assert_eq!(site.name.as_str(), "新商城");
        assert_eq!(site.notify_url, Some(NotifyUrl::parse("https://shop.example/notify").unwrap()));
        let methods: Vec<String> = site.enabled_methods.iter().map(ToString::to_string).collect();
        assert_eq!(methods, ["wechat.native", "alipay.qr"]);
        assert_eq!(api_accepts(&app, &site, &sk).await, 404, "the SK shown signs requests");
        // Never again: not on a reload of that page, nor another session's look at it, nor the
        // site's page, the list, the audit log.
        let reloaded = browser.get(&keys_path).await;
        reloaded.assert_status(200).assert_contains("data-testid=\"keys-shown\"").assert_lacks(&sk).assert_lacks("data-testid=\"sk\"");
        assert_eq!(reloaded.testid_text("ak"), site.access_key.as_str());
        let mut elsewhere = Browser::signed_in(&app, "ops@example.com").await;
        elsewhere.get(&keys_path).await.assert_status(200).assert_contains("data-testid=\"keys-shown\"").assert_lacks(&sk);
        for path in [format!("/console/sites/{id}"), "/console/sites".to_owned(), "/console/audit".to_owned()] {
            browser.get(&path).await.assert_status(200).assert_contains("新商城").assert_lacks(&sk);
        }
        let log = app.db.store.list_audit(10).await.unwrap();
        let entry = log.iter().find(|e| e.action == "site.create").unwrap();
        assert_eq!(entry.actor_email.as_deref(), Some("ops@example.com"));
        assert_eq!((entry.object_kind.as_deref(), entry.object_id.as_deref()), (Some("site"), Some(id.as_str())));
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        assert!(!entry.detail.contains(&sk));
    }

    async fn an_admin_edits_disables_enables_and_rotates_a_site(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let id = app.site.id.clone();
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let page = browser.get(&format!("/console/sites/{id}")).await;
        page.assert_status(200).assert_contains("data-testid=\"site-name\"").assert_contains("data-testid=\"disable-site\"");
        let csrf = page.csrf();
        let edit = format!("/console/sites/{id}/edit");
        let done = browser.post(&edit, &[
            ("csrf", &csrf), ("name", "demo, renamed"), ("notify_url", "https://shop.example/paid"),
            ("methods_shown", "1"), ("method", "wechat.native"),
        ]).await;
        done.assert_status(303);
        assert_eq!(done.location(), Some(format!("/console/sites/{id}?done=edit").as_str()));
        let site = stored(&app, &id).await;
        assert_eq!(site.name.as_str(), "demo, renamed");
        assert_eq!(site.notify_url.as_ref().map(NotifyUrl::as_str), Some("https://shop.example/paid"));
        assert_eq!(site.enabled_methods.len(), 1);
        let entry = app.db.store.list_audit(1).await.unwrap().remove(0);
        assert_eq!(entry.action, "site.update");
        assert!(entry.detail.contains("https://shop.example/paid") && entry.detail.contains("renamed"), "{}", entry.detail);
        // The same form again changes nothing and records nothing.
        let entries = app.db.store.list_audit(100).await.unwrap().len();
        browser.post(&edit, &[
            ("csrf", &csrf), ("name", "demo, renamed"), ("notify_url", "https://shop.example/paid"),
            ("methods_shown", "1"), ("method", "wechat.native"),
        ]).await.assert_status(303);
        assert_eq!(app.db.store.list_audit(100).await.unwrap().len(), entries);
        // Removing the notify URL.
        browser.post(&edit, &[("csrf", &csrf), ("notify_url", "")]).await.assert_status(303);
        assert_eq!(stored(&app, &id).await.notify_url, None);
        // Serving the site as a WeChat Pay sub-merchant, shown on its page and audited; a bad
        // number is refused with the form's message and changes nothing; emptied, the site is
        // paid to the operator's own merchant again.
        let sub = [("csrf", csrf.as_str()), ("notify_url", ""), ("sub_merchant_shown", "1"),
            ("wechat_sub_mchid", "1900000109"), ("wechat_sub_appid", "wxd678efh567hg6999")];
        browser.post(&edit, &sub).await.assert_status(303);
        let served = stored(&app, &id).await.wechat_sub_merchant.unwrap();
        assert_eq!((served.sub_mchid.as_str(), served.sub_appid.unwrap().as_str()), ("1900000109", "wxd678efh567hg6999"));
        let page = browser.get(&format!("/console/sites/{id}?lang=en")).await;
        assert_eq!(page.testid_text("site-sub-merchant"), "1900000109 · wxd678efh567hg6999");
        let entry = app.db.store.list_audit(1).await.unwrap().remove(0);
        assert!(entry.detail.contains("wechat_sub_mchid 1900000109"), "{}", entry.detail);
        for (mchid, appid) in [("19000001x9", ""), ("", "wxd678efh567hg6999"), ("1900000109", "wx1")] {
            let bad = browser.post(&edit, &[("csrf", &csrf), ("notify_url", ""), ("sub_merchant_shown", "1"),
                ("wechat_sub_mchid", mchid), ("wechat_sub_appid", appid)]).await;
            bad.assert_status(400).assert_contains("8–32");
        }
        assert_eq!(stored(&app, &id).await.wechat_sub_merchant.unwrap().sub_mchid.as_str(), "1900000109");
        browser.post(&edit, &[("csrf", &csrf), ("notify_url", ""), ("sub_merchant_shown", "1"),
            ("wechat_sub_mchid", ""), ("wechat_sub_appid", "")]).await.assert_status(303);
        assert_eq!(stored(&app, &id).await.wechat_sub_merchant, None);
        // An Alipay merchant: its account and token together; the token never shown back, and
        // left empty it stays as it is.
        let token = "202612BB0a1b2c3d4e5f60718293a4b5c6d7e8f9";
        let alipay = |seller: &'static str, token: &'static str| {
            [("csrf", csrf.clone()), ("notify_url", String::new()), ("sub_merchant_shown", "1".to_owned()),
             ("alipay_seller_id", seller.to_owned()), ("alipay_app_auth_token", token.to_owned())]
        };
        let form = alipay("2088102146225135", token);
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        browser.post(&edit, &fields).await.assert_status(303);
        assert_eq!(stored(&app, &id).await.alipay_merchant.unwrap().app_auth_token.expose(), token);
        let page = browser.get(&format!("/console/sites/{id}?lang=en")).await;
        assert_eq!(page.testid_text("site-alipay-merchant"), "2088102146225135 · token set");
        page.assert_lacks(token);
        let entry = app.db.store.list_audit(1).await.unwrap().remove(0);
        assert!(entry.detail.contains("2088102146225135") && !entry.detail.contains(token), "{}", entry.detail);
        let form = alipay("", "");
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        browser.post(&edit, &fields).await.assert_status(303);
        assert!(stored(&app, &id).await.alipay_merchant.is_some(), "kept");
        for (seller, bad) in [("2088102146225135", ""), ("", token), ("1088102146225135", token), ("2088102146225135", "has space")] {
            let form = alipay(seller, bad);
            let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let refused = browser.post(&edit, &fields).await;
            refused.assert_status(400).assert_contains("2088");
            refused.assert_lacks("has space");
        }
        browser.post(&edit, &[("csrf", &csrf), ("notify_url", ""), ("sub_merchant_shown", "1"), ("alipay_clear", "1")])
            .await.assert_status(303);
        assert_eq!(stored(&app, &id).await.alipay_merchant, None);

        // Disabling is confirmed first, then the API refuses the site.
        let disable = format!("/console/sites/{id}/disable");
        let asked = browser.post(&disable, &[("csrf", &csrf)]).await;
        asked.assert_contains("demo, renamed");
        assert_eq!(stored(&app, &id).await.status, SiteStatus::Active, "not before the confirmation");
        confirm(&mut browser, &asked, &disable).await.assert_status(303);
        assert_eq!(stored(&app, &id).await.status, SiteStatus::Disabled);
        app.signed("GET", "/v1/orders/nope", "").await.assert_error(403, "site_disabled");
        let enable = format!("/console/sites/{id}/enable");
        let asked = browser.post(&enable, &[("csrf", &csrf)]).await;
        confirm(&mut browser, &asked, &enable).await.assert_status(303);
        assert_eq!(stored(&app, &id).await.status, SiteStatus::Active);

        // Rotating: confirmed, the new SK shown once, the old one refused at once.
        let rotate = format!("/console/sites/{id}/rotate");
        let asked = browser.post(&rotate, &[("csrf", &csrf)]).await;
        assert_eq!(stored(&app, &id).await.secret_key, app.site.secret_key, "not before the confirmation");
        let confirmed = confirm(&mut browser, &asked, &rotate).await;
        confirmed.assert_status(303);
        let keys_path = format!("/console/sites/{id}/keys");
        assert_eq!(confirmed.location(), Some(keys_path.as_str()));
        let rotated = browser.get(&keys_path).await;
        rotated.assert_status(200).assert_contains("data-testid=\"keys-once\"");
        assert_eq!(rotated.headers.get("cache-control").unwrap(), "no-store");
        let new_sk = rotated.testid_text("sk");
        browser.get(&keys_path).await.assert_contains("data-testid=\"keys-shown\"").assert_lacks(&new_sk);
        assert_eq!(audit_actions(&app).await.iter().filter(|(a, ..)| a == "site.rotate_key").count(), 1, "rotated once");
        assert_eq!(stored(&app, &id).await.secret_key, SecretKey::parse(&new_sk).unwrap());
        assert_eq!(api_accepts(&app, &app.site, app.site.secret_key.expose()).await, 401);
        assert_eq!(api_accepts(&app, &app.site, &new_sk).await, 404);
        browser.get(&format!("/console/sites/{id}")).await.assert_lacks(&new_sk);

        let actions = audit_actions(&app).await;
        for action in ["site.update", "site.disable", "site.enable", "site.rotate_key"] {
            assert!(
                actions.iter().any(|(a, object, ip)| a == action && object.as_deref() == Some(id.as_str()) && ip.as_deref() == Some("127.0.0.1")),
                "{action}: {actions:?}"
            );
        }
    }

    async fn a_site_user_changes_their_notify_url_and_key_and_nothing_else(app: TestApp) {
        let other = app.another_site("other shop").await;
        user(&app, "shop@example.com", Role::Site(app.site.id.clone())).await;
        let id = app.site.id.clone();
        let mut browser = Browser::signed_in(&app, "shop@example.com").await;
        // Their list has their site only; the other is not found by any path.
        let list = browser.get("/console/sites").await;
        list.assert_status(200).assert_contains(id.as_str()).assert_lacks(other.id.as_str()).assert_lacks("other shop").assert_lacks("data-testid=\"new-site\"");
        let page = browser.get(&format!("/console/sites/{id}")).await;
        page.assert_status(200)
            .assert_contains("data-testid=\"portal-note\"")
            .assert_contains("data-testid=\"notify-url\"")
            .assert_contains("data-testid=\"rotate-key\"")
            .assert_lacks("data-testid=\"site-name\"")
            .assert_lacks("name=\"method\"")
            .assert_lacks("data-testid=\"disable-site\"");
        let csrf = page.csrf();
        let missing = browser.get("/console/sites/site_doesnotexist").await;
        missing.assert_status(404);
        let theirs = browser.get(&format!("/console/sites/{}", other.id)).await;
        theirs.assert_status(404).assert_lacks("other shop");
        assert_eq!(theirs.body, missing.body);
        for action in ["edit", "disable", "enable", "rotate"] {
            for confirmed in ["", "yes"] {
                browser.post(
                    &format!("/console/sites/{}/{action}", other.id),
                    &[("csrf", &csrf), ("confirm", confirmed), ("notify_url", "https://evil.example/n")],
                ).await.assert_status(404);
            }
        }
        let untouched = stored(&app, &other.id).await;
        assert_eq!((untouched.notify_url, untouched.status), (None, SiteStatus::Active));
        assert_eq!(untouched.secret_key, other.secret_key);

        // Their notify URL: theirs to change.
        let edit = format!("/console/sites/{id}/edit");
        browser.post(&edit, &[("csrf", &csrf), ("notify_url", "https://shop.example/notify")]).await.assert_status(303);
        assert_eq!(stored(&app, &id).await.notify_url.unwrap().as_str(), "https://shop.example/notify");
        // The operator's fields, added to the form by hand: refused, and nothing changed.
        for fields in [
            vec![("name", "mine now")],
            vec![("methods_shown", "1"), ("method", "wechat.native")],
            // Where the site's money settles is the operator's decision.
            vec![("sub_merchant_shown", "1"), ("wechat_sub_mchid", "1900000109")],
            vec![("sub_merchant_shown", "1"), ("alipay_seller_id", "2088102146225135"),
                ("alipay_app_auth_token", "202612BB0a1b2c3d4e5f60718293a4b5c6d7e8f9")],
        ] {
            let mut all = vec![("csrf", csrf.as_str()), ("notify_url", "https://shop.example/other")];
            all.extend(fields);
            browser.post(&edit, &all).await.assert_status(403);
        }
        let site = stored(&app, &id).await;
        assert_eq!((site.wechat_sub_merchant, site.alipay_merchant), (None, None));
        assert_eq!(site.name.as_str(), "demo");
        assert_eq!(site.notify_url.unwrap().as_str(), "https://shop.example/notify");
        assert!(site.enabled_methods.len() > 1);
        // Not theirs to disable, or to create sites.
        for confirmed in ["", "yes"] {
            browser.post(&format!("/console/sites/{id}/disable"), &[("csrf", &csrf), ("confirm", confirmed)]).await.assert_status(403);
        }
        assert_eq!(stored(&app, &id).await.status, SiteStatus::Active);
        browser.get("/console/sites/new").await.assert_status(403);
        let sites = app.db.store.list_sites().await.unwrap().len();
        browser.post("/console/sites", &[("csrf", &csrf), ("name", "x"), ("methods_shown", "1"), ("method", "wechat.native")]).await.assert_status(403);
        assert_eq!(app.db.store.list_sites().await.unwrap().len(), sites);
        // Their key: theirs to rotate.
        let rotate = format!("/console/sites/{id}/rotate");
        let asked = browser.post(&rotate, &[("csrf", &csrf)]).await;
        confirm(&mut browser, &asked, &rotate).await.assert_status(303);
        let rotated = browser.get(&format!("/console/sites/{id}/keys")).await;
        rotated.assert_status(200);
        assert_eq!(stored(&app, &id).await.secret_key.expose(), rotated.testid_text("sk"));
        // Another site's keys page is not found, like the site.
        browser.get(&format!("/console/sites/{}/keys", other.id)).await.assert_status(404);
    }

    async fn a_viewer_sees_the_sites_and_changes_none(app: TestApp) {
        let other = app.another_site("other shop").await;
        user(&app, "viewer@example.com", Role::Viewer).await;
        let mut browser = Browser::signed_in(&app, "viewer@example.com").await;
        browser.get("/console/sites").await.assert_status(200).assert_contains("other shop").assert_contains("demo").assert_lacks("data-testid=\"new-site\"");
        let page = browser.get(&format!("/console/sites/{}", other.id)).await;
        page.assert_status(200).assert_lacks("data-testid=\"site-form\"").assert_lacks("rotate-key").assert_lacks("disable-site");
        let csrf = page.csrf();
        for action in ["edit", "disable", "rotate"] {
            for confirmed in ["", "yes"] {
                browser.post(
                    &format!("/console/sites/{}/{action}", other.id),
                    &[("csrf", &csrf), ("confirm", confirmed), ("notify_url", "https://evil.example/n")],
                ).await.assert_status(403);
            }
        }
        browser.get("/console/sites/new").await.assert_status(403);
        browser.post("/console/sites", &[("csrf", &csrf), ("name", "x"), ("methods_shown", "1"), ("method", "wechat.native")]).await.assert_status(403);
        let site = stored(&app, &other.id).await;
        assert_eq!((site.notify_url, site.status), (None, SiteStatus::Active));
        assert_eq!(site.secret_key, other.secret_key);
        assert_eq!(app.db.store.list_sites().await.unwrap().len(), 2);
    }

    async fn site_forms_without_their_token_or_from_elsewhere_are_refused(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let id = app.site.id.clone();
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let csrf = browser.csrf().await;
        let rotate = format!("/console/sites/{id}/rotate");
        browser.post(&rotate, &[("confirm", "yes")]).await.assert_status(403);
        browser.post(&rotate, &[("confirm", "yes"), ("csrf", "forged-token-00000000000000000")]).await.assert_status(403);
        browser.post_from(&rotate, &[("confirm", "yes"), ("csrf", &csrf)], Some("https://evil.example")).await.assert_status(403);
        browser.post_from("/console/sites", &[("csrf", &csrf), ("name", "x"), ("methods_shown", "1"), ("method", "wechat.native")], None).await.assert_status(403);
        assert_eq!(stored(&app, &id).await.secret_key, app.site.secret_key);
        assert_eq!(app.db.store.list_sites().await.unwrap().len(), 1);
        // Signed out, the same forms lead to the sign-in page and do nothing.
        let mut stranger = Browser::new(&app);
        let answer = stranger.post(&rotate, &[("confirm", "yes"), ("csrf", &csrf)]).await;
        answer.assert_status(303);
        assert_eq!(answer.location(), Some("/console/login"));
        assert_eq!(stored(&app, &id).await.secret_key, app.site.secret_key);
    }
}

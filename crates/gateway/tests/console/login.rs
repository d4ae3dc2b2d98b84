//! Signing in and out: the answers, the cookie, the session behind it.

use gateway::domain::{Email, Role, SessionToken, Timestamp, TotpSecret};

use crate::support::app::TestApp;
use crate::{Browser, PASSWORD, console_tests, user};

console_tests! {
    async fn the_right_password_signs_in_with_an_http_only_strict_cookie_for_the_console(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::new(&app);
        let answer = browser.sign_in("OPS@example.com", PASSWORD).await;
        answer.assert_status(303);
        assert_eq!(answer.location(), Some("/console"));
        let cookie = answer.set_cookie("pg_session").unwrap();
        let token = cookie.split(';').next().unwrap().trim_start_matches("pg_session=");
        assert!(SessionToken::parse(token).is_ok(), "{cookie}");
        for attribute in ["Path=/console", "HttpOnly", "SameSite=Strict", "Max-Age=43200"] {
            assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
        }
        assert!(!cookie.contains("Secure"), "public_url is http here: {cookie}");
        // Only the token's hash is stored.
        let stored = app.db.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{}'",
            SessionToken::parse(token).unwrap().hash()
        )).await;
        assert_eq!(stored, 1);
        assert_eq!(app.db.count(&format!("SELECT COUNT(*) FROM sessions WHERE token_hash = '{token}'")).await, 0);
        let dashboard = browser.get("/console").await;
        dashboard.assert_status(200).assert_contains("ops@example.com");
        for header in ["content-security-policy", "x-frame-options", "cache-control"] {
            assert!(dashboard.headers.get(header).is_some(), "{header}");
        }
    }

    async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let wrong = Browser::new(&app).sign_in("ops@example.com", "not the password").await;
        let unknown = Browser::new(&app).sign_in("nobody@example.com", PASSWORD).await;
        wrong.assert_status(401).assert_contains("邮箱或密码错误");
        unknown.assert_status(401).assert_contains("邮箱或密码错误");
        assert!(wrong.set_cookie("pg_session").is_none());
        // The email typed stays in the form; the password never comes back.
        wrong.assert_contains("value=\"ops@example.com\"").assert_lacks("not the password");
    }

    async fn ten_wrong_passwords_lock_the_account_and_the_page_says_until_when(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        for _ in 0..9 {
            Browser::new(&app).sign_in("ops@example.com", "wrong password").await.assert_status(401);
        }
        let locked = Browser::new(&app).sign_in("ops@example.com", "wrong password").await;
        locked.assert_status(429).assert_contains("账户已锁定").assert_contains("(UTC+8)");
        // The right password waits for the lock too, and the English page says it in English.
        let mut browser = Browser::new(&app);
        browser.get("/console/login?lang=en").await.assert_status(200);
        let still = browser.sign_in("ops@example.com", PASSWORD).await;
        still.assert_status(429).assert_contains("This account is locked");
        assert!(still.set_cookie("pg_session").is_none());
    }

    async fn every_login_starts_a_new_session_and_ends_the_one_the_browser_had(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let first = browser.cookies["pg_session"].clone();
        // Signing in again from the same browser (its form fetched as a new tab would).
        let mut tab = Browser::new(&app);
        let form = tab.get("/console/login").await;
        browser.cookies.insert("pg_login".into(), tab.cookies["pg_login"].clone());
        let again = browser.post("/console/login", &[
            ("csrf", &form.csrf()), ("email", "ops@example.com"), ("password", PASSWORD),
        ]).await;
        again.assert_status(303);
        let second = browser.cookies["pg_session"].clone();
        assert_ne!(first, second, "a new token at every login");
        // The first token no longer signs anyone in.
        let mut stale = Browser::new(&app);
        stale.cookies.insert("pg_session".into(), first);
        let page = stale.get("/console").await;
        page.assert_status(303);
        assert_eq!(page.location(), Some("/console/login"));
        browser.get("/console").await.assert_status(200);
    }

    async fn a_planted_session_token_is_replaced_at_login_and_never_signs_in(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        // Session fixation: the attacker makes the victim's browser carry a token of its choosing.
        let planted = SessionToken::generate();
        let mut victim = Browser::new(&app);
        victim.cookies.insert("pg_session".into(), planted.expose().to_owned());
        victim.sign_in("ops@example.com", PASSWORD).await.assert_status(303);
        assert_ne!(victim.cookies["pg_session"], planted.expose());
        let mut attacker = Browser::new(&app);
        attacker.cookies.insert("pg_session".into(), planted.expose().to_owned());
        attacker.get("/console").await.assert_status(303);
    }

    async fn logout_ends_the_session_and_a_copied_cookie_stops_working(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        let stolen = browser.cookies["pg_session"].clone();
        let csrf = browser.csrf().await;
        let out = browser.post("/console/logout", &[("csrf", &csrf)]).await;
        out.assert_status(303);
        assert_eq!(out.location(), Some("/console/login"));
        assert!(out.set_cookie("pg_session").unwrap().contains("Max-Age=0"));
        let mut thief = Browser::new(&app);
        thief.cookies.insert("pg_session".into(), stolen);
        thief.get("/console").await.assert_status(303);
        thief.get("/console/orders").await.assert_status(303);
        let log = app.db.store.list_audit(10).await.unwrap();
        assert!(log.iter().any(|e| e.action == "logout" && e.ip.as_deref() == Some("127.0.0.1")));
    }

    async fn a_logout_without_the_sessions_token_is_refused(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        browser.post("/console/logout", &[]).await.assert_status(403);
        browser.post("/console/logout", &[("csrf", "forged")]).await.assert_status(403);
        browser.get("/console").await.assert_status(200);
    }

    async fn a_login_form_posted_without_its_own_token_is_refused(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::new(&app);
        // No form fetched first: no login cookie, so no token can match.
        let answer = browser.post("/console/login", &[
            ("csrf", "guessed"), ("email", "ops@example.com"), ("password", PASSWORD),
        ]).await;
        answer.assert_status(403);
        assert!(answer.set_cookie("pg_session").is_none());
        // A fetched form's token works only with its own cookie.
        let form = browser.get("/console/login").await;
        let mut other = Browser::new(&app);
        let answer = other.post("/console/login", &[
            ("csrf", &form.csrf()), ("email", "ops@example.com"), ("password", PASSWORD),
        ]).await;
        answer.assert_status(403);
    }

    async fn a_user_with_a_second_factor_is_asked_for_the_code_then_signed_in(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let secret = TotpSecret::generate();
        app.accounts
            .set_totp(&Email::parse("ops@example.com").unwrap(), Some(&secret), Timestamp::now())
            .await
            .unwrap();
        let mut browser = Browser::new(&app);
        let first = browser.sign_in("ops@example.com", PASSWORD).await;
        first.assert_status(401).assert_contains("两步验证").assert_contains("name=\"code\"");
        assert!(first.set_cookie("pg_session").is_none());
        let code = format!("{:06}", secret.code_at(Timestamp::now()));
        let csrf = first.csrf();
        let second = browser.post("/console/login", &[
            ("csrf", &csrf), ("email", "ops@example.com"), ("password", PASSWORD), ("code", &code),
        ]).await;
        second.assert_status(303);
        browser.get("/console").await.assert_status(200);
    }

    async fn english_is_one_switch_away_and_remembered(app: TestApp) {
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::signed_in(&app, "ops@example.com").await;
        browser.get("/console").await.assert_contains("<html lang=\"zh-CN\">").assert_contains("概览");
        let english = browser.get("/console?lang=en").await;
        english.assert_contains("<html lang=\"en\">").assert_contains("Dashboard");
        assert!(english.set_cookie("pg_lang").unwrap().starts_with("pg_lang=en;"));
        browser.get("/console/orders").await.assert_contains("Orders").assert_lacks("订单号");
        browser.get("/console?lang=zh").await.assert_contains("概览");
    }

    async fn pages_need_a_session_and_send_the_browser_to_the_login(app: TestApp) {
        let mut browser = Browser::new(&app);
        for path in ["/console", "/console/orders", "/console/orders/1", "/console/audit"] {
            let page = browser.get(path).await;
            page.assert_status(303);
            assert_eq!(page.location(), Some("/console/login"), "{path}");
        }
        let form = browser.get("/console/login").await;
        form.assert_status(200).assert_contains("<label for=\"email\">");
        let cookie = form.set_cookie("pg_login").unwrap();
        assert!(cookie.contains("Path=/console/login") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        browser.get("/console/nothing-here").await.assert_status(404);
        // The merchant API answers as before.
        let health = browser.get("/healthz").await;
        health.assert_status(200);
    }
}

/// A paygate whose `public_url` is https (a TLS proxy in front): its cookies are `Secure`, and its
/// forms must come from that origin.
async fn behind_https(backend: crate::support::Backend) {
    crate::support::run(backend, |db| async move {
        let sim_dir = tempfile::tempdir().unwrap();
        let sim = test_support::sim::start(Some(sim_dir.path()), 0.001).await;
        let node = crate::support::app::Node {
            db,
            sim,
            sim_dir,
            public_url: Some("https://pay.example.com".to_owned()),
        };
        let app = TestApp::spawn_with(node, None).await;
        user(&app, "ops@example.com", Role::Admin).await;
        let mut browser = Browser::new(&app);
        // Its own address is not the public origin: refused.
        browser
            .sign_in("ops@example.com", PASSWORD)
            .await
            .assert_status(403);
        browser.origin = "https://pay.example.com".to_owned();
        let answer = browser.sign_in("ops@example.com", PASSWORD).await;
        answer.assert_status(303);
        let cookie = answer.set_cookie("pg_session").unwrap();
        assert!(cookie.ends_with("; Secure"), "{cookie}");
        let form = Browser::new(&app).get("/console/login").await;
        assert!(form.set_cookie("pg_login").unwrap().ends_with("; Secure"));
    })
    .await;
}

mod behind_an_https_public_url_cookies_are_secure_and_forms_come_from_it {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::behind_https(crate::support::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::behind_https(crate::support::Backend::Postgres).await;
    }
}

/// A paygate whose sessions end after `idle` unused or `absolute` after the login.
async fn with_expiries(
    backend: crate::support::Backend,
    idle: std::time::Duration,
    absolute: std::time::Duration,
    test: impl FnOnce(TestApp) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    + Send
    + 'static,
) {
    crate::support::run(backend, move |db| async move {
        let policy = gateway::service::AccountPolicy {
            idle,
            absolute,
            ..crate::support::app::light_account_policy()
        };
        test(TestApp::spawn_with_policy(db, policy).await).await;
    })
    .await;
}

/// A copy of a signed-in browser's session cookie, as a thief would hold it.
fn thief_of(app: &TestApp, browser: &Browser) -> Browser {
    let mut thief = Browser::new(app);
    thief
        .cookies
        .insert("pg_session".into(), browser.cookies["pg_session"].clone());
    thief
}

/// A stolen cookie stops working once its session has been idle for the policy's time: for the
/// thief and the owner alike.
async fn idle_expiry(backend: crate::support::Backend) {
    let idle = std::time::Duration::from_millis(2500);
    with_expiries(backend, idle, idle * 20, move |app| {
        Box::pin(async move {
            user(&app, "ops@example.com", Role::Admin).await;
            let mut owner = Browser::signed_in(&app, "ops@example.com").await;
            let mut thief = thief_of(&app, &owner);
            thief.get("/console").await.assert_status(200);
            tokio::time::sleep(idle + std::time::Duration::from_millis(300)).await;
            let refused = thief.get("/console/orders").await;
            refused.assert_status(303);
            assert_eq!(refused.location(), Some("/console/login"));
            owner.get("/console").await.assert_status(303);
        })
    })
    .await;
}

/// A stolen cookie stops working at its session's absolute end, however busy the session is.
async fn absolute_expiry(backend: crate::support::Backend) {
    let absolute = std::time::Duration::from_secs(4);
    with_expiries(backend, absolute * 10, absolute, move |app| {
        Box::pin(async move {
            user(&app, "ops@example.com", Role::Admin).await;
            let owner = Browser::signed_in(&app, "ops@example.com").await;
            let signed_in_at = std::time::Instant::now();
            let mut thief = thief_of(&app, &owner);
            // Used all along, it still ends.
            while signed_in_at.elapsed() < absolute - std::time::Duration::from_millis(1500) {
                thief.get("/console").await.assert_status(200);
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
            thief.get("/console").await.assert_status(303);
        })
    })
    .await;
}

mod a_stolen_session_cookie_stops_working_once_the_session_is_idle_too_long {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::idle_expiry(crate::support::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::idle_expiry(crate::support::Backend::Postgres).await;
    }
}

mod a_stolen_session_cookie_stops_working_at_the_sessions_absolute_end {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::absolute_expiry(crate::support::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::absolute_expiry(crate::support::Backend::Postgres).await;
    }
}
